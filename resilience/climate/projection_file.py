"""Find NEX-GDDP-CMIP6-style daily files by name and read what each one holds.

Files are named ``{variable}_day_{model}_{experiment}_{variant}_{grid}_{year}[_v{version}].nc``
(one year per file). This module holds the name pattern and its parser
(:func:`parse_file_name`, also used by the catalogue and the pull), the choice of the files a
request needs under a directory (:func:`find_projection_files`: the highest ``_v`` version
wins; several variants of a model are kept apart) and the one-off header scan of a file with
netCDF4 (:func:`scan_file`: time axis, grid, units, conversion to canonical units; about
2.5 ms a file, no data read).
:class:`ClimateDataError` is the error every climate reader raises. Read
:mod:`resilience.climate.projections` next: it turns the scans into one lazy Dataset.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from resilience.climate.member import model_matches
from resilience.schema import CANONICAL_UNITS, SCENARIOS

__all__ = [
    "year_runs",
    "FILE_PATTERN",
    "TIME_UNITS",
    "UNIT_CONVERSIONS",
    "ClimateDataError",
    "FileScan",
    "ProjectionFile",
    "find_projection_files",
    "parse_file_name",
    "scan_file",
]

#: NEX-GDDP-CMIP6 daily file names, e.g. ``tasmax_day_ACCESS-CM2_ssp245_r1i1p1f1_gn_2050.nc``.
FILE_PATTERN = re.compile(
    r"^(?P<variable>[A-Za-z0-9]+)_day_(?P<model>[A-Za-z0-9.+-]+)_(?P<experiment>[a-z0-9]+)_"
    r"(?P<variant>r\d+i\d+p\d+f\d+)_(?P<grid>g[a-z0-9]+)_(?P<year>\d{4})"
    r"(?:_v(?P<version>\d+(?:\.\d+)*))?\.nc$"
)
#: Time unit of every scanned time axis (and of the Projections ``time`` encoding).
TIME_UNITS = "days since 1850-01-01"
#: Accepted source units per canonical unit, as (factor, offset): canonical = raw * f + o.
#: K -> degC: -273.15 (BIPM SI Brochure); kg m-2 s-1 -> mm/day: x 86400 (1 kg m-2 = 1 mm).
UNIT_CONVERSIONS: dict[str, dict[str, tuple[float, float]]] = {
    "degC": {"K": (1.0, -273.15), "degC": (1.0, 0.0), "Celsius": (1.0, 0.0), "C": (1.0, 0.0)},
    "mm/day": {
        "kg m-2 s-1": (86400.0, 0.0),
        "kg/m2/s": (86400.0, 0.0),
        "kg m^-2 s^-1": (86400.0, 0.0),
        "mm/day": (1.0, 0.0),
        "mm d-1": (1.0, 0.0),
    },
    "%": {"%": (1.0, 0.0), "1": (100.0, 0.0)},
    "m/s": {"m s-1": (1.0, 0.0), "m/s": (1.0, 0.0)},
}


class ClimateDataError(ValueError):
    """A climate file is unreadable or inconsistent; the message names the file and field."""


@dataclass(frozen=True)
class ProjectionFile:
    """One file identified by its NEX-GDDP-CMIP6 name."""

    path: Path
    variable: str
    model: str
    experiment: str
    variant: str
    grid: str
    year: int
    version: tuple[int, ...]


def parse_file_name(path: Path) -> ProjectionFile | None:
    """Return the identity encoded in a NEX-GDDP-CMIP6 file name, or None if it does not match."""
    match = FILE_PATTERN.match(Path(path).name)
    if match is None:
        return None
    version = tuple(int(p) for p in (match["version"] or "1.0").split("."))
    return ProjectionFile(
        Path(path),
        match["variable"],
        match["model"],
        match["experiment"],
        match["variant"],
        match["grid"],
        int(match["year"]),
        version,
    )


def _latest(files: list[ProjectionFile]) -> list[ProjectionFile]:
    """Keep the highest version per (variable, model, variant, experiment, year)."""
    chosen: dict[tuple, ProjectionFile] = {}
    for f in sorted(files, key=lambda f: f.version):
        chosen[(f.variable, f.model, f.variant, f.experiment, f.year)] = f
    return list(chosen.values())


def _check_requested(kind: str, wanted: Sequence, found: set, directory: Path) -> None:
    missing = [w for w in wanted if w not in found]
    if missing:
        raise FileNotFoundError(
            f"{directory}: no NEX-GDDP-CMIP6 file for {kind} {missing}; "
            f"found {kind}s {sorted(found)}"
        )


def find_projection_files(
    directory: Path,
    variables: Sequence[str],
    *,
    models: Sequence[str] | None,
    scenarios: Sequence[str] | None,
    years: Sequence[int] | None,
) -> list[ProjectionFile]:
    """Find the files of the requested variables, models, scenarios and years.

    Parameters
    ----------
    directory : Path
        Searched recursively for NEX-GDDP-CMIP6-named ``.nc`` files.
    variables : sequence of str
        Canonical CMIP6 names, e.g. ``("tasmax", "pr")``.
    models, scenarios : sequence of str or None
        Subsets; None keeps all found. A model may be named ``MODEL`` (every member) or
        ``MODEL_r2i1p1f1`` (one member; :mod:`resilience.climate.member`).
    years : sequence of int or None
        Calendar years to keep; None keeps all found.

    Returns
    -------
    list of ProjectionFile
        The highest ``_v`` version per (variable, model, variant, experiment, year); several
        members (variants) of one model are all kept.

    Raises
    ------
    FileNotFoundError
        If ``directory`` is missing, or no file matches a requested variable, model or
        scenario (the message lists what was found).
    ValueError
        For a non-canonical variable or an unknown scenario.
    """
    if not directory.is_dir():
        raise FileNotFoundError(f"projections directory {directory} does not exist")
    bad = [v for v in variables if v not in CANONICAL_UNITS]
    if bad or not variables:
        raise ValueError(f"variables: expected some of {sorted(CANONICAL_UNITS)}, found {bad}")
    bad = [s for s in scenarios or () if s not in SCENARIOS]
    if bad:
        raise ValueError(f"scenarios: expected some of {SCENARIOS}, found {bad}")
    files = [f for p in sorted(directory.rglob("*.nc")) if (f := parse_file_name(p))]
    files = [f for f in files if f.experiment in SCENARIOS]
    _check_requested("variable", variables, {f.variable for f in files}, directory)
    files = [f for f in files if f.variable in variables]
    if models is not None:
        found = {f.model for f in files} | {f"{f.model}_{f.variant}" for f in files}
        _check_requested("model", models, found, directory)
        files = [f for f in files if model_matches(models, f.model, f.variant)]
    if years is not None:
        year_set = {int(y) for y in years}
        files = [f for f in files if f.year in year_set]
    if scenarios is not None:
        _check_requested(
            "scenario", scenarios, {f.experiment for f in files}, directory
        )  # in years
        files = [f for f in files if f.experiment in scenarios]
    if not files:
        raise FileNotFoundError(f"{directory}: no file for {variables} in the requested years")
    return _latest(files)


@dataclass(frozen=True)
class FileScan:
    """What one file holds: its time axis (days since 1850-01-01), grid and conversion."""

    file: ProjectionFile
    time_days: np.ndarray
    calendar: str
    lat: np.ndarray
    lon: np.ndarray
    units: str
    factor: float
    offset: float
    attrs: dict
    synthetic: bool


def _conversion(variable: str, units: str, path: Path) -> tuple[float, float]:
    """Return (factor, offset) taking ``units`` to the canonical units of ``variable``."""
    table = UNIT_CONVERSIONS[CANONICAL_UNITS[variable]]
    if units not in table:
        raise ClimateDataError(
            f"{path.name}: variable {variable!r} has units {units!r}; expected one of "
            f"{sorted(table)} (convertible to {CANONICAL_UNITS[variable]!r})"
        )
    return table[units]


@functools.lru_cache(maxsize=64)
def _time_map(units: str, calendar: str) -> tuple[float, float]:
    """Return (a, b) with days since 1850-01-01 = a * value + b for a CF time unit."""
    import cftime

    dates = cftime.num2date([0.0, 1.0], units, calendar, only_use_cftime_datetimes=True)
    zero, one = cftime.date2num(dates, TIME_UNITS, calendar)
    return float(one - zero), float(zero)


def scan_file(file: ProjectionFile) -> FileScan:
    """Read a file's time axis, grid, units and attributes; no data is read.

    Parameters
    ----------
    file : ProjectionFile
        From :func:`parse_file_name`.

    Returns
    -------
    FileScan
        Time axis in days since 1850-01-01, lat/lon as found, the conversion to canonical
        units, ``standard_name``/``long_name`` and whether the file says it is synthetic.

    Raises
    ------
    ClimateDataError
        If the file is not NetCDF, lacks the variable or an axis, has other dims than
        ``(time, lat, lon)`` or inconvertible units.
    """
    import netCDF4

    try:
        nc = netCDF4.Dataset(file.path)
    except OSError as err:
        raise ClimateDataError(f"{file.path}: not a readable NetCDF file ({err})") from err
    with nc:
        nc.set_auto_mask(False)
        if any(n not in nc.variables for n in (file.variable, "time", "lat", "lon")):
            raise ClimateDataError(
                f"{file.path.name}: expected variables {file.variable!r}, time, lat, lon; "
                f"found {sorted(nc.variables)}"
            )
        var, time = nc.variables[file.variable], nc.variables["time"]
        if var.dimensions != ("time", "lat", "lon"):
            raise ClimateDataError(
                f"{file.path.name}: {file.variable}: expected dims ('time', 'lat', 'lon'), "
                f"found {var.dimensions}"
            )
        calendar = str(getattr(time, "calendar", "standard"))
        if "units" not in time.ncattrs():
            raise ClimateDataError(
                f"{file.path}: time: no 'units' attribute; expected CF units such as "
                "'days since 1850-01-01' (the dates cannot be read without it)"
            )
        try:
            a, b = _time_map(str(time.units), calendar)
        except (ValueError, TypeError) as err:
            raise ClimateDataError(
                f"{file.path}: time: units {time.units!r} with calendar {calendar!r} are not "
                f"CF time units ({err})"
            ) from err
        units = str(getattr(var, "units", ""))
        days = a * np.asarray(time[:], dtype="f8") + b
        _check_year(file, days, calendar)
        return FileScan(
            file,
            days,
            calendar,
            np.asarray(nc.variables["lat"][:], dtype="f8"),
            np.asarray(nc.variables["lon"][:], dtype="f8"),
            units,
            *_conversion(file.variable, units, file.path),
            {
                k: str(var.getncattr(k))
                for k in ("standard_name", "long_name")
                if k in var.ncattrs()
            },
            str(getattr(nc, "synthetic", "no")).lower() == "yes",
        )


def _check_year(file: ProjectionFile, days: np.ndarray, calendar: str) -> None:
    """Raise unless the file's dates lie in the year its name claims (one year per file)."""
    import cftime

    if days.size == 0:
        raise ClimateDataError(
            f"{file.path}: time: no time steps; expected the days of {file.year}"
        )
    first, last = cftime.num2date([days.min(), days.max()], TIME_UNITS, calendar)
    if first.year != file.year or last.year != file.year:
        raise ClimateDataError(
            f"{file.path}: the name says {file.year} but the dates run from "
            f"{first.strftime('%Y-%m-%d')} to {last.strftime('%Y-%m-%d')}; expected only "
            f"{file.year} (a mislabelled file would put its values in the wrong horizon)"
        )


def year_runs(years: Iterable[int]) -> list[tuple[int, int]]:
    """Return runs of consecutive years as inclusive ``(first, last)`` pairs, sorted.

    >>> year_runs([2081, 1995, 1996, 2082, 2050])
    [(1995, 1996), (2050, 2050), (2081, 2082)]
    """
    runs: list[list[int]] = []
    for year in sorted(set(int(y) for y in years)):
        if runs and year == runs[-1][1] + 1:
            runs[-1][1] = year
        else:
            runs.append([year, year])
    return [(a, b) for a, b in runs]
