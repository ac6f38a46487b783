"""Plausibility checks a hazard layer must pass before it is published.

:func:`validate_hazard_layer` checks the *shape* of a layer (dims, attributes). A layer of
the right shape can still be garbage: all NaN, degC labelled K, one corrupt input value of
1e6, latitude and longitude swapped. :func:`validate_layer_plausible` checks the *values*:

- **ranges by units**: each variable's finite values lie within what the Earth has ever
  recorded for its units (table :data:`RANGES`, sources beside each row); a variable whose
  name ends in ``_change`` is a difference and uses :data:`CHANGE_RANGES`. Units not in the
  tables (``"1"``, counts) are not range-checked.
- **NaN share**: no variable is all NaN, and no variable has more missing cells than the
  layer's own land mask implies. The mask is the union, over the layer's variables on the
  same spatial dims (``lat, lon`` or ``station``), of the cells holding at least one finite
  value; a variable must hold a value somewhere on each of those cells (sea cells NaN in
  every variable are fine; a hole in one variable is not).
- **coordinates**: ``lat`` within -90..90 and ``lon`` within -180..360, ascending when they
  are dims (swapped axes put Shanghai's 121 degE into ``lat``).

Pure: no I/O; :class:`resilience.storage.layer_store.LayerStore` calls it on the file it
has just written, before the version becomes visible.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from hazard_models.layer import SchemaError

__all__ = [
    "CHANGE_RANGES",
    "RANGES",
    "LayerPlausibilityError",
    "validate_layer_plausible",
]

# WMO World Weather and Climate Extremes Archive (https://wmo.asu.edu/content/world-meteorological-organization-global-weather-climate-extremes-archive):
# lowest temperature -89.2 degC (Vostok, 21 Jul 1983); highest 56.7 degC (Furnace Creek,
# 10 Jul 1913); greatest 24-h rainfall 1825 mm (Foc-Foc, La Reunion, 7-8 Jan 1966); greatest
# 1-min rainfall 38 mm (Barot, Guadeloupe, 26 Nov 1970), i.e. 2280 mm/h; greatest 12-month
# rainfall 26,470 mm (Cherrapunji, Aug 1860 - Jul 1861).
_T_MIN_DEGC, _T_MAX_DEGC = -90.0, 60.0
_T_SPAN_K = _T_MAX_DEGC - _T_MIN_DEGC

#: Units -> (lowest, highest, source) of an absolute value.
RANGES: dict[str, tuple[float, float, str]] = {
    "degC": (_T_MIN_DEGC, _T_MAX_DEGC, "WMO world records -89.2 and 56.7 degC"),
    "K": (_T_MIN_DEGC + 273.15, _T_MAX_DEGC + 273.15, "WMO world records -89.2 and 56.7 degC"),
    "mm/day": (0.0, 2000.0, "WMO world record 24-h rainfall 1825 mm"),
    "mm d-1": (0.0, 2000.0, "WMO world record 24-h rainfall 1825 mm"),
    "mm/h": (0.0, 2280.0, "WMO world record 1-min rainfall 38 mm"),
    "mm": (0.0, 26470.0, "WMO world record 12-month rainfall 26,470 mm"),
    "m": (-10.0, 20.0, "water levels and depths: largest storm tides about 10 m above datum"),
    "days": (0.0, 366.0, "days in a year"),
    "K d": (0.0, 366.0 * _T_SPAN_K, "366 days times the span of WMO temperature records"),
    "km2": (0.0, 5.1e8, "area of the Earth's surface"),
}
#: Units -> (lowest, highest, source) of a change (variables named ``*_change``).
CHANGE_RANGES: dict[str, tuple[float, float, str]] = {
    "K": (-_T_SPAN_K, _T_SPAN_K, "span of WMO temperature records, 146 K"),
    "degC": (-_T_SPAN_K, _T_SPAN_K, "span of WMO temperature records, 146 K"),
    "days": (-366.0, 366.0, "days in a year"),
    "%": (-100.0, np.inf, "a non-negative quantity cannot fall by more than 100 %"),
    "mm/day": (-2000.0, 2000.0, "WMO world record 24-h rainfall 1825 mm"),
    "mm": (-26470.0, 26470.0, "WMO world record 12-month rainfall 26,470 mm"),
    "m": (-30.0, 30.0, "twice the range of water levels"),
    "K d": (-366.0 * _T_SPAN_K, 366.0 * _T_SPAN_K, "366 days times the temperature span"),
}
_SPATIAL = (("lat", "lon"), ("station",))


class LayerPlausibilityError(SchemaError):
    """A hazard layer has the right shape but implausible values; the message says which."""


def _check_coordinates(ds: xr.Dataset, label: str) -> None:
    for axis, low, high in (("lat", -90.0, 90.0), ("lon", -180.0, 360.0)):
        if axis not in ds.coords:
            continue
        values = np.asarray(ds[axis].values, dtype=float)
        finite = values[np.isfinite(values)]
        if finite.size != values.size:
            raise LayerPlausibilityError(f"{label}: coordinate {axis}: expected no NaN")
        if finite.size and (finite.min() < low or finite.max() > high):
            raise LayerPlausibilityError(
                f"{label}: coordinate {axis}: expected values within {low:g}..{high:g}, "
                f"found {finite.min():g}..{finite.max():g} (lat and lon swapped?)"
            )
        if axis in ds.dims and values.size > 1 and not np.all(np.diff(values) > 0):
            raise LayerPlausibilityError(
                f"{label}: coordinate {axis}: expected strictly ascending values"
            )


def _check_range(
    name: str, var: xr.DataArray, values: np.ndarray, finite: np.ndarray, label: str
) -> None:
    units = str(var.attrs.get("units", ""))
    table = CHANGE_RANGES if name.endswith("_change") else RANGES
    if units not in table or not finite.any():
        return
    # min and max of the finite values, without copying them out (a 173 MB IDF variable)
    found_low = float(np.min(values, where=finite, initial=np.inf))
    found_high = float(np.max(values, where=finite, initial=-np.inf))
    low, high, source = table[units]
    if found_low < low or found_high > high:
        raise LayerPlausibilityError(
            f"{label}: variable {name!r} ({units}): expected values within {low:g}..{high:g} "
            f"{units} ({source}), found {found_low:g}..{found_high:g}"
        )


def _footprint(var: xr.DataArray, finite: np.ndarray, spatial: tuple[str, ...]) -> np.ndarray:
    """Return the cells (over ``spatial`` dims) where ``var`` has at least one finite value."""
    others = tuple(axis for axis, dim in enumerate(var.dims) if dim not in spatial)
    kept = [dim for dim in var.dims if dim in spatial]
    return np.transpose(finite.any(axis=others), [kept.index(dim) for dim in spatial])


def _check_holes(footprints: dict[str, np.ndarray], label: str) -> None:
    """Check that each variable holds a value on every cell of the layer's land mask."""
    mask = np.logical_or.reduce(list(footprints.values()))
    for name, footprint in footprints.items():
        holes = int((mask & ~footprint).sum())
        if holes:
            raise LayerPlausibilityError(
                f"{label}: variable {name!r}: expected a value on each of the "
                f"{int(mask.sum())} cells the layer covers (its land mask), found "
                f"{holes} all NaN"
            )


