"""`resilience pull`: catalogue or glob -> verified files -> normalised projections."""

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
import xarray as xr
from typer.testing import CliRunner

from resilience.cli.main import app
from resilience.climate.catalog import write_sample_catalog
from resilience.climate.store import open_projection_store
from resilience.sample.projections import sample_file_name, write_sample_projections


def _http_server():
    """Load http_server.py beside this file once (tests are not a package; see test_fetch)."""
    name = "resilience_test_http_server"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("http_server.py")
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


Route, serve = _http_server().Route, _http_server().serve

runner = CliRunner()
YEARS = {"historical": range(1995, 2015), "ssp585": range(2081, 2101)}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("pull-sample")
    write_sample_projections(
        root, models=("SYNTH-ESM-A",), experiments=YEARS, variables=("tasmax", "pr")
    )
    write_sample_catalog(root)
    return root


def invoke(*args, data_dir):
    return runner.invoke(app, ["pull", *map(str, args)], env={"RESILIENCE_DATA_DIR": str(data_dir)})


def test_catalogue_pull_writes_normalised_projections(sample, tmp_path):
    result = invoke(
        sample / "catalog.yaml",
        "--horizons",
        "baseline,far",
        "--out",
        tmp_path / "out.zarr",
        data_dir=tmp_path / "data",
    )
    assert result.exit_code == 0, result.output
    assert "missing combinations: none" in result.output
    assert "projections store" in result.output and "written" in result.output
    ds = open_projection_store(tmp_path / "out.zarr")
    assert ds.attrs["synthetic"] == "yes"  # the sample says so, and the store keeps it
    assert ds["tasmax"].attrs["units"] == "degC" and ds["pr"].attrs["units"] == "mm/day"
    assert ds["tasmax"].attrs["original_units"] == "K"
    assert set(ds["scenario"].values) == {"historical", "ssp585"}
    assert 5 < float(ds["tasmax"].sel(scenario="historical").mean()) < 25  # degC, not K
    assert bool(ds["region_mask"].any()) and not bool(ds["region_mask"].all())  # polygon


