"""Read PSMSL RLR monthly mean sea level; annual means and linear trends with standard errors.

File format (PSMSL, "Notes on the data", psmsl.org/data/obtaining/notes.php): one line per
month, ``year.fraction; mean sea level (mm); missing days; flag`` with ``year.fraction =
year + (month - 0.5) / 12``. A month without data is ``-99999`` (the record is padded
between its first and last month); missing days ``99`` means the month was interpolated; the
flag's last digit 1 ("flag for attention", ``001``) marks values PSMSL advises against using
for trends (PSMSL news, 3 Feb 2016). Values are mm above the Revised Local Reference datum,
which PSMSL sets about 7000 mm below mean sea level, so values near 7000 are expected.

References
----------
Holgate, S. J. et al. (2013). New data systems and products at the Permanent Service for
Mean Sea Level. J. Coastal Res. 29(3), 493-504, doi:10.2112/JCOASTRES-D-12-00175.1.
Santer, B. D. et al. (2000). Statistical significance of trends and trend differences in
layer-average atmospheric temperature time series. J. Geophys. Res. 105(D6), 7337-7356
(effective sample size for lag-1 autocorrelated residuals, eq. 6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from resilience.observed.quality import missing_runs
from resilience.observed.trend import fit_linear_trend
from resilience.schema import SchemaError

__all__ = [
    "MISSING_MM",
    "SeaLevelTrend",
    "annual_means",
    "read_psmsl_monthly",
    "sea_level_trend",
]

#: PSMSL's marker of a month without data.
MISSING_MM = -99999
#: Plausible RLR values: the datum is ~7000 mm below mean sea level (PSMSL), so a reading in
#: metres or on another datum falls outside 1000..13000 mm (+-6 m around it).
_RLR_RANGE_MM = (1000, 13000)


def _field(text: str, path: Path, line: int, name: str, kind: type) -> float:
    try:
        return kind(text.strip())
    except ValueError:
        raise SchemaError(
            f"{path}: line {line}, field '{name}': expected {kind.__name__}, found {text!r}"
        ) from None


def _parse(path: Path, line: int, text: str) -> tuple[int, int, float, int, str]:
    """Return (year, month, value mm or NaN, missing days, flag) of one data line."""
    cells = text.split(";")
    if len(cells) != 4:
        raise SchemaError(
            f"{path}: line {line}: expected 4 fields 'year.fraction; mm; missing days; flag', "
            f"found {len(cells)} (truncated?)"
        )
    decimal = _field(cells[0], path, line, "time", float)
    year = math.floor(decimal)
    month = round((decimal - year) * 12 + 0.5)
    if not 1 <= month <= 12 or abs(year + (month - 0.5) / 12 - decimal) > 1e-3:
        raise SchemaError(
            f"{path}: line {line}, field 'time': expected year + (month - 0.5) / 12, "
            f"found {cells[0].strip()!r}"
        )
    value = _field(cells[1], path, line, "msl_mm", int)
    missing = _field(cells[2], path, line, "missing_days", int)
    flag = cells[3].strip()
    if not (len(flag) == 3 and flag.isdigit()):
        raise SchemaError(f"{path}: line {line}, field 'flag': expected 3 digits, found {flag!r}")
    if value == MISSING_MM:
        return year, month, math.nan, int(missing), flag
    low, high = _RLR_RANGE_MM
    if not low <= value <= high:
        raise SchemaError(
            f"{path}: line {line}, field 'msl_mm': {value} outside {low}..{high}; expected mm "
            f"on the RLR datum (about 7000 mm below mean sea level)"
        )
    if not (0 <= missing <= 31 or missing == 99):
        raise SchemaError(
            f"{path}: line {line}, field 'missing_days': expected 0..31 or 99, found {missing}"
        )
    return year, month, float(value), int(missing), flag


def read_psmsl_monthly(path: Path) -> pd.DataFrame:
    """Read a PSMSL RLR monthly file (``<id>.rlrdata``), checking every line.

    Parameters
    ----------
    path : Path
        The ``.rlrdata`` file.

    Returns
    -------
    pandas.DataFrame
        One row per month, columns ``year``, ``month``, ``msl_mm`` (NaN for -99999),
        ``missing_days``, ``interpolated`` (missing days 99), ``attention`` (flag 001 set)
        and ``line``. ``attrs["gaps"]``: runs of months without data.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SchemaError
        Naming the file, line and field: a line without 4 fields, a bad decimal date, a
        value outside 1000..13000 mm (not mm on the RLR datum), bad missing days or flag,
        months out of order, repeated or skipped (PSMSL pads gaps with -99999).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    records: list[tuple] = []
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        year, month, value, missing, flag = _parse(path, line, content)
        if records:
            previous = records[-1]
            expected = (previous[0] + previous[1] // 12, previous[1] % 12 + 1)
            if (year, month) != expected:
                raise SchemaError(
                    f"{path}: line {line}: month {year}-{month:02d} follows "
                    f"{previous[0]}-{previous[1]:02d}; expected {expected[0]}-{expected[1]:02d}"
                )
        records.append((year, month, value, missing, missing == 99, flag[-1] in "1357", line))
    if not records:
        raise SchemaError(f"{path}: expected monthly data lines, found none")
    names = ["year", "month", "msl_mm", "missing_days", "interpolated", "attention", "line"]
    table = pd.DataFrame(records, columns=names)
    labels = pd.Index(
        [f"{y:04d}-{m:02d}" for y, m in zip(table["year"], table["month"], strict=True)]
    )
    gaps = missing_runs(labels, table["msl_mm"].isna().to_numpy(), "msl_mm", "-99999")
    table.attrs = {"source": str(path), "gaps": gaps}
    return table


def annual_means(monthly: pd.DataFrame, *, min_months: int = 12) -> pd.DataFrame:
    """Return annual mean sea level from the months PSMSL does not flag for attention.

    Parameters
    ----------
    monthly : pandas.DataFrame
        From :func:`read_psmsl_monthly`.
    min_months : int
        Valid months a year needs (default 12: the seasonal cycle of the East China Sea
        coast would bias a mean missing a month; PSMSL's own annual files accept one
        missing month, flagged "Y").

    Returns
    -------
    pandas.DataFrame
        Index ``year`` (years with at least ``min_months`` valid months), columns
        ``msl_mm`` and ``months``. ``attrs["excluded_years"]``: years of the record left
        out, with their valid months.
    """
    valid = monthly[monthly["msl_mm"].notna() & ~monthly["attention"]]
    counts = valid.groupby("year")["msl_mm"].agg(["mean", "size"])
    keep = counts["size"] >= min_months
    out = pd.DataFrame({"msl_mm": counts["mean"][keep], "months": counts["size"][keep]})
    every = range(int(monthly["year"].min()), int(monthly["year"].max()) + 1)
    sizes = counts["size"].reindex(every, fill_value=0)
    out.attrs = {"excluded_years": {int(y): int(n) for y, n in sizes.items() if n < min_months}}
    return out


@dataclass(frozen=True)
class SeaLevelTrend:
    """An ordinary-least-squares trend of annual mean sea level.

    Attributes
    ----------
    first_year, last_year, years : int
        Span and number of annual means used.
    rate_mm_per_year : float
        OLS slope.
    standard_error_mm_per_year : float
        OLS standard error (independent residuals).
    standard_error_ar1_mm_per_year : float
        Standard error with the effective sample size of lag-1 autocorrelated residuals
        (Santer et al. 2000), never below the OLS one.
    lag1_autocorrelation : float
        Of the residuals.
    standard_error_hac_mm_per_year : float
        Newey-West (HAC) standard error (:mod:`resilience.observed.trend`).
    hac_lags : int
        Its Bartlett lags, by the Newey-West rule floor(4 (n / 100)^(2/9)).
    p_value_hac : float
        Two-sided p-value of a zero trend with the HAC standard error.
    """

    first_year: int
    last_year: int
    years: int
    rate_mm_per_year: float
    standard_error_mm_per_year: float
    standard_error_ar1_mm_per_year: float
    lag1_autocorrelation: float
    standard_error_hac_mm_per_year: float
    hac_lags: int
    p_value_hac: float


def sea_level_trend(
    annual: pd.DataFrame, *, start_year: int | None = None, end_year: int | None = None
) -> SeaLevelTrend:
    """Fit a linear trend (mm/yr) with its standard error to annual means.

    Parameters
    ----------
    annual : pandas.DataFrame
        From :func:`annual_means` (index year, column ``msl_mm``).
    start_year, end_year : int, optional
        Inclusive bounds (default: the whole record).

    Returns
    -------
    SeaLevelTrend

    Raises
    ------
    ValueError
        With fewer than 5 annual means in the span.

    Notes
    -----
    b = sum((t - t_mean)(h - h_mean)) / sum((t - t_mean)^2);
    SE = sqrt(sum(e^2) / (n - 2) / sum((t - t_mean)^2)); with lag-1 autocorrelation r of
    the residuals e, n_eff = n (1 - r) / (1 + r) and SE_ar1 = SE sqrt((n - 2) / (n_eff - 2))
    (Santer et al. 2000, eqs. 4-6), used only when r > 0. The Newey-West (HAC) standard
    error is :func:`resilience.observed.trend.fit_linear_trend`'s (statsmodels).
    """
    years = annual.index.to_numpy(dtype=float)
    chosen = np.ones(years.size, dtype=bool)
    if start_year is not None:
        chosen &= years >= start_year
    if end_year is not None:
        chosen &= years <= end_year
    t, h = years[chosen], annual["msl_mm"].to_numpy(dtype=float)[chosen]
    n = t.size
    if n < 5:
        raise ValueError(f"sea_level_trend: expected at least 5 annual means, found {n}")
    dt = t - t.mean()
    rate = float(dt @ (h - h.mean()) / (dt @ dt))
    residual = h - h.mean() - rate * dt
    se = math.sqrt(residual @ residual / (n - 2) / (dt @ dt))
    r1 = float(residual[1:] @ residual[:-1] / (residual @ residual))
    n_eff = n * (1 - r1) / (1 + r1) if r1 > 0 else float(n)
    se_ar1 = se * math.sqrt((n - 2) / (n_eff - 2)) if n_eff > 2 else math.inf
    robust = fit_linear_trend(t, h)
    return SeaLevelTrend(
        first_year=int(t[0]),
        last_year=int(t[-1]),
        years=n,
        rate_mm_per_year=rate,
        standard_error_mm_per_year=se,
        standard_error_ar1_mm_per_year=max(se, se_ar1),
        lag1_autocorrelation=r1,
        standard_error_hac_mm_per_year=robust.standard_error_hac,
        hac_lags=robust.hac_lags,
        p_value_hac=robust.p_value_hac,
    )
