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

Everything stays lazy for dask input: the daily slice is rechunked once to whole years by
blocks of cells, so every indicator of a horizon reads each block of input once when the
layer is computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import xarray as xr

from hazard_models._horizon_stats import HorizonRequest, ShapePooling, with_attrs
from hazard_models.extremes import fit_gev, return_levels
from hazard_models.horizon import HISTORICAL, Horizon
from hazard_models.layer import DIM_ORDER, SchemaError, horizon_coords
from hazard_models.regional import fit_gev_regional

__all__ = ["Indicator", "horizon_daily", "summarise_indicators"]

ChangeKind = Literal["absolute", "relative"]
#: Target size of one block of daily input (cells x whole years), bytes. Large enough that
#: the per-chunk numpy kernels dominate scheduling, small enough for 2 workers x a few
#: indicators in memory at once.
_BLOCK_BYTES = 96 * 2**20
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


def _block_chunks(daily: xr.Dataset) -> dict[str, int]:
    """Return chunks of whole time by square-ish blocks of cells of about ``_BLOCK_BYTES``."""
    cells = max(1, _BLOCK_BYTES // (8 * max(1, daily.sizes["time"])))
    side = max(1, int(np.sqrt(cells)))
    return {"time": -1, "lat": min(side, daily.sizes["lat"]), "lon": min(side, daily.sizes["lon"])}


def horizon_daily(
    projections: xr.Dataset, horizon: Horizon, scenarios: Sequence[str]
) -> xr.Dataset:
    """Return the daily data of ``horizon``: its years and the scenarios that cover them.

    Dask input is rechunked to whole years by blocks of cells (one chunk per model and
    scenario), which every yearly kernel then consumes without further rechunking.

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
    daily = projections.sel(scenario=wanted).isel(time=inside)
    if any(v.chunks is not None for v in daily.data_vars.values()):
        time = daily["time"]
        daily = daily.drop_vars("time")  # rechunking would otherwise tokenize cftime objects
        daily = daily.chunk({"model": 1, "scenario": 1, **_block_chunks(daily)})
        daily = daily.assign_coords(time=time)
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
    for indicator in indicators:
        yearly = indicator.compute(daily)
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


def _model_quantiles(per_model: xr.DataArray, quantiles: Sequence[float]) -> xr.DataArray:
    """Return quantiles across the ``model`` dim (linear interpolation, NaN skipped)."""
    if per_model.chunks is not None:
        per_model = per_model.chunk({"model": -1})
    return per_model.quantile(list(quantiles), dim="model")


def _change(value: xr.DataArray, baseline: xr.DataArray, kind: ChangeKind) -> xr.DataArray:
    """Return the per-model change of ``value`` against ``baseline`` (difference or %)."""
    if kind == "absolute":
        return value - baseline
    return 100.0 * (value / baseline.where(baseline != 0) - 1.0)


def _robustness(change: xr.DataArray) -> xr.DataArray:
    """Return the fraction of models whose change has the majority's sign (0.5-1, NaN)."""
    valid = change.notnull().sum("model")
    rising = (change > 0).sum("model")
    falling = (change < 0).sum("model")
    agree = xr.where(rising >= falling, rising, falling)
    return (agree / valid.where(valid > 0)).astype(float)


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
        out[""].append(_model_quantiles(value, request.quantiles))
        if baseline is None:
            continue
        change = _change(value, baseline, indicator.change)
        if horizon.is_baseline:
            change = change.where(change.isnull(), 0.0)
        robust = _robustness(change)
        out["_change"].append(_model_quantiles(change, request.quantiles))
        out["_robustness"].append(xr.full_like(robust, np.nan) if horizon.is_baseline else robust)
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
