"""What a delivery run will do, before it runs: due, expiring and later deliveries; requeue.

:func:`plan_delivery` counts, per agency and channel, the deliveries a worker pass would
send now (``due``), mark expired because their CAP ``expires`` has passed (``expire``), and
leave for later (``later``), including messages not yet queued or planned (the pass queues
and plans them first). It reads only, so ``resilience warn deliver --dry-run`` changes
nothing. :func:`requeue_deliveries` puts expired or failed deliveries back in the queue.
The clock (:func:`replay_clock`) and the run's counts (:class:`DeliveryReport`) live here so
the worker (:mod:`resilience.early_warning.delivery`) and the CLI share them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.engine import Engine

from resilience.early_warning.outbox import Channel, unqueued_messages, utc, utcnow
from resilience.storage.database import session_scope
from resilience.storage.tables import DeliveryRecord, OutboxMessage

__all__ = [
    "Clock",
    "DeliveryPlan",
    "DeliveryReport",
    "RequeueState",
    "plan_delivery",
    "replay_clock",
    "requeue_deliveries",
]

Clock = Callable[[], datetime]
RequeueState = Literal["expired", "failed"]
PlanKind = Literal["due", "expire", "later"]


def system_clock() -> datetime:
    """Return the current time in UTC (the default clock)."""
    return datetime.now(UTC)


def replay_clock(start: str | None = None) -> Clock:
    """Return a clock that reads ``start`` now and runs at real speed (system clock if None).

    Exercises are dated (the sample forecast is issued on 2026-07-20 08:00 +08:00); replaying
    one delivers its messages when they fall due on the shifted clock.

    Raises
    ------
    ValueError
        If ``start`` is not an ISO 8601 time with a UTC offset.
    """
    if start is None:
        return system_clock
    try:
        at = datetime.fromisoformat(start)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise ValueError(f"replay start {start!r}: expected an ISO 8601 time with offset")
    offset = datetime.now(UTC) - at
    return lambda: datetime.now(UTC) - offset


class DeliveryReport(BaseModel):
    """Counts of one or more worker passes."""

    queued: int = 0
    planned: int = 0
    attempted: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    timed_out: int = 0
    released: int = 0
    seconds: float = 0.0

    def add(self, other: DeliveryReport) -> DeliveryReport:
        """Return the sum of two reports."""
        return DeliveryReport(
            **{k: getattr(self, k) + getattr(other, k) for k in type(self).model_fields}
        )


@dataclass(frozen=True)
class DeliveryPlan:
    """Deliveries per (agency, channel) and kind, as of ``now``; ``requeue`` counts included."""

    now: datetime
    counts: Mapping[tuple[str, str, PlanKind], int]
    requeue: int = 0
    first_expiring: datetime | None = None
    unconfigured: Mapping[str, int] = field(default_factory=dict)

    def total(self, kind: PlanKind) -> int:
        """Return the number of deliveries of one kind over every agency and channel."""
        return sum(n for (_, _, k), n in self.counts.items() if k == kind)

    def lanes(self) -> list[tuple[str, str]]:
        """Return the (agency, channel) pairs that have deliveries, sorted."""
        return sorted({(agency, channel) for agency, channel, _ in self.counts})


def _kind(due: datetime, expires: datetime, now: datetime) -> PlanKind:
    if utc(expires) <= now:
        return "expire"
    return "due" if utc(due) <= now else "later"


def _rows(
    engine: Engine, channels: Mapping[str, Sequence[tuple[Channel, str]]], states: set[str]
) -> Iterable[tuple[str, str, datetime, datetime, bool]]:
    """Yield (agency, channel, next attempt, expires, requeued) of every delivery to come."""
    with session_scope(engine) as session:
        stored = session.execute(
            select(
                OutboxMessage.agency,
                DeliveryRecord.channel,
                DeliveryRecord.next_attempt_at,
                OutboxMessage.due_at,
                OutboxMessage.expires,
                DeliveryRecord.state,
            )
            .join(OutboxMessage, OutboxMessage.id == DeliveryRecord.outbox_id)
            .where(DeliveryRecord.state.in_({"pending", *states}))
        ).all()
        unplanned = list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.planned.is_(False)))
        )
        unplanned += unqueued_messages(session)
        waiting = [(m.agency, m.due_at, m.expires) for m in unplanned]
    for agency, channel, next_at, due_at, expires, state in stored:
        requeued = state != "pending"
        yield agency, channel, due_at if requeued else next_at, expires, requeued
    for agency, due_at, expires in waiting:
        for channel, _ in channels.get(agency, [("unconfigured", "")]):  # type: ignore[list-item]
            yield agency, channel, due_at, expires, False


def plan_delivery(
    engine: Engine,
    channels: Mapping[str, Sequence[tuple[Channel, str]]],
    *,
    now: datetime,
    requeue: Iterable[RequeueState] = (),
) -> DeliveryPlan:
    """Count what a worker pass at ``now`` would do with each delivery, changing nothing.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The alert database (with the outbox tables).
    channels : mapping of str to sequence of (channel, target)
        The configured channels per agency (``DeliveryConfig.channels()``); messages to other
        agencies are counted in ``unconfigured`` (they stay unplanned).
    now : datetime
        Time of the pass (timezone-aware): the replay clock in an exercise.
    requeue : iterable of {"expired", "failed"}
        Delivery states to count as put back in the queue (:func:`requeue_deliveries`).

    Returns
    -------
    DeliveryPlan
    """
    now, states = utc(now), set[str](requeue)
    counts: Counter[tuple[str, str, PlanKind]] = Counter()
    unconfigured: Counter[str] = Counter()
    requeued, first_expiring = 0, None
    for agency, channel, due, expires, again in _rows(engine, channels, states):
        if channel == "unconfigured":
            unconfigured[agency] += 1
            continue
        kind = _kind(max(utc(due), now) if again else due, expires, now)
        counts[(agency, channel, kind)] += 1
        requeued += again
        if kind == "expire" and (first_expiring is None or utc(due) < first_expiring):
            first_expiring = utc(due)
    return DeliveryPlan(now, dict(counts), requeued, first_expiring, dict(unconfigured))


def requeue_deliveries(
    engine: Engine,
    states: Iterable[RequeueState],
    *,
    now: datetime | None = None,
    agency: str | None = None,
) -> int:
    """Put expired or failed deliveries back in the queue, in one transaction.

    Each becomes ``pending`` again, due at ``now`` or at its message's ``due_at`` if that is
    later (so a replayed exercise still sends an Update when it falls due), with its lease
    cleared and its attempt count reset (a fresh retry budget); its earlier attempts stay in
    ``outbox_attempts``. Its ``Idempotency-Key`` does not change, so a receiver that already
    has a message drops the repeat. A message past its ``expires`` at the next pass is marked
    expired again: requeue expired deliveries with a replay clock before their expiry.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The alert database.
    states : iterable of {"expired", "failed"}
        Which deliveries to put back.
    now : datetime, optional
        The time they become due (the replay clock in an exercise); default now.
    agency : str, optional
        Only this agency's deliveries.

    Returns
    -------
    int
        Number of deliveries put back.
    """
    now, wanted = utc(now or utcnow()), sorted(set(states))
    query = (
        select(DeliveryRecord, OutboxMessage.due_at)
        .join(OutboxMessage, OutboxMessage.id == DeliveryRecord.outbox_id)
        .where(DeliveryRecord.state.in_(wanted))
    )
    if agency is not None:
        query = query.where(OutboxMessage.agency == agency)
    with session_scope(engine) as session:
        rows = session.execute(query).all()
        for delivery, due_at in rows:
            delivery.last_error = f"requeued from {delivery.state} at {now:%Y-%m-%dT%H:%M:%SZ}"
            delivery.state, delivery.attempts = "pending", 0
            delivery.next_attempt_at = max(now, utc(due_at))
            delivery.lease_until, delivery.lease_owner = None, None
    return len(rows)
