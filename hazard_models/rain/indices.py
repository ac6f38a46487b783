"""Yearly rainstorm indicators from daily precipitation: Rx5day, days over, R95pTOT, SDII.

Pure index functions over daily ``pr`` (mm/day, dim ``time`` in any calendar, other dims
free), each returning one value per calendar year on a ``year`` dim (last) with ``units``,
``long_name``, a cited ``method`` and a ``history`` line. The per-year numpy kernels run
through :func:`hazard_models.heat.indices.apply_year_kernel` on ``(year, day, cell)`` slabs,
one dask block of whole years at a time, so dask input stays lazy and is never rechunked over
time (except for the base-period percentile, which needs every day of a cell at once).
Definitions follow the ETCCDI indices (Zhang et al. 2011, WIREs Clim. Change 2, 851-870;
https://etccdi.pacificclimate.org/list_27_indices.shtml) and the CMA precipitation grades
(GB/T 28592-2012).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, Literal

import numpy as np
import xarray as xr

from hazard_models.layer import append_history
from hazard_models.yearly import (
    apply_year_kernel,
    block_min,
    count_days,
    exceeds,
    shared,
)

__all__ = [
    "HEAVY_RAINSTORM_THRESHOLD_MM",
    "RAINSTORM_THRESHOLD_MM",
    "WET_DAY_MM",
    "days_over",
    "max_n_day_precipitation",
    "r95ptot",
    "sdii",
    "wet_day_percentile",
]

#: CMA rainstorm (暴雨): 24-h precipitation >= 50 mm (GB/T 28592-2012, precipitation grades).
RAINSTORM_THRESHOLD_MM = 50.0
#: CMA heavy rainstorm (大暴雨): 24-h precipitation >= 100 mm (GB/T 28592-2012).
HEAVY_RAINSTORM_THRESHOLD_MM = 100.0
#: ETCCDI wet day: daily precipitation >= 1 mm (Zhang et al. 2011).
WET_DAY_MM = 1.0

_ETCCDI = "ETCCDI (Zhang et al. 2011, WIREs Clim. Change 2, 851-870)"
PercentileMethod = Literal["median_unbiased", "linear"]
R95pOutput = Literal["fraction", "amount"]


def _finish(yearly: xr.DataArray, attrs: Mapping[str, object], history: str) -> xr.DataArray:
    """Return ``yearly`` with exactly ``attrs`` plus a ``history`` line."""
    return yearly.assign_attrs(append_history(dict(attrs), history))


def _check_daily(pr: xr.DataArray) -> None:
    """Raise ValueError unless ``pr`` is a DataArray with a ``time`` dim."""
    if not isinstance(pr, xr.DataArray) or "time" not in pr.dims:
        dims = pr.dims if isinstance(pr, xr.DataArray) else type(pr).__name__
        raise ValueError(f"pr: expected a DataArray with a daily 'time' dim, found {dims}")


def _window_sums(slabs: np.ndarray, window: int, dtype: type) -> np.ndarray:
    """Return the ``window``-day sums starting on each day, within each year (year, day, cell)."""
    n = slabs.shape[1] - window + 1
    total = np.add(slabs[:, :n], slabs[:, 1 : 1 + n], dtype=dtype)
    for offset in range(2, window):  # over the window length only
        np.add(total, slabs[:, offset : offset + n], out=total)
    return total


def _largest_window_exactly(slabs: np.ndarray, window: int) -> np.ndarray:
    """Return the largest float64 window sum of non-negative float32 data, (year, cell).

    Float32 sums find the candidates at half the memory traffic, and only the candidates are
    added again in float64. A float32 sum of w non-negative terms is within a relative
    (w - 1) u / (1 - (w - 1) u) < w u of the exact sum (u = 2**-24; Higham 2002, Accuracy and
    Stability of Numerical Algorithms, eq. 4.4), so the window with the largest exact sum has
    a float32 sum of at least (1 - 2 w u) times the largest float32 sum.
    """
    sums = _window_sums(slabs, window, np.float32)
    years, n, cells = sums.shape
    floor = np.fmax.reduce(sums, axis=1).astype(np.float64) * (1 - 2 * window * 2.0**-24)
    floor32 = floor.astype(np.float32)  # compare in float32 against a floor rounded down
    floor32 = np.where(floor32 > floor, np.nextafter(floor32, np.float32(-np.inf)), floor32)
    hits = np.flatnonzero(sums >= floor32[:, None, :])  # NaN sums and all-NaN years: none
    year, rest = np.divmod(hits, n * cells)
    start, cell = np.divmod(rest, cells)
    flat = slabs.reshape(-1)  # a view for the contiguous slabs of time-first blocks
    first = (year * slabs.shape[1] + start) * cells + cell
    exact = flat[first].astype(np.float64)
    for offset in range(1, window):  # the same order as the float64 path
        exact += flat[first + offset * cells]
    largest = np.full(years * cells, np.nan)
    np.fmax.at(largest, year * cells + cell, exact)
    return largest.reshape(years, cells)


def _smallest_valid(slabs: np.ndarray) -> Any:
    """Return the smallest non-NaN value of ``slabs`` (NaN if all are NaN)."""
    low = block_min(slabs)  # shared with the other kernels of the block; NaN if a day is NaN
    return np.fmin.reduce(slabs, axis=None) if np.isnan(low) else low


def _window_max_kernel(slabs: np.ndarray, *, window: int) -> np.ndarray:
    """Return the largest ``window``-day sum of each (year, cell); windows stay in the year."""
    if window == 1:
        return np.fmax.reduce(slabs, axis=1).astype(np.float64)
    if slabs.shape[1] < window:
        return np.full((slabs.shape[0], slabs.shape[2]), np.nan)
    if slabs.dtype == np.float32 and not _smallest_valid(slabs) < 0:
        return _largest_window_exactly(slabs, window)
    # float64 (or negative) data: every window in float64; a window with a NaN day is skipped
    return np.fmax.reduce(_window_sums(slabs, window, np.float64), axis=1)


def max_n_day_precipitation(pr: xr.DataArray, window_days: int = 5) -> xr.DataArray:
    """Return the largest ``window_days``-day precipitation total of each calendar year.

    Parameters
    ----------
    pr : xarray.DataArray
        Daily precipitation, dims (..., time, ...), mm/day, ``time`` ascending, any calendar.
    window_days : int
        Length of the running window, days (>= 1); 5 gives ETCCDI Rx5day, 1 gives Rx1day.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; mm. Only windows that lie wholly inside one
        calendar year count; a window with a missing day is skipped; NaN for a year with no
        complete window.

    Raises
    ------
    ValueError
        If ``pr`` has no ``time`` dim or ``window_days`` < 1.

    Notes
    -----
    Rx{n}day_j = max_i sum_{k=i-n+1}^{i} RR_k over the windows of year j. xclim's
    ``max_n_day_precipitation_amount`` also lets a window start in the previous year; here
    windows stay within the year, as the brief of issue 5 asks.

    References
    ----------
    ETCCDI Rx5day (Zhang et al. 2011, WIREs Clim. Change 2, 851-870).
    """
    _check_daily(pr)
    if window_days < 1:
        raise ValueError(f"window_days: expected an integer >= 1, found {window_days}")
    sums = apply_year_kernel(pr, partial(_window_max_kernel, window=int(window_days)))
    attrs = {
        "units": "mm",
        "long_name": f"annual maximum {window_days}-day precipitation total",
        "method": f"{_ETCCDI} Rx{window_days}day; windows within the calendar year",
        "window_days": int(window_days),
    }
    history = f"max_n_day_precipitation: yearly maximum of {window_days}-day sums of pr"
    return _finish(sums, attrs, history)


def days_over(pr: xr.DataArray, threshold_mm: float = RAINSTORM_THRESHOLD_MM) -> xr.DataArray:
    """Return the number of days per calendar year with precipitation >= ``threshold_mm``.

    Parameters
    ----------
    pr : xarray.DataArray
        Daily precipitation, dims (..., time, ...), mm/day.
    threshold_mm : float
        Daily amount, mm; 50 is a CMA rainstorm day (:data:`RAINSTORM_THRESHOLD_MM`), 100 a
        heavy rainstorm day (:data:`HEAVY_RAINSTORM_THRESHOLD_MM`).

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; units "days". Missing days count as not
        over; NaN for a year with no valid day.

    References
    ----------
    GB/T 28592-2012 precipitation grades (China Meteorological Administration); ETCCDI
    R10mm/R20mm/Rnnmm count days >= nn mm the same way (Zhang et al. 2011).
    """
    _check_daily(pr)
    over = count_days(pr, threshold_mm, ">=")
    attrs = {
        "units": "days",
        "long_name": f"days with daily precipitation >= {threshold_mm:g} mm",
        "method": (
            f"count of days with pr >= {threshold_mm:g} mm/day (CMA rainstorm >= 50 mm, heavy "
            f"rainstorm >= 100 mm, GB/T 28592-2012; ETCCDI Rnnmm)"
        ),
        "threshold_mm": float(threshold_mm),
    }
    history = f"days_over: yearly count of pr >= {threshold_mm:g} mm/day"
    return _finish(over, attrs, history)


#: Virtual (0-based) index of the q quantile among n sorted values, as numpy computes it:
#: Hyndman & Fan (1996) type 8 (alpha = beta = 1/3) and type 7 ((n - 1) q).
_VIRTUAL_INDEX = {
    "median_unbiased": lambda n, q: n * q + (1 / 3.0 + q * (1 - 1 / 3.0 - 1 / 3.0)) - 1,
    "linear": lambda n, q: (n - 1) * q,
}


def _wet_quantile_kernel(
    values: np.ndarray, *, q: float, wet_day_mm: float, method: PercentileMethod
) -> np.ndarray:
    """Return numpy's ``nanquantile`` of the wet days of each row (..., time), vectorised.

    numpy's ``nanquantile`` loops over cells in Python (``apply_along_axis``); here every row
    is sorted at once (its n wet days then form one run, after its dry days and before its
    NaN days) and numpy's interpolation is replayed in float64 within that run: the virtual
    index h of :data:`_VIRTUAL_INDEX`, clamped to [0, n - 1], then numpy's two-sided linear
    interpolation between the neighbours of h. The result equals ``numpy.nanquantile`` of
    the float64 values bit for bit. Sorting the raw rows instead of a copy with dry days set
    to NaN took 15.3 ms instead of 20.2 ms for 13 x 25 cells x 7,300 float32 days.
    """
    rows = values.reshape(-1, values.shape[-1])
    count = exceeds(rows, wet_day_mm, ">=").sum(axis=-1)
    # Sorted, a row is its dry days, then its wet days (all >= wet_day_mm > any dry day), then
    # its NaN days: the wet days start at n_valid - count, without a masked copy to sort.
    ranked = np.sort(rows, axis=-1)
    missing = rows.size and np.isnan(rows.max())
    valid = rows.shape[-1] - (np.isnan(rows).sum(axis=-1) if missing else 0)
    first = valid - count
    virtual = _VIRTUAL_INDEX[method](count, q)
    lower = np.floor(virtual)
    above, below = virtual >= count - 1, virtual < 0
    lower = np.where(above, count - 1, np.where(below, 0, lower))
    upper = np.where(above | below, lower, lower + 1)
    gamma = virtual - np.where(above, -1, lower)  # numpy's gamma when it clamps to the top
    take = np.clip(np.stack([lower, upper]) + first, 0, rows.shape[-1] - 1).astype(np.intp)
    low, high = (
        np.take_along_axis(ranked, t[:, None], axis=-1)[:, 0].astype(np.float64) for t in take
    )
    step = high - low
    result = np.where(gamma >= 0.5, high - step * (1 - gamma), low + step * gamma)
    return np.where(count > 0, result, np.nan).reshape(values.shape[:-1])


def _whole_series_chunks(pr: xr.DataArray) -> dict[str, Any]:
    """Return chunks with the whole ``time`` axis and cell blocks nested in the input's.

    Cell chunks are halved (largest first) until a block of the whole series fits dask's
    ``array.chunk-size``. Nesting matters for memory: each output block then needs the
    daily blocks of one input cell block only, so a scheduler can finish one input cell
    block before it reads the next; ``"auto"`` chunks straddle the input's blocks and tie
    them all together (the baseline percentile then held the whole grid's baseline days:
    2.7x the memory for 4x the cells, docs/scaling.md).
    """
    import dask

    limit = dask.utils.parse_bytes(dask.config.get("array.chunk-size"))
    per_cell = pr.sizes["time"] * pr.dtype.itemsize
    chunks = {str(d): list(pr.chunksizes[d]) for d in pr.dims if d != "time"}
    while True:
        block = per_cell * int(np.prod([max(c) for c in chunks.values()] or [1]))
        widest = max(chunks, key=lambda d: max(chunks[d]), default=None)
        if block <= limit or widest is None or max(chunks[widest]) == 1:
            break
        chunks[widest] = [part for c in chunks[widest] for part in (c - c // 2, c // 2) if part]
    return {"time": -1, **{d: tuple(c) for d, c in chunks.items()}}


def wet_day_percentile(
    pr: xr.DataArray,
    q: float = 0.95,
    *,
    wet_day_mm: float = WET_DAY_MM,
    method: PercentileMethod = "median_unbiased",
) -> xr.DataArray:
    """Return the ``q`` quantile of wet-day precipitation over the whole (base) period.

    Parameters
    ----------
    pr : xarray.DataArray
        Daily precipitation of the base period (ETCCDI: 1961-1990), dims (..., time, ...),
        mm/day. Cut it to the base years before the call.
    q : float
        Quantile in (0, 1); 0.95 for R95pTOT, 0.99 for R99pTOT.
    wet_day_mm : float
        Wet-day threshold, mm; ETCCDI uses 1 mm.
    method : {"median_unbiased", "linear"}
        numpy quantile method. "median_unbiased" is Hyndman & Fan (1996) type 8, the
        estimator of climdex.pcic (the ETCCDI reference code); "linear" is type 7.

    Returns
    -------
    xarray.DataArray
        Dims of ``pr`` without ``time``; mm/day. NaN where the base period has no wet day.

    Raises
    ------
    ValueError
        If ``pr`` has no ``time`` dim or ``q`` is outside (0, 1).
    """
    _check_daily(pr)
    if not 0.0 < q < 1.0:
        raise ValueError(f"q: expected a quantile in (0, 1), found {q}")
    if method not in _VIRTUAL_INDEX:
        raise ValueError(f"method: expected one of {sorted(_VIRTUAL_INDEX)}, found {method!r}")
    if pr.chunks is not None:  # every day of a cell in one block, cells nested in the input's
        pr = pr.chunk(_whole_series_chunks(pr))
    percentile = xr.apply_ufunc(
        _wet_quantile_kernel,
        pr.drop_vars("time"),
        input_core_dims=[["time"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        kwargs={"q": float(q), "wet_day_mm": float(wet_day_mm), "method": method},
    )
    attrs = {
        "units": "mm/day",
        "long_name": f"{q:g} quantile of wet-day (>= {wet_day_mm:g} mm) precipitation",
        "method": (
            f"{_ETCCDI} base-period percentile of wet days; quantile estimator {method} "
            "(Hyndman & Fan 1996)"
        ),
        "quantile": float(q),
        "wet_day_mm": float(wet_day_mm),
    }
    history = f"wet_day_percentile: {q:g} quantile of pr on days >= {wet_day_mm:g} mm"
    return _finish(percentile, attrs, history)


def _wet_amounts(slabs: np.ndarray, *, wet_day_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Return pr on wet days (0 on other days; slabs' dtype) and the wet days per (year, cell).

    ``fmax(pr, 0)`` (which turns NaN days into 0, as NaN x False is NaN) is taken only when
    the block has a NaN or negative day.
    """
    wet = exceeds(slabs, wet_day_mm, ">=")
    if not (slabs.size and block_min(slabs) >= 0):  # min is NaN if a day is NaN
        slabs = np.fmax(slabs, 0)
    return slabs * wet, wet.sum(axis=1, dtype=np.int16)


