"""Read tide-gauge tables: stations, annual maxima, a user's gauge record, sea-level rise.

Each reader checks its file row by row and raises :class:`~hazard_models.layer.SchemaError`
(a ``ValueError``) naming the file, the line (1 = header) and the field, with what was
expected and what was found. The defaults are the tables shipped in
``resilience/data/sea_level`` (see its ``PROVENANCE.md`` and ``docs/sea_level.md``).
"""

from __future__ import annotations

import importlib.resources
import math
from importlib.resources.abc import Traversable
from pathlib import Path

import pandas as pd

from hazard_models.horizon import FUTURE_SCENARIOS
from hazard_models.layer import SchemaError
from resilience.storage.csv_rows import Row
from resilience.storage.csv_rows import parse_float as _parse_float
from resilience.storage.csv_rows import read_rows as _read_rows
from resilience.storage.csv_rows import where as _where

__all__ = [
    "ANNUAL_MAXIMA_COLUMNS",
    "SEA_LEVEL_COLUMNS",
    "SEA_LEVEL_PROJECTIONS_FILE",
    "STATION_COLUMNS",
    "TIDE_STATIONS_FILE",
    "read_annual_maxima",
    "read_gauge_csv",
    "read_sea_level_projections",
    "read_tide_stations",
    "shipped_sea_level_file",
]

TIDE_STATIONS_FILE = "shanghai_tide_stations.csv"
SEA_LEVEL_PROJECTIONS_FILE = "ar6_gmsl_projections.csv"
#: Required columns of each table (others are optional or carried through).
STATION_COLUMNS: tuple[str, ...] = (
    "station",
    "station_name",
    "lat",
    "lon",
    "datum",
    "warning_level_m",
)
ANNUAL_MAXIMA_COLUMNS: tuple[str, ...] = ("station", "year", "annual_max_m", "datum")
SEA_LEVEL_COLUMNS: tuple[str, ...] = ("scenario", "year", "quantile", "sea_level_rise_m")
_TRUE = frozenset({"true", "1", "yes", "y"})
_FALSE = frozenset({"false", "0", "no", "n"})
_MEDIAN = 0.5


def shipped_sea_level_file(name: str) -> Traversable:
    """Return the shipped file ``resilience/data/sea_level/<name>`` (importlib.resources)."""
    return importlib.resources.files("resilience") / "data" / "sea_level" / name


def _parse_year(text: str, source: object, line: int, field: str) -> int:
    """Parse a calendar year written as an integer (``1997`` or ``1997.0``)."""
    value = _parse_float(text, source, line, field)
    if value != int(value) or not 1 <= value <= 9999:
        raise SchemaError(
            f"{_where(source, line, field)}: expected an integer year, found {text!r}"
        )
    return int(value)


