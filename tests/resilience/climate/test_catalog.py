"""resilience.climate.catalog: YAML catalogues, horizon-driven selection, pulls (loopback HTTP)."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from resilience.climate.catalog import CatalogError, load_catalog, write_sample_catalog
from resilience.climate.fetch import read_manifest
from resilience.climate.projections import open_projections
from resilience.climate.selection import PullError, pull, select
from resilience.sample.projections import write_sample_projections
from resilience.schema import Horizon

_SPEC = importlib.util.spec_from_file_location(
    "resilience_test_catalog_http_server", Path(__file__).with_name("http_server.py")
)
http_server = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = http_server
_SPEC.loader.exec_module(http_server)
Route, serve = http_server.Route, http_server.serve

TEMPLATE = (
    "{base}/{model}/{experiment}/{variable}/"
    "{variable}_day_{model}_{experiment}_{variant}_{grid}_{year}.nc"
)
EXAMPLE = Path(__file__).parents[3] / "resilience" / "data" / "catalogs" / "example.yaml"


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def http_source(base: str, **changes) -> dict:
    source = {
        "name": "mirror",
        "driver": "http",
        "url_template": TEMPLATE.replace("{base}", base),
        "variables": ["tasmax", "pr"],
        "models": ["ACCESS-CM2", "MIROC6"],
        "experiments": ["historical", "ssp245", "ssp585"],
        "years": {"historical": ["1950-2014"], "ssp245": ["2015-2100"], "ssp585": ["2015-2100"]},
    }
    return {**source, **changes}


def small_netcdf(tmp_path: Path, variable: str, year: int) -> bytes:
    """Return a seeded 10-day CF file named by its year (a real NetCDF body to serve)."""
    rng = np.random.default_rng(year)
    ds = xr.Dataset({variable: (("time", "lat", "lon"), rng.random((10, 3, 3)), {"units": "K"})})
    path = tmp_path / f"{variable}-{year}.nc"
    ds.to_netcdf(path, engine="netcdf4")
    return path.read_bytes()


def test_a_url_template_selects_only_the_horizon_years(tmp_path):
    catalog = load_catalog(write_yaml(tmp_path / "c.yaml", {"sources": [http_source("https://x")]}))
    specs = select(
        catalog, variables=["tasmax"], horizons=["baseline", "mid"], experiments=["ssp245"]
    )
    # 2 models x (20 baseline years from historical + 20 mid years from ssp245), one per file.
    assert len(specs) == 80 and all(len(s.years) == 1 for s in specs)
    hist = sorted(s.years[0] for s in specs if s.experiments == ("historical",))
    ssp = sorted(s.years[0] for s in specs if s.experiments == ("ssp245",))
    assert hist == sorted(list(range(1995, 2015)) * 2)
    assert ssp == sorted(list(range(2041, 2061)) * 2)
    first = specs[0]
    assert first.location == (
        "https://x/ACCESS-CM2/historical/tasmax/tasmax_day_ACCESS-CM2_historical_r1i1p1f1_gn_1995.nc"
    )
    assert first.file_name == "tasmax_day_ACCESS-CM2_historical_r1i1p1f1_gn_1995.nc"


def test_default_experiments_are_every_ssp_offered_and_models_can_be_chosen(tmp_path):
    catalog = load_catalog(write_yaml(tmp_path / "c.yaml", {"sources": [http_source("https://x")]}))
    specs = select(catalog, variables=["pr"], horizons=["far"], models=["MIROC6"])
    assert {s.experiments[0] for s in specs} == {"ssp245", "ssp585"}
    assert {s.models for s in specs} == {("MIROC6",)}
    assert {y for s in specs for y in s.years} == set(range(2081, 2101))


def test_pull_downloads_exactly_the_selected_files_then_skips_them(tmp_path):
    horizons = [Horizon("base", 2000, 2001), Horizon("mid", 2050, 2050)]
    names = [
        f"tasmax_day_MIROC6_{e}_r1i1p1f1_gn_{y}.nc"
        for e, y in [("historical", 2000), ("historical", 2001), ("ssp245", 2050)]
    ]
    bodies = {n: small_netcdf(tmp_path, "tasmax", int(n[-7:-3])) for n in names}
    routes = {f"/MIROC6/{n.split('_')[3]}/tasmax/{n}": Route(b) for n, b in bodies.items()}
    routes["/MIROC6/ssp245/tasmax/tasmax_day_MIROC6_ssp245_r1i1p1f1_gn_2099.nc"] = Route(b"x")
    checksums = {n: hashlib.sha256(b).hexdigest() for n, b in bodies.items()}
    cache = tmp_path / "cache"
    with serve(routes) as server:
        source = http_source(server.base_url, models=["MIROC6"], checksums=checksums)
        catalog = load_catalog(write_yaml(tmp_path / "c.yaml", {"sources": [source]}))
        specs = select(catalog, variables=["tasmax"], horizons=horizons, experiments=["ssp245"])
        assert [s.sha256 for s in specs] == [checksums[n] for n in names]
        paths = pull(specs, cache, concurrency=2)
        assert [p.read_bytes() for p in paths] == [bodies[n] for n in names]
        assert sorted(read_manifest(cache / "mirror")) == sorted(names)
        unneeded = routes["/MIROC6/ssp245/tasmax/tasmax_day_MIROC6_ssp245_r1i1p1f1_gn_2099.nc"]
        assert unneeded.requests == 0
        again = pull(specs, cache)  # checksums known and matching: no request at all
        assert again == paths and sum(r.requests for r in routes.values()) == 3


def test_pull_reports_every_failure_and_keeps_the_good_files(tmp_path):
    good = small_netcdf(tmp_path, "pr", 2050)
    name = "pr_day_MIROC6_ssp245_r1i1p1f1_gn_2050.nc"
    with serve({f"/MIROC6/ssp245/pr/{name}": Route(good)}) as server:
        source = http_source(server.base_url, models=["MIROC6"], variables=["pr"])
        catalog = load_catalog(write_yaml(tmp_path / "c.yaml", {"sources": [source]}))
        specs = select(
            catalog, variables=["pr"], horizons=[Horizon("h", 2050, 2051)], experiments=["ssp245"]
        )
        with pytest.raises(PullError, match=r"(?s)1 file\(s\).*gn_2051\.nc: HTTP 404 Not Found"):
            pull(specs, tmp_path / "cache")
    assert (tmp_path / "cache" / "mirror" / name).read_bytes() == good
    assert not (tmp_path / "cache" / "mirror" / name.replace("2050", "2051")).exists()


def test_the_sample_catalogue_is_verified_and_opens(tmp_path):
    folder = tmp_path / "sample"
    write_sample_projections(
        folder,
        models=("SYNTH-ESM-A",),
        experiments={"historical": [2000], "ssp245": [2050]},
        variables=("tasmax",),
    )
    catalog = load_catalog(write_sample_catalog(folder))
    specs = select(catalog, variables=["tasmax"], horizons=["baseline", "mid"])
    assert [(s.experiments, s.years, s.driver) for s in specs] == [
        (("historical",), (2000,), "local"),
        (("ssp245",), (2050,), "local"),
    ]
    paths = pull(specs, tmp_path / "cache")
    assert paths == [folder / n for n in (s.file_name for s in specs)]
    assert not (tmp_path / "cache").exists()  # local files are verified in place, not copied
    years = sorted({y for s in specs for y in s.years})
    ds = open_projections(folder, variables=["tasmax"], years=years)
    assert ds.sizes["scenario"] == 2 and ds.attrs["synthetic"] == "yes"
    paths[1].write_bytes(paths[1].read_bytes()[:-1] + b"\0")  # tamper with one file
    with pytest.raises(PullError, match="sha256 [0-9a-f]+ does not match the catalogue"):
        pull(specs, tmp_path / "cache")


def test_opendap_and_zarr_sources_return_addresses_without_downloading(tmp_path):
    opendap = {
        **http_source("https://thredds.example/dodsC"),
        "name": "thredds",
        "driver": "opendap",
    }
    zarr = {
        **http_source(""),
        "name": "store",
        "driver": "zarr",
        "url": "s3://bucket/nex.zarr",
        "url_template": None,
        "variables": ["pr"],
    }
    catalog = load_catalog(write_yaml(tmp_path / "c.yaml", {"sources": [zarr, opendap]}))
    specs = select(catalog, variables=["pr", "tasmax"], horizons=[Horizon("h", 2014, 2015)])
    store = [s for s in specs if s.driver == "zarr"]
    assert len(store) == 1 and store[0].years == (2014, 2015)  # one address, all keys merged
    assert store[0].variables == ("pr",) and store[0].experiments == (
        "historical",
        "ssp245",
        "ssp585",
    )
    # tasmax comes from the second source: 2 models x (2014 historical + 2015 x 2 SSPs).
    assert sum(s.driver == "opendap" for s in specs) == 6
    pulled = pull(specs, tmp_path / "cache")
    assert pulled == [s.location for s in specs] and not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"driver": "ftp"}, r"sources\[0\]\.driver: expected 'local', 'http'.*found 'ftp'"),
        ({"years": ["2015-1990"]}, r"sources\[0\]\.years: range '2015-1990' ends"),
        ({"variables": ["tmax"]}, r"sources\[0\]\.variables: expected some of"),
        (
            {"url_template": "https://x/{member}.nc"},
            r"sources\[0\]: url_template: unknown fields \['member'\]",
        ),
        (
            {"url": "https://x/a.nc"},
            r"sources\[0\]: driver 'http' needs exactly one of",
        ),
        ({"checksums": {"a.nc": "abc"}}, r"sources\[0\]\.checksums: .*64 hex digits"),
        (
            {"years": {"historical": ["1950-2014"]}},
            r"sources\[0\]: years: no years given for experiments \['ssp245'",
        ),
    ],
)
def test_load_catalog_names_the_file_and_field(tmp_path, change, message):
    path = write_yaml(tmp_path / "bad.yaml", {"sources": [http_source("https://x", **change)]})
    with pytest.raises(CatalogError, match=rf"^{tmp_path}/bad\.yaml: {message}"):
        load_catalog(path)


def test_load_catalog_rejects_files_that_are_not_catalogues(tmp_path):
    with pytest.raises(CatalogError, match="cannot read catalogue"):
        load_catalog(tmp_path / "none.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(CatalogError, match="expected a mapping with a 'sources' list"):
        load_catalog(tmp_path / "list.yaml")


def test_select_fails_clearly_when_nothing_holds_a_request(tmp_path):
    catalog = load_catalog(write_yaml(tmp_path / "c.yaml", {"sources": [http_source("https://x")]}))
    with pytest.raises(CatalogError, match=r"no source holds .* experiments \['ssp126'\]"):
        select(catalog, variables=["pr"], horizons=["far"], experiments=["ssp126"])
    with pytest.raises(CatalogError, match=r"no source holds .* models \['EC-Earth3'\]"):
        select(catalog, variables=["pr"], horizons=["far"], models=["EC-Earth3"])


def test_the_shipped_example_catalogue_loads_with_every_driver():
    catalog = load_catalog(EXAMPLE)
    assert {s.driver for s in catalog.sources} == {"local", "http", "opendap", "zarr"}
    assert sum(s.urls is not None for s in catalog.sources) == 1  # the file-list form too
