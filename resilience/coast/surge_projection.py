"""Rows of a surge report: future levels per scenario and horizon, and degradation years.

For one gauge's GEV (referred to the 1995-2014 sea level) and a sea-level-rise table, this
module computes the rows of :class:`resilience.coast.surge_models.SurgeReport`: the return levels
under the rise quantiles and integrated over the uncertain rise, allowances (numerical and
Hunter's 2012 Gumbel form), amplification factors (Buchanan et al. 2017), and the first year
in which each defence standard degrades (``docs/surge.md`` section 4). No I/O; levels are on
the record's datum (the report shifts them to the output datum).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from resilience.coast.surge_models import (
    DegradationRow,
    FutureLevel,
    GaugeRecord,
    ProjectionRow,
    SurgeOptions,
)

__all__ = ["degradation_rows", "projection_rows", "return_levels_m", "standard_levels"]

Gev = tuple[float, float, float]


def _spread(quantiles: np.ndarray) -> tuple[int, int, int, tuple[float, float]]:
    """Return indices (low, median, high) of a rise table and the probabilities of low/high.

    The pair of :func:`hazard_models.coast.sea_level.likely_quantiles`; a median-only table gives
    low = high = median at the nominal likely range (a certain rise).
    """
    from hazard_models.coast.sea_level import LIKELY_RANGE, likely_quantiles

    values = [round(float(q), 6) for q in quantiles]
    median = values.index(0.5)
    pair = likely_quantiles(values)
    if pair is None:
        return median, median, median, LIKELY_RANGE
    return values.index(pair[0]), median, values.index(pair[1]), pair


def return_levels_m(gev: Gev, periods: np.ndarray) -> np.ndarray:
    """Return today's return levels (m) of ``periods`` (years) under ``gev`` (Coles eq. 3.4)."""
    from hazard_models.extremes.gev import return_level

    return np.asarray(return_level(*gev, periods), dtype=float)


def _row(
    gev: Gev,
    rise_m: tuple[float, float, float],
    *,
    horizon: Any,
    scenario: str,
    quantiles: tuple[float, float],
    options: SurgeOptions,
) -> ProjectionRow:
    """Return the row of one scenario and horizon; ``rise_m`` = (low, median, high), m."""
    from hazard_models.coast.allowance import (
        amplification_factor,
        future_return_level,
        hunter_allowance,
    )
    from hazard_models.coast.sea_level import rise_distribution

    low, median, high = rise_m
    rise = rise_distribution(median, low, high, shape=options.rise_shape, quantiles=quantiles)
    normal = rise_distribution(median, low, high, shape="normal", quantiles=quantiles)
    periods = np.asarray(options.return_periods, dtype=float)
    today = return_levels_m(gev, periods)
    integrated = future_return_level(gev, periods, rise, averaging=options.averaging)
    levels = [
        FutureLevel(
            return_period=float(t),
            likely_low_m=float(z + low),
            median_rise_m=float(z + median),
            likely_high_m=float(z + high),
            integrated_m=float(zi),
            allowance_m=float(zi - z),
        )
        for t, z, zi in zip(periods, today, integrated, strict=True)
    ]
    factor = amplification_factor(
        gev, rise, return_period=options.amplification_return_period, averaging=options.averaging
    )
    return ProjectionRow(
        scenario=scenario,
        horizon=horizon.name,
        mid_year=horizon.mid_year,
        rise_median_m=float(median),
        rise_likely_low_m=float(low),
        rise_likely_high_m=float(high),
        rise_sd_below_m=float(rise.sd_below_m),
        rise_sd_above_m=float(rise.sd_above_m),
        hunter_allowance_m=float(hunter_allowance(normal.mean_m, normal.sd_above_m, gev[1])),
        amplification_factor=float(factor),
        levels=levels,
    )


