"""Per-horizon ensemble statistics of yearly indicators: quantiles, change and robustness.

For each horizon the daily Projections are cut to the horizon's years and to the scenarios
that cover them (``historical`` for the baseline, the SSPs otherwise). Every
:class:`Indicator` turns that daily slice into one value per model, scenario, year and cell;
then, per model,

* an *extreme* indicator (a yearly maximum) is fitted with a GEV over the horizon's years and
  summarised by its return levels, and all models pooled give the ``{name}_gev_*`` parameters
  of ``docs/decisions.md`` D2;
* any other indicator is averaged over the horizon's years.

Across models the layer keeps quantiles (``quantile`` dim) of the value, the quantiles of the
change against the baseline horizon (``{name}_change``: a difference, or a percentage for
``change="relative"``), and the robustness of that change (``{name}_robustness``): the
fraction of models whose change has the sign of the majority, as in the model-agreement
hatching of IPCC AR6 WGI (Chapter 4 and the Atlas, "robust" when at least 80 % of models
agree on the sign). Changes are computed per model before the quantiles are taken, so the
median change is not the difference of medians. The baseline horizon is repeated under every
output scenario; its change is 0 and its robustness undefined (NaN).

Everything stays lazy for dask input: the yearly kernels map over the input's blocks of whole
years without rechunking, all indicators of a block in one task
(:func:`hazard_models.yearly.one_task_per_block`), so that each block is reduced and
released as soon as it is read, and only the small yearly arrays are gathered for the fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr

from hazard_models.extremes.gev import return_levels
from hazard_models.extremes.gev_fit import fit_gev
from hazard_models.extremes.regional import fit_gev_regional
from hazard_models.horizon import HISTORICAL, Horizon
from hazard_models.horizon_stats import HorizonRequest, ShapePooling, with_attrs
from hazard_models.layer import DIM_ORDER, SchemaError, horizon_coords
from hazard_models.yearly import one_task_per_block

__all__ = ["Indicator", "horizon_daily", "summarise_indicators"]

ChangeKind = Literal["absolute", "relative"]
#: Share of models that must agree on the sign for a change to be called robust (IPCC AR6
#: WGI Atlas, "simple approach": 80 %); recorded in the robustness variable's attributes.
ROBUST_AGREEMENT = 0.8


@dataclass(frozen=True)
class Indicator:
    """One yearly indicator of a hazard layer and how to summarise it.

    Attributes
    ----------
    name : str
        Output variable name (xclim's identifier where one exists).
    compute : callable
        Daily Projections slice (``xarray.Dataset``, dims model, scenario, time, lat, lon) ->
        yearly values with a ``year`` dim.
    units : str
        Units of the value.
    long_name : str
        CF long name of the summarised value.
    method : str
        How the value is computed, with its source.
    change : {"absolute", "relative"}
        Change against the baseline as a difference (units ``change_units``) or in percent.
    change_units : str
        Units of an absolute change (e.g. "K" for a temperature, CF convention for
        differences); ignored for relative changes ("%").
    extreme : bool
        True for a yearly maximum summarised by GEV return levels.
    subject : str
        For extremes: what the GEV is fitted to, e.g. "annual maximum of daily Tmax".
    """

    name: str
    compute: Callable[[xr.Dataset], xr.DataArray]
    units: str
    long_name: str
    method: str
    change: ChangeKind = "absolute"
    change_units: str = ""
    extreme: bool = False
    subject: str = ""


def horizon_daily(
    projections: xr.Dataset, horizon: Horizon, scenarios: Sequence[str]
) -> xr.Dataset:
    """Return the daily data of ``horizon``: its years and the scenarios that cover them.

    Dask chunks are kept: the yearly kernels map over blocks of whole years (one file per
    year in the Projections layout), so every block is reduced right after it is read.

    Raises
    ------
    SchemaError
        If a needed scenario is absent or no day falls in the horizon's years.
    """
    wanted = [HISTORICAL] if horizon.is_baseline else list(scenarios)
    present = [str(s) for s in projections["scenario"].values]
    if any(s not in present for s in wanted):
        raise SchemaError(
            f"projections: horizon {horizon.name!r} needs scenarios {wanted}, found {present}"
        )
    years = projections["time"].dt.year.values
    inside = np.flatnonzero((years >= horizon.start) & (years <= horizon.end))
    if inside.size == 0:
        raise SchemaError(
            f"projections: time: expected years {horizon.start}-{horizon.end} for horizon "
            f"{horizon.name!r}, found {years.min()}-{years.max()}"
        )
    # A horizon's days are contiguous: a slice keeps dask blocks as views (an index array
    # would copy every block).
    daily = projections.sel(scenario=wanted).isel(time=slice(inside[0], inside[-1] + 1))
    return daily


def _fit(annual_maxima: xr.DataArray, dim: str, pooling: ShapePooling) -> xr.Dataset:
    if pooling == "site":
        return fit_gev(annual_maxima, dim=dim)
    return fit_gev_regional(annual_maxima, dim=dim, index_flood=pooling == "index_flood")


def _per_model(
    daily: xr.Dataset, indicators: Sequence[Indicator], request: HorizonRequest
) -> dict[str, xr.DataArray]:
    """Return per-model summaries of one horizon (and pooled GEV parameters of extremes)."""
    out: dict[str, xr.DataArray] = {}
    values = one_task_per_block(lambda: {i.name: i.compute(daily) for i in indicators})
    for indicator in indicators:
        yearly = values[indicator.name]
        if not indicator.extreme:
            out[indicator.name] = yearly.mean("year")
            continue
        fitted = _fit(yearly, "year", request.shape_pooling)
        out[indicator.name] = return_levels(fitted, request.return_periods)
        stacked = yearly.stack(sample=("model", "year"))
        pooled = _fit(stacked, "sample", request.shape_pooling)
        for param in ("loc", "scale", "shape"):
            out[f"{indicator.name}_gev_{param}"] = pooled[param]
    return out


def _nanquantile_last(values: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """Return quantiles over the last axis, placed last; NaN skipped, all-NaN -> NaN.

    Linear interpolation between order statistics (Hyndman & Fan 1996 type 7, numpy's and
    xarray's default), vectorised: ``numpy.nanquantile`` falls back to a Python loop over
    every slice as soon as one value is NaN.
    """
    ordered = np.sort(values, axis=-1)  # NaN sorts last
    count = np.sum(~np.isnan(ordered), axis=-1, keepdims=True)
    out = []
    for q in quantiles:
        position = (count - 1) * q
        low = np.clip(np.floor(position).astype(int), 0, max(ordered.shape[-1] - 1, 0))
        high = np.clip(low + 1, 0, max(ordered.shape[-1] - 1, 0))
        high = np.minimum(high, np.maximum(count - 1, 0))
        below = np.take_along_axis(ordered, low, axis=-1)
        above = np.take_along_axis(ordered, high, axis=-1)
        value = below + (above - below) * (position - low)
        out.append(np.where(count > 0, value, np.nan)[..., 0])
    return np.stack(out, axis=-1)


def _change_values(value: np.ndarray, baseline: np.ndarray, kind: ChangeKind) -> np.ndarray:
    """Return the per-model change of ``value`` against ``baseline`` (difference or %)."""
    if kind == "absolute":
        return value - baseline
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(baseline != 0, 100.0 * (value / baseline - 1.0), np.nan)


def _robustness_values(change: np.ndarray) -> np.ndarray:
    """Return the fraction of models whose change has the majority's sign (0.5-1, NaN)."""
    valid = np.sum(~np.isnan(change), axis=-1)
    agree = np.maximum(np.sum(change > 0, axis=-1), np.sum(change < 0, axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(valid > 0, agree / valid, np.nan)


def _summary_kernel(
    value: np.ndarray,
    baseline: np.ndarray,
    *,
    quantiles: Sequence[float],
    kind: ChangeKind,
    is_baseline: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantiles of the value and of the change, and robustness, over ``model`` (last)."""
    change = _change_values(value, baseline, kind)
    if is_baseline:
        change = np.where(np.isnan(change), np.nan, 0.0)
    robust = _robustness_values(change)
    if is_baseline:
        robust = np.full_like(robust, np.nan)
    return (
        _nanquantile_last(value, quantiles),
        _nanquantile_last(change, quantiles),
        robust,
    )


def _model_quantiles(per_model: xr.DataArray, quantiles: Sequence[float]) -> xr.DataArray:
    """Return quantiles across the ``model`` dim (linear interpolation, NaN skipped)."""
    return _across_models(
        _nanquantile_last, [per_model], [["quantile"]], len(quantiles), quantiles=quantiles
    ).assign_coords(quantile=list(quantiles))


def _across_models(
    kernel: Callable, arrays: list[xr.DataArray], outputs: list[list[str]], n_q: int, **kw: object
) -> Any:
    """Run a numpy ``kernel`` over the ``model`` dim of ``arrays`` as one dask task per chunk."""
    arrays = [a.chunk({"model": -1}) if a.chunks is not None else a for a in arrays]
    return xr.apply_ufunc(
        kernel,
        *arrays,
        input_core_dims=[["model"]] * len(arrays),
        output_core_dims=outputs,
        dask="parallelized",
        output_dtypes=[np.float64] * len(outputs),
        dask_gufunc_kwargs={"output_sizes": {"quantile": n_q}},
        kwargs=kw,
    )


def _value_change_robustness(
    value: xr.DataArray,
    baseline: xr.DataArray,
    indicator: Indicator,
    request: HorizonRequest,
    is_baseline: bool,
) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Return quantiles of the value and of its change, and the robustness, in one pass."""
    quantiles = request.quantiles
    q, change, robust = _across_models(
        _summary_kernel,
        [value, baseline],
        [["quantile"], ["quantile"], []],
        len(quantiles),
        quantiles=quantiles,
        kind=indicator.change,
        is_baseline=is_baseline,
    )
    coords = {"quantile": list(quantiles)}
    return q.assign_coords(coords), change.assign_coords(coords), robust


def _under_scenarios(stat: xr.DataArray, scenarios: Sequence[str]) -> xr.DataArray:
    """Repeat a baseline statistic (scenario = historical) under every output scenario."""
    base = stat.sel(scenario=HISTORICAL, drop=True)
    return base.expand_dims(scenario=list(scenarios))


def _stack(per_horizon: list[xr.DataArray], horizons: Sequence[Horizon]) -> xr.DataArray:
    """Concatenate per-horizon statistics on ``horizon`` in the HazardLayer dim order."""
    stacked = xr.concat(per_horizon, dim="horizon", join="exact", coords="minimal")
    stacked = stacked.drop_vars("horizon", errors="ignore").assign_coords(horizon_coords(horizons))
    return stacked.transpose(*[d for d in DIM_ORDER if d in stacked.dims])


def _summaries(
    indicator: Indicator,
    per_horizon: list[dict[str, xr.DataArray]],
    request: HorizonRequest,
) -> dict[str, list[xr.DataArray]]:
    """Return the value, change and robustness of one indicator for every horizon."""
    names = [h.name for h in request.horizons]
    baseline = None
    if "baseline" in names:
        baseline = per_horizon[names.index("baseline")][indicator.name]
        baseline = baseline.sel(scenario=HISTORICAL, drop=True)
    out: dict[str, list[xr.DataArray]] = {"": [], "_change": [], "_robustness": []}
    for horizon, stats in zip(request.horizons, per_horizon, strict=True):
        value = stats[indicator.name]
        if horizon.is_baseline:
            value = _under_scenarios(value, request.scenarios)
        if baseline is None:
            out[""].append(_model_quantiles(value, request.quantiles))
            continue
        parts = _value_change_robustness(value, baseline, indicator, request, horizon.is_baseline)
        for suffix, part in zip(("", "_change", "_robustness"), parts, strict=True):
            out[suffix].append(part)
    return out


def _attributes(indicator: Indicator, suffix: str) -> tuple[str, str, str]:
    """Return units, long name and method of the value, change or robustness variable."""
    if suffix == "":
        return indicator.units, indicator.long_name, indicator.method
    if suffix == "_change":
        units = (
            "%" if indicator.change == "relative" else (indicator.change_units or indicator.units)
        )
        kind = "relative change (%)" if indicator.change == "relative" else "change"
        method = (
            f"{kind} of each model against its own baseline (1995-2014), then quantiles "
            f"across models; value: {indicator.method}"
        )
        return units, f"{kind} of {indicator.long_name} against the baseline", method
    method = (
        "fraction of models whose change against the baseline has the sign of the majority "
        f"(IPCC AR6 WGI model agreement; robust when >= {ROBUST_AGREEMENT:g}); NaN for the "
        "baseline"
    )
    return "1", f"model agreement on the sign of the change of {indicator.long_name}", method


def summarise_indicators(
    projections: xr.Dataset,
    indicators: Sequence[Indicator],
    *,
    request: HorizonRequest,
    gev_method: str = "",
) -> dict[str, xr.DataArray]:
    """Return every layer variable of ``indicators``, stacked on a ``horizon`` dim.

    Parameters
    ----------
    projections : xarray.Dataset
        Daily Projections, dims (model, scenario, time, lat, lon), any calendar; may be lazy.
    indicators : sequence of Indicator
        What to compute; extreme indicators are fitted with a GEV.
    request : HorizonRequest
        Horizons, scenarios, return periods, quantiles and GEV shape pooling.
    gev_method : str
        ``method`` text of the pooled ``{name}_gev_*`` parameters.

    Returns
    -------
    dict of str to xarray.DataArray
        ``{name}`` (quantile; extremes also return_period), ``{name}_change`` (same dims; only
        when the baseline horizon is requested), ``{name}_robustness`` (no quantile dim) and,
        for extremes, ``{name}_gev_loc``, ``_scale``, ``_shape`` (pooled models); dims in the
        HazardLayer order with the ``horizon`` coordinates, attributes per the contract.
    """
    per_horizon = [
        _per_model(horizon_daily(projections, h, request.scenarios), indicators, request)
        for h in request.horizons
    ]
    result: dict[str, xr.DataArray] = {}
    for indicator in indicators:
        for suffix, values in _summaries(indicator, per_horizon, request).items():
            if values:
                units, long_name, method = _attributes(indicator, suffix)
                stacked = _stack(values, request.horizons)
                result[indicator.name + suffix] = with_attrs(stacked, units, long_name, method)
        if not indicator.extreme:
            continue
        for param in ("loc", "scale", "shape"):
            name = f"{indicator.name}_gev_{param}"
            values = []
            for horizon, stats in zip(request.horizons, per_horizon, strict=True):
                pooled = stats[name]
                values.append(
                    _under_scenarios(pooled, request.scenarios) if horizon.is_baseline else pooled
                )
            units = "1" if param == "shape" else indicator.units
            long_name = f"GEV {param} of {indicator.subject or indicator.name} (models pooled)"
            result[name] = with_attrs(
                _stack(values, request.horizons), units, long_name, gev_method
            )
    return result
