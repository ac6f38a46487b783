import hashlib
import json

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from hazard_models.horizon import AR6_HORIZONS
from hazard_models.layer import LAYER_VERSION, SchemaError, horizon_coords
from resilience.storage.layer_store import LayerStore


def make_layer(value: float = 30.0) -> xr.Dataset:
    scenarios = ["ssp126", "ssp585"]
    lat = np.array([31.0, 31.1])
    lon = np.array([121.4, 121.5])
    data = np.full((2, len(AR6_HORIZONS), 2, 2), value, dtype="float32")
    ds = xr.Dataset(
        {
            "txx": (
                ("scenario", "horizon", "lat", "lon"),
                data,
                {"units": "degC", "long_name": "annual max Tmax", "method": "test"},
            )
        },
        coords={"scenario": scenarios, "lat": lat, "lon": lon, **horizon_coords()},
        attrs={
            "hazard": "heat",
            "layer_version": LAYER_VERSION,
            "inputs_sha256": "abc",
            "code_version": "test",
        },
    )
    return ds


def test_publish_makes_new_versions_and_moves_current(tmp_path):
    store = LayerStore(tmp_path)
    first = store.publish("heat", make_layer(30.0), inputs={"projections": "/x"})
    second = store.publish("heat", make_layer(31.0))
    assert (first.version, second.version) == ("v0001", "v0002")
    assert store.versions("heat") == ["v0001", "v0002"]
    assert store.current("heat").version == "v0002"
    assert float(store.open("heat")["txx"].max()) == 31.0
    assert float(store.open("heat", "v0001")["txx"].max()) == 30.0
    manifest = json.loads((tmp_path / "heat" / "v0001" / "manifest.json").read_text())
    assert manifest["inputs"] == {"projections": "/x"}
    assert manifest["inputs_sha256"] == "abc"
    assert len(manifest["file_sha256"]) == 64
    assert store.names() == ["heat"]


def test_invalid_layer_is_refused_and_current_is_kept(tmp_path):
    store = LayerStore(tmp_path)
    store.publish("heat", make_layer())
    bad = make_layer().drop_attrs()
    with pytest.raises(SchemaError, match="expected global attributes"):
        store.publish("heat", bad)
    assert store.current("heat").version == "v0001"
    assert store.versions("heat") == ["v0001"]


