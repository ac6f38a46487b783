"""Active alerts, visibility by CAP scope, and the per-agency Atom 1.0 feed (RFC 4287)."""

from __future__ import annotations

import shutil
from datetime import datetime

import numpy as np
import pytest
from lxml import etree
from sqlalchemy import select

from resilience.early_warning.cap import CAP_NS, validate_cap
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.feed import (
    ATOM_NS,
    FeedError,
    active_alerts,
    agency_messages,
    build_feed,
    cap_info,
    public_messages,
    validate_feed,
)
from resilience.early_warning.lifecycle import issue_alerts
from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import AlertRecord

ISSUED = datetime.fromisoformat("2026-07-20T08:00:00+08:00")
A = {"a": ATOM_NS}
C = {"c": CAP_NS}
_TEMPLATE: dict = {}


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-07-{text}+08:00")


@pytest.fixture
def rain_db(make_forecast, rules, districts, tmp_path, tmp_path_factory):
    """Rainstorm episodes in all 16 districts: Alert blue 08:00, Update yellow 08:00 (for
    14:00), Update blue 16:00 (the downgrade, when it happens), Cancel 03:00 next day; health
    gets none."""
    if not _TEMPLATE:
        ds = make_forecast()
        ds["pr"][:, 5] = np.float32(36.0)
        ds["pr"][:, 6] = np.float32(51.0)
        decisions = [d for d in evaluate_rules(ds, rules, districts) if d.hazard == "rainstorm"]
        folder = tmp_path_factory.mktemp("rain_feed")
        engine = make_engine(f"sqlite:///{folder / 'alerts.db'}")
        issue_alerts(decisions, engine=engine, out_dir=folder / "cap", sender="t@x", now=ISSUED)
        engine.dispose()
        _TEMPLATE["db"] = folder / "alerts.db"
    shutil.copy(_TEMPLATE["db"], tmp_path / "alerts.db")
    return make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")


def test_active_alerts_follow_the_message_schedule(rain_db):
    def current(when):
        return {(m.record.msg_type, m.record.level) for m in active_alerts(rain_db, when)}

    assert current(at("20T07:59:59")) == set()
    # the yellow Update is sent at 08:00 with the Alert (lead time 6 h before 14:00)
    assert current(at("20T08:30:00")) == {("Update", "yellow")}
    assert len(active_alerts(rain_db, at("20T08:30:00"))) == 16
    # 16 messages at 16:00 take two seconds (10 identifiers per second)
    assert current(at("20T16:00:00")) == {("Update", "blue"), ("Update", "yellow")}
    assert current(at("20T16:00:01")) == {("Update", "blue")}
    assert current(at("21T02:59:59")) == {("Update", "blue")}
    assert current(at("21T03:00:01")) == set()  # Cancels sent at the episode's expiry
    with pytest.raises(ValueError, match="timezone-aware"):
        active_alerts(rain_db, datetime(2026, 7, 20, 9))


def test_agency_filter_uses_addressees_of_the_episode(rain_db):
    when = at("20T16:30:00")
    # emergency management receives rainstorms from yellow; it had the yellow Update, so the
    # current blue Update (whose own step goes to blue-level agencies only) is still for it
    for_em = active_alerts(rain_db, when, agency="emergency_management")
    assert len(for_em) == 16 and {m.record.level for m in for_em} == {"blue"}
    assert active_alerts(rain_db, when, agency="health") == []


def _restrict(engine, identifier):
    with session_scope(engine) as session:
        record = session.scalars(
            select(AlertRecord).where(AlertRecord.identifier == identifier)
        ).one()
        xml = record.cap_xml.replace(
            "<scope>Public</scope>",
            "<scope>Restricted</scope>\n  <restriction>addressed agencies only</restriction>",
        )
        validate_cap(xml.encode("utf-8"))  # still valid CAP 1.2
        record.cap_xml = xml


