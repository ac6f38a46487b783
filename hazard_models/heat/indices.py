"""Yearly heat indicators from daily temperature: pure index functions (issue 5).

Every function takes daily data with a ``time`` dim in any calendar (numpy or cftime dates,
ascending) and returns one value per calendar year on a ``year`` dim, placed last. Names
follow xclim's identifiers. Results are float64 and carry ``units``, ``long_name``, ``method``
(the source) and ``history``. The NWS heat index (daily) and its yearly maximum are in
:mod:`hazard_models.heat.humid_heat`.

Missing days count as "not hot" (they break a run); a year without any valid day is NaN.
Runs of hot days are cut at the end of each calendar year: a heat wave spanning 31 December
counts in each year only with the days that fall inside it (as xclim does with ``freq="YS"``).

Speed: every index is a numpy kernel over blocks of whole years, through
:mod:`hazard_models.yearly` (no rechunking over time, no Python loop over cells or days).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import xarray as xr

from hazard_models.layer import append_history
from hazard_models.yearly import (
    Comparison,
    any_valid,
    apply_year_kernel,
    count_days,
    exceeds,
    shared,
    yearly_max,
    yearly_mean,
    yearly_sum,
)

__all__ = [
    "COOLING_BASE_DEGC",
    "HEAT_WAVE_MIN_DAYS",
    "HOT_NIGHT_THRESHOLD_DEGC",
    "apply_year_kernel",
    "cooling_degree_days",
    "count_days",
    "exceeds",
    "heat_wave_events",
    "longest_heat_wave",
    "tn_max",
    "tropical_nights",
    "tx_days_above",
    "tx_max",
    "yearly_max",
    "yearly_mean",
    "yearly_sum",
]

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


def tx_max(tasmax: xr.DataArray) -> xr.DataArray:
    """Return the yearly maximum of daily Tmax (ETCCDI TXx, xclim ``tx_max``).

    Parameters
    ----------
    tasmax : xarray.DataArray
        Daily maximum temperature, dims (..., time, ...), degC.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; degC.
    """
    return _finish(
        yearly_max(tasmax),
        units=tasmax.attrs.get("units", "degC"),
        long_name="annual maximum of Tmax",
        method="ETCCDI TXx (Zhang et al. 2011, WIREs Clim. Change 2, 851-870)",
        history="tx_max: yearly maximum of tasmax",
    )


def tn_max(tasmin: xr.DataArray) -> xr.DataArray:
    """Return the yearly maximum of daily Tmin (ETCCDI TNx, xclim ``tn_max``).

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
        yearly_max(tasmin),
        units=tasmin.attrs.get("units", "degC"),
        long_name="annual maximum of Tmin",
        method="ETCCDI TNx (Zhang et al. 2011, WIREs Clim. Change 2, 851-870)",
        history="tn_max: yearly maximum of tasmin",
    )


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
    return _finish(
        count_days(tasmax, threshold_degc, op),
        units="days",
        long_name=f"days with Tmax {op} {threshold_degc:g} degC",
        method="count of days (xclim tx_days_above); thresholds CMA / Shanghai, domain.md 1.2-1.3",
        history=f"tx_days_above: yearly count of tasmax {op} {threshold_degc:g} degC",
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
    return _finish(
        count_days(tasmin, threshold_degc, op),
        units="days",
        long_name=f"nights with Tmin {op} {threshold_degc:g} degC",
        method=(
            "count of days (xclim tropical_nights / tn_days_above); 25 degC hot-night "
            "convention of JMA (UNCONFIRMED for China; ETCCDI TR uses TN > 20 degC)"
        ),
        history=f"tropical_nights: yearly count of tasmin {op} {threshold_degc:g} degC",
    )


def _run_edges(hot: np.ndarray, min_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (first, last) windows of runs of >= ``min_days`` hot days, (year, window, cell).

    Window s covers days s .. s + min_days - 1 of the year, all hot. It is the first window of
    its run if s = 0 or day s - 1 is not hot, the last if it ends the year or the run.
    """
    n = hot.shape[1] - min_days + 1
    if n <= 0:
        empty = np.zeros((hot.shape[0], 0, hot.shape[2]), dtype=bool)
        return empty, empty
    window = hot[:, :n].copy()
    for offset in range(1, min_days):  # over the window length only (3 for heat waves)
        window &= hot[:, offset : offset + n]
    first, last = window.copy(), window.copy()
    np.greater(window[:, 1:], hot[:, : n - 1], out=first[:, 1:])  # bool a > b: a and not b
    np.greater(window[:, : n - 1], hot[:, min_days:], out=last[:, : n - 1])
    return first, last


def _shared_run_edges(
    slabs: np.ndarray, threshold: float, op: Comparison, min_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return :func:`_run_edges` of the days ``op threshold``, made once per fused block.

    The heat-wave events and the longest heat wave read the same edges (one task per block,
    ``hazard_models.yearly.shared``); callers must not modify them.
    """

    def make(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _run_edges(exceeds(days, threshold, op), min_days)

    return shared(slabs, ("run_edges", float(threshold), op, int(min_days)), make)


def _events_kernel(slabs: np.ndarray, *, threshold: float, op: Comparison, min_days: int):
    first, _ = _shared_run_edges(slabs, threshold, op, min_days)
    return np.where(any_valid(slabs), first.sum(axis=1, dtype=np.int16), np.nan)


def _longest_kernel(slabs: np.ndarray, *, threshold: float, op: Comparison, min_days: int):
    """Longest run: pair the first and last windows of each run (sparse), per (year, cell)."""
    first, last = _shared_run_edges(slabs, threshold, op, min_days)
    years, n, cells = first.shape
    starts, ends = np.flatnonzero(first), np.flatnonzero(last)  # order (year, day, cell)
    keys = [(i // (n * cells)) * cells + i % cells for i in (starts, ends)]
    key_type = np.int16 if years * cells < 2**15 else np.int64  # int16: stable radix sort
    # a stable sort by (year, cell) keeps each cell's runs in time order: k-th first, k-th last
    order = [np.argsort(k.astype(key_type), kind="stable") for k in keys]
    lengths = (ends[order[1]] // cells) % n - (starts[order[0]] // cells) % n + min_days
    longest = np.zeros(years * cells, dtype=np.int64)
    np.maximum.at(longest, keys[0][order[0]], lengths)
    return np.where(any_valid(slabs), longest.reshape(years, cells), np.nan)


def _run_index(
    tasmax: xr.DataArray, kernel: Callable, threshold_degc: float, min_days: int, op: str
) -> xr.DataArray:
    if min_days < 1 or int(min_days) != min_days:
        raise ValueError(f"min_days: expected an integer >= 1, found {min_days}")
    if op not in (">=", ">"):
        raise ValueError(f"op: expected '>=' or '>', found {op!r}")
    bound = partial(kernel, threshold=float(threshold_degc), op=op, min_days=int(min_days))
    return apply_year_kernel(tasmax, bound)


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

    Notes
    -----
    With h the hot days, a window w_s = h_s & ... & h_{s+k-1} inside one year starts an event
    where s is the year's first day or not h_{s-1}; events are counted per year.
    """
    events = _run_index(tasmax, _events_kernel, threshold_degc, min_days, op)
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

    Notes
    -----
    Only runs of >= ``min_days`` days are located (their first and last windows, see
    :func:`heat_wave_events`); the length of each is last - first + ``min_days``.
    """
    longest = _run_index(tasmax, _longest_kernel, threshold_degc, min_days, op)
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


def _cdd_kernel(slabs: np.ndarray, *, base: float) -> np.ndarray:
    # For float32 days in [base, 2 base] the float32 difference is exact (Sterbenz lemma);
    # colder days add 0 and NaN days add 0 (fmax returns the non-NaN operand).
    typed = slabs.dtype.type(base) if float(slabs.dtype.type(base)) == base else np.float64(base)
    excess = np.subtract(slabs, typed)
    np.fmax(excess, 0, out=excess)  # in place: one temporary block, not two
    return np.where(any_valid(slabs), excess.sum(axis=1, dtype=np.float64), np.nan)


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
    return _finish(
        apply_year_kernel(tas, partial(_cdd_kernel, base=float(base_degc))),
        units="K d",
        long_name=f"cooling degree days above {base_degc:g} degC",
        method=(
            "sum of max(tas - base, 0) (xclim cooling_degree_days); base 26 degC as commonly "
            "used in China (UNCONFIRMED, configurable)"
        ),
        history=f"cooling_degree_days: base {base_degc:g} degC",
    )
