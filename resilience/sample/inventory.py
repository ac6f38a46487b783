"""Build the real Shanghai asset inventory from the files shipped in ``resilience/data``.

Positions are real (metro stations, OpenFlights airports and railway stations, and a table of
hospitals, substations, water plants, tunnels and bridges compiled from public knowledge);
the attributes are derived by the documented rules below. ``docs/inventory.md`` explains
every rule, the accuracy of every source, and what is UNCONFIRMED.

Sources
-------
[DOM]  Domain brief ``docs/domain.md`` (copied facts cited by section):
       2.1 Huangpu floodwall 1000-yr design levels 5.86 m (Huangpu Park) and 6.27 m
       (Wusongkou), Minhang upstream wall crest 5.24 m, Suzhou Creek design high water 4.79 m
       under a 5.20 m crest; 2.2 seawalls 100-yr (rural, urbanised) and >= 200-yr (most of
       Pudong, all of Jinshan); 2.3 central natural ground 2.5-4.5 m (Wusong datum).
[HP100] soolun.net/periodical/58a467f3054086653c10247244f58f18.html: the pre-upgrade
       Huangpu Park standard, "below 100-yr (tide level 5.24 m)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from assets.catalogue import ASSET_TYPES
from assets.inventory import INVENTORY_COLUMNS, validate_inventory
from hazard_models.layer import SchemaError
from resilience.geodata.geography import EARTH_RADIUS_KM, data_path, nearest_valid_cells
from resilience.sample.supply import sample_dependencies

if TYPE_CHECKING:
    import geopandas as gpd
    import xarray as xr

__all__ = [
    "CENTRAL_DISTRICTS",
    "DEFAULT_DEM_TO_WUSONG_OFFSET_M",
    "DEFENCES",
    "Defence",
    "assign_defence",
    "build_inventory",
]

#: DEM value + offset = ground level on the Wusong datum. UNCONFIRMED: the DEM's datum is
#: undocumented and domain.md gives no official Wusong<->1985 offset. 0.0 m is chosen because
#: the DEM's median over the suburban districts (3-5 m) already matches Shanghai's documented
#: natural ground (2.5-4.5 m central, ~3-5 m elsewhere, Wusong) [DOM 2.3]; docs/inventory.md.
DEFAULT_DEM_TO_WUSONG_OFFSET_M = 0.0
#: The seven central urban districts (adcodes), where the DEM reads building tops (6-10 m).
CENTRAL_DISTRICTS = frozenset(
    {"310101", "310104", "310105", "310106", "310107", "310109", "310110"}
)
#: Central-area natural ground level range, m Wusong [DOM 2.3].
CENTRAL_GROUND_RANGE_M = (2.5, 4.5)
_PUDONG, _BAOSHAN, _JINSHAN, _CHONGMING = "310115", "310113", "310116", "310151"
#: Seawall reaches at the >= 200-yr standard [DOM 2.2]; other reaches are taken as 100-yr.
_SEAWALL_200_DISTRICTS = frozenset({_PUDONG, _JINSHAN})


@dataclass(frozen=True)
class Defence:
    """A flood defence line and the design still-water level it holds (m, Wusong datum)."""

    label: str
    return_period_years: float
    design_level_m: float
    confirmed: bool
    source: str


DEFENCES: dict[str, Defence] = {
    "huangpu_urban": Defence(
        "Huangpu floodwall, urban reach, 1000-yr (Huangpu Park)", 1000, 5.86, True, "[DOM 2.1]"
    ),
    "huangpu_mouth": Defence(
        "Huangpu floodwall, mouth reach, 1000-yr (Wusongkou)", 1000, 6.27, True, "[DOM 2.1]"
    ),
    "huangpu_upstream": Defence(
        "Huangpu upstream reach / regional defences (basin 100-yr)",
        100,
        4.83,
        False,
        "UNCONFIRMED: Minhang upstream crest 5.24 m [DOM 2.1] minus the 0.41 m freeboard of "
        "Suzhou Creek (5.20 - 4.79 m) [DOM 2.1]",
    ),
    "seawall_100": Defence(
        "Seawall, 100-yr tide",
        100,
        5.65,
        False,
        "UNCONFIRMED: Wusongkou 6.27 m 1000-yr level [DOM 2.1] minus the 100->1000-yr step at "
        "Huangpu Park (5.86 - 5.24 m) [HP100]; Hangzhou Bay reaches may differ",
    ),
    "seawall_200": Defence(
        "Seawall, 200-yr tide",
        200,
        5.84,
        False,
        "UNCONFIRMED: seawall_100 + 0.62 m x log10(2) (Gumbel step per decade of return period "
        "from [HP100] and [DOM 2.1]); Hangzhou Bay reaches may differ",
    ),
}

#: Criticality before modifiers (rule in docs/inventory.md): tier "major" +1, "minor" -1;
#: metro stations +1 per extra line; clipped to 1-5.
_BASE_CRITICALITY = {
    "airport": 5,
    "railway_station": 4,
    "metro_station": 3,
    "hospital": 4,
    "substation": 4,
    "water_plant": 4,
    "tunnel": 4,
    "bridge": 4,
}
#: Rough replacement value per asset, CNY (ASSUMPTION, order of magnitude only; see docs).
_BASE_VALUE_CNY = {
    "airport": 2e10,
    "railway_station": 1e9,
    "metro_station": 5e8,
    "hospital": 2e9,
    "substation": 1e9,
    "water_plant": 1e9,
    "tunnel": 3e9,
    "bridge": 2e9,
}
_TIER_VALUE_FACTOR = {"major": 5.0, "standard": 1.0, "minor": 0.3}
_TIER_CRITICALITY_STEP = {"major": 1, "standard": 0, "minor": -1}
_METRO_LEVEL = {"地下": "underground", "高架": "elevated", "地面": "at_grade"}
_METRO_LEVEL_VALUE_FACTOR = {"underground": 1.0, "elevated": 0.5, "at_grade": 0.3, "unknown": 1.0}
#: Same-name metro stations that are separate stations (Pudian Road on lines 4 and 6 is two
#: unconnected stations ~0.4 km apart, public knowledge).
_DISTINCT_SAME_NAME = frozenset({"浦电路"})
#: OpenFlights rows kept: id -> (asset_type, tier, owner, Chinese name). Others are dropped:
#: Longhua airfield (closed 2011), metro stations (already in the metro file), places outside
#: Shanghai. The Chinese names are the official station and airport names (public knowledge;
#: OpenFlights has English names only).
_OPENFLIGHTS_KEEP = {
    3391: ("airport", "standard", "Shanghai Airport Authority", "上海虹桥国际机场"),
    3406: ("airport", "major", "Shanghai Airport Authority", "上海浦东国际机场"),
    9034: ("railway_station", "major", "China Railway Shanghai Group", "上海站"),
    11725: ("railway_station", "major", "China Railway Shanghai Group", "上海虹桥站"),
    9058: ("railway_station", "standard", "China Railway Shanghai Group", "上海南站"),
    10616: ("railway_station", "standard", "China Railway Shanghai Group", "上海西站"),
    10619: ("railway_station", "standard", "China Railway Shanghai Group", "松江南站"),
    10620: ("railway_station", "standard", "China Railway Shanghai Group", "金山北站"),
    10614: ("railway_station", "standard", "China Railway Shanghai Group", "安亭北站"),
    10615: ("railway_station", "standard", "China Railway Shanghai Group", "南翔北站"),
    9069: (
        "railway_station",
        "standard",
        "Shanghai Maglev Transportation Development Co.",
        "磁浮龙阳路站",
    ),
    10731: (
        "railway_station",
        "standard",
        "Shanghai Maglev Transportation Development Co.",
        "磁浮浦东国际机场站",
    ),
}
_METRO_SOURCE = (
    "yaozhou/trans@12593b4d js/line.js + data/train/base/station.txt (NO LICENCE STATED), "
    "network as of ~2017"
)
_METRO_LOCATION = (
    "Baidu BD-09 map position converted to WGS-84 (public approximation, < 10 m added error); "
    "mean over lines for transfer stations"
)


def _metro_assets() -> pd.DataFrame:
    """Return one row per metro station (transfer stations merged, lines listed)."""
    raw = pd.read_csv(data_path("assets", "shanghai_metro_stations_2017.csv"), dtype={"st_no": str})
    raw["key"] = raw["station_name_zh"].where(
        ~raw["station_name_zh"].isin(_DISTINCT_SAME_NAME),
        raw["station_name_zh"] + "#" + raw["line_no"].astype(str),
    )
    branch = {name: k for k, name in enumerate(raw["line_direction_name"].unique())}
    rows = []
    for _, group in raw.groupby("key", sort=False):
        first = group.iloc[0]
        numbers = sorted(group["st_no"].dropna())  # official station numbers, e.g. 0113
        fallback = (
            f"{first['line_no']:02d}-b{branch[first['line_direction_name']]}-{first['seq']:02d}"
        )
        english = group["station_name_en"].dropna()
        lines = sorted(group["line_no"].unique())
        level = group["level_zh"].dropna()
        rows.append(
            {
                "asset_id": f"metro-{numbers[0] if numbers else fallback}",
                "name": re.sub(r"(?<=[a-z])(?=[A-Z])", " ", english.iloc[0])
                if len(english)
                else first["station_name_zh"],
                "name_zh": first["station_name_zh"],
                "asset_type": "metro_station",
                "tier": "standard",
                "owner_agency": "Shanghai Shentong Metro Group",
                "lon": group["lng_wgs84_approx"].mean(),
                "lat": group["lat_wgs84_approx"].mean(),
                "lines": ";".join(str(n) for n in lines),
                "station_level": _METRO_LEVEL.get(level.iloc[0], "unknown")
                if len(level)
                else "unknown",
                "source": _METRO_SOURCE,
                "location_source": _METRO_LOCATION,
                "location_accuracy_m": 200.0,
            }
        )
    return pd.DataFrame(rows)


def _openflights_assets() -> pd.DataFrame:
    """Return the airports and railway stations kept from the OpenFlights extract."""
    raw = pd.read_csv(data_path("assets", "shanghai_area_airports_stations_openflights.csv"))
    kept = raw[raw["openflights_id"].isin(_OPENFLIGHTS_KEEP)]
    rows = []
    for _, row in kept.iterrows():
        asset_type, tier, owner, name_zh = _OPENFLIGHTS_KEEP[int(row["openflights_id"])]
        code = row["iata"] if isinstance(row["iata"], str) else str(row["openflights_id"])
        rows.append(
            {
                "asset_id": f"{'airport' if asset_type == 'airport' else 'rail'}-{code.lower()}",
                "name": row["name"],
                "name_zh": name_zh,
                "asset_type": asset_type,
                "tier": tier,
                "owner_agency": owner,
                "lon": row["lon"],
                "lat": row["lat"],
                "source": f"OpenFlights airports-extended.dat id {row['openflights_id']} "
                "(jpatokal/openflights@5a036025, ODbL 1.0)",
                "location_source": f"OpenFlights position ({row['source']}-contributed); accuracy "
                "not stated, assumed +-1 km",
                "location_accuracy_m": 1000.0,
            }
        )
    return pd.DataFrame(rows)


def _facility_assets() -> pd.DataFrame:
    """Return the hospitals, substations, water plants, tunnels and bridges table."""
    raw = pd.read_csv(data_path("assets", "shanghai_facilities.csv"), dtype={"voltage_kv": str})
    frame = raw.rename(columns={"facility_id": "asset_id"})
    frame["source"] = (
        "resilience/data/assets/shanghai_facilities.csv (compiled from public knowledge)"
    )
    frame["location_accuracy_m"] = frame["location_accuracy_m"].astype(float)
    return frame.drop(columns=["notes", "voltage_kv"])


def _distance_km(
    lon_a: np.ndarray, lat_a: np.ndarray, lon_b: np.ndarray, lat_b: np.ndarray
) -> np.ndarray:
    """Return the (len(a), len(b)) matrix of local equirectangular distances, km."""
    cos_lat = np.cos(np.radians((lat_a[:, None] + lat_b[None, :]) / 2))
    dx = np.radians(lon_b[None, :] - lon_a[:, None]) * cos_lat
    dy = np.radians(lat_b[None, :] - lat_a[:, None])
    return EARTH_RADIUS_KM * np.hypot(dx, dy)


def _coast_distance_km(dem: xr.DataArray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Return the distance from each point to the nearest sea (NaN) DEM cell, km."""
    grid_lon, grid_lat = np.meshgrid(dem["lon"].to_numpy(), dem["lat"].to_numpy())
    sea = np.isnan(dem.transpose("lat", "lon").to_numpy())
    if not sea.any():
        return np.full(lon.shape, np.inf)
    sea_lon, sea_lat = grid_lon[sea], grid_lat[sea]
    return np.array(
        [
            _distance_km(lon[i : i + 1], lat[i : i + 1], sea_lon, sea_lat).min()
            for i in range(lon.size)
        ]
    )


