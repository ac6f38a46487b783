"""Overlay of hazard layers on asset geometries: sample each layer at each asset (Exposure).

An Exposure is an ``xarray.Dataset`` with dims ``(asset_id, scenario, horizon,
[return_period], [quantile])``, one variable per sampled layer variable (``docs/design.md``).

Rules, per kind of layer and geometry:

- gridded layers (``lat``, ``lon``), points: the nearest cell centre;
- gridded layers, lines and polygons: every cell whose box (edges half-way between centres)
  the geometry touches, reduced per variable as :data:`REDUCTION_BY_VARIABLE` declares --
  ``max`` for intensities, return levels and day counts (a conservative envelope: the worst
  part of the asset governs), ``worst_cell`` for the three GEV parameters of one metric, which
  are taken together from the touched cell with the largest 100-year return level so that
  they stay one coherent distribution; a line or polygon that touches no cell falls back to
  the nearest cell of a point on its surface;
- station layers (``station``): the station nearest to any part of the geometry by
  great-circle distance (haversine on a sphere of radius 6371.0088 km, the IUGG mean Earth
  radius), recorded per asset in the ``station`` coordinate with ``station_distance_km``.

An asset is outside the layer when it lies more than one grid spacing beyond the outermost
cell centres, or farther than ``max_station_distance_km`` from every station. Its values are
NaN, the ``outside_layer`` coordinate is True and the ids are listed in the
``assets_outside`` attribute: never silently wrong.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import shapely
import xarray as xr
from numpy.typing import NDArray

from hazard_models.extremes.gev import return_level
from hazard_models.layer import SchemaError, append_history, validate_hazard_layer

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["EARTH_RADIUS_KM", "REDUCTION_BY_VARIABLE", "sample_layer"]

Reduction = Literal["max", "worst_cell"]
EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius (Moritz 2000, Geodetic Reference System 1980)
_WORST_CELL_RETURN_PERIOD = 100.0  # years; ranks cells for the coherent choice of GEV params
_GEV_SUFFIXES = ("_gev_loc", "_gev_scale", "_gev_shape")

#: Reduction of touched cells for lines and polygons, per variable of docs/decisions.md D2.
#: Variables not listed use ``max`` (intensities).
REDUCTION_BY_VARIABLE: dict[str, Reduction] = {
    "tx_days_above_35": "max",
    "txx": "max",
    "rx1day": "max",
    "rainstorm_days": "max",
    "prcptot": "max",
    **{
        f"{metric}{suffix}": "worst_cell"
        for metric in ("txx", "rx1day")
        for suffix in _GEV_SUFFIXES
    },
}


def _spacing(values: NDArray, axis: str) -> float:
    if values.size < 2:
        raise SchemaError(f"{axis}: expected at least 2 grid cells to infer the spacing, found 1")
    return float(np.max(np.diff(values)))


def _edges(centres: NDArray) -> tuple[NDArray, NDArray]:
    """Return lower and upper cell edges, half-way between centres."""
    mid = (centres[1:] + centres[:-1]) / 2.0
    lower = np.concatenate([[centres[0] - (centres[1] - centres[0]) / 2.0], mid])
    upper = np.concatenate([mid, [centres[-1] + (centres[-1] - centres[-2]) / 2.0]])
    return lower, upper


def _nearest_cells(x: NDArray, y: NDArray, lat: NDArray, lon: NDArray) -> tuple[NDArray, NDArray]:
    """Return the flat index of the nearest cell and whether each point is outside the grid."""
    i_lat = np.abs(lat[None, :] - y[:, None]).argmin(axis=1)
    i_lon = np.abs(lon[None, :] - x[:, None]).argmin(axis=1)
    dlat, dlon = _spacing(lat, "lat"), _spacing(lon, "lon")
    outside = (
        (y < lat[0] - dlat) | (y > lat[-1] + dlat) | (x < lon[0] - dlon) | (x > lon[-1] + dlon)
    )
    return i_lat * lon.size + i_lon, outside


def _cell_matrix(geoms: NDArray, lat: NDArray, lon: NDArray) -> tuple[NDArray, NDArray]:
    """Return an (asset, k) matrix of flat cell indices (-1 = padding) and the outside mask."""
    lat_lo, lat_hi = _edges(lat)
    lon_lo, lon_hi = _edges(lon)
    boxes = shapely.box(
        np.tile(lon_lo, lat.size),
        np.repeat(lat_lo, lon.size),
        np.tile(lon_hi, lat.size),
        np.repeat(lat_hi, lon.size),
    )
    is_point = shapely.get_type_id(geoms) == 0
    pairs = np.empty((2, 0), dtype=int)
    if (~is_point).any():
        pairs = shapely.STRtree(boxes).query(geoms, predicate="intersects")
        pairs = pairs[:, ~is_point[pairs[0]]]
    counts = np.bincount(pairs[0], minlength=geoms.size)
    anchor = np.where(is_point, geoms, shapely.point_on_surface(geoms))
    nearest, outside = _nearest_cells(shapely.get_x(anchor), shapely.get_y(anchor), lat, lon)
    matrix = np.full((geoms.size, max(int(counts.max(initial=0)), 1)), -1, dtype=int)
    order = np.argsort(pairs[0], kind="stable")
    asset, cell = pairs[0][order], pairs[1][order]
    rank = np.arange(asset.size) - np.concatenate([[0], np.cumsum(counts)])[asset]
    matrix[asset, rank] = cell
    single = counts == 0
    matrix[single, 0] = np.where(outside[single], -1, nearest[single])
    outside = outside & single
    return matrix, outside


def _worst_cell(sampled: xr.Dataset, metric: str) -> dict[str, xr.DataArray]:
    """Pick the three GEV parameters of ``metric`` from the cell with the largest return level."""
    names = [f"{metric}{suffix}" for suffix in _GEV_SUFFIXES]
    arrays = [sampled[n].transpose(..., "cell") for n in names]
    params = [a.values for a in arrays]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        level = return_level(params[0], params[1], params[2], _WORST_CELL_RETURN_PERIOD)
    index = np.nanargmax(np.where(np.isnan(level), -np.inf, level), axis=-1)[..., None]
    out = {}
    for name, array, values in zip(names, arrays, params, strict=True):
        picked = np.take_along_axis(values, index, axis=-1)[..., 0]
        out[name] = xr.DataArray(picked, dims=array.dims[:-1], attrs=array.attrs)
    return out


def _sample_grid(layer: xr.Dataset, geoms: NDArray) -> tuple[xr.Dataset, NDArray]:
    lat, lon = layer["lat"].values, layer["lon"].values
    matrix, outside = _cell_matrix(geoms, lat, lon)
    valid = xr.DataArray(matrix >= 0, dims=("asset_id", "cell"))
    safe = np.where(matrix >= 0, matrix, 0)
    sampled = layer.isel(
        lat=xr.DataArray(safe // lon.size, dims=("asset_id", "cell")),
        lon=xr.DataArray(safe % lon.size, dims=("asset_id", "cell")),
    ).drop_vars(["lat", "lon"])
    sampled = sampled.where(valid)
    reduced: dict[str, xr.DataArray] = {}
    gev_metrics = {
        str(n)[: -len("_gev_loc")]
        for n in sampled.data_vars
        if str(n).endswith("_gev_loc")
        and all(f"{str(n)[: -len('_gev_loc')]}{s}" in sampled for s in _GEV_SUFFIXES)
    }
    for metric in sorted(gev_metrics):
        reduced.update(_worst_cell(sampled, metric))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows of assets outside
        for name, var in sampled.data_vars.items():
            if name not in reduced:
                reduced[str(name)] = var.max("cell", skipna=True, keep_attrs=True)
    out = xr.Dataset(
        reduced, coords={k: v for k, v in sampled.coords.items() if "cell" not in v.dims}
    )
    return out.assign_coords(cells_touched=("asset_id", valid.sum("cell").values)), outside


def _haversine_km(lon1: NDArray, lat1: NDArray, lon2: NDArray, lat2: NDArray) -> NDArray:
    """Great-circle distance (km) on a sphere (Sinnott 1984, Sky & Telescope 68:159)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi, dlam = phi2 - phi1, np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _sample_stations(
    layer: xr.Dataset, geoms: NDArray, max_distance_km: float
) -> tuple[xr.Dataset, NDArray]:
    for coord in ("lat", "lon"):
        if coord not in layer.coords or layer[coord].dims != ("station",):
            raise SchemaError(f"station layer: expected a {coord!r} coordinate on dim station")
    st_lon, st_lat = layer["lon"].values, layer["lat"].values
    stations = shapely.points(st_lon, st_lat)
    nearest = shapely.get_point(shapely.shortest_line(geoms[:, None], stations[None, :]), 0)
    distance = _haversine_km(shapely.get_x(nearest), shapely.get_y(nearest), st_lon, st_lat)
    index = distance.argmin(axis=1)
    best = distance[np.arange(geoms.size), index]
    outside = best > max_distance_km
    sampled = layer.isel(station=xr.DataArray(index, dims="asset_id"))
    sampled = sampled.rename({"lat": "station_lat", "lon": "station_lon"})
    sampled = sampled.where(xr.DataArray(~outside, dims="asset_id"))
    return sampled.assign_coords(station_distance_km=("asset_id", best)), outside


