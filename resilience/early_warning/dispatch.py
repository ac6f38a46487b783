"""Dispatch of the outbox: lease due deliveries, record attempts, retry, requeue, count.

Workers (:mod:`resilience.early_warning.delivery`) call :func:`claim_due` to lease the
deliveries that are due, send them, and :func:`record_results` to store each attempt's
outcome. A lease (``lease_s``) lets several workers share one database: a worker that dies
leaves its leases to run out, and the next claim marks its open attempts ``abandoned``. The
tables are defined in :mod:`resilience.early_warning.outbox`; times are stored in UTC.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import Exists

from resilience.early_warning.delivery_config import redact_url
from resilience.early_warning.outbox import Channel, Outcome, utc, utcnow
from resilience.storage.database import session_scope
from resilience.storage.tables import AlertRecord, DeliveryAttempt, DeliveryRecord, OutboxMessage

__all__ = [
    "AttemptResult",
    "DeliveryJob",
    "claim_due",
    "next_due",
    "outbox_counts",
    "record_result",
    "record_results",
    "redact_stored_targets",
    "release_jobs",
    "requeue_failed",
]


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed delivery: what to send, where, and which attempt this is."""

    delivery_id: int
    attempt_id: int
    attempt: int
    channel: Channel
    target: str
    agency: str
    identifier: str
    cap_xml: bytes


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt did; ``retry_at`` is required when ``outcome`` is ``retry``."""

    outcome: Outcome
    http_status: int | None = None
    error: str = ""
    duration_ms: float | None = None
    retry_at: datetime | None = None


def _expire_overdue(session: Session, now: datetime) -> None:
    overdue = select(OutboxMessage.id).where(OutboxMessage.expires <= now)
    session.execute(
        update(DeliveryRecord)
        .where(DeliveryRecord.state == "pending", DeliveryRecord.outbox_id.in_(overdue))
        .values(state="expired", last_error="CAP expires passed before delivery")
    )


def _blocked() -> Exists:
    """Whether an earlier message of the same episode to the same agency and channel waits."""
    earlier_delivery, earlier_message = aliased(DeliveryRecord), aliased(OutboxMessage)
    return (
        exists()
        .where(earlier_delivery.outbox_id == earlier_message.id)
        .where(earlier_delivery.channel == DeliveryRecord.channel)
        .where(earlier_delivery.state == "pending")
        .where(earlier_message.episode == OutboxMessage.episode)
        .where(earlier_message.agency == OutboxMessage.agency)
        .where(
            or_(
                earlier_message.due_at < OutboxMessage.due_at,
                and_(
                    earlier_message.due_at == OutboxMessage.due_at,
                    earlier_message.id < OutboxMessage.id,
                ),
            )
        )
    )


def _candidates(session: Session, now: datetime, limit: int) -> list[int]:
    """Ids of due, unleased deliveries with no earlier message (episode, agency, channel) due."""
    query = (
        select(DeliveryRecord.id)
        .join(OutboxMessage, OutboxMessage.id == DeliveryRecord.outbox_id)
        .where(DeliveryRecord.state == "pending", DeliveryRecord.next_attempt_at <= now)
        .where(or_(DeliveryRecord.lease_until.is_(None), DeliveryRecord.lease_until < now))
        .where(~_blocked())
        .order_by(DeliveryRecord.next_attempt_at, DeliveryRecord.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _take(session: Session, ids: list[int], now: datetime, worker: str, lease_s: float) -> list:
    """Lease deliveries with one conditional UPDATE (two workers never both take one)."""
    session.execute(
        update(DeliveryRecord)
        .where(DeliveryRecord.id.in_(ids), DeliveryRecord.state == "pending")
        .where(or_(DeliveryRecord.lease_until.is_(None), DeliveryRecord.lease_until < now))
        .values(
            lease_owner=worker,
            lease_until=now + timedelta(seconds=lease_s),
            attempts=DeliveryRecord.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(  # attempts a dead worker left open
        update(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(ids), DeliveryAttempt.outcome == "in_flight")
        .values(outcome="abandoned", error="worker stopped before recording a result")
        .execution_options(synchronize_session=False)
    )
    query = (
        select(DeliveryRecord, OutboxMessage.agency, OutboxMessage.identifier, AlertRecord.cap_xml)
        .join(OutboxMessage, OutboxMessage.id == DeliveryRecord.outbox_id)
        .join(AlertRecord, AlertRecord.id == OutboxMessage.alert_id)
        .where(DeliveryRecord.id.in_(ids), DeliveryRecord.lease_owner == worker)
        .order_by(DeliveryRecord.next_attempt_at, DeliveryRecord.id)
    )
    return [tuple(row) for row in session.execute(query)]


def claim_due(
    engine: Engine, *, now: datetime, limit: int = 100, lease_s: float = 120.0
) -> list[DeliveryJob]:
    """Lease the deliveries that are due, oldest first, and open an attempt row for each.

    Pending deliveries whose message has expired are marked ``expired`` first. A delivery waits
    while an earlier message of the same episode to the same agency and channel is pending, so
    an agency never receives an Update before its Alert. An attempt left ``in_flight`` by a
    worker that died is marked ``abandoned`` when its delivery is leased again.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Database with the outbox tables.
    now : datetime
        Current time (timezone-aware).
    limit : int
        Most deliveries to lease.
    lease_s : float
        Seconds the lease lasts; after that another worker may take the delivery again (s).

    Returns
    -------
    list of DeliveryJob
    """
    now, worker = utc(now), uuid.uuid4().hex[:12]
    with session_scope(engine) as session:
        _expire_overdue(session, now)
        taken = _take(session, _candidates(session, now, limit), now, worker, lease_s)
        attempts = [
            DeliveryAttempt(delivery_id=d.id, number=d.attempts, worker=worker, started=now)
            for d, *_ in taken
        ]
        session.add_all(attempts)
        session.flush()
        return [
            DeliveryJob(
                delivery_id=delivery.id,
                attempt_id=attempt.id,
                attempt=delivery.attempts,
                channel=delivery.channel,  # type: ignore[arg-type]  # stored from Channel
                target=delivery.target,
                agency=agency,
                identifier=identifier,
                cap_xml=cap_xml.encode("utf-8"),
            )
            for (delivery, agency, identifier, cap_xml), attempt in zip(
                taken, attempts, strict=True
            )
        ]


def record_results(
    engine: Engine,
    results: Sequence[tuple[DeliveryJob, AttemptResult]],
    *,
    now: datetime | None = None,
) -> None:
    """Record the results of attempts on their delivery and attempt rows, in one transaction.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Database with the outbox tables.
    results : sequence of (DeliveryJob, AttemptResult)
        ``delivered`` ends a delivery; ``retry`` schedules it at ``retry_at``; ``failed``
        ends it for good (see :func:`requeue_failed`).
    now : datetime, optional
        End time of the attempts; default the current time.
    """
    now = utc(now or utcnow())
    if any(r.outcome == "retry" and r.retry_at is None for _, r in results):
        raise ValueError("AttemptResult: outcome 'retry' needs retry_at")
    with session_scope(engine) as session:
        ids = [job.delivery_id for job, _ in results]
        deliveries = {
            d.id: d
            for d in session.scalars(select(DeliveryRecord).where(DeliveryRecord.id.in_(ids)))
        }
        attempt_ids = [job.attempt_id for job, _ in results]
        attempts = {
            a.id: a
            for a in session.scalars(
                select(DeliveryAttempt).where(DeliveryAttempt.id.in_(attempt_ids))
            )
        }
        for job, result in results:
            delivery, attempt = deliveries.get(job.delivery_id), attempts.get(job.attempt_id)
            if delivery is None or attempt is None:
                raise LookupError(f"delivery {job.delivery_id}: not in the outbox")
            _apply(delivery, attempt, result, now)


def _apply(
    delivery: DeliveryRecord, attempt: DeliveryAttempt, result: AttemptResult, now: datetime
) -> None:
    attempt.finished, attempt.outcome = now, result.outcome
    attempt.http_status, attempt.error = result.http_status, result.error
    attempt.duration_ms = result.duration_ms
    delivery.lease_until, delivery.lease_owner = None, None
    delivery.last_status, delivery.last_error = result.http_status, result.error
    if result.outcome == "delivered":
        delivery.state, delivery.delivered_at = "delivered", now
    elif result.outcome == "failed":
        delivery.state = "failed"
    else:
        delivery.next_attempt_at = utc(result.retry_at)  # type: ignore[arg-type]


def record_result(
    engine: Engine, job: DeliveryJob, result: AttemptResult, *, now: datetime | None = None
) -> None:
    """Record one attempt's result (see :func:`record_results`)."""
    record_results(engine, [(job, result)], now=now)


