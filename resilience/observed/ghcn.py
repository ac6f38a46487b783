"""Read GHCN-Daily monthly summaries and derive per-station annual maxima TXx and Rx1day.

The files (``ghcn_monthly/CHM000<id>-monthly-history.csv``) summarise NOAA GHCN-Daily per
month: the largest daily TMAX (``TMAX_MAX``, degC) and daily PRCP (``PRCP_MAX``, **tenths of
mm**) and the number of days with a value (``*_ENTRY_COUNT``). They are not daily values:
the annual maximum of the daily values is the largest monthly maximum, and a day without a
value is only known as a count. A year's maximum is trusted only when the year is complete
by the RClimDex rule (:func:`~resilience.observed.quality.year_completeness`: no month with
more than 3 missing days, at most 15 in the year); other years are reported, with the
largest value they do hold as a lower bound, and left out of the fits.

References
----------
Menne, M. J., Durre, I., Vose, R. S., Gleason, B. E. and Houston, T. G. (2012). An overview
of the Global Historical Climatology Network-Daily database. J. Atmos. Oceanic Technol. 29,
897-910, doi:10.1175/JTECH-D-11-00103.1 (PRCP in tenths of mm; missing value -9999).
"""

from __future__ import annotations

import calendar
import math
from pathlib import Path

import numpy as np
import pandas as pd

from resilience.observed.quality import WORLD_RECORDS, Gap, missing_runs, year_completeness
from resilience.observed.table_rows import read_strict_rows
from resilience.schema import SchemaError
from resilience.storage.atomic import write_text_atomic
from resilience.storage.csv_rows import parse_float, where

__all__ = [
    "ANNUAL_MAXIMA_COLUMNS",
    "MONTHLY_COLUMNS",
    "annual_maxima",
    "annual_maxima_csv",
    "read_ghcn_monthly",
]

#: Columns of a monthly-summary file this reader needs.
MONTHLY_COLUMNS = (
    "PERIOD_START",
    "YEAR",
    "MONTH",
    "TMAX_MIN",
    "TMAX_MAX",
    "TMAX_ENTRY_COUNT",
    "PRCP_MIN",
    "PRCP_MAX",
    "PRCP_ENTRY_COUNT",
)
#: Columns of the derived annual-maxima CSV (``resilience fit --column tmax_degc|prcp_mm``).
ANNUAL_MAXIMA_COLUMNS = (
    "year",
    "tmax_degc",
    "prcp_mm",
    "tmax_complete",
    "prcp_complete",
    "tmax_missing_days",
    "prcp_missing_days",
    "tmax_partial_degc",
    "prcp_partial_mm",
)
#: GHCN-Daily missing-value markers (Menne et al. 2012); a summary must leave the cell empty.
_MARKERS = frozenset({"-9999", "-99999", "-9999.0", "-999.9"})
_TENTHS = 10.0  # PRCP is stored in tenths of mm (Menne et al. 2012)


def _integer(text: str, source: Path, line: int, field: str) -> int:
    value = parse_float(text, source, line, field)
    if value != math.floor(value):
        raise SchemaError(f"{where(source, line, field)}: expected an integer, found {text!r}")
    return int(value)


def _count(row: dict[str, str], field: str, days: int, source: Path, line: int) -> int:
    """Return an entry count (empty = 0), checked against the days of the month."""
    if not row[field]:
        return 0
    count = _integer(row[field], source, line, field)
    if not 0 <= count <= days:
        raise SchemaError(
            f"{where(source, line, field)}: expected 0..{days} days with a value, found {count}"
        )
    return count


def _value(row: dict[str, str], field: str, count: int, source: Path, line: int) -> float:
    """Return a monthly statistic, NaN when the month has no entries of that element."""
    text = row[field]
    if text in _MARKERS:
        raise SchemaError(
            f"{where(source, line, field)}: found the missing-value marker {text}; expected "
            "an empty cell for a month without data"
        )
    if count == 0:
        if text:
            raise SchemaError(
                f"{where(source, line, field)}: found {text!r} in a month with no entries; "
                "expected an empty cell"
            )
        return math.nan
    if not text:
        raise SchemaError(
            f"{where(source, line, field)}: expected a value for a month with {count} entries"
        )
    return parse_float(text, source, line, field)


