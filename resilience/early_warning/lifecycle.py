"""Alert lifecycle: turn alert episodes into Alert, Update and Cancel messages, once.

Per episode (an :class:`~resilience.early_warning.decision.AlertDecision`): an ``Alert`` at the
first level, an ``Update`` at each change of level (or, for impact rules, of the assets at a
level), and a ``Cancel`` (all clear) at the end. Each message's ``<references>`` holds the
previous one as "sender,identifier,sent" (OASIS CAP 1.2 section 3.2.1). Send times form a
schedule the outbox follows (:mod:`~resilience.early_warning.schedule`):

* Alert: ``max(now, onset - lead time)``: "expected within H hours" (domain.md 1.2).
* Update that raises the level (or adds assets to an impact alert): ``max(now, step start -
  lead time, previous sent)``, announced ahead like an Alert. An Update that lowers it:
  ``max(now, step start)``, so the message in force never shows a level before its time.
* Cancel: ``max(now, episode expiry, previous sent)``; it expires one hour after it is sent
  (the QWeather practice, domain.md 6.1). An ``open_ended`` episode (still at a level in the
  forecast's last hour) gets no Cancel: it **expires**, unless a later forecast continues it.

Successive forecasts (:mod:`~resilience.early_warning.supersede`): a newer forecast withdraws
the not-yet-due messages of older ones for each (hazard, district) it covers; an episode in
force is **continued** by the new forecast's first episode if that starts before the message
in force expires (an Update now, referencing it, when the level or the expiry changes), and
otherwise **cancelled now**. A forecast older than one already applied changes nothing there.

Every message is stored in ``resilience.storage.tables.AlertRecord`` under an ``alert_key``
(``hazard|district|episode onset|forecast stamp:step``), so re-running a forecast issues
nothing new. ``effective`` is ``min(sent, onset)``. Messages are validated
(:func:`validate_cap`) before they are written (atomically, ``{identifier}.xml``) or stored,
and queued in the outbox in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from lxml import etree
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.engine import Engine

from resilience.early_warning.cap import (
    CAP_NS,
    CapMessage,
    Status,
    build_cap,
    format_identifier,
    validate_cap,
)
from resilience.early_warning.decision import AlertDecision, RuleScope
from resilience.early_warning.metric import BEIJING
from resilience.early_warning.outbox import (
    alert_time,
    enqueue_alert,
    ensure_outbox_tables,
    episode_of,
)
from resilience.early_warning.schedule import (
    MessagePlan,
    cancel_now_plan,
    episode_plans,
    episode_prefix,
)
from resilience.early_warning.supersede import (
    ensure_withdrawal_table,
    forecast_stamp,
    identifier_used,
    key_stamp,
    open_episode,
    withdraw,
)
from resilience.storage.atomic import write_bytes_atomic
from resilience.storage.database import exclusive, session_scope
from resilience.storage.tables import AlertRecord

__all__ = ["IssuedMessage", "issue_alerts"]


class IssuedMessage(BaseModel):
    """One CAP message: newly issued (``new``), found stored, or ``withdrawn`` by this run."""

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
    withdrawn: bool = False


class _Batch:
    """State shared by the messages of one call: engine, output, identifiers in use."""

    def __init__(self, engine: Engine, out_dir: Path, sender: str, status: Status):
        self.engine, self.out_dir, self.sender, self.status = engine, out_dir, sender, status
        self.taken: set[str] = set()

    def existing(self, key: str) -> AlertRecord | None:
        with session_scope(self.engine) as session:
            return session.scalars(select(AlertRecord).where(AlertRecord.alert_key == key)).first()

    def history(self, hazard: str, area: str) -> list[AlertRecord]:
        with session_scope(self.engine) as session:
            query = select(AlertRecord).where(
                AlertRecord.hazard == hazard, AlertRecord.area == area
            )
            return list(session.scalars(query.order_by(AlertRecord.id)))

    def identifier(self, decision: RuleScope, base: datetime) -> tuple[str, datetime]:
        """Return a free identifier and its entry time (10 per second, then the next second)."""
        sent = base.astimezone(BEIJING).replace(microsecond=0)
        with session_scope(self.engine) as session:
            while True:
                for seq in range(10):
                    ident = format_identifier(
                        decision.region_code, decision.issuer.sector_code, sent, seq
                    )
                    if ident not in self.taken and not identifier_used(session, ident):
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
            write_bytes_atomic(path, xml)
        return path

    def withdraw(self, record: AlertRecord, stamp: str, now: datetime) -> bool:
        with session_scope(self.engine) as session:
            attached = session.get(AlertRecord, record.id)
            if attached is None:
                return False
            return withdraw(session, attached, by_forecast=stamp, now=now, out_dir=self.out_dir)


def _reference(record: AlertRecord) -> str:
    root = etree.fromstring(record.cap_xml.encode("utf-8"))
    sender = root.findtext(f"{{{CAP_NS}}}sender")
    sent = root.findtext(f"{{{CAP_NS}}}sent")
    return f"{sender},{record.identifier},{sent}"


def _issue_one(batch: _Batch, plan: MessagePlan, base: datetime, references: str) -> IssuedMessage:
    decision = plan.decision
    ident, sent = batch.identifier(decision, base)
    if plan.msg_type == "Cancel":
        onset, expires = sent, sent + timedelta(hours=1)
    else:
        onset, expires = plan.step.start, decision.expires
    msg = CapMessage(
        identifier=ident,
        sender=batch.sender,
        sent=sent,
        status=batch.status,
        msg_type=plan.msg_type,
        step=plan.step,
        previous_level=plan.previous_level,
        effective=min(sent, onset),
        onset=onset,
        expires=expires,
        references=references,
    )
    xml = build_cap(msg, decision)
    validate_cap(xml)
    record = AlertRecord(
        identifier=msg.identifier,
        alert_key=plan.key,
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
    scope: RuleScope, record: AlertRecord, path: Path | None, *, new: bool, withdrawn: bool = False
) -> IssuedMessage:
    return IssuedMessage(
        identifier=record.identifier,
        msg_type=record.msg_type,  # type: ignore[arg-type]  # stored from the same Literal
        hazard=record.hazard,
        level=record.level,
        area=record.area,
        area_name=scope.area.name_en,
        sent=alert_time(record.sent),
        onset=alert_time(record.onset),
        expires=alert_time(record.expires),
        references=record.references,
        alert_key=record.alert_key,
        path=path,
        new=new,
        withdrawn=withdrawn,
    )


def _issue_chain(
    batch: _Batch, plans: Sequence[MessagePlan], previous: AlertRecord | None
) -> list[IssuedMessage]:
    """Issue plans in order, each referencing the one before (``previous`` for the first)."""
    out: list[IssuedMessage] = []
    for plan in plans:
        record = batch.existing(plan.key)
        if record is not None:
            path = batch.out_dir / f"{record.identifier}.xml"
            out.append(_summary(plan.decision, record, path if path.exists() else None, new=False))
        else:
            floor = alert_time(previous.sent) if previous is not None else plan.earliest
            refs = _reference(previous) if previous is not None else ""
            out.append(_issue_one(batch, plan, max(plan.earliest, floor), refs))
            record = batch.existing(plan.key)
        previous = record
    return out


def _issue_area(
    batch: _Batch, scope: RuleScope, decisions: list[AlertDecision], now: datetime
) -> list[IssuedMessage]:
    stamp = forecast_stamp(now)
    history = batch.history(scope.hazard, scope.area.code)
    if any(key_stamp(r.alert_key) > stamp for r in history):  # a newer forecast was applied
        mine = [r for r in history if key_stamp(r.alert_key) == stamp]
        return [_summary(scope, r, None, new=False) for r in mine]
    older = [r for r in history if key_stamp(r.alert_key) != stamp]
    out = []
    for record in [r for r in older if alert_time(r.sent) > now]:
        if batch.withdraw(record, stamp, now):
            out.append(_summary(scope, record, None, new=False, withdrawn=True))
            older.remove(record)
    in_force = open_episode(older, now)
    rest = list(decisions)
    if in_force is not None:
        if rest and rest[0].onset <= alert_time(in_force.last.expires):
            sent = [
                r
                for r in older
                if episode_of(r.alert_key) == in_force.prefix and alert_time(r.sent) <= now
            ]
            plans = episode_plans(rest.pop(0), in_force.prefix, stamp, now, sent=sent)
            out += _issue_chain(batch, plans, in_force.last)
        else:
            out += _issue_chain(
                batch, [cancel_now_plan(scope, in_force, stamp, now)], in_force.last
            )
    for decision in rest:
        prefix = episode_prefix(decision.hazard, decision.area.code, decision.onset)
        out += _issue_chain(batch, episode_plans(decision, prefix, stamp, now, sent=[]), None)
    return out


def issue_alerts(
    decisions: list[AlertDecision],
    *,
    engine: Engine,
    out_dir: Path,
    sender: str,
    now: datetime | None = None,
    status: Status = "Actual",
    scopes: Sequence[RuleScope] = (),
) -> list[IssuedMessage]:
    """Issue the CAP messages of every episode, skipping those already stored.

    Parameters
    ----------
    decisions : list of AlertDecision
        Episodes from :func:`~resilience.early_warning.engine.evaluate_rules`.
    engine : sqlalchemy.engine.Engine
        Database holding ``AlertRecord`` (see :func:`resilience.storage.database.make_engine`).
    out_dir : Path
        Directory for ``{identifier}.xml`` files (created if missing).
    sender : str
        CAP ``<sender>``, e.g. ``"alerts@smb.sh.cn"``.
    now : datetime, optional
        Issue time of the forecast (timezone-aware): its stamp, and the earliest send time;
        default the current time.
    status : {"Actual", "Exercise", "System", "Test", "Draft"}
        CAP status of new messages.
    scopes : sequence of RuleScope
        Every (rule, district) the forecast evaluated
        (:func:`~resilience.early_warning.engine.rule_scopes`); alerts of earlier forecasts
        in those without a decision are cancelled now. Areas with decisions are always
        covered.

    Returns
    -------
    list of IssuedMessage
        Per area: messages withdrawn by this call, then every message of its episodes in
        order, ``new`` False for those found stored.

    Raises
    ------
    CapValidationError
        If a message fails validation (nothing is written or stored for it).
    """
    now = now if now is not None else datetime.now(BEIJING)
    if now.tzinfo is None:
        raise ValueError("now: expected a timezone-aware datetime")
    now = now.astimezone(BEIJING)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ensure_outbox_tables(engine)
    ensure_withdrawal_table(engine)
    batch = _Batch(engine, out_dir, sender, status)
    areas: dict[tuple[str, str], tuple[RuleScope, list[AlertDecision]]] = {}
    for decision in decisions:
        key = (decision.hazard, decision.area.code)
        areas.setdefault(key, (decision, []))[1].append(decision)
    for scope in scopes:
        areas.setdefault((scope.hazard, scope.area.code), (scope, []))
    issued: list[IssuedMessage] = []
    # One issuer at a time across processes: finding what is stored and issuing the rest
    # must not interleave, or two runs of one forecast issue the same message twice.
    with exclusive(engine, "issue-alerts"):
        for scope, found in areas.values():
            issued += _issue_area(batch, scope, sorted(found, key=lambda d: d.onset), now)
    return issued
