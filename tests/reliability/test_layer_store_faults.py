"""Faults of the layer store (issue 13, items 5, 6 and 7): garbage, tampering, killed runs.

5. a layer of garbage (all NaN, degC labelled K, one value of 1e6, swapped axes) must not
   be published, and a refresh that builds one must fail saying why;
6. a current layer file edited or truncated after publishing must be refused on open,
   naming the file and the expected and found sha256;
7. a refresh killed mid-run must leave the previous set of layers current, and the next
   publish must clean up what the killed run left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from flows.steps import StagedLayer
from hazard_models.horizon import AR6_HORIZONS
from hazard_models.layer import LAYER_VERSION, horizon_coords
from resilience.storage import layer_store
from resilience.storage.layer_checks import LayerPlausibilityError
from resilience.storage.layer_store import LayerIntegrityError, LayerStore

LAYERS = ("heat", "rain", "idf", "surge", "coastal_flood")


def make_layer(value: float = 30.0, *, units: str = "degC", name: str = "txx") -> xr.Dataset:
    """A small valid gridded HazardLayer: ``name`` equal to ``value`` everywhere."""
    data = np.full((2, len(AR6_HORIZONS), 2, 2), value, dtype="float32")
    return xr.Dataset(
        {
            name: (
                ("scenario", "horizon", "lat", "lon"),
                data,
                {"units": units, "long_name": "test variable", "method": "test"},
            )
        },
        coords={
            "scenario": ["ssp126", "ssp585"],
            "lat": [31.0, 31.1],
            "lon": [121.4, 121.5],
            **horizon_coords(),
        },
        attrs={
            "hazard": "heat",
            "layer_version": LAYER_VERSION,
            "inputs_sha256": "abc",
            "code_version": "test",
        },
    )


def _assert_nothing_published(store: LayerStore, root: Path) -> None:
    assert store.current("heat").version == "v0001"
    assert store.versions("heat") == ["v0001"]
    assert float(store.open("heat")["txx"].max()) == 30.0
    assert [p.name for p in (root / "heat").iterdir() if p.name.startswith(".staging")] == []


# --- 13.5: garbage is not published ------------------------------------------------------


@pytest.mark.fault("13.5", "an all-NaN heat layer replaces the good one")
def test_an_all_nan_layer_is_not_published(tmp_path):
    store = LayerStore(tmp_path)
    store.publish("heat", make_layer(30.0))
    with pytest.raises(
        LayerPlausibilityError, match=r"layer 'heat': variable 'txx': expected finite.*all 32 NaN"
    ):
        store.publish("heat", make_layer(float("nan")))
    _assert_nothing_published(store, tmp_path)


@pytest.mark.fault("13.5", "degC labelled K gives TXx 62 degC")
def test_a_txx_of_62_degc_is_not_published(tmp_path):
    store = LayerStore(tmp_path)
    store.publish("heat", make_layer(30.0))
    with pytest.raises(
        LayerPlausibilityError,
        match=r"layer 'heat': variable 'txx' \(degC\): expected values within -90\.\.60 degC "
        r"\(WMO world records.*found 62\.\.62",
    ):
        store.publish("heat", make_layer(62.0))
    _assert_nothing_published(store, tmp_path)


@pytest.mark.fault("13.5", "one input value of 1e6 gives TXx 1047 degC")
def test_one_absurd_value_is_not_published(tmp_path):
    store = LayerStore(tmp_path)
    store.publish("heat", make_layer(30.0))
    layer = make_layer(30.0)
    layer["txx"][1, -1, 0, 1] = 1047.0
    with pytest.raises(LayerPlausibilityError, match=r"'txx'.*found 30\.\.1047"):
        store.publish("heat", layer)
    _assert_nothing_published(store, tmp_path)


@pytest.mark.fault("13.5", "a rain layer of 1e6 mm/day validates")
def test_rain_beyond_the_world_record_is_not_published(tmp_path):
    store = LayerStore(tmp_path)
    with pytest.raises(LayerPlausibilityError, match=r"'rx1day' \(mm/day\).*0\.\.2000 mm/day"):
        store.publish("rain", make_layer(1e6, units="mm/day", name="rx1day"))
    assert store.names() == []


@pytest.mark.fault("13.5", "a layer with lat and lon swapped validates")
def test_swapped_lat_and_lon_are_not_published(tmp_path):
    store = LayerStore(tmp_path)
    store.publish("heat", make_layer(30.0))
    swapped = make_layer(30.0).rename({"lat": "lon_", "lon": "lat_"})
    swapped = swapped.rename({"lon_": "lon", "lat_": "lat"}).transpose(
        "scenario", "horizon", "lat", "lon"
    )
    with pytest.raises(
        LayerPlausibilityError, match=r"coordinate lat: expected values within -90\.\.90"
    ):
        store.publish("heat", swapped)
    _assert_nothing_published(store, tmp_path)


@pytest.mark.fault("13.5", "a variable with NaN holes inside the land mask is published")
def test_nan_beyond_the_land_mask_is_not_published(tmp_path):
    store = LayerStore(tmp_path)
    store.publish("heat", make_layer(30.0))
    layer = make_layer(30.0)
    layer["tg_mean"] = layer["txx"] - 10.0
    layer["tg_mean"].attrs = dict(layer["txx"].attrs)
    layer["tg_mean"][..., 1, 1] = np.nan  # a cell where txx has values
    with pytest.raises(
        LayerPlausibilityError, match=r"'tg_mean': expected a value on each of the 4 cells.*1 all"
    ):
        store.publish("heat", layer)
    _assert_nothing_published(store, tmp_path)


def _profile(folder: Path) -> Path:
    """A loadable profile whose data files are never read (the steps are replaced)."""
    for name in ("assets.csv", "d.geojson", "dem.nc", "maxima.csv", "stations.csv"):
        (folder / name).touch()
    (folder / "cmip6").mkdir()
    (folder / "cmip6" / "tasmax_day_x.nc").touch()
    profile = folder / "city.toml"
    profile.write_text(
        textwrap.dedent(
            """\
            name = "Garbage City"
            assets = "assets.csv"
            districts = "d.geojson"
            dem = "dem.nc"
            horizons = ["baseline", "mid"]
            scenarios = ["ssp245"]
            start_year = 2030
            [region]
            name = "g"
            bbox = [100.0, 10.0, 140.0, 50.0]
            [projections]
            glob = "cmip6/*_day_*.nc"
            [tide_gauges]
            annual_maxima = "maxima.csv"
            stations = "stations.csv"
            coastal_station = "wusongkou"
            """
        )
    )
    return profile


@pytest.mark.fault("13.5", "a refresh that builds an all-NaN heat layer exits 0")
def test_a_refresh_building_garbage_exits_non_zero_saying_why(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from flows import refresh
    from flows.projection_steps import ProjectionsRef
    from flows.steps import RiskOutputs
    from resilience.cli.main import app

    data_dir = tmp_path / "data"
    LayerStore(data_dir / "layers").publish("heat", make_layer(30.0))

    store_argument = {"heat": 1, "rain": 1, "idf": 0, "surge": 1, "coastal_flood": 1}

    def step(name, value=30.0):
        return lambda *args, **options: publish_step(
            args[store_argument[name]], name, make_layer(value), options
        )

    ref = ProjectionsRef(directory=tmp_path, inputs_sha256="abc", models=[], scenarios=[])
    fakes = {  # every step but the heat layer's works
        "pull_projections": lambda *args: ref,
        "adjust_projections": lambda ref, *args: ref,
        "build_heat": step("heat", float("nan")),
        "build_rain": step("rain"),
        "build_idf": step("idf"),
        "build_surge": step("surge"),
        "build_coastal_flood": step("coastal_flood"),
        "assess_risk": lambda *args, **options: RiskOutputs(
            gpkg=tmp_path, csv=tmp_path, rows=0, assets=0, very_high={}
        ),
        "promote_layers": lambda *args: {},
    }
    for name, fake in fakes.items():
        monkeypatch.setattr(refresh.PLAIN, name, fake, raising=False)
    monkeypatch.setenv("RESILIENCE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("RESILIENCE_USE_PREFECT", "false")
    result = CliRunner().invoke(app, ["refresh", "--profile", str(_profile(tmp_path))])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "refresh of Garbage City" in message
    assert "layer 'heat': variable 'txx': expected finite values" in message
    assert float(LayerStore(data_dir / "layers").open("heat")["txx"].max()) == 30.0


# --- 13.6: the manifest's sha256 is checked on open --------------------------------------


@pytest.mark.fault("13.6", "an edited current layer file is used as is")
def test_an_edited_layer_file_is_refused_on_open(tmp_path):
    store = LayerStore(tmp_path)
    entry = store.publish("heat", make_layer(30.0))
    store.open("heat").close()
    expected = entry.manifest["file_sha256"]
    with xr.open_dataset(entry.path) as ds:
        edited = ds.load()
    edited["txx"][:] = 45.0
    edited.to_netcdf(entry.path)
    found = hashlib.sha256(entry.path.read_bytes()).hexdigest()
    with pytest.raises(LayerIntegrityError) as caught:
        store.open("heat")
    message = str(caught.value)
    assert str(entry.path) in message
    assert f"expected sha256 {expected}" in message
    assert f"found sha256 {found}" in message


@pytest.mark.fault("13.6", "a truncated current layer file ends in an OSError traceback")
def test_a_truncated_layer_file_is_a_clear_error(tmp_path):
    store = LayerStore(tmp_path)
    entry = store.publish("heat", make_layer(30.0))
    data = entry.path.read_bytes()
    entry.path.write_bytes(data[: len(data) // 2])
    with pytest.raises(LayerIntegrityError, match=r"heat\.nc: expected sha256 .*truncated") as e:
        store.open("heat")
    assert not isinstance(e.value, OSError)
    assert f"({len(data) // 2} bytes)" in str(e.value)


# --- 13.7: a refresh is published as one set ---------------------------------------------

#: A refresh whose steps publish small layers through the real store and sequence; the idf
#: step blocks while its file is being written (in its staging directory) so that the test
#: can kill the process there, after heat and rain of this run were published.
KILLED_RUN = """
import sys, time
from pathlib import Path
from types import SimpleNamespace