def _tmax(row: dict[str, str], days: int, source: Path, line: int) -> tuple[float, int]:
    count = _count(row, "TMAX_ENTRY_COUNT", days, source, line)
    high = _value(row, "TMAX_MAX", count, source, line)
    low = _value(row, "TMAX_MIN", count, source, line)
    bottom, top = WORLD_RECORDS["temperature_degc"]
    for field, value in (("TMAX_MAX", high), ("TMAX_MIN", low)):
        if not math.isnan(value) and not bottom <= value <= top:
            raise SchemaError(
                f"{where(source, line, field)}: {value:g} is beyond the world records "
                f"{bottom:g}..{top:g}; expected degC"
            )
    if low > high:
        raise SchemaError(f"{where(source, line, 'TMAX_MIN')}: {low:g} > TMAX_MAX {high:g}")
    return high, count


def _prcp(row: dict[str, str], days: int, source: Path, line: int) -> tuple[float, int]:
    count = _count(row, "PRCP_ENTRY_COUNT", days, source, line)
    high = _value(row, "PRCP_MAX", count, source, line)
    low = _value(row, "PRCP_MIN", count, source, line)
    top = WORLD_RECORDS["precipitation_mm_per_day"][1] * _TENTHS
    if not math.isnan(high):
        if high != math.floor(high) or not 0 <= high <= top:
            raise SchemaError(
                f"{where(source, line, 'PRCP_MAX')}: expected a whole number of tenths of mm "
                f"in 0..{top:g} (world record), found {row['PRCP_MAX']!r}"
            )
        if low < 0 or low > high:
            raise SchemaError(
                f"{where(source, line, 'PRCP_MIN')}: expected 0 <= PRCP_MIN <= PRCP_MAX, "
                f"found {low:g} and {high:g}"
            )
    return high / _TENTHS, count


def read_ghcn_monthly(path: Path) -> pd.DataFrame:
    """Read a GHCN-Daily monthly-summary file, checking every row.

    Parameters
    ----------
    path : Path
        CSV with at least :data:`MONTHLY_COLUMNS` (ghcn-showcases layout).

    Returns
    -------
    pandas.DataFrame
        One row per month in the file, sorted: ``year``, ``month``, ``days_in_month``,
        ``tmax_max_degc`` (largest daily TMAX, degC), ``tmax_days``, ``prcp_max_mm`` (largest
        daily PRCP, mm, converted from tenths), ``prcp_days`` (days with a value), ``line``.
        ``attrs["gaps"]``: months between the first and last that are not in the file.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SchemaError
        Naming the file, line and field: missing columns, text in a number, a month
        outside 1-12, a ``PERIOD_START`` that disagrees, a duplicate month (both lines), an
        entry count beyond the days of the month, a missing-value marker (-9999), a value
        without entries, TMAX beyond the world records (wrong units), PRCP not in whole
        tenths of mm, or min > max.
    """
    path = Path(path)
    _, rows = read_strict_rows(path, MONTHLY_COLUMNS)
    records: list[tuple] = []
    seen: dict[tuple[int, int], int] = {}
    for line, row in rows:
        year = _integer(row["YEAR"], path, line, "YEAR")
        month = _integer(row["MONTH"], path, line, "MONTH")
        if not 1 <= month <= 12:
            raise SchemaError(f"{where(path, line, 'MONTH')}: expected 1..12, found {month}")
        if row["PERIOD_START"] != f"{year:04d}-{month:02d}-01":
            raise SchemaError(
                f"{where(path, line, 'PERIOD_START')}: expected {year:04d}-{month:02d}-01, "
                f"found {row['PERIOD_START']!r}"
            )
        if (year, month) in seen:
            raise SchemaError(
                f"{path}: line {line}: month {year}-{month:02d} already on line {seen[year, month]}"
            )
        seen[year, month] = line
        days = calendar.monthrange(year, month)[1]
        tmax, tmax_days = _tmax(row, days, path, line)
        prcp, prcp_days = _prcp(row, days, path, line)
        records.append((year, month, days, tmax, tmax_days, prcp, prcp_days, line))
    names = ["year", "month", "days_in_month", "tmax_max_degc", "tmax_days"]
    names += ["prcp_max_mm", "prcp_days", "line"]
    table = pd.DataFrame(records, columns=names).sort_values(["year", "month"], ignore_index=True)
    table.attrs = {"source": str(path), "gaps": _absent_months(table)}
    return table