def _parse_bool(text: str, source: object, line: int, field: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE or lowered in _FALSE:
        return lowered in _TRUE
    raise SchemaError(f"{_where(source, line, field)}: expected True or False, found {text!r}")


def _check_unique(keys: list[tuple[int, tuple]], source: object, what: str) -> None:
    """Raise on the first key seen twice, naming both lines."""
    first_line: dict[tuple, int] = {}
    for line, key in keys:
        if key in first_line:
            shown = ", ".join(str(k) for k in key)
            raise SchemaError(
                f"{source}: line {line}: duplicate {what} ({shown}); "
                f"first on line {first_line[key]}"
            )
        first_line[key] = line


def _check_single_datum(rows: list[Row], source: object) -> str:
    """Return the one datum used by every row, or raise naming the first row that differs."""
    first_line, first = rows[0][0], rows[0][1]["datum"]
    if not first:
        raise SchemaError(f"{_where(source, first_line, 'datum')}: expected a datum name, found ''")
    for line, row in rows:
        if row["datum"] != first:
            raise SchemaError(
                f"{_where(source, line, 'datum')}: mixed datums: expected {first!r} "
                f"(as on line {first_line}), found {row['datum']!r}"
            )
    return first


def _station_record(
    row: dict[str, str], line: int, header: list[str], source: object
) -> dict[str, object]:
    """Parse one row of a stations table (see :func:`read_tide_stations`)."""
    if not row["station"]:
        raise SchemaError(f"{_where(source, line, 'station')}: expected a station id, found ''")
    record: dict[str, object] = dict(row)
    for field in ("lat", "lon", "warning_level_m", "subsidence_mm_per_year"):
        if field in header:
            record[field] = _parse_float(row[field], source, line, field)
    if "design_level_1000yr_m" in header:
        field = "design_level_1000yr_m"
        record[field] = _parse_float(row[field], source, line, field, allow_missing=True)
    for field, limit in (("lat", 90.0), ("lon", 180.0)):
        if abs(float(str(record[field]))) > limit:
            raise SchemaError(
                f"{_where(source, line, field)}: expected degrees in [-{limit:g}, {limit:g}], "
                f"found {row[field]!r}"
            )
    return record


def read_tide_stations(path: Path | None = None) -> pd.DataFrame:
    """Read a tide-gauge stations table.

    Parameters
    ----------
    path : pathlib.Path, optional
        CSV with at least the columns :data:`STATION_COLUMNS`; optional numeric columns
        ``design_level_1000yr_m`` (empty = unknown) and ``subsidence_mm_per_year``. Defaults
        to the shipped ``shanghai_tide_stations.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per station in file order: ``station`` (id), ``station_name``, ``lat``,
        ``lon`` (degrees, WGS-84), ``datum``, ``warning_level_m`` (m on ``datum``), the
        optional columns, and any other column as text (``station_code`` stays text).

    Raises
    ------
    SchemaError
        Missing column, non-numeric value or coordinate out of range (with line and field),
        duplicate station, empty station id, or more than one datum.
    """
    source = path if path is not None else shipped_sea_level_file(TIDE_STATIONS_FILE)
    header, rows = _read_rows(source, STATION_COLUMNS)
    records = [_station_record(row, line, header, source) for line, row in rows]
    _check_unique([(line, (row["station"],)) for line, row in rows], source, "station")
    _check_single_datum(rows, source)
    frame = pd.DataFrame.from_records(records, columns=header)
    frame.attrs["source"] = str(source)
    return frame


def _maximum_record(
    row: dict[str, str], line: int, known: dict[str, str], *, source: object
) -> dict[str, object]:
    """Parse one row of an annual-maxima table; ``known`` maps station ids to their source."""
    if row["station"] not in known:
        raise SchemaError(
            f"{_where(source, line, 'station')}: unknown station {row['station']!r}; "
            f"expected one of {', '.join(sorted(known))} ({next(iter(known.values()))})"
        )
    synthetic = "synthetic" in row and _parse_bool(row["synthetic"], source, line, "synthetic")
    return {
        "station": row["station"],
        "year": _parse_year(row["year"], source, line, "year"),
        "annual_max_m": _parse_float(row["annual_max_m"], source, line, "annual_max_m"),
        "datum": row["datum"],
        "synthetic": bool(synthetic),
        "note": row.get("note", ""),
    }


def read_annual_maxima(path: Path, *, stations_path: Path | None = None) -> pd.DataFrame:
    """Read annual maximum water levels of tide gauges.

    Parameters
    ----------
    path : pathlib.Path
        CSV with columns :data:`ANNUAL_MAXIMA_COLUMNS` (``annual_max_m`` in m on ``datum``)
        and optionally ``synthetic`` (True/False) and ``note``.
    stations_path : pathlib.Path, optional
        Stations table that every ``station`` must appear in, with the same datum. Defaults to
        ``shanghai_tide_stations.csv`` beside ``path`` if present, else the shipped table.

    Returns
    -------
    pandas.DataFrame
        Columns ``station`` (str), ``year`` (int), ``annual_max_m`` (float, m), ``datum``,
        ``synthetic`` (bool; False where the column is absent) and ``note`` (str), sorted by
        station then year.

    Raises
    ------
    SchemaError
        Missing column; non-numeric level or non-integer year (with line and field);
        duplicate station-year (both lines); station not in the stations table; more than one
        datum, or a datum other than the stations table's.
    """
    if stations_path is None:
        sibling = path.parent / TIDE_STATIONS_FILE
        stations_path = sibling if sibling.is_file() else None
    stations = read_tide_stations(stations_path)
    _, rows = _read_rows(path, ANNUAL_MAXIMA_COLUMNS)
    known = dict.fromkeys(stations["station"], stations.attrs["source"])
    records = [_maximum_record(row, line, known, source=path) for line, row in rows]
    _check_unique(
        [(line, (r["station"], r["year"])) for (line, _), r in zip(rows, records, strict=True)],
        path,
        "station-year",
    )
    datum = _check_single_datum(rows, path)
    stations_datum = str(stations["datum"].iloc[0])
    if datum != stations_datum:
        raise SchemaError(
            f"{_where(path, rows[0][0], 'datum')}: mixed datums: expected {stations_datum!r} "
            f"as in {stations.attrs['source']}, found {datum!r}"
        )
    frame = pd.DataFrame.from_records(records).sort_values(["station", "year"], ignore_index=True)
    frame.attrs["source"] = str(path)
    return frame


def read_gauge_csv(path: Path, *, column: str, year_column: str = "year") -> pd.Series:
    """Read one gauge's annual values (for example annual maxima) from a user's CSV.

    Parameters
    ----------
    path : pathlib.Path
        CSV with a year column and a value column; other columns are ignored.
    column : str
        Name of the value column (its units are the caller's; keep them in the name).
    year_column : str
        Name of the calendar-year column (integers).

    Returns
    -------
    pandas.Series
        Float values indexed by ``year`` (int, ascending), named ``column``. Rows whose value
        is empty, ``NA`` or ``NaN`` are dropped (a gap in the record); their years are listed
        in ``attrs["missing_years"]``.

    Raises
    ------
    SchemaError
        Missing column, non-integer year, non-numeric value (with line and field), duplicate
        year (both lines), or no value at all.
    """
    _, rows = _read_rows(path, (year_column, column))
    values: dict[int, float] = {}
    missing: list[int] = []
    years: list[tuple[int, tuple]] = []
    for line, row in rows:
        year = _parse_year(row[year_column], path, line, year_column)
        value = _parse_float(row[column], path, line, column, allow_missing=True)
        years.append((line, (year,)))
        if math.isnan(value):
            missing.append(year)
        else:
            values[year] = value
    _check_unique(years, path, year_column)
    if not values:
        raise SchemaError(f"{path}: field '{column}': expected at least one value, found none")
    series = pd.Series(values, name=column, dtype=float).sort_index()
    series.index = series.index.astype(int).rename("year")
    series.attrs.update(source=str(path), missing_years=sorted(missing))
    return series


def _check_projection_table(frame: pd.DataFrame, lines: list[int], source: object) -> None:
    """Check median presence and quantile order per scenario and year."""
    for scenario, group in frame.groupby("scenario", sort=False):
        if not (group["quantile"] == _MEDIAN).any():
            raise SchemaError(
                f"{source}: scenario {scenario!r} has no median: expected quantile 0.5 rows, "
                f"found quantiles {sorted(set(group['quantile']))}"
            )
    for (scenario, year), group in frame.groupby(["scenario", "year"], sort=False):
        ordered = group.sort_values("quantile")
        steps = ordered["sea_level_rise_m"].diff().iloc[1:]
        if (steps < 0).any():
            line = lines[int(steps.index[(steps < 0).argmax()])]
            raise SchemaError(
                f"{_where(source, line, 'sea_level_rise_m')}: {scenario} {year}: expected "
                f"values non-decreasing with quantile, found "
                f"{dict(zip(ordered['quantile'], ordered['sea_level_rise_m'], strict=True))}"
            )


def _projection_record(
    row: dict[str, str], line: int, header: list[str], source: object
) -> dict[str, object]:
    """Parse one row of a sea-level table (see :func:`read_sea_level_projections`)."""
    if row["scenario"] not in FUTURE_SCENARIOS:
        raise SchemaError(
            f"{_where(source, line, 'scenario')}: expected one of "
            f"{', '.join(FUTURE_SCENARIOS)}, found {row['scenario']!r}"
        )
    quantile = _parse_float(row["quantile"], source, line, "quantile")
    if not 0.0 < quantile < 1.0:
        raise SchemaError(
            f"{_where(source, line, 'quantile')}: expected a value in (0, 1), "
            f"found {row['quantile']!r}"
        )
    confirmed = "confirmed" in header and _parse_bool(row["confirmed"], source, line, "confirmed")
    return {
        "scenario": row["scenario"],
        "year": _parse_year(row["year"], source, line, "year"),
        "quantile": quantile,
        "sea_level_rise_m": _parse_float(row["sea_level_rise_m"], source, line, "sea_level_rise_m"),
        "confirmed": bool(confirmed),
        "source": row["source"] if "source" in header else Path(str(source)).name,
    }


def read_sea_level_projections(path: Path | None = None) -> pd.DataFrame:
    """Read a sea-level-rise projection table.

    Parameters
    ----------
    path : pathlib.Path, optional
        CSV with columns :data:`SEA_LEVEL_COLUMNS`: ``scenario`` (one of
        ``hazard_models.horizon.FUTURE_SCENARIOS``), ``year``, ``quantile`` in (0, 1) and
        ``sea_level_rise_m`` (m relative to 1995-2014), optionally ``confirmed`` (bool) and
        ``source``. Defaults to the shipped AR6 global-mean table
        ``ar6_gmsl_projections.csv`` (GLOBAL mean, not Shanghai; see ``docs/sea_level.md``).

    Returns
    -------
    pandas.DataFrame
        Columns ``scenario``, ``year`` (int), ``quantile`` (float), ``sea_level_rise_m``
        (float, m), ``confirmed`` (bool; False where absent) and ``source`` (str; the file
        name where absent), sorted by scenario, year and quantile.

    Raises
    ------
    SchemaError
        Missing column; non-numeric value (with line and field); unknown scenario; quantile
        outside (0, 1); duplicate scenario-year-quantile; a scenario without the median (0.5);
        values that decrease with quantile within a scenario and year.
    """
    source = path if path is not None else shipped_sea_level_file(SEA_LEVEL_PROJECTIONS_FILE)
    header, rows = _read_rows(source, SEA_LEVEL_COLUMNS)
    records = [_projection_record(row, line, header, source) for line, row in rows]
    keys = [
        (line, (r["scenario"], r["year"], r["quantile"]))
        for (line, _), r in zip(rows, records, strict=True)
    ]
    _check_unique(keys, source, "scenario-year-quantile")
    frame = pd.DataFrame.from_records(records)
    _check_projection_table(frame, [line for line, _ in rows], source)
    frame = frame.sort_values(["scenario", "year", "quantile"], ignore_index=True)
    frame.attrs["source"] = str(source)
    return frame
