"""Delivery outbox: who receives each CAP message, and the durable queue of its deliveries.

The *transactional outbox* pattern (C. Richardson, https://microservices.io/patterns/data/
transactional-outbox.html): a message to deliver is a database row written in the same
transaction as the state change that produced it, and workers read rows, deliver and record.
A crash between evaluation and delivery then loses nothing (the row is committed with the
alert) and a crash during delivery repeats only the deliveries whose results were not yet
recorded (at most a batch), each with the same ``Idempotency-Key`` so the receiver can drop it.

Three tables (defined in :mod:`resilience.storage.tables`):

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
blue downgrade and the Cancel. Times in these tables are stored in UTC. Leasing, attempts and
retries are in :mod:`resilience.early_warning.dispatch`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import (
    exists,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from resilience.early_warning.metric import BEIJING
from resilience.storage.database import session_scope
from resilience.storage.tables import (
    AlertRecord,
    Base,
    DeliveryAttempt,
    DeliveryRecord,
    OutboxMessage,
)

__all__ = [
    "Channel",
    "Outcome",
    "addressee_map",
    "addressees",
    "alert_time",
    "enqueue_alert",
    "enqueue_pending",
    "ensure_outbox_tables",
    "episode_of",
    "plan_deliveries",
    "unqueued_messages",
    "utc",
    "utcnow",
]

Channel = Literal["webhook", "file"]
DeliveryState = Literal["pending", "delivered", "failed", "expired"]
Outcome = Literal["delivered", "retry", "failed"]


def utcnow() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive value read back from these tables is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def alert_time(value: datetime) -> datetime:
    """Return an ``AlertRecord`` time as aware; SQLite returns Beijing wall-clock, naive."""
    return value.replace(tzinfo=BEIJING) if value.tzinfo is None else value


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
            due_at=utc(alert_time(record.sent)),
            expires=utc(alert_time(record.expires)),
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
    with session_scope(engine) as session:
        rows = unqueued_messages(session)
        session.add_all(rows)
    return len(rows)


def unqueued_messages(session: Session) -> list[OutboxMessage]:
    """Return the outbox rows :func:`enqueue_pending` would add, without adding them.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Session on the alert database.

    Returns
    -------
    list of OutboxMessage
        Transient rows (not in the session), one per stored message and addressee.
    """
    queued = exists().where(OutboxMessage.alert_id == AlertRecord.id)
    pending = list(session.scalars(select(AlertRecord).where(~queued)))
    if not pending:
        return []
    episodes = {episode_of(r.alert_key) for r in pending}
    same_place = session.scalars(
        select(AlertRecord).where(
            AlertRecord.hazard.in_({r.hazard for r in pending}),
            AlertRecord.area.in_({r.area for r in pending}),
        )
    )
    names = addressee_map([r for r in same_place if episode_of(r.alert_key) in episodes])
    return [row for r in pending for row in _rows(r, names[r.id])]


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
                        next_attempt_at=utc(message.due_at),
                    )
                )
                created += 1
            message.planned = True
    return created
