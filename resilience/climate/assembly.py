"""Pulled files to one lazy Projections Dataset: open, normalise, join runs, label, report gaps.

:func:`open_pulled` is the second half of a pull (the first, choosing and fetching files, is
:mod:`resilience.climate.selection`). Each file is opened lazily and normalised
(:mod:`resilience.climate.normalise`: CF axes, canonical units, 0-360 longitudes wrapped,
latitudes ascending, the region cut with a one-cell buffer) and checked to hold daily data.
The files of one run (model, member, experiment) are joined along time; two files that share
a day are refused. Runs get their ``model`` label from :mod:`resilience.climate.member`
(several members of one model are kept apart) and are stacked by
:func:`resilience.climate.ensemble.assemble_ensemble`. Every needed year that a run lacks, or
holds only in part, is reported in ``missing_combinations`` with the files' names
(:mod:`resilience.climate.coverage`). A sample of each file's values is checked
(:mod:`resilience.climate.plausibility`): implausible values (units mislabelled) refuse the
file, and years in which a file holds no value at all are reported in
``missing_combinations`` too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from resilience.climate.coverage import coverage_gaps, gap_line, needed_years
from resilience.climate.ensemble import assemble_ensemble
from resilience.climate.member import member_coords, member_labels
from resilience.climate.normalise import normalise, open_source
from resilience.climate.plausibility import check_file_values, empty_line
from resilience.climate.projection_file import ClimateDataError
from resilience.climate.selection import FileSpec
from resilience.schema import Horizon, append_history

__all__ = ["NETCDF_CHUNK_CACHE_BYTES", "open_pulled"]

#: netCDF-C keeps a chunk cache per open variable (64 MiB by default in recent releases), and
#: xarray keeps up to 128 files open: peak memory grew with the number of files pulled
#: (bench/bench_pull.py). Each chunk is read once here, so a small cache costs nothing.
NETCDF_CHUNK_CACHE_BYTES = 4 * 2**20
#: Accepted spacing of daily time steps, days (a daily file written at mid-day or midnight).
_DAILY_STEP_DAYS = (0.99, 1.01)

_Run = tuple[str, str, str]  # (model, member, experiment)


def _limit_chunk_cache() -> None:
    import netCDF4

    netCDF4.set_chunk_cache(NETCDF_CHUNK_CACHE_BYTES)


def _check_daily(ds: xr.Dataset, source: str) -> None:
    """Raise unless the time steps of ``ds`` are one day apart (the Projections contract)."""
    index = ds.indexes["time"]
    if index.size < 2:
        return
    if not hasattr(index, "asi8"):  # numbers, not dates: the time axis was not decoded
        raise ClimateDataError(
            f"{source}: time: values are not dates (no CF 'units' such as 'days since "
            "1850-01-01', or units that do not decode); expected a CF time axis"
        )
    step_days = float(np.median(np.diff(np.asarray(index.asi8)))) / 86_400e6
    if not _DAILY_STEP_DAYS[0] <= step_days <= _DAILY_STEP_DAYS[1]:
        raise ClimateDataError(
            f"{source}: time steps are {step_days:g} days apart; expected daily data "
            "(CMIP6 table 'day')"
        )


def _time_dim(raw: xr.Dataset) -> str | None:
    """Return the dimension of the raw file's time axis (as normalise finds it), or None."""
    import cf_xarray  # noqa: F401  (registers the .cf accessor)

    for candidate in (raw, raw.cf.guess_coord_axis(verbose=False)):
        try:
            return str(candidate.cf["time"].dims[0])
        except (KeyError, ValueError, IndexError):
            continue
    return None


