"""Per-horizon statistics of yearly climate indices, shared by the heat and rain layers.

For each horizon the daily Projections are cut to the horizon's years and to the scenarios
that cover them (``historical`` for the baseline, the SSPs otherwise). Yearly indices are
computed once per (model, scenario, horizon); then

* the yearly maxima are fitted with a GEV per model (return levels, then quantiles across
  models) and pooled across models (the ``*_gev_*`` parameters of ``docs/decisions.md`` D2);
* the other yearly indices are averaged over the horizon per model, then summarised by
  quantiles across models.

The baseline is repeated under every output scenario, and the horizons are stacked on a
``horizon`` dim with its ``start``/``end`` coordinates. Everything stays lazy for dask input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import xarray as xr

from hazard_models.extremes import fit_gev, return_levels
from hazard_models.horizon import FUTURE_SCENARIOS, HISTORICAL, Horizon
from hazard_models.layer import (
    DIM_ORDER,
    LAYER_VERSION,
    SchemaError,
    append_history,
    horizon_coords,
    validate_hazard_layer,
)
from hazard_models.regional import fit_gev_regional

__all__ = [
    "HorizonRequest",
    "ShapePooling",
    "apply_by_year",
    "check_projection_variable",
    "default_scenarios",
    "finish_layer",
    "pooling_note",
    "reduce_by_year",
    "summarise_horizons",
    "with_attrs",
]

YearlyIndex = Callable[[xr.DataArray], xr.DataArray]
ShapePooling = Literal["index_flood", "regional", "site"]
_PROJECTION_DIMS = ("model", "scenario", "time", "lat", "lon")


def _reduceat_kernel(values: np.ndarray, starts: np.ndarray, how: str) -> np.ndarray:
    """Reduce runs of the last axis that begin at ``starts``; NaN is skipped, all-NaN -> NaN."""
    valid = ~np.isnan(values)
    if how == "max":
        reduced = np.maximum.reduceat(np.where(valid, values, -np.inf), starts, axis=-1)
    else:
        reduced = np.add.reduceat(np.where(valid, values, 0.0), starts, axis=-1)
    any_valid = np.logical_or.reduceat(valid, starts, axis=-1)
    return np.where(any_valid, reduced, np.nan)


def reduce_by_year(daily: xr.DataArray, how: Literal["max", "sum"]) -> xr.DataArray:
    """Return the yearly maximum or sum of daily data, skipping NaN days.

    Parameters
    ----------
    daily : xarray.DataArray
        Dims (..., time, ...), ``time`` ascending in any calendar (numpy or cftime dates).
    how : {"max", "sum"}
        Reduction over the days of each calendar year.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year`` (last), float; NaN where a year has no valid
        day. Lazy for dask input: each chunk holds whole years (chunked by space only).

    Notes
    -----
    Years are contiguous runs of an ascending time axis, so one ``numpy.ufunc.reduceat`` per
    chunk replaces a group-by (which builds one task per year and chunk).
    """
    return apply_by_year(daily, _reduceat_kernel, how=how)


def apply_by_year(
    daily: xr.DataArray, kernel: Callable[..., np.ndarray], **kwargs: object
) -> xr.DataArray:
    """Apply ``kernel(values, starts=..., **kwargs)`` along ``time``, one value per year.

    ``kernel`` receives the float values with ``time`` last and the index of each year's
    first day (``starts``), and returns one value per year. Lazy for dask input: each chunk
    holds whole years (chunked by space only).
    """
    years = daily["time"].dt.year.values
    if years.size == 0 or np.any(np.diff(years) < 0):
        raise ValueError("time: expected a non-empty, ascending daily time axis")
    starts = np.flatnonzero(np.r_[True, np.diff(years) != 0])
    daily = daily.drop_vars("time")  # rechunking would otherwise tokenize cftime objects
    if daily.chunks is not None:
        daily = daily.chunk({"time": -1})
    out = xr.apply_ufunc(
        kernel,
        daily.astype(float),
        input_core_dims=[["time"]],
        output_core_dims=[["year"]],
        exclude_dims={"time"},
        dask="parallelized",
        output_dtypes=[float],
        dask_gufunc_kwargs={"output_sizes": {"year": starts.size}},
        kwargs={"starts": starts, **kwargs},
    )
    return out.assign_coords(year=years[starts])


@dataclass(frozen=True)
class HorizonRequest:
    """What to compute for every horizon.

    Parameters
    ----------
    horizons : sequence of Horizon
        Windows to summarise; ``baseline`` is read from ``historical``.
    scenarios : sequence of str
        Output scenarios (SSPs).
    return_periods : sequence of float
        Years (> 1).
    quantiles : sequence of float
        Quantiles across models, in [0, 1].
    shape_pooling : {"index_flood", "regional", "site"}
        "regional" (default): one GEV shape per model, scenario and horizon over the whole grid
        (``hazard_models.regional``); "index_flood": the L-CV too, so that each cell keeps only
        its mean (for rain); "site": every cell fits its own shape.
    """

    horizons: tuple[Horizon, ...]
    scenarios: tuple[str, ...]
    return_periods: tuple[float, ...]
    quantiles: tuple[float, ...]
    shape_pooling: ShapePooling = "regional"


def check_projection_variable(projections: xr.Dataset, name: str, units: str) -> xr.DataArray:
    """Return ``projections[name]`` after checking its dims and units.

    Raises
    ------
    SchemaError
        If the variable is missing, or its dims or ``units`` differ from the contract.
    """
    if not isinstance(projections, xr.Dataset) or name not in projections.data_vars:
        found = list(projections.data_vars) if isinstance(projections, xr.Dataset) else None
        raise SchemaError(f"projections: expected variable {name!r}, found {found}")
    variable = projections[name]
    if variable.dims != _PROJECTION_DIMS:
        raise SchemaError(
            f"projections: variable {name!r}: expected dims {_PROJECTION_DIMS}, "
            f"found {variable.dims}"
        )
    if variable.attrs.get("units") != units:
        raise SchemaError(
            f"projections: variable {name!r}: expected units {units!r}, "
            f"found {variable.attrs.get('units')!r}"
        )
    return variable


def default_scenarios(variable: xr.DataArray, scenarios: Sequence[str] | None) -> tuple[str, ...]:
    """Return the output scenarios: those asked for, else the SSPs present in the data.

    Raises
    ------
    SchemaError
        If a requested scenario is absent from the data or not an SSP, or none is left.
    """
    present = [str(s) for s in variable["scenario"].values]
    if scenarios is None:
        scenarios = [s for s in present if s in FUTURE_SCENARIOS]
    unknown = [s for s in scenarios if s not in FUTURE_SCENARIOS]
    if unknown:
        raise SchemaError(f"scenarios: expected values from {FUTURE_SCENARIOS}, found {unknown}")
    missing = [s for s in scenarios if s not in present]
    if missing:
        raise SchemaError(f"projections: scenario: expected {missing} in the data, found {present}")
    if not scenarios:
        raise SchemaError(f"projections: scenario: expected at least one SSP, found {present}")
    return tuple(scenarios)


def _horizon_slice(
    variable: xr.DataArray, horizon: Horizon, scenarios: tuple[str, ...]
) -> xr.DataArray:
    """Return the daily data of ``horizon``: its years, and the scenarios that cover them."""
    wanted = [HISTORICAL] if horizon.is_baseline else list(scenarios)
    present = [str(s) for s in variable["scenario"].values]
    if any(s not in present for s in wanted):
        raise SchemaError(
            f"projections: horizon {horizon.name!r} needs scenarios {wanted}, found {present}"
        )
    years = variable["time"].dt.year.values
    inside = np.flatnonzero((years >= horizon.start) & (years <= horizon.end))
    if inside.size == 0:
        raise SchemaError(
            f"projections: time: expected years {horizon.start}-{horizon.end} for horizon "
            f"{horizon.name!r}, found {years.min()}-{years.max()}"
        )
    return variable.sel(scenario=wanted).isel(time=inside)


def _model_quantiles(per_model: xr.DataArray, quantiles: tuple[float, ...]) -> xr.DataArray:
    """Return quantiles across the ``model`` dim (linear interpolation, NaN skipped)."""
    if per_model.chunks is not None:
        per_model = per_model.chunk({"model": -1})
    return per_model.quantile(list(quantiles), dim="model", keep_attrs=True)


def pooling_note(pooling: ShapePooling) -> str:
    """Return the sentence that a layer's ``method`` adds for the shape-pooling choice."""
    if pooling == "regional":
        return (
            "; GEV shape shared over the grid per model, scenario and horizon (regional "
            "L-moment algorithm, Hosking & Wallis 1997 ch. 6)"
        )
    if pooling == "index_flood":
        return (
            "; index-flood regional L-moment algorithm (Hosking & Wallis 1997 ch. 6): L-CV and "
            "L-skewness shared over the grid per model, scenario and horizon, scaled by each "
            "cell's mean"
        )
    return "; GEV shape fitted per grid cell"


