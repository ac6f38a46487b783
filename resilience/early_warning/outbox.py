"""Delivery outbox: who receives each CAP message, and the durable queue of its deliveries.

The *transactional outbox* pattern (C. Richardson, https://microservices.io/patterns/data/
transactional-outbox.html): a message to deliver is a database row written in the same
transaction as the state change that produced it, and workers read rows, deliver and record.
A crash between evaluation and delivery then loses nothing (the row is committed with the
alert) and a crash during delivery repeats only the deliveries whose results were not yet
recorded (at most a batch), each with the same ``Idempotency-Key`` so the receiver can drop it.

Three tables on :class:`resilience.database.Base`:

* ``outbox_messages`` (:class:`OutboxMessage`): one row per CAP message and addressee
  agency, unique on (identifier, agency). ``due_at`` is the message's ``sent`` (the lifecycle
  schedules Updates and Cancels ahead; they are delivered when due).
* ``outbox_deliveries`` (:class:`DeliveryRecord`): one row per message, agency and channel
  (``webhook`` or ``file``), with its state (``pending``, ``delivered``, ``failed``,
  ``expired``), attempt count, next attempt time and lease.
* ``outbox_attempts`` (:class:`DeliveryAttempt`): one row per attempt: start, end, outcome
  (``in_flight``, ``delivered``, ``retry``, ``failed``, ``abandoned``), HTTP status, error.

Addressees of a message are the agencies of its own level step plus every agency that received
an earlier message of the same episode, so an agency that got the yellow Update also gets the
blue downgrade and the Cancel. Times in these tables are stored in UTC.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column
from sqlalchemy.sql.expression import Exists

from resilience.database import AlertRecord, Base, session_scope
from resilience.early_warning.metric import BEIJING

__all__ = [
    "AttemptResult",
    "Channel",
    "DeliveryAttempt",
    "DeliveryJob",
    "DeliveryRecord",
    "OutboxMessage",
    "Outcome",
    "addressee_map",
    "addressees",
    "alert_time",
    "claim_due",
    "enqueue_alert",
    "enqueue_pending",
    "ensure_outbox_tables",
    "episode_of",
    "next_due",
    "outbox_counts",
    "plan_deliveries",
    "record_result",
    "record_results",
    "requeue_failed",
]

Channel = Literal["webhook", "file"]
DeliveryState = Literal["pending", "delivered", "failed", "expired"]
Outcome = Literal["delivered", "retry", "failed"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive value read back from these tables is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def alert_time(value: datetime) -> datetime:
    """Return an ``AlertRecord`` time as aware; SQLite returns Beijing wall-clock, naive."""
    return value.replace(tzinfo=BEIJING) if value.tzinfo is None else value


class OutboxMessage(Base):
    """One CAP message to deliver to one agency."""

    __tablename__ = "outbox_messages"
    __table_args__ = (UniqueConstraint("identifier", "agency", name="uq_outbox_message"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    identifier: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str] = mapped_column(String(60), index=True)
    episode: Mapped[str] = mapped_column(String(200), index=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    planned: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class DeliveryRecord(Base):
    """The delivery of one outbox message over one channel, and its state."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (UniqueConstraint("outbox_id", "channel", name="uq_outbox_delivery"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(1000))
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DeliveryAttempt(Base):
    """One attempt at a delivery (kept for audit; ``in_flight`` until its result is known)."""

    __tablename__ = "outbox_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("outbox_deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(40))
    started: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str] = mapped_column(String(10), default="in_flight")
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[float | None] = mapped_column(Float, nullable=True)


_TABLES = [OutboxMessage.__table__, DeliveryRecord.__table__, DeliveryAttempt.__table__]


def ensure_outbox_tables(engine: Engine) -> None:
    """Create the outbox tables if missing (``make_engine`` does once this module is imported)."""
    Base.metadata.create_all(engine, tables=_TABLES)  # type: ignore[arg-type]


def episode_of(alert_key: str) -> str:
    """Return the episode part (hazard | area | onset) of an ``AlertRecord.alert_key``."""
    return alert_key.rsplit("|", 1)[0]


def addressee_map(records: Sequence[AlertRecord]) -> dict[int, list[str]]:
    """Return the addressees of each message: its step's agencies, then earlier ones'.

    Parameters
    ----------
    records : sequence of AlertRecord
        Messages, including every earlier message of their episodes.

    Returns
    -------
    dict of int to list of str
        Per ``AlertRecord.id``, agency ids without duplicates, the step's recipients first.
    """
    seen: dict[str, list[str]] = {}
    out: dict[int, list[str]] = {}
    for record in sorted(records, key=lambda r: r.id):
        earlier = seen.setdefault(episode_of(record.alert_key), [])
        out[record.id] = list(dict.fromkeys([*(record.agencies or []), *earlier]))
        earlier.extend(a for a in record.agencies or [] if a not in earlier)
    return out


