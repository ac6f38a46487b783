"""Message texts write times and units as people do; CAP's own time fields stay ISO 8601."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from lxml import etree

from resilience.early_warning.cap import CAP_NS, CapMessage, build_cap, validate_cap
from resilience.early_warning.engine import _metric_units, evaluate_rules
from resilience.early_warning.metric import _UNITS as VARIABLE_UNITS
from resilience.early_warning.run import run_warnings
from resilience.early_warning.wording import (
    beaufort_force,
    format_criterion,
    format_member_values,
    format_quantity,
    format_time,
    format_units,
)

NS = {"cap": CAP_NS}
BEIJING = timezone(timedelta(hours=8))
#: what must never appear in a human text: an ISO time, or a UDUNITS temperature
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|T00:00")
#: an English unit word standing alone inside a Chinese sentence
EN_UNIT = re.compile(r"(?<![A-Za-z])(degC|mm/h|mm|m/s|cm|m|h|years?)(?![A-Za-z])")


# ------------------------------------------------------------------------ times


@pytest.mark.parametrize(
    ("when", "zh", "en"),
    [
        (datetime(2026, 7, 22, 0, 0, tzinfo=BEIJING), "2026年7月22日0时", "22 July 2026 00:00"),
        # a non-zero minute is written in Chinese; English always has the minutes
        (
            datetime(2026, 7, 22, 0, 30, tzinfo=BEIJING),
            "2026年7月22日0时30分",
            "22 July 2026 00:30",
        ),
        (
            datetime(2026, 7, 20, 17, 5, tzinfo=BEIJING),
            "2026年7月20日17时5分",
            "20 July 2026 17:05",
        ),
        # UTC input is shown in Shanghai time, crossing midnight into the next day ...
        (datetime(2026, 7, 21, 16, 0, tzinfo=UTC), "2026年7月22日0时", "22 July 2026 00:00"),
        # ... the next month ...
        (datetime(2026, 7, 31, 16, 30, tzinfo=UTC), "2026年8月1日0时30分", "1 August 2026 00:30"),
        # ... and the next year
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "2027年1月1日7时59分", "1 January 2027 07:59"),
    ],
)
def test_times_are_written_in_shanghai_time(when, zh, en):
    assert format_time(when, "zh") == zh
    assert format_time(when, "en") == en


def test_a_time_without_zone_is_refused():
    with pytest.raises(ValueError, match="expected a timezone-aware time"):
        format_time(datetime(2026, 7, 22), "zh")


# ------------------------------------------------------------------------ units


def test_units_are_written_as_people_write_them():
    assert format_quantity(36.5, "degC", "zh") == "36.5℃"
    assert format_quantity(36.5, "degC", "en") == "36.5 °C"
    assert format_quantity(113.05, "mm in 6 h", "zh") == "113.05毫米（6小时累计）"
    assert format_quantity(113.05, "mm in 6 h", "en") == "113.05 mm in 6 h"
    assert format_quantity(61.6, "mm/h", "zh") == "61.6毫米/小时"
    assert format_quantity(4.94, "m", "zh") == "4.94米"
    assert format_quantity(11.92, "m/s", "zh") == "11.92米/秒（6级）"
    assert format_quantity(7.5, "years (local return period)", "zh") == "7.5年一遇"
    assert format_quantity(7.5, "years (local return period)", "en") == "7.5-year return period"
    assert format_member_values(-1.84, -1.06, "degC above the asset level", "zh") == (
        "成员中位数最大-1.84℃、最大-1.06℃（相对设施限值）"
    )


def test_a_margin_to_a_limit_reads_as_minus_plus_or_nothing():
    zh, en = "高于上限{offset_zh:℃}", "above the limit{offset_en: °C}"
    assert [format_criterion(zh, v) for v in (-2.0, 0.0, 1.5)] == [
        "高于上限减2℃",
        "高于上限",
        "高于上限加1.5℃",
    ]
    assert format_criterion(en, -2.0) == "above the limit minus 2 °C"
    assert format_criterion(en, 0.0) == "above the limit"  # never "+0"


def test_beaufort_forces_match_the_rule_file(all_rules):
    """Each wind threshold's source names its force ("Beaufort F8"): the table agrees."""
    checked = 0
    for rule in all_rules.rules:
        for crit in rule.criteria:
            for threshold in crit.thresholds:
                named = re.search(r"Beaufort F(\d+)", threshold.source or "")
                if named:
                    assert beaufort_force(threshold.value) == int(named[1]), threshold
                    checked += 1
    assert checked == 16  # typhoon and gale, mean and gust, four levels each
    assert beaufort_force(10.75) == 5 and beaufort_force(0.0) == 0 and beaufort_force(60) == 17


def test_every_criterion_and_unit_of_the_rule_set_reads_well(all_rules):
    """Every criterion text at every threshold, and the units of every metric, in both languages."""
    seen_units = set()
    for rule in all_rules.rules:
        for crit in rule.criteria:
            units = _metric_units(VARIABLE_UNITS[crit.variable], crit)
            seen_units.add(units)
            zh_units, en_units = format_units(units, "zh"), format_units(units, "en")
            assert not EN_UNIT.search(zh_units), (crit.id, zh_units)
            assert "degC" not in en_units and "{" not in en_units
            for threshold in crit.thresholds:
                zh = format_criterion(crit.text_zh, threshold.value)
                en = format_criterion(crit.text_en, threshold.value)
                assert not EN_UNIT.search(zh) and "{" not in zh, (crit.id, zh)
                assert "degC" not in en and "{" not in en, (crit.id, en)
    assert {"degC", "mm in 1 h", "mm in 6 h", "m", "m/s"} <= seen_units
    assert any(u.startswith("years") for u in seen_units)
    assert any(u.endswith("above the asset level") for u in seen_units)


