"""Projections store: any CMIP6 files pulled into a Zarr store, opened again, and written safely."""

from __future__ import annotations

import hashlib
import json
import os

import netCDF4
import numpy as np
import pytest
import xarray as xr

from hazard_models.heat.layer import build_heat_layer
from hazard_models.horizon import Horizon, horizon_by_name
from hazard_models.layer import validate_hazard_layer
from resilience.climate import store_write
from resilience.climate.projection_file import ClimateDataError
from resilience.climate.pull import catalog_from_source
from resilience.climate.store import (
    open_projection_store,
    open_projections_source,
    pull_to_store,
)

# Two-year horizons keep the files small; the AR6 ones are used where a layer is built.
BASE, FAR = Horizon("baseline", 2013, 2014), Horizon("far", 2099, 2100)
SMALL = {"lat": np.array([32.0, 31.0]), "lon": np.array([121.0, 122.0])}  # descending lat


def _pull(folder, store, horizons=(BASE, FAR), **kwargs):
    catalog = catalog_from_source(str(folder / "*.nc"), variables=["tasmax"])
    return pull_to_store(
        catalog,
        store,
        variables=["tasmax"],
        horizons=list(horizons),
        cache_dir=store.parent / "cache",
        **kwargs,
    )


def _small_run(cmip6_file, folder, model="MODEL-A", member="r1i1p1f1", offset_k=0.0, seed=0):
    """One member: historical 2013-2014 and ssp245 2099-2100, one DRS file each."""
    for experiment, year in (("historical", 2013), ("ssp245", 2099)):
        name = f"tasmax_day_{model}_{experiment}_{member}_gn_{year}0101-{year + 1}1231.nc"
        cmip6_file(
            folder / name,
            model=model,
            experiment=experiment,
            member=member,
            start=(year, 1, 1),
            days=730,
            offset_k=offset_k,
            seed=seed,
            **SMALL,
        )


def test_global_drs_files_become_a_store_that_feeds_the_heat_layer(tmp_path, cmip6_file):
    folder = tmp_path / "cmip6"
    spans = {  # multi-year date ranges, daily- and monthly-style, as CMIP6 names them
        "historical": [("19950101-20041231", 1995, 10), ("200501-201412", 2005, 10)],
        "ssp245": [("20810101-21001231", 2081, 20)],
    }
    for experiment, files in spans.items():
        for span, year, years in files:
            name = f"tasmax_day_MODEL-A_{experiment}_r1i1p1f1_gn_{span}.nc"
            cmip6_file(
                folder / name,
                experiment=experiment,
                start=(year, 1, 1),
                days=365 * years,
                offset_k=3.0 if experiment == "ssp245" else 0.0,
                seed=year,
            )
    store = tmp_path / "projections.zarr"
    written = _pull(folder, store, horizons=[horizon_by_name("baseline"), horizon_by_name("far")])
    assert written.status == "written" and written.files == 3
    assert written.missing_combinations == [] and not written.synthetic

    ds = open_projections_source(store, variables=["tasmax"])
    assert ds["lon"].values.tolist() == list(range(-165, 180, 30))  # 0-360 wrapped, ascending
    assert ds["lat"].values.tolist() == [-75.0, -45.0, -15.0, 15.0, 45.0, 75.0]
    assert ds["time"].dt.calendar == "noleap" and ds["tasmax"].attrs["units"] == "degC"
    assert set(ds["tasmax"].chunks[2]) == {365}  # one calendar year per chunk
    # A value lands where it came from: file lat 45 N (row 1), lon 195 E (col 6) -> -165.
    with netCDF4.Dataset(
        folder / "tasmax_day_MODEL-A_ssp245_r1i1p1f1_gn_20810101-21001231.nc"
    ) as nc:
        raw = float(nc["tasmax"][400, 1, 6])
    got = ds["tasmax"].sel(scenario="ssp245", lat=45.0, lon=-165.0).isel(model=0)
    got = float(got.sel(time=got["time"].values[got["time"].dt.year.values >= 2081][400]))
    assert got == pytest.approx(raw - 273.15, abs=1e-4)  # float32 K -> degC rounding
    # Provenance: inputs_sha256 is the sha256 of the sorted "sha256  name" lines.
    lines = sorted(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in folder.glob("*.nc")
    )
    assert ds.attrs["inputs_sha256"] == hashlib.sha256("\n".join(lines).encode()).hexdigest()
    assert ds.attrs["source_files"].split("\n") == lines
    assert json.loads(ds.attrs["request"])["horizons"]["far"] == [2081, 2100]
    assert ds.attrs["store_format_version"] == 1 and ds.attrs["synthetic"] == "no"

    layer = build_heat_layer(ds, horizons=[horizon_by_name("baseline"), horizon_by_name("far")])
    layer = validate_hazard_layer(layer.compute())
    assert layer.sizes["lat"] == 6 and layer.sizes["lon"] == 12
    change = layer["txx_change"].sel(horizon="far", quantile=0.5, return_period=20)
    # The files warm by 3 K everywhere. Per cell the 20-year level varies by about +-1.2 K
    # (20 noisy annual maxima); its mean over 72 cells by about 0.15 K, so +-1 K is ~6 sd.
    assert 2.0 < float(change.mean()) < 4.0