def test_restricted_alerts_are_visible_to_addressees_only(rain_db):
    when = at("20T16:30:00")
    target = active_alerts(rain_db, when)[0]
    _restrict(rain_db, target.record.identifier)
    assert (
        cap_info(
            next(
                m for m in active_alerts(rain_db, when) if m.record.id == target.record.id
            ).record.cap_xml
        )["scope"]
        == "Restricted"
    )
    seen_by_transport = {
        m.record.identifier for m in active_alerts(rain_db, when, viewer="transport")
    }
    seen_by_health = {m.record.identifier for m in active_alerts(rain_db, when, viewer="health")}
    assert target.record.identifier in seen_by_transport
    assert target.record.identifier not in seen_by_health
    assert len(seen_by_health) == 15  # the other 15 districts' alerts stay Public


def test_feed_lists_the_agency_messages_newest_first_and_is_valid_atom(rain_db):
    when = at("20T18:00:00")
    messages = agency_messages(rain_db, "emergency_management", when)
    # EM: the yellow Update (08:00) and the blue Update (16:00) of each district, not the Alert
    assert len(messages) == 32
    assert {m.record.msg_type for m in messages} == {"Update"}
    xml = build_feed(
        "emergency_management", messages, title="EM", base_url="https://api.example", updated=when
    )
    validate_feed(xml)
    root = etree.fromstring(xml)
    entries = root.findall("a:entry", A)
    sent = [e.findtext("a:updated", namespaces=A) for e in entries]
    assert sent == sorted(sent, reverse=True) and sent[0] == "2026-07-20T16:00:01+08:00"
    assert root.findtext("a:updated", namespaces=A) == sent[0]
    assert root.find("a:link[@rel='self']", A).get("href") == (
        "https://api.example/v1/feeds/emergency_management.atom"
    )
    first = entries[0]
    identifier = first.findtext("a:id", namespaces=A).rsplit("/", 1)[1]
    link = first.find("a:link[@rel='alternate']", A)
    assert link.get("type") == "application/cap+xml"
    assert link.get("href") == f"https://api.example/v1/alerts/{identifier}.xml"
    assert first.findtext("a:title", namespaces=A).startswith("上海中心气象台将暴雨黄色预警更新为")
    english = etree.fromstring(
        build_feed("x", messages[:1], title="x", base_url="", updated=when, language="en-US")
    )
    assert "Rainstorm" in english.findtext("a:entry/a:title", namespaces=A)


def test_empty_feed_is_valid_and_dated_by_the_request(rain_db):
    when = at("20T12:00:00")
    assert agency_messages(rain_db, "health", when) == []
    xml = build_feed("health", [], title="health", base_url="", updated=when)
    validate_feed(xml)
    assert etree.fromstring(xml).findtext("a:updated", namespaces=A) == "2026-07-20T12:00:00+08:00"


FEED = """<feed xmlns="http://www.w3.org/2005/Atom">
  <id>tag:example.org,2026:feed</id><title>t</title><updated>2026-07-20T08:00:00Z</updated>
  {author}
  <entry>
    <id>{entry_id}</id><title>e</title><updated>{updated}</updated>
    <link rel="alternate" type="application/cap+xml" href="https://x/1.xml"/>{extra}
  </entry>
</feed>"""


def feed(**parts) -> bytes:
    values = {
        "author": "<author><name>a</name></author>",
        "entry_id": "tag:example.org,2026:e1",
        "updated": "2026-07-20T08:00:00+08:00",
        "extra": "",
    }
    return FEED.format(**(values | parts)).encode()


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"entry_id": "not an iri"}, r"not an absolute IRI \(RFC 4287 4.2.6\)"),
        ({"updated": "2026-07-20t08:00:00z"}, r"expected an RFC 3339 date \(RFC 4287 3.3\)"),
        ({"updated": "2026-07-20 08:00"}, "RFC 3339"),
        ({"author": ""}, r"no atom:author here nor on the feed \(RFC 4287 4.1.1\)"),
        (
            {"extra": '<link rel="alternate" type="application/cap+xml" href="https://x/2"/>'},
            "two alternate links of one type",
        ),
        ({"extra": "<title>again</title>"}, r"atom:entry: expected exactly one atom:title"),
        ({"extra": "<link/>"}, r"atom:link without href"),
    ],
)
def test_validate_feed_rejects_rfc4287_violations(parts, message):
    validate_feed(feed())  # the base document is valid
    with pytest.raises(FeedError, match=message):
        validate_feed(feed(**parts))


