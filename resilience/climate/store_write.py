"""Write a projections store: the format's constants, chunks, encodings and the safe swap.

The contract is docs/projections_store.md: a Zarr v2 group with consolidated metadata, dims
(model, scenario, time, lat, lon), one float32 array per canonical variable chunked one member
x one scenario x one calendar year x at most 128 x 128 cells, Blosc-zstd compressed, and
attributes ``store_format``, ``store_format_version``, ``inputs_sha256``, ``source_files``,
``request``, ``synthetic`` and ``missing_combinations``.

:func:`write_projection_store` writes into a temporary sibling, chunk by chunk, then renames
it into place; the old store is moved aside just before and removed only after the new one
is in place, so an interrupted write leaves the old store readable (and a kill between the
two renames is undone by the next write). One writer at a time holds a lock file beside the
store. A store whose inputs (the sha256 of every file) and request equal the new ones is left
as it is. Reading, and pulling into a store, are :mod:`resilience.climate.store`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import dask
import numpy as np
import xarray as xr
from pydantic import BaseModel, ConfigDict

import resilience
from resilience.climate.projection_file import TIME_UNITS, ClimateDataError
from resilience.schema import append_history, validate_projections

__all__ = [
    "SPATIAL_CHUNK_CELLS",
    "STORE_FORMAT",
    "STORE_FORMAT_VERSION",
    "InputFile",
    "StoreWrite",
    "describe_store",
    "inputs_digest",
    "is_projection_store",
    "read_source_stats",
    "read_store_attrs",
    "store_is_current",
    "write_projection_store",
]

#: Value of the ``store_format`` attribute that marks a projections store.
STORE_FORMAT = "resilience-projections"
#: Version of the layout in docs/projections_store.md; bumped on any incompatible change.
STORE_FORMAT_VERSION = 1
#: Largest chunk along lat and along lon, cells: 365 x 128 x 128 float32 is 24 MB.
SPATIAL_CHUNK_CELLS = 128
#: Days per time chunk: one common year of the calendar (a ``noleap`` chunk is one year).
_YEAR_DAYS = {"360_day": 360, "all_leap": 366, "366_day": 366}
_COMPRESSION = {"cname": "lz4", "clevel": 5}  # Blosc, byte shuffle (numcodecs)


class StoreWrite(BaseModel):
    """What a pull did to a store: small, so that a flow task can return it."""

    model_config = ConfigDict(frozen=True)

    path: Path
    status: Literal["written", "unchanged"]
    inputs_sha256: str
    files: int
    missing_combinations: list[str]
    synthetic: bool


@dataclass(frozen=True)
class InputFile:
    """One input of a store: a file and its sha256, or an address that was not hashed.

    Attributes
    ----------
    location : str
        Absolute path of a file, or an address (OPeNDAP, Zarr URL).
    sha256 : str or None
        Hex sha256 of the file's bytes; None for an address.
    size_bytes, mtime_ns, verified_ns : int or None
        The file's size and modification time when it was hashed, and the clock when hashing
        started: the record :func:`resilience.climate.fetch.is_unchanged_since_verified`
        checks before trusting the sha256 without reading the file again.
    """

    location: str
    sha256: str | None
    size_bytes: int | None = None
    mtime_ns: int | None = None
    verified_ns: int | None = None

    @property
    def line(self) -> str:
        """Return the ``sha256sum`` line ``"<sha256>  <file name>"`` (``"-  <address>"``)."""
        if self.sha256 is None:
            return f"-  {self.location}"
        return f"{self.sha256}  {Path(self.location).name}"


def is_projection_store(path: Path) -> bool:
    """Return True if ``path`` is a Zarr group whose attributes mark a projections store."""
    try:
        return read_store_attrs(path).get("store_format") == STORE_FORMAT
    except ClimateDataError:
        return False


def read_store_attrs(path: Path) -> dict[str, Any]:
    """Return the global attributes of a Zarr v2 store (consolidated metadata), no data read.

    Raises
    ------
    ClimateDataError
        If ``path`` is not a directory holding Zarr v2 consolidated metadata.
    """
    meta = Path(path) / ".zmetadata"
    try:
        metadata = json.loads(meta.read_text(encoding="utf-8"))["metadata"]
        return dict(metadata[".zattrs"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ClimateDataError(
            f"{path}: not a Zarr store with consolidated metadata ({meta.name} unreadable: "
            f"{err}); expected a projections store written by `resilience pull --out`"
        ) from err


def _chunks(ds: xr.Dataset) -> dict[str, int]:
    """Return the store's chunk per dim: one member, one scenario, a year, <= 128 cells."""
    calendar = ds["time"].dt.calendar
    chunks = {
        "model": 1,
        "scenario": 1,
        "time": min(_YEAR_DAYS.get(calendar, 365), ds.sizes["time"]),
    }
    for axis in ("lat", "lon"):
        tiles = -(-ds.sizes[axis] // SPATIAL_CHUNK_CELLS)
        chunks[axis] = -(-ds.sizes[axis] // tiles)
    return chunks


def _encoding(ds: xr.Dataset, chunks: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Return zarr encodings: float32, NaN fill, Blosc zstd, the chunks; CF time units."""
    import numcodecs
    import zarr

    codec = numcodecs.Blosc(**_COMPRESSION, shuffle=numcodecs.Blosc.SHUFFLE)
    key = "compressors" if int(zarr.__version__.split(".")[0]) >= 3 else "compressor"
    encoding: dict[str, dict[str, Any]] = {
        str(name): {
            "dtype": "float32",
            "_FillValue": np.float32(np.nan),
            "chunks": tuple(chunks[str(d)] for d in var.dims),
            key: (codec,) if key == "compressors" else codec,
        }
        for name, var in ds.data_vars.items()
    }
    calendar = ds["time"].dt.calendar
    encoding["time"] = {"units": TIME_UNITS, "calendar": calendar, "dtype": "float64"}
    return encoding


def _prepare(ds: xr.Dataset, attrs: Mapping[str, Any]) -> xr.Dataset:
    """Validate, cast to float32, rechunk to the store's chunks and set the attributes."""
    validate_projections(ds)
    chunks = _chunks(ds)
    out = ds.assign({n: v.astype("float32") for n, v in ds.data_vars.items()})
    out = out.chunk({d: chunks[d] for d in ("model", "scenario", "time", "lat", "lon")})
    for name in ds.data_vars:
        out[name].attrs = {k: v for k, v in ds[name].attrs.items() if k not in ("_FillValue",)}
    out.attrs = {**ds.attrs, **attrs}
    for key, value in list(out.attrs.items()):
        if not isinstance(value, str | int | float):
            out.attrs[key] = json.dumps(value, sort_keys=True)
    return out


@contextlib.contextmanager
def _writer_lock(store: Path) -> Iterator[None]:
    """Hold an exclusive lock file beside ``store``; refuse if another pull holds it."""
    import fcntl

    lock = store.parent / f".{store.name}.lock"
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ClimateDataError(
                f"{store}: another pull is writing this store (lock {lock.name} is held); "
                "expected one writer at a time"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tidy_siblings(store: Path) -> None:
    """Restore a store lost between the two renames; remove leftovers of interrupted pulls.

    Runs under the writer lock, so no other writer is using these siblings.
    """
    olds = sorted(store.parent.glob(f".{store.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if not store.exists() and olds:
        os.replace(olds.pop(), store)  # killed between moving the old aside and the new in
    for leftover in [*olds, *store.parent.glob(f".{store.name}.tmp-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def _check_replaceable(store: Path) -> None:
    """Refuse to replace anything but a projections store (it would be deleted)."""
    if store.exists() and not is_projection_store(store):
        kind = "file" if store.is_file() else "directory"
        raise ClimateDataError(
            f"{store}: exists and is a {kind}, not a projections store; refusing to replace "
            "it (expected a new path or a store written by `resilience pull --out`)"
        )


def _swap_into_place(temporary: Path, store: Path) -> None:
    """Move the old store aside, the new one in, then delete the old one."""
    old = store.with_name(f".{store.name}.old-{uuid.uuid4().hex[:8]}")
    had_old = store.exists()
    if had_old:
        os.replace(store, old)
    os.replace(temporary, store)
    if had_old:
        shutil.rmtree(old, ignore_errors=True)


def store_is_current(
    store: Path, *, source_files: Sequence[str], request: Mapping[str, Any]
) -> bool:
    """Return True if ``store`` holds this format, built from the same inputs and request.

    Parameters
    ----------
    store : Path
        A projections store (or a path where none exists yet: False).
    source_files : sequence of str
        ``"<sha256>  <file name>"`` per input, as for :func:`write_projection_store`.
    request : mapping
        What is asked now; compared with the store's ``request`` as canonical JSON.
    """
    store = Path(store)
    inputs_sha256 = inputs_digest(source_files)
    if not store.is_dir() or not inputs_sha256 or not is_projection_store(store):
        return False
    attrs = read_store_attrs(store)
    return (
        attrs.get("store_format") == STORE_FORMAT
        and attrs.get("store_format_version") == STORE_FORMAT_VERSION
        and attrs.get("inputs_sha256") == inputs_sha256
        and attrs.get("request") == json.dumps(request, sort_keys=True)
    )


def describe_store(store: Path, status: Literal["written", "unchanged"]) -> StoreWrite:
    """Return the :class:`StoreWrite` summary of ``store`` (from its attributes only)."""
    attrs = read_store_attrs(store)
    missing = str(attrs.get("missing_combinations", ""))
    return StoreWrite(
        path=store,
        status=status,
        inputs_sha256=str(attrs.get("inputs_sha256", "")),
        files=len([line for line in str(attrs.get("source_files", "")).split("\n") if line]),
        missing_combinations=[line for line in missing.split("\n") if line],
        synthetic=attrs.get("synthetic") == "yes",
    )


def inputs_digest(source_files: Sequence[str]) -> str:
    """Return ``inputs_sha256``: the sha256 of the sorted ``sha256sum`` lines, joined by newlines.

    A line that starts with ``-`` (an address that is not a file, not hashed) makes the digest
    empty: such inputs cannot be shown to be unchanged.
    """
    if any(line.startswith("-") for line in source_files):
        return ""
    return hashlib.sha256("\n".join(sorted(source_files)).encode()).hexdigest()


def write_projection_store(
    ds: xr.Dataset,
    store: Path,
    *,
    inputs: Sequence[InputFile] | Callable[[], Sequence[InputFile]],
    request: Mapping[str, Any],
) -> StoreWrite:
    """Write Projections as a projections store, atomically; leave a current store as it is.

    Parameters
    ----------
    ds : xarray.Dataset
        Projections contract (dims model, scenario, time, lat, lon; canonical units); may be
        lazy: it is computed and written one chunk at a time.
    store : Path
        The store (a directory, e.g. ``projections.zarr``). An existing projections store is
        replaced only once the new one is complete; anything else there is refused.
    inputs : sequence of InputFile, or a callable returning one
        The files (and addresses) the data came from. A callable is called after the data
        is written when there is no store yet (so that hashing runs alongside the write),
        and first otherwise (to compare with the store).
    request : mapping
        What was asked (variables, horizons, region ...); JSON-serialisable.

    Returns
    -------
    StoreWrite
        ``status="unchanged"`` if the store already holds the same inputs and request.

    Raises
    ------
    ClimateDataError
        If ``store`` is something other than a projections store, or another pull holds it.
    SchemaError
        If ``ds`` breaks the Projections contract.
    """
    store = Path(store)
    store.parent.mkdir(parents=True, exist_ok=True)
    known = None if callable(inputs) else list(inputs)
    with _writer_lock(store):
        _tidy_siblings(store)
        _check_replaceable(store)
        if store.exists():
            known = known if known is not None else _resolve(inputs)
            lines = [i.line for i in known]
            if store_is_current(store, source_files=lines, request=request):
                return describe_store(store, "unchanged")
        prepared = _prepare(ds, _attributes(ds, request))
        append_history(prepared.attrs, f"write_projection_store: {store.name}")
        temporary = store.with_name(f".{store.name}.tmp-{uuid.uuid4().hex[:8]}")
        try:
            _write_zarr(prepared, temporary)
            _finish(temporary, known if known is not None else _resolve(inputs))
            _swap_into_place(temporary, store)
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
    return describe_store(store, "written")


def _resolve(inputs: Sequence[InputFile] | Callable[[], Sequence[InputFile]]) -> list[InputFile]:
    return list(inputs() if callable(inputs) else inputs)


def _attributes(ds: xr.Dataset, request: Mapping[str, Any]) -> dict[str, Any]:
    """Return the store's global attributes but the inputs (set by :func:`_finish`)."""
    return {
        "Conventions": "CF-1.8",
        "title": "Daily climate projections (resilience projections store)",
        "store_format": STORE_FORMAT,
        "store_format_version": STORE_FORMAT_VERSION,
        "request": json.dumps(request, sort_keys=True),
        "synthetic": ds.attrs.get("synthetic", "no"),
        "missing_combinations": ds.attrs.get("missing_combinations", ""),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": f"resilience {resilience.__version__}",
    }


def _write_zarr(ds: xr.Dataset, path: Path) -> None:
    """Write ``ds`` as Zarr v2, chunk by chunk (2 threads); metadata is consolidated later."""
    encoding = _encoding(ds, _chunks(ds))
    with dask.config.set(num_workers=min(2, os.cpu_count() or 1)):
        ds.to_zarr(path, mode="w-", zarr_format=2, consolidated=False, encoding=encoding)


def _finish(path: Path, inputs: Sequence[InputFile]) -> None:
    """Record the inputs and consolidate the metadata: ``.zmetadata`` is written last."""
    import zarr

    lines = [i.line for i in inputs]
    stats = {
        i.location: {
            "sha256": i.sha256,
            "size_bytes": i.size_bytes,
            "mtime_ns": i.mtime_ns,
            "verified_ns": i.verified_ns,
        }
        for i in inputs
        if i.sha256 is not None and i.verified_ns is not None
    }
    group = zarr.open_group(str(path), mode="r+")
    group.attrs.update(
        {
            "inputs_sha256": inputs_digest(lines),
            "source_files": "\n".join(sorted(lines)),
            "source_stats": json.dumps(stats, sort_keys=True),
        }
    )
    zarr.consolidate_metadata(str(path))


def read_source_stats(store: Path) -> dict[str, dict[str, Any]]:
    """Return the store's record of its input files (absolute path -> sha256, size, times).

    Empty if ``store`` is not a projections store or has no record.
    """
    if not is_projection_store(store):
        return {}
    try:
        stats = json.loads(str(read_store_attrs(store).get("source_stats", "{}")))
    except ValueError:
        return {}
    return stats if isinstance(stats, dict) else {}