def projection_rows(
    gev: Gev, sea_level: pd.DataFrame, *, options: SurgeOptions, subsidence: float
) -> list[ProjectionRow]:
    """Return one row per scenario and horizon (levels on the record's datum).

    Parameters
    ----------
    gev : tuple of float
        (loc m, scale m, shape) of today's annual maxima.
    sea_level : pandas.DataFrame
        Sea-level-rise table (``scenario, year, quantile, sea_level_rise_m``; m).
    options : SurgeOptions
        Scenarios, horizons, return periods, rise shape and averaging.
    subsidence : float
        Land subsidence, mm/yr (positive = sinking), added as a certain rise.
    """
    from hazard_models.coast.sea_level import sea_level_at, vertical_land_motion
    from hazard_models.horizon import horizon_by_name

    horizons = [horizon_by_name(name) for name in options.horizons]
    rise = sea_level_at(sea_level, options.scenarios, horizons)
    low, mid, high, quantiles = _spread(rise["quantile"].values)
    rows = []
    for scenario in options.scenarios:
        for horizon in horizons:
            land = float(vertical_land_motion(subsidence, horizon.mid_year))
            values = rise.sel(scenario=scenario, horizon=horizon.name).values + land
            triple = (float(values[low]), float(values[mid]), float(values[high]))
            rows.append(
                _row(
                    gev,
                    triple,
                    horizon=horizon,
                    scenario=scenario,
                    quantiles=quantiles,
                    options=options,
                )
            )
    return rows


def _rise_by_year(
    sea_level: pd.DataFrame, *, options: SurgeOptions, subsidence: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """Return the years 2005..last table year and each scenario's RiseDistribution over them."""
    from hazard_models.coast.sea_level import (
        rise_distribution,
        sea_level_by_year,
        vertical_land_motion,
    )

    years = np.arange(2005, int(sea_level["year"].max()) + 1, dtype=float)
    by_year = sea_level_by_year(sea_level, options.scenarios, years)
    low, mid, high, quantiles = _spread(by_year["quantile"].values)
    land = vertical_land_motion(subsidence, years)
    rises = {}
    for scenario in options.scenarios:
        table = by_year.sel(scenario=scenario).values
        rises[scenario] = rise_distribution(
            table[:, mid],
            table[:, low],
            table[:, high],
            shape=options.rise_shape,
            quantiles=quantiles,
        ).shifted(land)
    return years, rises


def degradation_rows(
    gev: Gev,
    standards: list[tuple[str, float, float]],
    sea_level: pd.DataFrame,
    *,
    options: SurgeOptions,
    subsidence: float,
) -> list[DegradationRow]:
    """Return the degradation year of each (label, level m, nominal return period) standard.

    A standard of T years is degraded in the first year (2005 to the table's last, annual
    steps) in which its level becomes a T / ``options.degradation_factor`` event
    (:func:`hazard_models.coast.allowance.degradation_year`).
    """
    from hazard_models.coast.allowance import degradation_year, future_return_period
    from hazard_models.coast.sea_level import rise_distribution

    years, rises = _rise_by_year(sea_level, options=options, subsidence=subsidence)
    today = rise_distribution(0.0, 0.0, 0.0)
    rows = []
    for label, level, nominal in standards:
        target = nominal / options.degradation_factor
        found: dict[str, int | None] = {}
        for scenario, rise in rises.items():
            year = degradation_year(
                level,
                gev,
                rise,
                years=years,
                target_return_period=target,
                averaging=options.averaging,
            )
            found[scenario] = None if math.isnan(year) else int(year)
        rows.append(
            DegradationRow(
                label=label,
                level_m=level,
                current_return_period_years=float(future_return_period(level, gev, today)),
                degraded_to_years=target,
                year_by_scenario=found,
            )
        )
    return rows


def standard_levels(
    gev: Gev, record: GaugeRecord, options: SurgeOptions
) -> list[tuple[str, float, float]]:
    """Return (label, level m, nominal return period) of each standard to degrade.

    Today's ``options.standards``-year levels, plus the gauge's documented design level (the
    1984 standard, domain.md 2.1) when the record has one.
    """
    periods = np.asarray(options.standards, dtype=float)
    levels = return_levels_m(gev, periods)
    standards = [
        (f"{t:g}-yr today", float(z), float(t)) for t, z in zip(periods, levels, strict=True)
    ]
    if record.design_level_m is not None and math.isfinite(record.design_level_m):
        standards.append(("1000-yr design 1984", record.design_level_m, 1000.0))
    return standards
