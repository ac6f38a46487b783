"""The warnings REST API: keys, active alerts, CAP messages, feeds; one real uvicorn server."""

from __future__ import annotations

import socket
import stat
import threading
import time
import warnings
from datetime import datetime

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from resilience.api.app import (
    ApiKeyError,
    create_app,
    hash_api_key,
    issue_api_key,
    load_api_keys,
)
from resilience.early_warning.cap import validate_cap
from resilience.early_warning.feed import validate_feed
from resilience.early_warning.run import run_warnings
from resilience.geodata.geography import open_districts
from resilience.sample.forecast import write_sample_forecast
from resilience.settings import Settings
from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import AlertRecord

#: The sample's typhoon evening (docs/warnings.md): rain, typhoon, tide and waterlogging alerts
#: in force, and the heat-wave alerts already announced for the next two days.
AT = "2026-07-20T20:30:00+08:00"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The sample forecast issued into a database (with the real inventory, so the Restricted
    substation alert is there too), keys for four agencies, and the app."""
    from resilience.sample.inventory import build_inventory

    folder = tmp_path_factory.mktemp("api")
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
    agencies = ("transport", "health", "water_authority", "power")
    keys = {a: issue_api_key(keys_path, a) for a in agencies}
    settings = Settings(data_dir=folder, database_url=url)
    app = create_app(settings, clock=lambda: datetime.fromisoformat(AT))
    return {"app": app, "keys": keys, "url": url, "keys_path": keys_path}


@pytest.fixture(scope="module")
def client(service):
    with warnings.catch_warnings():  # starlette deprecates its httpx-based client; still works
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    with TestClient(service["app"]) as test_client:
        yield test_client


def auth(service, agency):
    return {"Authorization": f"Bearer {service['keys'][agency]}"}


def test_keys_file_holds_hashes_only(service):
    text = service["keys_path"].read_text()
    for agency, key in service["keys"].items():
        assert key not in text and hash_api_key(key) in text
        assert load_api_keys(service["keys_path"])[hash_api_key(key)] == agency
    assert stat.S_IMODE(service["keys_path"].stat().st_mode) == 0o600
    assert len(service["keys"]["transport"]) >= 43  # 32 random bytes, base64url


def test_bad_keys_file_is_named(tmp_path):
    path = tmp_path / "keys.toml"
    path.write_text('[[keys]]\nagency = "transport"\nsha256 = "abc"\n')
    with pytest.raises(ApiKeyError, match=r"keys.toml: keys entry 1: expected agency and a 64"):
        load_api_keys(path)
    assert load_api_keys(tmp_path / "absent.toml") == {}


def test_health_needs_no_key(client):
    assert client.get("/v1/health").json() == {"status": "ok"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"X-API-Key": "nope"}, {"Authorization": "Basic x"}],
)
def test_missing_or_unknown_key_is_401(client, headers):
    response = client.get("/v1/alerts", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_active_alerts_now_and_by_agency(client, service):
    everything = client.get("/v1/alerts", headers=auth(service, "transport"))
    assert everything.status_code == 200
    alerts = everything.json()
    assert {a["hazard"] for a in alerts} == {
        "rainstorm",
        "typhoon",
        "huangpu_high_tide",
        "waterlogging",
        "high_temperature",  # announced at 08:00 for the 21st (urgency Future)
    }
    assert all(a["sent"] <= AT < a["expires"] and a["msg_type"] != "Cancel" for a in alerts)
    pairs = [(a["hazard"], a["area_code"]) for a in alerts]
    assert len(set(pairs)) == len(pairs)  # one message per episode, the one in force
    # Pudong's rainstorm: the orange Update (sent 14:00) is in force at 20:30
    (pudong,) = [a for a in alerts if a["hazard"] == "rainstorm" and a["area_code"] == "310115"]
    assert (pudong["msg_type"], pudong["level"]) == ("Update", "orange")
    first = alerts[0]
    assert first["cap_url"] == f"http://testserver/v1/alerts/{first['identifier']}.xml"
    assert first["headline_zh"].startswith("上海") and first["area_name_en"]
    mine = client.get("/v1/alerts", params={"agency": "health"}, headers=auth(service, "transport"))
    assert {a["hazard"] for a in mine.json()} == {"high_temperature"}  # health: heat only
    water = client.get(
        "/v1/alerts",
        params={"agency": "water_authority"},
        headers={"X-API-Key": service["keys"]["transport"]},
    ).json()
    assert water and all("water_authority" in a["addressees"] for a in water)
    tide = client.get(
        "/v1/alerts", params={"hazard": "huangpu_high_tide"}, headers=auth(service, "health")
    ).json()
    assert {a["level"] for a in tide} == {"yellow"}


def test_time_travel_and_bad_values(client, service):
    heat = client.get(
        "/v1/alerts", params={"at": "2026-07-20T12:00:00+08:00"}, headers=auth(service, "health")
    ).json()
    assert {a["hazard"] for a in heat} >= {"high_temperature"}
    bad = client.get("/v1/alerts", params={"at": "yesterday"}, headers=auth(service, "health"))
    assert bad.status_code == 422 and "ISO 8601" in bad.json()["detail"]
    naive = client.get(
        "/v1/alerts", params={"at": "2026-07-20T12:00"}, headers=auth(service, "health")
    )
    assert naive.status_code == 422
    unknown = client.get("/v1/alerts", params={"agency": "police"}, headers=auth(service, "health"))
    assert unknown.status_code == 404


def test_cap_message_by_identifier(client, service):
    alert = client.get("/v1/alerts", headers=auth(service, "transport")).json()[0]
    response = client.get(f"/v1/alerts/{alert['identifier']}.xml", headers=auth(service, "health"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/cap+xml"
    validate_cap(response.content)
    assert alert["identifier"].encode() in response.content
    missing = client.get(
        "/v1/alerts/31000036400000_20990101000000_0.xml", headers=auth(service, "health")
    )
    assert missing.status_code == 404
    assert client.get(f"/v1/alerts/{alert['identifier']}.xml").status_code == 401


def test_restricted_alert_reaches_only_its_agencies(client, service):
    tide = client.get(
        "/v1/alerts",
        params={"hazard": "huangpu_high_tide"},
        headers=auth(service, "water_authority"),
    ).json()[0]
    assert "water_authority" in tide["addressees"] and "health" not in tide["addressees"]
    engine = make_engine(service["url"])
    with session_scope(engine) as session:
        record = session.scalars(
            select(AlertRecord).where(AlertRecord.identifier == tide["identifier"])
        ).one()
        original = record.cap_xml
        record.cap_xml = original.replace(
            "<scope>Public</scope>",
            "<scope>Restricted</scope>\n  <restriction>agencies</restriction>",
        )
        validate_cap(record.cap_xml.encode())
    try:
        path = f"/v1/alerts/{tide['identifier']}.xml"
        assert client.get(path, headers=auth(service, "water_authority")).status_code == 200
        assert client.get(path, headers=auth(service, "health")).status_code == 404  # hidden
        listed = client.get("/v1/alerts", headers=auth(service, "health")).json()
        assert tide["identifier"] not in {a["identifier"] for a in listed}
        listed = client.get("/v1/alerts", headers=auth(service, "transport")).json()
        restricted = [a for a in listed if a["identifier"] == tide["identifier"]]
        assert [a["scope"] for a in restricted] == ["Restricted"]  # transport is an addressee
    finally:
        with session_scope(engine) as session:
            session.scalars(
                select(AlertRecord).where(AlertRecord.identifier == tide["identifier"])
            ).one().cap_xml = original


def test_restricted_impact_alert_reaches_only_its_agencies(client, service):
    """The substation heat alert (Jing'an, 22 July) is Restricted by its rule: power and
    emergency management get it, and so do transport and health, which run the metro
    stations and hospitals Shibo feeds (docs/warnings.md, "Downstream assets"); the water
    authority neither lists nor fetches it."""
    when = {"at": "2026-07-22T12:00:00+08:00", "hazard": "substation_heat"}
    (alert,) = client.get("/v1/alerts", params=when, headers=auth(service, "power")).json()
    assert alert["scope"] == "Restricted" and alert["area_code"] == "310106"
    assert set(alert["addressees"]) == {
        "meteorological_service", "power", "emergency_management", "transport", "health",
    }  # fmt: skip
    path = f"/v1/alerts/{alert['identifier']}.xml"
    for addressed in ("power", "transport", "health"):
        assert client.get(path, headers=auth(service, addressed)).status_code == 200
    for other in ("water_authority",):
        assert client.get("/v1/alerts", params=when, headers=auth(service, other)).json() == []
        assert client.get(path, headers=auth(service, other)).status_code == 404


def test_feed_of_own_agency_only(client, service):
    response = client.get("/v1/feeds/transport.atom", headers=auth(service, "transport"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml"
    validate_feed(response.content)
    assert b"<entry>" in response.content and b"transport.atom" in response.content
    assert (
        client.get("/v1/feeds/transport.atom", headers=auth(service, "health")).status_code == 403
    )
    assert client.get("/v1/feeds/police.atom", headers=auth(service, "health")).status_code == 404
    assert client.get("/v1/feeds/transport.atom").status_code == 401


def test_real_server_on_loopback(service, client):
    """The same app under uvicorn on 127.0.0.1, spoken to over a real socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(service["app"], log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as http:
            live = http.get("/v1/alerts", headers=auth(service, "transport"))
            assert live.status_code == 200
            assert http.get("/v1/alerts").status_code == 401
            feed = http.get("/v1/feeds/transport.atom", headers=auth(service, "transport"))
        expected = client.get("/v1/alerts", headers=auth(service, "transport")).json()
        assert [a["identifier"] for a in live.json()] == [a["identifier"] for a in expected]
        assert live.json()[0]["cap_url"].startswith(base)  # links follow the request's host
        validate_feed(feed.content)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
