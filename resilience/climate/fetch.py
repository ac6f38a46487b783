"""Download files over HTTP(S) so that the cache can be trusted.

One call, :func:`download`, takes a URL to a file in a cache directory and guarantees:

* **atomic**: bytes go to ``<name>.part`` beside the target; only a complete, verified file is
  renamed over the target (``os.replace``), so a reader never sees a half or corrupt file;
* **resumable**: a ``.part`` left by a dropped connection is continued with an HTTP ``Range``
  request (RFC 9110 section 14.2); ``If-Range`` carries the ETag of the partial bytes so a
  changed file restarts from zero. A ``206`` appends, a ``200`` starts again;
* **retried**: connection errors, truncated bodies, ``5xx`` and ``429`` are retried with
  exponential backoff (``backoff_s * 2**attempt``, capped by ``Retry-After`` when it is
  shorter than 60 s); other ``4xx`` fail at once;
* **verified**: the size must equal ``Content-Length`` (or the ``Content-Range`` total) and
  ``expected_size``; the sha256 must equal ``expected_sha256`` if given. A checksum mismatch
  deletes the bytes: nothing is cached;
* **incremental**: ``.manifest.json`` in the cache directory records each file's URL, ETag,
  Last-Modified, size, modification time and sha256. A second pull skips a file whose size and
  sha256 already match, and otherwise sends ``If-None-Match`` / ``If-Modified-Since``; a
  ``304`` transfers no bytes.

A recorded sha256 is trusted without reading the file only while
:func:`is_unchanged_since_verified` holds: same size, same modification time, and that time
at least :data:`RACY_WINDOW_NS` before the hash was taken. Any other file is hashed again, so a
cached file changed on disk is fetched again, never served. The same rule guards the manifest
of local files in :mod:`resilience.climate.verified_cache`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from resilience.storage.atomic import write_text_atomic
from resilience.storage.provenance import sha256_file

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MANIFEST_NAME",
    "RACY_WINDOW_NS",
    "DownloadError",
    "DownloadResult",
    "download",
    "is_unchanged_since_verified",
    "read_manifest",
    "sha256_file",
]

MANIFEST_NAME = ".manifest.json"
_MAX_RETRY_AFTER_S = 60.0
#: A file modified less than this before it was hashed could be rewritten within the same
#: timestamp tick (Linux stamps files at kernel-tick resolution, FAT at 2 s) with its size and
#: modification time unchanged; such a "racily clean" entry (git, Documentation/technical/
#: racy-git.txt) is hashed again instead of trusted.
RACY_WINDOW_NS = 2_000_000_000
#: Serialises read-modify-write of manifests when several downloads run in threads.
_MANIFEST_LOCK = threading.Lock()

Status = Literal["downloaded", "resumed", "not_modified", "cached"]


class DownloadError(RuntimeError):
    """A download failed for good; the message names the URL and what was expected."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url


class _RetryableError(Exception):
    """A transient failure (connection, truncation, 5xx, 429); ``wait_s`` hints a delay."""

    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


@dataclass(frozen=True)
class DownloadResult:
    """What :func:`download` did.

    Attributes
    ----------
    url : str
        The URL asked for.
    path : Path
        The verified file in the cache.
    status : {"downloaded", "resumed", "not_modified", "cached"}
        ``resumed`` if any bytes were continued with a Range request; ``not_modified`` after a
        ``304``; ``cached`` if the manifest's size and sha256 matched without a request.
    bytes_transferred : int
        Body bytes received in this call (0 for ``not_modified`` and ``cached``).
    size_bytes : int
        Size of the file.
    sha256 : str
        Hex sha256 of the file.
    etag, last_modified : str or None
        Validators sent by the server, used by the next conditional request.
    attempts : int
        HTTP requests made (0 for ``cached``).
    """

    url: str
    path: Path
    status: Status
    bytes_transferred: int
    size_bytes: int
    sha256: str
    etag: str | None
    last_modified: str | None
    attempts: int