def _selected(layer: xr.Dataset, variables: Sequence[str] | None) -> list[str]:
    spatial = [str(n) for n, v in layer.data_vars.items() if {"lat", "station"} & set(v.dims)]
    if variables is None:
        return spatial
    unknown = [v for v in variables if v not in layer.data_vars]
    if unknown:
        raise SchemaError(
            f"sample_layer: variables {unknown} not in layer {layer.attrs.get('hazard')!r}; "
            f"expected some of {sorted(map(str, layer.data_vars))}"
        )
    flat = [v for v in variables if v not in spatial]
    if flat:
        raise SchemaError(f"sample_layer: variables {flat} have no lat/lon or station dim")
    return list(variables)


def _check_assets(assets: gpd.GeoDataFrame) -> NDArray:
    if "asset_id" not in assets.columns or "geometry" not in assets.columns:
        raise SchemaError("assets: expected columns 'asset_id' and 'geometry'")
    if assets.crs is None or assets.crs.to_epsg() != 4326:
        raise SchemaError(f"assets: expected CRS EPSG:4326, found {assets.crs}")
    geoms = np.asarray(assets.geometry.values, dtype=object)
    bad = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if bad.size:
        raise SchemaError(f"assets: rows {(bad + 1).tolist()} have a missing or empty geometry")
    return geoms


