"""Pull projections: catalogue -> selected files -> cache -> normalised lazy Projections.

``pull_projections`` is the library path behind ``resilience pull`` and the
``pull_projections`` Prefect flow: select only the files the requested variables and horizons
need, make them available (verified local files, resumable HTTP downloads, lazy OPeNDAP/Zarr
addresses), open and normalise each (CF axes, units, region with a one-cell buffer), and
assemble the ensemble, reporting missing combinations.
"""

from __future__ import annotations

import glob
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dask
import numpy as np
import xarray as xr

from hazard_models.horizon import Horizon, horizon_by_name
from resilience.climate.catalog import Catalog, Source
from resilience.climate.ensemble import assemble_ensemble
from resilience.climate.normalise import normalise, open_source
from resilience.climate.projection_file import ClimateDataError, parse_file_name
from resilience.climate.selection import FileSpec, pull, select
from resilience.storage.atomic import atomic_path

__all__ = [
    "REGIONS",
    "catalog_from_source",
    "pull_projections",
    "resolve_region",
    "write_projections",
]

#: Named regions: lon_min, lat_min, lon_max, lat_max (degrees). "shanghai" is the sample
#: domain; ``resolve_region`` replaces it with the municipality polygon when it can.
REGIONS: dict[str, tuple[float, float, float, float]] = {"shanghai": (120.8, 30.6, 122.1, 31.9)}


def resolve_region(region: str | None) -> Any:
    """Return a bbox tuple or polygon for a region name or ``"lon0,lat0,lon1,lat1"``.

    Raises
    ------
    ValueError
        For an unknown name or a malformed bbox; the message lists the known names.
    """
    if region is None:
        return None
    if region == "shanghai":
        from resilience.geodata.geography import open_municipality

        return open_municipality().geometry.union_all()
    if region in REGIONS:
        return REGIONS[region]
    parts = region.split(",")
    try:
        lon0, lat0, lon1, lat1 = (float(p) for p in parts)
    except ValueError:
        raise ValueError(
            f"--region {region!r}: expected one of {sorted(REGIONS)} "
            "or lon_min,lat_min,lon_max,lat_max"
        ) from None
    return (lon0, lat0, lon1, lat1)


def catalog_from_source(
    pattern: str,
    *,
    variables: Sequence[str] = (),
    models: Sequence[str] = (),
    experiments: Sequence[str] = (),
) -> Catalog:
    """Build a one-source catalogue from a local glob or an HTTP(S) URL template.

    A local glob must match NEX-GDDP-CMIP6-named files (what they hold is read from their
    names). A URL template uses ``{variable} {model} {experiment} {year} {variant} {grid}``
    and needs ``variables``, ``models`` and ``experiments``; years come from the horizons
    requested at pull time (1950-2100 are allowed).

    Raises
    ------
    FileNotFoundError
        If the glob matches no NEX-GDDP-CMIP6-named file; the message gives the pattern.
    ValueError
        If a URL template lacks ``models``, ``experiments`` or ``variables``.
    """
    if pattern.startswith(("http://", "https://")):
        if not (variables and models and experiments):
            raise ValueError(
                f"--source {pattern!r}: a URL template needs --variables, --models and "
                "--experiments"
            )
        url_source = Source(
            name="source",
            driver="http",
            url_template=pattern,
            variables=list(variables),
            models=list(models),
            experiments=list(experiments),
            years=["1950-2100"],  # type: ignore[arg-type]  # validated from "START-END"
        )
        return Catalog(sources=[url_source])
    files = [f for f in (parse_file_name(Path(p)) for p in sorted(glob.glob(pattern))) if f]
    if not files:
        raise FileNotFoundError(
            f"--source {pattern!r}: no file named like "
            "{var}_day_{model}_{experiment}_r1i1p1f1_gn_{year}.nc matched"
        )
    spans: dict[str, list[int]] = defaultdict(list)
    for f in files:
        spans[f.experiment].append(f.year)
    found = {e: [f"{min(y)}-{max(y)}"] for e, y in spans.items()}
    source = Source(
        name="source",
        driver="local",
        path=pattern,
        variables=sorted({f.variable for f in files}),
        models=sorted({f.model for f in files}),
        experiments=sorted(spans),
        years=found,  # type: ignore[arg-type]  # validated from "START-END" strings
    )
    return Catalog(sources=[source])


#: netCDF-C keeps a chunk cache per open variable (64 MiB by default in recent releases), and
#: xarray keeps up to 128 files open: peak memory grew with the number of files pulled
#: (bench/bench_pull.py). Each chunk is read once here, so a small cache costs nothing.
NETCDF_CHUNK_CACHE_BYTES = 4 * 2**20


def _limit_chunk_cache() -> None:
    import netCDF4

    netCDF4.set_chunk_cache(NETCDF_CHUNK_CACHE_BYTES)


