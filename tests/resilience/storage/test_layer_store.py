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
    with pytest.raises(SchemaError, match="heat.nc.*missing \\['units'\\]"):
        store.open("heat")
