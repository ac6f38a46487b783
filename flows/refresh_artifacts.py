"""The refresh summary as Prefect artifacts: what each step built or reused, and the risk.

:func:`refresh_summary_markdown` and :func:`refresh_summary_rows` are plain functions of a
:class:`flows.refresh.RefreshResult`; :func:`publish_refresh_artifacts` hands them to
Prefect (``create_markdown_artifact``, ``create_table_artifact``) and is called only inside
a Prefect flow run, so a plain run (``use_prefect = false``) never imports Prefect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

from flows.steps import RiskOutputs


class RefreshResult(Protocol):
    """What the summary reads of a :class:`flows.refresh.RefreshResult`."""

    profile: Path | None
    layers: dict[str, Path]
    versions: dict[str, str]
    step_outcomes: dict[str, str]
    risk: RiskOutputs


#: Artifact keys (Prefect: lower-case letters, digits and dashes); each run adds a version.
MARKDOWN_KEY = "refresh-summary"
TABLE_KEY = "refresh-layers"


def _synthetic(layer_file: Path) -> str:
    """Return the ``synthetic`` flag recorded in the manifest beside a layer file."""
    manifest = Path(layer_file).with_name("manifest.json")
    try:
        return str(json.loads(manifest.read_text(encoding="utf-8")).get("synthetic", "unknown"))
    except (OSError, ValueError):
        return "unknown"


def refresh_summary_rows(result: RefreshResult) -> list[dict[str, str]]:
    """Return one row per layer: name, version, built or reused, synthetic flag and file.

    Parameters
    ----------
    result : RefreshResult
        A finished refresh.

    Returns
    -------
    list of dict
        Keys ``layer``, ``version``, ``step`` (``built`` / ``reused``), ``synthetic``
        (``yes`` / ``no`` / ``unknown``) and ``file``, in the order the layers were built.
    """
    rows = []
    for name, path in result.layers.items():
        done = result.step_outcomes.get(name, "")
        rows.append(
            {
                "layer": name,
                "version": result.versions.get(name, ""),
                "step": done.split(" ")[0] if done else "",
                "synthetic": _synthetic(path),
                "file": str(path),
            }
        )
    return rows


def refresh_summary_markdown(result: RefreshResult) -> str:
    """Return the refresh summary as markdown: steps, layers, risk table and its maps.

    Parameters
    ----------
    result : RefreshResult
        A finished refresh.

    Returns
    -------
    str
        Markdown with a table of the layers (version, built or reused, synthetic flag, file
        link), the risk table's rows, assets and very-high counts, and links to its files.
    """
    risk = result.risk
    lines = [f"# Refresh of {result.profile or 'a profile built in code'}", ""]
    other = {k: v for k, v in result.step_outcomes.items() if k not in result.layers}
    lines += [f"- {step}: {done}" for step, done in other.items()]
    lines += ["", "| layer | version | step | synthetic | file |", "|---|---|---|---|---|"]
    for row in refresh_summary_rows(result):
        link = f"[{Path(row['file']).name}]({Path(row['file']).as_uri()})"
        lines.append(
            f"| {row['layer']} | {row['version']} | {row['step']} | {row['synthetic']} | {link} |"
        )
    lines += [
        "",
        f"Risk table: {risk.rows} rows, {risk.assets} assets, synthetic inputs: "
        f"{risk.synthetic}, {'reused' if risk.reused else 'computed'}."
        + (f" Exports: {risk.exports_skipped}." if risk.exports_skipped else ""),
        "",
        "| hazard | very high: baseline | ssp245 far | ssp585 far |",
        "|---|---|---|---|",
    ]
    for hazard, counts in sorted(risk.very_high.items()):
        lines.append(
            f"| {hazard} | {counts.get('baseline', 0)} | {counts.get('ssp245 far', 0)} "
            f"| {counts.get('ssp585 far', 0)} |"
        )
    lines += ["", "Maps and tables:", ""]
    for label, path in (
        ("risk table (GeoParquet)", risk.parquet),
        ("risk map (GeoPackage)", risk.gpkg),
        ("risk table (CSV)", risk.csv),
        ("provenance", risk.provenance),
    ):
        if path is not None:
            lines.append(f"- {label}: [{Path(path).name}]({Path(path).as_uri()})")
    return "\n".join(lines) + "\n"


def publish_refresh_artifacts(result: RefreshResult) -> None:
    """Create the refresh's Prefect artifacts and print its steps (inside a flow run only).

    Parameters
    ----------
    result : RefreshResult
        A finished refresh.

    Notes
    -----
    Creates a markdown artifact under :data:`MARKDOWN_KEY` and a table artifact (one row
    per layer) under :data:`TABLE_KEY`; each run adds a version of both in the Prefect UI.
    """
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    for step, done in result.step_outcomes.items():
        print(f"{step}: {done}")  # flow runs log prints (log_prints=True)
    create_markdown_artifact(
        markdown=refresh_summary_markdown(result),
        key=MARKDOWN_KEY,
        description="Layers built or reused, risk table and links to its files",
    )
    create_table_artifact(
        table=refresh_summary_rows(result),  # type: ignore[arg-type]
        key=TABLE_KEY,
        description="Layer versions of this refresh",
    )
