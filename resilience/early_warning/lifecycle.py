"""Alert lifecycle: turn alert episodes into Alert, Update and Cancel messages, once.

Per episode (an :class:`~resilience.early_warning.decision.AlertDecision`): an ``Alert`` at the
first level, an ``Update`` at each level change (its ``<references>`` holds the previous
message as "sender,identifier,sent", OASIS CAP 1.2 section 3.2.1), and a ``Cancel`` (all clear)
at the end. Every message is stored in ``resilience.database.AlertRecord`` under an
``alert_key`` (hazard | area | episode onset | step), so re-running the same forecast issues
nothing new. Send times form a schedule the outbox can follow:

* Alert: ``now``.
* Update: ``max(now, step start - rule lead time, previous sent)``: a level change is
  announced up to the rule's lead time ahead ("expected within 6 h", domain.md 1.2).
* Cancel: ``max(now, episode expiry, previous sent)``; it expires one hour after it is sent
  (the QWeather practice, domain.md 6.1).

``effective`` is ``min(sent, onset)``. Messages are validated (:func:`validate_cap`) before they
are written (atomically, ``{identifier}.xml``) or stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from lxml import etree
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.engine import Engine

from resilience.atomic import write_bytes_atomic
from resilience.database import AlertRecord, session_scope
from resilience.early_warning.cap import (
    CAP_NS,
    CapMessage,
    Status,
    build_cap,
    format_identifier,
    validate_cap,
)
from resilience.early_warning.decision import AlertDecision, LevelStep
from resilience.early_warning.metric import BEIJING
from resilience.early_warning.outbox import enqueue_alert

__all__ = ["IssuedMessage", "alert_key", "issue_alerts"]


class IssuedMessage(BaseModel):
    """One CAP message of an episode, newly issued (``new``) or found already stored."""

    identifier: str
    msg_type: Literal["Alert", "Update", "Cancel"]
    hazard: str
    level: str
    area: str
    area_name: str
    sent: datetime
    onset: datetime
    expires: datetime
    references: str
    alert_key: str
    path: Path | None
    new: bool


def alert_key(decision: AlertDecision, step: str) -> str:
    """Return the idempotency key: hazard | area | episode onset | step ("0:blue", "cancel")."""
    onset = decision.onset.astimezone(BEIJING).strftime("%Y%m%dT%H%M")
    return f"{decision.hazard}|{decision.area.code}|{onset}|{step}"


def _write_atomic(path: Path, data: bytes) -> None:
    write_bytes_atomic(path, data)


class _Batch:
    """State shared by the messages of one call: engine, output, identifiers in use."""

    def __init__(self, engine: Engine, out_dir: Path, sender: str, status: Status):
        self.engine, self.out_dir, self.sender, self.status = engine, out_dir, sender, status
        self.taken: set[str] = set()

    def existing(self, key: str) -> AlertRecord | None:
        with session_scope(self.engine) as session:
            return session.scalars(select(AlertRecord).where(AlertRecord.alert_key == key)).first()

    def identifier(self, decision: AlertDecision, base: datetime) -> tuple[str, datetime]:
        """Return a free identifier and its entry time (10 per second, then the next second)."""
        sent = base.astimezone(BEIJING).replace(microsecond=0)
        with session_scope(self.engine) as session:
            while True:
                for seq in range(10):
                    ident = format_identifier(
                        decision.region_code, decision.issuer.sector_code, sent, seq
                    )
                    stored = session.scalar(
                        select(AlertRecord.id).where(AlertRecord.identifier == ident)
                    )
                    if ident not in self.taken and stored is None:
                        self.taken.add(ident)
                        return ident, sent
                sent += timedelta(seconds=1)

    def store(self, record: AlertRecord, xml: bytes) -> Path:
        path = self.out_dir / f"{record.identifier}.xml"
        with session_scope(self.engine) as session:
            session.add(record)
            session.flush()
            # Same transaction as the alert: a crash before commit loses both, never one.
            enqueue_alert(session, record)
            _write_atomic(path, xml)
        return path


def _reference(record: AlertRecord) -> str:
    root = etree.fromstring(record.cap_xml.encode("utf-8"))
    sender = root.findtext(f"{{{CAP_NS}}}sender")
    sent = root.findtext(f"{{{CAP_NS}}}sent")
    return f"{sender},{record.identifier},{sent}"


def _message(batch: _Batch, decision: AlertDecision, plan: dict) -> CapMessage:
    ident, sent = batch.identifier(decision, plan["base"])
    if plan["msg_type"] == "Cancel":
        onset, expires = sent, sent + timedelta(hours=1)
    else:
        onset, expires = plan["step"].start, decision.expires
    return CapMessage(
        identifier=ident,
        sender=batch.sender,
        sent=sent,
        status=batch.status,
        msg_type=plan["msg_type"],
        step=plan["step"],
        previous_level=plan["previous_level"],
        effective=min(sent, onset),
        onset=onset,
        expires=expires,
        references=plan["references"],
    )


def _issue_one(batch: _Batch, decision: AlertDecision, plan: dict) -> IssuedMessage:
    msg = _message(batch, decision, plan)
    xml = build_cap(msg, decision)
    validate_cap(xml)
    record = AlertRecord(
        identifier=msg.identifier,
        alert_key=plan["key"],
        hazard=decision.hazard,
        level=msg.step.level,
        msg_type=msg.msg_type,
        area=decision.area.code,
        sent=msg.sent,
        onset=msg.onset,
        expires=msg.expires,
        references=msg.references,
        agencies=list(msg.step.recipients),
        cap_xml=xml.decode("utf-8"),
    )
    path = batch.store(record, xml)
    return _summary(decision, record, path, new=True)


def _summary(
    decision: AlertDecision, record: AlertRecord, path: Path | None, *, new: bool
) -> IssuedMessage:
    def aware(value: datetime) -> datetime:  # SQLite returns naive datetimes
        return value if value.tzinfo else value.replace(tzinfo=BEIJING)

    return IssuedMessage(
        identifier=record.identifier,
        msg_type=record.msg_type,  # type: ignore[arg-type]  # stored from the same Literal
        hazard=record.hazard,
        level=record.level,
        area=record.area,
        area_name=decision.area.name_en,
        sent=aware(record.sent),
        onset=aware(record.onset),
        expires=aware(record.expires),
        references=record.references,
        alert_key=record.alert_key,
        path=path,
        new=new,
    )


def _plans(
    decision: AlertDecision, now: datetime
) -> Iterator[tuple[str, str, LevelStep, str | None, datetime]]:
    """Yield (key, msg_type, step, previous level, earliest send time) per message."""
    steps = decision.steps
    for n, step in enumerate(steps):
        lead = step.start - timedelta(hours=decision.lead_h)
        key = alert_key(decision, f"{n}:{step.level}")
        if n == 0:
            yield key, "Alert", step, None, now
        else:
            yield key, "Update", step, steps[n - 1].level, max(now, lead)
    last = steps[-1]
    yield alert_key(decision, "cancel"), "Cancel", last, last.level, max(now, decision.expires)


def _issue_episode(batch: _Batch, decision: AlertDecision, now: datetime) -> list[IssuedMessage]:
    out: list[IssuedMessage] = []
    prev_record: AlertRecord | None = None
    for key, msg_type, step, prev_level, base in _plans(decision, now):
        record = batch.existing(key)
        if record is not None:
            path = batch.out_dir / f"{record.identifier}.xml"
            out.append(_summary(decision, record, path if path.exists() else None, new=False))
        else:
            floor = out[-1].sent if out else base
            plan = {
                "key": key,
                "msg_type": msg_type,
                "step": step,
                "previous_level": prev_level,
                "base": max(base, floor),
                "references": _reference(prev_record) if prev_record else "",
            }
            out.append(_issue_one(batch, decision, plan))
            record = batch.existing(key)
        prev_record = record
    return out


def issue_alerts(
    decisions: list[AlertDecision],
    *,
    engine: Engine,
    out_dir: Path,
    sender: str,
    now: datetime | None = None,
    status: Status = "Actual",
) -> list[IssuedMessage]:
    """Issue the CAP messages of every episode, skipping those already stored.

    Parameters
    ----------
    decisions : list of AlertDecision
        Episodes from :func:`~resilience.early_warning.engine.evaluate_rules`.
    engine : sqlalchemy.engine.Engine
        Database holding ``AlertRecord`` (see :func:`resilience.database.make_engine`).
    out_dir : Path
        Directory for ``{identifier}.xml`` files (created if missing).
    sender : str
        CAP ``<sender>``, e.g. ``"alerts@smb.sh.cn"``.
    now : datetime, optional
        Issue time (timezone-aware); default the current time.
    status : {"Actual", "Exercise", "System", "Test", "Draft"}
        CAP status of new messages.

    Returns
    -------
    list of IssuedMessage
        Every message of the episodes in order, with ``new`` False for those found stored.

    Raises
    ------
    CapValidationError
        If a message fails validation (nothing is written or stored for it).
    """
    now = now if now is not None else datetime.now(BEIJING)
    if now.tzinfo is None:
        raise ValueError("now: expected a timezone-aware datetime")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    batch = _Batch(engine, out_dir, sender, status)
    issued: list[IssuedMessage] = []
    for decision in decisions:
        issued.extend(_issue_episode(batch, decision, now.astimezone(BEIJING)))
    return issued
