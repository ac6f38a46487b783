"""City profiles: loading, path resolution and errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from resilience.cli.main import app
from resilience.profile import (
    CityProfile,
    ProfileError,
    ProjectionsSpec,
    RegionSpec,
    TideGaugeSpec,
    find_profile,
    load_profile,
    profile_text,
)

FILES = (
    "projections/catalog.yaml",
    "tides/maxima.csv",
    "tides/stations.csv",
    "assets/inventory.gpkg",
    "geo/districts.geojson",
    "geo/dem.nc",
    "rules/rules.yaml",
)


def _city(folder: Path) -> dict:
    """A complete profile (as parsed YAML) whose files exist below ``folder``."""
    for name in FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("x")
    return {
        "name": "Testville",
        "region": {"name": "testville", "bbox": [120.0, 30.0, 122.0, 32.0]},
        "projections": {"catalog": "projections/catalog.yaml"},
        "tide_gauges": {
            "annual_maxima": "tides/maxima.csv",
            "stations": "tides/stations.csv",
            "coastal_station": "harbour",
        },
        "assets": "assets/inventory.gpkg",
        "districts": "geo/districts.geojson",
        "dem": "geo/dem.nc",
        "warning_rules": "rules/rules.yaml",
        "horizons": ["baseline", "far"],
        "scenarios": ["ssp245"],
        "start_year": 2030,
    }


def _write(folder: Path, raw: dict, name: str = "profile.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(raw))
    return path


def test_relative_paths_resolve_against_the_profile_folder(tmp_path, monkeypatch):
    path = _write(tmp_path, _city(tmp_path))
    monkeypatch.chdir("/")  # the working directory must not matter
    profile = load_profile(path)
    assert profile.source == path.resolve()
    assert profile.assets == tmp_path / "assets" / "inventory.gpkg"
    assert profile.tide_gauges.stations == tmp_path / "tides" / "stations.csv"
    assert profile.projections.kind == "catalog"
    assert profile.horizons == ("baseline", "far")
    assert profile.start_year == 2030


def test_toml_profiles_read_the_same(tmp_path):
    raw = _city(tmp_path)
    lines = [
        'name = "Testville"',
        'assets = "assets/inventory.gpkg"',
        'districts = "geo/districts.geojson"',
        'dem = "geo/dem.nc"',
        'horizons = ["baseline", "far"]',
        'scenarios = ["ssp245"]',
        "[region]",
        'name = "testville"',
        "bbox = [120.0, 30.0, 122.0, 32.0]",
        "[projections]",
        'catalog = "projections/catalog.yaml"',
        "[tide_gauges]",
        'annual_maxima = "tides/maxima.csv"',
        'stations = "tides/stations.csv"',
        'coastal_station = "harbour"',
    ]
    path = tmp_path / "profile.toml"
    path.write_text("\n".join(lines) + "\n")
    profile = load_profile(path)
    assert profile.dem == tmp_path / "geo" / "dem.nc"
    assert profile.region.bbox == tuple(raw["region"]["bbox"])
    assert find_profile(tmp_path) == path


def test_a_missing_file_names_the_field_and_the_path(tmp_path):
    raw = _city(tmp_path)
    raw["tide_gauges"]["stations"] = "tides/nowhere.csv"
    path = _write(tmp_path, raw)
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    message = str(error.value)
    assert str(path) in message
    assert "tide_gauges.stations" in message
    assert "nowhere.csv" in message


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        (lambda r: r.update(start_year="soon"), "start_year", "expected a whole number"),
        (lambda r: r.update(colour="blue"), "colour", "not a known field"),
        (lambda r: r.pop("dem"), "dem", "required, missing"),
        (lambda r: r.update(horizons=["baseline", "distant"]), "", "distant"),
        (lambda r: r.update(horizons=["far"]), "", "baseline"),
        (lambda r: r.update(scenarios=["rcp85"]), "", "rcp85"),
        (lambda r: r["projections"].update(store="x.zarr"), "projections", "exactly one"),
        (lambda r: r["region"].update(bbox=[122, 30, 120, 32]), "region", "lon_min < lon_max"),
        (lambda r: r["region"].update(polygon="geo/districts.geojson"), "region", "exactly one"),
    ],
)
def test_a_wrong_field_is_named(tmp_path, change, field, expected):
    raw = _city(tmp_path)
    change(raw)
    path = _write(tmp_path, raw)
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    message = str(error.value)
    assert message.startswith(f"{path}: field {field}")
    assert expected in message


def test_malformed_files_are_refused_with_their_name(tmp_path):
    bad_yaml = tmp_path / "profile.yaml"
    bad_yaml.write_text("name: [unclosed\n")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(bad_yaml)
    bad_toml = tmp_path / "profile.toml"
    bad_toml.write_text("name = \n")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(bad_toml)
    a_list = tmp_path / "list.yaml"
    a_list.write_text("- 1\n- 2\n")
    with pytest.raises(ProfileError, match="expected a mapping"):
        load_profile(a_list)
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "absent.yaml")
    with pytest.raises(ProfileError, match="expected a city profile"):
        find_profile(tmp_path / "empty")


def test_a_glob_must_match_files(tmp_path):
    raw = _city(tmp_path)
    raw["projections"] = {"glob": "cmip6/*.nc"}
    path = _write(tmp_path, raw)
    with pytest.raises(ProfileError, match=r"projections.glob: no file matches"):
        load_profile(path)
    (tmp_path / "cmip6").mkdir()
    (tmp_path / "cmip6" / "tasmax_day_M_ssp245_r1i1p1f1_gn_20150101-20201231.nc").write_text("x")
    assert load_profile(path).projections.glob == str(tmp_path / "cmip6" / "*.nc")


def test_profile_text_round_trips_with_relative_paths(tmp_path):
    _city(tmp_path)
    profile = CityProfile(
        name="Testville",
        region=RegionSpec(name="t", bbox=(120.0, 30.0, 122.0, 32.0)),
        projections=ProjectionsSpec(catalog=tmp_path / "projections" / "catalog.yaml"),
        tide_gauges=TideGaugeSpec(
            annual_maxima=tmp_path / "tides" / "maxima.csv",
            stations=tmp_path / "tides" / "stations.csv",
            coastal_station="harbour",
        ),
        assets=tmp_path / "assets" / "inventory.gpkg",
        districts=tmp_path / "geo" / "districts.geojson",
        dem=tmp_path / "geo" / "dem.nc",
    )
    text = profile_text(profile, relative_to=tmp_path, header="# test\n")
    assert text.startswith("# test\n")
    assert str(tmp_path) not in text
    (tmp_path / "profile.yaml").write_text(text)
    again = load_profile(tmp_path / "profile.yaml")
    assert again.model_dump() == profile.model_dump()


def test_refresh_refuses_a_bad_profile_before_any_work(tmp_path):
    raw = _city(tmp_path)
    raw["dem"] = "geo/missing_dem.nc"
    path = _write(tmp_path, raw)
    result = CliRunner().invoke(app, ["refresh", "--profile", str(path)])
    assert result.exit_code == 2
    assert "field dem" in result.output
    assert "missing_dem.nc" in result.output
    result = CliRunner().invoke(app, ["refresh", "--sample", str(tmp_path / "nothing")])
    assert result.exit_code == 2
    assert "expected a city profile" in result.output
    result = CliRunner().invoke(app, ["refresh"])
    assert result.exit_code == 2