def sample_layer(
    layer: xr.Dataset,
    assets: gpd.GeoDataFrame,
    *,
    variables: Sequence[str] | None = None,
    max_station_distance_km: float = 50.0,
) -> xr.Dataset:
    """Sample a hazard layer at every asset and return the Exposure.

    Parameters
    ----------
    layer : xarray.Dataset
        A valid HazardLayer (``hazard_models.layer``), gridded or station-based.
    assets : geopandas.GeoDataFrame
        EPSG:4326 frame with ``asset_id`` and point, line or polygon ``geometry``.
    variables : sequence of str, optional
        Layer variables to sample; default every variable with a spatial dim.
    max_station_distance_km : float, optional
        Station layers only: assets farther (km) from every station are outside.

    Returns
    -------
    xarray.Dataset
        Dims ``(asset_id, scenario, horizon, [return_period], [quantile])``; variables keep
        ``units``, ``long_name`` and ``method`` and gain ``spatial_reduction``. Coordinates
        ``outside_layer`` (bool), and ``cells_touched`` (grids) or ``station``,
        ``station_name``, ``station_lat``, ``station_lon``, ``station_distance_km``
        (stations). Global attrs: the layer's, ``assets_outside`` (comma-separated ids) and
        an appended ``history``.

    Raises
    ------
    SchemaError
        If the layer breaks its contract, a variable is unknown, or the assets lack
        ``asset_id``/geometry or are not in EPSG:4326.
    """
    validate_hazard_layer(layer)
    geoms = _check_assets(assets)
    names = _selected(layer, variables)
    subset = layer[names]
    if "station" in subset.dims:
        exposure, outside = _sample_stations(subset, geoms, max_station_distance_km)
        rule = "nearest station (great-circle distance)"
        reductions = dict.fromkeys(names, "nearest_station")
    else:
        exposure, outside = _sample_grid(subset, geoms)
        rule = "points: nearest cell; lines/polygons: reduction over touched cells"
        reductions = {n: REDUCTION_BY_VARIABLE.get(n, "max") for n in names}
    ids = assets["asset_id"].astype(str).to_numpy()
    exposure = exposure.assign_coords(asset_id=ids, outside_layer=("asset_id", outside))
    for name in names:
        var = exposure[name].transpose("asset_id", ...)
        var.attrs = dict(layer[name].attrs)
        var.attrs["spatial_reduction"] = reductions[name]
        exposure[name] = var
    exposure = exposure[names].transpose("asset_id", ...)
    exposure.attrs = dict(layer.attrs)
    exposure.attrs["assets_outside"] = ", ".join(ids[outside])
    append_history(
        exposure.attrs, f"sample_layer: {ids.size} assets, {outside.sum()} outside; {rule}"
    )
    return exposure
