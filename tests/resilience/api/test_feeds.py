"""The Atom feeds as CAP clients read them: the public feed (no key), agency feeds with a key
in a header or the query, ``at`` and ``cap``; parsed by feedparser and capparselib."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta

import feedparser
import pytest
from capparselib.parsers import CAPParser
from lxml import etree
from sqlalchemy import select

from resilience.api.app import create_app, issue_api_key
from resilience.early_warning.cap import CAP_NS
from resilience.early_warning.feed import ATOM_NS, cap_info, validate_feed
from resilience.early_warning.run import run_warnings
from resilience.geodata.geography import open_districts
from resilience.sample.forecast import write_sample_forecast
from resilience.settings import Settings
from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import AlertRecord

#: The sample's typhoon evening (as tests/resilience/api/test_api.py); the app's clock.
AT = "2026-07-20T20:30:00+08:00"
#: Three days on: the substation heat alert (Restricted) has been sent.
LATER = "2026-07-22T12:00:00+08:00"
NS = {"a": ATOM_NS, "cap": CAP_NS}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The sample forecast (with the inventory: Restricted impact alerts too) in a database,
    agency keys for transport and power, and the app with its clock at :data:`AT`."""
    from resilience.sample.inventory import build_inventory

    folder = tmp_path_factory.mktemp("feeds")
    url = f"sqlite:///{folder / 'alerts.db'}"
    run_warnings(
        write_sample_forecast(folder),
        rules_path=None,
        districts=open_districts(),
        database_url=url,
        out_dir=folder / "cap",
        assets=build_inventory(),
    )
    keys_path = folder / "api_keys.toml"
    keys = {a: issue_api_key(keys_path, a) for a in ("transport", "power")}
    app = create_app(
        Settings(data_dir=folder, database_url=url), clock=lambda: datetime.fromisoformat(AT)
    )
    return {"app": app, "keys": keys, "url": url}


@pytest.fixture(scope="module")
def client(service):
    with warnings.catch_warnings():  # starlette deprecates its httpx-based client; still works
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    with TestClient(service["app"]) as test_client:
        yield test_client


def _records(service, until: str) -> list[AlertRecord]:
    """The stored messages sent in the 7 days up to ``until``."""
    end = datetime.fromisoformat(until)
    with session_scope(make_engine(service["url"])) as session:
        rows = list(session.scalars(select(AlertRecord)))
    return [r for r in rows if end - timedelta(days=7) < r.sent.replace(tzinfo=end.tzinfo) <= end]


def _embedded(xml: bytes) -> list[etree._Element]:
    """The CAP ``<alert>`` inside each entry's content."""
    return etree.fromstring(xml).findall("a:entry/a:content/cap:alert", NS)


def test_public_feed_needs_no_key_and_never_shows_restricted(client, service):
    response = client.get("/v1/feeds/public.atom", params={"at": LATER})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml"
    validate_feed(response.content)
    alerts = _embedded(response.content)
    scopes = {a.findtext("cap:scope", namespaces=NS) for a in alerts}
    assert alerts and scopes == {"Public"}
    stored = _records(service, LATER)
    restricted = {r.identifier for r in stored if cap_info(r.cap_xml)["scope"] != "Public"}
    assert restricted  # the substation and metro-entrance alerts exist, but are not listed
    listed = {a.findtext("cap:identifier", namespaces=NS) for a in alerts}
    assert listed == {r.identifier for r in stored} - restricted
    root = etree.fromstring(response.content)
    assert root.find("a:link[@rel='self']", NS).get("href").endswith("/v1/feeds/public.atom")


def test_public_feed_entries_carry_the_cap_fields(client):
    xml = client.get("/v1/feeds/public.atom").content  # the app's clock: AT
    entry = etree.fromstring(xml).find("a:entry", NS)
    alert = entry.find("a:content/cap:alert", NS)
    assert entry.find("a:content", NS).get("type") == "application/cap+xml"
    info = alert.find("cap:info", NS)  # zh-CN, the feed's language
    for field in ("event", "effective", "expires", "urgency", "severity", "certainty"):
        assert entry.findtext(f"cap:{field}", namespaces=NS) == info.findtext(
            f"cap:{field}", namespaces=NS
        )
    for field in ("status", "msgType"):
        assert entry.findtext(f"cap:{field}", namespaces=NS) == alert.findtext(
            f"cap:{field}", namespaces=NS
        )
    assert entry.findtext("cap:areaDesc", namespaces=NS) == info.findtext(
        "cap:area/cap:areaDesc", namespaces=NS
    )
    assert entry.findtext("cap:polygon", namespaces=NS) == info.findtext(
        "cap:area/cap:polygon", namespaces=NS
    )
    codes = entry.find("cap:geocode", NS)
    assert [c.text for c in codes] == [
        "GB/T 2260",
        info.findtext("cap:area/cap:geocode/cap:value", namespaces=NS),
    ]


