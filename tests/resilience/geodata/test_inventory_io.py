"""Inventory files round-trip through GeoPackage, GeoJSON and CSV; bad files fail clearly."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString, Point

from hazard_models.layer import SchemaError
from resilience.geodata.inventory_io import read_inventory, write_inventory

CSV_HEADER = (
    "asset_id,name,asset_type,owner_agency,criticality,ground_elevation_m,protection_level_m,"
    "design_life_years,replacement_value,depends_on,lon,lat,location_accuracy_m\n"
)
CSV_ROWS = [
    "sub-a,Substation A,substation,grid,5,4.0,5.86,50,1e9,,121.46,31.24,500\n",
    "metro-b,Station B,metro_station,metro,3,3.5,5.86,100,5e8,sub-a,121.47,31.23,200\n",
    "hosp-c,Hospital C,hospital,health,4,4.2,,50,2e9,sub-a;metro-b,121.45,31.21,500\n",
]


def _write_csv(tmp_path, rows=CSV_ROWS, header=CSV_HEADER):
    path = tmp_path / "assets.csv"
    path.write_text(header + "".join(rows), encoding="utf-8")
    return path


def _inventory() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "asset_id": ["sub-a", "tunnel-b"],
            "name": ["Substation A", "Tunnel B"],
            "asset_type": ["substation", "tunnel"],
            "owner_agency": ["grid", "roads"],
            "criticality": [5, 4],
            "ground_elevation_m": [4.0, 3.25],
            "protection_level_m": [5.86, np.nan],
            "design_life_years": [50, 100],
            "replacement_value": [1e9, 3e9],
            "depends_on": [[], ["sub-a"]],
            "district_code": ["310106", "310101"],
        },
        geometry=[Point(121.46, 31.24), LineString([(121.49, 31.23), (121.50, 31.235)])],
        crs=4326,
    )


def test_csv_is_read_typed_with_dependency_lists(tmp_path) -> None:
    assets = read_inventory(_write_csv(tmp_path))
    assert assets.crs.to_epsg() == 4326
    assert assets["depends_on"].tolist() == [[], ["sub-a"], ["sub-a", "metro-b"]]
    assert assets["criticality"].dtype == np.int64
    assert np.isnan(assets.loc[2, "protection_level_m"])
    assert assets["location_accuracy_m"].tolist() == [500, 200, 500]  # unit suffix -> number
    assert assets.geometry.iloc[1].equals(Point(121.47, 31.23))


@pytest.mark.parametrize("suffix", ["gpkg", "geojson", "csv"])
def test_round_trip(tmp_path, suffix) -> None:
    original = _inventory()
    path = write_inventory(original, tmp_path / f"inventory.{suffix}")
    assert path.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    back = read_inventory(path)
    assert back["asset_id"].tolist() == ["sub-a", "tunnel-b"]
    assert back["depends_on"].tolist() == [[], ["sub-a"]]
    pd.testing.assert_series_equal(
        back["ground_elevation_m"], original["ground_elevation_m"], check_names=False
    )
    assert back["district_code"].tolist() == ["310106", "310101"]
    if suffix == "csv":  # CSV keeps the representative point of the line
        assert back.geometry.iloc[1].within(original.geometry.iloc[1].buffer(1e-9))
    else:
        assert back.geometry.iloc[1].equals(original.geometry.iloc[1])


def test_projected_geopackage_is_reprojected(tmp_path) -> None:
    path = tmp_path / "utm.gpkg"
    frame = _inventory()
    frame.assign(depends_on=[";".join(d) for d in frame["depends_on"]]).to_crs(32651).to_file(path)
    back = read_inventory(path)
    assert back.crs.to_epsg() == 4326
    # UTM round trip through PROJ is exact to well below a micro-degree (~0.1 m)
    assert abs(back.geometry.iloc[0].x - 121.46) < 1e-6


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
@pytest.mark.filterwarnings("ignore:Column names longer than 10")
def test_shapefile_with_truncated_names_is_read(tmp_path) -> None:
    frame = _inventory().iloc[:1]
    frame = frame.assign(depends_on="")
    path = tmp_path / "assets.shp"
    frame.to_file(path)  # OGR cuts field names to 10 characters
    back = read_inventory(path)
    assert back["ground_elevation_m"].tolist() == [4.0]
    assert back["design_life_years"].tolist() == [50]


def test_bad_row_is_named(tmp_path) -> None:
    rows = [*CSV_ROWS[:2], CSV_ROWS[2].replace(",4,4.2,", ",7,4.2,")]
    with pytest.raises(
        SchemaError, match=r"(?s)assets.csv: .*row 3 \(asset_id 'hosp-c'\): criticality"
    ):
        read_inventory(_write_csv(tmp_path, rows))


def test_non_numeric_coordinate_names_the_row(tmp_path) -> None:
    rows = [*CSV_ROWS[:2], CSV_ROWS[2].replace("121.45", "east")]
    with pytest.raises(SchemaError, match=r"row 3 \(line 4\): lon 'east' is not a number"):
        read_inventory(_write_csv(tmp_path, rows))


def test_missing_coordinates_format_and_file(tmp_path) -> None:
    header = CSV_HEADER.replace(",lon,lat", ",x,y")
    with pytest.raises(SchemaError, match="expected WGS-84 coordinate columns 'lon' and 'lat'"):
        read_inventory(_write_csv(tmp_path, header=header))
    with pytest.raises(SchemaError, match="unknown inventory format '.xlsx'"):
        read_inventory(tmp_path / "assets.xlsx")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_inventory(tmp_path / "none.gpkg")


def test_missing_column_and_dangling_dependency(tmp_path) -> None:
    header = CSV_HEADER.replace("owner_agency,", "agency,")
    with pytest.raises(SchemaError, match=r"missing \['owner_agency'\]"):
        read_inventory(_write_csv(tmp_path, header=header))
    rows = [*CSV_ROWS[:2], CSV_ROWS[2].replace("sub-a;metro-b", "sub-zz")]
    with pytest.raises(SchemaError, match=r"(?s)row 3 .*unknown asset_ids \['sub-zz'\]"):
        read_inventory(_write_csv(tmp_path, rows))


def test_write_refuses_an_invalid_inventory_and_leaves_no_file(tmp_path) -> None:
    bad = _inventory()
    bad.loc[1, "asset_type"] = "spaceport"
    with pytest.raises(SchemaError, match="row 2"):
        write_inventory(bad, tmp_path / "x.gpkg")
    assert list(tmp_path.iterdir()) == []


def test_multi_layer_geopackage_needs_a_layer(tmp_path) -> None:
    path = tmp_path / "two.gpkg"
    frame = _inventory().assign(depends_on=["", "sub-a"])
    frame.to_file(path, layer="first")
    frame.iloc[:1].to_file(path, layer="second")
    with pytest.raises(SchemaError, match="pass layer="):
        read_inventory(path)
    assert len(read_inventory(path, layer="second")) == 1
