"""Building blocks shared by the gridded hazard layers.

Yearly reductions of daily data (:func:`reduce_by_year`, :func:`apply_by_year`), the checks
of a Projections variable and of the requested scenarios, the :class:`HorizonRequest` of a
layer, and the attributes and validation that finish a layer. The per-horizon ensemble
statistics themselves live in :mod:`hazard_models.ensemble_stats`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import xarray as xr

from hazard_models.horizon import FUTURE_SCENARIOS, Horizon
from hazard_models.layer import (
    LAYER_VERSION,
    SYNTHETIC_VALUES,
    SchemaError,
    append_history,
    validate_hazard_layer,
)
from hazard_models.yearly import yearly_max, yearly_mean, yearly_sum

__all__ = [
    "HorizonRequest",
    "ShapePooling",
    "check_projection_variable",
    "default_scenarios",
    "finish_layer",
    "pooling_note",
    "reduce_by_year",
    "with_attrs",
]

ShapePooling = Literal["index_flood", "regional", "site"]
_PROJECTION_DIMS = ("model", "scenario", "time", "lat", "lon")


def reduce_by_year(daily: xr.DataArray, how: Literal["max", "sum", "mean"]) -> xr.DataArray:
    """Return the yearly maximum, sum or mean of daily data, skipping NaN days.

    Parameters
    ----------
    daily : xarray.DataArray
        Dims (..., time, ...), ``time`` ascending in any calendar (numpy or cftime dates).
    how : {"max", "sum", "mean"}
        Reduction over the valid days of each calendar year.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year`` (last), float64; NaN where a year has no
        valid day. Lazy for dask input, one task per block of whole years
        (:mod:`hazard_models.yearly`).
    """
    reducers = {"max": yearly_max, "sum": yearly_sum, "mean": yearly_mean}
    if how not in reducers:
        raise ValueError(f"how: expected one of {sorted(reducers)}, found {how!r}")
    return reducers[how](daily)


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
        (``hazard_models.extremes.regional``); "index_flood": the L-CV too, so that each cell keeps
        only
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


def with_attrs(stat: xr.DataArray, units: str, long_name: str, method: str) -> xr.DataArray:
    """Return ``stat`` with exactly the layer attributes (its ``history`` line is kept)."""
    out = stat.copy(deep=False)
    history = stat.attrs.get("history")
    out.attrs = {"units": units, "long_name": long_name, "method": method}
    if history:
        out.attrs["history"] = history
    return out


def finish_layer(
    layer: xr.Dataset,
    hazard: str,
    history: str,
    *,
    provenance: tuple[str, str],
    synthetic: str,
) -> xr.Dataset:
    """Add the HazardLayer global attributes, append ``history`` and validate the layer.

    ``provenance`` is ``(inputs_sha256, code_version)``; ``synthetic`` is ``"yes"``, ``"no"``
    or ``"unknown"`` (:func:`hazard_models.layer.synthetic_flag` of the inputs), so that
    every layer says whether any input was synthetic. Returns the validated layer.
    """
    if synthetic not in SYNTHETIC_VALUES:
        raise ValueError(f"synthetic: expected one of {SYNTHETIC_VALUES}, found {synthetic!r}")
    layer.attrs.update(
        synthetic=synthetic,
        hazard=hazard,
        layer_version=LAYER_VERSION,
        inputs_sha256=provenance[0],
        code_version=provenance[1],
        Conventions="CF-1.8",
    )
    append_history(layer.attrs, history)
    return validate_hazard_layer(layer)