def release_jobs(engine: Engine, jobs: Sequence[DeliveryJob]) -> int:
    """Give back leased deliveries that were never sent (a worker stopping), in one transaction.

    Each delivery's lease is freed, its attempt count is restored and the attempt row opened
    by :func:`claim_due` is deleted, as if the delivery had never been claimed: the next pass
    takes it at once.

    Returns
    -------
    int
        Number of deliveries released.
    """
    if not jobs:
        return 0
    released = 0
    with session_scope(engine) as session:
        for job in jobs:
            opened = session.get(DeliveryAttempt, job.attempt_id)
            delivery = session.get(DeliveryRecord, job.delivery_id)
            if opened is None or delivery is None or opened.outcome != "in_flight":
                continue  # finished meanwhile: nothing to release, not counted
            session.delete(opened)
            delivery.attempts = max(0, delivery.attempts - 1)
            delivery.lease_until, delivery.lease_owner = None, None
            released += 1
    return released


def next_due(engine: Engine) -> datetime | None:
    """Return the earliest time a pending, unblocked delivery may be tried (UTC), or None."""
    leased = and_(
        DeliveryRecord.lease_until.is_not(None),
        DeliveryRecord.lease_until > DeliveryRecord.next_attempt_at,
    )
    when = case((leased, DeliveryRecord.lease_until), else_=DeliveryRecord.next_attempt_at)
    with session_scope(engine) as session:
        value = session.scalar(
            select(func.min(when))
            .join(OutboxMessage, OutboxMessage.id == DeliveryRecord.outbox_id)
            .where(DeliveryRecord.state == "pending", ~_blocked())
        )
    return utc(value) if value is not None else None


