"""Assemble normalised model runs into one lazy Projections Dataset (models x scenarios).

Every member is a normalised Dataset with dims (time, lat, lon) for one (model, scenario).
Members are stacked on ``scenario`` and ``model`` with an outer join on ``time`` (historical
and SSP years differ), so a missing combination or variable becomes NaN and is REPORTED in
``attrs["missing_combinations"]``, never silently dropped (issue 4, section 4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from hazard_models.horizon import SCENARIOS
from hazard_models.layer import SchemaError, append_history
from resilience.schema import validate_projections

__all__ = ["assemble_ensemble"]


def _check_grids(members: Mapping[tuple[str, str], xr.Dataset]) -> None:
    (first_key, first), *rest = members.items()
    for key, ds in rest:
        for axis in ("lat", "lon"):
            if ds[axis].size != first[axis].size or not np.allclose(ds[axis], first[axis]):
                raise SchemaError(
                    f"ensemble member {key}: {axis} grid differs from {first_key}; "
                    "expected every member on one grid (regrid first)"
                )
        calendars = {m.time.dt.calendar for m in (first, ds)}
        if len(calendars) > 1:
            raise SchemaError(
                f"ensemble member {key}: calendar {ds.time.dt.calendar!r} differs from "
                f"{first_key}'s {first.time.dt.calendar!r}"
            )


def _missing_lines(
    members: Mapping[tuple[str, str], xr.Dataset],
    models: Sequence[str],
    scenarios: Sequence[str],
    variables: Sequence[str],
) -> list[str]:
    lines = []
    for model in models:
        for scenario in scenarios:
            ds = members.get((model, scenario))
            if ds is None:
                lines.append(f"{model} {scenario}: no data (all NaN)")
                continue
            absent = [v for v in variables if v not in ds]
            if absent:
                lines.append(f"{model} {scenario}: missing {', '.join(absent)} (NaN)")
    return lines


#: Days per chunk of the NaN padding (one model year); padding a missing 80-year span as one
#: block made the write's peak memory grow with the input (bench/bench_pull.py).
PAD_CHUNK_DAYS = 365


def _nan_block(times: np.ndarray, template: xr.Dataset, dtype: np.dtype) -> xr.DataArray:
    """Return a lazy all-NaN (time, lat, lon) block, chunked one year at a time."""
    import dask.array as da

    shape = (times.size, template.sizes["lat"], template.sizes["lon"])
    values = da.full(shape, np.nan, dtype=dtype, chunks=(PAD_CHUNK_DAYS, -1, -1))
    return xr.DataArray(
        values,
        dims=("time", "lat", "lon"),
        coords={"time": times, "lat": template["lat"], "lon": template["lon"]},
    )


def _padded(
    member: xr.Dataset | None, name: str, union: np.ndarray, template: xr.Dataset, dtype: np.dtype
) -> xr.DataArray:
    """Return ``member[name]`` on the union time axis, NaN-padded before and after in chunks."""
    if member is None or name not in member:
        return _nan_block(union, template, dtype)
    values = member[name].drop_vars(
        [c for c in member[name].coords if c not in ("time", "lat", "lon")]
    )
    times = member["time"].values
    before, after = union[union < times[0]], union[union > times[-1]]
    if before.size + times.size + after.size != union.size:  # gaps inside the run
        return values.reindex(time=union).chunk({"time": PAD_CHUNK_DAYS})
    parts = [_nan_block(before, template, dtype)] if before.size else []
    parts.append(values)
    if after.size:
        parts.append(_nan_block(after, template, dtype))
    return xr.concat(parts, dim="time") if len(parts) > 1 else values


def assemble_ensemble(
    members: Mapping[tuple[str, str], xr.Dataset],
    *,
    variables: Sequence[str],
    models: Sequence[str] | None = None,
    scenarios: Sequence[str] | None = None,
) -> xr.Dataset:
    """Stack members into a Projections Dataset with dims (model, scenario, time, lat, lon).

    Parameters
    ----------
    members : mapping of (model, scenario) to xarray.Dataset
        Normalised runs (canonical names and units, ascending lat/lon), dims (time, lat, lon).
    variables : sequence of str
        Variables the ensemble must hold; a member without one gets NaN for it.
    models, scenarios : sequence of str, optional
        The full ensemble expected (default: what ``members`` holds). Combinations absent
        from ``members`` become NaN and are listed in ``missing_combinations``.

    Raises
    ------
    SchemaError
        If ``members`` is empty, grids or calendars differ, or the result breaks the
        Projections contract.
    """
    if not members:
        raise SchemaError("ensemble: expected at least one member, found none")
    _check_grids(members)
    models = list(models or sorted({m for m, _ in members}))
    present = {s for _, s in members}
    scenarios = list(scenarios or [s for s in SCENARIOS if s in present])
    union = np.unique(np.concatenate([m["time"].values for m in members.values()]))
    template = next(iter(members.values()))
    data = {}
    for name in variables:
        holders = [m for m in members.values() if name in m]
        if not holders:
            raise SchemaError(f"ensemble: no member holds variable {name!r}")
        dtype = holders[0][name].dtype
        rows = [
            xr.concat(
                [_padded(members.get((model, s)), name, union, template, dtype) for s in scenarios],
                dim=pd.Index(scenarios, name="scenario"),
            )
            for model in models
        ]
        data[name] = xr.concat(rows, dim=pd.Index(models, name="model"))
    ds = xr.Dataset(data)
    for name in variables:
        ds[name].attrs = next(m[name].attrs for m in members.values() if name in m)
    ds = ds.transpose("model", "scenario", "time", "lat", "lon")
    missing = _missing_lines(members, models, scenarios, variables)
    ds.attrs = {
        "missing_combinations": "\n".join(missing),
        "ensemble_models": " ".join(models),
        "ensemble_scenarios": " ".join(scenarios),
    }
    append_history(
        ds.attrs, f"assemble_ensemble: {len(models)} models x {len(scenarios)} scenarios"
    )
    return validate_projections(ds)
