"""Inputs of impact-based criteria: the assets a rule covers and the levels they compare with.

* **Assets.** :func:`select_assets` keeps the inventory rows of a rule's asset types (and
  column equalities, e.g. ``station_level: underground``) that lie in the rule's districts
  (point in polygon, else the nearest district), with the grid cell nearest to each.
* **Asset levels.** :func:`asset_levels` gives each asset's level in the criterion variable's
  units: an inventory column (``ground_elevation_m``, m Wusong datum) or a catalogue field
  (``heat_threshold_degc``) plus an offset, raised to ``defence_column`` where that is higher.
  The defence rule is a bathtub assumption: river water reaches an asset behind a floodwall
  only once it is over the wall's design level (docs/warnings.md).
* **Layer levels.** :func:`layer_return_levels` reads a hazard layer's return levels at the
  forecast cells (nearest layer cell), and :func:`to_return_period` turns forecast values into
  local return periods: piecewise log-linear in the return period between the layer's nodes
  (exact at each node), linear from zero below the first node and extended along the last
  segment above the top one.
* **Names.** Each asset keeps its ``name`` (English texts) and a Chinese name for the zh-CN
  texts: the inventory's optional ``name_zh`` (:func:`.wording.asset_name_zh`), else ``name``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from resilience.early_warning.rule_models import AssetLevel, HazardRule, LayerLevel
from resilience.early_warning.wording import asset_name_zh

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "AssetTargets",
    "asset_levels",
    "layer_return_levels",
    "select_assets",
    "to_return_period",
]


@dataclass(frozen=True)
class AssetTargets:
    """The assets of one rule: ids, names, positions, districts and nearest forecast cell.

    ``name`` is the inventory's name (English texts); ``name_zh`` the name the Chinese texts
    use: the inventory's ``name_zh`` where given, else ``name`` (never empty).
    """

    asset_id: np.ndarray
    name: np.ndarray
    name_zh: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    district: np.ndarray
    cell: np.ndarray
    frame: gpd.GeoDataFrame

    def __len__(self) -> int:
        return int(self.asset_id.size)


def _district_of(frame: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> np.ndarray:
    """Return the district code of each asset's representative point (nearest if outside)."""
    import shapely

    points = frame.geometry.representative_point()
    x, y = points.x.to_numpy(), points.y.to_numpy()
    codes = np.full(len(frame), "", dtype=object)
    for code, geom in zip(districts["district_code"], districts.geometry, strict=True):
        codes[shapely.contains_xy(geom, x, y) & (codes == "")] = str(code)
    for i in np.flatnonzero(codes == ""):
        distance = shapely.distance(districts.geometry.values, shapely.points(x[i], y[i]))
        codes[i] = str(districts["district_code"].iloc[int(np.argmin(distance))])
    return codes


