"""Pull with a verification manifest: every file is checked, unchanged ones without re-hashing.

:func:`pull_verified` is :func:`resilience.climate.selection.pull` for runs that repeat (the
``fetch-sources`` task of ``flows/pull.py``, the refresh flow). Nothing about a pull is cached
by a key on the request: every run selects its files afresh from the catalogue it is given
and checks each one, so a run never hands out another folder's paths and a changed file is
always verified again.

* **local files** are checked against the catalogue's sha256. ``<cache_dir>/.verified.json``
  (:data:`VERIFIED_MANIFEST_NAME`) records, per absolute path, the size, ``st_mtime_ns`` and
  sha256 of the bytes last verified and when hashing started (``verified_ns``). A file whose
  entry passes :func:`resilience.climate.fetch.is_unchanged_since_verified` and whose entry's
  sha256 is the catalogue's is not read; any other file is hashed, and a mismatch is a
  :class:`ChecksumError` naming the file, the expected and the found checksum.
* **HTTP files** go through :func:`resilience.climate.fetch.download`, whose per-source
  ``.manifest.json`` follows the same rule; a cached download that changed on disk is fetched
  again. OPeNDAP and Zarr addresses are passed through (nothing on disk to verify).

The manifest is written with :func:`resilience.storage.atomic.write_text_atomic` after a
fresh read, once per call and only if something was hashed. Two runs at once can each
overwrite the other's new entries (a lost update); that only makes a later run hash those
files again. An entry is written only for bytes that were hashed, matched, and did not change
while being hashed, so no interleaving can make a changed file pass. An unreadable manifest
counts as empty (everything is hashed; a warning is logged).

Limits: an edit that keeps the size *and* restores the modification time (``os.utime``) is
not seen by the manifest; ``rehash=True`` hashes every file regardless. A local file with no
checksum in the catalogue can only be checked to exist.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from resilience.climate.catalog import CatalogError
from resilience.climate.fetch import is_unchanged_since_verified, sha256_file
from resilience.climate.selection import FileSpec, PullError, pull
from resilience.storage.atomic import write_text_atomic

__all__ = [
    "VERIFIED_MANIFEST_NAME",
    "ChecksumError",
    "pull_verified",
    "read_verified_manifest",
]

VERIFIED_MANIFEST_NAME = ".verified.json"
_LOG = logging.getLogger(__name__)
#: Serialises read-modify-write of a manifest between threads of one process.
_MANIFEST_LOCK = threading.Lock()


class ChecksumError(CatalogError):
    """A local file's sha256 is not the one its catalogue lists.

    Attributes
    ----------
    path : Path
        The file.
    expected, found : str
        The catalogue's sha256 and the file's.
    """

    def __init__(self, path: Path, *, expected: str, found: str, source: str) -> None:
        super().__init__(
            f"{path}: sha256 {found} does not match the catalogue's {expected} "
            f"(source {source!r}); the file changed after it was catalogued"
        )
        self.path = path
        self.expected = expected
        self.found = found


def read_verified_manifest(cache_dir: Path) -> dict[str, dict[str, Any]]:
    """Return the verification manifest of ``cache_dir`` (absolute path -> entry).

    Parameters
    ----------
    cache_dir : Path
        The cache directory given to :func:`pull_verified`.

    Returns
    -------
    dict
        Entries with ``size_bytes``, ``mtime_ns``, ``sha256`` and ``verified_ns``; empty if
        there is no manifest, or if it is not a JSON object (logged as a warning: every file
        is then hashed again, which is slow but never wrong).
    """
    path = Path(cache_dir) / VERIFIED_MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        _LOG.warning("%s: unreadable (%s); every file will be hashed again", path, err)
        return {}
    if not isinstance(data, dict):
        _LOG.warning("%s: expected a JSON object; every file will be hashed again", path)
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def _key(path: Path) -> str:
    """Return the manifest key of a file: its absolute, resolved path."""
    return str(Path(path).resolve())


def _verify_local(spec: FileSpec, entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """Check one local file; return a new manifest entry if it was hashed, None if trusted.

    Raises
    ------
    FileNotFoundError
        If the file is gone.
    ChecksumError
        If its sha256 is not the catalogue's.
    RuntimeError
        If it changed while being hashed (a retry settles it).
    """
    path = Path(spec.location)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path}: does not exist; source {spec.source!r} of the catalogue lists it"
        ) from None
    expected = spec.sha256
    if expected is None:
        return None  # nothing to verify against (module docstring, limits)
    if entry is not None and entry.get("sha256") == expected:
        if is_unchanged_since_verified(entry, stat):
            return None
    started = time.time_ns()
    found = sha256_file(path)
    if found != expected:
        raise ChecksumError(path, expected=expected, found=found, source=spec.source)
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
        raise RuntimeError(f"{path}: changed while its sha256 was being checked; pull again")
    return {
        "size_bytes": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": found,
        "verified_ns": started,
    }


def _record(cache_dir: Path, updates: dict[str, dict[str, Any] | None]) -> None:
    """Merge entries (``None`` removes one) into the manifest on disk, written atomically.

    Entries of files that no longer exist are dropped on the way.
    """
    with _MANIFEST_LOCK:
        manifest = read_verified_manifest(cache_dir)
        for key, entry in updates.items():
            if entry is None:
                manifest.pop(key, None)
            else:
                manifest[key] = entry
        manifest = {k: v for k, v in manifest.items() if Path(k).is_file()}
        text = json.dumps(manifest, indent=1, sort_keys=True)
        write_text_atomic(Path(cache_dir) / VERIFIED_MANIFEST_NAME, text + "\n")


def _verify_locals(
    specs: Sequence[FileSpec], cache_dir: Path, *, concurrency: int, rehash: bool
) -> list[tuple[FileSpec, Exception]]:
    """Verify local specs in threads, record what was hashed; return the failures."""
    manifest = {} if rehash else read_verified_manifest(cache_dir)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures: list[Future[dict[str, Any] | None]] = [
            pool.submit(_verify_local, spec, manifest.get(_key(Path(spec.location))))
            for spec in specs
        ]
    updates: dict[str, dict[str, Any] | None] = {}
    failures: list[tuple[FileSpec, Exception]] = []
    for spec, future in zip(specs, futures, strict=True):
        key = _key(Path(spec.location))
        error = future.exception()
        if error is None:
            if (entry := future.result()) is not None:
                updates[key] = entry
        elif isinstance(error, Exception):
            failures.append((spec, error))
            updates[key] = None
        else:
            raise error  # KeyboardInterrupt and the like
    if updates:
        _record(cache_dir, updates)
    return failures


def pull_verified(
    specs: Sequence[FileSpec],
    cache_dir: Path,
    *,
    concurrency: int = 4,
    rehash: bool = False,
) -> list[Path | str]:
    """Make every selected file available and verified, hashing only what may have changed.

    Parameters
    ----------
    specs : sequence of FileSpec
        From :func:`resilience.climate.selection.select`.
    cache_dir : Path
        Holds :data:`VERIFIED_MANIFEST_NAME` and the HTTP downloads
        (``cache_dir/<source>/<file>``), e.g. ``<data_dir>/cache``.
    concurrency : int
        Files hashed or downloaded at once.
    rehash : bool
        Hash every local file even if the manifest says it is unchanged (finds an edit that
        kept both size and modification time).

    Returns
    -------
    list of Path or str
        In the order of ``specs``: local paths (verified in place), cached downloads under
        ``cache_dir``, or OPeNDAP / Zarr addresses. Every path comes from ``specs``, never from
        the manifest.

    Raises
    ------
    PullError
        After every spec has been tried, if any failed. A local file whose sha256 is not the
        catalogue's fails with a :class:`ChecksumError` (``<path>: sha256 <found> does not
        match the catalogue's <expected> ...``); a missing one with ``FileNotFoundError``.
    ValueError
        If ``concurrency`` is below 1.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency: expected >= 1, found {concurrency}")
    cache_dir = Path(cache_dir)
    local = [s for s in specs if s.driver == "local"]
    others = [i for i, s in enumerate(specs) if s.driver != "local"]
    failures = _verify_locals(local, cache_dir, concurrency=concurrency, rehash=rehash)
    results: list[Path | str] = [Path(spec.location) for spec in specs]
    if others:
        try:
            pulled = pull([specs[i] for i in others], cache_dir, concurrency=concurrency)
            for i, location in zip(others, pulled, strict=True):
                results[i] = location
        except PullError as err:
            failures += err.failures
    if failures:
        order = {spec: i for i, spec in enumerate(specs)}
        failures.sort(key=lambda failure: order[failure[0]])
        raise PullError(failures) from failures[0][1]
    return results
