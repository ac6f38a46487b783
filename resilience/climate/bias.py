"""Bias-adjust Projections by quantile delta mapping (QDM) against an observational reference.

QDM (Cannon, Sobie & Murdock 2015) corrects the quantiles of each model towards a reference
while keeping the model's projected change in every quantile: absolute changes for
temperature (additive), relative changes for precipitation (multiplicative). It is applied
per calendar month, trained on the historical baseline of each model, and applied to every
scenario and year in windows of ``window_years`` (the projection period over which a value's
quantile is taken).

The kernel is our own vectorised numpy (no numba): ``xsdba.QuantileDeltaMapping`` gives the
same answer (``tests/resilience/climate/test_bias.py`` compares them) but costs about 8 s to import
plus 8-16 s of numba compilation per process, more than the whole adjustment of the sample.
See ``docs/bias_adjustment.md``.

References
----------
Cannon, A. J., Sobie, S. R. and Murdock, T. Q. (2015). Bias correction of GCM precipitation
by quantile mapping: how well do methods preserve changes in quantiles and extremes?
J. Climate 28, 6938-6959, doi:10.1175/JCLI-D-14-00754.1 (eqs. 2-6).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import xarray as xr

from resilience.schema import CANONICAL_UNITS, append_history, validate_projections

__all__ = ["ADJUSTMENT_KIND", "BiasAdjustmentError", "adjust_qdm", "quantile_delta_map"]

#: Additive ("+") or multiplicative ("*") QDM per variable (Cannon et al. 2015, sect. 2c:
#: ratios for bounded, positive variables such as precipitation; differences otherwise).
ADJUSTMENT_KIND: dict[str, Literal["+", "*"]] = {
    "tasmax": "+",
    "tasmin": "+",
    "tas": "+",
    "pr": "*",
    "sfcWind": "*",
}
#: Reference units we convert, as (factor, offset): canonical = raw * f + o.
#: K -> degC: -273.15 (BIPM SI Brochure); kg m-2 s-1 -> mm/day: x 86400 (1 kg m-2 = 1 mm).
_REFERENCE_UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "degC": {"degC": (1.0, 0.0), "K": (1.0, -273.15), "Celsius": (1.0, 0.0)},
    "mm/day": {"mm/day": (1.0, 0.0), "mm d-1": (1.0, 0.0), "kg m-2 s-1": (86400.0, 0.0)},
    "m/s": {"m/s": (1.0, 0.0), "m s-1": (1.0, 0.0)},
    "%": {"%": (1.0, 0.0)},
}
_GOLDEN = 0.6180339887498949  # fractional part of the golden ratio: a uniform, seedless sequence


class BiasAdjustmentError(ValueError):
    """Inputs cannot be bias-adjusted; the message names the variable or coordinate at fault."""


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


def _year_windows(years: np.ndarray, window_years: int) -> np.ndarray:
    """Return a window id per time step: runs of consecutive years cut into blocks.

    The sample's years 2021-2060 and 2081-2100 give windows 2021-2040, 2041-2060 and
    2081-2100, the AR6 horizons, when ``window_years`` is 20.
    """
    unique = np.unique(years)
    run = np.concatenate([[0], np.cumsum(np.diff(unique) != 1)])
    run_start = {r: unique[run == r][0] for r in np.unique(run)}
    block = {y: (r, (y - run_start[r]) // window_years) for y, r in zip(unique, run, strict=True)}
    ids = {key: i for i, key in enumerate(sorted(set(block.values())))}
    return np.array([ids[block[y]] for y in years.tolist()])


def _jitter_dry(values: xr.DataArray, trace: float) -> xr.DataArray:
    """Replace values below ``trace`` (dry days) by small distinct values in (0, trace).

    QDM's ratios need non-zero quantiles: zeros are replaced by uniform values below a trace
    threshold and reset to zero after the adjustment (Cannon et al. 2015, sect. 3). The
    values follow the golden-ratio sequence along time, so the result is deterministic.
    """
    step = (np.arange(values.sizes[values.dims[-1]]) + 1) * _GOLDEN % 1.0
    fill = xr.DataArray(trace * np.maximum(step, 1e-6), dims=(str(values.dims[-1]),))
    return values.where(~(values < trace), fill)


def _to_canonical(reference: xr.Dataset, variable: str) -> xr.DataArray:
    """Return a reference variable in canonical units, or raise naming what is wrong."""
    if variable not in reference.data_vars:
        raise BiasAdjustmentError(
            f"reference: variable {variable!r} missing; found {sorted(map(str, reference))}"
        )
    values = reference[variable]
    canonical = CANONICAL_UNITS[variable]
    units = str(values.attrs.get("units", ""))
    table = _REFERENCE_UNITS.get(canonical, {})
    if units not in table:
        raise BiasAdjustmentError(
            f"reference: {variable}: units {units!r}; expected one of {sorted(table)}"
        )
    factor, offset = table[units]
    return (
        (values * factor + offset).assign_attrs(units=canonical) if units != canonical else values
    )


def _check_years(time: xr.DataArray, baseline: tuple[int, int], what: str) -> None:
    """Raise unless every baseline year appears on ``time``."""
    have = set(np.unique(time.dt.year.values).tolist())
    missing = [y for y in range(baseline[0], baseline[1] + 1) if y not in have]
    if missing:
        raise BiasAdjustmentError(
            f"{what}: does not cover the baseline {baseline[0]}-{baseline[1]}; years "
            f"{missing[0]}..{missing[-1]} ({len(missing)} years) missing"
        )


def _align_space(projections: xr.Dataset, reference: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
    """Put projections and reference on the same cells: one grid, or stations' nearest cells."""
    if "station" in reference.dims:
        lat, lon = reference["lat"].values, reference["lon"].values
        for name, points, axis in (
            ("lat", lat, projections["lat"]),
            ("lon", lon, projections["lon"]),
        ):
            step = float(np.abs(np.diff(axis.values)).max()) if axis.size > 1 else 0.0
            if np.any(points < axis.min().item() - step) or np.any(
                points > axis.max().item() + step
            ):
                raise BiasAdjustmentError(f"reference: station {name} outside the projection grid")
        cells = projections.sel(
            lat=xr.DataArray(lat, dims="station"),
            lon=xr.DataArray(lon, dims="station"),
            method="nearest",
        )
        cells = cells.assign_coords(
            station=reference["station"].values,
            station_lat=("station", lat),
            station_lon=("station", lon),
        )
        return cells, reference.drop_vars(["lat", "lon"])
    for coord in ("lat", "lon"):
        if (
            coord not in reference.coords
            or reference[coord].shape != projections[coord].shape
            or not (np.allclose(reference[coord].values, projections[coord].values, atol=1e-6))
        ):
            raise BiasAdjustmentError(
                f"reference: {coord}: expected the projection grid ({projections[coord].size} "
                "cells) or a 'station' dim; regridding is out of scope"
            )
    return projections, reference.assign_coords(lat=projections["lat"], lon=projections["lon"])