def _sampler(location: Path | str, normalised: Any) -> Any:
    """Return a function giving chosen time steps of a local NetCDF file, normalised.

    The steps are read without dask (netCDF4 reads those steps alone; a dask chunk is read
    whole, often the whole file), then normalised like the file. None for an address or a
    Zarr store (the default of :func:`resilience.climate.plausibility.check_file_values`).
    """
    text = str(location)
    path = Path(text.removeprefix("file://"))
    if ("://" in text and not text.startswith("file://")) or not path.is_file():
        return None

    def take(steps: np.ndarray) -> xr.Dataset:
        times = xr.coders.CFDatetimeCoder(use_cftime=True)
        with xr.open_dataset(path, engine="netcdf4", decode_times=times, cache=False) as raw:
            time_dim = _time_dim(raw)
            if time_dim is None:  # normalise found it; this only guards the sampling
                raise ClimateDataError(f"{path}: no time axis found; expected a CF time axis")
            picked = raw.isel({time_dim: steps}).load()
        return normalised(picked)

    return take


#: Largest on-disk time chunk, days, for which every year of a file is sampled (a sampled
#: day costs the read of its chunk; CMOR writes one day per chunk).
_SAMPLE_YEARS_UP_TO_CHUNK_DAYS = 31


def _time_chunk_days(raw: xr.Dataset) -> int:
    """Return the largest on-disk chunk along the first (time) dim of the data, days."""
    sizes = [v.encoding.get("chunksizes") for v in raw.data_vars.values() if v.ndim == 3]
    return max([int(c[0]) for c in sizes if c] or [1])


def _open_member(
    location: Path | str, spec: FileSpec, region: Any
) -> tuple[xr.Dataset, dict[str, list[int]]]:
    """Open, normalise and sample one file; return it and its years without any value.

    A downloaded file that fails is removed from the cache.
    """

    def normalised(ds: xr.Dataset) -> xr.Dataset:
        # check_missing=False: the per-file missing-value scan would read every file now;
        # the assembled ensemble stays lazy and reports missing combinations instead.
        return normalise(
            ds,
            source=str(location),
            variables=list(spec.variables),
            region=region,
            check_missing=False,
        )

    try:
        raw = open_source(location)
        ds = normalised(raw)
        _check_daily(ds, str(location))
        take = _sampler(location, normalised)
        per_year = _time_chunk_days(raw) <= _SAMPLE_YEARS_UP_TO_CHUNK_DAYS
        return ds, check_file_values(ds, str(location), take=take, per_year=per_year)
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


def _name(part: xr.Dataset) -> str:
    return Path(str(part.attrs.get("source_normalised", "?")).split("?")[0]).name


def _join_times(parts: list[xr.Dataset], variable: str) -> xr.Dataset:
    """Concatenate one variable of a run's files along time; refuse files that share days.

    Files are ordered by their first time step before concatenating: ``sortby`` on the
    result would index the dask array with a permutation and merge chunks (memory grew
    with the input in bench/bench_pull.py).
    """
    ordered = sorted((d for d in parts if variable in d), key=lambda d: d["time"].values[0])
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after["time"].values[0] <= before["time"].values[-1]:
            raise ClimateDataError(
                f"{_name(after)}: {variable} from {after['time'].values[0]} overlaps "
                f"{_name(before)} (to {before['time'].values[-1]}); expected each day of a "
                "run in one file (remove the duplicate or the older version)"
            )
    return xr.concat(
        [d[[variable]] for d in ordered], dim="time", coords="minimal", compat="override"
    )


def _gap_lines(
    run_label: str,
    experiment: str,
    parts: list[xr.Dataset],
    needs: list[tuple[Horizon | None, list[int]]],
) -> list[str]:
    """Report every needed year the run's files lack or hold in part, per variable."""
    lines = []
    variables = sorted({str(v) for d in parts for v in d.data_vars})
    for variable in variables:
        holders = [d for d in parts if variable in d]
        years = np.concatenate([d["time"].dt.year.values for d in holders])
        calendar = holders[0]["time"].dt.calendar
        files = [_name(d) for d in holders]
        for horizon, needed in needs:
            gaps = coverage_gaps(years, needed, calendar)
            if gaps:
                run = f"{run_label} {experiment} {variable}"
                lines.append(gap_line(run, gaps, files, horizon=horizon))
    return lines