def test_members_of_one_model_are_kept_apart(tmp_path, cmip6_file):
    folder = tmp_path / "cmip6"
    _small_run(cmip6_file, folder, member="r1i1p1f1", seed=1)
    _small_run(cmip6_file, folder, member="r2i1p1f1", offset_k=10.0, seed=2)
    _small_run(cmip6_file, folder, model="MODEL-B", seed=3)
    store = tmp_path / "p.zarr"
    assert _pull(folder, store).missing_combinations == []
    ds = open_projection_store(store)
    assert ds["model"].values.tolist() == ["MODEL-A_r1i1p1f1", "MODEL-A_r2i1p1f1", "MODEL-B"]
    assert ds["source_id"].values.tolist() == ["MODEL-A", "MODEL-A", "MODEL-B"]
    assert ds["member_id"].values.tolist() == ["r1i1p1f1", "r2i1p1f1", "r1i1p1f1"]
    means = ds["tasmax"].sel(scenario="historical").mean(["time", "lat", "lon"]).values
    assert means[1] - means[0] == pytest.approx(10.0, abs=0.5)  # r2 is the +10 K member
    one = open_projections_source(store, variables=["tasmax"], models=["MODEL-A"])
    assert one.sizes["model"] == 2  # a model name selects all its members
    with pytest.raises(ClimateDataError, match="no model"):
        open_projections_source(store, variables=["tasmax"], models=["MODEL-Z"])


def test_a_folder_of_nex_files_with_two_members_opens_without_error(tmp_path, cmip6_file):
    for member, offset in (("r1i1p1f1", 0.0), ("r2i1p1f1", 5.0)):
        for experiment, year in (("historical", 2014), ("ssp245", 2099)):
            cmip6_file(
                tmp_path / f"tasmax_day_M_{experiment}_{member}_gn_{year}.nc",
                model="M", experiment=experiment, member=member, start=(year, 1, 1),
                offset_k=offset, **SMALL,
            )  # fmt: skip
    ds = open_projections_source(tmp_path, variables=["tasmax"], optional_variables=["tasmin"])
    assert ds["model"].values.tolist() == ["M_r1i1p1f1", "M_r2i1p1f1"]
    assert list(ds.data_vars) == ["tasmax"]  # tasmin is optional and absent


def test_a_file_with_an_uninformative_name_is_read_through_its_attributes(tmp_path, cmip6_file):
    folder = tmp_path / "downloads"
    cmip6_file(folder / "file-0001.nc", model="NAMELESS", start=(2013, 1, 1), days=730, **SMALL)
    cmip6_file(
        folder / "file-0002.nc", model="NAMELESS", experiment="ssp585", start=(2099, 1, 1),
        days=730, variable_name="tmax", **SMALL,
    )  # fmt: skip
    store = tmp_path / "p.zarr"
    assert _pull(folder, store).missing_combinations == []
    ds = open_projection_store(store)
    assert ds["model"].values.tolist() == ["NAMELESS"]
    assert ds["scenario"].values.tolist() == ["historical", "ssp585"]
    opened = open_projections_source(folder, variables=["tasmax"])  # a folder, same reading
    assert opened["scenario"].values.tolist() == ["historical", "ssp585"]
    # A file at a monthly step (no frequency attribute to tell) is refused when opened.
    cmip6_file(folder / "file-0003.nc", model="NAMELESS", experiment="ssp245", step_days=30,
               start=(2099, 1, 1), days=24, **SMALL)  # fmt: skip
    with pytest.raises(ClimateDataError, match=r"file-0003\.nc.*expected daily data"):
        _pull(folder, tmp_path / "q.zarr")


