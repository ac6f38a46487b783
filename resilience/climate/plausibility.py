"""Check a cheap sample of each pulled file's values: plausible ranges, years with no value.

A file can carry the right names and convertible units and still be wrong: temperatures in
degC labelled K (20-40 "K" become -250 degC), kelvins labelled degC (300 "degC"), a rate in
mm/day labelled kg m-2 s-1, or a file (or a year of it) where every value is missing. The
store writer leaves all-NaN chunks out, so such a year would vanish without a word.
:func:`check_file_values` reads the first and the last time step of every calendar year in a
normalised file (a few time steps, not the file), refuses values outside the plausible range
of the canonical variable, naming the file, the variable, the units it claims, the range
found and the likely mislabelling, and returns the years whose sampled steps held no value at
all once a full read of those years confirms it. :func:`empty_line` words such a year for
``missing_combinations``. Reading errors (a corrupt compressed chunk: ``NetCDF: HDF error``)
are re-raised naming the file; :func:`find_damaged_file` finds the file behind such an error
raised later, when the whole ensemble is computed (the store write), by reading every input.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import xarray as xr

from resilience.climate.projection_file import UNIT_CONVERSIONS, ClimateDataError, year_runs
from resilience.schema import CANONICAL_UNITS

__all__ = ["PLAUSIBLE_RANGES", "check_file_values", "empty_line", "find_damaged_file"]

_T = TypeVar("_T")

#: Plausible daily values per canonical variable, in canonical units (low, high). Bounds sit
#: just outside the world records of the WMO Archive of Weather and Climate Extremes
#: (https://wmo.asu.edu): highest air temperature 56.7 degC (Death Valley, 1913), lowest
#: -89.2 degC (Vostok, 1983); greatest 24-h rainfall 1825 mm (Foc-Foc, La Reunion, 1966);
#: highest surface gust 113 m/s (Barrow Island, 1996). Precipitation allows -1 mm/day for the
#: tiny negative values some models write; relative humidity allows supersaturation to 150 %.
PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    "tasmax": (-90.0, 60.0),
    "tasmin": (-90.0, 60.0),
    "tas": (-90.0, 60.0),
    "pr": (-1.0, 2000.0),
    "hurs": (0.0, 150.0),
    "sfcWind": (0.0, 115.0),
}


def _sample_steps(years: np.ndarray, *, per_year: bool) -> np.ndarray:
    """Return the first and last time step of every calendar year (else of the file)."""
    if not per_year:
        return np.unique([0, years.size // 2, years.size - 1])
    starts = np.flatnonzero(np.r_[True, np.diff(years) != 0])
    ends = np.r_[starts[1:] - 1, years.size - 1]
    return np.unique(np.r_[starts, ends])


def _read(compute: Callable[[], _T], source: str, name: str, what: str) -> _T:
    """Run ``compute``; re-raise a reading error (a damaged file) naming the file."""
    try:
        return compute()
    except (RuntimeError, OSError) as err:
        raise ClimateDataError(
            f"{source}: variable {name!r}: {what} could not be read ({type(err).__name__}: "
            f"{err}); expected readable data (the file is damaged, e.g. a corrupt compressed "
            "chunk: download or copy it again)"
        ) from err


def _has_value_per_day(
    pick: Callable[[np.ndarray], xr.Dataset], days: np.ndarray, name: str
) -> np.ndarray:
    """Return, per day of ``days``, whether ``name`` holds any value there (bool, time)."""
    return np.asarray(pick(days)[name].notnull().any(("lat", "lon")).values)


def _hint(variable: str, units: str, raw: tuple[float, float]) -> str:
    """Return which other accepted units would make the raw values plausible, if any."""
    low, high = PLAUSIBLE_RANGES[variable]
    conversions = UNIT_CONVERSIONS.get(CANONICAL_UNITS[variable], {})
    claimed = conversions.get(units)
    for other, (factor, offset) in conversions.items():
        if (factor, offset) == claimed:
            continue
        converted = [r * factor + offset for r in raw]
        if low <= min(converted) and max(converted) <= high:
            return f": {other} labelled {units}?"
    return ""


def _check_range(var: xr.DataArray, values: np.ndarray, source: str) -> None:
    """Raise if finite sampled values of a canonical variable leave its plausible range."""
    name = str(var.name)
    finite = values[np.isfinite(values)]
    if name not in PLAUSIBLE_RANGES or finite.size == 0:
        return
    low, high = PLAUSIBLE_RANGES[name]
    found = (float(finite.min()), float(finite.max()))
    if low <= found[0] and found[1] <= high:
        return
    canonical = CANONICAL_UNITS[name]
    units = str(var.attrs.get("original_units", canonical))
    conversion = UNIT_CONVERSIONS.get(canonical, {}).get(units)
    if conversion is None:
        raise ClimateDataError(
            f"{source}: {name}: units say {units!r} but values {found[0]:g}..{found[1]:g} "
            f"{canonical} after conversion; expected {low:g}..{high:g} {canonical} (beyond "
            "the WMO world records)"
        )
    factor, offset = conversion
    raw = ((found[0] - offset) / factor, (found[1] - offset) / factor)
    raise ClimateDataError(
        f"{source}: {name}: units say {units} but values {raw[0]:.4g}..{raw[1]:.4g}"
        f"{_hint(name, units, raw)} ({found[0]:.4g}..{found[1]:.4g} {canonical} after "
        f"conversion; expected {low:g}..{high:g} {canonical}, beyond the WMO world records)"
    )


def check_file_values(
    ds: xr.Dataset,
    source: str,
    *,
    take: Callable[[np.ndarray], xr.Dataset] | None = None,
    per_year: bool = True,
) -> dict[str, list[int]]:
    """Check sampled values of one normalised file; return its years that hold no value.

    Parameters
    ----------
    ds : xarray.Dataset
        One file after :func:`resilience.climate.normalise.normalise`: canonical variables
        and units, dims (time, lat, lon), dask-backed (only the sample is read).
    source : str
        The file or address, named in every error and used for nothing else.
    take : callable, optional
        Given sorted time indices, return ``ds`` at those steps read from the file alone
        (:mod:`resilience.climate.assembly` reads the raw file's steps without dask, then
        normalises them). Default ``ds.isel(time=steps)``, which under dask reads every
        chunk the steps touch.

    per_year : bool
        Sample the first and last day of every calendar year (default). False samples the
        first, middle and last day of the file only: for files chunked on disk in blocks
        of many days, where each sampled day costs the read of its whole block.

    Returns
    -------
    dict of str to list of int
        Per variable, the calendar years in which every value (every day, every cell) is
        missing; a variable with none is left out. Only years whose first and last time
        steps held no value are read in full (the whole file, if ``per_year`` is False and a
        sampled day held no value).

    Raises
    ------
    ClimateDataError
        Naming the file and the variable: sampled values outside ``PLAUSIBLE_RANGES`` (with
        the units claimed, the range found and the likely mislabelling, e.g. ``units say K
        but values 18..35: degC labelled K?``), or values that cannot be read (a damaged
        file).
    """
    pick = take if take is not None else (lambda steps: ds.isel(time=steps))
    years = np.asarray(ds["time"].dt.year.values)
    steps = _sample_steps(years, per_year=per_year)
    names = ", ".join(map(str, ds.data_vars))
    sampled = _read(lambda: pick(steps).load(), source, names, "a sample of its days")
    empty: dict[str, list[int]] = {}
    for name, var in ds.data_vars.items():
        sample = np.asarray(sampled[name].values)
        _check_range(var, sample, source)
        has_value = np.isfinite(sample).reshape(steps.size, -1).any(axis=1)
        blank = years[steps[~has_value]] if per_year or has_value.all() else years
        suspects = sorted(set(blank.tolist()))
        if not suspects:
            continue
        days = np.flatnonzero(np.isin(years, suspects))
        per_day = _read(
            functools.partial(_has_value_per_day, pick, days, str(name)),
            source,
            str(name),
            f"years {suspects}",
        )
        held = set(years[days][per_day].tolist())
        if missing := [int(y) for y in suspects if y not in held]:
            empty[str(name)] = missing
    return empty


def empty_line(run: str, years: Sequence[int], file: str) -> str:
    """Word a file's years without any value for ``missing_combinations``.

    Parameters
    ----------
    run : str
        ``"{model} {experiment} {variable}"``.
    years : sequence of int
        From :func:`check_file_values`.
    file : str
        The file's name.

    Returns
    -------
    str
        E.g. ``"M historical tasmax: years 1995-2014 hold no value (all NaN); file
        tasmax_day_M_historical_r1i1p1f1_gn_19950101-20141231.nc"``.
    """
    spans = ",".join(f"{a}-{b}" if a != b else f"{a}" for a, b in year_runs(years))
    words = "year {} holds" if len(set(years)) == 1 else "years {} hold"
    return f"{run}: {words.format(spans)} no value (all NaN); file {file}"


def _first_unreadable(path: Path) -> str | None:
    """Read every variable of one NetCDF file chunk by chunk; describe the first failure."""
    import netCDF4

    try:
        nc = netCDF4.Dataset(path)
    except OSError as err:
        return f"{path}: could not be opened ({err})"
    with nc:
        for name, var in nc.variables.items():
            chunking = var.chunking()
            step = chunking[0] if isinstance(chunking, list) and var.ndim else max(var.size, 1)
            for start in range(0, var.shape[0] if var.ndim else 1, max(int(step), 1)):
                try:
                    var[start : start + step] if var.ndim else var[...]
                except (RuntimeError, OSError, IndexError) as err:
                    end = min(start + step, var.shape[0]) - 1 if var.ndim else 0
                    return (
                        f"{path}: variable {name!r}: time steps {start}..{end} (along "
                        f"{var.dimensions[0] if var.ndim else 'nothing'}) could not be read "
                        f"({type(err).__name__}: {err})"
                    )
    return None


def find_damaged_file(locations: Sequence[Path | str]) -> str | None:
    """Return a description of the first local NetCDF input that cannot be read in full.

    Called after a read failed without naming its file (netCDF-C's ``NetCDF: HDF error``
    from a dask task): every local file is read chunk by chunk with netCDF4, so this costs a
    full read of the inputs, and only when something already failed.

    Parameters
    ----------
    locations : sequence of Path or str
        The inputs of a pull; addresses (``scheme://``) and directories (Zarr) are skipped.

    Returns
    -------
    str or None
        ``"<path>: variable 'tasmax': time steps 3322..3322 (along time) could not be read
        (RuntimeError: NetCDF: HDF error)"``, or None if every file reads.
    """
    for location in locations:
        text = str(location)
        if "://" in text and not text.startswith("file://"):
            continue
        path = Path(text.removeprefix("file://"))
        if path.is_file() and (found := _first_unreadable(path)):
            return found
    return None