# ------------------------------------------------------------------------ one message


def test_a_message_built_from_utc_times_reads_in_shanghai_time(make_forecast, rules, districts):
    ds = make_forecast()
    ds["pr"][:, 5] = np.float32(36.0)  # 1 h >= 35 mm: blue in Huangpu
    (decision,) = [
        d
        for d in evaluate_rules(ds, rules, districts)
        if d.hazard == "rainstorm" and d.area.code == "310101"
    ]
    start = datetime(2026, 7, 20, 16, 30, tzinfo=UTC)  # 00:30 on the 21st in Shanghai
    step = decision.steps[0].model_copy(update={"start": start})
    sent = datetime(2026, 7, 20, 23, 0, tzinfo=BEIJING)
    msg = CapMessage(
        identifier="31000036400000_20260720230000_0",
        sender="t@x.cn",
        sent=sent,
        status="Exercise",
        msg_type="Alert",
        step=step,
        previous_level=None,
        effective=sent,
        onset=start.astimezone(BEIJING),
        expires=start.astimezone(BEIJING) + timedelta(hours=3),
    )
    xml = build_cap(msg, decision)
    validate_cap(xml)
    zh, en = etree.fromstring(xml).findall("cap:info", NS)
    assert zh.findtext("cap:description", namespaces=NS).startswith(
        "预计2026年7月21日0时30分起，黄浦区1小时降雨量达35毫米以上。"
    )
    assert en.findtext("cap:description", namespaces=NS).startswith(
        "From 21 July 2026 00:30 (Beijing time), Huangpu: 1-hour rainfall of 35 mm or more."
    )
    assert zh.findtext("cap:onset", namespaces=NS) == "2026-07-21T00:30:00+08:00"  # ISO kept


# ------------------------------------------------------------------------ the shipped scenario


@pytest.fixture(scope="module")
def shipped(sample_forecast_path, districts, inventory, idf_layer, tmp_path_factory):
    """The demo's forecast with every rule (the inventory and today's IDF curve)."""
    out = tmp_path_factory.mktemp("wording")
    return run_warnings(
        sample_forecast_path,
        rules_path=None,
        districts=districts,
        database_url=f"sqlite:///{out / 'alerts.db'}",
        out_dir=out / "cap",
        assets=inventory,
        layers={"idf": idf_layer},
    )


def _texts(info: etree._Element) -> list[str]:
    tags = ("headline", "description", "instruction", "areaDesc", "event")
    texts = [info.findtext(f".//cap:{t}", "", NS) for t in tags]
    for param in info.findall("cap:parameter", NS):
        if param.findtext("cap:valueName", namespaces=NS) == "criterionText":
            texts.append(param.findtext("cap:value", "", NS))
    return texts


def test_no_iso_time_or_udunits_in_any_text_of_the_shipped_scenario(shipped):
    assert len(shipped.messages) > 100
    hazards = set()
    for m in shipped.messages:
        xml = m.path.read_bytes()
        validate_cap(xml)
        root = etree.fromstring(xml)
        for tag in ("sent",):  # CAP's own times stay ISO 8601 at +08:00
            assert re.fullmatch(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", root.findtext(f"cap:{tag}", namespaces=NS)
            )
        for info in root.findall("cap:info", NS):
            for tag in ("effective", "onset", "expires"):
                assert datetime.fromisoformat(info.findtext(f"cap:{tag}", namespaces=NS))
            zh = info.findtext("cap:language", namespaces=NS) == "zh-CN"
            for text in _texts(info):
                assert not ISO_TIME.search(text), (m.identifier, text)
                assert "degC" not in text, (m.identifier, text)
                if zh:  # asset ids (sub-shibo) stay Latin; asset names are Chinese
                    judged = re.sub(r"（[a-z][a-z0-9-]*，", "（，", text)
                    assert not EN_UNIT.search(judged), (m.identifier, text)
            description = info.findtext("cap:description", namespaces=NS)
            if not zh:
                assert description.count("(Beijing time)") == 1, description
        hazards.add(m.hazard)
    assert {"high_temperature", "rainstorm", "typhoon", "substation_heat"} <= hazards


def test_the_shipped_substation_alert_names_it_in_chinese(shipped, inventory):
    """Item 3 of issue 15: the zh-CN text names the asset by its inventory ``name_zh``."""
    shibo = inventory.loc[inventory["asset_id"] == "sub-shibo"].iloc[0]
    found = []
    for m in (m for m in shipped.messages if m.hazard == "substation_heat"):
        root = etree.fromstring(m.path.read_bytes())
        for info in root.findall("cap:info", NS):
            text = info.findtext("cap:description", "", NS)
            if "sub-shibo" in text:
                found.append((info.findtext("cap:language", "", NS), text))
    assert found
    for language, text in found:
        if language == "zh-CN":
            assert f"{shibo['name_zh']}（sub-shibo，" in text and shibo["name"] not in text
        else:
            assert f"{shibo['name']} (sub-shibo, " in text and shibo["name_zh"] not in text