def test_failure_while_writing_leaves_last_good_version(tmp_path):
    store = LayerStore(tmp_path)
    store.publish("heat", make_layer())

    def explode(block):
        raise RuntimeError("disk on fire")

    layer = make_layer()
    lazy = da.from_array(layer["txx"].values, chunks=-1).map_blocks(explode, dtype="float32")
    layer["txx"] = layer["txx"].copy(data=lazy)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.publish("heat", layer)
    assert store.current("heat").version == "v0001"
    leftovers = [p.name for p in (tmp_path / "heat").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_unknown_layer_and_bad_names(tmp_path):
    store = LayerStore(tmp_path)
    with pytest.raises(KeyError, match="no published version"):
        store.current("rain")
    with pytest.raises(ValueError, match="expected lower-case"):
        store.publish("../evil", make_layer())


def test_open_rejects_a_corrupted_stored_layer(tmp_path):
    store = LayerStore(tmp_path)
    entry = store.publish("heat", make_layer())
    ds = xr.open_dataset(entry.path).load()
    ds.close()
    ds["txx"].attrs.pop("units")
    ds.to_netcdf(entry.path)
    # open() now checks the file's sha256 first (issue 13.6): record the rewritten file in
    # the manifest, as a publisher of a broken file would, to reach the contract check
    manifest_path = entry.path.with_name("manifest.json")
    manifest = json.loads(manifest_path.read_text())
    manifest["file_sha256"] = hashlib.sha256(entry.path.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(SchemaError, match="heat.nc.*missing \\['units'\\]"):
        store.open("heat")


def test_staged_versions_become_current_only_when_promoted_as_a_set(tmp_path):
    store = LayerStore(tmp_path)
    store.publish("heat", make_layer(30.0))
    heat = store.publish("heat", make_layer(31.0), make_current=False)
    rain = store.publish("rain", make_layer(5.0), make_current=False)
    assert (heat.version, rain.version) == ("v0002", "v0001")
    assert store.current("heat").version == "v0001" and store.names() == ["heat"]
    assert float(store.open("heat", "v0002")["txx"].max()) == 31.0  # readable by version
    promoted = store.promote({"heat": "v0002", "rain": "v0001"})
    assert {name: entry.version for name, entry in promoted.items()} == {
        "heat": "v0002",
        "rain": "v0001",
    }
    assert store.names() == ["heat", "rain"]
    record = json.loads((tmp_path / "current.json").read_text())
    assert record["layers"] == {"heat": "v0002", "rain": "v0001"}
    assert record["last_set"] == ["heat", "rain"]
    with pytest.raises(KeyError, match="'v0009' not found"):
        store.promote({"heat": "v0001", "rain": "v0009"})
    assert store.current("heat").version == "v0002"  # nothing of a bad set was switched


def test_a_store_written_before_the_set_file_is_read_through_its_pointers(tmp_path):
    store = LayerStore(tmp_path)
    store.publish("heat", make_layer(30.0))
    store.publish("rain", make_layer(5.0))
    (tmp_path / "current.json").unlink()  # as a store written before D27
    assert store.names() == ["heat", "rain"]
    store.promote({"heat": "v0001"})
    assert json.loads((tmp_path / "current.json").read_text())["layers"] == {
        "heat": "v0001",
        "rain": "v0001",
    }
    (tmp_path / "current.json").write_text("{not json")
    with pytest.raises(SchemaError, match=r"current.json: expected JSON"):
        store.current("heat")


def test_open_hashes_a_file_once_per_process_and_again_when_it_changes(tmp_path, monkeypatch):
    from resilience.storage import layer_store

    store = LayerStore(tmp_path)
    entry = store.publish("heat", make_layer(30.0))
    calls = []
    real = layer_store.sha256_file
    monkeypatch.setattr(layer_store, "sha256_file", lambda path: calls.append(path) or real(path))
    monkeypatch.setattr(layer_store, "_VERIFIED", {})
    for _ in range(3):
        store.open("heat").close()
    assert calls == [entry.path]
    LayerStore(tmp_path).open("heat").close()  # another instance, same process: cached
    assert len(calls) == 1
    entry.path.write_bytes(entry.path.read_bytes() + b"\0")
    with pytest.raises(SchemaError, match="expected sha256"):
        store.open("heat")
    assert len(calls) == 2


def test_plausible_layers_with_sea_cells_and_negative_changes_are_published(tmp_path):
    layer = make_layer(30.0)
    layer["txx"][..., 0, 0] = np.nan  # a sea cell: NaN in every variable
    layer["txx_change"] = layer["txx"] - 31.5  # a change in K may be negative
    layer["txx_change"].attrs = {"units": "K", "long_name": "change", "method": "test"}
    entry = LayerStore(tmp_path).publish("heat", layer)
    assert entry.version == "v0001"


def test_find_returns_the_newest_intact_version_of_a_step_key(tmp_path, monkeypatch):
    from resilience.storage import layer_store

    monkeypatch.setattr(layer_store, "_VERIFIED", {})
    store = LayerStore(tmp_path)
    first = store.publish("heat", make_layer(30.0), step_sha256="key-a")
    second = store.publish("heat", make_layer(31.0), step_sha256="key-a", make_current=False)
    other = store.publish("heat", make_layer(32.0), step_sha256="key-b")
    assert store.find("heat", "key-a").version == second.version  # staged counts too
    assert store.find("heat", "key-b").version == other.version
    assert store.find("heat", "key-c") is None and store.find("heat", "") is None
    assert store.find("rain", "key-a") is None
    second.path.write_bytes(second.path.read_bytes() + b"\0")  # edited: not reusable
    assert store.find("heat", "key-a").version == first.version
    (first.path.parent / "manifest.json").unlink()  # half-removed: skipped, not an error
    assert store.find("heat", "key-a") is None
