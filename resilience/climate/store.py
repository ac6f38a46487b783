"""The projections store: pull into it, open it, or open a folder of files the same way.

``resilience pull --out STORE`` calls :func:`pull_to_store`; ``resilience hazards heat|rain
--projections PATH`` and the refresh flow call :func:`open_projections_source`, which opens a
projections store (:func:`open_projection_store`) or a directory of daily CMIP6 files
(NEX-GDDP-CMIP6 names through :func:`resilience.climate.projections.open_projections`, any
other naming through :func:`resilience.climate.pull.open_projection_files`). The store's
contract is docs/projections_store.md; writing it safely is
:mod:`resilience.climate.store_write`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from hazard_models.horizon import Horizon, horizon_by_name
from resilience.climate.assembly import open_pulled
from resilience.climate.catalog import Catalog
from resilience.climate.fetch import is_unchanged_since_verified, sha256_file
from resilience.climate.file_identity import identify_file
from resilience.climate.progress import bytes_text, drivers_text, task_progress
from resilience.climate.projection_file import ClimateDataError, parse_file_name
from resilience.climate.projections import open_projections
from resilience.climate.pull import open_projection_files
from resilience.climate.selection import select
from resilience.climate.store_write import (
    STORE_FORMAT,
    STORE_FORMAT_VERSION,
    InputFile,
    StoreWrite,
    describe_store,
    is_projection_store,
    read_source_stats,
    read_store_attrs,
    store_is_current,
    write_projection_store,
)
from resilience.climate.verified_cache import pull_verified
from resilience.schema import validate_projections

__all__ = [
    "StoreWrite",
    "is_projection_store",
    "open_projection_store",
    "open_projections_source",
    "pull_to_store",
]

#: Fields of a store's record of an input file, beside its sha256 (see ``InputFile``).
_STAT_KEYS = ("size_bytes", "mtime_ns", "verified_ns")


def open_projection_store(path: Path, *, variables: Sequence[str] | None = None) -> xr.Dataset:
    """Open a projections store lazily as Projections.

    Parameters
    ----------
    path : Path
        A store written by :func:`pull_to_store` (``resilience pull --out``).
    variables : sequence of str, optional
        Variables to keep; default all.

    Returns
    -------
    xarray.Dataset
        Dims (model, scenario, time, lat, lon), cftime ``time`` in the store's calendar,
        dask chunks of one calendar year (the store's cells per chunk), the store's
        attributes (docs/projections_store.md).

    Raises
    ------
    ClimateDataError
        If ``path`` is not a projections store, was written by a newer format version, or
        lacks a requested variable (the message lists those it holds).
    """
    path = Path(path)
    attrs = read_store_attrs(path)
    if attrs.get("store_format") != STORE_FORMAT:
        raise ClimateDataError(
            f"{path}: a Zarr store but not a projections store (store_format "
            f"{attrs.get('store_format')!r}; expected {STORE_FORMAT!r})"
        )
    version = attrs.get("store_format_version")
    if not isinstance(version, int) or version > STORE_FORMAT_VERSION:
        raise ClimateDataError(
            f"{path}: store_format_version {version!r}; this code reads versions up to "
            f"{STORE_FORMAT_VERSION} (pull again, or update resilience)"
        )
    ds = xr.open_dataset(
        path,
        engine="zarr",
        consolidated=True,
        chunks=None,
        cache=False,
        decode_times=xr.coders.CFDatetimeCoder(use_cftime=True),
    )
    if variables is not None:
        absent = [v for v in variables if v not in ds.data_vars]
        if absent:
            raise ClimateDataError(
                f"{path}: no variable {absent} in the store; it holds "
                f"{sorted(map(str, ds.data_vars))}"
            )
        ds = ds[list(variables)]
    chunks = _read_chunks(ds)
    extra = {str(n): c.load() for n, c in ds.coords.items() if n not in ds.dims}  # numpy
    wanted = {d: chunks[str(d)] for d in ds.dims if str(d) in chunks}
    ds = ds.drop_vars(list(extra)).chunk(wanted, token=_token(path)).assign_coords(extra)
    return validate_projections(ds)


def _token(path: Path) -> str:
    """Return a dask token for a store: its path and the stat of its consolidated metadata.

    Without it dask tokenizes the lazily indexed arrays by pickling them (about 1 s a
    variable, spent again on every open); a store rewritten in place gets new metadata and
    so a new token.
    """
    meta = next((path / n for n in (".zmetadata", "zarr.json") if (path / n).exists()), path)
    stat = meta.stat()
    return hashlib.sha256(
        f"{path.resolve()}|{stat.st_mtime_ns}|{stat.st_size}".encode()
    ).hexdigest()


def _read_chunks(ds: xr.Dataset) -> dict[str, Any]:
    """Dask chunks for reading: whole calendar years, the stored cells per chunk.

    A store chunked one year at a time (format version 1) is read one year per dask chunk. A
    store chunked over several years per chunk (time-contiguous blocks of cells, the layout
    docs/scaling.md recommends for large grids) is read in blocks of whole years that follow
    its chunks, so that no stored chunk is decompressed once per year. The yearly kernels
    (:mod:`hazard_models.yearly`) take any block of whole years without a rechunk.
    """
    years = ds["time"].dt.year.values
    starts = np.flatnonzero(np.r_[True, np.diff(years) != 0])
    stored = next(iter(ds.data_vars.values())).encoding.get("chunks")
    edges = starts
    if stored is not None and years.size:
        # each stored chunk boundary moved to the first year start at or after it
        at = np.searchsorted(starts, np.arange(0, years.size, int(stored[2])))
        edges = np.unique(starts[at[at < starts.size]])
    lengths = tuple(np.diff(np.r_[edges, years.size]).tolist())
    chunks: dict[str, Any] = {"model": 1, "scenario": 1, "time": lengths}
    if stored is not None:
        chunks.update({"lat": stored[3], "lon": stored[4]})
    return chunks


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and any(
        (path / n).exists() for n in (".zmetadata", ".zgroup", "zarr.json")
    )


def _select(
    ds: xr.Dataset,
    path: Path,
    *,
    models: Sequence[str] | None,
    scenarios: Sequence[str] | None,
    years: Sequence[int] | None,
) -> xr.Dataset:
    """Subset an opened store by model (label or source_id), scenario and calendar year."""
    if models is not None:
        labels = [str(m) for m in ds["model"].values]
        sources = [str(s) for s in ds["source_id"].values] if "source_id" in ds else labels
        keep = [lab for lab, src in zip(labels, sources, strict=True) if {lab, src} & set(models)]
        absent = [m for m in models if m not in labels and m not in sources]
        if absent:
            raise ClimateDataError(f"{path}: no model {absent} in the store; it holds {labels}")
        ds = ds.sel(model=keep)
    if scenarios is not None:
        held = [str(s) for s in ds["scenario"].values]
        absent = [s for s in scenarios if s not in held]
        if absent:
            raise ClimateDataError(f"{path}: no scenario {absent} in the store; it holds {held}")
        ds = ds.sel(scenario=[s for s in held if s in scenarios])
    if years is not None:
        ds = ds.isel(time=np.isin(ds["time"].dt.year.values, list(years)))
    return ds


def open_projections_source(
    path: Path,
    *,
    variables: Sequence[str],
    optional_variables: Sequence[str] = (),
    models: Sequence[str] | None = None,
    scenarios: Sequence[str] | None = None,
    years: Sequence[int] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> xr.Dataset:
    """Open a projections store or a directory of daily files as lazy Projections.

    Parameters
    ----------
    path : Path
        A projections store (written by :func:`pull_to_store` / ``resilience pull --out``)
        or a directory of daily NetCDF files (searched recursively): NEX-GDDP-CMIP6 names
        (the fast path, :func:`resilience.climate.projections.open_projections`), or CMIP6
        DRS names and files read through their attributes
        (:func:`resilience.climate.pull.open_projection_files`).
    variables : sequence of str
        Canonical variables that must be there, e.g. ``("tasmax",)``.
    optional_variables : sequence of str
        Variables added when the source holds them, e.g. ``("tasmin", "hurs")``.
    models, scenarios : sequence of str, optional
        Subsets (a model by label or ``source_id``); default all.
    years : sequence of int, optional
        Calendar years to keep; default all.
    bbox : tuple of float, optional
        ``(lon_min, lat_min, lon_max, lat_max)`` (degrees E/N; longitudes past 180 are
        wrapped): keep the cells whose centres lie inside, inclusive; default all.

    Returns
    -------
    xarray.Dataset
        Projections contract: dims (model, scenario, time, lat, lon), canonical units,
        dask-backed, with ``inputs_sha256``, ``missing_combinations`` and ``synthetic``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist, or a directory holds no file of a required variable.
    ClimateDataError
        If ``path`` is a file or a Zarr store that is not a projections store, a required
        variable, model or scenario is not in the store (the message says which), or no
        cell centre lies inside ``bbox`` (the message gives the grid's extent).
    """
    ds = _open_source(
        Path(path),
        variables=variables,
        optional_variables=optional_variables,
        models=models,
        scenarios=scenarios,
        years=years,
    )
    return ds if bbox is None else _cut_to_bbox(ds, bbox, Path(path))


def _cut_to_bbox(ds: xr.Dataset, bbox: tuple[float, float, float, float], path: Path) -> xr.Dataset:
    """Keep the cells of ``ds`` whose centres lie in ``bbox`` (inclusive, 1e-6 degrees)."""
    lon0, lat0, lon1, lat1 = (float(v) for v in bbox)
    lon0, lon1 = ((v + 180.0) % 360.0 - 180.0 if v >= 180.0 else v for v in (lon0, lon1))
    lat, lon = ds["lat"].values, ds["lon"].values
    keep_lat = (lat >= lat0 - 1e-6) & (lat <= lat1 + 1e-6)
    keep_lon = (lon >= lon0 - 1e-6) & (lon <= lon1 + 1e-6)
    if not keep_lat.any() or not keep_lon.any():
        raise ClimateDataError(
            f"{path}: no cell centre inside the region {list(bbox)}; the grid spans lat "
            f"{lat.min():g}..{lat.max():g}, lon {lon.min():g}..{lon.max():g}"
        )
    return ds.isel(lat=keep_lat, lon=keep_lon)


def _open_source(
    path: Path,
    *,
    variables: Sequence[str],
    optional_variables: Sequence[str],
    models: Sequence[str] | None,
    scenarios: Sequence[str] | None,
    years: Sequence[int] | None,
) -> xr.Dataset:
    """Open a store or a directory (see :func:`open_projections_source`)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no projections store or directory of files there")
    if _is_zarr(path):
        ds = open_projection_store(path)
        held = {str(v) for v in ds.data_vars}
        wanted = [*variables, *(v for v in optional_variables if v in held and v not in variables)]
        absent = [v for v in wanted if v not in held]
        if absent:
            raise ClimateDataError(
                f"{path}: no variable {absent} in the store; it holds {sorted(held)}"
            )
        return _select(ds[wanted], path, models=models, scenarios=scenarios, years=years)
    if not path.is_dir():
        raise ClimateDataError(
            f"{path}: a file; expected a projections store (a Zarr directory written by "
            "`resilience pull --out`) or a directory of daily NetCDF files"
        )
    files = sorted(p for p in path.rglob("*.nc") if p.is_file())
    if files and all(parse_file_name(p) is not None for p in files):
        held = {f.variable for p in files if (f := parse_file_name(p))}
        wanted = [*variables, *(v for v in optional_variables if v in held and v not in variables)]
        return open_projections(
            path, variables=wanted, models=models, scenarios=scenarios, years=years
        )
    held = {i.variable for p in files if (i := identify_file(p))}
    wanted = [*variables, *(v for v in optional_variables if v in held and v not in variables)]
    return open_projection_files(
        path, variables=wanted, models=models, scenarios=scenarios, years=years
    )


def _input_file(
    location: Path | str, previous: dict[str, Any], *, known_sha256: str | None, rehash: bool
) -> InputFile:
    """Return one input with its sha256: known, trusted from the store's record, or hashed.

    A catalogue checksum that the pull verified is used as it is. Otherwise the store's
    record of the file is trusted if
    :func:`resilience.climate.fetch.is_unchanged_since_verified` allows (same size and
    modification time, not modified within 2 s of hashing; the rule of the pull's verified
    cache), unless ``rehash``; any other file is hashed.
    """
    text = str(location)
    if "://" in text and not text.startswith("file://"):
        return InputFile(text, None)  # an address: nothing on disk to hash
    path = Path(text.removeprefix("file://")).resolve()
    stat = path.stat()
    if known_sha256 is not None:
        return InputFile(str(path), known_sha256)
    entry = previous.get(str(path))
    if not rehash and entry is not None and is_unchanged_since_verified(entry, stat):
        return InputFile(str(path), str(entry["sha256"]), *(entry[k] for k in _STAT_KEYS))
    started = time.time_ns()
    digest = sha256_file(path)
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
        raise ClimateDataError(f"{path}: changed while its sha256 was taken; pull again")
    return InputFile(str(path), digest, stat.st_size, stat.st_mtime_ns, started)


def _region_record(region: Any) -> Any:
    """Return a JSON-able record of a bbox (the numbers) or polygon (bounds, WKB sha256)."""
    if region is None or isinstance(region, tuple | list):
        return None if region is None else [float(x) for x in region]
    import shapely

    return {
        "bounds": [round(float(x), 9) for x in region.bounds],
        "wkb_sha256": hashlib.sha256(shapely.to_wkb(region)).hexdigest(),
    }


def _open_reference(path: Path) -> xr.Dataset:
    return xr.open_dataset(path, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True))


def _name_damaged_input(locations: Sequence[Path | str], err: BaseException) -> None:
    """Raise ClimateDataError naming the input behind a read error that named no file.

    netCDF-C reports a corrupt compressed chunk as ``RuntimeError: NetCDF: HDF error`` from
    inside a dask task, without the file; the inputs are read again to find it. Return if
    every input reads (the error lies elsewhere, e.g. a full disk).
    """
    from resilience.climate.plausibility import find_damaged_file

    damaged = find_damaged_file(locations)
    if damaged is not None:
        raise ClimateDataError(
            f"{damaged}; expected readable data (the file is damaged, e.g. a corrupt "
            f"compressed chunk: download or copy it again). The pull stopped with "
            f"{type(err).__name__}: {err}"
        ) from err


def pull_to_store(
    catalog: Catalog,
    store: Path,
    *,
    variables: Sequence[str],
    horizons: Sequence[str | Horizon],
    cache_dir: Path,
    region: Any = None,
    reference: Path | None = None,
    concurrency: int = 4,
    rehash: bool = False,
    progress: Callable[[str], None] | None = None,
) -> StoreWrite:
    """Pull what a request needs into a projections store; leave a current store as it is.

    Parameters
    ----------
    catalog : Catalog
        Sources: ``load_catalog(path)``, or ``catalog_from_source(glob or directory)``.
    store : Path
        The projections store to write (e.g. ``data/projections.zarr``).
    variables : sequence of str
        Canonical variables, e.g. ``("tasmax", "tasmin", "pr")``.
    horizons : sequence of str or Horizon
        Horizons whose years are needed; a run covering one only in part is reported in
        ``missing_combinations`` (horizon, years, files), its missing days NaN.
    cache_dir : Path
        HTTP downloads and the verification record of
        :func:`resilience.climate.verified_cache.pull_verified`.
    region : bbox tuple or shapely geometry, optional
        From :func:`resilience.climate.pull.resolve_region`; None keeps the whole grid.
    reference : Path, optional
        Observed daily NetCDF for quantile delta mapping
        (:func:`resilience.climate.bias.adjust_qdm`); its sha256 is part of the inputs.
    concurrency : int
        Files verified, downloaded or hashed at once.
    rehash : bool
        Hash every file even where a record says it is unchanged (finds an edit that kept
        both size and modification time).
    progress : callable, optional
        Called with one line at each phase (files selected, fetched and verified with their
        bytes, store checked, opened, bias-adjusted, written), so a long pull is never
        silent.

    Returns
    -------
    StoreWrite
        ``status="unchanged"`` (nothing opened or written) when the store holds the same
        inputs (sha256 of every file) and request; otherwise ``"written"``.

    Raises
    ------
    CatalogError, PullError, ClimateDataError, SchemaError
        Naming the source, file or field at fault (a file damaged so that reading it fails
        while the store is written is found by reading the inputs again); the old store
        stays as it was.
    """
    from concurrent.futures import ThreadPoolExecutor

    import resilience

    store = Path(store)
    wanted = [h if isinstance(h, Horizon) else horizon_by_name(h) for h in horizons]
    say = progress or (lambda line: None)
    clock = time.perf_counter()
    specs = select(catalog, variables=variables, horizons=wanted)
    say(f"selected {len(specs)} files ({drivers_text(specs)}) for {', '.join(variables)}")
    locations = pull_verified(specs, Path(cache_dir), concurrency=concurrency, rehash=rehash)
    say(
        f"fetched and verified {len(locations)} files, {bytes_text(locations)}, "
        f"in {time.perf_counter() - clock:.1f} s"
    )
    checksums = [s.sha256 if s.driver == "local" else None for s in specs]
    inputs = [*zip(locations, checksums, strict=True), *([(reference, None)] if reference else [])]
    request = {
        "variables": list(variables),
        "horizons": {h.name: [h.start, h.end] for h in wanted},
        "region": _region_record(region),
        "reference": None if reference is None else Path(reference).name,
        "code_version": f"resilience {resilience.__version__}",
    }
    previous = read_source_stats(store)
    # Hashing (hashlib releases the GIL) runs alongside the open and, for a new store, the
    # write, which needs the inputs only at the end; an existing store needs them first.
    pool = ThreadPoolExecutor(max_workers=max(1, min(concurrency, 2)))
    try:
        futures = [
            pool.submit(_input_file, loc, previous, known_sha256=known, rehash=rehash)
            for loc, known in inputs
        ]

        def hashed() -> list[InputFile]:
            return [future.result() for future in futures]

        if is_projection_store(store):
            say(f"checking {store} against the inputs' sha256")
            lines = [i.line for i in hashed()]
            if store_is_current(store, source_files=lines, request=request):
                say("the store already holds these inputs and this request: nothing to write")
                return describe_store(store, "unchanged")
        ds = open_pulled(specs, locations, variables=variables, horizons=wanted, region=region)
        ds.attrs["sources"] = " ".join(sorted({s.source for s in specs}))
        shape = " x ".join(f"{ds.sizes[d]} {d}" for d in ("time", "lat", "lon") if d in ds.sizes)
        say(f"opened and normalised: {shape}, {ds.nbytes / 1e9:.2f} GB in memory when read")
        try:
            if reference is not None:
                from resilience.climate.bias import adjust_qdm

                say(f"bias adjustment (QDM) against {Path(reference).name}, lazily")
                ds = adjust_qdm(ds, _open_reference(Path(reference)), variables=list(variables))
            say(f"writing {store} (aside, then swapped in)")
            with task_progress(say, "writing"):
                written = write_projection_store(ds, store, inputs=hashed, request=request)
            say(f"written in {time.perf_counter() - clock:.1f} s since the start")
            return written
        except (RuntimeError, OSError) as err:
            _name_damaged_input([*locations, *([reference] if reference else [])], err)
            raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