def test_a_horizon_covered_in_part_is_reported_with_the_files_and_years(tmp_path, cmip6_file):
    folder = tmp_path / "cmip6"
    cmip6_file(folder / "tasmax_day_M_historical_r1i1p1f1_gn_20130101-20141231.nc",
               model="M", start=(2013, 1, 1), days=730, **SMALL)  # fmt: skip
    partial = "tasmax_day_M_ssp245_r1i1p1f1_gn_20960101-20970630.nc"
    cmip6_file(folder / partial, model="M", experiment="ssp245", start=(2096, 1, 1),
               days=365 + 181, **SMALL)  # fmt: skip
    far = Horizon("far", 2096, 2100)
    written = _pull(folder, tmp_path / "p.zarr", horizons=[BASE, far])
    assert written.missing_combinations == [
        f"M ssp245 tasmax: horizon far (2096-2100): years 2098-2100 missing, 2097 partial "
        f"(181 of 365 days) (NaN); files {partial}"
    ]
    stored = open_projection_store(tmp_path / "p.zarr").attrs["missing_combinations"]
    assert stored == written.missing_combinations[0]


def test_pulling_twice_leaves_the_store_as_it_is(tmp_path, cmip6_file):
    folder = tmp_path / "cmip6"
    _small_run(cmip6_file, folder)
    store = tmp_path / "p.zarr"
    first = _pull(folder, store)
    stamps = {p: p.stat().st_mtime_ns for p in store.rglob("*")}
    again = _pull(folder, store)
    assert (first.status, again.status) == ("written", "unchanged")
    assert again.inputs_sha256 == first.inputs_sha256
    assert {p: p.stat().st_mtime_ns for p in store.rglob("*")} == stamps  # not touched
    assert _pull(folder, store, horizons=[BASE]).status == "written"  # another request
    assert _pull(folder, store, horizons=[BASE]).status == "unchanged"
    changed = next(folder.glob("*historical*"))
    cmip6_file(changed, start=(2013, 1, 1), days=730, seed=99, **SMALL)  # new bytes, same name
    assert _pull(folder, store, horizons=[BASE]).status == "written"


def test_a_pull_says_what_it_is_doing_at_each_phase(tmp_path, cmip6_file):
    """Issue 19: a pull is never silent: files selected, fetched with their bytes, opened,
    written (in tenths of its tasks), or found current."""
    folder = tmp_path / "cmip6"
    _small_run(cmip6_file, folder)
    store, lines = tmp_path / "p.zarr", []
    _pull(folder, store, progress=lines.append)
    size = sum(p.stat().st_size for p in folder.glob("*.nc")) / 1e6
    assert lines[0] == "selected 2 files (2 local) for tasmax"
    assert lines[1].startswith(f"fetched and verified 2 files, {size:,.1f} MB on disk, in ")
    assert lines[2].startswith("opened and normalised: 1460 time x 2 lat x 2 lon, ")
    assert lines[3] == f"writing {store} (aside, then swapped in)"
    tenths = [x for x in lines if x.startswith("writing: ")]
    assert tenths and all(x.endswith(" tasks") for x in tenths)
    assert lines[-1].startswith("written in ")
    again: list[str] = []
    _pull(folder, store, progress=again.append)
    assert again[2:] == [
        f"checking {store} against the inputs' sha256",
        "the store already holds these inputs and this request: nothing to write",
    ]


def test_an_interrupted_write_leaves_the_old_store_readable(tmp_path, cmip6_file, monkeypatch):
    folder = tmp_path / "cmip6"
    _small_run(cmip6_file, folder)
    store = tmp_path / "p.zarr"
    _pull(folder, store, horizons=[BASE])
    before = open_projection_store(store)["tasmax"].values
    real_write = store_write._write_zarr
    blocks = []

    def interrupted(ds, path):
        def fail_on_third(block):
            blocks.append(block.shape)
            if len(blocks) == 3:
                raise KeyboardInterrupt("pull interrupted")  # as Ctrl-C would, mid-write
            return block

        ds = ds.copy()
        ds["tasmax"] = ds["tasmax"].copy(data=ds["tasmax"].data.map_blocks(fail_on_third))
        real_write(ds, path)

    monkeypatch.setattr(store_write, "_write_zarr", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _pull(folder, store)  # a new request (two horizons): the store must be rewritten
    assert len(blocks) == 3  # it stopped half way
    assert open_projection_store(store)["tasmax"].values.tolist() == before.tolist()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".p.zarr.")) == [
        ".p.zarr.lock"
    ]  # no half-written sibling left behind
    monkeypatch.setattr(store_write, "_write_zarr", real_write)
    # A kill between the two renames leaves the old store aside: the next write restores it.
    os.replace(store, tmp_path / ".p.zarr.old-deadbeef")
    assert _pull(folder, store, horizons=[BASE]).status == "unchanged"
    assert open_projection_store(store)["tasmax"].values.tolist() == before.tolist()


