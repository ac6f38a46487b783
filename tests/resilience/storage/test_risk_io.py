"""The RiskTable files: GeoParquet of record, GeoPackage and CSV exports up to a size."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from shapely import LineString, Point, Polygon

from resilience.settings import Settings
from resilience.storage.risk_io import (
    EXPORT_MAX_ROWS,
    read_risk_table,
    write_risk_blocks,
    write_risk_table,
)


def _assets() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"asset_id": ["p", "l", "s"], "name": ["point", "line", "site"]},
        geometry=[
            Point(121.5, 31.2),
            LineString([(121.0, 31.0), (121.2, 31.1)]),
            Polygon([(121.3, 31.3), (121.5, 31.3), (121.5, 31.5), (121.3, 31.5)]),
        ],
        crs=4326,
    )


def _table(repeat: int = 4) -> pd.DataFrame:
    ids = ["s", "p", "l"] * repeat
    return pd.DataFrame(
        {
            "asset_id": ids,
            "hazard": ["surge"] * len(ids),
            "score": np.arange(len(ids), dtype=float),
            "risk_class": ["low"] * len(ids),
            "note": [np.nan] + ["x"] * (len(ids) - 1),
        }
    )


def test_the_geoparquet_holds_the_rows_and_each_asset_geometry(tmp_path):
    assets, table = _assets(), _table()
    files = write_risk_table(table, assets, tmp_path, provenance={"synthetic": "no"})
    assert files.paths == [
        tmp_path / "risk_table.provenance.json",
        tmp_path / "risk_table.parquet",
        tmp_path / "risk_table.gpkg",
        tmp_path / "risk_table.csv",
    ]
    back = gpd.read_parquet(files.parquet)  # an independent GeoParquet reader
    assert back.crs.to_epsg() == 4326
    expected = assets.set_index("asset_id").geometry.loc[table["asset_id"]].to_numpy()
    assert all(a.equals(b) for a, b in zip(back.geometry, expected, strict=True))
    pd.testing.assert_frame_equal(
        pd.DataFrame(back.drop(columns="geometry")), table, check_dtype=False
    )
    geo = pq.read_schema(files.parquet).metadata[b"geo"]
    assert b'"geometry_types": ["LineString", "Point", "Polygon"]' in geo
    gpkg = gpd.read_file(files.gpkg)  # the export holds the same rows
    assert gpkg["asset_id"].tolist() == table["asset_id"].tolist()


def test_read_gives_points_inside_lines_and_polygons(tmp_path):
    assets, table = _assets(), _table()
    rows = read_risk_table(write_risk_table(table, assets, tmp_path).parquet, points=True)
    assert rows["asset_id"].tolist() == table["asset_id"].tolist()
    by_id = rows.drop_duplicates("asset_id").set_index("asset_id")
    assert (by_id.loc["p", "lon"], by_id.loc["p", "lat"]) == (121.5, 31.2)
    for asset in ("l", "s"):
        point = Point(by_id.loc[asset, "lon"], by_id.loc[asset, "lat"])
        shape = assets.set_index("asset_id").geometry[asset]
        assert shape.distance(point) < 1e-9  # on the line, inside the polygon
    assert np.isnan(rows["note"].iloc[0])


def test_a_table_over_the_limit_is_geoparquet_only_and_says_so(tmp_path):
    assets = _assets()
    small = write_risk_table(_table(1), assets, tmp_path, export_max_rows=3)
    assert small.gpkg is not None and small.csv is not None and small.exports_skipped == ""
    big = write_risk_table(_table(2), assets, tmp_path, export_max_rows=3)
    assert big.gpkg is None and big.csv is None
    assert "6 rows, over the export limit of 3" in big.exports_skipped
    # the smaller table's exports are gone: they never pass for the bigger table's
    assert not (tmp_path / "risk_table.gpkg").exists()
    assert not (tmp_path / "risk_table.csv").exists()
    assert len(read_risk_table(big.parquet)) == 6
    never = write_risk_table(_table(1), assets, tmp_path / "never", export_max_rows=0)
    assert never.csv is None
    always = write_risk_table(_table(2), assets, tmp_path / "always", export_max_rows=None)
    assert always.csv is not None


def test_unknown_assets_and_missing_columns_are_named(tmp_path):
    table = _table(1).assign(asset_id=["s", "p", "ghost"])
    with pytest.raises(ValueError, match="ghost"):
        write_risk_table(table, _assets(), tmp_path)
    path = write_risk_table(_table(1), _assets(), tmp_path).parquet
    with pytest.raises(ValueError, match=r"risk_table.parquet.*missing \['likelihood'\]"):
        read_risk_table(path, columns=["asset_id", "likelihood"])
    (tmp_path / "bad.parquet").write_text("asset_id,score\n")
    with pytest.raises(ValueError, match="bad.parquet: expected a RiskTable in GeoParquet"):
        read_risk_table(tmp_path / "bad.parquet")


def test_the_settings_default_is_the_writers():
    assert Settings.model_fields["risk_export_max_rows"].default == EXPORT_MAX_ROWS


def test_a_run_killed_before_its_exports_leaves_none_of_the_older_tables(tmp_path, monkeypatch):
    from resilience.storage import risk_io

    assets = _assets()
    write_risk_table(_table(1), assets, tmp_path)  # an older table, with its exports

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the run stops between the GeoParquet and the exports

    monkeypatch.setattr(risk_io, "_write_gpkg", killed)
    with pytest.raises(KeyboardInterrupt):
        write_risk_table(_table(2), assets, tmp_path)
    assert len(read_risk_table(tmp_path / "risk_table.parquet")) == 6  # the new table
    assert not (tmp_path / "risk_table.gpkg").exists()
    assert not (tmp_path / "risk_table.csv").exists()  # the old 3-row CSV is not beside it


def test_blocks_written_one_at_a_time_make_the_same_table_as_a_whole(tmp_path):
    assets, table = _assets(), _table(repeat=5)
    whole = write_risk_table(table, assets, tmp_path / "whole")
    blocks = [table.iloc[:4], table.iloc[4:9], table.iloc[9:]]
    blocked = write_risk_blocks(blocks, assets, tmp_path / "blocks")
    assert pq.ParquetFile(blocked.parquet).num_row_groups == 3  # one block in memory at a time
    pd.testing.assert_frame_equal(read_risk_table(blocked.parquet), read_risk_table(whole.parquet))
    assert (
        pq.read_schema(blocked.parquet).metadata[b"geo"]
        == (pq.read_schema(whole.parquet).metadata[b"geo"])
    )
    assert gpd.read_file(blocked.gpkg)["asset_id"].tolist() == table["asset_id"].tolist()
    assert blocked.csv.read_text() == whole.csv.read_text()


def test_a_block_with_other_columns_or_an_asset_without_rows_is_refused(tmp_path):
    assets, table = _assets(), _table()
    other = table.iloc[6:].rename(columns={"score": "points"})
    with pytest.raises(ValueError, match=r"expected columns \[.*'score'.*found .*'points'"):
        write_risk_blocks([table.iloc[:6], other], assets, tmp_path)
    assert not (tmp_path / "risk_table.parquet").exists()  # nothing half-written
    with pytest.raises(ValueError, match=r"assets without rows \['l'\]"):
        write_risk_blocks([table[table["asset_id"] != "l"]], assets, tmp_path)
    with pytest.raises(ValueError, match="no block of rows"):
        write_risk_blocks([], assets, tmp_path)
