"""A refresh of a city that is not the sample: its own CMIP6 files, through its own profile.

The projections are CMIP6 DRS-named files (date ranges in the names, several files per
experiment), global (0-360 longitudes, descending latitudes), in K and kg m-2 s-1 on a
noleap calendar, for two members of one model; the profile names them by a glob, and the
refresh pulls them into a store, builds every layer and writes the risk table.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from flows.refresh import run_refresh
from resilience.geodata.geography import data_path
from resilience.profile import ProfileError, load_profile
from resilience.storage.layer_store import LayerStore

pytestmark = pytest.mark.slow

#: A coarse global grid as a model writes it: descending latitudes, 0-360 longitudes, 30 deg.
LAT = np.arange(75.0, -76.0, -30.0)
LON = np.arange(15.0, 360.0, 30.0)
TIME_UNITS = "days since 1850-01-01"
CHUNKS = {
    "historical": [((1995, 1, 1), 3650), ((2005, 1, 1), 3650)],
    "ssp245": [((2041, 1, 1), 7300)],
}


def _write(path: Path, variable: str, member: str, experiment: str, start, days: int) -> None:
    import cftime
    import netCDF4

    rng = np.random.default_rng(abs(hash((variable, member, experiment, start))) % 2**32)
    origin = cftime.date2num(cftime.datetime(*start, calendar="noleap"), TIME_UNITS, "noleap")
    doy = np.arange(days) % 365
    warm = 2.0 if experiment == "ssp245" else 0.0
    if variable == "pr":
        wet = rng.random((days, LAT.size, LON.size)) < 0.35
        values = np.where(wet, rng.gamma(0.8, 12.0, wet.shape), 0.0) / 86400.0  # kg m-2 s-1
        units, std = "kg m-2 s-1", "precipitation_flux"
    else:
        cycle = 290.0 + 10.0 * np.sin(2 * np.pi * (doy - 100) / 365)
        shift = {"tasmax": 5.0, "tasmin": -4.0}[variable] + warm
        values = (
            cycle[:, None, None] + shift + 3.0 * rng.standard_normal((days, LAT.size, LON.size))
        )
        units, std = "K", "air_temperature"
    with netCDF4.Dataset(path, "w") as nc:
        nc.setncatts(
            {
                "Conventions": "CF-1.7 CMIP-6.2",
                "source_id": "MODEL-A",
                "experiment_id": experiment,
                "variant_label": member,
                "frequency": "day",
                "grid_label": "gn",
                "variable_id": variable,
            }
        )
        for name, size in (("time", days), ("lat", LAT.size), ("lon", LON.size)):
            nc.createDimension(name, size)
        time = nc.createVariable("time", "f8", ("time",))
        time.setncatts({"units": TIME_UNITS, "calendar": "noleap", "standard_name": "time"})
        time[:] = origin + np.arange(days) + 0.5
        for name, axis, std_name, axis_units in (
            ("lat", LAT, "latitude", "degrees_north"),
            ("lon", LON, "longitude", "degrees_east"),
        ):
            coord = nc.createVariable(name, "f8", (name,))
            coord.setncatts({"standard_name": std_name, "units": axis_units})
            coord[:] = axis
        var = nc.createVariable(variable, "f4", ("time", "lat", "lon"))
        var.setncatts({"standard_name": std, "units": units})
        var[:] = values.astype("f4")


def _cmip6_files(folder: Path) -> int:
    count = 0
    for variable in ("tasmax", "tasmin", "pr"):
        for member in ("r1i1p1f1", "r2i1p1f1"):
            for experiment, chunks in CHUNKS.items():
                for start, days in chunks:
                    first = f"{start[0]}0101"
                    last = f"{start[0] + days // 365 - 1}1231"
                    name = f"{variable}_day_MODEL-A_{experiment}_{member}_gn_{first}-{last}.nc"
                    _write(folder / name, variable, member, experiment, start, days)
                    count += 1
    return count


ASSETS = [
    ("a-1", "Riverside pumping station", "water_plant", 121.30, 31.10),
    ("a-2", "Harbour substation", "substation", 121.70, 30.85),
    ("a-3", "Central hospital", "hospital", 121.45, 31.20),
]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A city folder with its own data and a TOML profile, unlike the sample's."""
    from resilience.sample.tides import write_sample_tide_gauges

    root = tmp_path_factory.mktemp("harbour_city")
    (root / "cmip6").mkdir()
    files = _cmip6_files(root / "cmip6")
    maxima = write_sample_tide_gauges(root / "gauges")
    (root / "maps").mkdir()
    shutil.copyfile(
        data_path("geography", "shanghai_districts.geojson"), root / "maps" / "d.geojson"
    )
    dem = "shanghai_dem_30arcsec_meteva_subset.nc"
    shutil.copyfile(data_path("gridded", dem), root / "maps" / "dem.nc")
    with (root / "assets.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["asset_id", "name", "asset_type", "owner_agency", "criticality",
             "ground_elevation_m", "protection_level_m", "design_life_years",
             "replacement_value", "depends_on", "lon", "lat"]
        )  # fmt: skip
        for asset_id, name, kind, lon, lat in ASSETS:
            writer.writerow(
                [asset_id, name, kind, "City works", 4, 4.5, 5.0, 50, 1e8, "", lon, lat]
            )
    profile = root / "city.toml"
    profile.write_text(
        "\n".join(
            [
                'name = "Harbour City"',
                'assets = "assets.csv"',
                'districts = "maps/d.geojson"',
                'dem = "maps/dem.nc"',
                'horizons = ["baseline", "mid"]',
                'scenarios = ["ssp245"]',
                "start_year = 2030",
                "[region]",
                'name = "harbour"',
                "bbox = [100.0, 10.0, 140.0, 50.0]",
                "[projections]",
                'glob = "cmip6/*_day_*.nc"',
                "[tide_gauges]",
                f'annual_maxima = "gauges/{maxima.name}"',
                'stations = "gauges/shanghai_tide_stations.csv"',
                'coastal_station = "wusongkou"',
            ]
        )
        + "\n"
    )
    return root, profile, files


