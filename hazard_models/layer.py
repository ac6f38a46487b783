"""The HazardLayer contract: dims, coordinates and attributes of every hazard layer.

A HazardLayer is an ``xarray.Dataset`` with dims ``(scenario, horizon, [return_period],
[duration], [quantile], lat, lon)`` for gridded hazards, or ``station`` in place of ``lat, lon`` for
gauge-based ones (``docs/design.md``). It lives here, at the bottom of the import layers,
so that hazard builders can validate what they construct; ``resilience.schema`` re-exports
it so that the contract is still read in one place (see ``docs/decisions.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import xarray as xr

from hazard_models.horizon import AR6_HORIZONS, FUTURE_SCENARIOS, Horizon

__all__ = [
    "DIM_ORDER",
    "LAYER_VERSION",
    "REQUIRED_GLOBAL_ATTRS",
    "REQUIRED_VAR_ATTRS",
    "SYNTHETIC_VALUES",
    "SchemaError",
    "append_history",
    "horizon_coords",
    "synthetic_flag",
    "validate_hazard_layer",
]

#: Values of a layer's ``synthetic`` attribute: any synthetic input, none, or not recorded.
SYNTHETIC_VALUES: tuple[str, ...] = ("yes", "no", "unknown")

#: Version of the HazardLayer contract written into ``layer_version``.
LAYER_VERSION = "1"
#: Canonical order of every dim a layer may have.
DIM_ORDER: tuple[str, ...] = (
    "scenario",
    "horizon",
    "return_period",
    "duration",
    "quantile",
    "station",
    "lat",
    "lon",
)
REQUIRED_VAR_ATTRS: tuple[str, ...] = ("units", "long_name", "method")
REQUIRED_GLOBAL_ATTRS: tuple[str, ...] = (
    "hazard",
    "layer_version",
    "inputs_sha256",
    "code_version",
)


class SchemaError(ValueError):
    """Data does not follow a documented contract; the message says expected vs found."""


def synthetic_flag(*attrs: Mapping[str, object]) -> str:
    """Return ``"yes"`` if any input says it is synthetic, ``"no"`` if all say not.

    Parameters
    ----------
    *attrs : mapping
        Global attributes of the inputs (``synthetic``: ``"yes"``/``"no"``, a boolean, or
        ``"unknown"``).

    Returns
    -------
    str
        ``"yes"`` when any input is synthetic; ``"unknown"`` when none is but one does not
        say; ``"no"`` only when every input says it is not synthetic.
    """
    flags = []
    for mapping in attrs:
        value = mapping.get("synthetic")
        if isinstance(value, str):
            text = value.strip().lower()
            flags.append(
                "yes"
                if text in ("1", "true", "yes")
                else "no"
                if text in ("0", "false", "no")
                else "unknown"
            )
        elif isinstance(value, (bool, np.bool_)):
            flags.append("yes" if value else "no")
        else:
            flags.append("unknown")
    if "yes" in flags:
        return "yes"
    return "unknown" if "unknown" in flags or not flags else "no"


def append_history(attrs: dict, message: str) -> dict:
    """Append one line to a CF ``history`` attribute and return the same dict.

    Parameters
    ----------
    attrs : dict
        Attribute dict of a DataArray or Dataset; changed in place.
    message : str
        What was done, e.g. ``"txx: GEV return levels (L-moments, Hosking 1990)"``.
    """
    previous = attrs.get("history", "")
    attrs["history"] = f"{previous}\n{message}".strip() if previous else message
    return attrs


def horizon_coords(horizons: Sequence[Horizon] = AR6_HORIZONS) -> dict[str, tuple]:
    """Return the ``horizon`` coordinate with its ``start`` and ``end`` year coords.

    Use as ``ds.assign_coords(horizon_coords(horizons))``.
    """
    names = [h.name for h in horizons]
    return {
        "horizon": ("horizon", names),
        "start": ("horizon", np.array([h.start for h in horizons], dtype="int32")),
        "end": ("horizon", np.array([h.end for h in horizons], dtype="int32")),
    }


def _check_dim_order(name: str, dims: Iterable[str]) -> None:
    dims = tuple(dims)
    unknown = [d for d in dims if d not in DIM_ORDER]
    if unknown:
        raise SchemaError(
            f"variable {name!r}: expected dims from {DIM_ORDER}, found unknown dims {unknown}"
        )
    expected = tuple(d for d in DIM_ORDER if d in dims)
    if dims != expected:
        raise SchemaError(f"variable {name!r}: expected dims in order {expected}, found {dims}")
    if ("lat" in dims) != ("lon" in dims):
        raise SchemaError(f"variable {name!r}: expected both lat and lon, found {dims}")
    if "station" in dims and "lat" in dims:
        raise SchemaError(f"variable {name!r}: expected station or lat/lon, found both")


def _check_coords(ds: xr.Dataset) -> None:
    for dim in ("scenario", "horizon"):
        if dim not in ds.dims:
            raise SchemaError(f"expected dims to include {dim!r}, found {tuple(ds.dims)}")
    bad = [s for s in ds["scenario"].values.tolist() if s not in FUTURE_SCENARIOS]
    if bad:
        raise SchemaError(f"scenario: expected values from {FUTURE_SCENARIOS}, found {bad}")
    for coord in ("start", "end"):
        if coord not in ds.coords or ds[coord].dims != ("horizon",):
            raise SchemaError(f"horizon: expected a {coord!r} year coordinate on dim horizon")
    for axis in ("lat", "lon"):
        if axis in ds.dims:
            values = ds[axis].values
            if values.size > 1 and not np.all(np.diff(values) > 0):
                raise SchemaError(f"{axis}: expected strictly ascending values")
    if "lon" in ds.dims and (ds["lon"].min() < -180 or ds["lon"].max() >= 180):
        raise SchemaError("lon: expected values in [-180, 180)")
    # >= 1: a design-storm return period of 1 year is meaningful (IDF layer); GEV-based
    # variables never carry one, since the 1-year return level of a GEV is -inf.
    if "return_period" in ds.dims and not np.all(ds["return_period"].values >= 1):
        raise SchemaError("return_period: expected values in years, all at least 1")
    if "duration" in ds.dims and not np.all(ds["duration"].values > 0):
        raise SchemaError("duration: expected positive durations")
    if "quantile" in ds.dims:
        q = ds["quantile"].values
        if not np.all((q >= 0) & (q <= 1)):
            raise SchemaError("quantile: expected values in [0, 1]")


def _check_baseline_shared(ds: xr.Dataset) -> None:
    """Check that the baseline horizon holds identical values under every scenario."""
    if "baseline" not in ds["horizon"].values or ds.sizes["scenario"] < 2:
        return
    base = ds.sel(horizon="baseline")
    first = base.isel(scenario=0)
    for name, var in base.data_vars.items():
        if "scenario" not in var.dims or var.chunks is not None:
            continue  # lazy variables are checked when they are loaded
        difference = np.abs(np.asarray(var.values) - np.asarray(first[name].values))
        finite = difference[np.isfinite(difference)]
        spread = float(finite.max()) if finite.size else 0.0
        if np.isfinite(spread) and spread > 0:
            raise SchemaError(
                f"variable {name!r}: expected identical baseline values under every scenario, "
                f"found differences up to {spread:g}"
            )


def validate_hazard_layer(ds: xr.Dataset) -> xr.Dataset:
    """Check that ``ds`` follows the HazardLayer contract and return it unchanged.

    Parameters
    ----------
    ds : xarray.Dataset
        A hazard layer (see module docstring).

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, so that validation can be chained.

    Raises
    ------
    SchemaError
        With the expected and the found value of the first rule broken.
    """
    if not isinstance(ds, xr.Dataset):
        raise SchemaError(f"expected an xarray.Dataset, found {type(ds).__name__}")
    missing = [a for a in REQUIRED_GLOBAL_ATTRS if a not in ds.attrs]
    if missing:
        raise SchemaError(
            f"expected global attributes {list(REQUIRED_GLOBAL_ATTRS)}, missing {missing}"
        )
    if not ds.data_vars:
        raise SchemaError("expected at least one data variable, found none")
    _check_coords(ds)
    for name, var in ds.data_vars.items():
        _check_dim_order(str(name), [str(d) for d in var.dims])
        absent = [a for a in REQUIRED_VAR_ATTRS if not var.attrs.get(a)]
        if absent:
            raise SchemaError(
                f"variable {name!r}: expected attributes {list(REQUIRED_VAR_ATTRS)}, "
                f"missing {absent}"
            )
    _check_baseline_shared(ds)
    return ds
