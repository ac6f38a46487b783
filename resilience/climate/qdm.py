"""Quantile delta mapping on numpy arrays: the kernel of :func:`resilience.climate.bias.adjust_qdm`.

Per calendar month and projection window, a value's quantile tau in its window is mapped by
the reference-minus-model (additive) or reference-over-model (multiplicative) change of the
training quantiles at tau (Cannon, Sobie & Murdock 2015, J. Climate 28, 6938-6959, eqs.
2-6). Our own vectorised numpy: xsdba's ``QuantileDeltaMapping`` gives the same answer
(tests/resilience/climate/test_bias.py) at the cost of seconds of import and numba
compilation (docs/bias_adjustment.md). :func:`year_windows` assigns the windows.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np

__all__ = ["quantile_delta_map", "year_windows"]


def _month_quantiles(values: np.ndarray, months: np.ndarray, n_quantiles: int) -> np.ndarray:
    """Return empirical quantiles per month, dims (..., month=12, quantile); NaN ignored.

    Quantile nodes are ``(k + 0.5) / n`` (the nodes of ``xsdba.utils.equally_spaced_nodes``)
    and use numpy's default linear interpolation between order statistics. An all-NaN cell
    gives NaN (numpy's "All-NaN slice" warning is silenced).
    """
    nodes = (np.arange(n_quantiles) + 0.5) / n_quantiles
    out = np.full((*values.shape[:-1], 12, n_quantiles), np.nan)
    for month in range(12):
        sel = values[..., months == month + 1]
        if sel.shape[-1]:
            with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
                out[..., month, :] = np.moveaxis(np.nanquantile(sel, nodes, axis=-1), 0, -1)
    return out


def _ecdf(values: np.ndarray) -> np.ndarray:
    """Return each value's plotting position ``(rank + 0.5) / n`` along the last axis; NaN kept."""
    valid = ~np.isnan(values)
    ranks = np.argsort(np.argsort(np.where(valid, values, np.inf), axis=-1), axis=-1)
    count = valid.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = (ranks + 0.5) / count
    return np.where(valid, tau, np.nan)


def _interp_nodes(table: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Interpolate a quantile table (..., quantile) at ``tau`` (..., time) along the last axis.

    Nodes are ``(k + 0.5) / n``; beyond the end nodes the end values are kept (constant
    extrapolation, as xsdba's default).
    """
    n = table.shape[-1]
    position = np.clip(np.nan_to_num(tau, nan=0.5) * n - 0.5, 0.0, n - 1.0)
    lower = np.minimum(np.floor(position).astype(int), n - 2) if n > 1 else np.zeros_like(tau)
    weight = position - lower
    table = np.broadcast_to(table, (*tau.shape[:-1], n))
    low = np.take_along_axis(table, lower.astype(int), axis=-1)
    high = np.take_along_axis(table, np.minimum(lower.astype(int) + 1, n - 1), axis=-1)
    return low + weight * (high - low)


def quantile_delta_map(
    reference: np.ndarray,
    historical: np.ndarray,
    simulated: np.ndarray,
    *,
    months: tuple[np.ndarray, np.ndarray, np.ndarray],
    windows: np.ndarray,
    kind: Literal["+", "*"],
    n_quantiles: int = 50,
) -> np.ndarray:
    """Apply QDM per calendar month along the last axis of numpy arrays.

    Parameters
    ----------
    reference, historical, simulated : numpy.ndarray
        Observed baseline, modelled baseline and the series to adjust; time is the last axis,
        leading axes broadcast against each other. NaN is ignored in training and kept.
    months : tuple of numpy.ndarray
        Calendar month (1-12) of each time step of the three arrays.
    windows : numpy.ndarray
        Window id of each time step of ``simulated``; a value's quantile is its rank among
        the same month's values of its window.
    kind : {"+", "*"}
        Additive or multiplicative QDM.
    n_quantiles : int
        Number of quantile nodes ``(k + 0.5) / n`` per month.

    Returns
    -------
    numpy.ndarray
        ``simulated`` adjusted, float64, broadcast shape.

    Notes
    -----
    With tau = F_sim,window(x) (Cannon et al. 2015, eqs. 2-6): additive
    ``x + F_ref^-1(tau) - F_hist^-1(tau)``; multiplicative
    ``x * F_ref^-1(tau) / F_hist^-1(tau)``.
    """
    ref_q = _month_quantiles(reference, months[0], n_quantiles)
    hist_q = _month_quantiles(historical, months[1], n_quantiles)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = ref_q - hist_q if kind == "+" else ref_q / hist_q
    shape = np.broadcast_shapes(reference.shape[:-1], historical.shape[:-1], simulated.shape[:-1])
    simulated = np.broadcast_to(simulated, (*shape, simulated.shape[-1]))
    factor = np.broadcast_to(factor, (*shape, 12, n_quantiles))
    out = np.full(simulated.shape, np.nan)
    for window in np.unique(windows):
        for month in range(12):
            sel = np.flatnonzero((windows == window) & (months[2] == month + 1))
            if not sel.size:
                continue
            values = simulated[..., sel]
            step = _interp_nodes(factor[..., month, :], _ecdf(values))
            out[..., sel] = values + step if kind == "+" else values * step
    return out


def year_windows(
    years: np.ndarray,
    window_years: int,
    periods: Sequence[tuple[int, int]] = (),
) -> np.ndarray:
    """Return a window id per time step: given periods first, then runs cut into blocks.

    A year inside one of ``periods`` (e.g. the AR6 horizons) belongs to that period's window;
    the other years are cut into runs of consecutive years and each run into blocks of
    ``window_years``. The sample's years 2021-2060 and 2081-2100 give windows 2021-2040,
    2041-2060 and 2081-2100, the AR6 horizons, when ``window_years`` is 20; with the
    horizons as ``periods`` the years 2015-2020 before them form a window of their own.
    """
    period_of = {
        y: ("period", i) for i, (a, b) in enumerate(periods) for y in range(int(a), int(b) + 1)
    }
    rest = np.unique([y for y in years.tolist() if y not in period_of])
    block: dict[int, tuple] = {}
    if rest.size:
        run = np.concatenate([[0], np.cumsum(np.diff(rest) != 1)])
        run_start = {r: rest[run == r][0] for r in np.unique(run)}
        block = {
            int(y): ("run", int(r), int((y - run_start[r]) // window_years))
            for y, r in zip(rest, run, strict=True)
        }
    key = {**{int(y): k for y, k in period_of.items()}, **block}
    ids = {k: i for i, k in enumerate(sorted(set(key[int(y)] for y in np.unique(years))))}
    return np.array([ids[key[int(y)]] for y in years.tolist()])