def addressees(session: Session, record: AlertRecord) -> list[str]:
    """Return the agencies one stored message goes to (see :func:`addressee_map`).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Session that can see ``record`` and the earlier messages of its episode.
    record : AlertRecord
        A stored (flushed) message.

    Returns
    -------
    list of str
    """
    episode = episode_of(record.alert_key)
    same_place = session.scalars(
        select(AlertRecord)
        .where(AlertRecord.hazard == record.hazard, AlertRecord.area == record.area)
        .where(AlertRecord.id <= record.id)
    )
    episode_records = [r for r in same_place if episode_of(r.alert_key) == episode]
    return addressee_map(episode_records)[record.id]


def _rows(record: AlertRecord, agencies: Sequence[str]) -> list[OutboxMessage]:
    return [
        OutboxMessage(
            alert_id=record.id,
            identifier=record.identifier,
            agency=agency,
            episode=episode_of(record.alert_key),
            due_at=_utc(alert_time(record.sent)),
            expires=_utc(alert_time(record.expires)),
            planned=False,
        )
        for agency in agencies
    ]


def enqueue_alert(session: Session, record: AlertRecord) -> list[OutboxMessage]:
    """Put one stored CAP message in the outbox, in the caller's transaction.

    Call it right after the ``AlertRecord`` is added and flushed, inside the same session, so
    the message and its outbox rows commit (or roll back) together. Idempotent: an (identifier,
    agency) pair already queued is skipped.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The session that stores ``record``.
    record : AlertRecord
        The message (flushed here if it has no ``id`` yet).

    Returns
    -------
    list of OutboxMessage
        The rows added (empty if all were queued already).
    """
    if record.id is None:
        session.flush()
    queued = set(
        session.scalars(
            select(OutboxMessage.agency).where(OutboxMessage.identifier == record.identifier)
        )
    )
    rows = _rows(record, [a for a in addressees(session, record) if a not in queued])
    session.add_all(rows)
    session.flush()
    return rows


def enqueue_pending(engine: Engine) -> int:
    """Queue every stored CAP message that has no outbox row yet (a catch-up sweep).

    Safe to run at any time and from any number of workers: a message is queued at most once
    (unique identifier and agency). It covers messages stored by a lifecycle that does not
    call :func:`enqueue_alert` itself.

    Returns
    -------
    int
        Number of outbox rows added.
    """
    ensure_outbox_tables(engine)
    queued = exists().where(OutboxMessage.alert_id == AlertRecord.id)
    with session_scope(engine) as session:
        pending = list(session.scalars(select(AlertRecord).where(~queued)))
        episodes = {episode_of(r.alert_key) for r in pending}
        same_place = session.scalars(
            select(AlertRecord).where(
                AlertRecord.hazard.in_({r.hazard for r in pending}),
                AlertRecord.area.in_({r.area for r in pending}),
            )
        )
        names = addressee_map([r for r in same_place if episode_of(r.alert_key) in episodes])
        rows = [row for r in pending for row in _rows(r, names[r.id])]
        session.add_all(rows)
    return len(rows)


def plan_deliveries(engine: Engine, channels: Mapping[str, Sequence[tuple[Channel, str]]]) -> int:
    """Create the delivery rows of unplanned outbox messages for the configured channels.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Database with the outbox tables.
    channels : mapping of str to sequence of (channel, target)
        Per agency id, its channels and targets (webhook URL or drop directory). Messages to
        agencies not listed stay unplanned (feed and API only) until the agency is configured;
        by then, messages past their ``expires`` are marked expired, not sent.

    Returns
    -------
    int
        Number of delivery rows created.
    """
    created = 0
    with session_scope(engine) as session:
        rows = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.planned.is_(False), OutboxMessage.agency.in_(list(channels))
            )
        )
        for message in rows:
            for channel, target in channels[message.agency]:
                session.add(
                    DeliveryRecord(
                        outbox_id=message.id,
                        channel=channel,
                        target=target,
                        state="pending",
                        attempts=0,
                        next_attempt_at=_utc(message.due_at),
                    )
                )
                created += 1
            message.planned = True
    return created


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
    now, worker = _utc(now), uuid.uuid4().hex[:12]
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
    now = _utc(now or _utcnow())
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
        delivery.next_attempt_at = _utc(result.retry_at)  # type: ignore[arg-type]


def record_result(
    engine: Engine, job: DeliveryJob, result: AttemptResult, *, now: datetime | None = None
) -> None:
    """Record one attempt's result (see :func:`record_results`)."""
    record_results(engine, [(job, result)], now=now)


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
    return _utc(value) if value is not None else None


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
    now = _utc(now or _utcnow())
    query = update(DeliveryRecord).where(DeliveryRecord.state == "failed")
    if agency is not None:
        agency_rows = select(OutboxMessage.id).where(OutboxMessage.agency == agency)
        query = query.where(DeliveryRecord.outbox_id.in_(agency_rows))
    with session_scope(engine) as session:
        done = session.execute(query.values(state="pending", next_attempt_at=now, attempts=0))
        return done.rowcount  # type: ignore[attr-defined]  # CursorResult of an UPDATE
