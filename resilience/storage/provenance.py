"""Content hashes that tie outputs to their inputs (``inputs_sha256`` attributes, manifests).

Besides the sha256 of input files (:func:`sha256_files`), this module makes the *step keys*
by which a refresh skips work whose inputs have not changed (docs/operations.md, "Reruns
and caching"): :func:`step_sha256` hashes what a step's output depends on (input hashes,
parameters, :func:`code_sha256`), and a *step record* (:func:`write_step_record`,
:func:`read_step_record`) is a small JSON file beside a step's outputs that says which key
made them and what their sha256 were, so a later run with the same key can reuse them
after checking that they are still the files that were written.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from resilience.storage.atomic import write_text_atomic

__all__ = [
    "code_sha256",
    "read_step_record",
    "sha256_bytes",
    "sha256_file",
    "sha256_files",
    "step_sha256",
    "write_step_record",
]

#: Packages whose files make every step's output: any change to them changes every key.
_CODE_PACKAGES = ("hazard_models", "assets", "resilience", "flows")


def sha256_files(paths: Iterable[Path]) -> str:
    """Return one sha256 over the names and bytes of ``paths`` (sorted by name).

    Raises
    ------
    FileNotFoundError
        If a path does not exist; the message names it.
    """
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        if not path.is_file():
            raise FileNotFoundError(f"cannot hash {path}: no such file")
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Return the hex sha256 of ``data`` (e.g. a file shipped inside the package)."""
    return hashlib.sha256(data).hexdigest()


@functools.cache
def code_sha256() -> str:
    """Return one sha256 over the code and shipped data of the four packages, once per process.

    The version label (``resilience 0.x``) does not change while the code is edited, so a
    step key built on it alone would reuse outputs of older code; the files themselves do.
    Hashing them (about 11 MB: the ``.py`` source and ``resilience/data``: sea-level table,
    curves, DEM ...) takes a fraction of a second and is done once per process.

    Returns
    -------
    str
        Hex sha256 over the relative paths and bytes of every file of the packages (not
        ``__pycache__``), sorted by path; a package that is not importable adds its name only.
    """
    import importlib.util

    digest = hashlib.sha256()
    for package in _CODE_PACKAGES:
        digest.update(package.encode())
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in spec.submodule_search_locations:
            root = Path(folder)
            for path in sorted(root.rglob("*")):
                if "__pycache__" in path.parts or path.suffix == ".pyc" or not path.is_file():
                    continue
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def step_sha256(step: str, parts: Mapping[str, Any]) -> str:
    """Return the key of one step: a sha256 over its name, ``parts`` and the code.

    Parameters
    ----------
    step : str
        The step's name, e.g. ``"heat"``: two steps with equal parts get different keys.
    parts : mapping
        Everything the output depends on besides the code: input sha256s, parameters. Must
        be JSON-serialisable (paths and tuples are written as strings and lists).

    Returns
    -------
    str
        Hex sha256 of the canonical JSON of ``{"step", "parts", "code"}``; the empty string
        if any value in ``parts`` is an empty string or None (an input of unknown content:
        nothing may be reused on its account).
    """
    if any(value is None or value == "" for value in _leaves(parts)):
        return ""
    text = json.dumps(
        {"step": step, "parts": parts, "code": code_sha256()}, sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _leaves(value: Any) -> Iterable[Any]:  # noqa: ANN401 - any JSON-like value
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of one file's bytes, read in 1 MiB blocks (no name mixed in).

    The one file hash of the engine: layers, step records, downloads and forecasts use it.
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_step_record(
    path: Path, key: str, *, outputs: Iterable[Path] = (), payload: Mapping[str, Any]
) -> Path:
    """Write the record of a finished step: its key, its outputs' sha256 and ``payload``.

    Written atomically and last, after every output: a record names only complete outputs.

    Parameters
    ----------
    path : Path
        The record file (JSON), e.g. ``risk_table.step.json`` beside the outputs.
    key : str
        The step's key (:func:`step_sha256`); an empty key writes no record.
    outputs : iterable of Path
        Files the step wrote, hashed now so that a later reuse can check them.
    payload : mapping
        What the step returned (JSON-serialisable), returned again on reuse.

    Returns
    -------
    Path
        ``path``.
    """
    if not key:
        Path(path).unlink(missing_ok=True)  # an older record would no longer be true
        return Path(path)
    record = {
        "step_sha256": key,
        "outputs": {str(Path(p)): sha256_file(Path(p)) for p in outputs},
        "payload": dict(payload),
    }
    return write_text_atomic(Path(path), json.dumps(record, indent=2, default=str) + "\n")


def read_step_record(path: Path, key: str) -> dict[str, Any] | None:
    """Return the payload of the record at ``path`` if it was made by ``key``, else None.

    A record counts only if its key equals ``key`` (non-empty) and every output it lists
    still has the sha256 it had when written: an output edited, truncated or deleted since
    makes the step run again. An unreadable record is treated as none.

    Parameters
    ----------
    path : Path
        The record file.
    key : str
        The key of the step about to run.

    Returns
    -------
    dict or None
        The recorded payload, or None when the step must run.
    """
    path = Path(path)
    if not key or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("step_sha256") != key:
        return None
    for output, expected in dict(record.get("outputs", {})).items():
        output_path = Path(output)
        if not output_path.is_file() or sha256_file(output_path) != expected:
            return None
    payload = record.get("payload")
    return dict(payload) if isinstance(payload, dict) else None
