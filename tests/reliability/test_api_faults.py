"""Faults of the warnings REST API (issue 13, item 13): times the views cannot look at.

``GET /v1/alerts?at=9999-12-31T23:59:59+00:00`` answered 500 (an ``OverflowError`` when the
view's window was shifted to Beijing time); it must answer 422 naming ``at`` and the range.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from resilience.api.app import create_app, issue_api_key
from resilience.early_warning.feed import active_alerts, agency_messages
from resilience.settings import Settings
from resilience.storage.database import make_engine

AT = "2026-07-20T20:30:00+08:00"

#: Parse as ISO 8601 with an offset, but a view's window (days back, in Beijing time) leaves
#: the years 1-9999; each gave a 500.
OUT_OF_RANGE = [
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59-10:00",  # the year 10000 in UTC
    "9999-12-31T20:00:00+00:00",  # +8 h for Beijing time
    "0001-01-01T00:00:00+00:00",  # the window starts before the year 1
    "0001-01-03T00:00:00+14:00",
]


@pytest.fixture
def api(tmp_path) -> Iterator[tuple[object, dict[str, str]]]:
    """The app on an empty alert database, a transport key, and a TestClient that turns
    server errors into 500 answers (as a real server does) instead of raising them."""
    with warnings.catch_warnings():  # starlette deprecates its httpx-based client; still works
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    key = issue_api_key(tmp_path / "api_keys.toml", "transport")
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'alerts.db'}")
    app = create_app(settings, clock=lambda: datetime.fromisoformat(AT))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {key}"}


@pytest.mark.fault("13.13", "GET /v1/alerts with an out-of-range at gives 500")
@pytest.mark.parametrize("at", OUT_OF_RANGE)
def test_out_of_range_at_is_422_naming_the_range(api, at):
    client, headers = api
    answer = client.get("/v1/alerts", params={"at": at}, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == (
        "at: expected a time between 0002-01-07T00:00:00+00:00 and "
        f"9999-12-30T23:59:59+00:00, found '{datetime.fromisoformat(at).isoformat()}'"
    )
    # the edges of the range itself are answered
    for edge in ("0002-01-07T00:00:00+00:00", "9999-12-30T23:59:59+00:00", AT):
        assert client.get("/v1/alerts", params={"at": edge}, headers=headers).json() == []


@pytest.mark.fault("13.13", "GET /v1/alerts with an unparsable or naive at")
@pytest.mark.parametrize("at", ["yesterday", "", "2026-07-20T12:00:00+25:00", "2026-07-20T12:00"])
def test_unparsable_at_is_422_naming_the_field(api, at):
    client, headers = api
    answer = client.get("/v1/alerts", params={"at": at}, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("at: expected ISO 8601 time with offset, found")
    # a huge value is refused with a bounded message (not echoed whole)
    long = client.get("/v1/alerts", params={"at": "9" * 5000}, headers=headers)
    assert long.status_code == 422 and len(long.json()["detail"]) < 200
    # and the same request at the edge of time now answers 422 rather than 500
    edge = client.get("/v1/alerts", params={"at": OUT_OF_RANGE[0]}, headers=headers)
    assert edge.status_code == 422


@pytest.mark.fault("13.13", "feed views raise OverflowError at the edge of time")
def test_feed_views_refuse_edge_times_with_a_clear_error(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    late, early = datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)
    for view in (active_alerts, lambda e, at: agency_messages(e, "transport", at)):
        for at in (late, early):
            with pytest.raises(ValueError, match=r"^at: expected a time between 0002-01-07"):
                view(engine, at)
        with pytest.raises(ValueError, match="at: expected a timezone-aware datetime"):
            view(engine, datetime(2026, 7, 20))
    assert agency_messages(engine, "transport", datetime.fromisoformat(AT)) == []