def test_source_glob_and_bbox_region(sample, tmp_path):
    result = invoke(
        "--source",
        f"{sample}/tasmax_*.nc",
        "--variables",
        "tasmax",
        "--horizons",
        "baseline",
        "--region",
        "121.3,31.1,121.6,31.4",
        data_dir=tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert "tasmax" in result.output and "1995-2014" in result.output


def test_pull_over_http_then_nothing_new(sample, tmp_path):
    files = {
        f"/nex/{p.name}": Route(body=p.read_bytes()) for p in sample.glob("tasmax_*historical*.nc")
    }
    with serve(files) as server:
        catalog = tmp_path / "http.yaml"
        catalog.write_text(
            "sources:\n  - name: mirror\n    driver: http\n"
            f"    url_template: {server.base_url}/nex/"
            "{variable}_day_{model}_{experiment}_{variant}_{grid}_{year}.nc\n"
            "    variables: [tasmax]\n    models: [SYNTH-ESM-A]\n    experiments: [historical]\n"
            "    years: ['1995-2014']\n"
        )
        first = invoke(
            catalog, "--variables", "tasmax", "--horizons", "baseline", data_dir=tmp_path
        )
        assert first.exit_code == 0, first.output
        sent = sum(r.bytes_sent for r in server.routes.values())
        assert sent == sum(len(r.body) for r in server.routes.values())
        again = invoke(
            catalog, "--variables", "tasmax", "--horizons", "baseline", data_dir=tmp_path
        )
        assert again.exit_code == 0, again.output
        assert sum(r.bytes_sent for r in server.routes.values()) == sent  # 304s: no new bytes
    cached = sorted((tmp_path / "cache" / "mirror").glob("*.nc"))
    assert len(cached) == 20


def test_bad_inputs_are_clear_and_cache_nothing(sample, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(sample, broken)
    bad_file = broken / sample_file_name("tasmax", "SYNTH-ESM-A", "historical", 1995)
    bad_file.write_bytes(b"this is not netcdf")
    result = invoke(
        "--source",
        f"{broken}/tasmax_*.nc",
        "--variables",
        "tasmax",
        "--horizons",
        "baseline",
        data_dir=tmp_path / "d1",
    )
    assert result.exit_code == 2 and "not" in result.output and bad_file.name in result.output
    outside = invoke(
        sample / "catalog.yaml",
        "--variables",
        "tasmax",
        "--horizons",
        "baseline",
        "--region",
        "100,10,101,11",
        data_dir=tmp_path / "d2",
    )
    assert outside.exit_code == 2 and "outside" in outside.output
    missing = invoke(
        sample / "catalog.yaml",
        "--variables",
        "hurs",
        "--horizons",
        "baseline",
        data_dir=tmp_path / "d3",
    )
    assert missing.exit_code == 2 and "hurs" in missing.output
    # a catalogue checksum that no longer matches the file is refused
    tampered = broken / "catalog.yaml"
    result = invoke(
        tampered, "--variables", "tasmax", "--horizons", "baseline", data_dir=tmp_path / "d4"
    )
    assert result.exit_code == 2 and "sha256" in result.output.lower()
    assert not (tmp_path / "d1" / "cache").exists() or not any(
        (tmp_path / "d1" / "cache").rglob("*.nc")
    )


def test_url_template_source_and_a_bad_download_is_not_cached(sample, tmp_path):
    routes = {
        f"/nex/{p.name}": Route(body=p.read_bytes()) for p in sample.glob("tasmax_*historical*.nc")
    }
    template = "{variable}_day_{model}_{experiment}_{variant}_{grid}_{year}.nc"
    with serve(routes) as server:
        args = [
            "--source",
            f"{server.base_url}/nex/{template}",
            "--variables",
            "tasmax",
            "--models",
            "SYNTH-ESM-A",
            "--experiments",
            "historical",
            "--horizons",
            "baseline",
        ]
        result = invoke(*args, data_dir=tmp_path / "ok")
        assert result.exit_code == 0, result.output
        assert "1995-2014" in result.output
        # the server now serves garbage for one year: a clear error, and it is not kept
        bad = "/nex/tasmax_day_SYNTH-ESM-A_historical_r1i1p1f1_gn_2003.nc"
        routes[bad] = Route(body=b"<html>maintenance</html>")
        result = invoke(*args, data_dir=tmp_path / "bad")
        assert result.exit_code == 2 and "2003" in result.output
        assert not (tmp_path / "bad" / "cache" / "source" / bad.rsplit("/", 1)[1]).exists()
    missing = invoke(
        "--source",
        "https://example.invalid/{year}.nc",
        "--horizons",
        "baseline",
        data_dir=tmp_path / "m",
    )
    assert missing.exit_code == 2 and "needs --variables, --models and" in missing.output


def test_pull_a_global_glob_into_a_store_then_build_the_heat_layer_from_it(tmp_path, cmip6_file):
    """The whole user path: any CMIP6 files -> `pull --out STORE` -> `hazards heat`."""
    folder = tmp_path / "cmip6"
    for experiment, span, year, years in (
        ("historical", "19950101-20141231", 1995, 20),
        ("ssp585", "208101-209012", 2081, 10),
        ("ssp585", "209101-210012", 2091, 10),
    ):
        cmip6_file(
            folder / f"tasmax_day_GLOBAL-1_{experiment}_r1i1p1f1_gn_{span}.nc",
            model="GLOBAL-1",
            experiment=experiment,
            start=(year, 1, 1),
            days=365 * years,
            offset_k=4.0 if experiment == "ssp585" else 0.0,
            seed=year,
        )
    store = tmp_path / "projections.zarr"
    args = ["--source", f"{folder}/*.nc", "--variables", "tasmax", "--horizons", "baseline,far"]
    pulled = invoke(*args, "--region", "global", "--out", store, data_dir=tmp_path / "d")
    assert pulled.exit_code == 0, pulled.output
    assert "6 x 12" in pulled.output and "1995-2100" in pulled.output
    again = invoke(*args, "--region", "global", "--out", store, data_dir=tmp_path / "d")
    assert again.exit_code == 0 and "unchanged (same inputs and request)" in again.output
    heat = tmp_path / "heat.nc"
    built = runner.invoke(
        app,
        ["hazards", "heat", "--projections", str(store), "--horizons", "far", "--out", str(heat)],
    )
    assert built.exit_code == 0, built.output
    assert "txx 20-yr" in built.output and "ssp585" in built.output
    layer = xr.load_dataset(heat)
    assert layer.attrs["inputs_sha256"] == open_projection_store(store).attrs["inputs_sha256"]


def test_a_partial_horizon_is_printed_as_a_warning_naming_the_file(tmp_path, cmip6_file):
    folder = tmp_path / "cmip6"
    cmip6_file(folder / "tasmax_day_M_historical_r1i1p1f1_gn_19950101-20141231.nc",
               model="M", days=365 * 20)  # fmt: skip
    short = "tasmax_day_M_ssp245_r1i1p1f1_gn_20810101-20951231.nc"
    cmip6_file(folder / short, model="M", experiment="ssp245", start=(2081, 1, 1),
               days=365 * 15)  # fmt: skip
    store = tmp_path / "p.zarr"
    args = ["--source", f"{folder}/*.nc", "--variables", "tasmax", "--horizons", "baseline,far"]
    pulled = invoke(*args, "--region", "global", "--out", store, data_dir=tmp_path / "d")
    assert pulled.exit_code == 0, pulled.output
    assert "missing combinations: 1" in pulled.output
    assert "horizon far (2081-2100): years 2096-2100 missing" in pulled.output
    assert short in pulled.output
    built = runner.invoke(
        app, ["hazards", "heat", "--projections", str(store), "--horizons", "far",
              "--out", str(tmp_path / "h.nc")],
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    assert "warning: projections gap:" in built.output and "2096-2100 missing" in built.output
