"""Tests of the tide-gauge and sea-level readers: round trips and each error message."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hazard_models.layer import SchemaError
from resilience.coast.tide_io import (
    read_annual_maxima,
    read_gauge_csv,
    read_sea_level_projections,
    read_tide_stations,
    shipped_sea_level_file,
)

STATIONS = (
    "station,station_name,lat,lon,datum,warning_level_m,design_level_1000yr_m,station_code\n"
    "park,Park gauge,31.24,121.49,Wusong,4.55,5.86,063\n"
    "mouth,Mouth gauge,31.39,121.51,Wusong,4.80,,064\n"
)
MAXIMA_HEADER = "station,year,annual_max_m,datum,synthetic,note\n"
PROJECTION_HEADER = "scenario,year,quantile,sea_level_rise_m\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def gauge_dir(tmp_path: Path) -> Path:
    _write(tmp_path / "shanghai_tide_stations.csv", STATIONS)
    return tmp_path


def _maxima(directory: Path, *rows: str) -> Path:
    return _write(directory / "maxima.csv", MAXIMA_HEADER + "".join(r + "\n" for r in rows))


# --- stations -------------------------------------------------------------------------------


def test_shipped_stations_load_from_package_resources() -> None:
    stations = read_tide_stations()
    assert shipped_sea_level_file("shanghai_tide_stations.csv").is_file()
    assert list(stations["station"]) == ["wusongkou", "huangpu_park", "mishidu"]
    assert stations["lat"].between(30.5, 32.0).all()
    assert stations["lon"].between(120.8, 122.2).all()


def test_stations_round_trip_keeps_codes_as_text(gauge_dir: Path) -> None:
    stations = read_tide_stations(gauge_dir / "shanghai_tide_stations.csv")
    assert list(stations["station_code"]) == ["063", "064"]  # leading zero kept
    assert stations["warning_level_m"].tolist() == [4.55, 4.80]
    assert stations["design_level_1000yr_m"].isna().tolist() == [False, True]


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("31.39", "north", r"line 3, field 'lat': expected a number, found 'north'"),
        ("121.49", "221.49", r"line 2, field 'lon': expected degrees in \[-180, 180\]"),
        ("mouth,", "park,", r"line 3: duplicate station \(park\); first on line 2"),
        ("121.51,Wusong", "121.51,1985", r"line 3, field 'datum': mixed datums"),
        (",warning_level_m,", ",warning_m,", r"line 1: missing column\(s\) warning_level_m"),
    ],
)
def test_stations_errors(tmp_path: Path, replace: str, by: str, message: str) -> None:
    path = _write(tmp_path / "stations.csv", STATIONS.replace(replace, by))
    with pytest.raises(SchemaError, match=message):
        read_tide_stations(path)


# --- annual maxima --------------------------------------------------------------------------


def test_annual_maxima_round_trip(gauge_dir: Path) -> None:
    path = _maxima(
        gauge_dir,
        "park,1998,4.61,Wusong,True,drawn",
        "park,1997,5.72,Wusong,False,recorded",
        "mouth,1997,5.99,Wusong,false,recorded",
    )
    frame = read_annual_maxima(path)
    expected = pd.DataFrame(
        {
            "station": ["mouth", "park", "park"],
            "year": [1997, 1997, 1998],
            "annual_max_m": [5.99, 5.72, 4.61],
            "datum": ["Wusong"] * 3,
            "synthetic": [False, False, True],
            "note": ["recorded", "recorded", "drawn"],
        }
    )
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    assert frame["year"].dtype.kind == "i" and frame["synthetic"].dtype == bool


def test_annual_maxima_without_optional_columns(gauge_dir: Path) -> None:
    path = _write(
        gauge_dir / "plain.csv", "station,year,annual_max_m,datum\npark,2000,4.4,Wusong\n"
    )
    frame = read_annual_maxima(path)
    assert frame["synthetic"].tolist() == [False] and frame["note"].tolist() == [""]


@pytest.mark.parametrize(
    ("third_row", "message"),
    [
        ("park,1999,high,Wusong,True,x", r"maxima.csv: line 4, field 'annual_max_m': expected a "),
        ("park,1999.5,4.1,Wusong,True,x", r"line 4, field 'year': expected an integer year"),
        ("park,1997,4.1,Wusong,True,x", r"line 4: duplicate station-year \(park, 1997\); first"),
        ("pier,1999,4.1,Wusong,True,x", r"line 4, field 'station': unknown station 'pier'"),
        ("park,1999,4.1,1985,True,x", r"line 4, field 'datum': mixed datums"),
        ("park,1999,4.1,Wusong,maybe,x", r"line 4, field 'synthetic': expected True or False"),
        ("park,1999,4.1,Wusong,True,x,extra", r"line 4: expected 6 fields, found 7"),
    ],
)
def test_annual_maxima_errors(gauge_dir: Path, third_row: str, message: str) -> None:
    path = _maxima(
        gauge_dir, "park,1997,5.72,Wusong,False,a", "park,1998,4.61,Wusong,True,b", third_row
    )
    with pytest.raises(ValueError, match=message):
        read_annual_maxima(path)


def test_annual_maxima_missing_column_and_wrong_datum(gauge_dir: Path) -> None:
    path = _write(gauge_dir / "bad.csv", "station,year,level_m,datum\npark,2000,4.4,Wusong\n")
    with pytest.raises(SchemaError, match=r"bad.csv: line 1: missing column\(s\) annual_max_m"):
        read_annual_maxima(path)
    path = _write(gauge_dir / "d85.csv", "station,year,annual_max_m,datum\npark,2000,4.4,1985\n")
    with pytest.raises(SchemaError, match=r"expected 'Wusong' as in .*found '1985'"):
        read_annual_maxima(path)


def test_annual_maxima_use_the_given_or_shipped_stations(tmp_path: Path) -> None:
    path = _maxima(tmp_path, "huangpu_park,2000,4.4,Wusong,True,x")  # no sibling stations
    assert read_annual_maxima(path)["station"].tolist() == ["huangpu_park"]
    stations = _write(tmp_path / "mine.csv", STATIONS)
    with pytest.raises(SchemaError, match="unknown station 'huangpu_park'; expected one of mouth"):
        read_annual_maxima(path, stations_path=stations)


# --- a user's gauge record ------------------------------------------------------------------


def test_gauge_csv_round_trip_with_gaps(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "mine.csv",
        "Year,peak_m,comment\n2001,4.52,a\n1999,4.40,b\n2000,,gauge down\n2002,NA,\n",
    )
    series = read_gauge_csv(path, column="peak_m", year_column="Year")
    assert series.to_dict() == {1999: 4.40, 2001: 4.52}
    assert series.name == "peak_m" and series.index.name == "year"
    assert series.attrs["missing_years"] == [2000, 2002]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("year,peak_m\n2001,4.5\n2002,4.6\n2003,x4.7\n", r"line 4, field 'peak_m': expected a num"),
        ("year,peak_m\n2001,4.5\n2002,4.6\n20o3,4.7\n", r"line 4, field 'year': expected a number"),
        (
            "year,peak_m\n2001,4.5\n2002,4.6\n2001,4.7\n",
            r"line 4: duplicate year \(2001\); first on",
        ),
        ("year,level\n2001,4.5\n", r"line 1: missing column\(s\) peak_m; .*found year, level"),
        ("year,peak_m\n2001,\n2002,nan\n", r"field 'peak_m': expected at least one value"),
        ("year,peak_m\n", r"expected at least one data row"),
        ("year,peak_m\n2001,inf\n", r"line 2, field 'peak_m': expected a number, found 'inf'"),
    ],
)
def test_gauge_csv_errors(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path / "mine.csv", body)
    with pytest.raises(ValueError, match=message):
        read_gauge_csv(path, column="peak_m")


def test_gauge_csv_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing.csv"):
        read_gauge_csv(tmp_path / "nothing.csv", column="peak_m")


# --- sea-level projections ------------------------------------------------------------------


def test_projections_round_trip_of_a_user_table(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "local.csv",
        PROJECTION_HEADER + "ssp245,2050,0.83,0.31\nssp245,2050,0.5,0.24\nssp245,2050,0.17,0.2\n",
    )
    table = read_sea_level_projections(path)
    assert table["quantile"].tolist() == [0.17, 0.5, 0.83]
    assert table["sea_level_rise_m"].tolist() == [0.2, 0.24, 0.31]
    assert not table["confirmed"].any() and set(table["source"]) == {"local.csv"}


def test_shipped_projections_rewritten_and_read_back_are_equal(tmp_path: Path) -> None:
    shipped = read_sea_level_projections()
    path = tmp_path / "copy.csv"
    shipped.sample(frac=1.0, random_state=0).to_csv(path, index=False)  # shuffled rows
    pd.testing.assert_frame_equal(read_sea_level_projections(path), shipped.reset_index(drop=True))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("ssp126,2050,0.5,0.19\nssp126,2050,1.0,0.3\n", r"line 3, field 'quantile': expected a "),
        ("ssp126,2050,0.5,0.19\nssp126,2050,0,0.1\n", r"line 3, field 'quantile'.*in \(0, 1\)"),
        ("ssp126,2050,0.17,0.16\nssp126,2050,0.83,0.25\n", r"scenario 'ssp126' has no median"),
        ("ssp126,2050,0.5,0.19\nssp126,2050,0.5,0.2\n", r"line 3: duplicate scenario-year-q"),
        ("ssp126,2050,0.5,0.19\nrcp85,2050,0.5,0.2\n", r"line 3, field 'scenario': expected one"),
        ("ssp126,2050,0.5,0.19\nssp126,2050,0.83,0.1\n", r"line 3, field 'sea_level_rise_m': ssp"),
        ("ssp126,2050,0.5,0.19\nssp126,2060,0.5,?\n", r"line 3, field 'sea_level_rise_m': expec"),
    ],
)
def test_projections_errors(tmp_path: Path, rows: str, message: str) -> None:
    path = _write(tmp_path / "slr.csv", PROJECTION_HEADER + rows)
    with pytest.raises(ValueError, match=message):
        read_sea_level_projections(path)


def test_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    # A blank line and a quoted multi-line note still give the line the user sees in an editor.
    path = _write(
        tmp_path / "slr.csv",
        "scenario,year,quantile,sea_level_rise_m,source\n"
        'ssp126,2050,0.5,0.19,"two\nlines"\n'
        "\n"
        "ssp126,2060,0.5,oops,x\n",
    )
    with pytest.raises(SchemaError, match="line 5, field 'sea_level_rise_m'"):
        read_sea_level_projections(path)