def is_unchanged_since_verified(entry: Mapping[str, Any], stat: os.stat_result) -> bool:
    """Return True if a file may be trusted by its size and modification time alone.

    ``entry`` holds ``size_bytes``, ``mtime_ns`` (from a stat taken before hashing) and
    ``verified_ns`` (the clock when hashing started). True if ``stat`` has that size and
    mtime and the file had been unmodified for :data:`RACY_WINDOW_NS` when it was hashed; False
    otherwise, or for a missing or malformed field. An edit that keeps the size and restores
    the mtime (``os.utime``) is not seen; only hashing again finds it.
    """
    fields = [entry.get(k) for k in ("size_bytes", "mtime_ns", "verified_ns")]
    if not all(isinstance(v, int) for v in fields):
        return False
    size, mtime_ns, verified_ns = fields
    return (
        stat.st_size == size
        and stat.st_mtime_ns == mtime_ns
        and verified_ns - mtime_ns >= RACY_WINDOW_NS
    )


def read_manifest(directory: Path) -> dict[str, dict[str, Any]]:
    """Return the cache manifest of ``directory`` (file name -> entry), empty if none.

    Raises
    ------
    ValueError
        If the manifest exists but is not a JSON object; the message names the file.
    """
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err}); delete it to rebuild") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of file entries")
    return data


def _update_manifest(directory: Path, name: str, entry: dict[str, Any] | None) -> None:
    """Set (or with ``None`` remove) one manifest entry; the file is rewritten atomically."""
    with _MANIFEST_LOCK:
        manifest = read_manifest(directory)
        if entry is None:
            manifest.pop(name, None)
        else:
            manifest[name] = entry
        text = json.dumps(manifest, indent=1, sort_keys=True)
        write_text_atomic(Path(directory) / MANIFEST_NAME, text + "\n")


def _cached_entry(
    target: Path, url: str, expected_sha256: str | None, expected_size: int | None
) -> dict[str, Any] | None:
    """Return the manifest entry if ``target`` is on disk with the recorded content, else None.

    The stored sha256 is trusted only while :func:`is_unchanged_since_verified` holds;
    otherwise the file is hashed again and, if it still matches, its entry is refreshed.
    """
    entry = read_manifest(target.parent).get(target.name)
    if entry is None or entry.get("url") != url or not target.is_file():
        return None
    stat = target.stat()
    if stat.st_size != entry.get("size_bytes"):
        return None
    if not is_unchanged_since_verified(entry, stat):
        started = time.time_ns()
        if sha256_file(target) != entry.get("sha256") or _stat_key(target) != _stat_key(stat):
            return None  # changed on disk since it was verified: fetch it again
        entry = {**entry, "mtime_ns": stat.st_mtime_ns, "verified_ns": started}
        _update_manifest(target.parent, target.name, entry)
    if expected_sha256 is not None and entry["sha256"] != expected_sha256.lower():
        return None
    if expected_size is not None and entry["size_bytes"] != expected_size:
        return None
    return entry


def _stat_key(item: Path | os.stat_result) -> tuple[int, int]:
    """Return (size, mtime_ns) of a path or of a stat result."""
    stat = item.stat() if isinstance(item, Path) else item
    return stat.st_size, stat.st_mtime_ns


@dataclass
class _Progress:
    """Mutable state of one download across attempts."""

    received: int = 0
    resumed: bool = False
    total: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    requests: int = 0


def _part_path(target: Path) -> Path:
    return target.with_name(target.name + ".part")


