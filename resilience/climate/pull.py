"""Pull projections: catalogue -> selected files -> cache -> normalised lazy Projections.

``pull_projections`` is the library path behind ``resilience pull`` and the
``pull_projections`` Prefect flow: select only the files the requested variables and horizons
need, make them available (verified local files, resumable HTTP downloads, lazy OPeNDAP/Zarr
addresses), open and normalise each (CF axes, units, region with a one-cell buffer), and
assemble the ensemble, reporting missing combinations and partly covered horizons
(:mod:`resilience.climate.assembly`). ``open_projection_files`` does the same for a folder
of files without a catalogue or horizons. Writing the result as a projections store is
:mod:`resilience.climate.store`; ``write_projections`` keeps the older single-file output.
"""

from __future__ import annotations

import glob
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import dask
import numpy as np
import xarray as xr

from hazard_models.horizon import HISTORICAL, Horizon, horizon_by_name
from resilience.climate.assembly import open_pulled
from resilience.climate.catalog import Catalog, CatalogError, Source
from resilience.climate.file_identity import identify_file
from resilience.climate.projection_file import year_runs
from resilience.climate.selection import pull, select
from resilience.storage.atomic import atomic_path

__all__ = [
    "REGIONS",
    "catalog_from_source",
    "open_projection_files",
    "pull_projections",
    "resolve_region",
    "write_projections",
]

#: Named regions: lon_min, lat_min, lon_max, lat_max (degrees). "shanghai" is the sample
#: domain; ``resolve_region`` replaces it with the municipality polygon when it can.
REGIONS: dict[str, tuple[float, float, float, float]] = {"shanghai": (120.8, 30.6, 122.1, 31.9)}


def resolve_region(region: str | None) -> Any:
    """Return a bbox tuple or polygon for a region name or ``"lon0,lat0,lon1,lat1"``.

    ``"global"`` (or None) returns None: the whole grid of the files is kept.

    Raises
    ------
    ValueError
        For an unknown name or a malformed bbox; the message lists the known names.
    """
    if region is None or region == "global":
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
            f"--region {region!r}: expected one of {sorted(REGIONS)}, 'global' "
            "or lon_min,lat_min,lon_max,lat_max"
        ) from None
    return (lon0, lat0, lon1, lat1)


def _year_ranges(years: Iterable[int]) -> list[str]:
    """Format years as inclusive ``START-END`` ranges, e.g. ``["1995-2014", "2081-2100"]``."""
    return [f"{a}-{b}" for a, b in year_runs(years)]


