"""Reruns of the refresh reuse what has not changed (issue 16, item 2).

The demo's run (tests/flows/conftest.py) is copied (its projections linked, not copied) and
refreshed again as plain calls: with nothing changed every step reuses its earlier output;
an edited inventory recomputes only the risk table; an edited tide-gauge file rebuilds
surge and coastal flood, and recomputes risk. The demo itself ran under Prefect: its
refresh left a markdown artifact of the summary.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flows.refresh import RefreshResult, run_refresh
from resilience.profile import find_profile, load_profile
from resilience.storage.layer_store import LayerStore

pytestmark = pytest.mark.slow

LAYERS = ("heat", "rain", "idf", "surge", "coastal_flood")


@pytest.fixture(scope="module")
def city(demo_run, tmp_path_factory):
    """A copy of the demo's sample and data folder, refreshed once in its new place.

    The copied layer store holds the demo's versions; that first refresh reuses them all
    (their keys are by content) and recomputes only the risk table, whose provenance names
    the layer files by path, and which is therefore not copied from elsewhere.
    """
    out, _ = demo_run
    root = tmp_path_factory.mktemp("rerun")
    shutil.copytree(out / "sample", root / "sample", ignore=shutil.ignore_patterns("projections"))
    (root / "sample" / "projections").symlink_to(out / "sample" / "projections")
    shutil.copytree(out / "data", root / "data", ignore=shutil.ignore_patterns("*.db", "cache"))
    profile = find_profile(root / "sample")
    first = run_refresh(profile, root / "data" / "layers", root / "out", use_prefect=False)
    for name in LAYERS:
        assert first.step_outcomes[name] == "reused v0001", first.step_outcomes
    assert first.step_outcomes["risk"] == "computed"
    return root, profile


def _refresh(city, out: str) -> RefreshResult:
    root, profile = city
    return run_refresh(profile, root / "data" / "layers", root / out, use_prefect=False)


def _built(result: RefreshResult) -> set[str]:
    return {step for step, done in result.step_outcomes.items() if not done.startswith("reused")}


def test_a_rerun_with_nothing_changed_reuses_every_step_and_output(city):
    root, _ = city
    store = LayerStore(root / "data" / "layers")
    before = {name: store.versions(name) for name in LAYERS}
    published = (root / "data" / "risk" / "risk_table.csv").read_bytes()
    again = _refresh(city, "out-again")
    assert _built(again) == set(), again.step_outcomes
    assert again.step_outcomes["adjust_projections"] == "reused"
    assert again.projections.directory.is_relative_to(root / "data")  # the copy's own store
    assert {name: store.versions(name) for name in LAYERS} == before  # no new version
    assert again.versions == {name: "v0001" for name in LAYERS}
    # the risk table of the new out folder is the one already computed, byte for byte
    assert again.risk.reused
    assert (root / "out-again" / "risk" / "risk_table.csv").read_bytes() == published
    assert again.risk.rows > 0 and "heat" in again.risk.very_high
    # an output edited since it was written is not reused: the verified copy in
    # <data_dir>/risk replaces it; with both copies edited, the table is computed again
    with again.risk.csv.open("a") as handle:
        handle.write("tampered\n")
    repaired = _refresh(city, "out-again")
    assert repaired.step_outcomes["risk"] == "reused"
    assert again.risk.csv.read_bytes() == published
    for table in (again.risk.csv, root / "data" / "risk" / "risk_table.csv"):
        with table.open("a") as handle:
            handle.write("tampered\n")
    redone = _refresh(city, "out-again")
    assert redone.step_outcomes["risk"] == "computed"
    assert again.risk.csv.read_bytes() == published  # the same inputs give the same table


def test_an_edited_inventory_recomputes_only_the_risk_table(city):
    import geopandas as gpd

    root, profile = city
    inventory = Path(load_profile(profile).assets)
    assets = gpd.read_file(inventory)
    asset_id = str(assets.loc[0, "asset_id"])
    assets.loc[0, "protection_level_m"] = float(assets.loc[0, "protection_level_m"]) + 0.5
    assets.to_file(inventory, driver="GPKG")
    result = _refresh(city, "out-inventory")
    assert _built(result) == {"risk"}, result.step_outcomes
    provenance = json.loads(result.risk.provenance.read_text())
    assert provenance["inventory"]["sha256"] != ""
    assert asset_id in result.risk.csv.read_text()


def test_an_edited_tide_file_rebuilds_surge_coastal_flood_and_risk_only(city):
    root, profile = city
    tides = Path(load_profile(profile).tide_gauges.annual_maxima)
    lines = tides.read_text().splitlines(keepends=True)
    station, year, value, rest = lines[1].split(",", 3)
    lines[1] = ",".join([station, year, f"{float(value) + 0.10:.2f}", rest])
    tides.write_text("".join(lines))
    result = _refresh(city, "out-tides")
    assert _built(result) == {"surge", "coastal_flood", "risk"}, result.step_outcomes
    assert result.step_outcomes["surge"] == "built v0002"
    assert result.versions["heat"] == result.versions["idf"] == "v0001"
    store = LayerStore(root / "data" / "layers")
    assert store.current("surge").version == "v0002"  # the new set was promoted
    # and a rerun after that reuses the new versions
    again = _refresh(city, "out-tides")
    assert _built(again) == set() and again.versions["surge"] == "v0002"


def test_the_profile_flood_method_rebuilds_the_coastal_flood_layer_only(city):
    root, profile = city
    store = LayerStore(root / "data" / "layers")
    overtopping = store.open("coastal_flood")
    assert overtopping.attrs["flood_method"] == "overtopping"
    text = Path(profile).read_text()
    Path(profile).write_text(text + "coastal_flood:\n  method: bathtub\n")
    try:
        result = _refresh(city, "out-bathtub")
    finally:
        Path(profile).write_text(text)
    # the risk table does not read the coastal-flood layer (surge is its coastal hazard)
    assert _built(result) == {"coastal_flood"}, result.step_outcomes
    bathtub = store.open("coastal_flood")
    assert bathtub.attrs["flood_method"] == "bathtub"
    assert "bathtub_bound" not in bathtub.data_vars
    # the static bathtub is the upper bound of the volume model, map by map
    xr_close = abs(bathtub["flooded_area"] - overtopping["bathtub_area"]) < 1e-6
    assert bool(xr_close.all())
    assert float(bathtub["flooded_area"].sum()) > float(overtopping["flooded_area"].sum())


def test_the_demo_refresh_under_prefect_left_a_summary_artifact(demo_run):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.refresh_artifacts import MARKDOWN_KEY, TABLE_KEY

    out, _ = demo_run
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[MARKDOWN_KEY, TABLE_KEY]))
        )
    by_key = {artifact.key: artifact for artifact in found}
    assert set(by_key) == {MARKDOWN_KEY, TABLE_KEY}
    markdown = str(by_key[MARKDOWN_KEY].data)
    for layer in LAYERS:
        assert f"| {layer} | v0001 | built | yes |" in markdown
    assert "risk_table.gpkg" in markdown and str(out / "risk") in markdown
    table = by_key[TABLE_KEY].data
    rows = json.loads(table) if isinstance(table, str) else table
    assert {row["layer"] for row in rows} == set(LAYERS)
