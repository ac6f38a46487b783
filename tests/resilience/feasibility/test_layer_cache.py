"""LayerCache: each layer opened and validated once per version and process (issue 14)."""

import json

import pytest

from hazard_models.layer import SchemaError
from resilience.feasibility.check import run_check
from resilience.feasibility.layer_cache import CHECK_LAYERS, LayerCache, shared_layer_cache
from resilience.storage.layer_store import LayerIntegrityError, LayerStore


@pytest.fixture
def store(hot_layers, tmp_path):
    store = LayerStore(tmp_path / "layers")
    for name, layer in hot_layers.items():
        store.publish(name, layer)
    store.publish("extra", hot_layers["heat"])  # a layer no check reads
    return store


def test_each_layer_is_opened_once_and_reused(store, submission):
    cache = LayerCache(store.root)
    first = cache.layers()
    second = cache.layers()
    assert sorted(first) == sorted(CHECK_LAYERS)  # "extra" is never opened
    assert cache.opens == 3
    assert all(first[name] is second[name] for name in CHECK_LAYERS)
    run_check(submission, cache.layers(), validated=True)
    assert cache.opens == 3


def test_cached_and_uncached_checks_agree(store, hot_layers, submission):
    cached = run_check(submission, LayerCache(store.root).layers(), validated=True)
    direct = run_check(submission, hot_layers)
    assert cached.rows == direct.rows
    assert cached.verdict == direct.verdict


def test_a_new_version_is_picked_up_without_restart(store, layer_factory, submission):
    cache = LayerCache(store.root)
    before = run_check(submission, cache.layers(), validated=True)
    hotter = layer_factory(heat_loc=45.0)["heat"]
    hotter.attrs["layer_version"] = "2"
    published = store.publish("heat", hotter)
    layers = cache.layers()
    assert cache.opens == 4  # only heat was opened again
    assert layers["heat"].attrs["layer_version"] == "2"
    assert str(layers["heat"].encoding.get("source", published.path)) == str(published.path)
    after = run_check(submission, layers, validated=True)
    assert after.layer_versions["heat"].startswith("2:")
    assert _worst(after, "heat") > _worst(before, "heat")


def _worst(result, hazard):
    return max(r.annual_exceedance_probability or 0.0 for r in result.rows if r.hazard == hazard)


def test_a_layer_edited_on_disk_is_not_served_stale(store):
    cache = LayerCache(store.root)
    cache.layers()
    path = store.current("surge").path
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(LayerIntegrityError, match=r"surge\.nc: expected sha256"):
        cache.layer("surge")
    heat = cache.layer("heat")
    assert cache.layer("heat") is heat
    assert cache.opens == 3  # the others stay cached


def test_a_missing_layer_is_named_by_the_check(tmp_path, hot_layers, submission):
    store = LayerStore(tmp_path / "layers")
    for name in ("heat", "rain"):
        store.publish(name, hot_layers[name])
    layers = LayerCache(store.root).layers()
    assert sorted(layers) == ["heat", "rain"]
    with pytest.raises(Exception, match=r"missing hazard layers \['surge'\]"):
        run_check(submission, layers, validated=True)


def test_layers_passed_directly_are_still_validated(hot_layers, submission):
    hot_layers["rain"].attrs.pop("hazard")
    with pytest.raises(SchemaError, match="expected global attributes"):
        run_check(submission, hot_layers)


def test_shared_cache_is_one_per_store(store):
    assert shared_layer_cache(store.root) is shared_layer_cache(store.root / "." / "")
    assert shared_layer_cache(store.root) is not LayerCache(store.root)


def test_the_flow_step_reuses_the_shared_cache(store, submission, tmp_path):
    from flows.steps import check_feasibility

    file = tmp_path / "site.json"
    file.write_text(json.dumps(submission.model_dump(mode="json")), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'checks.db'}"
    for _ in range(2):
        outputs = check_feasibility(file, store.root, tmp_path / "reports", url, 0.10)
    assert outputs.check_id == 2
    assert shared_layer_cache(store.root).opens == 3
