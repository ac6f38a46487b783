"""Content hashes that tie outputs to their inputs (``inputs_sha256`` attributes, manifests)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["sha256_files"]


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
