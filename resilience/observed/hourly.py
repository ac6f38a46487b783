"""Read the hourly Shanghai weather record (UCI PM2.5 data set): temperature and rain per hour.

The file has one row per hour, 2010-01-01 00:00 to 2015-12-31 23:00, with ``year``,
``month``, ``day``, ``hour`` (local time, taken as Beijing time, UTC+8: the file does not
say), ``TEMP`` (degC, whole degrees) and ``precipitation`` (mm in the hour); ``NA`` or an
empty cell is a missing value. The station is not named in the file. Missing hours are
reported as runs (never filled); days and years are judged complete by the RClimDex rule
before their extremes are used.

References
----------
Liang, X., Li, S., Zhang, S., Huang, H. and Chen, S. X. (2016). PM2.5 data reliability,
consistency, and air quality assessment in five Chinese cities. J. Geophys. Res. Atmos. 121,
10220-10236, doi:10.1002/2016JD024877 (UCI Machine Learning Repository data set 394).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from resilience.observed.quality import WORLD_RECORDS, missing_runs, year_completeness
from resilience.observed.shipped import HOURLY_FILE, observed_file
from resilience.observed.table_rows import read_strict_rows
from resilience.schema import SchemaError
from resilience.storage.csv_rows import parse_float, where

__all__ = [
    "HOURLY_COLUMNS",
    "MIN_HOURS_PER_DAY",
    "annual_max_hourly_rain",
    "daily_max_temperature",
    "read_hourly_station",
]

HOURLY_COLUMNS = ("year", "month", "day", "hour", "TEMP", "precipitation")
#: Hours a day needs for its maximum temperature: 23 of 24, the rule with which the shipped
#: ERA5-Land daily maxima were aggregated (PROVENANCE.md), so that both compare like with like.
MIN_HOURS_PER_DAY = 23
_FIELDS = {
    "TEMP": ("temperature_degc", WORLD_RECORDS["temperature_degc"], "degC"),
    "precipitation": ("precipitation_mm", WORLD_RECORDS["precipitation_mm_per_hour"], "mm"),
}


def _time(row: dict[str, str], source: Path, line: int) -> pd.Timestamp:
    parts = {}
    for field in ("year", "month", "day", "hour"):
        value = parse_float(row[field], source, line, field)
        if value != math.floor(value):
            raise SchemaError(
                f"{where(source, line, field)}: expected an integer, found {row[field]!r}"
            )
        parts[field] = int(value)
    try:
        return pd.Timestamp(**parts)
    except ValueError as error:
        raise SchemaError(f"{source}: line {line}: not a valid date and hour ({error})") from None


def _measurement(row: dict[str, str], field: str, source: Path, line: int) -> float:
    value = parse_float(row[field], source, line, field, allow_missing=True)
    _, (low, high), units = _FIELDS[field]
    if not math.isnan(value) and not low <= value <= high:
        raise SchemaError(
            f"{where(source, line, field)}: {value:g} is outside {low:g}..{high:g} {units} "
            f"(world records); expected {field} in {units}"
        )
    return value


def read_hourly_station(path: Path | None = None) -> pd.DataFrame:
    """Read the hourly record, checking every row.

    Parameters
    ----------
    path : Path, optional
        CSV with at least :data:`HOURLY_COLUMNS`; default: the shipped Shanghai file.

    Returns
    -------
    pandas.DataFrame
        Index ``time`` (hourly, naive Beijing time, every hour from the first to the last;
        hours absent from the file are NaN), columns ``temperature_degc`` and
        ``precipitation_mm`` (mm in the hour). ``attrs["gaps"]`` lists runs of missing
        hours per column (:class:`~resilience.observed.quality.Gap`), ``attrs["source"]``
        the file.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SchemaError
        Naming the file, line and field: missing columns, a truncated row, text in a number,
        an impossible date, hours out of order or repeated, or a value beyond the world
        records (temperature not in degC, or rain below 0 or above 401 mm/h).
    """
    path = Path(path) if path is not None else observed_file(HOURLY_FILE)
    _, rows = read_strict_rows(path, HOURLY_COLUMNS)
    times, temperature, rain = [], [], []
    previous: tuple[pd.Timestamp, int] | None = None
    for line, row in rows:
        time = _time(row, path, line)
        if previous is not None and time <= previous[0]:
            raise SchemaError(
                f"{path}: line {line}: hour {time} is not after {previous[0]} on line "
                f"{previous[1]}; expected increasing hours"
            )
        previous = (time, line)
        times.append(time)
        temperature.append(_measurement(row, "TEMP", path, line))
        rain.append(_measurement(row, "precipitation", path, line))
    index = pd.DatetimeIndex(times, name="time")
    table = pd.DataFrame({"temperature_degc": temperature, "precipitation_mm": rain}, index=index)
    full = pd.date_range(index[0], index[-1], freq="h", name="time")
    table = table.reindex(full)
    gaps, labels = [], pd.Index(full.strftime("%Y-%m-%dT%H:00"))
    for column in table.columns:
        gaps += missing_runs(labels, table[column].isna().to_numpy(), column, "missing value")
    table.attrs = {"source": str(path), "gaps": gaps}
    return table


def daily_max_temperature(hourly: pd.DataFrame, *, min_hours: int = MIN_HOURS_PER_DAY) -> pd.Series:
    """Return the daily maximum of the hourly temperatures (degC), NaN on incomplete days.

    Parameters
    ----------
    hourly : pandas.DataFrame
        From :func:`read_hourly_station`.
    min_hours : int
        Hours with a value a day needs (default 23 of 24, :data:`MIN_HOURS_PER_DAY`).

    Returns
    -------
    pandas.Series
        Index: dates; ``attrs["incomplete_days"]`` lists the days set to NaN.

    Notes
    -----
    The maximum of hourly readings of whole degrees underestimates a maximum thermometer's
    reading; the bias against ERA5-Land (also from hourly values) is like for like.
    """
    grouped = hourly["temperature_degc"].resample("D")
    daily, count = grouped.max(), grouped.count()
    incomplete = count < min_hours
    daily = daily.where(~incomplete)
    daily.attrs = {"incomplete_days": [d.date().isoformat() for d in daily.index[incomplete]]}
    return daily


def annual_max_hourly_rain(
    hourly: pd.DataFrame,
    *,
    min_hours: int = MIN_HOURS_PER_DAY,
    months: Sequence[int] = tuple(range(1, 13)),
) -> pd.DataFrame:
    """Return each year's largest hourly rain with the year's completeness.

    Parameters
    ----------
    hourly : pandas.DataFrame
        From :func:`read_hourly_station`.
    min_hours : int
        Hours with a value a day needs not to count as missing (default 23 of 24, as for
        the daily maximum temperature).
    months : sequence of int
        Months whose completeness decides (default all 12: the RClimDex rule). A season,
        e.g. 6-9, judges only the months in which the annual maximum can plausibly fall;
        the 15-day limit then applies to those months.

    Returns
    -------
    pandas.DataFrame
        Index ``year``; columns ``max_1h_mm`` (mm in one clock hour), ``time`` (start of
        that hour), ``missing_hours``, ``missing_days`` (days with fewer than ``min_hours``
        values), ``missing_months`` and ``complete`` (RClimDex rule on those days). An
        incomplete year's maximum is a lower bound: a missing hour may have held more.
    """
    rain = hourly["precipitation_mm"]
    first, last = rain.index[0].year, rain.index[-1].year
    days = pd.date_range(f"{first}-01-01", f"{last}-12-31", freq="D")
    # a day is missing with fewer than min_hours values, or outside the record
    day_missing = (rain.resample("D").count() < min_hours).reindex(days, fill_value=True)
    table = day_missing.groupby([days.year, days.month]).sum().unstack()
    ignored = [m for m in range(1, 13) if m not in set(months)]
    table[ignored] = 0  # months outside the season do not count
    verdict = year_completeness(table)
    by_year = rain.groupby(rain.index.year)
    out = pd.DataFrame(
        {
            "max_1h_mm": by_year.max(),
            "time": by_year.idxmax(),
            "missing_hours": rain.isna().groupby(rain.index.year).sum().astype(int),
        }
    )
    out = out.join(verdict[["missing_days", "missing_months", "complete"]])
    out.index.name = "year"
    out["complete"] = out["complete"].astype(bool)
    return out.astype({"max_1h_mm": np.float64})