def _needs(
    experiment: str, horizons: Sequence[Horizon] | None, runs: dict[_Run, list[xr.Dataset]]
) -> list[tuple[Horizon | None, list[int]]]:
    """Return the years a run of ``experiment`` must hold, per horizon.

    Without horizons: every year that any run of the experiment holds.
    """
    if horizons is not None:
        return [(h, years) for h in horizons if (years := needed_years(h, experiment))]
    found = {
        int(y)
        for (_, _, e), parts in runs.items()
        if e == experiment
        for d in parts
        for y in np.unique(d["time"].dt.year.values)
    }
    return [(None, sorted(found))]


def open_pulled(
    specs: Sequence[FileSpec],
    locations: Sequence[Path | str],
    *,
    variables: Sequence[str],
    horizons: Sequence[Horizon] | None = None,
    region: Any = None,
) -> xr.Dataset:
    """Open, normalise and assemble pulled files into lazy Projections.

    Parameters
    ----------
    specs : sequence of FileSpec
        From :func:`resilience.climate.selection.select`.
    locations : sequence of Path or str
        From :func:`resilience.climate.selection.pull`, in the order of ``specs``.
    variables : sequence of str
        Canonical variables the Dataset must hold.
    horizons : sequence of Horizon, optional
        Years each run must cover (historical up to 2014, SSPs after); None: every year that
        another run of the same experiment holds.
    region : bbox tuple or shapely geometry, optional
        ``(lon_min, lat_min, lon_max, lat_max)`` in degrees, or a polygon (EPSG:4326); cut
        with a one-cell buffer, and a polygon masks cells outside it (``region_mask``).

    Returns
    -------
    xarray.Dataset
        Dims (model, scenario, time, lat, lon), canonical units, dask-backed; ``model``
        labels per :mod:`resilience.climate.member` with ``source_id`` and ``member_id``
        coordinates. Attributes: ``missing_combinations`` (absent runs and variables,
        needed years missing or partial, and years in which a file holds no value at all,
        with file names; NaN in the data), ``synthetic``
        (``"yes"`` if any input says so) and ``history``.

    Raises
    ------
    ClimateDataError
        Naming the file: unreadable or damaged, not daily, inconvertible units, sampled
        values outside their plausible range (mislabelled units), days shared by two files
        of one run, a region outside the data.
    SchemaError
        If grids or calendars differ between runs.
    """
    _limit_chunk_cache()
    polygon = None if region is None or isinstance(region, tuple | list) else region
    bbox = tuple(polygon.bounds) if polygon is not None else region
    runs: dict[_Run, list[xr.Dataset]] = defaultdict(list)
    empty: dict[_Run, list[tuple[str, list[int], str]]] = defaultdict(list)
    for spec, location in zip(specs, locations, strict=True):
        member = spec.members[0] if spec.members else ""
        part, no_value = _open_member(location, spec, bbox)  # a polygon mask: once, below
        run = (spec.models[0], member, spec.experiments[0])
        runs[run].append(part)
        empty[run] += [(v, years, _name(part)) for v, years in sorted(no_value.items())]
    label_of = member_labels({(model, member) for model, member, _ in runs})
    members, gaps = {}, []
    for (model, member, experiment), parts in sorted(runs.items()):
        label = label_of[(model, member)]
        joined = [_join_times(parts, v) for v in variables if any(v in d for d in parts)]
        members[(label, experiment)] = xr.merge(joined, compat="override", join="outer")
        gaps += _gap_lines(label, experiment, parts, _needs(experiment, horizons, runs))
        gaps += [
            empty_line(f"{label} {experiment} {variable}", years, file)
            for variable, years, file in empty[(model, member, experiment)]
        ]
    labels = sorted(set(label_of.values()))
    ds = assemble_ensemble(members, variables=variables, models=labels)
    ds = ds.assign_coords(member_coords(labels, label_of))
    lines = [line for line in ds.attrs["missing_combinations"].split("\n") if line] + gaps
    flags = {str(p.attrs.get("synthetic", "no")).lower() for ps in runs.values() for p in ps}
    ds.attrs["missing_combinations"] = "\n".join(lines)
    ds.attrs["synthetic"] = "yes" if "yes" in flags else "no"
    append_history(ds.attrs, f"open_pulled: {len(specs)} files, {len(runs)} runs")
    if polygon is not None:
        ds = _mask_outside(ds, polygon)
    return ds