import dask.array as da
import numpy as np
sys.path.insert(0, {tests!r})
from test_layer_store_faults import make_layer, publish_step

from flows.refresh import refresh_sequence
from resilience.profile import load_profile

root, marker = Path(sys.argv[1]), Path(sys.argv[2])

def block(chunk):
    marker.write_text("writing idf")
    time.sleep(120)
    return chunk

def build_idf(store_root, method, **options):
    layer = make_layer(31.0)
    lazy = da.from_array(layer["txx"].values, chunks=-1)
    meta = np.array((), dtype="float32")  # so that dask does not call block to guess it
    layer["txx"] = layer["txx"].copy(data=lazy.map_blocks(block, meta=meta))
    return publish_step(store_root, "idf", layer, options)

run = SimpleNamespace(
    pull_projections=lambda *args: None,
    adjust_projections=lambda *args: None,
    build_heat=lambda ref, root, profile, **o: publish_step(root, "heat", make_layer(31.0), o),
    build_rain=lambda ref, root, profile, **o: publish_step(root, "rain", make_layer(31.0), o),
    build_idf=build_idf,
)
refresh_sequence(run, load_profile(sys.argv[3]), root, out_dir=root.parent / "out")
"""


def publish_step(store_root: Path, name: str, layer: xr.Dataset, options: dict):
    """What a build step does: publish (or stage, per ``options``) and say which version."""
    staged = {"make_current": False} if options.get("make_current") is False else {}
    entry = LayerStore(store_root).publish(name, layer, **staged)
    return StagedLayer(name=name, version=entry.version, path=entry.path)  # the steps' contract


def _previous_set(root: Path) -> LayerStore:
    store = LayerStore(root)
    for name in LAYERS:
        store.publish(name, make_layer(30.0))
    return store


def _assert_previous_set_current(store: LayerStore) -> None:
    assert store.names() == sorted(LAYERS)
    for name in LAYERS:
        assert store.current(name).version == "v0001", name
        assert float(store.open(name)["txx"].max()) == 30.0, name


@pytest.mark.fault("13.7", "kill -9 mid-refresh: heat and rain from the killed run")
def test_a_refresh_killed_with_sigkill_leaves_the_previous_set_current(tmp_path):
    root, marker = tmp_path / "layers", tmp_path / "marker"
    store = _previous_set(root)
    script = tmp_path / "killed_run.py"
    script.write_text(KILLED_RUN.format(tests=str(Path(__file__).parent)))
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "DO_NOT_TRACK": "1"}
    child = subprocess.Popen(
        [sys.executable, str(script), str(root), str(marker), str(_profile(tmp_path))],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.stdout.read().decode() if child.stdout else ""
            assert time.monotonic() < deadline, "the refresh never reached the idf step"
            time.sleep(0.1)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    # heat and rain of the killed run were written (staged), yet nothing of it is current
    assert store.versions("heat") == ["v0001", "v0002"]
    _assert_previous_set_current(store)
    leftovers = list((root / "idf").glob(f".staging-{child.pid}-*"))
    assert leftovers, "the killed run should have been writing idf in a staging directory"
    # the next publish removes what the dead process left behind
    store.publish("idf", make_layer(30.0), make_current=False)
    assert [p.name for p in (root / "idf").iterdir() if p.name.startswith(".")] == []


@pytest.mark.fault("13.7", "a refresh failing between steps leaves a mixed current set")
def test_a_refresh_failing_between_steps_changes_nothing_current(tmp_path):
    from flows.refresh import refresh_sequence
    from resilience.profile import load_profile

    root = tmp_path / "layers"
    store = _previous_set(root)

    def fail(*args, **options):
        raise RuntimeError("tide gauge file vanished")

    def step(name):
        return lambda *args, **options: publish_step(root, name, make_layer(31.0), options)

    run = SimpleNamespace(
        pull_projections=lambda *args: None,
        adjust_projections=lambda *args: None,
        build_heat=step("heat"),
        build_rain=step("rain"),
        build_idf=step("idf"),
        build_surge=fail,
    )
    with pytest.raises(RuntimeError, match="tide gauge"):
        refresh_sequence(run, load_profile(_profile(tmp_path)), root, out_dir=tmp_path / "out")
    _assert_previous_set_current(store)


@pytest.mark.fault("13.7", "a refresh's later steps read layers of another run")
def test_a_refresh_reads_its_own_staged_layers_and_promotes_them_together(tmp_path, monkeypatch):
    from flows import steps
    from flows.refresh import refresh_sequence
    from resilience.profile import load_profile

    root = tmp_path / "layers"
    store = _previous_set(root)
    read = {}

    def reader(name, *inputs):
        def build(*args, versions=None, **options):
            for source in inputs:  # what the real steps do with ``versions``
                read[(name, source)] = float(store.open(source, versions[source])["txx"].max())
            return publish_step(root, name, make_layer(31.0), options)

        return build

    def assess(store_root, inventory, out_dir, start_year, *, versions, export_max_rows):
        for source in LAYERS:
            read[("risk", source)] = float(store.open(source, versions[source])["txx"].max())
            assert store.current(source).version == "v0001"  # nothing current before the end
        return steps.RiskOutputs(
            parquet=out_dir, gpkg=out_dir, csv=out_dir, rows=0, assets=0, very_high={}
        )

    from flows.projection_steps import ProjectionsRef

    ref = ProjectionsRef(directory=tmp_path, inputs_sha256="abc", models=[], scenarios=[])
    run = SimpleNamespace(
        pull_projections=lambda *args: ref,
        adjust_projections=lambda ref, *args: ref,
        build_heat=reader("heat"),
        build_rain=reader("rain"),
        build_idf=reader("idf", "rain", "heat"),
        build_surge=reader("surge"),
        build_coastal_flood=reader("coastal_flood", "surge"),
        assess_risk=assess,
        promote_layers=steps.promote_layers,
    )
    result = refresh_sequence(run, load_profile(_profile(tmp_path)), root, out_dir=tmp_path)
    assert set(read.values()) == {31.0}, read  # every later step read this run's layers
    assert result.versions == dict.fromkeys(LAYERS, "v0002")
    assert {name: store.current(name).version for name in LAYERS} == result.versions
    record = json.loads((root / "current.json").read_text())
    assert record["layers"] == result.versions
    # the per-layer pointers are kept as mirrors for older readers
    assert (root / "heat" / "current").read_text().strip() == "v0002"


@pytest.mark.fault("13.7", "the idf step reads the current rain and heat, not its run's")
def test_the_idf_step_reads_the_staged_versions_it_is_given(tmp_path, monkeypatch):
    import hazard_models.rain.idf_layer as idf_layer
    from flows import steps

    store = LayerStore(tmp_path)
    for name in ("rain", "heat"):
        store.publish(name, make_layer(30.0))
        store.publish(name, make_layer(31.0), make_current=False)
    seen = {}

    def fake_build_idf_layer(rain, heat, **options):
        seen["rain"], seen["heat"] = float(rain["txx"].max()), float(heat["txx"].max())
        return make_layer(5.0, units="mm/h", name="idf_intensity")

    monkeypatch.setattr(idf_layer, "build_idf_layer", fake_build_idf_layer)
    staged = steps.build_idf(
        tmp_path, versions={"rain": "v0002", "heat": "v0002"}, make_current=False
    )
    assert seen == {"rain": 31.0, "heat": 31.0}
    assert staged.version == "v0001" and "idf" not in store.names()
    manifest = store.entry("idf", "v0001").manifest
    assert manifest["inputs"]["rain"].endswith("rain/v0002/rain.nc")


@pytest.mark.fault("13.7", "a killed run's staging folders are never cleaned up")
def test_leftovers_of_dead_runs_are_removed_and_a_live_runs_staging_is_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store = LayerStore(tmp_path)
    store.publish("heat", make_layer(30.0))
    folder = tmp_path / "heat"
    live = folder / f".staging-{os.getppid()}-abc"  # our parent: alive, another publisher
    gone = folder / f".staging-{dead.pid}-abc"
    old = folder / ".staging-xyz"  # written before staging names carried a pid
    young = folder / ".staging-new"
    old_pointer = folder / ".current.k2j3"  # temporary pointer file of a killed promote
    old_set = tmp_path / ".current.a8d.json"
    for path in (live, gone, old, young):
        path.mkdir()
        (path / "heat.nc").write_bytes(b"partial")
    for path in (old_pointer, old_set):
        path.write_text("v0009")
    an_hour_ago = time.time() - 3600
    for path in (old, old_pointer, old_set):
        os.utime(path, (an_hour_ago, an_hour_ago))
    store.publish("heat", make_layer(31.0))
    assert live.exists() and young.exists()
    assert not gone.exists() and not old.exists()
    assert not old_pointer.exists() and not old_set.exists()
    assert layer_store.STALE_AFTER_S < 3600
