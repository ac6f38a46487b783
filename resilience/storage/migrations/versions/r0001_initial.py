"""Revision 0001: the schema of release 0.1.0, as ``Base.metadata.create_all`` made it.

Eight tables: ``submissions`` and ``check_results`` (feasibility), ``alerts``,
``alert_withdrawals`` and ``forecast_runs`` (early warnings), and the outbox
(``outbox_messages``, ``outbox_deliveries``, ``outbox_attempts``). Frozen here column by
column: the DDL it emits is byte-for-byte that of release 0.1.0 (a test compares it with the
DDL kept in ``tests/data/migrations``). A database written by that release has no
``alembic_version`` table; :func:`resilience.storage.migrations.migration.upgrade_database`
compares it with :func:`schema` and stamps it 0001.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _key(name: str, target: str) -> Column:
    return Column(name, Integer, ForeignKey(target), nullable=False, index=True)


def _feasibility(metadata: MetaData) -> None:
    Table(
        "submissions",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("project_name", String(200), nullable=False),
        Column("asset_type", String(50), nullable=False),
        Column("lon", Float, nullable=False),
        Column("lat", Float, nullable=False),
        Column("payload", JSON, nullable=False),
        _time("created"),
    )
    Table(
        "check_results",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False),
        Column("verdict", String(40), nullable=False),
        Column("score", Float, nullable=False),
        Column("layer_versions", JSON, nullable=False),
        Column("payload", JSON, nullable=False),
        _time("created"),
    )


def alerts_table(metadata: MetaData) -> Table:
    """Return ``alerts`` as of 0001 on ``metadata`` (revision 0002 copies it in batch mode)."""
    return Table(
        "alerts",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("identifier", String(64), nullable=False, unique=True),
        Column("alert_key", String(200), nullable=False, index=True),
        Column("hazard", String(40), nullable=False),
        Column("level", String(10), nullable=False),
        Column("msg_type", String(10), nullable=False),
        Column("area", String(200), nullable=False),
        _time("sent"),
        _time("onset"),
        _time("expires"),
        Column("references", Text, nullable=False),
        Column("agencies", JSON, nullable=False),
        Column("cap_xml", Text, nullable=False),
        _time("created"),
    )


def _warnings(metadata: MetaData) -> None:
    alerts_table(metadata)
    Table(
        "alert_withdrawals",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("identifier", String(64), nullable=False, index=True),
        Column("alert_key", String(200), nullable=False, index=True),
        Column("hazard", String(40), nullable=False),
        Column("area", String(200), nullable=False),
        Column("msg_type", String(10), nullable=False),
        Column("level", String(10), nullable=False),
        _time("sent"),
        _time("withdrawn_at"),
        Column("by_forecast", String(20), nullable=False),
        Column("cap_xml", Text, nullable=False),
    )
    Table(
        "forecast_runs",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("sha256", String(64), nullable=False, unique=True),
        Column("path", String(1000), nullable=False),
        Column("issued", String(40), nullable=False),
        Column("messages", Integer, nullable=False),
        Column("new_messages", Integer, nullable=False),
        Column("withdrawn", Integer, nullable=False),
        _time("processed_at"),
    )


def _outbox(metadata: MetaData) -> None:
    Table(
        "outbox_messages",
        metadata,
        Column("id", Integer, primary_key=True),
        _key("alert_id", "alerts.id"),
        Column("identifier", String(64), nullable=False),
        Column("agency", String(60), nullable=False, index=True),
        Column("episode", String(200), nullable=False, index=True),
        _time("due_at"),
        _time("expires"),
        Column("planned", Boolean, nullable=False),
        _time("created"),
        UniqueConstraint("identifier", "agency", name="uq_outbox_message"),
    )
    Table(
        "outbox_deliveries",
        metadata,
        Column("id", Integer, primary_key=True),
        _key("outbox_id", "outbox_messages.id"),
        Column("channel", String(10), nullable=False),
        Column("target", String(1000), nullable=False),
        Column("state", String(10), nullable=False, index=True),
        Column("attempts", Integer, nullable=False),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False, index=True),
        _time("lease_until", nullable=True),
        Column("lease_owner", String(40), nullable=True),
        Column("last_status", Integer, nullable=True),
        Column("last_error", Text, nullable=False),
        _time("delivered_at", nullable=True),
        UniqueConstraint("outbox_id", "channel", name="uq_outbox_delivery"),
    )
    Table(
        "outbox_attempts",
        metadata,
        Column("id", Integer, primary_key=True),
        _key("delivery_id", "outbox_deliveries.id"),
        Column("number", Integer, nullable=False),
        Column("worker", String(40), nullable=False),
        _time("started"),
        _time("finished", nullable=True),
        Column("outcome", String(10), nullable=False),
        Column("http_status", Integer, nullable=True),
        Column("error", Text, nullable=False),
        Column("duration_ms", Float, nullable=True),
    )


def schema() -> MetaData:
    """Return the eight tables of revision 0001 on a new ``MetaData``."""
    metadata = MetaData()
    _feasibility(metadata)
    _warnings(metadata)
    _outbox(metadata)
    return metadata


def upgrade() -> None:
    """Create the tables of 0001 that are missing (all of them on an empty database)."""
    schema().create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    """Drop every table of 0001 (and their rows)."""
    schema().drop_all(op.get_bind())