def _baseline(values: xr.DataArray, baseline: tuple[int, int], name: str) -> xr.DataArray:
    """Return the baseline years of ``values`` with ``time`` renamed to ``name``."""
    years = values["time"].dt.year
    chosen = values.isel(time=((years >= baseline[0]) & (years <= baseline[1])).values)
    return chosen.rename(time=name).drop_vars(name, errors="ignore")


def _adjust_variable(
    simulated: xr.DataArray,
    reference: xr.DataArray,
    baseline: tuple[int, int],
    *,
    kind: Literal["+", "*"],
    n_quantiles: int,
    window_years: int,
    trace: float | None,
) -> xr.DataArray:
    """Adjust one variable (model, scenario, time, space...) against its reference."""
    historical = _baseline(simulated.sel(scenario="historical", drop=True), baseline, "hist_time")
    observed = _baseline(reference, baseline, "ref_time")
    if trace is not None:
        simulated, historical, observed = (
            _jitter_dry(v, trace) for v in (simulated, historical, observed)
        )
    kwargs = {
        "months": (
            _baseline(reference["time"].dt.month, baseline, "t").values,
            _baseline(simulated["time"].dt.month, baseline, "t").values,
            simulated["time"].dt.month.values,
        ),
        "windows": _year_windows(simulated["time"].dt.year.values, window_years),
        "kind": kind,
        "n_quantiles": n_quantiles,
    }
    if simulated.chunks is not None:
        simulated, historical, observed = (
            v.chunk({d: -1})
            for v, d in ((simulated, "time"), (historical, "hist_time"), (observed, "ref_time"))
        )
    adjusted = xr.apply_ufunc(
        _kernel,
        observed,
        historical,
        simulated,
        input_core_dims=[["ref_time"], ["hist_time"], ["time"]],
        output_core_dims=[["time"]],
        dask="parallelized",
        output_dtypes=[np.float32],
        kwargs=kwargs,
        keep_attrs=False,
    ).transpose(*simulated.dims)
    if trace is not None:
        adjusted = adjusted.where(~(adjusted < trace), np.float32(0.0))
    return adjusted