def _open_member(location: Path | str, spec: FileSpec, region: Any) -> xr.Dataset:
    """Open and normalise one file; a downloaded file that fails is removed from the cache."""
    try:
        ds = open_source(location)
        # check_missing=False: the per-file missing-value scan would read every file now;
        # the assembled ensemble stays lazy and reports missing combinations instead.
        return normalise(
            ds,
            source=str(location),
            variables=list(spec.variables),
            region=region,
            check_missing=False,
        )
    except (ClimateDataError, ValueError):
        if spec.driver == "http":
            Path(location).unlink(missing_ok=True)  # nothing unusable stays in the cache
        raise


def _mask_outside(ds: xr.Dataset, polygon: Any) -> xr.Dataset:
    """Set cells whose centre is outside ``polygon`` buffered by one cell to NaN (once)."""
    import shapely

    cell = float(max(np.median(np.diff(ds["lat"])), np.median(np.diff(ds["lon"]))))
    lon2d, lat2d = np.meshgrid(ds["lon"].values, ds["lat"].values)
    mask = xr.DataArray(
        shapely.contains_xy(polygon.buffer(cell), lon2d, lat2d), dims=("lat", "lon")
    )
    attrs = dict(ds.attrs)
    out = ds.where(mask).assign_coords(region_mask=mask)
    out.attrs = attrs
    return out


def _merge_years(parts: list[xr.Dataset], variables: Sequence[str]) -> xr.Dataset:
    """Concatenate one run's yearly files along time, variable by variable, then merge.

    Files are ordered by their first time step before concatenating: ``sortby`` on the
    result would index the dask array with a permutation and merge chunks (memory grew
    with the input in bench/bench_pull.py).
    """
    ordered = sorted(parts, key=lambda d: d["time"].values[0])
    per_variable = [
        xr.concat(
            [d[[v]] for d in ordered if v in d], dim="time", coords="minimal", compat="override"
        )
        for v in variables
        if any(v in d for d in ordered)
    ]
    return xr.merge(per_variable, compat="override", join="outer")


def pull_projections(
    catalog: Catalog,
    *,
    variables: Sequence[str],
    horizons: Sequence[str | Horizon],
    cache_dir: Path,
    region: Any = None,
    concurrency: int = 4,
) -> xr.Dataset:
    """Select, fetch, normalise and assemble the projections a request needs.

    Parameters
    ----------
    catalog : Catalog
        Sources (``resilience.climate.catalog.load_catalog`` or :func:`catalog_from_source`).
    variables : sequence of str
        Canonical variables, e.g. ``("tasmax", "pr")``.
    horizons : sequence of str or Horizon
        Horizons whose years are needed (``baseline`` from historical, others from SSPs).
    cache_dir : Path
        Where HTTP downloads are cached (with a manifest; a second pull downloads nothing new).
    region : bbox tuple or shapely geometry, optional
        Subset with a one-cell buffer (see :func:`resolve_region`).
    concurrency : int
        Downloads at once.

    Returns
    -------
    xarray.Dataset
        Lazy Projections (model, scenario, time, lat, lon) in canonical units, with
        ``missing_combinations`` and the sources' checksums in attrs.
    """
    wanted = [h if isinstance(h, Horizon) else horizon_by_name(h) for h in horizons]
    specs = select(catalog, variables=variables, horizons=wanted)
    _limit_chunk_cache()
    locations = pull(specs, Path(cache_dir), concurrency=concurrency)
    polygon = None if region is None or isinstance(region, tuple | list) else region
    bbox = tuple(polygon.bounds) if polygon is not None else region
    runs: dict[tuple[str, str], list[xr.Dataset]] = defaultdict(list)
    for spec, location in zip(specs, locations, strict=True):
        member = _open_member(location, spec, bbox)  # polygon mask applied once, below
        runs[(spec.models[0], spec.experiments[0])].append(member)
    members = {key: _merge_years(parts, variables) for key, parts in runs.items()}
    ds = assemble_ensemble(
        members, variables=variables, models=sorted({m for s in specs for m in s.models})
    )
    if polygon is not None:
        ds = _mask_outside(ds, polygon)
    ds.attrs["source_sha256"] = " ".join(sorted({s.sha256 for s in specs if s.sha256}))
    ds.attrs["sources"] = " ".join(sorted({s.source for s in specs}))
    return ds


def write_projections(ds: xr.Dataset, out_dir: Path, *, fmt: str = "netcdf") -> Path:
    """Write normalised Projections to ``out_dir`` as NetCDF or Zarr, atomically.

    Returns the path written (``projections.nc`` or ``projections.zarr``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "zarr":
        target = out_dir / "projections.zarr"
        with atomic_path(target) as temporary:
            ds.to_zarr(temporary, mode="w")
        return target
    target = out_dir / "projections.nc"
    with atomic_path(target) as temporary:
        # One chunk at a time: NetCDF writes are serialised by a lock anyway, and a parallel
        # scheduler ran ahead of the writer, holding chunks whose number grew with the input.
        with dask.config.set(scheduler="synchronous"):
            ds.to_netcdf(temporary)
    return target
