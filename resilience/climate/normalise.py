"""Normalise any CMIP6-style Dataset to the axes, names and units of the Projections contract.

:func:`normalise` takes a Dataset from any source (a NEX-GDDP-CMIP6 file, an ESGF file, an
OPeNDAP URL, a Zarr store opened with :func:`open_source`) and returns it with

* axes found by their CF attributes through cf-xarray (``standard_name``, ``axis``, ``units``)
  and renamed ``time``, ``lat``, ``lon``;
* variables found by CMIP6 name or by ``standard_name`` and ``cell_methods`` (CMIP6 CMOR
  table ``CMIP6_day.json``) and renamed to the CMIP6 short name;
* values converted with pint (cf-xarray's UDUNITS registry) to ``CANONICAL_UNITS``, keeping
  ``original_units`` and appending to ``history`` as xclim does;
* longitudes in [-180, 180), both axes ascending, cftime calendars kept;
* an optional region subset (bbox or shapely polygon), always with a one-cell buffer;
* CF checks in the spirit of ``xclim.core.cfchecks`` and a per-variable missing-value
  fraction in the spirit of ``xclim.core.missing.missing_pct``. xclim is a development
  extra, so these checks are re-implemented here (a few lines each) rather than imported.

Every error is a :class:`resilience.climate.projection_file.ClimateDataError` naming the
source and the variable or coordinate at fault. Dask input stays lazy except for the one
reduction that counts missing values (skip it with ``check_missing=False``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from resilience.climate.projection_file import UNIT_CONVERSIONS, ClimateDataError
from resilience.schema import CANONICAL_UNITS, append_history

__all__ = ["VARIABLE_SIGNATURES", "identify_variable", "normalise", "open_source"]

#: CF identity of each canonical variable: (standard_name, required ``time:`` cell method or
#: None). Source: CMIP6 CMOR table CMIP6_day.json (PCMDI/cmip6-cmor-tables), which gives
#: tasmax/tasmin/tas as air_temperature with "time: maximum/minimum/mean".
VARIABLE_SIGNATURES: dict[str, tuple[str, str | None]] = {
    "tasmax": ("air_temperature", "maximum"),
    "tasmin": ("air_temperature", "minimum"),
    "tas": ("air_temperature", "mean"),
    "pr": ("precipitation_flux", None),
    "hurs": ("relative_humidity", None),
    "sfcWind": ("wind_speed", None),
}
#: Density of liquid water, kg m-3: 1 kg m-2 of rain is 1 mm deep (WMO-No. 8, 2018, vol. I,
#: ch. 6; the same constant as xclim's "hydro" pint context).
_WATER_DENSITY_KG_M3 = 1000.0
_AXES = {"time": "time", "lat": "latitude", "lon": "longitude"}
_AXIS_ATTRS = {
    "lat": {"standard_name": "latitude", "units": "degrees_north", "axis": "Y"},
    "lon": {"standard_name": "longitude", "units": "degrees_east", "axis": "X"},
}
_NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")


def open_source(path_or_url: str | Path) -> xr.Dataset:
    """Open a NetCDF file, an OPeNDAP URL or a Zarr store lazily (dask), with cftime times.

    Parameters
    ----------
    path_or_url : str or Path
        A local NetCDF file (classic or HDF5), a local ``.zarr`` directory, or a URL: Zarr
        stores (``*.zarr``, ``s3://``, ``gs://``) through fsspec, anything else through
        netCDF4 (OPeNDAP).

    Returns
    -------
    xarray.Dataset
        Dask-backed with ``chunks="auto"`` (about 128 MiB chunks, so a region subset reads
        only its chunks); ``time`` decoded to cftime whatever the calendar.

    Raises
    ------
    FileNotFoundError
        If a local path does not exist.
    ClimateDataError
        If the file or store is not NetCDF or Zarr, naming it.
    """
    from xarray.coders import CFDatetimeCoder

    times = CFDatetimeCoder(use_cftime=True)
    text = str(path_or_url)
    is_url = "://" in text and not text.startswith("file://")
    is_zarr = text.rstrip("/").endswith(".zarr") or text.startswith(("s3://", "gs://"))
    if not is_url:
        path = Path(text.removeprefix("file://"))
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or Zarr store")
        is_zarr = path.is_dir()
        if not is_zarr:
            with path.open("rb") as handle:
                head = handle.read(8)
            if not head.startswith(_NETCDF_MAGIC):
                raise ClimateDataError(
                    f"{path}: not a NetCDF file (first bytes {head!r}; expected the NetCDF "
                    "classic 'CDF' or HDF5 signature) nor a Zarr store"
                )
    try:
        if is_zarr:
            return xr.open_zarr(text, decode_times=times, chunks="auto")
        return xr.open_dataset(text, engine="netcdf4", decode_times=times, chunks="auto")
    except (OSError, ValueError, KeyError, TypeError) as err:
        kind = "Zarr store" if is_zarr else "NetCDF file"
        raise ClimateDataError(f"{text}: could not be opened as a {kind} ({err})") from err


def normalise(
    ds: xr.Dataset,
    *,
    source: str,
    variables: Sequence[str] | None = None,
    region: tuple[float, float, float, float] | Any | None = None,
    check_missing: bool = True,
    max_missing_fraction: float | None = None,
) -> xr.Dataset:
    """Return ``ds`` with canonical axes, variable names and units, sorted and subset.

    Parameters
    ----------
    ds : xarray.Dataset
        Gridded daily data with a 1-D latitude, longitude and time axis, whatever their names.
    source : str
        File, URL or label of ``ds``; named in every error and in ``history``.
    variables : sequence of str, optional
        Canonical names wanted (``tasmax``, ``pr`` ...); default: every one found.
    region : tuple or shapely geometry, optional
        ``(lon_min, lat_min, lon_max, lat_max)`` in degrees, or a polygon in EPSG:4326.
        Cells overlapping it are kept, plus one cell on each side. A polygon also adds a
        boolean ``region_mask`` (lat, lon) coordinate: cell centres within the polygon
        buffered by one cell; data outside it become NaN.
    check_missing : bool
        Compute each variable's fraction of missing values (one dask reduction) into
        ``attrs["missing_fraction"]``. False keeps the result entirely lazy.
    max_missing_fraction : float, optional
        Raise if a variable's missing fraction exceeds this (0-1). Needs ``check_missing``.

    Returns
    -------
    xarray.Dataset
        Variables named and in units per ``resilience.schema.CANONICAL_UNITS`` with
        ``original_units`` and ``history``; dims ``(..., time, lat, lon)``; ``lat`` and
        ``lon`` ascending, ``lon`` in [-180, 180); still dask-backed if ``ds`` was.

    Raises
    ------
    ClimateDataError
        Naming the source and the variable or coordinate: an axis or a requested variable
        not found, missing/unknown/wrong-dimension units, non-monotonic or duplicated
        coordinates, a region outside the data, too many missing values.
    """
    if not isinstance(ds, xr.Dataset):
        raise ClimateDataError(f"{source}: expected an xarray.Dataset, found {type(ds).__name__}")
    ds = ds.copy(deep=False)  # attrs are changed below; the caller's Dataset is not
    ds = _rename_axes(ds, source)
    ds = _select_variables(ds, source, variables)
    ds = _mask_fill_values(ds)
    ds, order = _check_axes(ds, source)
    if region is None:
        ds = _reorder(ds, order)
    else:
        ds = _subset(ds, source, region, order)
    ds = ds.assign({name: _to_canonical_units(var, source) for name, var in ds.data_vars.items()})
    ds = ds.transpose(..., "time", "lat", "lon")
    if check_missing:
        _report_missing(ds, source, max_missing_fraction)
    elif max_missing_fraction is not None:
        raise ValueError("max_missing_fraction needs check_missing=True")
    append_history(ds.attrs, f"normalise: {source}: CF axes, canonical names and units")
    ds.attrs["source_normalised"] = source
    return ds


def _find_axis(ds: xr.Dataset, key: str, source: str) -> str:
    """Return the name of the coordinate that cf-xarray identifies as ``key``."""
    import cf_xarray  # noqa: F401  (registers the .cf accessor)

    for guess in (False, True):
        candidate = ds.cf.guess_coord_axis(verbose=False) if guess else ds
        try:
            return str(candidate.cf[key].name)
        except KeyError:
            continue
        except ValueError as err:  # cf-xarray found several candidates
            raise ClimateDataError(f"{source}: ambiguous {key} axis ({err})") from err
    raise ClimateDataError(
        f"{source}: no {key} coordinate found (by standard_name, axis, units or name); "
        f"found coordinates {sorted(map(str, ds.coords))}"
    )


def _rename_axes(ds: xr.Dataset, source: str) -> xr.Dataset:
    """Rename the time, latitude and longitude axes to ``time``, ``lat``, ``lon``."""
    for canonical, key in _AXES.items():
        name = _find_axis(ds, key, source)
        coord = ds[name]
        if coord.ndim != 1:
            raise ClimateDataError(
                f"{source}: coordinate {name!r} ({key}) has dims {coord.dims}; expected a 1-D "
                "axis (curvilinear grids are not supported)"
            )
        if coord.dims[0] != name:
            ds = ds.swap_dims({coord.dims[0]: name})
        if name != canonical:
            if canonical in ds.variables:
                raise ClimateDataError(
                    f"{source}: cannot rename {name!r} to {canonical!r}: {canonical!r} exists"
                )
            ds = ds.rename({name: canonical})
        if canonical in _AXIS_ATTRS:
            ds[canonical].attrs.update(_AXIS_ATTRS[canonical])
    return ds


def identify_variable(attrs: Mapping[str, Any]) -> str | None:
    """Return the canonical name of a variable from its ``standard_name`` and ``cell_methods``.

    Parameters
    ----------
    attrs : mapping
        The variable's attributes.

    Returns
    -------
    str or None
        A key of ``VARIABLE_SIGNATURES`` (CMIP6 CMOR table ``CMIP6_day.json``), or None.
    """
    standard_name = attrs.get("standard_name")
    methods = str(attrs.get("cell_methods", ""))
    time_method = methods.split("time:")[1].split()[0] if "time:" in methods else None
    for name, (wanted, method) in VARIABLE_SIGNATURES.items():
        if standard_name == wanted and method in (None, time_method):
            return name
    if standard_name == "air_temperature" and time_method is None:
        return "tas"  # CF: no time cell method on a daily field reads as the daily mean
    return None


def _select_variables(ds: xr.Dataset, source: str, variables: Sequence[str] | None) -> xr.Dataset:
    """Keep the canonical variables, renamed from CMIP6 names or CF identity."""
    unknown = [v for v in variables or () if v not in CANONICAL_UNITS]
    if unknown:
        raise ValueError(f"variables: expected some of {sorted(CANONICAL_UNITS)}, found {unknown}")
    found: dict[str, str] = {}
    for name, var in ds.data_vars.items():
        canonical = str(name) if name in CANONICAL_UNITS else identify_variable(var.attrs)
        if canonical is None:
            continue
        if canonical in found:
            raise ClimateDataError(
                f"{source}: variables {found[canonical]!r} and {name!r} are both {canonical}; "
                "expected one"
            )
        found[canonical] = str(name)
    wanted = list(variables) if variables is not None else list(found)
    missing = [v for v in wanted if v not in found]
    if missing or not wanted:
        raise ClimateDataError(
            f"{source}: variable {missing or sorted(CANONICAL_UNITS)} not found (by CMIP6 name "
            f"or standard_name); found variables {sorted(map(str, ds.data_vars))}"
        )
    keep = ds[[found[v] for v in wanted]]
    return keep.rename({found[v]: v for v in wanted if found[v] != v})


def _mask_fill_values(ds: xr.Dataset) -> xr.Dataset:
    """Set values equal to an undecoded ``_FillValue`` or ``missing_value`` attribute to NaN.

    Opened with xarray's defaults these are already decoded into ``encoding``; this covers
    Datasets built or opened with ``mask_and_scale=False`` (CF conventions 1.11, sec. 2.5.1).
    """
    for name, var in ds.data_vars.items():
        fills = [var.attrs[k] for k in ("_FillValue", "missing_value") if k in var.attrs]
        if not fills:
            continue
        flat = np.unique(np.concatenate([np.atleast_1d(np.asarray(f, "f8")) for f in fills]))
        masked = var.astype("f8" if var.dtype.itemsize > 4 else "f4").where(~var.isin(flat))
        masked.attrs = {
            k: v for k, v in var.attrs.items() if k not in ("_FillValue", "missing_value")
        }
        ds[name] = masked
    return ds


def _first_bad_step(values: np.ndarray, name: str, source: str) -> int:
    """Return +1 or -1 for a strictly ascending or descending axis, else raise.

    Works on numbers, datetime64 and cftime objects (compared element by element).
    """
    if values.size < 2:
        return 1
    up = np.asarray(values[1:] > values[:-1], dtype=bool)
    down = np.asarray(values[1:] < values[:-1], dtype=bool)
    same = np.flatnonzero(~up & ~down)
    if same.size:
        i = int(same[0]) + 1
        raise ClimateDataError(
            f"{source}: coordinate {name!r} has a duplicated value at index {i} "
            f"({values[i]}); expected unique values"
        )
    sign = 1 if up[0] else -1
    bad = np.flatnonzero(down if sign > 0 else up)
    if bad.size:
        i = int(bad[0]) + 1
        raise ClimateDataError(
            f"{source}: coordinate {name!r} is not monotonic at index {i} ({values[i]} after "
            f"{values[i - 1]}); expected strictly {'ascending' if sign > 0 else 'descending'}"
        )
    return sign


def _check_axes(ds: xr.Dataset, source: str) -> tuple[xr.Dataset, dict[str, np.ndarray]]:
    """Check the axes, wrap longitudes into [-180, 180); return the ascending order of lat, lon.

    The data is not reordered here, so that a region subset and the sort become one
    ``isel`` of contiguous slices, which dask reads without loading whole chunks.
    """
    if _first_bad_step(ds["time"].values, "time", source) < 0:
        raise ClimateDataError(f"{source}: coordinate 'time' descends; expected ascending")
    for axis in ("lat", "lon"):
        _first_bad_step(np.asarray(ds[axis].values), axis, source)
    lon = np.asarray(ds["lon"].values, dtype="f8")
    if lon.min() < -180 or lon.max() >= 180:
        wrapped = (lon + 180.0) % 360.0 - 180.0
        ds = ds.assign_coords(lon=("lon", wrapped, ds["lon"].attrs))
        append_history(ds.attrs, f"normalise: {source}: longitudes wrapped to [-180, 180)")
    order = {axis: np.argsort(ds[axis].values, kind="stable") for axis in ("lat", "lon")}
    wrapped_lon = np.asarray(ds["lon"].values)[order["lon"]]
    _first_bad_step(wrapped_lon, "lon (wrapped to [-180, 180))", source)
    return ds, order


def _runs(index: np.ndarray) -> list[slice]:
    """Split indices into runs of consecutive values (either way), each as a slice."""
    breaks = np.flatnonzero(np.abs(np.diff(index)) != 1) + 1
    runs = []
    for run in np.split(index, breaks):
        if run.size > 1 and run[1] < run[0]:
            runs.append(slice(int(run[0]), int(run[-1]) - 1 if run[-1] > 0 else None, -1))
        else:
            runs.append(slice(int(run[0]), int(run[-1]) + 1))
    return runs


def _reorder(ds: xr.Dataset, index: dict[str, np.ndarray]) -> xr.Dataset:
    """Return ``ds.isel(index)``, by slices where the indices run in one or two blocks.

    Wrapping 0-360 longitudes to [-180, 180) is a rotation: two slices joined cost half of
    what an index array costs dask (one copy, no gather), and a single run is a view.
    """
    for axis, positions in index.items():
        runs = _runs(np.asarray(positions))
        if len(runs) == 1:
            ds = ds.isel({axis: runs[0]})
        elif len(runs) == 2:
            parts = [ds.isel({axis: run}) for run in runs]
            ds = xr.concat(
                parts,
                dim=axis,
                data_vars="minimal",
                coords="minimal",
                compat="override",
                join="override",
            )
        else:
            ds = ds.isel({axis: positions})
    return ds


def _cell_range(centres: np.ndarray, low: float, high: float) -> slice | None:
    """Return the index slice of cells overlapping [low, high] plus one cell each side."""
    step = float(np.median(np.diff(centres))) if centres.size > 1 else 0.0
    inside = np.flatnonzero((centres + step / 2 >= low) & (centres - step / 2 <= high))
    if inside.size == 0:
        return None
    return slice(max(int(inside[0]) - 1, 0), min(int(inside[-1]) + 2, centres.size))


def _subset(ds: xr.Dataset, source: str, region: Any, order: dict[str, np.ndarray]) -> xr.Dataset:
    """Sort and subset to a bbox or polygon with a one-cell buffer (see :func:`normalise`)."""
    polygon = None if isinstance(region, tuple | list) else region
    bounds = tuple(float(b) for b in (region if polygon is None else polygon.bounds))
    if len(bounds) != 4 or bounds[0] > bounds[2] or bounds[1] > bounds[3]:
        raise ValueError(f"region: expected (lon_min, lat_min, lon_max, lat_max), found {region}")
    lon_min, lat_min, lon_max, lat_max = bounds
    if lon_min < -180 or lon_max >= 180:
        lon_min, lon_max = ((x + 180.0) % 360.0 - 180.0 for x in (lon_min, lon_max))
    lat, lon = ds["lat"].values[order["lat"]], ds["lon"].values[order["lon"]]
    rows, cols = _cell_range(lat, lat_min, lat_max), _cell_range(lon, lon_min, lon_max)
    if rows is None or cols is None:
        raise ClimateDataError(
            f"{source}: region {bounds} (lon_min, lat_min, lon_max, lat_max) lies outside the "
            f"data, which covers lon {lon.min():g} to {lon.max():g}, lat {lat.min():g} to "
            f"{lat.max():g}"
        )
    ds = _reorder(ds, {"lat": order["lat"][rows], "lon": order["lon"][cols]})
    message = f"normalise: {source}: subset to {bounds} with a one-cell buffer"
    if polygon is not None:
        import shapely

        cell = max(float(np.abs(np.diff(a)).max()) for a in (lat, lon) if a.size > 1)
        grid_lon, grid_lat = np.meshgrid(ds["lon"].values, ds["lat"].values)
        inside = shapely.contains_xy(polygon.buffer(cell), grid_lon, grid_lat)
        mask = xr.DataArray(inside, dims=("lat", "lon"), coords={"lat": ds.lat, "lon": ds.lon})
        ds = ds.where(mask).assign_coords(region_mask=mask)
        ds["region_mask"].attrs["long_name"] = "cell centre within the region buffered by 1 cell"
        message += f" and a polygon mask ({int(inside.sum())} of {inside.size} cells)"
    append_history(ds.attrs, message)
    return ds


def _linear_map(name: str, units: str, source: str) -> tuple[float, float]:
    """Return (factor, offset) with canonical = raw * factor + offset, by pint.

    A mass flux (kg m-2 s-1) is divided by the density of water to become a depth rate.
    The usual CMIP6 units are looked up in ``UNIT_CONVERSIONS`` first (the same numbers;
    building cf-xarray's pint registry costs about 0.3 s a process).
    """
    target = CANONICAL_UNITS[name]
    known = UNIT_CONVERSIONS.get(target, {})
    if units in known:
        return known[units]
    import pint
    from cf_xarray.units import units as registry

    try:
        zero, one = registry.Quantity(0.0, units), registry.Quantity(1.0, units)
        if one.check("[mass] / [length] ** 2 / [time]"):
            density = registry.Quantity(_WATER_DENSITY_KG_M3, "kg m-3")
            zero, one = zero / density, one / density
        offset = float(zero.to(target).magnitude)
        return float(one.to(target).magnitude) - offset, offset
    except (pint.PintError, AttributeError, TypeError, ValueError) as err:
        raise ClimateDataError(
            f"{source}: variable {name!r} has units {units!r}, which cannot be converted to "
            f"{target!r} ({type(err).__name__}: {err})"
        ) from err


def _to_canonical_units(var: xr.DataArray, source: str) -> xr.DataArray:
    """Convert one canonical variable to ``CANONICAL_UNITS``, keeping ``original_units``."""
    name = str(var.name)
    units = var.attrs.get("units")
    if units is None or str(units).strip() == "":
        raise ClimateDataError(
            f"{source}: variable {name!r} has no units attribute; expected units convertible "
            f"to {CANONICAL_UNITS[name]!r}"
        )
    factor, offset = _linear_map(name, str(units), source)
    attrs = dict(var.attrs)
    if factor != 1.0:
        var = var * factor
    if offset:
        var = var + offset  # one pass each, float32 kept (NEP 50: Python scalars are weak)
    if str(units) != CANONICAL_UNITS[name]:
        attrs.setdefault("original_units", str(units))
        append_history(
            attrs,
            f"normalise: {source}: {name} converted from {units!r} to "
            f"{CANONICAL_UNITS[name]!r} (x {factor:.9g} + {offset:.9g})",
        )
    attrs["units"] = CANONICAL_UNITS[name]
    attrs.setdefault("standard_name", VARIABLE_SIGNATURES[name][0])
    return var.assign_attrs(attrs)


def _report_missing(ds: xr.Dataset, source: str, max_fraction: float | None) -> None:
    """Write each variable's NaN fraction into its attrs; raise above ``max_fraction``."""
    import dask

    counted = {
        name: var.isnull().where(ds["region_mask"]) if "region_mask" in ds.coords else var.isnull()
        for name, var in ds.data_vars.items()
    }
    (fractions,) = dask.compute({n: c.mean() for n, c in counted.items()})
    for name, fraction in fractions.items():
        value = float(fraction)
        ds[name].attrs["missing_fraction"] = value
        if max_fraction is not None and value > max_fraction:
            raise ClimateDataError(
                f"{source}: variable {name!r} has {value:.1%} missing values; expected at most "
                f"{max_fraction:.1%} (max_missing_fraction)"
            )