def _kernel(
    reference: np.ndarray,
    historical: np.ndarray,
    simulated: np.ndarray,
    *,
    months: tuple[np.ndarray, np.ndarray, np.ndarray],
    windows: np.ndarray,
    kind: Literal["+", "*"],
    n_quantiles: int,
) -> np.ndarray:
    """Run :func:`quantile_delta_map` on one block and return float32."""
    adjusted = quantile_delta_map(
        reference,
        historical,
        simulated,
        months=months,
        windows=windows,
        kind=kind,
        n_quantiles=n_quantiles,
    )
    return adjusted.astype(np.float32)


def adjust_qdm(
    projections: xr.Dataset,
    reference: xr.Dataset,
    *,
    variables: Sequence[str],
    baseline: tuple[int, int] = (1995, 2014),
    n_quantiles: int = 50,
    window_years: int = 20,
    pr_trace_mm_per_day: float = 0.05,
) -> xr.Dataset:
    """Bias-adjust Projections by quantile delta mapping per calendar month.

    Parameters
    ----------
    projections : xarray.Dataset
        Projections contract: dims ``(model, scenario, time, lat, lon)``, canonical units,
        with a ``historical`` scenario covering ``baseline``. May be dask-backed and
        NaN-padded (years a scenario lacks are NaN and stay NaN).
    reference : xarray.Dataset
        Observed daily series of ``variables`` covering ``baseline``: either on the
        projection grid (dims ``time, lat, lon``; regridding is out of scope) or station
        series (dims ``time, station`` with ``lat`` and ``lon`` coords on ``station``), each
        compared with its nearest cell. Units canonical, or K / kg m-2 s-1 (converted).
    variables : sequence of str
        Variables to adjust; additive for ``tasmax``, ``tasmin``, ``tas``, multiplicative
        for ``pr`` and ``sfcWind`` (``ADJUSTMENT_KIND``). Others are returned unchanged.
    baseline : tuple of int
        First and last training year (AR6 baseline 1995-2014).
    n_quantiles : int
        Quantile nodes ``(k + 0.5) / n`` per month (xsdba's default is 20).
    window_years : int
        Length of the projection windows in which a value's quantile is taken (20: the AR6
        horizons of the sample).
    pr_trace_mm_per_day : float
        Dry-day threshold: ``pr`` below it is jittered before and set to 0 after the
        adjustment (0.05 mm/day, UNCONFIRMED as Cannon et al.'s exact value; configurable).

    Returns
    -------
    xarray.Dataset
        Same dims, coords, units and dtype (float32); on stations, dims ``(model, scenario,
        time, station)`` with the cells' ``lat``/``lon`` and ``station_lat``/``station_lon``.
        Adjusted variables and the Dataset get ``bias_adjustment`` and a ``history`` line.

    Raises
    ------
    BiasAdjustmentError
        If a variable is missing from either input or has no QDM kind, the reference or the
        ``historical`` projections do not cover ``baseline``, units are unknown, or the
        reference is on another grid.

    Notes
    -----
    Cannon et al. (2015), eqs. 2-6, per calendar month m and window w: with
    tau = F_sim,w,m(x), additive ``x + F_ref,m^-1(tau) - F_hist,m^-1(tau)`` and
    multiplicative ``x * F_ref,m^-1(tau) / F_hist,m^-1(tau)``.
    """
    _check_inputs(projections, reference, variables, baseline)
    projections, reference = _align_space(projections, reference)
    out = projections.copy()
    for variable in variables:
        kind = ADJUSTMENT_KIND[variable]
        adjusted = _adjust_variable(
            projections[variable],
            _to_canonical(reference, variable),
            baseline,
            kind=kind,
            n_quantiles=n_quantiles,
            window_years=window_years,
            trace=pr_trace_mm_per_day if variable == "pr" else None,
        )
        note = _describe(kind, baseline, n_quantiles, window_years, reference)
        attrs = append_history(dict(projections[variable].attrs), f"adjust_qdm: {note}")
        out[variable] = adjusted.assign_attrs(attrs, bias_adjustment=note)
    summary = ", ".join(f"{v} ({ADJUSTMENT_KIND[v]})" for v in variables)
    append_history(out.attrs, f"adjust_qdm: quantile delta mapping of {summary}")
    out.attrs["bias_adjustment"] = _describe("+/*", baseline, n_quantiles, window_years, reference)
    if str(reference.attrs.get("synthetic", "no")).lower() == "yes":
        out.attrs["synthetic"] = "yes"
    if "station" not in out.dims:
        validate_projections(out)
    return out


