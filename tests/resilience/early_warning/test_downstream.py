"""Impact alerts name the assets downstream of the warned assets and address their agencies.

A hand-built inventory where the answer is known by hand: substation ``sub-a`` (Jing'an)
feeds two metro stations and a hospital; ``sub-b`` (Pudong) feeds nothing. A hot day warns
both substations (``substation_heat``: daily maximum > 40 - 2 degC).
"""

from __future__ import annotations

from datetime import datetime

import geopandas as gpd
import numpy as np
import pytest
import yaml
from lxml import etree
from shapely.geometry import Point
from sqlalchemy import select

from resilience.early_warning.cap import CAP_NS, validate_cap
from resilience.early_warning.decision import DownstreamRef
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.lifecycle import issue_alerts
from resilience.early_warning.rule_models import RuleError
from resilience.early_warning.rules import default_rules_path, parse_rules
from resilience.early_warning.wording import ASSET_TYPE_WORDS, format_downstream
from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import OutboxMessage

JINGAN, PUDONG = "310106", "310115"
_NS = {"cap": CAP_NS}
#: The substation rule's subscribers (issuer, then agencies taking substation_heat at yellow).
SUBSCRIBERS = ["meteorological_service", "emergency_management", "power"]


def _inventory(depends: bool = True) -> gpd.GeoDataFrame:
    """sub-a feeds st-1 and st-2 (metro, criticality 3, Huangpu) and hosp-1 (hospital, 4)."""
    rows = [
        # id, name, name_zh, type, criticality, depends_on, (lon, lat)
        ("sub-a", "Alpha substation", "甲变电站", "substation", 5, [], (121.4605, 31.2375)),
        ("sub-b", "Beta substation", "乙变电站", "substation", 5, [], (121.60, 31.20)),
        ("st-1", "People Square", "人民广场", "metro_station", 3, ["sub-a"], (121.475, 31.232)),
        ("st-2", "East Nanjing Road", "南京东路", "metro_station", 3, ["sub-a"], (121.485, 31.238)),
        ("hosp-1", "Ruijin Hospital", "瑞金医院", "hospital", 4, ["sub-a"], (121.455, 31.245)),
    ]  # fmt: skip
    return gpd.GeoDataFrame(
        {
            "asset_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "name_zh": [r[2] for r in rows],
            "asset_type": [r[3] for r in rows],
            "owner_agency": "operator",
            "criticality": [r[4] for r in rows],
            "ground_elevation_m": 4.0,
            "protection_level_m": np.nan,
            "design_life_years": 50,
            "replacement_value": 1e8,
            "depends_on": [r[5] if depends else [] for r in rows],
        },
        geometry=[Point(*r[6]) for r in rows],
        crs=4326,
    )


@pytest.fixture
def heat_rules(all_rules):
    """The shipped rule set with the substation rule only (no other input needed)."""
    return all_rules.model_copy(
        update={"rules": [r for r in all_rules.rules if r.id == "substation_heat"]}
    )


def _hot_day(make_forecast):
    ds = make_forecast()
    ds["tas"][:, 6] = np.float32(39.0)  # yellow: above 38 degC, below the 40 degC limit
    return ds


def _step(decisions, area):
    (decision,) = [d for d in decisions if d.area.code == area]
    (step,) = decision.steps
    return step


def test_substation_alert_names_its_downstream_assets_and_addresses_their_agencies(
    make_forecast, heat_rules, districts, tmp_path
):
    ds = _hot_day(make_forecast)
    decisions = evaluate_rules(ds, heat_rules, districts, assets=_inventory())
    step = _step(decisions, JINGAN)
    assert [a.asset_id for a in step.assets] == ["sub-a"]
    # the hospital (criticality 4) before the stations (3); stations in inventory order
    assert [r.asset_id for r in step.downstream] == ["hosp-1", "st-1", "st-2"]
    assert [r.agency for r in step.downstream] == ["health", "transport", "transport"]
    assert step.recipients == [*SUBSCRIBERS, "health", "transport"]

    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    now = datetime.fromisoformat(ds.attrs["issued"])
    messages = issue_alerts(
        [d for d in decisions if d.area.code == JINGAN],
        engine=engine, out_dir=tmp_path, sender="t@x.cn", now=now,
    )  # fmt: skip
    assert [m.msg_type for m in messages] == ["Alert", "Cancel"]
    xml = messages[0].path.read_bytes()
    validate_cap(xml)  # OASIS XSD and the profile's rules
    root = etree.fromstring(xml)
    assert root.findtext("cap:scope", namespaces=_NS) == "Restricted"  # stays Restricted
    restriction = root.findtext("cap:restriction", namespaces=_NS)
    assert "power" in restriction and "transport" in restriction and "health" in restriction
    texts = {
        info.findtext("cap:language", namespaces=_NS): info.findtext("cap:description", "", _NS)
        for info in root.findall("cap:info", _NS)
    }
    assert (
        "受影响的下游设施3处：瑞金医院、人民广场站、南京东路站（地铁站2、医院1）。"
        in texts["zh-CN"]
    )
    assert (
        " Downstream: Ruijin Hospital, People Square station and East Nanjing Road station"
        " (2 metro stations, 1 hospital)." in texts["en-US"]
    )
    assert xml.count(b"<circle>") == 2  # only the warned substation is drawn (zh and en)
    queued = {}
    for message in messages:
        with session_scope(engine) as session:
            agencies = session.scalars(
                select(OutboxMessage.agency).where(OutboxMessage.identifier == message.identifier)
            ).all()
        queued[message.msg_type] = set(agencies)
    expected = {*SUBSCRIBERS, "transport", "health"}
    assert queued == {"Alert": expected, "Cancel": expected}  # the Cancel reaches them too


