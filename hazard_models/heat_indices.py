"""Yearly heat indicators from daily temperature: pure index functions (issue 5).

Every function takes daily data with a ``time`` dim in any calendar (numpy or cftime dates,
ascending) and returns one value per calendar year on a ``year`` dim (``heat_index`` is the
exception: it is daily). Names follow xclim's identifiers. Results carry ``units``,
``long_name``, ``method`` (the source) and ``history``. Inputs may be dask-backed; the
reductions run chunk by chunk over space with a single ``numpy.ufunc.reduceat`` per chunk,
so there is no Python loop over cells or years.

Missing days count as "not hot" (they break a run); a year without any valid day is NaN.
Runs of hot days are cut at the end of each calendar year: a heat wave spanning 31 December
counts in each year only with the days that fall inside it (as xclim does with ``freq="YS"``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from hazard_models._horizon_stats import apply_by_year, reduce_by_year
from hazard_models.layer import append_history

__all__ = [
    "COOLING_BASE_DEGC",
    "HEAT_WAVE_MIN_DAYS",
    "HOT_NIGHT_THRESHOLD_DEGC",
    "cooling_degree_days",
    "heat_index",
    "heat_wave_events",
    "longest_heat_wave",
    "tn_max",
    "tropical_nights",
    "tx_days_above",
]

Comparison = Literal[">", ">="]

#: Hot night: daily minimum temperature >= 25 degC (the "tropical night" of the Japan
#: Meteorological Agency and of much East-Asian heat-health work). ETCCDI's TR index uses
#: TN > 20 degC (Zhang et al. 2011), too low for Shanghai, where most summer nights pass it.
#: The Chinese definition of a hot night is not confirmed in domain.md: UNCONFIRMED,
#: configurable through ``threshold_degc``.
HOT_NIGHT_THRESHOLD_DEGC = 25.0

#: Heat wave: at least 3 consecutive days with Tmax >= 35 degC, the CMA high-temperature
#: criterion ("daily max >= 35 degC on 3 consecutive days", domain.md 1.2).
HEAT_WAVE_MIN_DAYS = 3
_HEAT_WAVE_THRESHOLD_DEGC = 35.0

#: Base temperature of cooling degree days. Chinese building-energy practice commonly uses
#: 26 degC (e.g. GB 50189 / JGJ 134 degree-day conventions); this is UNCONFIRMED in
#: domain.md and therefore configurable through ``base_degc``. xclim's default is 18 degC.
COOLING_BASE_DEGC = 26.0


def _finish(
    result: xr.DataArray, *, units: str, long_name: str, method: str, history: str
) -> xr.DataArray:
    """Return ``result`` with the index attributes and one ``history`` line."""
    attrs = {"units": units, "long_name": long_name, "method": method}
    return result.assign_attrs(append_history(attrs, history))


def _exceeds(daily: xr.DataArray, threshold: float, op: Comparison) -> xr.DataArray:
    """Return 1.0 where ``daily op threshold``, 0.0 where not, NaN where ``daily`` is NaN."""
    hot = daily >= threshold if op == ">=" else daily > threshold
    return hot.where(daily.notnull())


def tx_days_above(
    tasmax: xr.DataArray, threshold_degc: float = 35.0, *, op: Comparison = ">="
) -> xr.DataArray:
    """Return the yearly number of days with Tmax above a threshold.

    Parameters
    ----------
    tasmax : xarray.DataArray
        Daily maximum temperature, dims (..., time, ...), degC.
    threshold_degc : float
        Threshold in degC: 35, 37 and 40 are the CMA high-temperature day and the Shanghai
        orange and red signal levels (domain.md 1.2-1.3).
    op : {">=", ">"}
        Comparison; ">=" (default) follows the CMA wording "daily max >= 35 degC".

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; units "days".
    """
    count = reduce_by_year(_exceeds(tasmax, threshold_degc, op), "sum")
    return _finish(
        count,
        units="days",
        long_name=f"days with Tmax {op} {threshold_degc:g} degC",
        method="count of days (xclim tx_days_above); thresholds CMA / Shanghai, domain.md 1.2-1.3",
        history=f"tx_days_above: yearly count of tasmax {op} {threshold_degc:g} degC",
    )


def tn_max(tasmin: xr.DataArray) -> xr.DataArray:
    """Return the yearly maximum of daily Tmin (ETCCDI TNx).

    Parameters
    ----------
    tasmin : xarray.DataArray
        Daily minimum temperature, dims (..., time, ...), degC.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; degC.
    """
    return _finish(
        reduce_by_year(tasmin, "max"),
        units=tasmin.attrs.get("units", "degC"),
        long_name="annual maximum of Tmin",
        method="ETCCDI TNx (Zhang et al. 2011, WIREs Clim. Change 2, 851-870)",
        history="tn_max: yearly maximum of tasmin",
    )


def tropical_nights(
    tasmin: xr.DataArray,
    threshold_degc: float = HOT_NIGHT_THRESHOLD_DEGC,
    *,
    op: Comparison = ">=",
) -> xr.DataArray:
    """Return the yearly number of hot nights (Tmin at or above a threshold).

    Parameters
    ----------
    tasmin : xarray.DataArray
        Daily minimum temperature, dims (..., time, ...), degC.
    threshold_degc : float
        Default 25 degC (:data:`HOT_NIGHT_THRESHOLD_DEGC`, UNCONFIRMED for China); ETCCDI TR
        is ``threshold_degc=20, op=">"``.
    op : {">=", ">"}
        Comparison.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; units "days".
    """
    count = reduce_by_year(_exceeds(tasmin, threshold_degc, op), "sum")
    return _finish(
        count,
        units="days",
        long_name=f"nights with Tmin {op} {threshold_degc:g} degC",
        method=(
            "count of days (xclim tropical_nights / tn_days_above); 25 degC hot-night "
            "convention of JMA (UNCONFIRMED for China; ETCCDI TR uses TN > 20 degC)"
        ),
        history=f"tropical_nights: yearly count of tasmin {op} {threshold_degc:g} degC",
    )


def _run_kernel(hot: np.ndarray, starts: np.ndarray, min_days: int, how: str) -> np.ndarray:
    """Reduce runs of ``hot`` (1/0/NaN, last axis time) per year; runs reset at year starts."""
    valid = ~np.isnan(hot)
    flags = np.where(valid, hot, 0.0) > 0
    counts = np.cumsum(flags, axis=-1)
    resets = np.where(flags, 0, counts)
    before_start = np.take(counts, np.maximum(starts - 1, 0), axis=-1)
    before_start[..., starts == 0] = 0
    resets[..., starts] = np.maximum(resets[..., starts], before_start)
    run: np.ndarray = counts - np.maximum.accumulate(resets, axis=-1)
    if how == "events":  # each run of >= min_days passes through min_days exactly once
        reduced = np.add.reduceat(run == min_days, starts, axis=-1).astype(float)
    else:
        longest = np.maximum.reduceat(run, starts, axis=-1).astype(float)
        reduced = np.where(longest >= min_days, longest, 0.0)
    any_valid = np.logical_or.reduceat(valid, starts, axis=-1)
    return np.where(any_valid, reduced, np.nan)


def _runs_by_year(
    hot: xr.DataArray, min_days: int, how: Literal["events", "longest"]
) -> xr.DataArray:
    """Apply :func:`_run_kernel` over the ``time`` dim, lazily for dask input."""
    if min_days < 1:
        raise ValueError(f"min_days: expected an integer >= 1, found {min_days}")
    return apply_by_year(hot, _run_kernel, min_days=int(min_days), how=how)


def heat_wave_events(
    tasmax: xr.DataArray,
    threshold_degc: float = _HEAT_WAVE_THRESHOLD_DEGC,
    min_days: int = HEAT_WAVE_MIN_DAYS,
    *,
    op: Comparison = ">=",
) -> xr.DataArray:
    """Return the yearly number of heat waves: runs of >= ``min_days`` hot days.

    Parameters
    ----------
    tasmax : xarray.DataArray
        Daily maximum temperature, dims (..., time, ...), degC.
    threshold_degc : float
        Hot-day threshold, degC; default 35 (CMA, domain.md 1.2).
    min_days : int
        Minimum run length, days; default 3 (CMA high-temperature criterion).
    op : {">=", ">"}
        Comparison.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; units "1" (count of events). A run crossing
        31 December is cut there and counts in a year only if its part there is long enough.
    """
    events = _runs_by_year(_exceeds(tasmax, threshold_degc, op), min_days, "events")
    return _finish(
        events,
        units="1",
        long_name=f"heat waves ({min_days}+ days with Tmax {op} {threshold_degc:g} degC)",
        method=(
            "count of runs (xclim hot_spell_frequency); CMA high-temperature criterion "
            ">= 35 degC on 3 consecutive days (domain.md 1.2); runs cut at year end"
        ),
        history=f"heat_wave_events: runs >= {min_days} d of tasmax {op} {threshold_degc:g}",
    )


def longest_heat_wave(
    tasmax: xr.DataArray,
    threshold_degc: float = _HEAT_WAVE_THRESHOLD_DEGC,
    min_days: int = HEAT_WAVE_MIN_DAYS,
    *,
    op: Comparison = ">=",
) -> xr.DataArray:
    """Return the yearly length of the longest heat wave (0 if no run reaches ``min_days``).

    Parameters
    ----------
    tasmax : xarray.DataArray
        Daily maximum temperature, dims (..., time, ...), degC.
    threshold_degc : float
        Hot-day threshold, degC; default 35 (CMA, domain.md 1.2).
    min_days : int
        Shortest run that counts as a heat wave, days; default 3. ``min_days=1`` gives the
        longest run of hot days (xclim ``maximum_consecutive_tx_days``).
    op : {">=", ">"}
        Comparison.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; units "days". Runs are cut at year end.
    """
    longest = _runs_by_year(_exceeds(tasmax, threshold_degc, op), min_days, "longest")
    return _finish(
        longest,
        units="days",
        long_name=f"longest run of Tmax {op} {threshold_degc:g} degC (>= {min_days} days)",
        method=(
            "longest run (xclim hot_spell_max_length); CMA high-temperature criterion "
            "(domain.md 1.2); runs cut at year end"
        ),
        history=f"longest_heat_wave: tasmax {op} {threshold_degc:g}, min {min_days} d",
    )


def cooling_degree_days(tas: xr.DataArray, base_degc: float = COOLING_BASE_DEGC) -> xr.DataArray:
    """Return the yearly cooling degree days above a base temperature.

    Parameters
    ----------
    tas : xarray.DataArray
        Daily mean temperature, dims (..., time, ...), degC.
    base_degc : float
        Base temperature, degC; default 26 (:data:`COOLING_BASE_DEGC`, UNCONFIRMED).

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; units "K d".

    Notes
    -----
    CDD = sum over the days of the year of max(tas - base, 0) (xclim cooling_degree_days;
    ASHRAE Handbook of Fundamentals, ch. 14, degree-day method).
    """
    excess = (tas - base_degc).clip(min=0.0)
    return _finish(
        reduce_by_year(excess, "sum"),
        units="K d",
        long_name=f"cooling degree days above {base_degc:g} degC",
        method=(
            "sum of max(tas - base, 0) (xclim cooling_degree_days); base 26 degC as commonly "
            "used in China (UNCONFIRMED, configurable)"
        ),
        history=f"cooling_degree_days: base {base_degc:g} degC",
    )


def _rothfusz_degf(temp_f: xr.DataArray, rh: xr.DataArray) -> xr.DataArray:
    """Return the NWS heat index in degF (Rothfusz 1990 with the NWS adjustments)."""
    full = (
        -42.379
        + 2.04901523 * temp_f
        + 10.14333127 * rh
        - 0.22475541 * temp_f * rh
        - 6.83783e-3 * temp_f**2
        - 5.481717e-2 * rh**2
        + 1.22874e-3 * temp_f**2 * rh
        + 8.5282e-4 * temp_f * rh**2
        - 1.99e-6 * temp_f**2 * rh**2
    )
    in_dry_band = (rh < 13) & (temp_f > 80) & (temp_f < 112)
    dry = ((13 - rh) / 4) * np.sqrt(((17 - abs(temp_f - 95)) / 17).clip(min=0))
    full = full - dry.where(in_dry_band, 0.0)
    humid = ((rh - 85) / 10) * ((87 - temp_f) / 5)
    full = full + humid.where((rh > 85) & (temp_f > 80) & (temp_f < 87), 0.0)
    simple = 0.5 * (temp_f + 61.0 + (temp_f - 68.0) * 1.2 + rh * 0.094)
    return xr.where((simple + temp_f) / 2 >= 80, full, (simple + temp_f) / 2)


def heat_index(tas: xr.DataArray, hurs: xr.DataArray) -> xr.DataArray:
    """Return the US NWS heat index (apparent temperature) of each day.

    Parameters
    ----------
    tas : xarray.DataArray
        Near-surface air temperature (daily mean or maximum), any dims, degC.
    hurs : xarray.DataArray
        Relative humidity, same dims, % (0-100).

    Returns
    -------
    xarray.DataArray
        Heat index, same dims as the inputs (daily, not yearly), degC.

    Notes
    -----
    Computed in degF: first the simple formula HI = 0.5 (T + 61 + 1.2 (T - 68) + 0.094 RH);
    if its mean with T is >= 80 degF, the Rothfusz (1990) regression with the NWS low- and
    high-humidity adjustments is used instead.

    References
    ----------
    Rothfusz, L. P. (1990), The heat index "equation", NWS Southern Region Technical
    Attachment SR 90-23; NWS Weather Prediction Center, "The Heat Index Equation",
    https://www.wpc.ncep.noaa.gov/html/heatindex_equation.shtml
    """
    temp_f = tas * 9.0 / 5.0 + 32.0
    index_f = _rothfusz_degf(temp_f, hurs)
    result = ((index_f - 32.0) * 5.0 / 9.0).where(tas.notnull() & hurs.notnull())
    return _finish(
        result,
        units="degC",
        long_name="heat index",
        method="US NWS heat index, Rothfusz (1990) regression with NWS adjustments (WPC)",
        history="heat_index: NWS Rothfusz regression from tas and hurs",
    )
