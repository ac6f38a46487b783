"""Atomic file writes: nothing already stored is lost or left half-written.

Every writer of the engine goes through :func:`atomic_path`: it hands out a temporary name in
the target's directory (same file system, so the final ``os.replace`` is atomic), and only
when the caller's block succeeds is the file renamed over the target, with ordinary
``rw-r--r--`` permissions. On any error the temporary file is removed and the target is left
as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "atomic_path",
    "copy_file_atomic",
    "folder_lock",
    "write_bytes_atomic",
    "write_text_atomic",
]

FILE_MODE = 0o644


@contextmanager
def atomic_path(path: Path, *, create: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` when the block succeeds.

    Parameters
    ----------
    path : Path
        Final location; its directory is created if needed.
    create : bool
        If False (default) the temporary path does not exist yet, as GDAL and netCDF writers
        need; if True an empty file is created first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    temporary = Path(name)
    if not create:
        temporary.unlink()
    try:
        yield temporary
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (flushed to disk before the rename)."""
    with atomic_path(path, create=True) as temporary:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(path)


def copy_file_atomic(source: Path, path: Path) -> Path:
    """Copy ``source`` to ``path`` atomically, streamed (never the whole file in memory)."""
    import shutil

    with atomic_path(path, create=True) as temporary:
        with Path(source).open("rb") as reader, temporary.open("wb") as handle:
            shutil.copyfileobj(reader, handle, 1 << 20)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(path)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


@contextmanager
def folder_lock(folder: Path, name: str = ".lock") -> Iterator[None]:
    """Hold an exclusive advisory lock on ``folder`` (a file ``name`` in it) for a block.

    For writes of several files that belong together (a table and its provenance): each file
    is replaced atomically, and the lock keeps two processes from interleaving the set. The
    kernel releases it when the process dies, so a killed run leaves no stale lock.
    """
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / name).open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
