"""The engine: ensemble exceedance probability, the issuing cut-off, CAP certainty, durations."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml
from lxml import etree

from resilience.early_warning.cap import CAP_NS
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.rules import default_rules_path, parse_rules

HUANGPU = "310101"
NS = {"cap": CAP_NS}


def _gale(decisions):
    return [d for d in decisions if d.hazard == "gale" and d.area.code == HUANGPU]


def _windy(ds, members: int) -> None:
    """Beaufort 6 mean wind (blue gale) for the first ``members`` members at 14:00."""
    ds["sfcWind"][:members, 6] = np.float32(11.0)


@pytest.mark.parametrize(
    ("windy", "issued", "certainty"),
    [
        (2, False, None),  # 20 % < min_probability 30 %: nothing is issued
        (3, True, "Possible"),  # 30 %: issued; <= 50 % is Possible (CAP 1.2, domain.md 6.1)
        (5, True, "Possible"),  # exactly 50 % is still Possible ("> ~50 %" is Likely)
        (6, True, "Likely"),
        (10, True, "Likely"),
    ],
)
def test_probability_cut_off_and_certainty(
    windy, issued, certainty, make_forecast, rules, districts
):
    ds = make_forecast(members=10)
    _windy(ds, windy)
    decisions = _gale(evaluate_rules(ds, rules, districts))
    assert bool(decisions) == issued
    if issued:
        (step,) = decisions[0].steps
        assert step.probability == windy / 10 and step.certainty == certainty


def test_an_analysis_is_observed(make_forecast, rules, districts):
    ds = make_forecast(members=1).assign_attrs(product="analysis")
    _windy(ds, 1)
    (decision,) = _gale(evaluate_rules(ds, rules, districts))
    assert decision.steps[0].certainty == "Observed"


def test_deterministic_forecast_is_one_member(make_forecast, rules, districts):
    ds = make_forecast(members=1)
    _windy(ds, 1)
    (decision,) = _gale(evaluate_rules(ds, rules, districts))
    assert decision.steps[0].probability == 1.0 and decision.steps[0].certainty == "Likely"


def test_each_member_takes_its_own_highest_level(make_forecast, rules, districts):
    """4 of 10 members blue, 3 of those yellow: blue has 40 %, yellow 30 % -> yellow issued."""
    ds = make_forecast(members=10)
    ds["sfcWind"][:4, 6] = np.float32(11.0)
    ds["sfcWind"][:3, 7] = np.float32(17.5)  # Beaufort 8
    (decision,) = _gale(evaluate_rules(ds, rules, districts))
    assert [(s.level, s.probability) for s in decision.steps] == [("blue", 0.4), ("yellow", 0.3)]


def test_certainty_reaches_the_cap_message(make_forecast, rules, districts, tmp_path):
    from datetime import datetime

    from resilience.early_warning.lifecycle import issue_alerts
    from resilience.storage.database import make_engine

    ds = make_forecast(members=10)
    _windy(ds, 4)
    messages = issue_alerts(
        _gale(evaluate_rules(ds, rules, districts)),
        engine=make_engine(f"sqlite:///{tmp_path / 'a.db'}"),
        out_dir=tmp_path,
        sender="t@x.cn",
        now=datetime.fromisoformat(ds.attrs["issued"]),
    )
    root = etree.fromstring(messages[0].path.read_bytes())
    assert root.findtext("cap:info/cap:certainty", namespaces=NS) == "Possible"
    values = {
        p.findtext("cap:valueName", namespaces=NS): p.findtext("cap:value", namespaces=NS)
        for p in root.findall("cap:info/cap:parameter", NS)
    }
    assert values["probability"] == "0.40"


def test_duration_counts_only_consecutive_hours(make_forecast, districts):
    """With ``duration_h: 3`` the gale needs three windy hours in a row, inside the forecast."""
    raw = yaml.safe_load(default_rules_path().read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    raw["rules"] = [r for r in raw["rules"] if r["id"] == "gale_wind"]
    raw["rules"][0]["criteria"][0]["duration_h"] = 3
    rules = parse_rules(raw, name="duration.yaml")
    ds = make_forecast()
    ds["sfcWind"][:, [5, 6, 8, 9]] = np.float32(11.0)  # two pairs with a calm hour between
    assert _gale(evaluate_rules(ds, rules, districts)) == []
    ds["sfcWind"][:, 7] = np.float32(11.0)  # now five in a row: blue from the third hour
    (decision,) = _gale(evaluate_rules(ds, rules, districts))
    assert decision.onset.hour == 15  # hours 13, 14, 15: counted from the end of the third
    first = make_forecast()
    # two windy hours at the start: the hour before the forecast is unknown, so the window of
    # the second hour is incomplete and does not count (it would with a partial window)
    first["sfcWind"][:, [0, 1]] = np.float32(11.0)
    assert _gale(evaluate_rules(first, rules, districts)) == []


def test_subscriptions_by_hazard_district_and_minimum_level(make_forecast, districts):
    """Transport subscribed to Huangpu only; health never takes gales; emergency from yellow."""
    raw = copy.deepcopy(yaml.safe_load(default_rules_path().read_text(encoding="utf-8")))
    raw["rules"] = [r for r in raw["rules"] if r["id"] == "gale_wind"]
    transport = next(a for a in raw["agencies"] if a["id"] == "transport")
    transport["districts"] = [HUANGPU]
    rules = parse_rules(raw, name="subscriptions.yaml")
    ds = make_forecast()
    ds["sfcWind"][:, 6] = np.float32(11.0)  # blue
    ds["sfcWind"][:, 7] = np.float32(17.5)  # yellow
    steps = {d.area.code: d.steps for d in evaluate_rules(ds, rules, districts)}
    blue, yellow = steps[HUANGPU]
    assert blue.recipients == ["meteorological_service", "transport"]
    assert yellow.recipients == [
        "meteorological_service",
        "emergency_management",  # min_level yellow
        "transport",
        "power",  # min_level yellow, takes gales
    ]
    xuhui_blue, xuhui_yellow = steps["310104"]
    assert "transport" not in xuhui_blue.recipients + xuhui_yellow.recipients
    assert all("health" not in s.recipients for s in steps[HUANGPU])  # heat only
