"""The real Shanghai inventory built from shipped data follows the Assets contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assets.catalogue import ASSET_TYPES
from assets.inventory import validate_inventory
from resilience.geodata.geography import open_dem, open_districts, open_municipality
from resilience.sample.inventory import DEFENCES, assign_defence, build_inventory


@pytest.fixture(scope="module")
def inventory():
    return build_inventory()


def test_inventory_passes_the_contract_with_every_type(inventory) -> None:
    validate_inventory(inventory)
    # every catalogue type but the seawall: walls are lines along the coast, not the point
    # assets the sample inventory holds (a seawall is checked as a project submission)
    assert set(inventory["asset_type"]) == set(ASSET_TYPES) - {"seawall"}
    assert inventory["asset_id"].is_unique
    assert inventory.crs.to_epsg() == 4326
    assert 40 <= (inventory["asset_type"] != "metro_station").sum() <= 90


def test_metro_transfer_stations_appear_once_with_their_lines(inventory) -> None:
    metro = inventory[inventory["asset_type"] == "metro_station"]
    square = metro[metro["name_zh"] == "人民广场"]
    assert len(square) == 1
    assert square["lines"].iloc[0] == "1;2;8"
    assert square["criticality"].iloc[0] == 5  # 3 + one per extra line
    # Century Avenue is served by lines 2, 4, 6 and 9
    assert metro.loc[metro["name_zh"] == "世纪大道", "lines"].iloc[0] == "2;4;6;9"
    # Pudian Road: two unconnected stations of the same name stay separate
    assert (metro["name_zh"] == "浦电路").sum() == 2
    # 420 line-station rows collapse to one asset per station
    assert 290 <= len(metro) <= 310


def test_airports_and_rail_hubs_present(inventory) -> None:
    ids = set(inventory["asset_id"])
    assert {"airport-sha", "airport-pvg"} <= ids
    names = " ".join(inventory.loc[inventory["asset_type"] == "railway_station", "name"])
    assert "Hongqiao Railway Station" in names and "Shanghai Railway Station" in names
    airports = inventory.loc[inventory["asset_type"] == "airport", "name"]
    assert not airports.str.contains("Longhua").any()  # closed airfield dropped


def test_all_assets_inside_the_municipality(inventory) -> None:
    # 0.01 deg (~1 km) buffer: the outline may be GCJ-02 (~0.5 km off WGS-84)
    outline = open_municipality().geometry.iloc[0].buffer(0.01)
    assert inventory.geometry.within(outline).all()
    codes = set(open_districts()["district_code"])
    assert set(inventory["district_code"]) <= codes


def test_dependencies_resolve_to_their_suppliers(inventory) -> None:
    ids = set(inventory["asset_id"])
    types = inventory.set_index("asset_id")["asset_type"]
    for asset_type, deps in zip(inventory["asset_type"], inventory["depends_on"], strict=True):
        assert set(deps) <= ids
        suppliers = sorted(types[d] for d in deps if types[d] != "metro_station")
        if asset_type in ("metro_station", "water_plant"):
            assert suppliers == ["substation"]
        if asset_type == "hospital":
            assert suppliers == ["substation", "water_plant"]
    square = inventory[inventory["name_zh"] == "人民广场"]
    assert square["depends_on"].iloc[0] == ["sub-shibo"]


def test_ground_levels_are_plausible_wusong_heights(inventory) -> None:
    ground = inventory["ground_elevation_m"]
    assert ground.notna().all()
    # Shanghai's plain lies ~2-5 m Wusong (domain.md 2.3); only a few DEM cells read higher
    assert 3.0 <= ground.median() <= 5.0
    central = inventory["flood_defence"].str.startswith("Huangpu floodwall, urban")
    assert ground[central].between(2.5, 4.5).all()
    assert inventory.attrs["dem_to_wusong_offset_confirmed"] is False
    assert inventory["ground_datum"].str.contains("UNCONFIRMED").all()


def test_offset_shifts_every_unclipped_ground_level() -> None:
    dem, districts = open_dem(), open_districts()
    base = build_inventory(dem=dem, districts=districts, central_ground_range_m=None)
    shifted = build_inventory(
        dem=dem, districts=districts, central_ground_range_m=None, dem_to_wusong_offset_m=1.5
    )
    np.testing.assert_allclose(
        shifted["ground_elevation_m"] - base["ground_elevation_m"], 1.5, atol=1e-12
    )


def test_protection_zones_follow_the_documented_rule(inventory) -> None:
    level = inventory.set_index("asset_id")["protection_level_m"]
    square = inventory[inventory["name_zh"] == "人民广场"]
    assert square["protection_level_m"].iloc[0] == DEFENCES["huangpu_urban"].design_level_m
    assert level["airport-pvg"] == DEFENCES["seawall_200"].design_level_m
    assert level["water-qingcaosha"] == DEFENCES["seawall_100"].design_level_m
    assert assign_defence("310113", 20.0) == "huangpu_mouth"
    assert assign_defence("310118", 40.0) == "huangpu_upstream"
    assert assign_defence("310151", 30.0) == "seawall_100"  # Chongming is all seawall
    assert assign_defence("310116", 2.0) == "seawall_200"
    confirmed = inventory["protection_confirmed"]
    assert confirmed[inventory["flood_defence"].str.contains("Seawall")].eq(False).all()


def test_values_criticality_and_lives_follow_the_rules(inventory) -> None:
    by_id = inventory.set_index("asset_id")
    assert by_id.loc["airport-pvg", "replacement_value"] == 1e11  # 2e10 x major 5
    assert by_id.loc["sub-shibo", "criticality"] == 5  # 500 kV = major
    assert by_id.loc["bridge-songpu", "criticality"] == 3  # minor crossing
    for asset_type, life in zip(
        inventory["asset_type"], inventory["design_life_years"], strict=True
    ):
        assert life == ASSET_TYPES[asset_type].design_life_years
    assert (inventory["replacement_value"] > 0).all()
    assert inventory["location_source"].str.len().gt(10).all()
    assert inventory["source"].str.len().gt(10).all()


def test_chinese_names_come_from_the_source_files(inventory) -> None:
    """name_zh (optional in the contract) is carried from the metro file and the facilities
    table; the airports and rail stations get their official names (OpenFlights has none)."""
    from resilience.geodata.geography import data_path

    facilities = pd.read_csv(data_path("assets", "shanghai_facilities.csv"))
    by_id = inventory.set_index("asset_id")["name_zh"]
    kept = facilities[facilities["facility_id"].isin(by_id.index)]
    assert len(kept) > 40
    assert (by_id[kept["facility_id"]].to_numpy() == kept["name_zh"].to_numpy()).all()
    assert by_id["hosp-ruijin"] == "瑞金医院"
    metro = inventory[inventory["asset_type"] == "metro_station"]
    assert (metro["name_zh"].str.len() > 0).all()
    assert inventory["name_zh"].map(type).eq(str).all()  # blanks would be "", never NaN
    assert (inventory["name_zh"].str.len() > 0).all()
    assert by_id["airport-pvg"] == "上海浦东国际机场"