def _wet_days(slabs: np.ndarray, wet_day_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Return :func:`_wet_amounts`, computed once per block for SDII and R95pTOT."""
    make = partial(_wet_amounts, wet_day_mm=wet_day_mm)
    return shared(slabs, ("wet_amounts", float(wet_day_mm)), make)


def _wet_total(slabs: np.ndarray, wet_day_mm: float, amounts: np.ndarray) -> np.ndarray:
    """Return the float64 sum of the wet-day ``amounts`` per (year, cell), once per block."""

    def make(_: np.ndarray) -> np.ndarray:
        return amounts.sum(axis=1, dtype=np.float64)

    return shared(slabs, ("wet_total", float(wet_day_mm)), make)


def _above_limit(threshold: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Return per-cell limits of ``dtype`` such that ``x > limit`` iff ``x > threshold``.

    For float32 data the float64 threshold is rounded down to the largest float32 <= it (the
    per-cell form of :func:`hazard_models.yearly.exceeds`), so the comparison runs in float32
    instead of up-casting the whole block; NaN stays NaN (selects nothing).
    """
    with np.errstate(over="ignore"):
        limit = threshold.astype(dtype)
    down = np.nextafter(limit, dtype.type(-np.inf))
    return np.where(limit > threshold, down, limit)


def _very_wet_kernel(
    slabs: np.ndarray, p95: np.ndarray, *, wet_day_mm: float, output: R95pOutput
) -> np.ndarray:
    """Return R95p (mm) or R95p / PRCPTOT per (year, cell); sums in float64.

    Very wet days are read off the wet-day amounts (0 on other days, so that a day below
    ``wet_day_mm`` adds 0 whether it passes the percentile or not).
    """
    amounts = _wet_days(slabs, wet_day_mm)[0]
    very_wet = amounts > _above_limit(np.asarray(p95, dtype=np.float64), slabs.dtype)
    amount = (amounts * very_wet).sum(axis=1, dtype=np.float64)  # NaN p95 selects none
    if output == "amount":
        return np.where(np.isnan(np.fmax.reduce(slabs, axis=1)), np.nan, amount)
    total = _wet_total(slabs, wet_day_mm, amounts)
    return amount / np.where(total > 0, total, np.nan)


def r95ptot(
    pr: xr.DataArray,
    reference_p95: xr.DataArray,
    *,
    output: R95pOutput = "fraction",
    wet_day_mm: float = WET_DAY_MM,
) -> xr.DataArray:
    """Return the precipitation of very wet days per calendar year (ETCCDI R95p / R95pTOT).

    Parameters
    ----------
    pr : xarray.DataArray
        Daily precipitation, dims (..., time, ...), mm/day.
    reference_p95 : xarray.DataArray
        Base-period 95th percentile of wet days (:func:`wet_day_percentile`), mm/day, dims
        of ``pr`` without ``time`` (broadcast against ``pr``).
    output : {"fraction", "amount"}
        "fraction": R95p / PRCPTOT, units "1" (ETCCDI R95pTOT is the same x 100, in %);
        "amount": R95p in mm.
    wet_day_mm : float
        Wet-day threshold, mm; ETCCDI uses 1 mm.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``. The fraction is NaN for a year with no wet
        day; missing days add nothing.

    Raises
    ------
    ValueError
        If ``pr`` has no ``time`` dim, or ``reference_p95`` has one.

    Notes
    -----
    R95p_j = sum RR_wj over wet days (RR >= 1 mm) with RR_wj > RR_wn95, and
    PRCPTOT_j = sum RR_wj over wet days; R95pTOT = R95p / PRCPTOT.

    References
    ----------
    ETCCDI R95p and R95pTOT (Zhang et al. 2011, WIREs Clim. Change 2, 851-870).
    """
    _check_daily(pr)
    if "time" in reference_p95.dims:
        raise ValueError(
            f"reference_p95: expected a per-cell percentile without 'time', "
            f"found dims {reference_p95.dims}"
        )
    if output not in ("fraction", "amount"):
        raise ValueError(f"output: expected 'fraction' or 'amount', found {output!r}")
    kernel = partial(_very_wet_kernel, wet_day_mm=float(wet_day_mm), output=output)
    try:
        amount = apply_year_kernel(pr, kernel, reference_p95)
    except ValueError as err:
        raise ValueError(f"reference_p95: expected the cells of pr ({err})") from err
    if output == "amount":
        attrs = {"units": "mm", "long_name": "precipitation on very wet days (R95p)"}
        label = "R95p"
    else:
        attrs = {"units": "1", "long_name": "fraction of wet-day precipitation on very wet days"}
        label = "R95pTOT (as a fraction, not %)"
    attrs["method"] = (
        f"{_ETCCDI} {label}: pr on days >= {wet_day_mm:g} mm and > the base-period wet-day "
        "95th percentile"
    )
    attrs["wet_day_mm"] = f"{wet_day_mm:g}"
    return _finish(amount, attrs, f"r95ptot: yearly {label} of pr")


def _intensity_kernel(slabs: np.ndarray, *, wet_day_mm: float) -> np.ndarray:
    amounts, count = _wet_days(slabs, wet_day_mm)
    total = _wet_total(slabs, wet_day_mm, amounts)  # NaN days add 0
    return total / np.where(count > 0, count, np.nan)


def sdii(pr: xr.DataArray, *, wet_day_mm: float = WET_DAY_MM) -> xr.DataArray:
    """Return the simple daily intensity index: mean precipitation on wet days of each year.

    Parameters
    ----------
    pr : xarray.DataArray
        Daily precipitation, dims (..., time, ...), mm/day.
    wet_day_mm : float
        Wet-day threshold, mm; ETCCDI uses 1 mm.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; mm/day. NaN for a year with no wet day.

    Notes
    -----
    SDII_j = sum RR_wj / W, over the W wet days (RR >= 1 mm) of year j.

    References
    ----------
    ETCCDI SDII (Zhang et al. 2011, WIREs Clim. Change 2, 851-870).
    """
    _check_daily(pr)
    intensity = apply_year_kernel(pr, partial(_intensity_kernel, wet_day_mm=float(wet_day_mm)))
    attrs = {
        "units": "mm/day",
        "long_name": f"mean daily precipitation on wet days (>= {wet_day_mm:g} mm)",
        "method": f"{_ETCCDI} SDII: sum of pr on wet days / number of wet days",
        "wet_day_mm": float(wet_day_mm),
    }
    return _finish(intensity, attrs, f"sdii: yearly mean pr on days >= {wet_day_mm:g} mm")