def test_validate_feed_rejects_other_roots_and_bad_xml():
    with pytest.raises(FeedError, match="expected root atom:feed"):
        validate_feed(b"<rss version='2.0'/>")
    with pytest.raises(FeedError, match="not well-formed"):
        validate_feed(b"<feed")


def test_public_messages_leave_out_restricted_ones(rain_db):
    when = at("20T18:00:00")
    public = public_messages(rain_db, when)
    assert len(public) == 48  # 16 districts: Alert, yellow Update, blue Update; all Public
    sent = [m.record.sent for m in public]
    assert sent == sorted(sent, reverse=True)
    target = public[0].record
    _restrict(rain_db, target.identifier)
    after = public_messages(rain_db, when)
    assert len(after) == 47 and target.id not in {m.record.id for m in after}
    addressed = agency_messages(rain_db, "emergency_management", when)
    assert target.id in {m.record.id for m in addressed}  # its addressees still get it
    assert public_messages(rain_db, at("20T07:00:00")) == []


def _tree(node):
    return [(e.tag, (e.text or "").strip(), dict(e.attrib)) for e in node.iter()]


def _cap_children(entry):
    return [c for c in entry if etree.QName(c).namespace == CAP_NS]


def test_feed_entries_embed_the_message_and_its_cap_fields(rain_db):
    when = at("20T18:00:00")
    messages = public_messages(rain_db, when)[:2]
    xml = build_feed("public", messages, title="p", base_url="", updated=when, language="en-US")
    validate_feed(xml)
    entries = etree.fromstring(xml).findall("a:entry", A)
    for entry, message in zip(entries, messages, strict=True):
        content = entry.find("a:content", A)
        assert content.get("type") == "application/cap+xml"
        (alert,) = content
        stored = etree.fromstring(message.record.cap_xml.encode("utf-8"))
        assert _tree(alert) == _tree(stored)  # the whole message (prefixes may differ)
        fields = {etree.QName(c).localname: c for c in _cap_children(entry)}
        assert set(fields) >= {"event", "effective", "expires", "status", "msgType", "areaDesc"}
        assert set(fields) >= {"category", "urgency", "severity", "certainty", "polygon"}
        assert fields["event"].text == "Rainstorm" and fields["msgType"].text == "Update"
        assert fields["areaDesc"].text == cap_info(message.record.cap_xml, "en-US")["areaDesc"]
        names = [c.text for c in fields["geocode"]]
        assert names == ["GB/T 2260", message.record.area]
    embedded = build_feed("public", messages, title="p", base_url="", updated=when, cap="embedded")
    validate_feed(embedded)
    for entry in etree.fromstring(embedded).findall("a:entry", A):
        assert _cap_children(entry) == [] and entry.find("a:content/c:alert", A | C) is not None


def test_the_feeds_the_api_and_the_pages_read_an_info_alike():
    from resilience.web.pages import cap_texts

    cap = f"""<alert xmlns="{CAP_NS}"><identifier>x</identifier><scope>Public</scope>
    <status>Actual</status>
    <info><language>zh-CN</language><event>暴雨</event><headline>暴雨黄色预警</headline>
      <area><areaDesc>浦东新区</areaDesc></area><area><areaDesc>闵行区</areaDesc></area></info>
    <info><language>en-US</language><event>Rainstorm</event><headline>Yellow</headline>
      <area><areaDesc>Pudong</areaDesc></area><area><areaDesc>Minhang</areaDesc></area></info>
    </alert>"""
    pages = cap_texts(cap)
    for key, language in (("zh", "zh-CN"), ("en", "en-US")):
        feed = cap_info(cap, language)
        shared = ("event", "headline", "description", "senderName", "areaDesc")
        assert {k: feed[k] for k in shared} == {k: pages[key][k] for k in shared}
    assert pages["zh"]["areaDesc"] == "浦东新区、闵行区"  # every area, not the first one only
    assert cap_info(cap, "en-US")["areaDesc"] == "Pudong; Minhang"
    assert cap_info(cap, "fr-FR")["event"] == "暴雨"  # no info in that language: the first