def _read_part_meta(target: Path, url: str) -> dict[str, Any]:
    """Return the validators recorded for a partial file of ``url``, or {} to restart."""
    meta_path = _part_path(target).with_suffix(".part.json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return meta if isinstance(meta, dict) and meta.get("url") == url else {}


def _write_part_meta(target: Path, url: str, progress: _Progress) -> None:
    meta = {"url": url, "etag": progress.etag, "last_modified": progress.last_modified}
    write_text_atomic(_part_path(target).with_suffix(".part.json"), json.dumps(meta) + "\n")


def _discard_part(target: Path) -> None:
    _part_path(target).unlink(missing_ok=True)
    _part_path(target).with_suffix(".part.json").unlink(missing_ok=True)


def _request_headers(target: Path, url: str, cached: dict[str, Any] | None) -> dict[str, str]:
    """Return Range/If-Range for a partial file, or conditional headers for a cached one."""
    part = _part_path(target)
    if part.is_file() and part.stat().st_size > 0:
        headers = {"Range": f"bytes={part.stat().st_size}-"}
        meta = _read_part_meta(target, url)
        validator = meta.get("etag") or meta.get("last_modified")
        if validator:
            headers["If-Range"] = validator
        else:
            _discard_part(target)  # cannot prove the partial bytes are the same file
            headers = {}
        return headers
    if cached is None:
        return {}
    headers = {}
    if cached.get("etag"):
        headers["If-None-Match"] = cached["etag"]
    if cached.get("last_modified"):
        headers["If-Modified-Since"] = cached["last_modified"]
    return headers


def _content_range_total(value: str | None, start: int, url: str) -> int | None:
    """Parse ``bytes START-END/TOTAL``; the start must be where the partial file ends."""
    if not value or not value.startswith("bytes "):
        raise _RetryableError(f"206 without a Content-Range header (got {value!r})")
    span, _, total = value[6:].partition("/")
    first = int(span.split("-")[0])
    if first != start:
        raise DownloadError(url, f"server resumed at byte {first}, expected byte {start}")
    return int(total) if total.isdigit() else None


def _check_status(response: httpx.Response, url: str) -> None:
    """Raise _RetryableError for 5xx/429, DownloadError for other errors; return on success."""
    code = response.status_code
    if code in (200, 206, 304):
        return
    if code == 416:  # the partial file is not a prefix of the current file: start again
        raise _RetryableError("HTTP 416 Range Not Satisfiable; restarting from byte 0")
    if code == 429 or code >= 500:
        after = response.headers.get("Retry-After", "")
        wait = float(after) if after.replace(".", "", 1).isdigit() else None
        raise _RetryableError(f"HTTP {code} {response.reason_phrase}", wait)
    if code == 404:
        raise DownloadError(url, "HTTP 404 Not Found: no file at this URL; check the catalogue")
    raise DownloadError(url, f"HTTP {code} {response.reason_phrase}; expected 200 or 206")


def _stream_body(response: httpx.Response, target: Path, progress: _Progress, url: str) -> bool:
    """Write one response into the ``.part`` file; return False on 304 (nothing to write)."""
    import httpx

    _check_status(response, url)
    if response.status_code == 304:
        return False
    part = _part_path(target)
    start = part.stat().st_size if part.is_file() else 0
    length = response.headers.get("Content-Length")
    if response.status_code == 206:
        progress.total = _content_range_total(response.headers.get("Content-Range"), start, url)
        progress.resumed = True
        mode = "ab"
    else:
        progress.total = int(length) if length and length.isdigit() else None
        start, mode = 0, "wb"
    progress.etag = response.headers.get("ETag")
    progress.last_modified = response.headers.get("Last-Modified")
    _write_part_meta(target, url, progress)
    try:
        with part.open(mode) as handle:
            for block in response.iter_raw():  # as received: a cut body keeps its bytes
                handle.write(block)
                progress.received += len(block)
            handle.flush()
            os.fsync(handle.fileno())
    except httpx.TransportError as err:  # incl. a body cut short of its Content-Length
        raise _RetryableError(f"connection lost after {part.stat().st_size} bytes ({err})") from err
    return True


def _attempt(
    client: httpx.Client, url: str, target: Path, cached: dict | None, progress: _Progress
) -> bool:
    """Make one request; return False on 304. Transport failures become _RetryableError."""
    import httpx

    # identity: Content-Length and Range then count the file's own bytes, not gzip's.
    headers = {"Accept-Encoding": "identity", **_request_headers(target, url, cached)}
    progress.requests += 1
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 416:
                _discard_part(target)
            if response.status_code == 304 and cached is None:
                raise DownloadError(url, "HTTP 304 to an unconditional request")
            return _stream_body(response, target, progress, url)
    except httpx.TransportError as err:
        raise _RetryableError(f"{type(err).__name__}: {err}") from err


def _verify_part(
    target: Path, url: str, progress: _Progress, expected: tuple[str | None, int | None]
) -> tuple[int, str]:
    """Check size and checksum of the complete ``.part``; delete it if it is wrong."""
    expected_sha256, expected_size = expected
    part = _part_path(target)
    size = part.stat().st_size
    if progress.total is not None and size != progress.total:
        raise _RetryableError(f"received {size} bytes, server announced {progress.total}")
    if expected_size is not None and size != expected_size:
        _discard_part(target)
        raise DownloadError(url, f"size {size} bytes, expected {expected_size} (catalogue)")
    digest = sha256_file(part)
    if expected_sha256 is not None and digest != expected_sha256.lower():
        _discard_part(target)
        raise DownloadError(
            url, f"sha256 {digest} does not match the expected {expected_sha256}; file deleted"
        )
    return size, digest


@contextmanager
def _client_for(client: httpx.Client | None, timeout_s: float) -> Iterator[httpx.Client]:
    """Yield ``client``, or a new one (closed afterwards) that follows redirects."""
    if client is not None:
        yield client
        return
    import httpx

    with httpx.Client(timeout=timeout_s, follow_redirects=True) as new:
        yield new


def download(
    url: str,
    target: Path,
    *,
    expected_sha256: str | None = None,
    expected_size: int | None = None,
    retries: int = 4,
    backoff_s: float = 0.5,
    timeout_s: float = 30.0,
    client: httpx.Client | None = None,
) -> DownloadResult:
    """Download ``url`` to ``target``: resumable, retried, verified, atomic and incremental.

    Parameters
    ----------
    url : str
        HTTP(S) address of one file.
    target : Path
        Final path in the cache directory; ``<name>.part`` and ``.manifest.json`` live beside it.
    expected_sha256 : str, optional
        Hex sha256 the file must have (from the catalogue's ``checksums``).
    expected_size : int, optional
        Size in bytes the file must have.
    retries : int
        Extra attempts after the first for transient failures (connection errors, truncated
        bodies, 5xx, 429).
    backoff_s : float
        First wait in seconds; attempt ``k`` waits ``backoff_s * 2**k``.
    timeout_s : float
        Connect/read timeout of a client created here, in seconds.
    client : httpx.Client, optional
        Shared client (connection pooling across threads); default a new one.

    Returns
    -------
    DownloadResult
        The verified file and what was transferred.

    Raises
    ------
    DownloadError
        On 404 and other 4xx, a checksum or size mismatch (the bytes are deleted), or when the
        retries are exhausted (a partial ``.part`` is kept to resume later; ``target`` is
        untouched). The message starts with the URL.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.time_ns()  # before any byte is hashed (is_unchanged_since_verified)
    cached = _cached_entry(target, url, expected_sha256, expected_size)
    if cached is not None and (expected_sha256 is not None or expected_size is not None):
        return _result(url, target, cached, "cached", progress=_Progress())
    progress = _Progress()
    with _client_for(client, timeout_s) as http:
        for attempt in range(retries + 1):
            try:
                if not _attempt(http, url, target, cached, progress):
                    return _result(url, target, cached or {}, "not_modified", progress=progress)
                expected = (expected_sha256, expected_size)
                size, digest = _verify_part(target, url, progress, expected)
                break
            except _RetryableError as err:
                if attempt == retries:
                    raise DownloadError(
                        url, f"gave up after {attempt + 1} attempts: {err}"
                    ) from err
                wait = backoff_s * 2**attempt
                if err.wait_s is not None and err.wait_s <= _MAX_RETRY_AFTER_S:
                    wait = max(wait, err.wait_s)
                time.sleep(wait)
    os.chmod(_part_path(target), 0o644)
    os.replace(_part_path(target), target)
    _part_path(target).with_suffix(".part.json").unlink(missing_ok=True)
    entry = {
        "url": url,
        "etag": progress.etag,
        "last_modified": progress.last_modified,
        "size_bytes": size,
        "sha256": digest,
        "mtime_ns": target.stat().st_mtime_ns,
        "verified_ns": started,
    }
    _update_manifest(target.parent, target.name, entry)
    status: Status = "resumed" if progress.resumed else "downloaded"
    return _result(url, target, entry, status, progress=progress)


def _result(
    url: str, target: Path, entry: dict[str, Any], status: Status, *, progress: _Progress
) -> DownloadResult:
    return DownloadResult(
        url=url,
        path=target,
        status=status,
        bytes_transferred=progress.received,
        size_bytes=int(entry["size_bytes"]),
        sha256=str(entry["sha256"]),
        etag=entry.get("etag"),
        last_modified=entry.get("last_modified"),
        attempts=progress.requests,
    )
