"""Every table of the engine's database, on one declarative ``Base``.

Feasibility submissions, check results and reviewers' decisions, API keys with roles,
issued CAP alerts, and the delivery outbox of the
early warnings (messages, deliveries, attempts: the transactional-outbox pattern of
:mod:`resilience.early_warning.outbox`), and what schema upgrades reported. They are defined
together so that the whole schema is known without importing the packages that use it
(decisions.md D24). The database itself is made and changed only by the Alembic revisions of
:mod:`resilience.storage.migrations` (decisions.md D28): a change here needs a new revision,
and a test fails until the revisions and these models agree. Times are timezone-aware;
SQLite returns them naive (see :func:`resilience.early_warning.outbox.utc`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AlertRecord",
    "ApiKeyRecord",
    "Base",
    "CheckDecisionRecord",
    "CheckRecord",
    "DeliveryAttempt",
    "DeliveryRecord",
    "MigrationReport",
    "OutboxMessage",
    "SubmissionRecord",
]


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class SubmissionRecord(Base):
    """A feasibility submission as received (JSON of ``Submission``)."""

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_name: Mapped[str] = mapped_column(String(200))
    asset_type: Mapped[str] = mapped_column(String(50))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ApiKeyRecord(Base):
    """An API key of the REST API (revision 0003): its name, role and SHA-256, never the key.

    ``role`` is ``engineer`` (submits checks, sees its own), ``reviewer`` (sees every check,
    records decisions) or ``agency`` (the warnings endpoints; ``agency`` names which).
    ``revoked`` is set when the key stops working; the row stays for the audit trail.
    """

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    agency: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    revoked: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CheckRecord(Base):
    """The result of one feasibility check (JSON of ``CheckResult``).

    ``owner_key_id`` is the API key that submitted it (``None`` for the CLI and flows);
    ``result_hash`` is the result's ``result_hash`` (``None`` on rows older than revision
    0003 that lack one), unique per owner so that a resubmission finds its first check.
    """

    __tablename__ = "check_results"
    __table_args__ = (
        UniqueConstraint("owner_key_id", "result_hash", name="uq_check_results_owner_hash"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    verdict: Mapped[str] = mapped_column(String(40))
    score: Mapped[float] = mapped_column(Float)
    layer_versions: Mapped[dict] = mapped_column(JSON)
    payload: Mapped[dict] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    owner_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", name="fk_check_results_owner_key_id"), nullable=True, index=True
    )
    result_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class CheckDecisionRecord(Base):
    """A reviewer's decision on a check (``approved`` or ``returned``) with a comment."""

    __tablename__ = "check_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("check_results.id"), index=True)
    reviewer_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    decision: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class AlertRecord(Base):
    """One CAP message issued for an alert transition (Alert, Update or Cancel); one per key."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("alert_key", name="uq_alerts_alert_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    alert_key: Mapped[str] = mapped_column(String(200), index=True)
    hazard: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(10))
    msg_type: Mapped[str] = mapped_column(String(10))
    area: Mapped[str] = mapped_column(String(200))
    sent: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    onset: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    references: Mapped[str] = mapped_column(Text, default="")
    agencies: Mapped[list] = mapped_column(JSON, default=list)
    cap_xml: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


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
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


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


class MigrationReport(Base):
    """A row a schema upgrade had to change to keep it, and why (revision 0002 and later).

    Revision 0002 renames the later rows of a duplicated ``alerts.alert_key`` to
    ``<key>#duplicate-<id>`` and records each here (``old_value`` the key, ``new_value`` the
    new one), so nothing is dropped or changed unseen.
    """

    __tablename__ = "migration_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[str] = mapped_column(String(32))
    table_name: Mapped[str] = mapped_column(String(100))
    row_id: Mapped[int] = mapped_column(Integer)
    column_name: Mapped[str] = mapped_column(String(100))
    old_value: Mapped[str] = mapped_column(Text)
    new_value: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
