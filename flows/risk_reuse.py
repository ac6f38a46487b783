"""Reuse of a risk table computed from the same inputs (docs/operations.md, "Reruns and caching").

``flows.steps.assess_risk`` records, beside each table it writes (its own ``out_dir`` and
``<data_dir>/risk``), the key of its inputs and the sha256 of the three files; a later run
with the same key takes the table from either folder (copying it into the other) instead
of computing it again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The record written last, after the table's files (named in its summary's ``files``).
_RISK_RECORD = "risk_table.step.json"


def record_risk(folder: Path, key: str, summary: dict) -> None:
    """Record that the table in ``folder`` was made by ``key``; ``summary`` is returned on reuse.

    ``summary["files"]`` names the table's files in ``folder`` (provenance, GeoParquet and
    the exports written), in the order they were written; each is hashed into the record.
    """
    from resilience.storage.provenance import write_step_record

    outputs = [folder / name for name in summary["files"]]
    write_step_record(folder / _RISK_RECORD, key, outputs=outputs, payload=summary)


def reuse_risk(key: str, out_dir: Path, published: Path) -> dict[str, Any] | None:
    """Find the risk table made by ``key`` in ``out_dir`` or ``published``; copy it to both.

    Parameters
    ----------
    key : str
        The risk step's key (``flows.step_keys.risk_key``).
    out_dir, published : Path
        The run's risk folder and ``<data_dir>/risk`` (the same folder or two).

    Returns
    -------
    dict or None
        The recorded summary (``rows``, ``assets``, ``very_high``, ``synthetic``) once the
        table is in both folders, or None if neither holds a table made by ``key``.
    """
    from resilience.storage.provenance import read_step_record

    folders = [out_dir] if published.resolve() == out_dir.resolve() else [out_dir, published]
    found = {folder: read_step_record(folder / _RISK_RECORD, key) for folder in folders}
    source = next((folder for folder, summary in found.items() if summary is not None), None)
    if source is None:
        return None
    summary = found[source] or {}
    for folder in folders:
        if found[folder] is None:  # the other folder: copy the verified files, record last
            copy_risk(source, folder, key, summary)
    return summary


def copy_risk(source: Path, folder: Path, key: str, summary: dict) -> None:
    """Copy the table files of ``source`` into ``folder`` (streamed, atomically); record last.

    Copies, not hard links: a copy edited or truncated in place is then repaired from the
    other folder (:func:`reuse_risk`). Exports the summary does not name (the table was
    over the export limit) are removed from ``folder`` first.
    """
    from resilience.storage.atomic import copy_file_atomic
    from resilience.storage.risk_io import EXPORTS

    folder.mkdir(parents=True, exist_ok=True)
    for name in (f"risk_table.{kind}" for kind in EXPORTS):
        if name not in summary["files"]:
            (folder / name).unlink(missing_ok=True)
    for name in summary["files"]:
        copy_file_atomic(source / name, folder / name)
    record_risk(folder, key, summary)