def test_anything_but_a_store_or_a_folder_is_refused_clearly(tmp_path, cmip6_file):
    file = cmip6_file(tmp_path / "tasmax_day_M_historical_r1i1p1f1_gn_2014.nc", model="M",
                      start=(2014, 1, 1), **SMALL)  # fmt: skip
    with pytest.raises(ClimateDataError, match="a file; expected a projections store"):
        open_projections_source(file, variables=["tasmax"])
    with pytest.raises(FileNotFoundError, match="no projections store or directory"):
        open_projections_source(tmp_path / "nowhere", variables=["tasmax"])
    other = tmp_path / "other.zarr"
    xr.Dataset({"x": ("a", [1.0])}).to_zarr(other, zarr_format=2, consolidated=True)
    with pytest.raises(ClimateDataError, match="not a projections store"):
        open_projections_source(other, variables=["tasmax"])
    _small_run(cmip6_file, tmp_path / "in", model="M")
    store = tmp_path / "p.zarr"
    _pull(tmp_path / "in", store)
    with pytest.raises(ClimateDataError, match=r"no variable \['pr'\] in the store"):
        open_projections_source(store, variables=["pr"])
    with pytest.raises(ClimateDataError, match="refusing to replace"):
        _pull(tmp_path / "in", other)  # a directory that is not a store is never deleted
    assert (other / ".zmetadata").is_file()


def test_a_catalogue_of_drs_files_in_version_folders_pulls_the_newest(tmp_path, cmip6_file):
    """A YAML catalogue's local source takes DRS names too; the newest vYYYYMMDD folder wins."""
    root = tmp_path / "esgf" / "MODEL-A"
    for version, offset in (("v20190101", 50.0), ("v20200101", 0.0)):  # the old one is +50 K
        for experiment, year in (("historical", 2013), ("ssp245", 2099)):
            name = f"tasmax_day_MODEL-A_{experiment}_r1i1p1f1_gn_{year}0101-{year + 1}1231.nc"
            cmip6_file(root / experiment / version / name, experiment=experiment,
                       start=(year, 1, 1), days=730, offset_k=offset, **SMALL)  # fmt: skip
    catalog_file = tmp_path / "catalog.yaml"
    catalog_file.write_text(
        "sources:\n  - name: esgf-mirror\n    driver: local\n    path: esgf/**/*.nc\n"
        "    variables: [tasmax]\n    models: [MODEL-A]\n    experiments: [historical, ssp245]\n"
        "    years: ['2013-2014', '2099-2100']\n"
    )
    from resilience.climate.catalog import load_catalog

    store = tmp_path / "p.zarr"
    written = pull_to_store(
        load_catalog(catalog_file),
        store,
        variables=["tasmax"],
        horizons=[BASE, FAR],
        cache_dir=tmp_path / "cache",
    )
    assert written.files == 2 and written.missing_combinations == []
    mean = float(open_projection_store(store)["tasmax"].sel(scenario="historical").mean())
    assert mean < 30.0  # degC from the v20200101 files; the v20190101 ones average ~64 degC


def test_a_second_pull_trusts_the_record_of_unchanged_files(tmp_path, cmip6_file, monkeypatch):
    """Files unchanged since hashed (size, mtime, older than 2 s then) are not read again."""
    from resilience.climate import store as store_module

    folder = tmp_path / "cmip6"
    _small_run(cmip6_file, folder)
    for path in folder.glob("*.nc"):  # written 10 s ago: outside fetch.RACY_WINDOW_NS
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns - 10**10))
    hashed = []
    real = store_module.sha256_file
    monkeypatch.setattr(store_module, "sha256_file", lambda p: hashed.append(p) or real(p))
    store = tmp_path / "p.zarr"
    first = _pull(folder, store)
    assert len(hashed) == 2
    assert _pull(folder, store).status == "unchanged" and len(hashed) == 2  # none read
    again = _pull(folder, store, rehash=True)
    assert again.status == "unchanged" and len(hashed) == 4  # rehash reads every file
    assert again.inputs_sha256 == first.inputs_sha256


def test_a_source_is_cut_to_a_bbox_or_refused_naming_the_grid(tmp_path):
    from resilience.climate.projection_file import ClimateDataError
    from resilience.climate.store import open_projections_source
    from resilience.sample.projections import write_sample_projections

    write_sample_projections(
        tmp_path,
        models=("SYNTH-ESM-A",),
        variables=("tasmax",),
        experiments={"historical": (1995,)},
    )
    cut = open_projections_source(tmp_path, variables=("tasmax",), bbox=(121.0, 31.0, 121.3, 31.3))
    assert cut.sizes["lat"] == 4 and cut.sizes["lon"] == 4
    assert float(cut["lon"].min()) == pytest.approx(121.0)
    with pytest.raises(
        ClimateDataError, match=r"no cell centre inside .* grid spans lat 30.6..31.9"
    ):
        open_projections_source(tmp_path, variables=("tasmax",), bbox=(0.0, 0.0, 1.0, 1.0))