def _fit(annual_maxima: xr.DataArray, dim: str, pooling: ShapePooling) -> xr.Dataset:
    if pooling == "site":
        return fit_gev(annual_maxima, dim=dim)
    return fit_gev_regional(annual_maxima, dim=dim, index_flood=pooling == "index_flood")


def _one_horizon(
    daily: xr.DataArray,
    maximum: YearlyIndex,
    means: Mapping[str, YearlyIndex],
    request: HorizonRequest,
) -> dict[str, xr.DataArray]:
    """Return every statistic of one horizon, dims (..., scenario, lat, lon)."""
    annual_maxima = maximum(daily)
    per_model = _fit(annual_maxima, "year", request.shape_pooling)
    levels = return_levels(per_model, request.return_periods)
    out = {"return_level": _model_quantiles(levels, request.quantiles)}
    pooled = _fit(annual_maxima.stack(sample=("model", "year")), "sample", request.shape_pooling)
    out.update({f"gev_{p}": pooled[p] for p in ("loc", "scale", "shape")})
    for name, index in means.items():
        yearly = index(daily)
        mean = yearly.mean("year", keep_attrs=True)
        out[name] = _model_quantiles(mean, request.quantiles)
    return out


def _under_scenarios(stat: xr.DataArray, scenarios: tuple[str, ...]) -> xr.DataArray:
    """Repeat a baseline statistic (scenario = historical) under every output scenario."""
    base = stat.sel(scenario=HISTORICAL, drop=True)
    return base.expand_dims(scenario=list(scenarios))


