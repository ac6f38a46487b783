"""validate_inventory rejects each kind of bad row with the row number and the reason."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely import LineString, Point, Polygon

from assets.inventory import INVENTORY_COLUMNS, validate_inventory
from hazard_models.layer import SchemaError


def _inventory() -> gpd.GeoDataFrame:
    """Three valid assets: a point, a line and a polygon, the last two needing the first."""
    rows = [
        ("sub-a", "substation", Point(121.46, 31.24), []),
        ("tunnel-b", "tunnel", LineString([(121.49, 31.23), (121.50, 31.235)]), ["sub-a"]),
        (
            "hosp-c",
            "hospital",
            Polygon([(121.46, 31.21), (121.47, 31.21), (121.47, 31.22)]),
            ["sub-a"],
        ),
    ]
    return gpd.GeoDataFrame(
        {
            "asset_id": [r[0] for r in rows],
            "name": ["Substation A", "Tunnel B", "Hospital C"],
            "asset_type": [r[1] for r in rows],
            "owner_agency": ["grid", "roads", "health"],
            "criticality": [5, 4, 4],
            "ground_elevation_m": [4.0, 3.5, 4.2],
            "protection_level_m": [5.86, 5.86, float("nan")],
            "design_life_years": [50, 100, 50],
            "replacement_value": [1e9, 3e9, 2e9],
            "depends_on": [r[3] for r in rows],
        },
        geometry=[r[2] for r in rows],
        crs=4326,
    )


def test_valid_inventory_is_returned_unchanged() -> None:
    assets = _inventory()
    assert validate_inventory(assets) is assets
    assert list(INVENTORY_COLUMNS)[-1] == "geometry"


def test_duplicate_id_is_named_with_its_row() -> None:
    assets = _inventory()
    assets.loc[2, "asset_id"] = "sub-a"
    with pytest.raises(
        SchemaError, match=r"row 3 \(asset_id 'sub-a'\): asset_id 'sub-a' is not unique"
    ):
        validate_inventory(assets)


def test_unknown_type_is_rejected() -> None:
    assets = _inventory()
    assets.loc[1, "asset_type"] = "spaceport"
    with pytest.raises(SchemaError, match=r"row 2 .*asset_type 'spaceport' is not one of"):
        validate_inventory(assets)


def test_criticality_out_of_range_is_rejected() -> None:
    assets = _inventory()
    assets.loc[0, "criticality"] = 7
    with pytest.raises(SchemaError, match=r"row 1 .*criticality 7 is not an integer 1-5"):
        validate_inventory(assets)


def test_wrong_crs_is_rejected() -> None:
    with pytest.raises(SchemaError, match="expected CRS EPSG:4326, found EPSG:32651"):
        validate_inventory(_inventory().to_crs(32651))


def test_missing_column_and_unknown_dependency_are_rejected() -> None:
    with pytest.raises(SchemaError, match=r"missing \['owner_agency'\]"):
        validate_inventory(_inventory().drop(columns="owner_agency"))
    assets = _inventory()
    assets.at[1, "depends_on"] = ["sub-zz"]
    with pytest.raises(SchemaError, match=r"row 2 .*unknown asset_ids \['sub-zz'\]"):
        validate_inventory(assets)


def test_missing_ground_level_and_negative_value_are_rejected() -> None:
    assets = _inventory()
    assets.loc[0, "ground_elevation_m"] = float("nan")
    assets.loc[2, "replacement_value"] = -1.0
    with pytest.raises(SchemaError, match="2 bad rows") as caught:
        validate_inventory(assets)
    assert "row 1 (asset_id 'sub-a'): ground_elevation_m is missing" in str(caught.value)
    assert "row 3 (asset_id 'hosp-c'): replacement_value is negative" in str(caught.value)


def test_name_zh_is_optional_and_checked_when_present() -> None:
    from assets.inventory import OPTIONAL_INVENTORY_COLUMNS

    assert "name_zh" in OPTIONAL_INVENTORY_COLUMNS
    assets = _inventory()
    assert "name_zh" not in assets.columns and validate_inventory(assets) is assets
    assets["name_zh"] = ["变电站甲", "", float("nan")]  # blank and missing names are allowed
    assert validate_inventory(assets) is assets
    assets["name_zh"] = ["变电站甲", 12, None]
    with pytest.raises(SchemaError, match=r"row 2 \(asset_id 'tunnel-b'\): name_zh 12 is not"):
        validate_inventory(assets)
