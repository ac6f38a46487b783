"""Overlay of hazard layers on asset geometries: sample each layer at each asset (Exposure).

An Exposure is an ``xarray.Dataset`` with dims ``(asset_id, scenario, horizon,
[return_period], [quantile])``, one variable per sampled layer variable (``docs/design.md``).

Rules, per kind of layer and geometry:

- gridded layers (``lat``, ``lon``), points: the nearest cell centre along each axis (a
  point equidistant from two centres takes the lower index);
- gridded layers, lines and polygons: every cell whose box (edges half-way between centres)
  the geometry touches, reduced per variable as :data:`REDUCTION_BY_VARIABLE` declares --
  ``max`` for intensities, return levels and day counts (a conservative envelope: the worst
  part of the asset governs), ``worst_cell`` for the three GEV parameters of one metric, which
  are taken together from the touched cell with the largest 100-year return level so that
  they stay one coherent distribution (equal levels: the lowest flat cell index, row-major
  ``lat``, ``lon``); a line or polygon that touches no cell falls back to the nearest cell of a
  point on its surface (``shapely.point_on_surface``, computed for those geometries only);
- station layers (``station``): the station nearest to any part of the geometry by
  great-circle distance (haversine on a sphere of radius 6371.0088 km, the IUGG mean Earth
  radius), recorded per asset in the ``station`` coordinate with ``station_distance_km``.

An asset is outside the layer when it lies more than one grid spacing beyond the outermost
cell centres, or farther than ``max_station_distance_km`` from every station. Its values are
NaN, the ``outside_layer`` coordinate is True and the ids are listed in the
``assets_outside`` attribute: never silently wrong. On a grid, a point with a NaN coordinate
is outside.

Cost on grids (``assets.overlay_grid``): cells are found by ``searchsorted`` on the ascending
centres and values gathered with numpy indexing per variable, so time is O(N log M) and extra
memory about the Exposure itself; lines and polygons are reduced in chunks of pairs.
``bench/bench_overlay.py`` measures it (1 M points x 50 slices).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import shapely
import xarray as xr
from numpy.typing import NDArray

from assets.overlay_grid import nearest_cells, touched_cells
from hazard_models.extremes.gev import return_level
from hazard_models.layer import SchemaError, append_history, validate_hazard_layer

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["EARTH_RADIUS_KM", "REDUCTION_BY_VARIABLE", "sample_layer"]

Reduction = Literal["max", "worst_cell"]
EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius (Moritz 2000, Geodetic Reference System 1980)
_WORST_CELL_RETURN_PERIOD = 100.0  # years; ranks cells for the coherent choice of GEV params
_GEV_SUFFIXES = ("_gev_loc", "_gev_scale", "_gev_shape")
_CHUNK_VALUES = 2**22  # values gathered at once for lines/polygons (32 MiB of float64)

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


def _float_dtype(dtype: np.dtype) -> np.dtype:
    """Return the dtype that holds NaN for ``dtype`` (xarray's ``where`` promotion)."""
    if np.issubdtype(dtype, np.floating):
        return dtype
    if np.issubdtype(dtype, np.integer) and dtype.itemsize <= 2:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _group_starts(asset: NDArray, n_assets: int) -> tuple[NDArray, NDArray]:
    """Return the assets that have pairs and the position of each one's first pair."""
    counts = np.bincount(asset, minlength=n_assets)
    owners = np.flatnonzero(counts)
    sizes = counts[owners]
    return owners, (np.cumsum(sizes) - sizes).astype(np.intp)


def _chunks(starts: NDArray, per_pair: int) -> list[tuple[int, int]]:
    """Split groups into runs of whole groups of about ``_CHUNK_VALUES`` gathered values.

    ``per_pair`` is the number of values gathered per (asset, cell) pair (all slices of all
    variables); a single group larger than the budget makes a run of its own.
    """
    budget = max(_CHUNK_VALUES // max(per_pair, 1), 1)
    bounds, first = [], 0
    while first < starts.size:
        stop = int(np.searchsorted(starts, starts[first] + budget, side="left"))
        stop = max(stop, first + 1)
        bounds.append((first, stop))
        first = stop
    return bounds


def _first_worst(params: list[NDArray], starts: NDArray) -> NDArray:
    """Return, per group, the pair of the largest 100-year level (NaN last, ties: first)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        level = return_level(params[0], params[1], params[2], _WORST_CELL_RETURN_PERIOD)
    level = np.where(np.isnan(level), -np.inf, level)
    n_pairs = level.shape[-1]
    group = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, n_pairs]))
    worst = np.maximum.reduceat(level, starts, axis=-1)[..., group]
    position = np.where(level == worst, np.arange(n_pairs), n_pairs)
    return np.minimum.reduceat(position, starts, axis=-1)


def _reduce_groups(
    planes: dict[str, NDArray], cells: NDArray, starts: NDArray, gev_metrics: list[str]
) -> dict[str, NDArray]:
    """Reduce each group of pairs: ``max`` (NaN skipped) or the worst cell's GEV parameters.

    ``planes`` holds (slice, cell) arrays; ``cells`` the flat cell of each pair; ``starts``
    the first pair of each group. Returns (slice, group) arrays.
    """
    out: dict[str, NDArray] = {}
    for metric in gev_metrics:
        names = [f"{metric}{suffix}" for suffix in _GEV_SUFFIXES]
        params = [planes[n][:, cells] for n in names]
        first = _first_worst(params, starts)
        for name, values in zip(names, params, strict=True):
            out[name] = np.take_along_axis(values, first, axis=-1)
    for name, plane in planes.items():
        if name not in out:
            out[name] = np.fmax.reduceat(plane[:, cells], starts, axis=-1)
    return out


def _gev_metrics(names: Sequence[str]) -> list[str]:
    """Return the metrics whose three GEV parameters are all among ``names``."""
    stems = {n[: -len(_GEV_SUFFIXES[0])] for n in names if n.endswith(_GEV_SUFFIXES[0])}
    return sorted(m for m in stems if all(f"{m}{s}" in names for s in _GEV_SUFFIXES))


@dataclass(frozen=True)
class _Cells:
    """Where each asset is sampled: one cell (``single``) or groups of touched-cell pairs."""

    single: NDArray  # positions of assets sampled at one cell (points, and fallbacks)
    flat: NDArray  # their flat cell index (row-major lat, lon)
    outside: NDArray  # per asset: beyond the grid (values NaN)
    owners: NDArray  # assets with touched cells, ascending
    starts: NDArray  # first pair of each owner in ``pair_cell``
    pair_cell: NDArray  # flat cell index of each (asset, cell) pair
    touched: NDArray  # per asset: cells the values come from (0 when outside)


def _locate(geoms: NDArray, lat: NDArray, lon: NDArray) -> _Cells:
    """Find the cells of every asset: touched boxes for lines/polygons, else the nearest."""
    n_assets = geoms.size
    is_point = shapely.get_type_id(geoms) == 0
    others = np.flatnonzero(~is_point)
    pair_asset, pair_cell = touched_cells(geoms[others], lat, lon)
    pair_asset = others[pair_asset]
    single = np.ones(n_assets, dtype=bool)
    single[pair_asset] = False
    single_index = np.flatnonzero(single)
    geoms, is_point = geoms[single_index], is_point[single_index]
    if is_point.all():
        x, y = shapely.get_x(geoms), shapely.get_y(geoms)
    else:  # lines and polygons touching no cell: a point on their surface
        geoms = geoms.copy()
        geoms[~is_point] = shapely.point_on_surface(geoms[~is_point])
        x, y = shapely.get_x(geoms), shapely.get_y(geoms)
    i_lat, i_lon, outside_single = nearest_cells(x, y, lat, lon)
    outside = np.zeros(n_assets, dtype=bool)
    outside[single_index] = outside_single
    touched = np.bincount(pair_asset, minlength=n_assets)
    touched[single_index] = ~outside_single
    owners, starts = _group_starts(pair_asset, n_assets)
    flat = i_lat * lon.size + i_lon
    return _Cells(single_index, flat, outside, owners, starts, pair_cell, touched)


def _planes(layer: xr.Dataset) -> dict[str, NDArray]:
    """Return each variable as a (slice, cell) array that can hold NaN (a view if it can)."""
    planes = {}
    for name, var in layer.data_vars.items():
        values = np.asarray(var.transpose(..., "lat", "lon").values)
        values = values.reshape(-1, layer.sizes["lat"] * layer.sizes["lon"])
        planes[str(name)] = values.astype(_float_dtype(values.dtype), copy=False)
    return planes


def _gather(planes: dict[str, NDArray], cells: _Cells, n_assets: int) -> dict[str, NDArray]:
    """Return each variable's (slice, asset) values: gathered, or reduced over touched cells."""
    out = {}
    all_single = cells.single.size == n_assets
    for name, plane in planes.items():
        gathered = plane[:, cells.flat]  # numpy's gather: no (asset, cell) matrix
        gathered[:, cells.outside[cells.single]] = np.nan
        if all_single:
            out[name] = gathered
        else:
            out[name] = np.empty((plane.shape[0], n_assets), dtype=plane.dtype)
            out[name][:, cells.single] = gathered
    metrics = _gev_metrics(list(planes))
    per_pair = sum(p.shape[0] for p in planes.values())
    starts, n_pairs = cells.starts, cells.pair_cell.size
    for first, stop in _chunks(starts, per_pair):
        lo, hi = int(starts[first]), int(starts[stop]) if stop < starts.size else n_pairs
        chunk = _reduce_groups(planes, cells.pair_cell[lo:hi], starts[first:stop] - lo, metrics)
        for name, values in chunk.items():
            out[name][:, cells.owners[first:stop]] = values
    return out


def _sample_grid(layer: xr.Dataset, geoms: NDArray) -> tuple[xr.Dataset, NDArray]:
    """Sample a gridded layer: nearest cell for points, reduction over touched cells else.

    Values are gathered with numpy fancy indexing per variable plane (slice, cell), in chunks
    of about ``_CHUNK_VALUES`` for lines and polygons: no (asset, cell) matrix is built.
    """
    cells = _locate(geoms, layer["lat"].values, layer["lon"].values)
    out = _gather(_planes(layer), cells, geoms.size)
    data = {}
    for name, values in out.items():
        lead = tuple(str(d) for d in layer[name].dims if d not in ("lat", "lon"))
        shape = (*(layer.sizes[d] for d in lead), geoms.size)
        data[name] = xr.DataArray(values.reshape(shape), dims=(*lead, "asset_id"))
    coords = {k: v for k, v in layer.coords.items() if not {"lat", "lon"} & set(v.dims)}
    exposure = xr.Dataset(data, coords=coords)
    return exposure.assign_coords(cells_touched=("asset_id", cells.touched)), cells.outside


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
    if (shapely.get_type_id(geoms) == 0).all():  # points: their own nearest part
        x, y = shapely.get_x(geoms)[:, None], shapely.get_y(geoms)[:, None]
    else:
        stations = shapely.points(st_lon, st_lat)
        nearest = shapely.get_point(shapely.shortest_line(geoms[:, None], stations[None, :]), 0)
        x, y = shapely.get_x(nearest), shapely.get_y(nearest)
    distance = _haversine_km(x, y, st_lon, st_lat)
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
    # a pandas Index keeps pandas' string storage: no 1 M Python str objects (about 2 s)
    ids = pd.Index(assets["asset_id"].astype(str), name="asset_id")
    exposure = exposure.assign_coords(asset_id=ids, outside_layer=("asset_id", outside))
    exposure = exposure[names].transpose("asset_id", ...)
    for name in names:  # Variable objects of the new Dataset: attrs set in place
        attrs = {**layer[name].attrs, "spatial_reduction": reductions[name]}
        exposure.variables[name].attrs = attrs
    exposure.attrs = dict(layer.attrs)
    exposure.attrs["assets_outside"] = ", ".join(ids[outside])
    append_history(
        exposure.attrs, f"sample_layer: {ids.size} assets, {outside.sum()} outside; {rule}"
    )
    return exposure
