"""The delivery outbox: same-transaction enqueue, addressees, claims, leases, ordering, expiry."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from resilience.early_warning.dispatch import (
    AttemptResult,
    claim_due,
    next_due,
    outbox_counts,
    record_result,
    requeue_failed,
)
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.lifecycle import issue_alerts
from resilience.early_warning.outbox import (
    enqueue_alert,
    enqueue_pending,
    ensure_outbox_tables,
    plan_deliveries,
)
from resilience.storage.atomic import write_bytes_atomic
from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import AlertRecord, DeliveryAttempt, DeliveryRecord, OutboxMessage

ISSUED = datetime.fromisoformat("2026-07-20T08:00:00+08:00")
HUANGPU = "310101"
ALL_AGENCIES = (
    "meteorological_service",
    "water_authority",
    "emergency_management",
    "transport",
    "health",
    "power",
)


_TEMPLATE: dict = {}  # the issued database, built once per module and copied per test


@pytest.fixture
def rain_db(make_forecast, rules, districts, tmp_path, tmp_path_factory):
    """Rainstorm episodes in all 16 districts: Alert blue, Update yellow, Update blue, Cancel."""
    if not _TEMPLATE:
        ds = make_forecast()
        ds["pr"][:, 5] = np.float32(36.0)  # 13:00 blue (1 h >= 35 mm)
        ds["pr"][:, 6] = np.float32(51.0)  # 14:00 yellow (1 h >= 50 mm)
        decisions = [d for d in evaluate_rules(ds, rules, districts) if d.hazard == "rainstorm"]
        folder = tmp_path_factory.mktemp("rain")
        engine = make_engine(f"sqlite:///{folder / 'alerts.db'}")
        ensure_outbox_tables(engine)
        _TEMPLATE["messages"] = issue_alerts(
            decisions, engine=engine, out_dir=folder / "cap", sender="t@x.cn", now=ISSUED
        )
        engine.dispose()
        _TEMPLATE["db"] = folder / "alerts.db"
    shutil.copy(_TEMPLATE["db"], tmp_path / "alerts.db")
    return make_engine(f"sqlite:///{tmp_path / 'alerts.db'}"), _TEMPLATE["messages"]


def _rows(engine, model, *where):
    with session_scope(engine) as session:
        return list(session.scalars(select(model).where(*where)))


def test_enqueue_commits_and_rolls_back_with_the_alert(rain_db, tmp_path):
    """What lifecycle._Batch.store does, with enqueue_alert between flush and file write."""
    engine, _ = rain_db
    (template,) = _rows(
        engine, AlertRecord, AlertRecord.msg_type == "Alert", AlertRecord.area == HUANGPU
    )
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    ensure_outbox_tables(fresh)

    def store(path, *, crash: bool):
        record = AlertRecord(
            **{c: getattr(template, c) for c in AlertRecord.__table__.columns.keys() if c != "id"}
        )
        with session_scope(fresh) as session:
            session.add(record)
            session.flush()
            enqueue_alert(session, record)
            write_bytes_atomic(path, record.cap_xml.encode())
            if crash:
                raise RuntimeError("simulated crash before commit")

    with pytest.raises(RuntimeError, match="simulated crash"):
        store(tmp_path / "a.xml", crash=True)
    assert _rows(fresh, AlertRecord) == [] and _rows(fresh, OutboxMessage) == []
    store(tmp_path / "a.xml", crash=False)
    queued = _rows(fresh, OutboxMessage)
    assert sorted(m.agency for m in queued) == sorted(template.agencies)
    assert {m.identifier for m in queued} == {template.identifier}
    # stored as UTC: 08:00 Beijing is 00:00 UTC
    assert queued[0].due_at.replace(tzinfo=UTC) == ISSUED.astimezone(UTC)


def test_later_messages_reach_every_agency_of_the_episode(rain_db):
    engine, messages = rain_db
    assert enqueue_pending(engine) == 0  # issue_alerts queued every message in its transaction
    huangpu = [m for m in messages if m.area == HUANGPU]
    assert [(m.msg_type, m.level) for m in huangpu] == [
        ("Alert", "blue"),
        ("Update", "yellow"),
        ("Update", "blue"),
        ("Cancel", "blue"),
    ]
    got = {
        m.identifier: {
            r.agency for r in _rows(engine, OutboxMessage, OutboxMessage.identifier == m.identifier)
        }
        for m in huangpu
    }
    # emergency management and power take rainstorms from yellow (min_level), so they miss the
    # blue Alert but, having had the yellow Update, also get the downgrade and the all-clear
    for late in ("emergency_management", "power"):
        assert [late in got[m.identifier] for m in huangpu] == [False, True, True, True]
    assert all("health" not in names for names in got.values())  # not a rainstorm agency


def test_enqueue_pending_is_idempotent(rain_db):
    engine, messages = rain_db
    with session_scope(engine) as session:
        first = session.scalar(select(func.count()).select_from(OutboxMessage))
    assert first > 0  # queued by issue_alerts, in the alert's own transaction
    assert enqueue_pending(engine) == 0
    with session_scope(engine) as session:
        session.execute(OutboxMessage.__table__.delete())
    assert enqueue_pending(engine) == first  # the sweep rebuilds a lost outbox exactly once
    assert enqueue_pending(engine) == 0
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == first
        pairs = session.execute(select(OutboxMessage.identifier, OutboxMessage.agency)).all()
    assert len(set(pairs)) == len(pairs)
    assert {p[0] for p in pairs} == {m.identifier for m in messages}


def _plan(engine, agencies=ALL_AGENCIES):
    enqueue_pending(engine)
    return plan_deliveries(engine, {a: [("webhook", f"http://127.0.0.1:9/{a}")] for a in agencies})


def test_plan_only_configured_agencies_then_later_ones(rain_db):
    engine, _ = rain_db
    created = _plan(engine, ("transport",))
    with session_scope(engine) as session:
        transport_rows = session.scalar(
            select(func.count()).where(OutboxMessage.agency == "transport")
        )
    assert created == transport_rows
    assert outbox_counts(engine)["unplanned"] > 0  # other agencies wait for a configuration
    assert _plan(engine, ("transport",)) == 0  # planned once only
    assert _plan(engine) > 0
    assert outbox_counts(engine)["unplanned"] == 0


def test_claim_respects_due_time_order_and_lease(rain_db):
    engine, _ = rain_db
    _plan(engine, ("transport",))
    now = datetime.fromisoformat("2026-07-20T08:30:00+08:00")
    jobs = claim_due(engine, now=now, limit=1000, lease_s=60)
    kinds = {}
    for job in jobs:
        (record,) = _rows(engine, AlertRecord, AlertRecord.identifier == job.identifier)
        kinds.setdefault(record.area, []).append(record.msg_type)
    # the Alert is due; the yellow Update (same second) waits for it; 10:00 and Cancel are future
    assert set(map(tuple, kinds.values())) == {("Alert",)}
    assert len(kinds) == 16 and all(j.attempt == 1 for j in jobs)
    assert claim_due(engine, now=now, limit=1000) == []  # leased
    # the lease runs out without a result (a dead worker): the delivery is taken again
    again = claim_due(engine, now=now + timedelta(seconds=61), limit=1000)
    assert sorted(j.delivery_id for j in again) == sorted(j.delivery_id for j in jobs)
    assert {j.attempt for j in again} == {2}
    outcomes = [a.outcome for a in _rows(engine, DeliveryAttempt)]
    assert outcomes.count("abandoned") == 16 and outcomes.count("in_flight") == 16


def test_update_follows_once_the_alert_is_delivered(rain_db):
    engine, _ = rain_db
    _plan(engine, ("transport",))
    now = datetime.fromisoformat("2026-07-20T08:30:00+08:00")
    for job in claim_due(engine, now=now, limit=1000):
        record_result(engine, job, AttemptResult("delivered", 200), now=now)
    second = claim_due(engine, now=now, limit=1000)
    types = {
        _rows(engine, AlertRecord, AlertRecord.identifier == j.identifier)[0].msg_type
        for j in second
    }
    assert types == {"Update"} and len(second) == 16


def test_retry_failure_requeue_and_expiry(rain_db):
    engine, _ = rain_db
    _plan(engine, ("transport",))
    now = datetime.fromisoformat("2026-07-20T08:30:00+08:00")
    jobs = claim_due(engine, now=now, limit=2)
    retry_at = now + timedelta(minutes=5)
    record_result(engine, jobs[0], AttemptResult("retry", 503, "busy", 3.0, retry_at), now=now)
    record_result(engine, jobs[1], AttemptResult("failed", 400, "bad request"), now=now)
    first, second = (
        _rows(engine, DeliveryRecord, DeliveryRecord.id == j.delivery_id)[0] for j in jobs
    )
    assert (first.state, first.last_status, first.lease_until) == ("pending", 503, None)
    assert first.next_attempt_at.replace(tzinfo=UTC) == retry_at.astimezone(UTC)
    assert second.state == "failed"
    assert next_due(engine) == ISSUED.astimezone(UTC)  # the other Alerts, due since 08:00
    with pytest.raises(ValueError, match="needs retry_at"):
        record_result(engine, jobs[0], AttemptResult("retry", 503))
    assert requeue_failed(engine, agency="water_authority") == 0
    assert requeue_failed(engine, agency="transport", now=now) == 1
    # a day later every Alert and Update has expired (episode ends 03:00 on 21 July)
    late = datetime.fromisoformat("2026-07-21T03:30:00+08:00")
    late_jobs = claim_due(engine, now=late, limit=1000)
    late_types = {
        _rows(engine, AlertRecord, AlertRecord.identifier == j.identifier)[0].msg_type
        for j in late_jobs
    }
    assert late_types == {"Cancel"}
    counts = outbox_counts(engine)
    assert counts["expired"] == 16 * 3 and counts["pending"] == 16