def validate_layer_plausible(ds: xr.Dataset, name: str = "layer") -> xr.Dataset:
    """Check that the values of a hazard layer are physically plausible; return it.

    Parameters
    ----------
    ds : xarray.Dataset
        A HazardLayer that already passed ``validate_hazard_layer``, in memory or opened
        lazily (a file just written): each variable is read once, one at a time.
    name : str
        Layer name used in error messages, e.g. ``"heat"``.

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, so that checks can be chained.

    Raises
    ------
    LayerPlausibilityError
        Naming the layer, the variable or coordinate, the expected range or share and
        what was found: coordinates out of range or not ascending, an all-NaN variable, a
        variable with NaN holes inside the layer's land mask, or values outside the
        physical range of their units (:data:`RANGES`, :data:`CHANGE_RANGES`).

    References
    ----------
    WMO World Weather and Climate Extremes Archive, https://wmo.asu.edu (records cited in
    :data:`RANGES`).
    """
    label = f"layer {name!r}"
    _check_coordinates(ds, label)
    footprints: dict[tuple[str, ...], dict[str, np.ndarray]] = {}
    for var_name, var in ds.data_vars.items():  # each read once, one at a time
        if not np.issubdtype(var.dtype, np.number):
            continue
        values = np.asarray(var.values)
        if not np.issubdtype(values.dtype, np.floating):  # counts: small, compared as floats
            values = values.astype(float)
        finite = np.isfinite(values)
        if np.issubdtype(var.dtype, np.floating):
            if values.size and not finite.any():
                raise LayerPlausibilityError(
                    f"{label}: variable {var_name!r}: expected finite values, found all "
                    f"{values.size} NaN"
                )
            spatial = next((s for s in _SPATIAL if all(d in var.dims for d in s)), None)
            if spatial is not None:
                footprints.setdefault(spatial, {})[str(var_name)] = _footprint(var, finite, spatial)
        _check_range(str(var_name), var, values, finite, label)
        del values, finite
    for on_grid in footprints.values():
        _check_holes(on_grid, label)
    return ds
