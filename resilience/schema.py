"""Data contracts crossing package boundaries, gathered in one place.

The HazardLayer and Assets contracts are defined next to the code that builds them
(``hazard_models.layer`` and ``assets.inventory``, which may not import this package) and
re-exported here; the Projections contract is defined here. See ``docs/design.md``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from assets.inventory import INVENTORY_COLUMNS, validate_inventory
from hazard_models.horizon import AR6_HORIZONS, FUTURE_SCENARIOS, SCENARIOS, Horizon
from hazard_models.layer import SchemaError, append_history, validate_hazard_layer

__all__ = [
    "AR6_HORIZONS",
    "CANONICAL_UNITS",
    "FUTURE_SCENARIOS",
    "INVENTORY_COLUMNS",
    "PROJECTION_DIMS",
    "SCENARIOS",
    "Horizon",
    "SchemaError",
    "append_history",
    "validate_hazard_layer",
    "validate_inventory",
    "validate_projections",
]

#: Dims of every variable in a Projections Dataset, in order.
PROJECTION_DIMS: tuple[str, ...] = ("model", "scenario", "time", "lat", "lon")
#: Canonical units of the canonical CMIP6 variables.
CANONICAL_UNITS: dict[str, str] = {
    "tasmax": "degC",
    "tasmin": "degC",
    "tas": "degC",
    "pr": "mm/day",
    "hurs": "%",
    "sfcWind": "m/s",
}


def validate_projections(ds: xr.Dataset) -> xr.Dataset:
    """Check a Projections Dataset against its contract and return it unchanged.

    Parameters
    ----------
    ds : xarray.Dataset
        Dims ``(model, scenario, time, lat, lon)``; canonical variables in canonical units;
        ascending ``lat`` and ``lon`` with ``lon`` in [-180, 180).

    Raises
    ------
    SchemaError
        Naming the variable or coordinate and what was expected.
    """
    if not ds.data_vars:
        raise SchemaError("projections: expected at least one variable, found none")
    for name, var in ds.data_vars.items():
        if name not in CANONICAL_UNITS:
            raise SchemaError(
                f"projections: variable {name!r} is not canonical; expected one of "
                f"{sorted(CANONICAL_UNITS)}"
            )
        if var.dims != PROJECTION_DIMS:
            raise SchemaError(
                f"projections: variable {name!r}: expected dims {PROJECTION_DIMS}, found {var.dims}"
            )
        if var.attrs.get("units") != CANONICAL_UNITS[name]:
            raise SchemaError(
                f"projections: variable {name!r}: expected units {CANONICAL_UNITS[name]!r}, "
                f"found {var.attrs.get('units')!r}"
            )
    bad = [s for s in ds["scenario"].values.tolist() if s not in SCENARIOS]
    if bad:
        raise SchemaError(f"projections: scenario: expected values from {SCENARIOS}, found {bad}")
    for axis in ("lat", "lon"):
        values = ds[axis].values
        if values.size > 1 and not np.all(np.diff(values) > 0):
            raise SchemaError(f"projections: {axis}: expected strictly ascending values")
    if float(ds["lon"].min()) < -180 or float(ds["lon"].max()) >= 180:
        raise SchemaError("projections: lon: expected values in [-180, 180)")
    return ds
