"""Building blocks shared by the gridded hazard layers.

Yearly reductions of daily data (:func:`reduce_by_year`, :func:`apply_by_year`), the checks
of a Projections variable and of the requested scenarios, the :class:`HorizonRequest` of a
layer, and the attributes and validation that finish a layer. The per-horizon ensemble
statistics themselves live in :mod:`hazard_models.ensemble_stats`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr

from hazard_models.horizon import FUTURE_SCENARIOS, Horizon
from hazard_models.layer import (
    LAYER_VERSION,
    SchemaError,
    append_history,
    validate_hazard_layer,
)

__all__ = [
    "HorizonRequest",
    "ShapePooling",
    "apply_by_year",
    "check_projection_variable",
    "default_scenarios",
    "finish_layer",
    "pooling_note",
    "reduce_by_year",
    "with_attrs",
]

ShapePooling = Literal["index_flood", "regional", "site"]
_PROJECTION_DIMS = ("model", "scenario", "time", "lat", "lon")


def _reduceat_kernel(values: np.ndarray, starts: np.ndarray, how: str) -> np.ndarray:
    """Reduce runs of the last axis that begin at ``starts``; NaN is skipped, all-NaN -> NaN.

    One pass over the data when it has no NaN (the usual case): ``fmax`` skips NaN by
    definition, and sums are accumulated in float64 whatever the input precision; only
    chunks whose sums come out NaN take the masked second pass.
    """
    if how == "max":
        return np.fmax.reduceat(values, starts, axis=-1).astype(np.float64, copy=False)
    total = np.add.reduceat(values, starts, axis=-1, dtype=np.float64)
    count = np.diff(np.r_[starts, values.shape[-1]]).astype(np.float64)
    if np.isnan(total).any():
        valid = ~np.isnan(values)
        total = np.add.reduceat(np.where(valid, values, 0.0), starts, axis=-1, dtype=np.float64)
        count = np.add.reduceat(valid, starts, axis=-1, dtype=np.float64)
        total = np.where(count > 0, total, np.nan)
    return total / count if how == "mean" else total


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
        Dims with ``time`` replaced by ``year`` (last), float; NaN where a year has no valid
        day. Lazy for dask input: each chunk holds whole years (chunked by space only).

    Notes
    -----
    Years are contiguous runs of an ascending time axis, so one ``numpy.ufunc.reduceat`` per
    chunk replaces a group-by (which builds one task per year and chunk).
    """
    return apply_by_year(daily, _reduceat_kernel, how=how)


def _year_block(
    values: np.ndarray,
    *,
    kernel: Callable[..., np.ndarray],
    starts: list[np.ndarray],
    options: dict,
    block_id: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Apply ``kernel`` to one block of whole years (time last); return float64 (..., year)."""
    local = starts[block_id[-1]] if block_id is not None else starts[0]
    return np.asarray(kernel(values, starts=local, **options), dtype=np.float64)


def _year_aligned(values: Any, starts: np.ndarray) -> tuple[Any, list[np.ndarray]]:
    """Return dask ``values`` whose time chunks hold whole years, and each block's starts.

    Chunks that already hold whole years (e.g. one file per year) are kept: no rechunk, so
    each block is reduced as soon as it is read. Otherwise time is rechunked year by year.
    """
    axis = values.ndim - 1
    bounds = np.cumsum((0, *values.chunks[axis]))
    if not set(bounds[:-1].tolist()) <= set(starts.tolist()):
        values = values.rechunk({axis: tuple(np.diff(np.r_[starts, values.shape[axis]]))})
        bounds = np.cumsum((0, *values.chunks[axis]))
    local = [
        starts[(starts >= lo) & (starts < hi)] - lo
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    return values, local


def apply_by_year(
    daily: xr.DataArray, kernel: Callable[..., np.ndarray], **kwargs: object
) -> xr.DataArray:
    """Apply ``kernel(values, starts=..., **kwargs)`` along ``time``, one value per year.

    ``kernel`` receives the values with ``time`` last (floating point as given: float32
    input stays float32, halving memory traffic; other dtypes become float64) and the index
    of each year's first day in that block (``starts``), and returns one value per year,
    cast to float64. Lazy for dask input, one task per block of whole years: time chunks
    that hold whole years (the one-file-per-year layout of the Projections) are used as
    they are, so no rechunk or concatenation of daily data happens.
    """
    years = daily["time"].dt.year.values
    if years.size == 0 or np.any(np.diff(years) < 0):
        raise ValueError("time: expected a non-empty, ascending daily time axis")
    starts = np.flatnonzero(np.r_[True, np.diff(years) != 0])
    others = [str(d) for d in daily.dims if d != "time"]
    values = daily.transpose(*others, "time").data
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    if hasattr(values, "dask"):
        import dask.array as da

        values, local = _year_aligned(values, starts)
        out = da.map_blocks(
            _year_block,
            values,
            kernel=kernel,
            starts=local,
            options=kwargs,
            chunks=(*values.chunks[:-1], tuple(len(s) for s in local)),
            dtype=np.float64,
            meta=np.empty((0,) * values.ndim, dtype=np.float64),
        )
    else:
        out = _year_block(values, kernel=kernel, starts=[starts], options=kwargs)
    coords = {k: c for k, c in daily.coords.items() if "time" not in c.dims}
    return xr.DataArray(out, dims=(*others, "year"), coords=coords).assign_coords(
        year=years[starts]
    )


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
