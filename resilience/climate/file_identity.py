"""What a climate file holds, read from its name or, when the name says nothing, its header.

A file is identified by the first of these that works:

1. a NEX-GDDP-CMIP6 per-year name,
   ``{variable}_day_{model}_{experiment}_{variant}_{grid}_{year}[_v{version}].nc``
   (:func:`resilience.climate.projection_file.parse_file_name`);
2. a CMIP6 DRS file name, ``{variable}_{table}_{source_id}_{experiment_id}_{member_id}_
   {grid_label}[_{start}-{end}].nc``, where ``start`` and ``end`` are ``YYYY``, ``YYYYMM``,
   ``YYYYMMDD`` or longer (CMIP6 "Global Attributes, DRS, Filenames, Directory Structure and
   CVs", Taylor et al. 2018, section "File name template"); a ``vYYYYMMDD`` folder above the
   file (the ESGF layout) gives its version;
3. the global attributes ``source_id``, ``experiment_id`` and ``variant_label`` (or
   ``member_id``), optionally ``grid_label`` and ``frequency``, the data variable (by
   ``variable_id``, by CMIP6 name, or by ``standard_name`` and ``cell_methods``) and the first
   and last time values, read with netCDF4 (the header only, a few ms a file).

Files that say what they hold but cannot serve the Projections contract are skipped (``None``):
a non-daily table or frequency (``Amon``, ``fx`` ...), a variable that is not canonical, or
an experiment outside ``resilience.schema.SCENARIOS``. A file whose name says nothing and
whose header lacks an identifier raises :class:`ClimateDataError` naming the file and the
missing attribute, so nothing is used or dropped without a word.

Members are labelled on the ``model`` dim by :mod:`resilience.climate.member`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from resilience.climate.normalise import identify_variable
from resilience.climate.projection_file import ClimateDataError, parse_file_name
from resilience.schema import CANONICAL_UNITS, SCENARIOS

__all__ = [
    "DAILY_TABLES",
    "DRS_PATTERN",
    "FileIdentity",
    "identify_file",
    "parse_drs_name",
]

#: CMIP6 DRS file names. Member ids may carry a sub-experiment (``s1960-r1i1p1f1``).
DRS_PATTERN = re.compile(
    r"^(?P<variable>[A-Za-z0-9]+)_(?P<table>[A-Za-z0-9]+)_(?P<model>[A-Za-z0-9.+-]+)_"
    r"(?P<experiment>[A-Za-z0-9-]+)_(?P<member>(?:s\d{4}-)?r\d+i\d+p\d+f\d+)_"
    r"(?P<grid>g[a-z0-9]+)(?:_(?P<start>\d{4,14})-(?P<end>\d{4,14})(?:-clim)?)?\.nc$"
)
#: CMIP6 tables holding daily data (CMIP6 CMOR tables: ``day``, ``Eday``, ``CFday``,
#: ``AERday``); NEX-GDDP-CMIP6 uses ``day``.
DAILY_TABLES = frozenset({"day", "Eday", "CFday", "AERday"})
_VERSION_FOLDER = re.compile(r"^v(\d{8})$")
_IDENTIFIERS = ("source_id", "experiment_id", "variant_label")

NamedBy = Literal["nex", "drs", "attributes"]


@dataclass(frozen=True)
class FileIdentity:
    """What one daily file holds.

    Attributes
    ----------
    path : Path
        The file.
    variable, model, experiment, member, grid : str
        Canonical variable, ``source_id``, ``experiment_id``, ``variant_label``, ``grid_label``.
    first_year, last_year : int
        Calendar years of its first and last day (from the name, or the time axis).
    version : tuple of int
        ``_v1.1`` suffix (NEX), ``vYYYYMMDD`` folder (ESGF) or ``(1, 0)``.
    named_by : {"nex", "drs", "attributes"}
        Where the identity was read.
    """

    path: Path
    variable: str
    model: str
    experiment: str
    member: str
    grid: str
    first_year: int
    last_year: int
    version: tuple[int, ...]
    named_by: NamedBy

    @property
    def years(self) -> range:
        """Calendar years the file touches (inclusive)."""
        return range(self.first_year, self.last_year + 1)


def _folder_version(path: Path) -> tuple[int, ...]:
    """Return the ``vYYYYMMDD`` folder version above ``path`` (ESGF layout), else (1, 0)."""
    for part in reversed(Path(path).parent.parts):
        match = _VERSION_FOLDER.match(part)
        if match:
            return (int(match[1]),)
    return (1, 0)


def _usable(variable: str, experiment: str) -> bool:
    return variable in CANONICAL_UNITS and experiment in SCENARIOS


def parse_drs_name(path: Path) -> FileIdentity | None:
    """Return the identity in a CMIP6 DRS file name, or None if the name is not one.

    A DRS name of a non-daily table, a non-canonical variable or an experiment outside
    ``SCENARIOS`` also gives None (the file cannot serve the Projections contract). A DRS
    name without a date range gives None too: its years are unknown until the file is read.
    """
    match = DRS_PATTERN.match(Path(path).name)
    if match is None or match["start"] is None:
        return None
    if match["table"] not in DAILY_TABLES or not _usable(match["variable"], match["experiment"]):
        return None
    first, last = int(match["start"][:4]), int(match["end"][:4])
    if last < first:
        raise ClimateDataError(
            f"{Path(path).name}: date range {match['start']}-{match['end']} ends before it "
            "starts; expected START-END"
        )
    member = match["member"].rsplit("-", 1)[-1]
    return FileIdentity(
        Path(path),
        match["variable"],
        match["model"],
        match["experiment"],
        member,
        match["grid"],
        first,
        last,
        _folder_version(path),
        "drs",
    )


def identify_file(path: Path, *, read_header: bool = True) -> FileIdentity | None:
    """Return what a file holds, from its name or (``read_header``) its global attributes.

    Parameters
    ----------
    path : Path
        A NetCDF file.
    read_header : bool
        Open a file whose name says nothing and read its attributes and time axis. False
        returns None for such files (for URLs, which are not opened here).

    Returns
    -------
    FileIdentity or None
        None for a file that cannot serve the Projections contract (module docstring).

    Raises
    ------
    ClimateDataError
        If a file whose name says nothing is not readable NetCDF or lacks ``source_id``,
        ``experiment_id``, ``variant_label`` (or ``member_id``), a canonical data variable or
        a time axis; the message names the file and what was expected.
    """
    path = Path(path)
    nex = parse_file_name(path)
    if nex is not None:
        if not _usable(nex.variable, nex.experiment):
            return None
        return FileIdentity(
            path, nex.variable, nex.model, nex.experiment, nex.variant, nex.grid,
            nex.year, nex.year, nex.version, "nex",
        )  # fmt: skip
    drs = DRS_PATTERN.match(path.name)
    if drs is not None and drs["start"] is not None:
        return parse_drs_name(path)
    return _read_identity(path) if read_header else None


def _read_identity(path: Path) -> FileIdentity | None:
    """Read the identity of a file from its global attributes, variables and time axis."""
    import netCDF4

    try:
        nc = netCDF4.Dataset(path)
    except OSError as err:
        raise ClimateDataError(f"{path}: not a readable NetCDF file ({err})") from err
    with nc:
        attrs = {k: str(nc.getncattr(k)).strip() for k in nc.ncattrs()}
        attrs.setdefault("variant_label", attrs.get("member_id", "").rsplit("-", 1)[-1])
        absent = [k for k in _IDENTIFIERS if not attrs.get(k)]
        if absent:
            raise ClimateDataError(
                f"{path}: the name says nothing of what the file holds and global attributes "
                f"{absent} are missing; expected a NEX-GDDP-CMIP6 or CMIP6 DRS file name "
                "({variable}_day_{source_id}_{experiment_id}_{variant_label}_{grid_label}_"
                "{start}-{end}.nc) or the attributes source_id, experiment_id, variant_label"
            )
        frequency = attrs.get("frequency", attrs.get("table_id", "day"))
        if frequency not in ("day", *DAILY_TABLES) or attrs["experiment_id"] not in SCENARIOS:
            return None
        variable = _data_variable(nc, attrs.get("variable_id", ""), path)
        if variable is None:
            return None
        first, last = _first_last_year(nc, path)
    return FileIdentity(
        path,
        variable,
        attrs["source_id"],
        attrs["experiment_id"],
        attrs["variant_label"],
        attrs.get("grid_label") or "gn",
        first,
        last,
        _folder_version(path),
        "attributes",
    )


def _data_variable(nc: object, variable_id: str, path: Path) -> str | None:
    """Return the canonical variable a file holds: by ``variable_id``, name or CF identity."""
    variables = nc.variables  # type: ignore[attr-defined]
    gridded = {str(n): v for n, v in variables.items() if len(v.dimensions) >= 3}
    if variable_id in CANONICAL_UNITS and variable_id in gridded:
        return variable_id
    found = sorted({n for n in gridded if n in CANONICAL_UNITS})
    if not found:
        found = sorted(
            {
                name
                for v in gridded.values()
                if (name := identify_variable({k: v.getncattr(k) for k in v.ncattrs()}))
            }
        )
    if len(found) > 1:
        raise ClimateDataError(
            f"{path}: holds {found}; expected one canonical variable per file (or a "
            "variable_id global attribute naming it)"
        )
    return found[0] if found else None


def _first_last_year(nc: object, path: Path) -> tuple[int, int]:
    """Return the calendar years of the first and last time value (cftime, any calendar)."""
    import cftime

    variables = nc.variables  # type: ignore[attr-defined]
    time = variables.get("time")
    if time is None or not hasattr(time, "units") or time.size == 0:
        raise ClimateDataError(
            f"{path}: no 'time' variable with units; expected a CF time axis "
            "(e.g. units 'days since 1850-01-01')"
        )
    calendar = str(getattr(time, "calendar", "standard"))
    ends = [float(time[0]), float(time[-1])]
    first, last = cftime.num2date(ends, str(time.units), calendar, only_use_cftime_datetimes=True)
    return int(first.year), int(last.year)
