"""Compare observed 1-h rain with the storm-intensity formula, and gauge trends with sea level.

Pure computation over data already read:

* :func:`compare_hourly_rain_idf`: each year's largest clock-hour rain against the 1-hour
  depths of the Shanghai formula (``hazard_models.rain.idf``): the return period the formula
  gives it, and the empirical return periods of the ranked maxima;
* :func:`gmsl_rate_mm_per_year` and :func:`compare_sea_level_trends`: PSMSL relative trends
  beside the engine's rate of relative sea-level rise (global-mean rise from the shipped AR6
  table plus the subsidence it assumes).

References
----------
Hershfield, D. M. (1961). Rainfall frequency atlas of the United States. US Weather Bureau
Technical Paper 40 (1.13: ratio of the true maximum to a fixed-interval maximum).
Langbein, W. B. (1949). Annual floods and the partial-duration flood series. Trans. AGU 30,
879-881 (T = 1 / (1 - exp(-1 / P))).
Makkonen, L. (2006). Plotting positions in extreme value analysis. J. Appl. Meteor.
Climatol. 45, 334-340 (Weibull plotting position m / (n + 1)).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hazard_models.coast.sea_level import BASELINE_MID_YEAR, sea_level_by_year
from hazard_models.rain.idf import SHANGHAI_DB31_T1043, StormFormula, storm_intensity
from resilience.observed.psmsl import SeaLevelTrend

__all__ = [
    "FORMULA_RETURN_PERIODS",
    "IdfComparison",
    "compare_hourly_rain_idf",
    "compare_sea_level_trends",
    "formula_return_period",
    "gmsl_rate_mm_per_year",
]

#: Return periods (years) at which the formula's 1-hour depth is tabulated.
FORMULA_RETURN_PERIODS = (1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)
_HOUR_MIN = 60.0


def formula_return_period(
    depth_mm: Sequence[float] | np.ndarray,
    *,
    duration_min: float = _HOUR_MIN,
    formula: StormFormula = SHANGHAI_DB31_T1043,
) -> np.ndarray:
    """Return the return period P (years) whose design depth equals ``depth_mm``.

    Notes
    -----
    D(P) = t i(P, t) with i = A1 (1 + C lg P) / (167 (t + b)^n), so
    1 + C lg P = D / D(1) and P = 10^((D / D(1) - 1) / C) (``hazard_models.rain.idf``).
    """
    unit_depth = float(storm_intensity(1.0, duration_min, formula)) * duration_min
    ratio = np.asarray(depth_mm, dtype=float) / unit_depth
    return np.power(10.0, (ratio - 1.0) / formula.c)


@dataclass(frozen=True)
class IdfComparison:
    """Observed annual 1-h maxima against the storm-intensity formula.

    Attributes
    ----------
    years : pandas.DataFrame
        Index year; ``max_1h_mm`` (after ``fixed_interval_factor``), ``complete``,
        ``formula_return_period`` (P of the formula, years), ``annual_return_period`` (P
        read as a partial-duration recurrence interval and converted to annual maxima,
        Langbein 1949), ``rank``, ``empirical_return_period`` ((n + 1) / rank, Weibull) and
        ``formula_depth_mm`` (the formula's depth at that empirical return period).
    formula_depth_mm : pandas.Series
        1-hour depth of the formula at :data:`FORMULA_RETURN_PERIODS`.
    fixed_interval_factor : float
    """

    years: pd.DataFrame
    formula_depth_mm: pd.Series
    fixed_interval_factor: float

    def summary(self) -> str:
        """Return one line with the numbers."""
        y = self.years
        complete = int(y["complete"].sum())
        ratio = float((y["max_1h_mm"] / y["formula_depth_mm"]).median())
        return (
            f"1-h rain maxima {y.index.min()}-{y.index.max()} ({complete} of {len(y)} years "
            f"complete): {y['max_1h_mm'].min():.1f}-{y['max_1h_mm'].max():.1f} mm, formula "
            f"return periods {y['formula_return_period'].min():.2f}-"
            f"{y['formula_return_period'].max():.1f} yr; observed / formula depth at the same "
            f"empirical return period: median {ratio:.2f}; formula 1-yr "
            f"{self.formula_depth_mm.loc[1.0]:.1f} mm, 5-yr {self.formula_depth_mm.loc[5.0]:.1f} mm"
        )


def compare_hourly_rain_idf(
    annual_max: pd.DataFrame,
    *,
    formula: StormFormula = SHANGHAI_DB31_T1043,
    fixed_interval_factor: float = 1.0,
) -> IdfComparison:
    """Compare annual maximum 1-h rain with the formula's 1-hour depths.

    Parameters
    ----------
    annual_max : pandas.DataFrame
        Index year, columns ``max_1h_mm`` and ``complete`` (e.g.
        :func:`resilience.observed.hourly.annual_max_hourly_rain`). Incomplete years are kept
        (their maxima are lower bounds) and flagged.
    formula : StormFormula
        Default: Shanghai DB31/T 1043-2017 (partly UNCONFIRMED, see ``hazard_models.rain.idf``).
    fixed_interval_factor : float
        Multiplier of clock-hour maxima towards true 60-minute maxima (1.0: none; 1.13 is
        Hershfield's 1961 factor for one observation interval).

    Returns
    -------
    IdfComparison
    """
    depth = annual_max["max_1h_mm"].astype(float) * fixed_interval_factor
    order = depth.rank(ascending=False, method="first").astype(int)
    empirical = (len(depth) + 1) / order
    periods = formula_return_period(depth.to_numpy())
    years = pd.DataFrame(
        {
            "max_1h_mm": depth,
            "complete": annual_max["complete"].astype(bool),
            "formula_return_period": periods,
            "annual_return_period": 1.0 / (1.0 - np.exp(-1.0 / periods)),
            "rank": order,
            "empirical_return_period": empirical,
            "formula_depth_mm": storm_intensity(empirical.to_numpy(), _HOUR_MIN, formula)
            * _HOUR_MIN,
        },
        index=annual_max.index,
    )
    table = pd.Series(
        storm_intensity(np.array(FORMULA_RETURN_PERIODS), _HOUR_MIN, formula) * _HOUR_MIN,
        index=pd.Index(FORMULA_RETURN_PERIODS, name="return_period"),
        name="depth_1h_mm",
    )
    return IdfComparison(
        years=years, formula_depth_mm=table, fixed_interval_factor=fixed_interval_factor
    )


def gmsl_rate_mm_per_year(
    sea_level: pd.DataFrame,
    scenario: str,
    *,
    end_year: float = 2020.0,
    start_year: float = BASELINE_MID_YEAR,
    quantile: float = 0.5,
) -> float:
    """Return the mean rate of global-mean sea-level rise of a projection table, mm/yr.

    Parameters
    ----------
    sea_level : pandas.DataFrame
        Columns ``scenario``, ``year``, ``quantile``, ``sea_level_rise_m`` (m vs 1995-2014),
        e.g. ``resilience/data/sea_level/ar6_gmsl_projections.csv``.
    scenario : str
    end_year, start_year : float
        Interval (default: the baseline centre 2004.5 to 2020, the part of the table that
        overlaps the gauge records best).
    quantile : float
        Quantile of the table (0.5: median).

    Returns
    -------
    float
        (rise(end) - rise(start)) / (end - start) in mm/yr, with the engine's interpolation
        (``hazard_models.coast.sea_level.sea_level_by_year``).
    """
    rise = sea_level_by_year(sea_level, [scenario], [start_year, end_year]).sel(
        scenario=scenario, quantile=quantile
    )
    return float((rise[1] - rise[0]) * 1000.0 / (end_year - start_year))


def compare_sea_level_trends(
    trends: Mapping[str, SeaLevelTrend],
    *,
    rise_mm_per_year: float,
    subsidence_mm_per_year: float,
) -> pd.DataFrame:
    """Put observed relative sea-level trends beside the engine's relative rate.

    Parameters
    ----------
    trends : mapping of str to SeaLevelTrend
        Label (e.g. "Lusi 1980-2017") -> trend (:func:`resilience.observed.psmsl.sea_level_trend`).
    rise_mm_per_year : float
        The engine's sea-level rise rate (e.g. :func:`gmsl_rate_mm_per_year`).
    subsidence_mm_per_year : float
        The land subsidence it adds (``subsidence_mm_per_year`` of the tide-station table).

    Returns
    -------
    pandas.DataFrame
        Index label; columns ``rate_mm_per_year``, ``standard_error_mm_per_year``,
        ``standard_error_ar1_mm_per_year``, ``standard_error_hac_mm_per_year`` (Newey-West),
        ``engine_mm_per_year`` (rise + subsidence), ``difference_mm_per_year`` (engine -
        observed), ``z`` (difference / AR(1) standard error) and ``z_hac`` (difference /
        Newey-West standard error).
    """
    engine = rise_mm_per_year + subsidence_mm_per_year
    rows = {
        label: {
            "first_year": t.first_year,
            "last_year": t.last_year,
            "rate_mm_per_year": t.rate_mm_per_year,
            "standard_error_mm_per_year": t.standard_error_mm_per_year,
            "standard_error_ar1_mm_per_year": t.standard_error_ar1_mm_per_year,
            "standard_error_hac_mm_per_year": t.standard_error_hac_mm_per_year,
            "engine_mm_per_year": engine,
            "difference_mm_per_year": engine - t.rate_mm_per_year,
            "z": (engine - t.rate_mm_per_year) / t.standard_error_ar1_mm_per_year,
            "z_hac": (engine - t.rate_mm_per_year) / t.standard_error_hac_mm_per_year,
        }
        for label, t in trends.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index")