def assign_defence(
    district_code: str, coast_distance_km: float, *, coastal_zone_km: float = 5.0
) -> str:
    """Return the key in ``DEFENCES`` of the flood defence an asset relies on.

    Parameters
    ----------
    district_code : str
        Six-digit adcode of the asset's district.
    coast_distance_km : float
        Distance to the open estuary or sea (nearest sea cell of the DEM), km.
    coastal_zone_km : float
        Assets this close to the sea, and all of Chongming, rely on the seawall.

    Returns
    -------
    str
        ``seawall_200`` (Pudong, Jinshan) or ``seawall_100`` (other coastal reaches) in the
        coastal zone; otherwise ``huangpu_urban`` (central districts and Pudong),
        ``huangpu_mouth`` (Baoshan) or ``huangpu_upstream`` (the rest). Rule: docs/inventory.md.
    """
    if district_code == _CHONGMING or coast_distance_km <= coastal_zone_km:
        return "seawall_200" if district_code in _SEAWALL_200_DISTRICTS else "seawall_100"
    if district_code in CENTRAL_DISTRICTS or district_code == _PUDONG:
        return "huangpu_urban"
    if district_code == _BAOSHAN:
        return "huangpu_mouth"
    return "huangpu_upstream"


def _district_codes(frame: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return each asset's district adcode (containing or nearest polygon) and distance, m."""
    import geopandas as gpd

    utm = "EPSG:32651"  # UTM zone 51N, metres, for nearest-polygon distances
    joined = gpd.sjoin_nearest(
        frame[["geometry"]].to_crs(utm),
        districts[["district_code", "geometry"]].to_crs(utm),
        distance_col="outside_m",
    )
    first = joined.groupby(level=0)[["district_code", "outside_m"]].first()
    return first.reindex(frame.index)


def _criticality(frame: pd.DataFrame) -> pd.Series:
    """Return criticality 1-5: type base, tier step, +1 per extra metro line; clipped."""
    base = frame["asset_type"].map(_BASE_CRITICALITY)
    step = frame["tier"].map(_TIER_CRITICALITY_STEP).fillna(0)
    extra_lines = frame["lines"].fillna("").map(lambda s: max(len(s.split(";")) - 1, 0) if s else 0)
    return (base + step + extra_lines).clip(1, 5).astype(int)


def _replacement_value(frame: pd.DataFrame) -> pd.Series:
    """Return rough replacement values, CNY (ASSUMPTION; rule in docs/inventory.md)."""
    value = frame["asset_type"].map(_BASE_VALUE_CNY) * frame["tier"].map(_TIER_VALUE_FACTOR)
    metro = frame["asset_type"] == "metro_station"
    lines = frame["lines"].fillna("").map(lambda s: len(s.split(";")) if s else 1)
    level = frame["station_level"].fillna("unknown").map(_METRO_LEVEL_VALUE_FACTOR)
    return value.where(~metro, value * lines * level).astype(float)


def _add_attributes(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add criticality, design life, value and dependencies; order the contract columns first."""
    frame["criticality"] = _criticality(frame)
    lives = {name: t.design_life_years for name, t in ASSET_TYPES.items()}
    frame["design_life_years"] = frame["asset_type"].map(lives).astype(int)
    frame["replacement_value"] = _replacement_value(frame)
    frame["depends_on"], frame["depends_on_source"] = sample_dependencies(
        frame, distinct_same_name=_DISTINCT_SAME_NAME
    )
    for column in ("lines", "station_level", "name_zh"):
        frame[column] = frame[column].fillna("")
    extra = [c for c in frame.columns if c not in INVENTORY_COLUMNS and c not in ("lon", "lat")]
    return frame[list(INVENTORY_COLUMNS) + extra]


def build_inventory(
    *,
    dem: xr.DataArray | None = None,
    districts: gpd.GeoDataFrame | None = None,
    dem_to_wusong_offset_m: float = DEFAULT_DEM_TO_WUSONG_OFFSET_M,
    central_ground_range_m: tuple[float, float] | None = CENTRAL_GROUND_RANGE_M,
    elevation_search_km: float = 6.0,
    coastal_zone_km: float = 5.0,
    defences: dict[str, Defence] | None = None,
    outside_tolerance_m: float = 1000.0,
) -> gpd.GeoDataFrame:
    """Build the Shanghai asset inventory (Assets contract) from the shipped files.

    Parameters
    ----------
    dem : xarray.DataArray, optional
        Elevation (m, dims ``lat, lon``); default ``geography.open_dem()``.
    districts : geopandas.GeoDataFrame, optional
        District polygons with ``district_code``; default ``geography.open_districts()``.
    dem_to_wusong_offset_m : float
        Added to DEM values to give m on the Wusong datum (UNCONFIRMED; module constant).
    central_ground_range_m : (float, float) or None
        Ground levels in the central area (assets behind the urban Huangpu floodwall: the
        ``CENTRAL_DISTRICTS`` and inland Pudong) are clipped to this range, m Wusong [DOM 2.3],
        because the DEM reads building tops there; None disables the clip.
    elevation_search_km : float
        Search radius for the nearest valid DEM cell, km (reclaimed coast such as Lingang is
        NaN in the DEM; Dishui Lake lies 3.5 km and the Donghai Bridge landfall 4.8 km from it).
    coastal_zone_km : float
        Seawall zone width for ``assign_defence``, km.
    defences : dict, optional
        Replaces ``DEFENCES`` (design levels are partly UNCONFIRMED).
    outside_tolerance_m : float
        Assets farther than this from every district polygon are dropped, m (line 11's
        stations in Kunshan, Jiangsu; the boundaries may be GCJ-02, ~0.5 km off WGS-84).

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with ``INVENTORY_COLUMNS`` plus ``name_zh`` (the optional Chinese
        name of ``OPTIONAL_INVENTORY_COLUMNS``: the metro file's station names, the facilities
        table's names, the official airport and station names; ``""`` if none),
        ``depends_on_source`` (why each row depends on what it does: every link is
        "assumed: ..." here, docs/cascade.md), ``district_code``,
        ``tier``, ``lines``, ``station_level``, ``flood_defence``, ``protection_confirmed``,
        ``ground_datum``, ``dem_cell_distance_km``, ``coast_distance_km``, ``source``,
        ``location_source`` and ``location_accuracy_m``; validated.

    Raises
    ------
    SchemaError
        If an asset has no valid DEM cell within ``elevation_search_km``.
    """
    import geopandas as gpd

    from resilience.geodata.geography import open_dem, open_districts

    dem = open_dem() if dem is None else dem
    districts = open_districts() if districts is None else districts
    table = {**DEFENCES, **(defences or {})}
    frame = pd.concat(
        [_metro_assets(), _openflights_assets(), _facility_assets()], ignore_index=True
    )
    frame = gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326
    )
    lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    values, distance = nearest_valid_cells(dem, lon, lat, max_distance_km=elevation_search_km)
    if np.isnan(values).any():
        bad = frame.loc[np.isnan(values), "asset_id"].tolist()
        raise SchemaError(f"inventory: no valid DEM cell within {elevation_search_km} km of {bad}")
    located = _district_codes(frame, districts)
    inside = (located["outside_m"] <= outside_tolerance_m).to_numpy()
    frame, located = frame[inside].reset_index(drop=True), located[inside].reset_index(drop=True)
    values, distance = values[inside], distance[inside]
    lon, lat = lon[inside], lat[inside]
    frame["district_code"] = located["district_code"].astype(str)
    frame["coast_distance_km"] = _coast_distance_km(dem, lon, lat)
    keys = [
        assign_defence(code, km, coastal_zone_km=coastal_zone_km)
        for code, km in zip(frame["district_code"], frame["coast_distance_km"], strict=True)
    ]
    ground = values + dem_to_wusong_offset_m
    if central_ground_range_m is not None:
        central = np.array([key == "huangpu_urban" for key in keys])
        ground = np.where(central, np.clip(ground, *central_ground_range_m), ground)
    frame["ground_elevation_m"] = ground
    frame["dem_cell_distance_km"] = distance
    frame["ground_datum"] = (
        f"Wusong (DEM + {dem_to_wusong_offset_m:+.2f} m, offset UNCONFIRMED; central area "
        f"clipped to {central_ground_range_m})"
    )
    frame["flood_defence"] = [table[k].label for k in keys]
    frame["protection_level_m"] = [table[k].design_level_m for k in keys]
    frame["protection_confirmed"] = [table[k].confirmed for k in keys]
    frame = _add_attributes(frame)
    frame.attrs.update(
        ground_datum="Wusong",
        dem_to_wusong_offset_m=dem_to_wusong_offset_m,
        dem_to_wusong_offset_confirmed=False,
        replacement_value_note="ASSUMPTION: rough order of magnitude",
    )
    return validate_inventory(frame)
