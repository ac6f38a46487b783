"""Pick the 2-D field of a hazard layer variable that a layer map shows, from query values.

A HazardLayer variable (``hazard_models.layer.DIM_ORDER``) has selectable dims
(``scenario``, ``horizon``, ``return_period``, ``duration``: one value each, from the query;
by default ``ssp585``, ``far`` and ``100`` when present, else the first value), dims reduced
to their median (``quantile``: the 0.5 quantile when stored, else the median over it;
``model``, ``member``: the median) and spatial dims (``lat`` x ``lon``, or ``station``). A
value that is not a coordinate raises :class:`ParamError` naming the parameter and the
allowed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from resilience.web.risk_svg import GridField

__all__ = ["REDUCED_DIMS", "ParamError", "VariableChoice", "select_field", "variable_choices"]

#: Dims summarised by their median on a layer map (the title says so).
REDUCED_DIMS = ("quantile", "model", "member")
_SPATIAL = ("lat", "lon", "station")
_PREFERRED = {"scenario": "ssp585", "horizon": "far", "return_period": "100"}


class ParamError(ValueError):
    """A query parameter's value is not one of the allowed ones."""

    def __init__(self, param: str, value: str, allowed: list[str]) -> None:
        self.param, self.value, self.allowed = param, value, allowed
        super().__init__(f"{param}={value!r}: expected one of {allowed}")


@dataclass(frozen=True)
class VariableChoice:
    """A mappable variable: its name, units, long name and the values of each selectable dim.

    Attributes
    ----------
    name : str
        The variable's name in the layer.
    units : str
        CF ``units`` attribute ('' when absent).
    long_name : str
        CF ``long_name`` attribute ('' when absent).
    options : dict of str to list of str
        Selectable dim -> its values as query strings (``100`` for a 100.0 return period).
    """

    name: str
    units: str
    long_name: str
    options: dict[str, list[str]]


def _label(value: object) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value.item() if isinstance(value, np.generic) else value)


def _is_mappable(da: xr.DataArray) -> bool:
    spatial = ("lat" in da.dims and "lon" in da.dims) or "station" in da.dims
    return spatial and np.issubdtype(da.dtype, np.number)


def _selectable(da: xr.DataArray) -> list[str]:
    return [str(d) for d in da.dims if d not in _SPATIAL and d not in REDUCED_DIMS]


def variable_choices(ds: xr.Dataset) -> list[VariableChoice]:
    """Return the layer's mappable variables (numeric, on a grid or at stations), by name.

    Parameters
    ----------
    ds : xarray.Dataset
        A HazardLayer.

    Returns
    -------
    list of VariableChoice
        Sorted by variable name.
    """
    out = []
    for name in sorted(map(str, ds.data_vars)):
        da = ds[name]
        if not _is_mappable(da):
            continue
        options = {str(d): [_label(v) for v in da[d].values] for d in _selectable(da)}
        out.append(
            VariableChoice(
                name, str(da.attrs.get("units", "")), str(da.attrs.get("long_name", "")), options
            )
        )
    return out


def _default(dim: str, values: list[str]) -> str:
    preferred = _PREFERRED.get(dim)
    return preferred if preferred in values else values[0]


def _reduce(da: xr.DataArray) -> tuple[xr.DataArray, list[str]]:
    notes = []
    for dim in REDUCED_DIMS:
        if dim not in da.dims:
            continue
        values = np.asarray(da[dim].values) if dim in da.coords else np.array([])
        if dim == "quantile" and values.dtype.kind == "f" and np.any(np.isclose(values, 0.5)):
            da = da.isel({dim: int(np.argmin(np.abs(values - 0.5)))})
            notes.append("quantile 0.5 (median)")
        else:
            da = da.median(dim, skipna=True)
            notes.append(f"median over {dim}")
    return da, notes


def select_field(
    ds: xr.Dataset, layer: str, variable: str, query: Mapping[str, str]
) -> tuple[GridField, dict[str, str]]:
    """Return the field a map of ``layer``'s ``variable`` shows for the query's choices.

    Parameters
    ----------
    ds : xarray.Dataset
        The layer (read under the caller's lock: values are loaded here).
    layer : str
        The layer's name (for the title).
    variable : str
        A mappable variable of ``ds``.
    query : mapping of str to str
        Values of the selectable dims (``scenario``, ``horizon``, ``return_period``,
        ``duration``); missing or empty ones take the defaults.

    Returns
    -------
    tuple of GridField and dict
        The field (title naming layer, variable, each chosen value and the reductions) and
        the chosen value per selectable dim.

    Raises
    ------
    ParamError
        If ``variable`` is not a mappable variable, or a value is not a coordinate.
    """
    choices = {c.name: c for c in variable_choices(ds)}
    if variable not in choices:
        raise ParamError("variable", variable, sorted(choices))
    choice = choices[variable]
    chosen = {}
    for dim, values in choice.options.items():
        value = query.get(dim) or _default(dim, values)
        if value not in values:
            raise ParamError(dim, value, values)
        chosen[dim] = value
    da = ds[variable].isel({d: choice.options[d].index(v) for d, v in chosen.items()})
    da, notes = _reduce(da)
    gridded = "lat" in da.dims and "station" not in da.dims
    if gridded:
        da = da.transpose("lat", "lon")
    described = ", ".join([*(f"{d} {v}" for d, v in chosen.items()), *notes])
    field = GridField(
        values=np.asarray(da.values, dtype=float),
        lon=np.asarray(da["lon"].values, dtype=float),
        lat=np.asarray(da["lat"].values, dtype=float),
        gridded=gridded,
        units=choice.units,
        title=f"{layer} · {variable} ({choice.units or 'no units'})"
        + (f" · {described}" if described else ""),
    )
    return field, chosen
