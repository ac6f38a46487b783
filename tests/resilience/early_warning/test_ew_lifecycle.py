"""Episodes, the Alert -> Update -> Cancel lifecycle, idempotence and CAP validation."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from lxml import etree
from sqlalchemy import func, select

from resilience.early_warning.cap import (
    CAP_NS,
    IDENTIFIER_PATTERN,
    CapValidationError,
    validate_cap,
)
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.episode import Episode, StepSpan, collapse_episodes
from resilience.early_warning.lifecycle import issue_alerts
from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import AlertRecord

ISSUED = datetime.fromisoformat("2026-07-20T08:00:00+08:00")
NS = {"cap": CAP_NS}


def test_collapse_holds_a_level_through_a_short_lull():
    levels = np.array([0, 1, 2, 0, 1, 1, 0, 0, 0, 2, 0])
    episodes = collapse_episodes(levels, hold_h=1)
    # hour 3 is a one-hour lull: held at 2, so one episode 1..5 (blue, yellow, blue at 4)
    assert episodes == [
        Episode(1, 5, (StepSpan(1, 1), StepSpan(2, 2), StepSpan(1, 4))),
        Episode(9, 9, (StepSpan(2, 9),)),
    ]


def test_collapse_without_hold_splits_on_any_gap():
    episodes = collapse_episodes(np.array([1, 0, 1]), hold_h=0)
    assert [(e.first, e.last) for e in episodes] == [(0, 0), (2, 2)]


@pytest.fixture
def rain_episode(make_forecast, rules, districts):
    """One rainstorm episode in Huangpu: blue 13:00, yellow 14:00, blue 16:00, ends 03:00."""
    ds = make_forecast()
    ds["pr"][:, 5] = np.float32(36.0)  # 1 h >= 35: blue
    ds["pr"][:, 6] = np.float32(51.0)  # 1 h >= 50: yellow; then 6-h and 12-h sums keep blue
    decisions = evaluate_rules(ds, rules, districts)
    return [d for d in decisions if d.hazard == "rainstorm" and d.area.code == "310101"]


def test_episode_levels_and_times(rain_episode):
    (decision,) = rain_episode
    assert [(s.level, s.start.hour) for s in decision.steps] == [
        ("blue", 13),
        ("yellow", 14),
        ("blue", 16),  # yellow held one hour (hold_h = 1), then back to blue
    ]
    assert decision.onset == ISSUED + timedelta(hours=5)
    # last hour at blue ends 02:00 (12-h sum of 87 mm falls to 51 then 0), plus 1 h hold
    assert decision.expires == ISSUED + timedelta(hours=19)
    assert [s.criterion_id for s in decision.steps] == ["rain_1h", "rain_1h", "rain_6h"]
    assert decision.steps[1].recipients[:1] == ["meteorological_service"]
    assert "emergency_management" in decision.steps[1].recipients  # min level yellow
    assert "emergency_management" not in decision.steps[0].recipients


def _issue(decisions, engine, out_dir):
    return issue_alerts(decisions, engine=engine, out_dir=out_dir, sender="t@x.cn", now=ISSUED)


def test_alert_update_cancel_with_references(rain_episode, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    messages = _issue(rain_episode, engine, tmp_path / "cap")
    assert [(m.msg_type, m.level) for m in messages] == [
        ("Alert", "blue"),
        ("Update", "yellow"),
        ("Update", "blue"),
        ("Cancel", "blue"),
    ]
    assert messages[0].references == ""
    for previous, message in zip(messages, messages[1:], strict=False):
        sent = previous.sent.isoformat(timespec="seconds")
        assert message.references == f"t@x.cn,{previous.identifier},{sent}"
        assert message.sent >= previous.sent
    assert messages[1].sent == ISSUED  # the upgrade to yellow (14:00) within the 6-h lead
    assert messages[2].sent == ISSUED + timedelta(hours=8)  # the downgrade, when it happens
    assert messages[3].sent == ISSUED + timedelta(hours=19)  # at expiry
    assert messages[3].expires == messages[3].sent + timedelta(hours=1)


def test_messages_are_valid_consistent_and_uniquely_identified(rain_episode, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    messages = _issue(rain_episode, engine, tmp_path / "cap")
    identifiers = [m.identifier for m in messages]
    assert len(set(identifiers)) == len(identifiers)
    for m in messages:
        xml = m.path.read_bytes()
        validate_cap(xml)  # XSD and profile checks
        assert len(m.identifier) == 31 and IDENTIFIER_PATTERN.match(m.identifier)
        assert m.identifier.startswith("310000364000" + "00_")  # region, sector, unit, extension
        assert m.identifier[15:29] == m.sent.strftime("%Y%m%d%H%M%S")
        root = etree.fromstring(xml)
        infos = root.findall("cap:info", NS)
        assert [i.findtext("cap:language", namespaces=NS) for i in infos] == ["zh-CN", "en-US"]
        for info in infos:
            times = [
                datetime.fromisoformat(info.findtext(f"cap:{t}", namespaces=NS))
                for t in ("effective", "onset", "expires")
            ]
            assert times[0] <= times[1] < times[2]
    headline = etree.fromstring(messages[1].path.read_bytes()).findtext(
        "cap:info/cap:headline", namespaces=NS
    )
    assert headline == "上海中心气象台将暴雨蓝色预警更新为暴雨黄色预警[Ⅲ级/较重]：黄浦区"


def test_rerun_is_idempotent(rain_episode, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    out = tmp_path / "cap"
    first = _issue(rain_episode, engine, out)
    files = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    second = _issue(rain_episode, engine, out)
    assert all(m.new for m in first) and not any(m.new for m in second)
    assert [m.identifier for m in second] == [m.identifier for m in first]
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == files
    with session_scope(engine) as session:
        assert session.scalar(select(func.count(AlertRecord.id))) == len(first)


def test_invalid_message_is_neither_written_nor_stored(rain_episode, tmp_path):
    (decision,) = rain_episode
    open_ring = "31.0,121.0 31.1,121.0 31.1,121.1 31.0,121.1"  # first != last
    area = decision.area.model_copy(update={"polygons": [open_ring]})
    broken = decision.model_copy(update={"area": area})
    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    with pytest.raises(
        CapValidationError, match=r"310000364000\d\d_\d{14}_\d: polygon: not closed"
    ):
        _issue([broken], engine, tmp_path / "cap")
    assert list((tmp_path / "cap").iterdir()) == []
    with session_scope(engine) as session:
        assert session.scalar(select(func.count(AlertRecord.id))) == 0


@pytest.fixture
def valid_xml(rain_episode, tmp_path) -> bytes:
    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    return _issue(rain_episode, engine, tmp_path / "cap")[0].path.read_bytes()


def _edit(xml: bytes, tag: str, text: str | None) -> bytes:
    root = etree.fromstring(xml)
    node = root.find(f".//cap:{tag}", NS)
    if text is None:
        node.getparent().remove(node)
    else:
        node.text = text
    return etree.tostring(root)


@pytest.mark.parametrize(
    ("tag", "text", "reason"),
    [
        ("sender", None, r"XSD: line \d+: .*sender"),
        ("urgency", "Soon", r"XSD: line \d+: .*urgency"),
        ("sent", "2026-07-20T00:00:00+00:00", r"sent .*expected Beijing time with offset \+08:00"),
        ("polygon", "31.0,121.0 31.1,121.0 31.0,121.0", r"polygon: expected at least 4 points"),
        ("polygon", "31.0,121.0 31.1,121.0 31.1,121.1 31.2,121.1", r"polygon: not closed"),
        ("polygon", "91.0,121.0 31.1,121.0 31.1,121.1 91.0,121.0", r"polygon: lat outside"),
        ("onset", "2026-07-25T00:00:00+08:00", r"onset .* is not before expires"),
        ("effective", "2026-07-22T00:00:00+08:00", r"effective .* is after onset"),
        ("identifier", "ABC-1", r"identifier: expected the national format"),
    ],
)
def test_broken_messages_are_rejected(valid_xml, tag, text, reason):
    validate_cap(valid_xml)
    with pytest.raises(CapValidationError, match=reason):
        validate_cap(_edit(valid_xml, tag, text))


def test_oasis_example_fails_only_the_beijing_profile():
    example = Path(__file__).parents[2] / "data" / "cap"
    xml = (example / "cap12_oasis_A2_severe_thunderstorm_warning.xml").read_bytes()
    with pytest.raises(CapValidationError, match=r"sent .*\+08:00"):  # XSD passes; offset -07:00
        validate_cap(xml)
