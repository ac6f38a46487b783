"""The dependencies section of a check: suppliers, service loss, a substation's dependants.

A hand-built inventory (CSV) and risk table (written by the refresh's writer) where the
answers follow by hand: a supplier whose annual failure probability is a constant ``a`` in
every horizon fails over an L-year design life with ``1 - (1 - a)^L`` (Coles 2001, 1.2.4).
"""

import json

import pandas as pd
import pytest

from resilience.feasibility.check import run_check
from resilience.feasibility.domain import FeasibilityError
from resilience.feasibility.models import CheckResult, Submission
from resilience.feasibility.report import format_tables, render_html
from resilience.feasibility.supply_data import open_supply_data
from resilience.geodata.inventory_io import read_inventory
from resilience.storage.provenance import sha256_files
from resilience.storage.risk_io import write_risk_table

LIFE = 30
#: the test layers have no hot-day counts: hospitals are checked on a design temperature
EQUIPMENT = {"heat_standard": "equipment", "heat_threshold_degc": 40.0}
SITE = {"lon": 121.45, "lat": 31.30}
#: asset_id, asset_type, lon, lat, depends_on (";"-separated)
ASSETS = [
    ("sub-a", "substation", 121.46, 31.31, ""),
    ("sub-b", "substation", 121.80, 31.10, ""),
    ("metro-near", "metro_station", 121.452, 31.302, "sub-a"),
    ("metro-far", "metro_station", 121.79, 31.11, "sub-b"),
    ("hospital-old", "hospital", 121.70, 31.20, "sub-b;water-far"),
    ("water-near", "water_plant", 121.451, 31.301, "sub-a"),  # no hospital draws on it
    ("water-far", "water_plant", 121.60, 31.35, "sub-a"),
]
#: annual exceedance probability, constant over scenarios and horizons (others 0)
ANNUAL = {("sub-a", "surge"): 0.02, ("sub-a", "rain"): 0.01, ("sub-b", "surge"): 0.05}
#: water-far fails a little; water-near never (it is never a hospital's supplier)
ANNUAL[("water-far", "heat")] = 0.001


