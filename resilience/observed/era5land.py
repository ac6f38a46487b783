"""Open the shipped ERA5-Land daily file as an observed CF Dataset, usable as a QDM reference.

:func:`open_era5land` returns dims ``(time, lat, lon)`` with ascending ``lat``/``lon``, the
canonical variables ``tasmax``, ``tasmin``, ``tas`` (degC) and ``pr`` (mm/day), float32,
``synthetic = "no"`` and the producer's source, licence and references. Units are checked
(K is converted, keeping ``original_units``), values beyond the world records raise, and
missing days and sea cells (ERA5-Land is land-only) are reported in the attributes, never
filled. :func:`era5land_on_grid` cuts it to a projection grid (the sample's 14 x 14 grid is
a subset of the 0.1-degree ERA5-Land grid) and :func:`era5land_at_points` to station series;
both are references that ``resilience.climate.bias.adjust_qdm`` accepts, with a baseline
inside 2010-2025 (``docs/observed.md``).

References
----------
Munoz-Sabater, J. et al. (2021). ERA5-Land: a state-of-the-art global reanalysis dataset for
land applications. Earth Syst. Sci. Data 13, 4349-4383, doi:10.5194/essd-13-4349-2021.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from resilience.observed.quality import (
    WORLD_RECORDS,
    Gap,
    describe_gaps,
    missing_runs,
    year_completeness,
)
from resilience.observed.shipped import ERA5LAND_FILE, observed_file
from resilience.schema import CANONICAL_UNITS, SchemaError, append_history

__all__ = [
    "ERA5LAND_VARIABLES",
    "complete_years",
    "era5land_at_points",
    "era5land_gaps",
    "era5land_on_grid",
    "fill_sea_cells",
    "open_era5land",
]

ERA5LAND_VARIABLES = ("tasmax", "tasmin", "tas", "pr")
#: Accepted units per canonical unit, as (factor, offset): canonical = raw * f + o.
_UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "degC": {"degC": (1.0, 0.0), "Celsius": (1.0, 0.0), "K": (1.0, -273.15)},
    "mm/day": {"mm/day": (1.0, 0.0), "mm d-1": (1.0, 0.0)},
}
_BOUNDS = {
    "degC": WORLD_RECORDS["temperature_degc"],
    "mm/day": WORLD_RECORDS["precipitation_mm_per_day"],
}
_STANDARD_NAMES = {
    "tasmax": ("air_temperature", "time: maximum"),
    "tasmin": ("air_temperature", "time: minimum"),
    "tas": ("air_temperature", "time: mean"),
    "pr": ("lwe_thickness_of_precipitation_amount", "time: sum"),
}
#: Packing step of the file (int16, scale 0.01): tolerance of the tasmin <= tas <= tasmax check.
_PACKING = 0.011


def _canonical(ds: xr.Dataset, name: str, where: str) -> xr.DataArray:
    """Return one variable in canonical units, or raise naming the file and the units."""
    if name not in ds.data_vars:
        raise SchemaError(
            f"{where}: variable {name!r} missing; found {sorted(map(str, ds.data_vars))}"
        )
    values = ds[name].astype(np.float32)
    canonical = CANONICAL_UNITS[name]
    units = str(ds[name].attrs.get("units", ""))
    if units not in _UNITS[canonical]:
        raise SchemaError(
            f"{where}: variable {name!r}: units {units!r}; "
            f"expected one of {sorted(_UNITS[canonical])}"
        )
    factor, offset = _UNITS[canonical][units]
    attrs = dict(ds[name].attrs)
    if units != canonical:
        values = values * np.float32(factor) + np.float32(offset)
        attrs["original_units"] = units
    low, high = _BOUNDS[canonical]
    found_low, found_high = float(values.min()), float(values.max())
    if found_low < low or found_high > high:
        raise SchemaError(
            f"{where}: variable {name!r}: values {found_low:g}..{found_high:g} {canonical}; "
            f"expected within the world records {low:g}..{high:g} {canonical} (wrong units?)"
        )
    standard_name, cell_methods = _STANDARD_NAMES[name]
    attrs.update(units=canonical, standard_name=standard_name, cell_methods=cell_methods)
    return values.assign_attrs(attrs)


def _axes(ds: xr.Dataset, where: str) -> xr.Dataset:
    """Rename latitude/longitude to lat/lon, sort them ascending and check daily time."""
    ds = ds.rename({k: v for k, v in (("latitude", "lat"), ("longitude", "lon")) if k in ds.dims})
    for axis in ("time", "lat", "lon"):
        if axis not in ds.dims:
            raise SchemaError(f"{where}: expected a {axis!r} dim, found {tuple(ds.dims)}")
    ds = ds.assign_coords(lon=(ds["lon"] + 180.0) % 360.0 - 180.0).sortby(["lat", "lon"])
    times = pd.DatetimeIndex(ds["time"].values)
    steps = np.diff(times.asi8)
    if times.has_duplicates or np.any(steps <= 0):
        raise SchemaError(f"{where}: time: expected strictly increasing days")
    full = pd.date_range(times[0], times[-1], freq="D")
    if len(full) != len(times):
        ds = ds.reindex(time=full)  # days absent from the file become NaN and are reported
    for axis, standard in (("lat", "latitude"), ("lon", "longitude")):
        ds[axis].attrs = {
            "units": f"degrees_{'north' if axis == 'lat' else 'east'}",
            "standard_name": standard,
        }
    return ds


def _check_order(ds: xr.Dataset, where: str) -> None:
    """Raise if tasmin > tas or tas > tasmax anywhere (beyond the packing step)."""
    for low, high in (("tasmin", "tas"), ("tas", "tasmax")):
        bad = int((ds[low] > ds[high] + _PACKING).sum())
        if bad:
            raise SchemaError(
                f"{where}: {bad} cell-days with {low} > {high}; expected {low} <= {high}"
            )


def era5land_gaps(ds: xr.Dataset) -> list[Gap]:
    """Return the runs of days on which a variable has no value on any land cell.

    Land cells are those with at least one value of the variable; cells with none (sea, for
    land-only ERA5-Land) are reported in ``attrs["sea_cells"]`` by :func:`open_era5land`.
    """
    gaps: list[Gap] = []
    labels = pd.Index(pd.DatetimeIndex(ds["time"].values).strftime("%Y-%m-%d"))
    for name in ERA5LAND_VARIABLES:
        if name not in ds.data_vars:
            continue
        values = ds[name]
        land = values.notnull().any("time")
        missing = (values.isnull() | ~land).all(["lat", "lon"]).values
        gaps += missing_runs(labels, missing, name, "no value on any land cell")
    return gaps


def open_era5land(path: Path | None = None) -> xr.Dataset:
    """Open ERA5-Land daily aggregates as a CF Dataset of observations.

    Parameters
    ----------
    path : Path, optional
        NetCDF file with ``tasmax``, ``tasmin``, ``tas`` (degC or K) and ``pr`` (mm/day) on
        ``latitude``/``longitude`` (or ``lat``/``lon``); default: the shipped file.

    Returns
    -------
    xarray.Dataset
        Dims ``(time, lat, lon)``, daily, ascending lat/lon, float32; ``tasmax``, ``tasmin``,
        ``tas`` in degC, ``pr`` in mm/day. Global attributes keep the file's ``source``,
        ``license`` and ``references`` and add ``synthetic = "no"``, ``gaps`` (runs of days
        without a value), ``sea_cells`` and ``history``; each variable has ``missing_days``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SchemaError
        Naming the file and variable: a variable or dim missing, unknown units, values
        beyond the world records, non-increasing time, or tasmin > tas > tasmax.
    """
    path = Path(path) if path is not None else observed_file(ERA5LAND_FILE)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    where = str(path)
    with xr.open_dataset(path) as raw:
        ds = _axes(raw.load(), where)
    out = xr.Dataset({name: _canonical(ds, name, where) for name in ERA5LAND_VARIABLES})
    _check_order(out, where)
    gaps = era5land_gaps(out)
    for name in ERA5LAND_VARIABLES:
        out[name].attrs["missing_days"] = sum(g.steps for g in gaps if g.field == name)
    sea = out["tasmax"].isnull().all("time")
    out.attrs = {
        "title": str(ds.attrs.get("title", "ERA5-Land daily aggregates")),
        "Conventions": "CF-1.8",
        "source": str(ds.attrs.get("source", "")),
        "license": str(ds.attrs.get("license", "")),
        "references": str(ds.attrs.get("references", "")),
        "synthetic": "no",
        "gaps": describe_gaps(gaps),
        "sea_cells": f"{int(sea.sum())} of {sea.size} cells have no value (ERA5-Land is land-only)",
    }
    append_history(out.attrs, f"open_era5land: {path.name}, lat/lon ascending, float32")
    return out


def _require_coords(axis: xr.DataArray, wanted: np.ndarray, name: str) -> np.ndarray:
    """Return the indices of ``wanted`` on ``axis`` (within 1e-6 degrees), or raise."""
    values = axis.values
    index = np.abs(values[None, :] - wanted[:, None]).argmin(axis=1)
    off = np.abs(values[index] - wanted) > 1e-6
    if np.any(off):
        raise SchemaError(
            f"era5land: {name} {wanted[off][0]:g} is not on the ERA5-Land grid "
            f"({values[0]:g}..{values[-1]:g} every 0.1 degree); regrid first"
        )
    return index


def era5land_on_grid(ds: xr.Dataset, lat: Sequence[float], lon: Sequence[float]) -> xr.Dataset:
    """Cut ERA5-Land to a projection grid whose cells are ERA5-Land cells.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`open_era5land`.
    lat, lon : sequence of float
        The projection grid (degrees north / east), e.g. the sample's 30.6..31.9 and
        120.8..122.1 every 0.1 degree.

    Returns
    -------
    xarray.Dataset
        Dims ``(time, lat, lon)`` on exactly ``lat`` and ``lon``: a gridded reference for
        ``adjust_qdm``. Sea cells stay NaN (QDM then gives NaN there); ``attrs["sea_cells"]``
        says how many.

    Raises
    ------
    SchemaError
        If a coordinate is not an ERA5-Land cell centre (regridding is out of scope).
    """
    lat_index = _require_coords(ds["lat"], np.asarray(lat, dtype=float), "lat")
    lon_index = _require_coords(ds["lon"], np.asarray(lon, dtype=float), "lon")
    out = ds.isel(lat=lat_index, lon=lon_index).assign_coords(
        lat=np.asarray(lat, dtype=float), lon=np.asarray(lon, dtype=float)
    )
    sea = out["tasmax"].isnull().all("time")
    out.attrs = dict(ds.attrs)
    out.attrs["sea_cells"] = f"{int(sea.sum())} of {sea.size} cells have no value (sea)"
    append_history(out.attrs, f"era5land_on_grid: {len(lat)} x {len(lon)} cells")
    return out


def fill_sea_cells(ds: xr.Dataset, *, variable: str = "tasmax") -> xr.Dataset:
    """Give each cell with no value (sea, for the land-only ERA5-Land) its nearest land cell.

    A projection grid over a coastal city has sea cells that ERA5-Land leaves empty, and
    QDM would leave them NaN. The nearest land cell's series stands in for them (distance in
    degrees, longitude scaled by cos(lat); ties to the first in row-major order), the usual
    "nearest land point" extension of a land-only reference; the cells filled are listed in
    ``attrs["sea_cells_filled"]``, so no output hides where the reference came from.

    Parameters
    ----------
    ds : xarray.Dataset
        A gridded reference, dims ``(time, lat, lon)`` (from :func:`era5land_on_grid`).
    variable : str
        The variable whose all-NaN cells count as sea.

    Raises
    ------
    SchemaError
        If no cell has a value.
    """
    sea = ds[variable].isnull().all("time").values
    if sea.all():
        raise SchemaError(f"fill_sea_cells: {variable}: no cell has a value")
    if not sea.any():
        return ds
    lat2d, lon2d = np.meshgrid(ds["lat"].values, ds["lon"].values, indexing="ij")
    scale = np.cos(np.deg2rad(lat2d))
    land = np.flatnonzero(~sea.ravel())
    source = np.arange(sea.size)
    for cell in np.flatnonzero(sea.ravel()):
        distance = (lat2d.ravel()[land] - lat2d.ravel()[cell]) ** 2 + (
            (lon2d.ravel()[land] - lon2d.ravel()[cell]) * scale.ravel()[cell]
        ) ** 2
        source[cell] = land[int(np.argmin(distance))]
    rows, cols = np.unravel_index(source, sea.shape)
    out = ds.copy()
    for name, values in ds.data_vars.items():
        if {"lat", "lon"} <= set(values.dims):
            flat = values.isel(
                lat=xr.DataArray(rows, dims="cell"), lon=xr.DataArray(cols, dims="cell")
            )
            filled = flat.data.reshape(*flat.shape[:-1], *sea.shape)
            out[name] = values.copy(data=filled)
    filled_cells = [
        f"({ds['lat'].values[i]:.2f}, {ds['lon'].values[j]:.2f})"
        for i, j in zip(*np.nonzero(sea), strict=True)
    ]
    out.attrs["sea_cells_filled"] = (
        f"{len(filled_cells)} cells with no {variable} take their nearest land cell's series: "
        + ", ".join(filled_cells)
    )
    append_history(out.attrs, f"fill_sea_cells: {len(filled_cells)} sea cells from nearest land")
    return out


def era5land_at_points(ds: xr.Dataset, points: Mapping[str, tuple[float, float]]) -> xr.Dataset:
    """Return ERA5-Land at the cells nearest to named points, as station series.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`open_era5land`.
    points : mapping of str to (float, float)
        Station name -> (lat, lon) in degrees.

    Returns
    -------
    xarray.Dataset
        Dims ``(time, station)`` with ``lat``/``lon`` (the points, as ``adjust_qdm``'s station
        form expects) and ``cell_lat``/``cell_lon`` (the ERA5-Land cell used) on ``station``.

    Raises
    ------
    SchemaError
        If no point is given, or the nearest cell of a point is a sea cell (no value); the
        message names the nearest land cell.
    """
    if not points:
        raise SchemaError("era5land_at_points: expected at least one point")
    names = list(points)
    lat = np.array([points[n][0] for n in names], dtype=float)
    lon = np.array([points[n][1] for n in names], dtype=float)
    cells = ds.sel(
        lat=xr.DataArray(lat, dims="station"),
        lon=xr.DataArray(lon, dims="station"),
        method="nearest",
    )
    land = ds["tasmax"].notnull().any("time")
    for i, name in enumerate(names):
        if bool(cells["tasmax"].isel(station=i).isnull().all()):
            near = land.where(land).stack(cell=["lat", "lon"]).dropna("cell")
            dist = (near["lat"] - lat[i]) ** 2 + (near["lon"] - lon[i]) ** 2
            best = near.isel(cell=int(np.argmin(dist.values)))
            raise SchemaError(
                f"era5land_at_points: point {name!r} ({lat[i]:g}, {lon[i]:g}) falls in a sea "
                f"cell; nearest land cell ({float(best['lat']):g}, {float(best['lon']):g})"
            )
    out = cells.rename(lat="cell_lat", lon="cell_lon").assign_coords(
        station=names, lat=("station", lat), lon=("station", lon)
    )
    out.attrs = dict(ds.attrs)
    append_history(out.attrs, f"era5land_at_points: nearest cells of {', '.join(names)}")
    return out


def complete_years(ds: xr.Dataset, variable: str) -> list[int]:
    """Return the calendar years in which ``variable`` is complete by the RClimDex rule.

    A day is missing when no land cell has a value or the day is not on the time axis; a
    year is complete with no month missing more than 3 days and at most 15 missing days
    (:func:`~resilience.observed.quality.year_completeness`), so that a QDM baseline year
    holds the whole seasonal cycle.
    """
    values = ds[variable]
    land = values.notnull().any("time")
    has = values.where(land).notnull().any(["lat", "lon"]).to_series()
    first, last = has.index[0].year, has.index[-1].year
    days = pd.date_range(f"{first}-01-01", f"{last}-12-31", freq="D")
    missing = ~has.reindex(days, fill_value=False).astype(bool)
    table = missing.groupby([days.year, days.month]).sum().unstack()
    verdict = year_completeness(table)
    return [int(year) for year in verdict.index[verdict["complete"]]]
