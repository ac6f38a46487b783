"""Successive forecasts: which alert is still open, and withdrawing messages a newer one replaces.

The lifecycle schedules a whole episode from one forecast (an Update up to the lead time before
its level changes, a Cancel at its expiry). A newer forecast knows better, so for each
(hazard, district) it evaluates:

* **Stamps.** Every message key carries the stamp of the forecast that made it (its issue time,
  Beijing, to the second): ``hazard|district|episode onset|stamp:step``. A forecast older than
  the newest one already applied to a (hazard, district) changes nothing there.
* **Withdrawal.** Messages of older forecasts that are not yet due (``sent`` after the new
  forecast's time) and that no worker has tried to deliver are withdrawn: the row leaves
  ``alerts`` and the outbox, a copy (with its CAP XML) goes to ``alert_withdrawals``, and its
  file moves to ``<out>/withdrawn/``, so no feed, API, delivery or verification sees it. Its
  identifier is never reused.
* **Open episode.** The episode whose latest message already sent is not a Cancel and has not
  expired is open: the new forecast continues it (Updates referencing that message) or, if it
  no longer shows the hazard before that message expires, cancels it now.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Integer, String, Text, delete, exists, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from resilience.early_warning.metric import BEIJING
from resilience.early_warning.outbox import alert_time, episode_of
from resilience.storage.tables import (
    AlertRecord,
    Base,
    DeliveryAttempt,
    DeliveryRecord,
    OutboxMessage,
)

__all__ = [
    "OpenEpisode",
    "WithdrawnAlert",
    "ensure_withdrawal_table",
    "forecast_stamp",
    "identifier_used",
    "key_stamp",
    "open_episode",
    "withdraw",
]


class WithdrawnAlert(Base):
    """A scheduled CAP message replaced by a newer forecast before it was due (audit copy)."""

    __tablename__ = "alert_withdrawals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), index=True)
    alert_key: Mapped[str] = mapped_column(String(200), index=True)
    hazard: Mapped[str] = mapped_column(String(40))
    area: Mapped[str] = mapped_column(String(200))
    msg_type: Mapped[str] = mapped_column(String(10))
    level: Mapped[str] = mapped_column(String(10))
    sent: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by_forecast: Mapped[str] = mapped_column(String(20))
    cap_xml: Mapped[str] = mapped_column(Text)


def forecast_stamp(issued: datetime) -> str:
    """Return the stamp of a forecast issued at ``issued``: Beijing time to the second."""
    return issued.astimezone(BEIJING).strftime("%Y%m%dT%H%M%S")


def key_stamp(alert_key: str) -> str:
    """Return the forecast stamp of a message key (``hazard|area|onset|stamp:step``)."""
    return alert_key.rsplit("|", 1)[-1].split(":", 1)[0]


def ensure_withdrawal_table(engine: Engine) -> None:
    """Create ``alert_withdrawals`` if missing."""
    Base.metadata.create_all(engine, tables=[WithdrawnAlert.__table__])  # type: ignore[list-item]


@dataclass(frozen=True)
class OpenEpisode:
    """An episode in force: its key prefix and the latest message already sent."""

    prefix: str
    last: AlertRecord


def open_episode(records: Sequence[AlertRecord], now: datetime) -> OpenEpisode | None:
    """Return the episode in force at ``now`` among stored messages of one hazard and area.

    In force: its latest message with ``sent <= now`` is not a Cancel and expires after
    ``now``. When several are (only after manual edits), the latest wins.
    """
    latest: dict[str, AlertRecord] = {}
    for record in sorted(records, key=lambda r: (alert_time(r.sent), r.id)):
        if alert_time(record.sent) <= now:
            latest[episode_of(record.alert_key)] = record
    found = [
        OpenEpisode(prefix, record)
        for prefix, record in latest.items()
        if record.msg_type != "Cancel" and alert_time(record.expires) > now
    ]
    return max(found, key=lambda e: (alert_time(e.last.sent), e.last.id), default=None)


def identifier_used(session: Session, identifier: str) -> bool:
    """Return whether an identifier was ever issued or withdrawn (never reuse one)."""
    issued = exists().where(AlertRecord.identifier == identifier)
    withdrawn = exists().where(WithdrawnAlert.identifier == identifier)
    return bool(session.scalar(select(issued | withdrawn)))


def withdraw(
    session: Session, record: AlertRecord, *, by_forecast: str, now: datetime, out_dir: Path
) -> bool:
    """Withdraw one scheduled message, in the caller's transaction.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Session holding ``record``.
    record : AlertRecord
        A stored message not yet due.
    by_forecast : str
        Stamp of the forecast that replaces it.
    now : datetime
        Time of the withdrawal (aware).
    out_dir : Path
        Where its CAP file was written; the file moves to ``out_dir / "withdrawn"``.

    Returns
    -------
    bool
        False (nothing changed) if a delivery of it was already attempted.
    """
    queued = select(OutboxMessage.id).where(OutboxMessage.alert_id == record.id)
    tried = exists().where(
        DeliveryAttempt.delivery_id == DeliveryRecord.id, DeliveryRecord.outbox_id.in_(queued)
    )
    if session.scalar(select(tried)):
        return False
    session.execute(delete(DeliveryRecord).where(DeliveryRecord.outbox_id.in_(queued)))
    session.execute(delete(OutboxMessage).where(OutboxMessage.alert_id == record.id))
    session.add(
        WithdrawnAlert(
            identifier=record.identifier,
            alert_key=record.alert_key,
            hazard=record.hazard,
            area=record.area,
            msg_type=record.msg_type,
            level=record.level,
            sent=record.sent,
            withdrawn_at=now.astimezone(UTC),
            by_forecast=by_forecast,
            cap_xml=record.cap_xml,
        )
    )
    session.delete(record)
    session.flush()
    source = Path(out_dir) / f"{record.identifier}.xml"
    if source.exists():
        (Path(out_dir) / "withdrawn").mkdir(exist_ok=True)
        shutil.move(source, Path(out_dir) / "withdrawn" / source.name)
    return True
