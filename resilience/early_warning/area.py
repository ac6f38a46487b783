"""Warning areas: which grid cells stand for each district, and its CAP polygons.

A district is represented by the grid cells whose centre falls inside it; a district smaller
than a cell (Huangpu, Hongkou on a 0.1 degree grid) takes the cell nearest to it. CAP 1.2
polygons are "lat,lon" pairs separated by spaces, first point repeated last, at least four
points (OASIS CAP 1.2, section 3.2.4); each is simplified to at most ``max_points``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from resilience.early_warning.decision import AreaRef

if TYPE_CHECKING:
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

__all__ = ["DISTRICT_COLUMNS", "assign_cells", "cap_polygons", "district_areas"]

#: Columns the districts GeoDataFrame must have (EPSG:4326 geometry).
DISTRICT_COLUMNS: tuple[str, ...] = ("district_code", "name_zh", "name_en", "geometry")


def _check_districts(districts: gpd.GeoDataFrame) -> None:
    missing = [c for c in DISTRICT_COLUMNS if c not in districts.columns]
    if missing:
        raise ValueError(f"districts: expected columns {DISTRICT_COLUMNS}, missing {missing}")
    if districts.crs is not None and districts.crs.to_epsg() != 4326:
        raise ValueError(f"districts: expected CRS EPSG:4326, found {districts.crs}")


def assign_cells(
    lat: np.ndarray, lon: np.ndarray, districts: gpd.GeoDataFrame
) -> dict[str, np.ndarray]:
    """Return, per district code, the flat indices of the grid cells that represent it.

    Parameters
    ----------
    lat, lon : numpy.ndarray
        Cell-centre coordinates (1-D, degrees north / east); flat index = ``i_lat * nlon + i_lon``.
    districts : geopandas.GeoDataFrame
        Columns ``district_code``, ``name_zh``, ``name_en`` and EPSG:4326 ``geometry``.

    Returns
    -------
    dict of str to numpy.ndarray
        Cells whose centre lies in the district, or the single nearest cell if none does.
    """
    import shapely

    _check_districts(districts)
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    x, y = lon2.ravel(), lat2.ravel()
    points = shapely.points(x, y)
    cells: dict[str, np.ndarray] = {}
    for code, geom in zip(districts["district_code"], districts.geometry, strict=True):
        inside = np.flatnonzero(shapely.contains_xy(geom, x, y))
        if inside.size == 0:
            inside = np.array([int(np.argmin(shapely.distance(geom, points)))])
        cells[str(code)] = inside
    return cells


def _ring_text(ring: BaseGeometry, max_points: int) -> str | None:
    import shapely

    tolerance = 0.0005  # degrees (~50 m); doubled until the ring is small enough
    coords = np.asarray(ring.coords)
    while len(coords) > max_points:
        coords = np.asarray(shapely.simplify(ring, tolerance, preserve_topology=True).coords)
        tolerance *= 2
    if len(coords) < 4:
        return None
    if not np.array_equal(coords[0], coords[-1]):
        coords = np.vstack([coords, coords[:1]])
    return " ".join(f"{lat_:.4f},{lon_:.4f}" for lon_, lat_ in coords[:, :2])


def cap_polygons(geometry: BaseGeometry, *, max_points: int = 100) -> list[str]:
    """Return CAP polygons ("lat,lon lat,lon ...", closed) for a district boundary.

    Parameters
    ----------
    geometry : shapely Polygon or MultiPolygon
        Boundary in EPSG:4326 (lon, lat).
    max_points : int
        Largest number of points per polygon after simplification.

    Returns
    -------
    list of str
        One polygon per part holding at least 10 % of the area of the largest part (islands
        smaller than that are dropped), largest first; holes are dropped.
    """
    parts = list(getattr(geometry, "geoms", [geometry]))
    parts.sort(key=lambda p: p.area, reverse=True)
    largest = parts[0].area
    texts = [_ring_text(p.exterior, max_points) for p in parts if p.area >= 0.1 * largest]
    return [t for t in texts if t is not None]


def district_areas(districts: gpd.GeoDataFrame, *, max_points: int = 100) -> dict[str, AreaRef]:
    """Return the :class:`AreaRef` (code, names, CAP polygons) of every district by code."""
    _check_districts(districts)
    areas = {}
    for row in districts.itertuples(index=False):
        code = str(row.district_code)
        polygons = cap_polygons(row.geometry, max_points=max_points)
        areas[code] = AreaRef(
            code=code, name_zh=row.name_zh, name_en=row.name_en, polygons=polygons
        )
    return areas