def _absent_months(table: pd.DataFrame) -> list[Gap]:
    """Return runs of months between the first and the last that are not in the file."""
    years, months_of_year = table["year"].to_numpy(), table["month"].to_numpy()
    first = f"{years[0]:04d}-{months_of_year[0]:02d}"
    months = pd.period_range(first, f"{years[-1]:04d}-{months_of_year[-1]:02d}", freq="M")
    present = set(zip(table["year"], table["month"], strict=True))
    absent = np.array([(m.year, m.month) not in present for m in months])
    return missing_runs(pd.Index(months.astype(str)), absent, "month", "not in the file")


def _missing_days(table: pd.DataFrame, count: str, years: range) -> pd.DataFrame:
    """Return missing days per (year, month): the month's days minus its entries."""
    full = pd.MultiIndex.from_product([years, range(1, 13)], names=["year", "month"])
    indexed = table.set_index(["year", "month"]).reindex(full)
    days = [calendar.monthrange(y, m)[1] for y, m in full]
    missing = pd.Series(days, index=full) - indexed[count].fillna(0).astype(int)
    return missing.unstack("month")


def annual_maxima(monthly: pd.DataFrame) -> pd.DataFrame:
    """Return annual maxima TXx (degC) and Rx1day (mm) with each year's completeness.

    Parameters
    ----------
    monthly : pandas.DataFrame
        From :func:`read_ghcn_monthly`.

    Returns
    -------
    pandas.DataFrame
        Index ``year`` (every year from the first to the last of the file), columns
        :data:`ANNUAL_MAXIMA_COLUMNS` without ``year``: ``tmax_degc`` / ``prcp_mm`` (the
        annual maximum, NaN unless the year is complete for that element),
        ``tmax_complete`` / ``prcp_complete`` (bool), ``tmax_missing_days`` /
        ``prcp_missing_days`` (days) and ``tmax_partial_degc`` / ``prcp_partial_mm`` (the
        largest value of an incomplete year: a lower bound, NaN for complete years).

    Notes
    -----
    TXx and Rx1day as defined by ETCCDI (Zhang et al. 2011, WIREs Clim. Change 2, 851-870);
    completeness by the RClimDex rule (Zhang & Yang 2004).
    """
    years = range(int(monthly["year"].min()), int(monthly["year"].max()) + 1)
    out = pd.DataFrame(index=pd.Index(years, name="year"))
    for element, value, unit in (("tmax", "tmax_max_degc", "degc"), ("prcp", "prcp_max_mm", "mm")):
        verdict = year_completeness(_missing_days(monthly, f"{element}_days", years))
        largest = monthly.groupby("year")[value].max().reindex(years)
        complete = verdict["complete"].to_numpy()
        out[f"{element}_{unit}"] = largest.where(complete).to_numpy()
        out[f"{element}_complete"] = complete
        out[f"{element}_missing_days"] = verdict["missing_days"].to_numpy()
        out[f"{element}_partial_{unit}"] = largest.where(~complete).to_numpy()
    out = out[list(ANNUAL_MAXIMA_COLUMNS[1:])]
    out.attrs = {
        "source": monthly.attrs.get("source", ""),
        "incomplete_tmax_years": [int(y) for y in out.index[~out["tmax_complete"]]],
        "incomplete_prcp_years": [int(y) for y in out.index[~out["prcp_complete"]]],
    }
    return out


def _cell(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else f"{value:.1f}"
    return str(value)


def annual_maxima_csv(maxima: pd.DataFrame, path: Path) -> Path:
    """Write annual maxima as the CSV ``resilience fit`` reads (empty cell = not used).

    Parameters
    ----------
    maxima : pandas.DataFrame
        From :func:`annual_maxima`.
    path : Path
        Output file, written atomically (one decimal; ``true``/``false``; LF line ends).

    Returns
    -------
    Path
        ``path``.
    """
    lines = [",".join(ANNUAL_MAXIMA_COLUMNS)]
    for year, row in maxima.iterrows():
        cells = [str(year)] + [_cell(row[c]) for c in ANNUAL_MAXIMA_COLUMNS[1:]]
        lines.append(",".join(cells))
    return write_text_atomic(Path(path), "\n".join(lines) + "\n")