def _describe(
    kind: str, baseline: tuple[int, int], n_quantiles: int, window_years: int, reference: xr.Dataset
) -> str:
    """Return the ``bias_adjustment`` attribute text."""
    title = reference.attrs.get("title", "untitled reference")
    return (
        f"quantile delta mapping (Cannon, Sobie & Murdock 2015, J. Climate 28, 6938-6959), "
        f"kind {kind}, per calendar month, {n_quantiles} quantiles, trained on "
        f"{baseline[0]}-{baseline[1]}, applied in {window_years}-year windows; reference: {title}"
    )


def _check_inputs(
    projections: xr.Dataset,
    reference: xr.Dataset,
    variables: Sequence[str],
    baseline: tuple[int, int],
) -> None:
    """Raise BiasAdjustmentError for anything adjust_qdm cannot use, before any work."""
    if not variables:
        raise BiasAdjustmentError("variables: expected at least one variable to adjust")
    for variable in variables:
        if variable not in ADJUSTMENT_KIND:
            raise BiasAdjustmentError(
                f"variables: no QDM kind for {variable!r}; expected some of "
                f"{sorted(ADJUSTMENT_KIND)}"
            )
        if variable not in projections.data_vars:
            raise BiasAdjustmentError(f"projections: variable {variable!r} missing")
        _to_canonical(reference, variable)
    if "historical" not in projections["scenario"].values.tolist():
        raise BiasAdjustmentError(
            "projections: scenario 'historical' missing; expected it to train on the baseline"
        )
    if baseline[0] > baseline[1]:
        raise BiasAdjustmentError(f"baseline: expected (first, last) year, found {baseline}")
    _check_years(projections["time"], baseline, "projections")
    if "time" not in reference.dims:
        raise BiasAdjustmentError("reference: expected a 'time' dim")
    _check_years(reference["time"], baseline, "reference")