def summarise_horizons(
    variable: xr.DataArray,
    maximum: YearlyIndex,
    means: Mapping[str, YearlyIndex],
    *,
    request: HorizonRequest,
) -> dict[str, xr.DataArray]:
    """Return per-horizon statistics of yearly indices, stacked on a ``horizon`` dim.

    Parameters
    ----------
    variable : xarray.DataArray
        Daily data, dims (model, scenario, time, lat, lon), any calendar.
    maximum : callable
        Daily data -> yearly maxima with dim ``year`` (fitted with a GEV).
    means : mapping of str to callable
        Name -> daily data -> yearly index with dim ``year`` (averaged over the horizon).
    request : HorizonRequest
        Horizons, scenarios, return periods and quantiles.

    Returns
    -------
    dict of str to xarray.DataArray
        ``return_level`` (return_period, quantile across models), ``gev_loc``, ``gev_scale``,
        ``gev_shape`` (pooled models) and one entry per ``means`` key (quantile), each with
        dims in the HazardLayer order (scenario, horizon, [return_period], [quantile], lat,
        lon) and the ``horizon`` coordinates of :func:`~hazard_models.layer.horizon_coords`.
    """
    per_horizon = []
    for horizon in request.horizons:
        daily = _horizon_slice(variable, horizon, request.scenarios)
        stats = _one_horizon(daily, maximum, means, request)
        if horizon.is_baseline:
            stats = {k: _under_scenarios(v, request.scenarios) for k, v in stats.items()}
        per_horizon.append(stats)
    coords = horizon_coords(request.horizons)
    result = {}
    for name in per_horizon[0]:
        stacked = xr.concat(
            [stats[name] for stats in per_horizon], dim="horizon", join="exact", coords="minimal"
        )
        stacked = stacked.drop_vars("horizon", errors="ignore").assign_coords(coords)
        order = [d for d in DIM_ORDER if d in stacked.dims]
        result[name] = stacked.transpose(*order)
    return result


def with_attrs(stat: xr.DataArray, units: str, long_name: str, method: str) -> xr.DataArray:
    """Return ``stat`` with exactly the layer attributes (its ``history`` line is kept)."""
    out = stat.copy(deep=False)
    history = stat.attrs.get("history")
    out.attrs = {"units": units, "long_name": long_name, "method": method}
    if history:
        out.attrs["history"] = history
    return out


def finish_layer(
    layer: xr.Dataset, hazard: str, history: str, *, provenance: tuple[str, str]
) -> xr.Dataset:
    """Add the HazardLayer global attributes, append ``history`` and validate the layer.

    ``provenance`` is ``(inputs_sha256, code_version)``. Returns the validated layer.
    """
    layer.attrs.update(
        hazard=hazard,
        layer_version=LAYER_VERSION,
        inputs_sha256=provenance[0],
        code_version=provenance[1],
        Conventions="CF-1.8",
    )
    append_history(layer.attrs, history)
    return validate_hazard_layer(layer)