def outbox_counts(engine: Engine) -> dict[str, int]:
    """Return the number of deliveries per state, and ``unplanned`` outbox messages."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(DeliveryRecord.state, func.count()).group_by(DeliveryRecord.state)
        )
        counts = {state: n for state, n in rows}
        unplanned = select(func.count()).where(OutboxMessage.planned.is_(False))
        counts["unplanned"] = session.scalar(unplanned) or 0
    return counts


def requeue_failed(
    engine: Engine, *, agency: str | None = None, now: datetime | None = None
) -> int:
    """Put failed deliveries back to pending, due now (after the receiver was fixed).

    Returns
    -------
    int
        Number of deliveries requeued.
    """
    now = utc(now or utcnow())
    query = update(DeliveryRecord).where(DeliveryRecord.state == "failed")
    if agency is not None:
        agency_rows = select(OutboxMessage.id).where(OutboxMessage.agency == agency)
        query = query.where(DeliveryRecord.outbox_id.in_(agency_rows))
    with session_scope(engine) as session:
        done = session.execute(query.values(state="pending", next_attempt_at=now, attempts=0))
        return done.rowcount  # type: ignore[attr-defined]  # CursorResult of an UPDATE


def redact_stored_targets(engine: Engine) -> int:
    """Replace stored webhook targets that still hold secrets by their redacted form.

    Deliveries planned before targets were stored redacted (``redact_url``) kept passwords
    and tokens in ``outbox_deliveries.target``; the worker sends to the configured URL, so
    the stored one is only a label and may lose its secrets.

    Returns
    -------
    int
        Number of rows changed.
    """
    changed = 0
    with session_scope(engine) as session:
        query = select(DeliveryRecord).where(
            DeliveryRecord.channel == "webhook",
            or_(DeliveryRecord.target.contains("@"), DeliveryRecord.target.contains("?")),
        )
        for delivery in session.scalars(query):
            redacted = redact_url(delivery.target)
            if redacted != delivery.target:
                delivery.target, changed = redacted, changed + 1
    return changed