def test_a_city_with_its_own_cmip6_files_refreshes_through_its_profile(city, tmp_path):
    root, profile, files = city
    assert files == 18
    store_root = tmp_path / "data" / "layers"
    result = run_refresh(profile, store_root, tmp_path / "out", use_prefect=False)
    store = LayerStore(store_root)
    heat = store.open("heat")
    # the store kept the two members apart, and the region's cells with the pull's one-cell
    # buffer (docs/pull.md), not the globe
    assert sorted(result.projections.models) == ["MODEL-A_r1i1p1f1", "MODEL-A_r2i1p1f1"]
    assert result.projections.directory == tmp_path / "data" / "projections" / "harbour-city" / (
        "projections.zarr"
    )
    assert list(heat["lat"].values) == [-15.0, 15.0, 45.0, 75.0]  # ascending now
    assert list(heat["lon"].values) == [75.0, 105.0, 135.0, 165.0]  # -180..180
    assert list(heat["horizon"].values) == ["baseline", "mid"]
    assert list(heat["scenario"].values) == ["ssp245"]
    warming = heat["txx"].sel(quantile=0.5, return_period=20, scenario="ssp245")
    warming = warming.mean(["lat", "lon"])
    assert float(warming.sel(horizon="mid") - warming.sel(horizon="baseline")) > 1.0
    for name in ("heat", "rain", "idf", "surge", "coastal_flood"):
        assert name in result.layers
    rows = list(csv.DictReader((tmp_path / "out" / "risk" / "risk_table.csv").open()))
    assert {row["asset_id"] for row in rows} == {a[0] for a in ASSETS}
    # a second refresh reuses the store: same inputs, same request
    again = run_refresh(profile, store_root, tmp_path / "out2", use_prefect=False)
    assert again.projections.inputs_sha256 == result.projections.inputs_sha256


def test_a_profile_with_a_bad_path_or_field_is_refused_by_name(city, tmp_path):
    root, profile, _ = city
    text = profile.read_text()
    broken = root / "broken.toml"
    broken.write_text(text.replace('dem = "maps/dem.nc"', 'dem = "maps/nowhere.nc"'))
    with pytest.raises(ProfileError, match=r"broken.toml: field dem: no such file"):
        run_refresh(broken, tmp_path / "layers", tmp_path / "out", use_prefect=False)
    broken.write_text(text.replace("start_year = 2030", 'start_year = "soon"'))
    with pytest.raises(ProfileError, match="field start_year"):
        load_profile(broken)
    broken.write_text(text.replace('glob = "cmip6/*_day_*.nc"', 'glob = "cmip7/*.nc"'))
    with pytest.raises(ProfileError, match="projections.glob: no file matches"):
        load_profile(broken)
    assert yaml.safe_load("a: 1")  # the YAML reader is the profile's too


def test_an_observed_reference_off_the_projection_grid_is_a_clear_error(
    city, tmp_path, monkeypatch
):
    """ERA5-Land at 0.1 degree cannot adjust a 30-degree grid: refused by name, exit 2."""
    from typer.testing import CliRunner

    from resilience.cli.main import app

    root, profile, _ = city
    era5 = data_path("observed", "era5land", "era5land_shanghai_daily_2010_2025.nc")
    with_reference = root / "with_reference.toml"
    with_reference.write_text(
        profile.read_text() + f'[observed_reference]\npath = "{era5}"\nvariables = ["tasmax"]\n'
    )
    monkeypatch.setenv("RESILIENCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RESILIENCE_USE_PREFECT", "false")
    result = CliRunner().invoke(app, ["refresh", "--profile", str(with_reference)])
    assert result.exit_code == 2, result.output
    assert "refresh of Harbour City" in result.output
    assert "is not on the ERA5-Land grid" in " ".join(result.output.split())
