"""Loading and validating rule files: the shipped set, and one test per kind of error."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from resilience.early_warning.rule_models import RuleError
from resilience.early_warning.rules import default_rules_path, load_rules


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(default_rules_path().read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "bad_rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _rule(data: dict, rule_id: str) -> dict:
    return next(r for r in data["rules"] if r["id"] == rule_id)


def test_shipped_rules_cover_the_domain_brief(all_rules):
    rules = all_rules
    assert {r.hazard for r in rules.rules} == {
        "high_temperature",
        "rainstorm",
        "huangpu_high_tide",
        "typhoon",
        "gale",
        "waterlogging",
        "metro_flooding",  # impact: river level vs metro entrance flood boards
        "substation_heat",  # impact: daily maximum vs transformer ambient limit
        "local_extreme_rain",  # hazard layer: 3-h rain vs the local IDF return levels
    }
    windows = {c.window_h for r in rules.rules if r.hazard == "rainstorm" for c in r.criteria}
    assert windows == {1, 3, 6, 12}
    metro = next(r for r in rules.rules if r.hazard == "metro_flooding")
    assert metro.scope == "Restricted" and metro.criteria[0].thresholds[0].value == -0.3
    recipients = {a.id for a in rules.agencies if "metro_flooding" in a.hazards}
    assert recipients == {"water_authority", "transport", "emergency_management"}
    assert {a.id for a in rules.agencies} == {
        "meteorological_service",
        "water_authority",
        "emergency_management",
        "transport",
        "health",
        "power",
    }
    assert all(a.sector_code_unconfirmed for a in rules.agencies)  # GB/T 4657 not retrieved


def test_unconfirmed_facts_are_flagged(all_rules):
    rules = all_rules
    flags = {
        (r.id, c.id, t.level): t.unconfirmed
        for r in rules.rules
        for c in r.criteria
        for t in c.thresholds
    }
    assert flags[("shanghai_rainstorm", "rain_3h", "red")] is True
    assert flags[("shanghai_rainstorm", "rain_1h", "yellow")] is False
    assert flags[("huangpu_high_tide", "huangpu_park_high_tide", "blue")] is False
    assert flags[("huangpu_high_tide", "huangpu_park_high_tide", "orange")] is True
    assert flags[("huangpu_high_tide", "huangpu_park_high_tide", "red")] is True
    assert all(flags[k] for k in flags if k[0] in ("typhoon_wind", "gale_wind"))  # Beaufort
    assert all(flags[k] for k in flags if k[0] == "rain_above_local_design")  # DB31/T 1043 n, r
    assert flags[("substation_heat", "substation_ambient_max", "orange")] is False  # IEEE
    board = next(r for r in rules.rules if r.id == "metro_entrance_flooding").criteria[0]
    assert board.asset_level.offset == 0.5 and board.asset_level.offset_unconfirmed
    assert all(t.source for r in rules.rules for c in r.criteria for t in c.thresholds)


def _expect(tmp_path: Path, data: dict, pattern: str) -> None:
    with pytest.raises(RuleError, match=pattern) as info:
        load_rules(_write(tmp_path, data))
    assert "bad_rules.yaml" in str(info.value)  # the file is named


def test_unknown_hazard(tmp_path, raw):
    data = copy.deepcopy(raw)
    _rule(data, "shanghai_rainstorm")["hazard"] = "hailstorm"
    _expect(tmp_path, data, r"rule 'shanghai_rainstorm', field hazard: unknown hazard 'hailstorm'")


def test_unknown_variable(tmp_path, raw):
    data = copy.deepcopy(raw)
    _rule(data, "shanghai_rainstorm")["criteria"][0]["variable"] = "precip"
    _expect(tmp_path, data, r"rule 'shanghai_rainstorm', field criteria\.0\.variable")


def test_unknown_agency(tmp_path, raw):
    data = copy.deepcopy(raw)
    _rule(data, "huangpu_high_tide")["issuer"] = "port_authority"
    _expect(tmp_path, data, r"rule 'huangpu_high_tide', field issuer: unknown agency")


def test_agency_with_unknown_hazard(tmp_path, raw):
    data = copy.deepcopy(raw)
    data["agencies"][0]["hazards"].append("ozone")
    _expect(tmp_path, data, r"agency 'meteorological_service', field hazards: unknown \['ozone'\]")


def test_thresholds_not_strictly_increasing(tmp_path, raw):
    data = copy.deepcopy(raw)
    _rule(data, "shanghai_rainstorm")["criteria"][0]["thresholds"][1]["value"] = 35
    _expect(tmp_path, data, r"criterion 'rain_1h'.*not strictly increasing by level: blue 35")


def test_levels_out_of_order(tmp_path, raw):
    data = copy.deepcopy(raw)
    thresholds = _rule(data, "shanghai_rainstorm")["criteria"][0]["thresholds"]
    thresholds.reverse()
    _expect(tmp_path, data, r"criterion 'rain_1h', field thresholds: levels out of order")


def test_overlapping_levels(tmp_path, raw):
    data = copy.deepcopy(raw)
    thresholds = _rule(data, "shanghai_rainstorm")["criteria"][0]["thresholds"]
    thresholds[1]["level"] = "blue"
    _expect(tmp_path, data, r"criterion 'rain_1h', field thresholds: level listed twice")


def test_unordered_rule_levels(tmp_path, raw):
    data = copy.deepcopy(raw)
    _rule(data, "huangpu_high_tide")["levels"] = ["yellow", "blue", "orange", "red"]
    _expect(tmp_path, data, r"rule 'huangpu_high_tide', field levels: overlapping or unordered")


def test_level_without_any_threshold_can_never_be_reached(tmp_path, raw):
    data = copy.deepcopy(raw)
    rule = _rule(data, "huangpu_high_tide")
    rule["criteria"][0]["thresholds"] = rule["criteria"][0]["thresholds"][:3]  # drop red
    _expect(tmp_path, data, r"rule 'huangpu_high_tide', field levels: level 'red' can never")


def test_threshold_beyond_plausible_range_can_never_be_reached(tmp_path, raw):
    data = copy.deepcopy(raw)
    _rule(data, "shanghai_high_temperature")["criteria"][0]["thresholds"][2]["value"] = 75
    _expect(tmp_path, data, r"level 'red' can never be reached: 75.0 exceeds .* tas")


def test_threshold_without_source(tmp_path, raw):
    data = copy.deepcopy(raw)
    del _rule(data, "shanghai_rainstorm")["criteria"][0]["thresholds"][0]["source"]
    _expect(tmp_path, data, r"rule 'shanghai_rainstorm', field criteria\.0\.thresholds\.0\.source")


def test_station_rule_needs_district_list(tmp_path, raw):
    data = copy.deepcopy(raw)
    _rule(data, "huangpu_high_tide")["areas"] = "all"
    _expect(tmp_path, data, r"field areas: a station rule needs an explicit district list")


def test_not_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("rules: [unclosed", encoding="utf-8")
    with pytest.raises(RuleError, match="broken.yaml: not valid YAML"):
        load_rules(path)


def test_agency_channels_are_declared(all_rules):
    channels = {a.id: a.channels for a in all_rules.agencies}
    assert channels["transport"] == ["webhook", "feed", "api"]
    assert all(set(c) <= {"webhook", "file", "feed", "api"} for c in channels.values())


def test_unknown_channel(tmp_path, raw):
    data = copy.deepcopy(raw)
    data["agencies"][3]["channels"] = ["webhook", "fax"]
    _expect(
        tmp_path, data, r"agency 'transport', field channels\.1: expected 'webhook'.*found 'fax'"
    )


def test_two_rules_for_one_hazard(tmp_path, raw):
    data = copy.deepcopy(raw)
    _rule(data, "gale_wind")["hazard"] = "typhoon"
    _expect(tmp_path, data, r"rule 'gale_wind', field hazard: 'typhoon' already has rule")


def test_unknown_asset_type(tmp_path, raw):
    data = copy.deepcopy(raw)
    _rule(data, "metro_entrance_flooding")["assets"]["types"] = ["metro_station", "ferry"]
    _expect(tmp_path, data, r"rule 'metro_entrance_flooding', field assets.types: .*\['ferry'\]")


def test_asset_level_needs_an_asset_rule(tmp_path, raw):
    data = copy.deepcopy(raw)
    del _rule(data, "metro_entrance_flooding")["assets"]
    _expect(tmp_path, data, r"criterion 'river_near_flood_board', field asset_level: the rule has")


def test_asset_rule_needs_asset_levels(tmp_path, raw):
    data = copy.deepcopy(raw)
    del _rule(data, "substation_heat")["criteria"][0]["asset_level"]
    _expect(tmp_path, data, r"criterion 'substation_ambient_max', field asset_level: an asset")


def test_asset_level_column_in_other_units(tmp_path, raw):
    data = copy.deepcopy(raw)
    level = _rule(data, "metro_entrance_flooding")["criteria"][0]["asset_level"]
    level["column"] = "replacement_value"
    _expect(tmp_path, data, r"column 'replacement_value' must be in the units of water_level")


def test_asset_level_catalogue_for_another_variable(tmp_path, raw):
    data = copy.deepcopy(raw)
    level = _rule(data, "metro_entrance_flooding")["criteria"][0]["asset_level"]
    del level["column"]
    level["catalogue"] = "heat_threshold_degc"
    _expect(tmp_path, data, r"catalogue 'heat_threshold_degc' is for tas, not water_level")


def test_asset_margin_out_of_reach(tmp_path, raw):
    data = copy.deepcopy(raw)
    _rule(data, "metro_entrance_flooding")["criteria"][0]["thresholds"][1]["value"] = 12.0
    _expect(tmp_path, data, r"level 'red' can never be reached: 12.0 exceeds the margin")


def test_layer_return_period_below_one_year(tmp_path, raw):
    data = copy.deepcopy(raw)
    _rule(data, "rain_above_local_design")["criteria"][0]["thresholds"][0]["value"] = 0.5
    _expect(tmp_path, data, r"level 'blue': 0.5 is below the return period in years \(1.0\)")


def test_layer_level_selects_no_duration(tmp_path, raw):
    data = copy.deepcopy(raw)
    _rule(data, "rain_above_local_design")["criteria"][0]["layer_level"]["select"]["duration"] = 60
    _expect(tmp_path, data, r"field layer_level.select: duration comes from window_h")


def test_missing_rule_file(tmp_path):
    with pytest.raises(RuleError, match="absent.yaml: cannot read the rule file"):
        load_rules(tmp_path / "absent.yaml")
