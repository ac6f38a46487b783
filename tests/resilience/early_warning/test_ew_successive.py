"""Send schedule, expiry, and successive forecasts: continue, cancel, withdraw, never twice.

Forecasts are quiet except for the rain or wind written into them (one member, so
probabilities are 0 or 1); each test follows one alert of Huangpu district (310101): the
rainstorm (6-h lead time, 1-h hold) or the gale (mean wind >= 10.8 m/s is blue; 24-h lead).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from sqlalchemy import func, select

from resilience.early_warning.engine import evaluate_rules, rule_scopes
from resilience.early_warning.feed import active_alerts
from resilience.early_warning.lifecycle import issue_alerts
from resilience.early_warning.outbox import episode_of
from resilience.early_warning.supersede import WithdrawnAlert
from resilience.early_warning.verify import warned_spans
from resilience.early_warning.verify_inputs import alerts_from_records
from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import AlertRecord, OutboxMessage

HUANGPU = "310101"


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-07-{text}+08:00")


@pytest.fixture
def engine(tmp_path):
    return make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")


@pytest.fixture
def issue(rules, districts, engine, tmp_path):
    """Issue a forecast's Huangpu rainstorm messages at the forecast's own issue time."""

    def run(ds, hazard="rainstorm"):
        def here(items):
            return [x for x in items if x.hazard == hazard and x.area.code == HUANGPU]

        return issue_alerts(
            here(evaluate_rules(ds, rules, districts)),
            engine=engine,
            out_dir=tmp_path / "cap",
            sender="t@x.cn",
            now=datetime.fromisoformat(ds.attrs["issued"]),
            scopes=here(rule_scopes(ds, rules, districts)),
        )

    return run


def _stored(engine):
    with session_scope(engine) as session:
        return list(session.scalars(select(AlertRecord).order_by(AlertRecord.sent, AlertRecord.id)))


def _rain(ds, start: str, values: list[float]):
    """Put hourly rain (mm) into the hours from ``start`` (Beijing "DDTHH:MM") on."""
    first = int((at(f"{start}:00") - datetime.fromisoformat(ds.attrs["issued"])).total_seconds())
    first //= 3600
    ds["pr"][:, first : first + len(values)] = np.asarray(values, dtype="float32")[
        None, :, None, None
    ]
    return ds


def test_alert_goes_out_the_lead_time_before_onset(make_forecast, issue, engine):
    messages = issue(_rain(make_forecast(hours=30), "21T04:00", [36.0]))
    alert, cancel = messages
    assert (alert.msg_type, alert.onset) == ("Alert", at("21T04:00:00"))
    assert alert.sent == at("20T22:00:00")  # 6 h ahead ("expected within 6 h"), not at issue
    assert cancel.msg_type == "Cancel" and cancel.sent == alert.expires


def _wind(ds, start: str, hours: int):
    first = int((at(f"{start}:00") - datetime.fromisoformat(ds.attrs["issued"])).total_seconds())
    ds["sfcWind"][:, first // 3600 : first // 3600 + hours] = np.float32(11.0)  # Beaufort 6
    return ds


def test_episode_at_the_forecast_end_expires_without_cancel(make_forecast, issue, engine):
    first = issue(_wind(make_forecast(hours=24), "21T07:00", 1), "gale")  # the last hour
    assert [(m.msg_type, m.level) for m in first] == [("Alert", "blue")]  # no all-clear
    (alert,) = first
    assert alert.expires == at("21T09:00:00")  # end of the last hour + the 1-h hold
    assert [m.record.identifier for m in active_alerts(engine, at("21T08:59:00"))] == [
        alert.identifier
    ]
    assert active_alerts(engine, at("21T09:00:01")) == []  # it ran out: expiry
    (span,) = warned_spans(alerts_from_records(_stored(engine)))
    assert (span.start, span.end) == (at("21T07:00:00"), at("21T09:00:00"))
    # the next forecast (06:00) sees the gale go on until 10:00: it continues the same alert
    later = make_forecast(hours=24, issued="2026-07-21T06:00:00+08:00")
    second = issue(_wind(later, "21T07:00", 3), "gale")
    assert [(m.msg_type, m.sent) for m in second] == [
        ("Update", at("21T06:00:00")),  # same level from the same hour, new expiry: at once
        ("Cancel", at("21T11:00:00")),
    ]
    assert second[0].references == f"t@x.cn,{alert.identifier},2026-07-20T08:00:00+08:00"
    assert second[0].expires == at("21T11:00:00")
    assert {episode_of(m.alert_key) for m in first + second} == {episode_of(alert.alert_key)}


@pytest.fixture
def first_forecast(make_forecast, issue):
    """08:00: blue 13:00 (1 h >= 35 mm), yellow 14:00 (1 h >= 50 mm), then blue to 03:00."""
    return issue(_rain(make_forecast(hours=24), "20T13:00", [36.0, 51.0]))


def test_first_forecast_schedule(first_forecast):
    assert [(m.msg_type, m.level, m.sent.hour) for m in first_forecast] == [
        ("Alert", "blue", 8),  # 13:00 - 6 h lead, but not before the forecast
        ("Update", "yellow", 8),  # 14:00 - 6 h: an upgrade is announced ahead
        ("Update", "blue", 16),  # a downgrade goes out when it happens
        ("Cancel", "blue", 3),  # at the expiry
    ]


def test_newer_forecast_continues_the_alert_in_force(
    first_forecast, make_forecast, issue, engine, tmp_path
):
    alert, yellow, later_blue, cancel = first_forecast
    newer = make_forecast(hours=24, issued="2026-07-20T09:00:00+08:00")
    second = issue(_rain(newer, "20T13:00", [36.0, 51.0, 60.0]))  # 3 h: 147 mm, red at 15:00
    withdrawn = [m for m in second if m.withdrawn]
    assert {m.identifier for m in withdrawn} == {later_blue.identifier, cancel.identifier}
    issued = [m for m in second if not m.withdrawn]
    assert [(m.msg_type, m.level) for m in issued][0] == ("Update", "red")
    assert issued[0].sent == at("20T09:00:00")  # red from 15:00 is within the 6-h lead
    assert issued[0].references == f"t@x.cn,{yellow.identifier},2026-07-20T08:00:00+08:00"
    assert issued[-1].msg_type == "Cancel"
    for before, message in zip(issued, issued[1:], strict=False):
        assert message.references.split(",")[1] == before.identifier  # one unbroken chain
    stored = _stored(engine)
    assert [r.msg_type for r in stored].count("Alert") == 1  # never a second Alert
    assert {episode_of(r.alert_key) for r in stored} == {episode_of(alert.alert_key)}
    with session_scope(engine) as session:
        audit = session.scalars(select(WithdrawnAlert.identifier)).all()
        queued = set(session.scalars(select(OutboxMessage.identifier)))
    assert sorted(audit) == sorted(m.identifier for m in withdrawn)
    assert not queued & set(audit)  # withdrawn messages leave the outbox
    assert (tmp_path / "cap" / "withdrawn" / f"{cancel.identifier}.xml").is_file()
    assert not (tmp_path / "cap" / f"{cancel.identifier}.xml").exists()
    # re-running either forecast changes nothing (the older one is stale here)
    assert not any(m.new or m.withdrawn for m in issue(newer))
    old = _rain(make_forecast(hours=24), "20T13:00", [36.0, 51.0])
    assert not any(m.new or m.withdrawn for m in issue(old))
    assert len(_stored(engine)) == len(stored)


def test_newer_quiet_forecast_cancels_the_alert_now(first_forecast, make_forecast, issue, engine):
    alert, yellow, _, _ = first_forecast
    second = issue(make_forecast(hours=24, issued="2026-07-20T09:00:00+08:00"))
    assert sum(m.withdrawn for m in second) == 2
    (cancel,) = [m for m in second if not m.withdrawn]
    assert (cancel.msg_type, cancel.sent) == ("Cancel", at("20T09:00:00"))
    assert cancel.references.split(",")[1] == yellow.identifier
    assert episode_of(cancel.alert_key) == episode_of(alert.alert_key)
    assert active_alerts(engine, at("20T09:00:01")) == []
    assert active_alerts(engine, at("20T08:59:59"))[0].record.identifier == yellow.identifier


def test_a_later_separate_episode_cancels_the_one_in_force_first(
    first_forecast, make_forecast, issue, engine
):
    """At 09:00 the new forecast is dry until a shower at 22:00 (after the alert in force
    would have expired): the alert is lifted now, and the shower is a new episode."""
    _, yellow, _, _ = first_forecast
    newer = make_forecast(hours=24, issued="2026-07-20T09:00:00+08:00")
    second = [m for m in issue(_rain(newer, "21T04:00", [36.0])) if not m.withdrawn]
    assert [(m.msg_type, m.sent) for m in second] == [
        ("Cancel", at("20T09:00:00")),
        ("Alert", at("20T22:00:00")),
        ("Cancel", at("21T06:00:00")),
    ]
    assert second[0].references.split(",")[1] == yellow.identifier
    assert second[1].references == "" and episode_of(second[1].alert_key) != episode_of(
        yellow.alert_key
    )


def test_an_alert_not_yet_sent_is_replaced_not_repeated(make_forecast, issue, engine, tmp_path):
    first = issue(_rain(make_forecast(hours=24), "21T02:00", [36.0]))  # Alert due 20:00
    second = issue(
        _rain(make_forecast(hours=24, issued="2026-07-20T12:00:00+08:00"), "21T03:00", [36.0])
    )
    assert {m.identifier for m in second if m.withdrawn} == {m.identifier for m in first}
    new = [m for m in second if not m.withdrawn]
    assert [(m.msg_type, m.sent) for m in new] == [
        ("Alert", at("20T21:00:00")),
        ("Cancel", at("21T05:00:00")),
    ]
    assert new[0].references == ""  # a fresh episode: nothing of the first was ever sent
    with session_scope(engine) as session:
        alerts = session.scalar(select(func.count()).where(AlertRecord.msg_type == "Alert"))
    assert alerts == 1
    # identifiers are never reused, even those of withdrawn messages
    assert not {m.identifier for m in new} & {m.identifier for m in first}


def test_a_message_a_worker_already_tried_is_not_withdrawn(
    first_forecast, make_forecast, issue, engine
):
    from resilience.early_warning.dispatch import AttemptResult, claim_due, record_result
    from resilience.early_warning.outbox import plan_deliveries

    _, _, later_blue, _ = first_forecast
    plan_deliveries(engine, {"transport": [("webhook", "http://127.0.0.1:9/x")]})
    # a worker on a clock running ahead delivers the 08:00 messages and starts the 16:00 one
    claimed: set[str] = set()
    for _ in range(3):  # Alert, then the yellow Update, then the blue Update
        for job in claim_due(engine, now=at("20T16:30:00"), limit=100):
            claimed.add(job.identifier)
            if job.identifier != later_blue.identifier:
                record_result(engine, job, AttemptResult("delivered", 200), now=at("20T16:30:00"))
    assert later_blue.identifier in claimed
    second = issue(make_forecast(hours=24, issued="2026-07-20T09:00:00+08:00"))
    assert later_blue.identifier not in {m.identifier for m in second if m.withdrawn}
    assert later_blue.identifier in {r.identifier for r in _stored(engine)}