def _inventory(path):
    rows = [
        {
            "asset_id": i,
            "name": f"{i} name",
            "asset_type": t,
            "owner_agency": "test",
            "criticality": 3,
            "ground_elevation_m": 4.0,
            "protection_level_m": "",
            "design_life_years": 50,
            "replacement_value": 1.0e6,
            "depends_on": d,
            "depends_on_source": "assumed: test" if d else "",
            "lon": lon,
            "lat": lat,
        }
        for i, t, lon, lat, d in ASSETS
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _publish(folder, inventory, layers):
    heat = layers["heat"]
    rows = [
        {
            "asset_id": i,
            "hazard": hazard,
            "scenario": str(scenario),
            "horizon": str(horizon),
            "annual_exceedance_probability": ANNUAL.get((i, hazard), 0.0),
            "design_life_exceedance_probability": 0.5,  # the asset's own life: never used
        }
        for i, *_ in ASSETS
        for hazard in ("heat", "rain", "surge")
        for scenario in heat["scenario"].values
        for horizon in heat["horizon"].values
    ]
    provenance = {"inventory": {"path": str(inventory), "sha256": sha256_files([inventory])}}
    write_risk_table(pd.DataFrame(rows), read_inventory(inventory), folder, provenance=provenance)
    return folder


@pytest.fixture
def published(tmp_path, layer_factory):
    layers = layer_factory(heat_loc=28.0, rain_loc=60.0, surge_loc=3.0, warming=0.0)
    inventory = _inventory(tmp_path / "inventory.csv")
    return layers, _publish(tmp_path / "risk", inventory, layers), inventory


def _project(asset_type="metro_station", **extra) -> Submission:
    return Submission(
        project_name="new project",
        asset_type=asset_type,
        design_life_years=LIFE,
        start_year=2030,
        ground_elevation_m=4.5,
        drainage_return_period_years=200.0,  # own design-life p 1 - 0.995^30 = 0.14 < 0.45
        **SITE,
        **extra,
    )


def _check(submission, layers, risk_dir, **kwargs) -> CheckResult:
    supply = open_supply_data(risk_dir, **kwargs)
    return run_check(submission, layers, validated=True, supply=supply)


def _life(annual: float) -> float:
    return 1.0 - (1.0 - annual) ** LIFE


def test_assumed_substation_gives_the_hand_answer(published):
    layers, risk_dir, _ = published
    result = _check(_project(), layers, risk_dir)
    section = result.dependencies
    assert section.status == "assessed" and section.source == "risk_table"
    [supplier] = section.suppliers
    assert (supplier.asset_id, supplier.basis) == ("sub-a", "assumed")
    assert supplier.distance_km == pytest.approx(1.45, abs=0.05)  # 0.01 deg lon and lat
    surge, rain = _life(0.02), _life(0.01)
    for row in supplier.rows:  # the same over every horizon of a scenario: the project's life
        assert row.design_life_failure_probability_lower == pytest.approx(surge, rel=1e-9)
        assert row.design_life_failure_probability_upper == pytest.approx(
            1.0 - (1.0 - surge) * (1.0 - rain), rel=1e-9
        )
        assert row.annual_failure_probability_lower == pytest.approx(0.02, rel=1e-9)
    for loss in section.service_loss:
        own = [
            r.design_life_exceedance_probability
            for r in result.rows
            if r.scenario == loss.scenario and r.horizon == "baseline"
        ]
        assert loss.own_lower == pytest.approx(max(own), rel=1e-9)
        independent = 1.0 - (1.0 - loss.own_upper) * (1.0 - surge) * (1.0 - rain)
        assert loss.upper == pytest.approx(independent, rel=1e-9)
        assert loss.lower == pytest.approx(max(loss.own_lower, surge), rel=1e-9)
    assert any(loss.own_lower < surge for loss in section.service_loss)  # the supplier counts
    assert "assumed: the nearest substation" in " ".join(section.notes)
    from rich.console import Console

    console = Console(record=True, width=120, color_system=None)
    for table in format_tables(result, 120):  # the CLI prints the section after its table
        console.print(table)
    printed = console.export_text()
    assert "sub-a name (sub-a)" in printed and "assumed (nearest)" in printed
    assert "With suppliers" in printed


def test_the_verdict_rests_on_the_own_hazards(published):
    layers, risk_dir, _ = published
    alone = run_check(_project(), layers, validated=True)
    together = _check(_project(), layers, risk_dir)
    assert alone.dependencies is None
    assert together.verdict == alone.verdict
    assert together.rows == alone.rows


def test_a_named_supplier_replaces_the_nearest(published):
    layers, risk_dir, _ = published
    result = _check(_project(depends_on=["sub-b"]), layers, risk_dir)
    [supplier] = result.dependencies.suppliers
    assert (supplier.asset_id, supplier.basis) == ("sub-b", "named")
    assert supplier.rows[0].design_life_failure_probability_lower == pytest.approx(_life(0.05))
    assert not any(n.startswith("assumed") for n in result.dependencies.notes)


def test_an_unknown_named_supplier_is_refused(published):
    layers, risk_dir, _ = published
    with pytest.raises(FeasibilityError, match=r"depends_on: asset_ids \['sub-x'\] are not in"):
        _check(_project(depends_on=["sub-x"]), layers, risk_dir)


def test_a_hospital_draws_on_the_water_plants_hospitals_use(published):
    layers, risk_dir, _ = published
    result = _check(_project("hospital", **EQUIPMENT), layers, risk_dir)
    ids = [s.asset_id for s in result.dependencies.suppliers]
    # water-near is nearer, but only water-far is named by the inventory's hospitals
    assert ids == ["sub-a", "water-far"]


def test_a_new_substation_counts_its_dependants(published):
    layers, risk_dir, _ = published
    result = _check(_project("substation", protection_level_m=6.0), layers, risk_dir)
    section = result.dependencies
    assert section.suppliers == []
    # nearer to the site than to sub-a or sub-b: metro-near and water-near only
    assert section.dependants == {"metro_station": 1, "water_plant": 1}
    assert "metro_station 1, water_plant 1" in render_html(result, lang="en")


def test_missing_inventory_is_not_assessed(tmp_path, layer_factory):
    layers = layer_factory()
    result = _check(_project(), layers, tmp_path / "nothing-published")
    section = result.dependencies
    assert section.status == "not_assessed"
    assert "no published risk table" in section.reason
    html = render_html(result, lang="zh")
    assert "未评估" in html and "no published risk table" in html
    text = " ".join(str(t) for t in format_tables(result, 80))
    assert "Dependencies: Not assessed:" in text
    # the reason names the folder; the hash must not: same inputs, another path, same hash
    elsewhere = _check(_project(), layers, tmp_path / "another" / ".." / "nothing-published")
    assert elsewhere.dependencies.reason != section.reason
    assert elsewhere.result_hash == result.result_hash


def test_without_a_risk_table_the_check_runs_at_the_supplier(tmp_path, layer_factory):
    layers = layer_factory(surge_loc=4.4)
    inventory = _inventory(tmp_path / "inventory.csv")
    result = _check(_project(), layers, tmp_path / "empty", inventory=inventory)
    section = result.dependencies
    assert section.source == "check_at_site"
    [supplier] = section.suppliers
    at_site = run_check(
        Submission(project_name="sub-a", asset_type="substation", lon=121.46, lat=31.31,
                   start_year=2030, design_life_years=LIFE, ground_elevation_m=4.0,
                   criticality=3),
        layers,
        validated=True,
    )  # fmt: skip
    life = [
        r.design_life_exceedance_probability
        for r in at_site.rows
        if r.scenario == "ssp585" and r.horizon == "far" and r.design_life_exceedance_probability
    ]
    row = next(r for r in supplier.rows if (r.scenario, r.horizon) == ("ssp585", "far"))
    assert row.design_life_failure_probability_lower == pytest.approx(max(life), rel=1e-12)


def test_the_hash_covers_the_risk_table_provenance(published):
    layers, risk_dir, inventory = published
    first = _check(_project(), layers, risk_dir).result_hash
    assert _check(_project(), layers, risk_dir).result_hash == first
    assert run_check(_project(), layers, validated=True).result_hash != first
    provenance = risk_dir / "risk_table.provenance.json"
    document = json.loads(provenance.read_text())
    document["note"] = "republished"
    provenance.write_text(json.dumps(document))
    assert _check(_project(), layers, risk_dir).result_hash != first


def test_the_json_round_trips(published):
    layers, risk_dir, _ = published
    result = _check(_project("hospital", **EQUIPMENT), layers, risk_dir)
    again = CheckResult.model_validate_json(result.model_dump_json())
    assert again.dependencies == result.dependencies


def test_a_supplier_hazard_of_unknown_probability_leaves_the_total_unknown(
    tmp_path, layer_factory, monkeypatch
):
    """sub-a's rain probability unknown (NaN: outside the rain layer): its bounds cover surge
    only and say rain is missing, and the project's combined service loss is unknown, not
    the surge-only figure."""
    monkeypatch.setitem(ANNUAL, ("sub-a", "rain"), float("nan"))
    layers = layer_factory(heat_loc=28.0, rain_loc=60.0, surge_loc=3.0, warming=0.0)
    inventory = _inventory(tmp_path / "inventory.csv")
    risk_dir = _publish(tmp_path / "risk", inventory, layers)
    result = _check(_project(), layers, risk_dir)
    (sub_a,) = [s for s in result.dependencies.suppliers if s.asset_id == "sub-a"]
    assert all(row.hazards_unknown == ["rain"] for row in sub_a.rows)
    assert sub_a.rows[0].design_life_failure_probability_upper == pytest.approx(_life(0.02))
    loss = result.dependencies.service_loss
    assert loss and all(row.lower is None and row.upper is None for row in loss)
    assert "rain: n/a" in render_html(result, lang="en")