def _names_zh(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Return the Chinese name of each asset: ``name_zh`` if the column has one, else ``name``."""
    names = frame["name"].astype(str).to_numpy()
    if "name_zh" not in frame.columns:
        return names
    given = frame["name_zh"].to_numpy(object)
    kinds = frame["asset_type"].astype(str).to_numpy()
    return np.array(
        [asset_name_zh(z, n, k) for z, n, k in zip(given, names, kinds, strict=True)], dtype=object
    )


def _nearest_cells(lat: np.ndarray, lon: np.ndarray, grid_lat, grid_lon) -> np.ndarray:
    """Flat index ``i_lat * nlon + i_lon`` of the grid cell nearest each point."""
    i = np.abs(np.asarray(grid_lat)[None, :] - lat[:, None]).argmin(axis=1)
    j = np.abs(np.asarray(grid_lon)[None, :] - lon[:, None]).argmin(axis=1)
    return i * len(grid_lon) + j


def select_assets(
    rule: HazardRule,
    assets: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    *,
    codes: list[str],
    grid: tuple[np.ndarray, np.ndarray],
) -> AssetTargets:
    """Return the assets an impact rule covers, in inventory order.

    Parameters
    ----------
    rule : HazardRule
        A rule with an ``assets`` selection.
    assets : geopandas.GeoDataFrame
        Inventory (Assets contract, EPSG:4326), with any extra columns ``where`` names and,
        optionally, ``name_zh`` (Chinese names; blank or missing: ``name`` is used).
    districts : geopandas.GeoDataFrame
        ``district_code`` and EPSG:4326 geometry.
    codes : list of str
        District codes the rule covers.
    grid : (numpy.ndarray, numpy.ndarray)
        Forecast ``lat`` and ``lon`` (degrees), for the nearest cell of each asset.

    Raises
    ------
    ValueError
        If a column named in ``assets.where`` is not in the inventory.
    """
    selection = rule.assets
    if selection is None:
        raise ValueError(f"rule {rule.id!r}: not an asset rule")
    keep = assets["asset_type"].isin(selection.types).to_numpy().copy()
    for column, value in selection.where.items():
        if column not in assets.columns:
            raise ValueError(
                f"rule {rule.id!r}: assets.where needs inventory column {column!r}, "
                f"which the inventory does not have"
            )
        keep &= (assets[column].astype(str) == value).to_numpy()
    frame = assets[keep]
    district = _district_of(frame, districts) if len(frame) else np.array([], dtype=object)
    inside = np.isin(district, codes)
    frame, district = frame[inside], district[inside]
    points = frame.geometry.representative_point()
    lat, lon = points.y.to_numpy(float), points.x.to_numpy(float)
    return AssetTargets(
        asset_id=frame["asset_id"].astype(str).to_numpy(),
        name=frame["name"].astype(str).to_numpy(),
        name_zh=_names_zh(frame),
        lat=lat,
        lon=lon,
        district=district,
        cell=_nearest_cells(lat, lon, grid[0], grid[1]),
        frame=frame,
    )


def asset_levels(targets: AssetTargets, reference: AssetLevel, *, rule_id: str) -> np.ndarray:
    """Return each asset's level (asset,), in the units of the criterion's variable.

    ``column`` or catalogue field, plus ``offset``; at least ``defence_column`` where given
    and not NaN. An asset whose level is NaN never reaches any threshold.

    Raises
    ------
    ValueError
        If a column is missing from the inventory.
    """
    from assets.catalogue import ASSET_TYPES

    frame = targets.frame
    for column in (reference.column, reference.defence_column):
        if column is not None and column not in frame.columns:
            raise ValueError(f"rule {rule_id!r}: asset_level needs inventory column {column!r}")
    if reference.column is not None:
        base = frame[reference.column].to_numpy(float)
    else:
        field = str(reference.catalogue)
        base = np.array([getattr(ASSET_TYPES[t], field) for t in frame["asset_type"]], float)
    level = base + reference.offset
    if reference.defence_column is not None:
        defence = frame[reference.defence_column].to_numpy(float)
        level = np.where(np.isnan(defence), level, np.fmax(level, defence))
    return level


def layer_return_levels(
    layer: xr.Dataset,
    reference: LayerLevel,
    *,
    window_h: int,
    grid: tuple[np.ndarray, np.ndarray],
    rule_id: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (return periods (period,), levels (period, cell)) at the forecast cells.

    A ``duration`` dim (minutes) is selected at ``window_h * 60``; a variable in mm/h is then
    multiplied by ``window_h`` to give the depth (mm) the rolling sum is compared with.
    Forecast cells farther than one layer cell from the layer's grid get NaN levels.

    Raises
    ------
    ValueError
        Naming the rule and the layer when the variable, a selected coordinate or the
        duration is missing, or the variable lacks ``return_period``, ``lat`` or ``lon``.
    """
    where = f"rule {rule_id!r}: layer {reference.layer!r}"
    if reference.variable not in layer:
        raise ValueError(f"{where}: no variable {reference.variable!r}")
    var = layer[reference.variable]
    try:
        var = var.sel(reference.select)
        if "duration" in var.dims:
            var = var.sel(duration=float(window_h * 60))
    except KeyError as exc:
        raise ValueError(f"{where}: cannot select {exc} (duration {window_h * 60} min)") from exc
    missing = {"return_period", "lat", "lon"} - set(var.dims)
    if missing or set(var.dims) != {"return_period", "lat", "lon"}:
        raise ValueError(
            f"{where}: expected dims (return_period, lat, lon) after selection, found {var.dims}"
        )
    factor = float(window_h) if var.attrs.get("units") == "mm/h" else 1.0
    lat2, lon2 = np.meshgrid(grid[0], grid[1], indexing="ij")
    step = max(float(np.abs(np.diff(var["lat"].values)).max(initial=0.1)), 1e-6)
    picked = _nearest(var, lat2.ravel(), lon2.ravel(), step)
    levels = picked.transpose("return_period", "cell").values * factor
    return var["return_period"].values.astype(float), levels


def _nearest(var: xr.DataArray, lat: np.ndarray, lon: np.ndarray, step: float) -> xr.DataArray:
    """Values at the nearest layer cell; NaN farther than ``step`` degrees in lat or lon."""
    out = var.sel(
        lat=xr.DataArray(lat, dims="cell"), lon=xr.DataArray(lon, dims="cell"), method="nearest"
    )
    far = (np.abs(out["lat"].values - lat) > step) | (np.abs(out["lon"].values - lon) > step)
    return out.where(xr.DataArray(~far, dims="cell"))


def to_return_period(values: np.ndarray, levels: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Return the local return period (years) of each value.

    Parameters
    ----------
    values : numpy.ndarray
        (..., cell) forecast values in the levels' units.
    levels : numpy.ndarray
        (period, cell) return levels, increasing with the period; cast to ``values.dtype``
        so that a value equal to a level sits exactly on its node.
    periods : numpy.ndarray
        (period,) return periods, years, increasing (at least two).

    Returns
    -------
    numpy.ndarray
        Same shape as ``values``, float64: ``periods[k]`` exactly at ``levels[k]``;
        ``T_k (T_k+1 / T_k) ** ((x - L_k) / (L_k+1 - L_k))`` between nodes (the last
        segment's slope beyond the top node); ``T_0 x / L_0`` below the first; NaN where the
        levels are NaN.
    """
    lv = np.asarray(levels).astype(values.dtype)
    count = (values[..., None] >= np.moveaxis(lv, 0, -1)).sum(axis=-1)  # nodes at or below
    n = len(periods)
    base = np.clip(count - 1, 0, n - 1)
    low = np.clip(base, 0, n - 2)
    cells = np.arange(lv.shape[1])
    node = lv[base, cells].astype(float)
    span = lv[low + 1, cells].astype(float) - lv[low, cells].astype(float)
    ratio = periods[low + 1] / periods[low]
    with np.errstate(divide="ignore", invalid="ignore"):
        above = periods[base] * ratio ** ((values - node) / span)
        below = periods[0] * values / lv[0, cells].astype(float)
    out = np.where(count == 0, below, above)
    return np.where(np.isnan(lv).any(axis=0), np.nan, out)