def _expected(alert: etree._Element) -> tuple[str, str, str]:
    info = alert.find("cap:info", NS)
    return (
        info.findtext("cap:event", namespaces=NS),
        info.findtext("cap:severity", namespaces=NS),
        info.findtext("cap:area/cap:areaDesc", namespaces=NS),
    )


@pytest.mark.parametrize("path", ["/v1/feeds/public.atom", "/v1/feeds/transport.atom"])
def test_feedparser_reads_the_cap_fields_of_each_entry(client, service, path):
    xml = client.get(path, params={"key": service["keys"]["transport"]}).content
    parsed = feedparser.parse(xml)
    assert not parsed.bozo and parsed.entries
    expected = [_expected(a) for a in _embedded(xml)]
    found = [(e["cap_event"], e["cap_severity"], e["cap_areadesc"]) for e in parsed.entries]
    assert found == expected
    for entry in parsed.entries:
        (link,) = [x for x in entry["links"] if x["rel"] == "alternate"]
        assert link["type"] == "application/cap+xml" and link["href"].endswith(".xml")


@pytest.mark.parametrize("path", ["/v1/feeds/public.atom", "/v1/feeds/transport.atom"])
def test_capparselib_reads_every_message_of_the_embedded_profile(client, service, path):
    params = {"cap": "embedded", "key": service["keys"]["transport"]}
    xml = client.get(path, params=params).content
    validate_feed(xml)
    alerts = CAPParser(xml.decode("utf-8")).alert_list
    expected = [_expected(a) for a in _embedded(xml)]
    assert expected and len(alerts) == len(expected)
    found = [
        (
            str(a["cap_info"][0]["cap_event"]),
            str(a["cap_info"][0]["cap_severity"]),
            str(a["cap_info"][0]["cap_area"][0]["area_description"]),
        )
        for a in alerts
    ]
    assert found == expected
    # the full profile has cap: fields under each entry, which capparselib's strict Atom
    # schema refuses (feed_cap's docstring): hence the embedded profile
    with pytest.raises(Exception, match="Error objectifying XML"):
        CAPParser(client.get(path, params={"key": params["key"]}).text)


def test_at_on_feeds_and_bad_values(client, service):
    key = {"key": service["keys"]["transport"]}
    for path in ("/v1/feeds/public.atom", "/v1/feeds/transport.atom"):
        before = client.get(path, params={"at": "2026-07-01T00:00:00+08:00", **key})
        assert before.status_code == 200 and _embedded(before.content) == []
        updated = etree.fromstring(before.content).findtext("a:updated", namespaces=NS)
        assert updated == "2026-07-01T00:00:00+08:00"
        now = _embedded(client.get(path, params=key).content)
        then = _embedded(client.get(path, params={"at": AT, **key}).content)
        assert now and [etree.tostring(a) for a in now] == [etree.tostring(a) for a in then]
        later = _embedded(client.get(path, params={"at": LATER, **key}).content)
        assert len(later) > len(now)
        for bad in ("yesterday", "2026-07-20T12:00", "9999-12-31T23:59:59-10:00"):
            response = client.get(path, params={"at": bad, **key})
            assert response.status_code == 422 and "at: expected" in response.json()["detail"]
        assert client.get(path, params={"cap": "some", **key}).status_code == 422


def test_agency_feed_takes_its_key_in_a_header_or_the_query(client, service):
    transport, power = service["keys"]["transport"], service["keys"]["power"]
    path = "/v1/feeds/transport.atom"
    by_header = client.get(path, headers={"X-API-Key": transport})
    by_query = client.get(path, params={"key": transport})
    assert by_header.status_code == by_query.status_code == 200
    assert by_header.content == by_query.content
    assert client.get(path, params={"key": power}).status_code == 403  # power's key
    assert client.get(path, params={"key": "not-a-key"}).status_code == 401
    assert client.get(path).status_code == 401
    header_wins = client.get(path, params={"key": transport}, headers={"X-API-Key": power})
    assert header_wins.status_code == 403
    # the query key is for feeds only
    assert client.get("/v1/alerts", params={"key": transport}).status_code == 401