def test_an_asset_without_dependants_adds_nothing(make_forecast, heat_rules, districts):
    ds = _hot_day(make_forecast)
    step = _step(evaluate_rules(ds, heat_rules, districts, assets=_inventory()), PUDONG)
    assert [a.asset_id for a in step.assets] == ["sub-b"]
    assert step.downstream == [] and step.recipients == SUBSCRIBERS
    # an inventory recording no dependency at all: the same decisions as before issue 18
    flat = evaluate_rules(ds, heat_rules, districts, assets=_inventory(depends=False))
    assert all(s.downstream == [] and s.recipients == SUBSCRIBERS for d in flat for s in d.steps)


def test_dependants_that_are_warned_themselves_are_not_downstream(
    make_forecast, all_rules, districts
):
    """The substation rule pointed at substations and stations alike: warned stations are
    listed as assets, not again as downstream of their substation."""
    rule = next(r for r in all_rules.rules if r.id == "substation_heat")
    assert rule.assets is not None
    wide = rule.model_copy(
        update={"assets": rule.assets.model_copy(update={"types": ["substation", "hospital"]})}
    )
    rules = all_rules.model_copy(update={"rules": [wide]})
    decisions = evaluate_rules(_hot_day(make_forecast), rules, districts, assets=_inventory())
    warned = {a.asset_id for d in decisions for s in d.steps for a in s.assets}
    assert warned == {"sub-a", "sub-b", "hosp-1"}
    jingan = _step(decisions, JINGAN)
    assert [r.asset_id for r in jingan.downstream] == ["st-1", "st-2"]


def test_unknown_supplier_is_refused(make_forecast, heat_rules, districts):
    broken = _inventory()
    broken["depends_on"] = [[], [], ["sub-x"], ["sub-a"], ["sub-a"]]
    with pytest.raises(ValueError, match=r"depends_on names unknown asset_ids: st-1 -> 'sub-x'"):
        evaluate_rules(_hot_day(make_forecast), heat_rules, districts, assets=broken)


def _refs(counts: dict[str, int]) -> list[DownstreamRef]:
    return [
        DownstreamRef(asset_id=f"{t}-{i}", name=f"{t} {i}", name_zh=f"设施{t}{i}", asset_type=t)
        for t, n in counts.items()
        for i in range(n)
    ]


def test_long_lists_are_capped_with_counts_per_type():
    refs = _refs({"metro_station": 10, "hospital": 2})
    zh = format_downstream(refs, "zh", named=1)
    en = format_downstream(refs, "en", named=1)
    assert zh == "受影响的下游设施：设施metro_station0等12处（地铁站10、医院2）。"
    assert (
        en == " Downstream: metro_station 0 station and 11 more (10 metro stations, 2 hospitals)."
    )
    assert format_downstream(refs, "zh", named=0) == "受影响的下游设施12处（地铁站10、医院2）。"
    assert format_downstream(refs, "en", named=0) == (
        " Downstream: 12 assets (10 metro stations, 2 hospitals)."
    )
    one = _refs({"water_plant": 1})
    assert format_downstream(one, "en") == " Downstream: water_plant 0 (1 water treatment plant)."
    assert format_downstream([], "zh") == format_downstream([], "en") == ""


def test_every_catalogue_type_has_words():
    from assets.catalogue import ASSET_TYPES

    assert set(ASSET_TYPE_WORDS) == set(ASSET_TYPES)


@pytest.mark.parametrize(
    ("mapping", "match"),
    [
        ({"metro": "transport"}, r"field asset_agencies: unknown asset type 'metro'"),
        (
            {"hospital": "hospitals_bureau"},
            r"field asset_agencies.hospital: unknown agency 'hospitals_bureau'; expected one of",
        ),
        ({"hospital": ["health"]}, r"field asset_agencies.hospital: expected text, found"),
    ],
)
def test_asset_agencies_are_checked_on_load(mapping, match):
    raw = yaml.safe_load(default_rules_path().read_text(encoding="utf-8"))
    raw["asset_agencies"] = mapping
    with pytest.raises(RuleError, match=match):
        parse_rules(raw, name="bad.yaml")


def test_shipped_rules_map_every_catalogue_type(all_rules):
    from assets.catalogue import ASSET_TYPES

    assert set(all_rules.asset_agencies) == set(ASSET_TYPES)
    assert all_rules.asset_agencies["metro_station"] == "transport"
    assert all_rules.asset_agencies["hospital"] == "health"
    assert all_rules.asset_agencies["water_plant"] == "water_authority"