def catalog_from_source(
    pattern: str,
    *,
    variables: Sequence[str] = (),
    models: Sequence[str] = (),
    experiments: Sequence[str] = (),
) -> Catalog:
    """Build a one-source catalogue from a local glob or directory, or an HTTP(S) URL template.

    A local glob (``**`` recurses) or a directory (read as ``DIR/**/*.nc``) may match any
    daily CMIP6 files: NEX-GDDP-CMIP6 per-year names, CMIP6 DRS names with date ranges, or
    files whose names say nothing, read through their global attributes
    (:func:`resilience.climate.file_identity.identify_file`). Files of other variables than
    ``variables`` (when given), of non-daily tables or of non-scenario experiments are
    skipped. A URL template uses ``{variable} {model} {experiment} {year} {variant} {grid}``
    and needs ``variables``, ``models`` and ``experiments``; years come from the horizons
    requested at pull time (1950-2100 are allowed).

    Raises
    ------
    FileNotFoundError
        If the glob matches no usable file; the message gives the pattern and the number of
        files looked at.
    ClimateDataError
        If a file's name says nothing and its header lacks the CMIP6 identifiers.
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
    if Path(pattern).is_dir():
        pattern = str(Path(pattern) / "**" / "*.nc")
    paths = [Path(p) for p in sorted(glob.glob(pattern, recursive=True)) if Path(p).is_file()]
    files = [f for f in (identify_file(p) for p in paths) if f]
    files = [f for f in files if not variables or f.variable in variables]
    if not files:
        raise FileNotFoundError(
            f"--source {pattern!r}: no daily file of a canonical variable and a CMIP6 scenario "
            f"matched ({len(paths)} files looked at; expected names like "
            "{var}_day_{model}_{experiment}_r1i1p1f1_gn_{year}.nc or "
            "{var}_day_{model}_{experiment}_r1i1p1f1_gn_{start}-{end}.nc, or global "
            "attributes source_id, experiment_id, variant_label)"
        )
    spans: dict[str, set[int]] = defaultdict(set)
    for f in files:
        spans[f.experiment].update(f.years)
    found = {e: _year_ranges(y) for e, y in spans.items()}
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
    locations = pull(specs, Path(cache_dir), concurrency=concurrency)
    ds = open_pulled(specs, locations, variables=variables, horizons=wanted, region=region)
    ds.attrs["source_sha256"] = " ".join(sorted({s.sha256 for s in specs if s.sha256}))
    ds.attrs["sources"] = " ".join(sorted({s.source for s in specs}))
    return ds


def open_projection_files(
    directory: Path,
    *,
    variables: Sequence[str],
    models: Sequence[str] | None = None,
    scenarios: Sequence[str] | None = None,
    years: Sequence[int] | None = None,
    region: Any = None,
) -> xr.Dataset:
    """Open a directory of daily CMIP6 files of any naming as lazy Projections.

    Files are found under ``directory`` recursively (``**/*.nc``) and identified by
    :func:`resilience.climate.file_identity.identify_file` (NEX-GDDP-CMIP6 names, CMIP6 DRS
    names with date ranges, or global attributes). Unlike :func:`pull_projections` no
    horizon is needed: every year found is kept, and a run lacking years that another run
    of its experiment holds is reported in ``missing_combinations``.

    Parameters
    ----------
    directory : Path
        Folder of NetCDF files.
    variables : sequence of str
        Canonical variables.
    models, scenarios : sequence of str, optional
        Subsets (a model as ``MODEL`` or ``MODEL_{member}``); default all found.
    years : sequence of int, optional
        Calendar years to keep (whole files touching them are opened); default all.
    region : bbox tuple or shapely geometry, optional
        As for :func:`pull_projections`.

    Returns
    -------
    xarray.Dataset
        As :func:`resilience.climate.assembly.open_pulled`, with ``sources`` = the directory.

    Raises
    ------
    FileNotFoundError
        If no usable file is found, or none for a requested variable, model or scenario.
    ClimateDataError
        Naming the file at fault (see :func:`resilience.climate.assembly.open_pulled`).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"projections directory {directory} does not exist")
    catalog = catalog_from_source(str(directory / "**" / "*.nc"), variables=variables)
    ends = [y for ranges in catalog.sources[0].years.values() for pair in ranges for y in pair]
    first, last = (min(years), max(years)) if years else (min(ends), max(ends))
    span = Horizon("files", first, last)
    ssps = [s for s in scenarios or [] if s != HISTORICAL] or None
    try:
        specs = select(
            catalog, variables=variables, horizons=[span], experiments=ssps, models=models
        )
    except CatalogError as err:
        raise FileNotFoundError(f"{directory}: {err}") from err
    if years is not None:
        wanted = set(years)
        specs = [s for s in specs if wanted & set(s.years)]
    if scenarios is not None:
        specs = [s for s in specs if s.experiments[0] in scenarios]
    locations = [Path(s.location) for s in specs]
    ds = open_pulled(specs, locations, variables=variables, region=region)
    ds.attrs["sources"] = str(directory)
    if years is not None:  # whole files were opened; keep only the years asked for
        ds = ds.isel(time=np.isin(ds["time"].dt.year.values, list(years)))
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
