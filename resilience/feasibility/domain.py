"""Where a check can run: the domain the published layers cover, and the site's place in it.

The domain is not hard-coded: it is the intersection of the boxes in which each layer can be
sampled (``assets.overlay.sample_layer``'s rules). A gridded layer can be sampled up to one
grid spacing beyond its outermost cell centres; a station layer within 50 km of a station
(great-circle distance), whose box here is the stations' box widened by 50 km. The box of a
station layer is larger than the union of its 50 km discs, so a site inside the domain can
still be outside the station layer: ``sample_layer`` decides that, and the check reports it
with the same message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import xarray as xr

from assets.overlay import EARTH_RADIUS_KM
from resilience.feasibility.models import LayerDomain

__all__ = [
    "STATION_REACH_KM",
    "FeasibilityError",
    "layer_box",
    "layer_domain",
    "layer_extent",
    "outside_message",
    "validate_site",
]

STATION_REACH_KM = 50.0  # sample_layer's default max_station_distance_km
_KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0  # along a meridian


class FeasibilityError(ValueError):
    """A check cannot run: a layer is missing or the site is outside a layer or the domain."""


def _spacing(values: np.ndarray) -> float:
    return float(np.max(np.diff(values))) if values.size > 1 else 0.0


def layer_box(layer: xr.Dataset) -> tuple[float, float, float, float]:
    """Return the box (lon_min, lon_max, lat_min, lat_max) in which a layer can be sampled.

    Parameters
    ----------
    layer : xarray.Dataset
        A gridded (``lat``/``lon`` dims) or station (``station`` dim) HazardLayer.

    Returns
    -------
    tuple of float
        Degrees (WGS 84). Grid: cell centres widened by one spacing. Stations: their box
        widened by 50 km (1 degree of latitude = pi R / 180 km, R the IUGG mean Earth radius;
        a degree of longitude shrinks by cos(lat) at the station farthest from the equator).
    """
    lon, lat = np.asarray(layer["lon"].values, float), np.asarray(layer["lat"].values, float)
    if "station" in layer.dims:
        dlat = STATION_REACH_KM / _KM_PER_DEGREE
        widest = math.cos(math.radians(float(np.max(np.abs(lat)))))
        dlon = STATION_REACH_KM / (_KM_PER_DEGREE * max(widest, 1e-6))
    else:
        dlon, dlat = _spacing(lon), _spacing(lat)
    return (
        float(lon.min() - dlon),
        float(lon.max() + dlon),
        float(lat.min() - dlat),
        float(lat.max() + dlat),
    )


def layer_domain(layers: Mapping[str, xr.Dataset]) -> LayerDomain:
    """Return the intersection of the layers' samplable boxes.

    Parameters
    ----------
    layers : mapping of str to xarray.Dataset
        The HazardLayers a check uses.

    Returns
    -------
    LayerDomain
        Degrees (WGS 84), rounded to 1e-6; empty (min > max) if the layers do not overlap.
    """
    boxes = np.array([layer_box(layer) for layer in layers.values()])
    lon_min, lat_min = boxes[:, 0].max(), boxes[:, 2].max()
    lon_max, lat_max = boxes[:, 1].min(), boxes[:, 3].min()
    return LayerDomain(
        lon_min=round(float(lon_min), 6),
        lon_max=round(float(lon_max), 6),
        lat_min=round(float(lat_min), 6),
        lat_max=round(float(lat_max), 6),
        layers=sorted(layers),
    )


def layer_extent(layer: xr.Dataset) -> str:
    """Describe where a layer can be sampled, for error messages.

    Parameters
    ----------
    layer : xarray.Dataset
        A gridded (``lat``/``lon`` dims) or station (``station`` dim) HazardLayer.

    Returns
    -------
    str
        For a grid, its cell-centre box and the one-spacing margin that ``sample_layer``
        accepts; for stations, each station and the 50 km reach.
    """
    lon, lat = layer["lon"].values, layer["lat"].values
    if "station" in layer.dims:
        names = layer["station"].values
        where = ", ".join(
            f"{n} ({x:.3f} E, {y:.3f} N)" for n, x, y in zip(names, lon, lat, strict=True)
        )
        return f"a site within {STATION_REACH_KM:g} km of a station: {where}"
    return (
        f"a site within one grid spacing ({_spacing(lon):g} x {_spacing(lat):g} deg) of the "
        f"grid, cell centres {lon.min():.3f}-{lon.max():.3f} E, {lat.min():.3f}-{lat.max():.3f} N"
    )


def outside_message(name: str, layer: xr.Dataset, lon: float, lat: float) -> str:
    """Return the error for a site outside one layer, naming the layer and its extent."""
    message = (
        f"site ({lon:.3f} E, {lat:.3f} N) is outside the {name} layer: "
        f"expected {layer_extent(layer)}"
    )
    west, east, south, north = layer_box(layer)
    if west <= lat <= east and south <= lon <= north:
        message += f"; lat and lon look swapped (lon {lat:g}, lat {lon:g} would be inside)"
    return message


def validate_site(layers: Mapping[str, xr.Dataset], lon: float, lat: float) -> LayerDomain:
    """Return the layers' domain, or raise if the site is outside it.

    Parameters
    ----------
    layers : mapping of str to xarray.Dataset
        The HazardLayers a check uses.
    lon, lat : float
        The site, degrees (WGS 84).

    Returns
    -------
    LayerDomain
        The intersection of the layers' samplable boxes (:func:`layer_domain`).

    Raises
    ------
    FeasibilityError
        Naming the first layer (in the mapping's order) whose box excludes the site, its
        extent and the common domain; a hint when swapping lat and lon would fit.
    """
    domain = layer_domain(layers)
    for name, layer in layers.items():
        west, east, south, north = layer_box(layer)
        if not (west <= lon <= east and south <= lat <= north):
            raise FeasibilityError(
                f"{outside_message(name, layer, lon, lat)} (the published layers cover "
                f"{domain.lon_min:.3f}-{domain.lon_max:.3f} E, "
                f"{domain.lat_min:.3f}-{domain.lat_max:.3f} N)"
            )
    return domain
