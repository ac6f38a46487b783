"""Tests of ``resilience flood`` (coastal flood maps of one station) through typer's runner.

Inputs are small real files written by the tests: a surge HazardLayer built from SYNTHETIC
annual maxima (GEV loc 4.2 m, scale 0.3 m, xi 0.1) and a 7 x 9 DEM with an open basin, a
closed basin and high land, so that every depth can be checked by hand against the layer's
own still-water levels.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
import xarray as xr
from typer.testing import CliRunner

from hazard_models.coast.inundation import cell_area_km2
from hazard_models.coast.overtopping import WEIR_COEFFICIENT
from hazard_models.coast.surge import build_surge_layer
from hazard_models.layer import validate_hazard_layer
from resilience.cli.flood import flood_command
from resilience.storage.layer_store import LayerStore

runner = CliRunner()
LAT = np.linspace(31.0, 31.06, 7)
LON = np.linspace(121.0, 121.08, 9)
OPEN_BASIN_M = 4.0  # ground of the channel and the open basin


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """A small app with the command registered as the lead will register it."""
    application = typer.Typer()
    application.command("flood")(flood_command)

    @application.command()
    def version() -> None:  # a second command, so that "flood" is a sub-command
        typer.echo("test")

    return application


def _ground() -> np.ndarray:
    """Sea (NaN) in column 0; land at 9 m; a 4 m channel (row 1) into a 4 m open basin; a
    4 m closed basin inside a 10 m ring."""
    ground = np.full((7, 9), 9.0)
    ground[:, 0] = np.nan
    ground[1, 1:4] = OPEN_BASIN_M
    ground[1:3, 4:6] = OPEN_BASIN_M
    ground[4:7, 5:9] = 10.0
    ground[5, 6:8] = OPEN_BASIN_M
    return ground


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("flood")
    rng = np.random.default_rng(2)
    years = np.arange(1961, 2021)
    gev = 4.2 + 0.3 / 0.1 * ((-np.log(rng.random((2, years.size)))) ** -0.1 - 1.0)
    maxima = pd.DataFrame(
        {
            "station": np.repeat(["wusongkou", "huangpu_park"], years.size),
            "year": np.tile(years, 2),
            "annual_max_m": gev.ravel(),
        }
    )
    stations = pd.DataFrame(
        {
            "station": ["wusongkou", "huangpu_park"],
            "station_name": ["Wusongkou", "Huangpu Park"],
            "lat": [31.39, 31.24],
            "lon": [121.51, 121.49],
            "datum": "Wusong",
            "subsidence_mm_per_year": 3.0,
        }
    )
    rise = pd.DataFrame(
        [
            {"scenario": s, "year": y, "quantile": q, "sea_level_rise_m": 0.005 * (y - 2005) * m}
            for s in ("ssp245", "ssp585")
            for y in range(2020, 2101, 10)
            for q, m in ((0.17, 0.8), (0.5, 1.0), (0.83, 1.4))
        ]
    )
    layer = build_surge_layer(maxima, stations, rise, scenarios=["ssp245", "ssp585"])
    surge = root / "surge.nc"
    layer.to_netcdf(surge)
    dem = root / "dem.nc"
    elevation = xr.DataArray(_ground(), dims=("lat", "lon"), coords={"lat": LAT, "lon": LON})
    elevation.assign_attrs(units="m").to_dataset(name="elevation").to_netcdf(dem)
    return {"surge": surge, "dem": dem, "root": root}


def _run(app, files, *args: str) -> tuple[dict, xr.Dataset]:
    out = files["root"] / "out.nc"
    base = ["flood", "--surge-layer", str(files["surge"]), "--dem", str(files["dem"])]
    result = runner.invoke(app, [*base, "--out", str(out), *args, "--json"])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out) as written:
        return json.loads(result.output), validate_hazard_layer(written.load())


def test_no_defences_depths_by_hand(app, files):
    got, layer = _run(app, files, "--no-defences", "--levels", "quantiles")
    with xr.open_dataset(files["surge"]) as surge:
        levels = surge["still_water_level"].sel(station="wusongkou").load()
    assert layer.attrs["hazard"] == "coastal_flood" and layer.attrs["station"] == "wusongkou"
    assert layer["flood_depth"].dims == (
        "scenario",
        "horizon",
        "return_period",
        "quantile",
        "lat",
        "lon",
    )
    pick = {"scenario": "ssp585", "horizon": "far", "return_period": 100.0, "quantile": 0.83}
    depth = layer["flood_depth"].sel(pick).values
    level = float(levels.sel(pick))
    # Open basin and channel: level - 4 m (float32 storage: 1e-6 m); closed basin and 9 m
    # land: dry (the 100-yr level stays below 9 m); the sea: NaN.
    assert OPEN_BASIN_M < level < 9.0
    np.testing.assert_allclose(depth[1, 1:4], level - OPEN_BASIN_M, atol=1e-6)
    np.testing.assert_allclose(depth[1:3, 4:6], level - OPEN_BASIN_M, atol=1e-6)
    assert np.all(depth[5, 6:8] == 0) and depth[3, 3] == 0 and np.all(np.isnan(depth[:, 0]))
    rows = [r for r in got["areas"] if r["scenario"] == "ssp585" and r["horizon"] == "far"]
    areas = {(r["return_period"], r["quantile"]): r["flooded_area_km2"] for r in rows}
    cells = layer["flooded_area"].sel(pick).item()
    assert areas[(100.0, 0.83)] == pytest.approx(cells)
    assert got["layer"].endswith("out.nc")
    assert "no defences" in layer.attrs["history"]


def test_notional_seawall_holds_today_and_is_overtopped_later(app, files):
    got, layer = _run(app, files, "--return-periods", "100,1000")
    assert layer.attrs["level_variable"] == "still_water_level_integrated"
    assert "quantile" not in layer["flood_depth"].dims
    area = layer["flooded_area"]
    # Crest = today's 200-yr level: today's 100-yr level stays out, the 1000-yr gets in;
    # in the far horizon the 100-yr level gets in where (and only where) it tops the crest.
    assert float(area.sel(scenario="ssp245", horizon="baseline", return_period=100.0)) == 0
    assert float(area.sel(scenario="ssp245", horizon="baseline", return_period=1000.0)) > 0
    with xr.open_dataset(files["surge"]) as surge:
        crest = float(
            surge["still_water_level"]
            .sel(station="wusongkou", horizon="baseline", return_period=200, quantile=0.5)
            .isel(scenario=0)
        )
        far = surge["still_water_level_integrated"].sel(station="wusongkou", horizon="far")
        far = far.sel(return_period=100).load()
    assert f"crest {crest:.3f} m" in layer.attrs["defences"]
    for scenario in ("ssp245", "ssp585"):
        flooded = float(area.sel(scenario=scenario, horizon="far", return_period=100.0)) > 0
        assert flooded == (float(far.sel(scenario=scenario)) > crest)
    held = _run(app, files, "--return-periods", "1000", "--overtopping", "none")[1]
    assert float(held["flooded_area"].max()) == 0  # walls that never overtop keep all out
    low = _run(app, files, "--crest-m", "4.5", "--return-periods", "100")[1]
    assert "crest 4.500 m" in low.attrs["defences"]
    assert float(low["flooded_area"].sel(horizon="baseline").min()) > 0


def test_defence_file_and_breach(app, files):
    csv = files["root"] / "walls.csv"
    # Two walls across the channel's mouth column (lon 121.01), rows 0-3 and 4-6, 12 m high.
    csv.write_text(
        "segment,crest_m,lon,lat\n"
        "north,12,121.01,31.0\nnorth,12,121.01,31.03\n"
        "south,12,121.01,31.04\nsouth,12,121.01,31.06\n"
    )
    walled = _run(app, files, "--defences", str(csv), "--return-periods", "1000")[1]
    assert float(walled["flooded_area"].max()) == 0
    open_north = _run(
        app, files, "--defences", str(csv), "--breach", "north", "--return-periods", "1000"
    )[1]
    depth = open_north["flood_depth"].sel(scenario="ssp585", horizon="far").squeeze().values
    assert np.all(depth[1:3, 4:6] > 0)  # through the breach into the open basin
    assert "breached=['north']" in open_north["flood_depth"].attrs["method"]


def test_dem_on_another_datum_gives_the_same_depths(app, files):
    """Levels are converted explicitly: a DEM on the 1985 datum (ground - 1.717 m, the
    UNCONFIRMED default offset) floods exactly as the Wusong DEM does."""
    national = files["root"] / "dem1985.nc"
    with xr.open_dataset(files["dem"]) as dem:
        (dem - 1.717).assign_attrs(dem.attrs).to_netcdf(national)
    args = ["--no-defences", "--return-periods", "100"]
    wusong = _run(app, files, *args)[1]
    out = files["root"] / "out1985.nc"
    base = ["flood", "--surge-layer", str(files["surge"]), "--dem", str(national)]
    result = runner.invoke(app, [*base, *args, "--dem-datum", "1985", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out) as converted:
        # Depths are differences: the same to float32 rounding (1e-5 m).
        xr.testing.assert_allclose(converted["flood_depth"], wusong["flood_depth"], atol=1e-5)
        assert "offset UNCONFIRMED" in converted.attrs["history"]


def test_reads_the_store_and_the_shipped_dem(app, files, tmp_path, monkeypatch):
    monkeypatch.setenv("RESILIENCE_DATA_DIR", str(tmp_path))
    with xr.open_dataset(files["surge"]) as surge:
        LayerStore(tmp_path / "layers").publish("surge", surge.load())
    out = tmp_path / "shipped.nc"
    args = ["flood", "--out", str(out), "--scenarios", "ssp585", "--horizons", "baseline,far"]
    result = runner.invoke(app, [*args, "--plot", str(tmp_path / "d.png")])
    assert result.exit_code == 0, result.output
    assert "flooded land, km2" in result.output and "plot " in result.output
    assert (tmp_path / "d.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the maps default to the return period where the panels differ most, and say which
    with xr.open_dataset(out) as layer:
        area = layer["flooded_area"]
        area = area.sel(quantile=0.5, method="nearest") if "quantile" in area.dims else area
        spread = area.max(["scenario", "horizon"]) - area.min(["scenario", "horizon"])
        chosen = float(spread["return_period"][int(spread.argmax())])  # ties: the shortest
    assert f"({chosen:g}-yr flood depth)" in " ".join(result.output.split())
    bad = runner.invoke(
        app, [*args, "--plot", str(tmp_path / "e.png"), "--plot-return-period", "7"]
    )
    assert bad.exit_code == 2 and "--plot-return-period: return period 7" in bad.output
    with xr.open_dataset(out) as layer:
        assert layer.sizes["lat"] == 180 and layer.sizes["lon"] == 192  # the shipped DEM
        assert layer["horizon"].values.tolist() == ["baseline", "far"]


def test_errors_name_the_option_or_file(app, files, tmp_path, monkeypatch):
    base = ["flood", "--surge-layer", str(files["surge"]), "--dem", str(files["dem"])]
    base += ["--out", str(tmp_path / "x.nc")]
    cases = {
        ("--station", "pudong"): "--station 'pudong': expected one of ['wusongkou'",
        ("--scenarios", "ssp126"): "--scenarios: ['ssp126'] not in the surge layer",
        ("--return-periods", "30"): "--return-periods: [30.0] not in the surge layer",
        ("--breach", "east"): "--breach: unknown segments ['east']; expected some of "
        "['notional_seawall']",
        ("--no-defences", "--crest-m", "5"): "at most one of --no-defences, --crest-m",
        ("--overtopping", "sometimes"): "invalid option: --overtopping",
        ("--levels", "median"): "invalid option: --levels",
        ("--dem-datum", "WGS84"): "found 'WGS84'",
    }
    for args, message in cases.items():
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    bad = tmp_path / "walls.csv"
    bad.write_text("segment,crest_m,lon,lat\nnorth,12,121.01,31.0\nnorth,11,121.01,31.03\n")
    result = runner.invoke(app, [*base, "--defences", str(bad)])
    assert "line 3, field 'crest_m': expected one crest per segment (12 m), found 11" in (
        result.output
    )
    bad.write_text("segment,crest_m,lon,lat\nnorth,12,121.01,31.0\n")
    assert (
        "expected at least 2 vertices" in runner.invoke(app, [*base, "--defences", str(bad)]).output
    )
    missing = runner.invoke(
        app, ["flood", "--surge-layer", str(tmp_path / "none.nc"), "--out", "x"]
    )
    assert "--surge-layer:" in missing.output and "does not exist" in missing.output
    monkeypatch.setenv("RESILIENCE_DATA_DIR", str(tmp_path / "empty"))
    empty = runner.invoke(app, ["flood", "--out", str(tmp_path / "x.nc")])
    assert empty.exit_code == 2 and "pass --surge-layer FILE" in empty.output
    assert not (tmp_path / "x.nc").exists()  # nothing written on an error


def test_overtopping_is_the_default_and_never_exceeds_the_bathtub(app, files):
    got, layer = _run(app, files, "--return-periods", "100,1000")
    assert layer.attrs["flood_method"] == "overtopping"
    assert "synthetic storm tide: M2 tide range 3 m" in layer.attrs["storm_tide"]
    bathtub = _run(app, files, "--return-periods", "100,1000", "--method", "bathtub")[1]
    assert "overtopping_volume" not in bathtub.data_vars
    xr.testing.assert_allclose(layer["bathtub_area"], bathtub["flooded_area"])
    assert bool((layer["flooded_area"] <= layer["bathtub_area"] + 1e-9).all())
    for row in got["areas"]:
        assert row["flooded_area_km2"] <= row["bathtub_area_km2"] + 1e-9
        if row["bathtub_bound"] == 0:  # volume in = volume stored
            assert row["stored_volume_m3"] == pytest.approx(row["overtopping_volume_m3"], rel=1e-9)
        assert (row["overtopping_volume_m3"] > 0) == (row["flooded_area_km2"] > 0)


def test_overtopping_depth_by_hand_with_a_storm_tide_file(app, files):
    """A 6-minute flat-topped event against a 4.5 m notional wall: only the ring cell at the
    channel mouth (ground 4 m) is below the water, the rest of the ring stands on 9 m land.
    Its overflow, C (L - 4.5)^1.5 x 360 s x the cell's side, fills the channel and the open
    basin (6 cells at 4 m) evenly; the closed basin stays dry."""
    event = files["root"] / "event.csv"
    event.write_text("time_h,level_m,note\n0.0,2.0,start\n0.1,2.0,end\n")
    args = ["--crest-m", "4.5", "--storm-tide", str(event), "--scenarios", "ssp585"]
    args += ["--horizons", "far", "--return-periods", "100"]
    got, layer = _run(app, files, *args)
    level = float(layer["water_level"].squeeze())
    assert 4.5 < level < 9.0
    cells = cell_area_km2(LAT, LON) * 1e6
    volume = WEIR_COEFFICIENT * (level - 4.5) ** 1.5 * 360.0 * np.sqrt(cells[1, 1])
    basin = cells[1, 2:4].sum() + cells[1:3, 4:6].sum()
    depth = layer["flood_depth"].squeeze().values
    assert volume / basin < level - OPEN_BASIN_M  # below the bathtub cap
    # float32 storage of depth: 1e-6 relative
    np.testing.assert_allclose(depth[1, 2:4], volume / basin, rtol=1e-6)
    np.testing.assert_allclose(depth[1:3, 4:6], volume / basin, rtol=1e-6)
    assert np.all(depth[5, 6:8] == 0) and depth[1, 1] == 0  # closed basin; the wall cell
    (row,) = got["areas"]
    assert row["overtopping_volume_m3"] == pytest.approx(volume, rel=1e-9)
    assert row["stored_volume_m3"] == pytest.approx(volume, rel=1e-9)
    assert "event.csv (2 points over 0.1 h)" in layer["flood_depth"].attrs["method"]


def test_overtopping_errors_name_the_option_or_file(app, files, tmp_path):
    base = ["flood", "--surge-layer", str(files["surge"]), "--dem", str(files["dem"])]
    base += ["--out", str(tmp_path / "x.nc")]
    event = tmp_path / "event.csv"
    event.write_text("time_h,level_m\n0,1\n2,1.5\n1,1\n")
    cases = {
        ("--storm-tide", str(event)): "event.csv: line 4, field 'time_h': expected time_h "
        "above the previous row's 2, found 1",
        ("--method", "dynamic"): "invalid option: --method",
        ("--surge-duration-h", "0"): "invalid option: --surge_duration_h",
        ("--method", "bathtub", "--storm-tide", str(event)): "--storm-tide: only with --method "
        "overtopping",
    }
    for args, message in cases.items():
        result = runner.invoke(app, [*base, *args])
        output = " ".join(result.output.split())
        assert result.exit_code == 2 and message in output, (args, result.output)
    assert not (tmp_path / "x.nc").exists()
