"""Revision 0002: ``alerts.alert_key`` is unique; duplicates found are kept and reported.

The lifecycle issues at most one message per key (:mod:`resilience.early_warning.lifecycle`),
but until now only its lock and its check-then-insert enforced that. Before the constraint is
added, every ``alert_key`` held by more than one row is resolved without losing a row: the
oldest row (lowest ``id``) keeps the key; each later one is renamed to
``<key>#duplicate-<id>`` (same episode and forecast stamp, so
:func:`~resilience.early_warning.outbox.episode_of` and
:func:`~resilience.early_warning.supersede.key_stamp` read it as before) and the rename is
recorded in the new table ``migration_reports`` (old and new value, the row kept), and
logged as a warning with the count and the keys. On SQLite the constraint is added in batch
mode (the table is copied, ids kept).
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)

from resilience.storage.migrations.versions.r0001_initial import alerts_table

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

_LOG = logging.getLogger("resilience.storage.migrations")
#: Length of ``alerts.alert_key`` (``String(200)``): a renamed key is cut to fit.
_KEY_LENGTH = 200


def reports_table(metadata: MetaData) -> Table:
    """Return ``migration_reports`` as created by 0002 on ``metadata``."""
    return Table(
        "migration_reports",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("revision", String(32), nullable=False),
        Column("table_name", String(100), nullable=False),
        Column("row_id", Integer, nullable=False),
        Column("column_name", String(100), nullable=False),
        Column("old_value", Text, nullable=False),
        Column("new_value", Text, nullable=False),
        Column("note", Text, nullable=False),
        Column("created", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def renamed_key(key: str, row_id: int) -> str:
    """Return the key a duplicate row ``row_id`` of ``key`` gets (at most 200 characters)."""
    suffix = f"#duplicate-{row_id}"
    return key[: _KEY_LENGTH - len(suffix)] + suffix


def _resolve_duplicates(alerts: Table, reports: Table) -> list[str]:
    """Rename every later row of a duplicated key and record it; return the keys."""
    bind = op.get_bind()
    counted = (
        select(alerts.c.alert_key)
        .group_by(alerts.c.alert_key)
        .having(func.count() > 1)
        .order_by(alerts.c.alert_key)
    )
    keys = list(bind.scalars(counted))
    for key in keys:
        same = select(alerts.c.id).where(alerts.c.alert_key == key).order_by(alerts.c.id)
        ids = list(bind.scalars(same))
        for row_id in ids[1:]:
            new = renamed_key(key, row_id)
            bind.execute(update(alerts).where(alerts.c.id == row_id).values(alert_key=new))
            bind.execute(
                reports.insert().values(
                    revision=revision,
                    table_name="alerts",
                    row_id=row_id,
                    column_name="alert_key",
                    old_value=key,
                    new_value=new,
                    note=f"duplicate alert_key: alerts.id {ids[0]} keeps it (the oldest row)",
                )
            )
    return keys


def upgrade() -> None:
    """Create ``migration_reports``, resolve duplicate keys, add ``uq_alerts_alert_key``."""
    metadata = MetaData()
    alerts = alerts_table(metadata)
    reports = reports_table(metadata)
    reports.create(op.get_bind())
    keys = _resolve_duplicates(alerts, reports)
    if keys:
        _LOG.warning(
            "revision 0002: %d alert_key value(s) held by more than one alerts row; every row "
            "kept, the oldest keeps the key, later ones renamed <key>#duplicate-<id> and "
            "listed in migration_reports: %s",
            len(keys),
            ", ".join(keys),
        )
    with op.batch_alter_table("alerts", copy_from=alerts) as batch:
        batch.create_unique_constraint("uq_alerts_alert_key", ["alert_key"])
    # SQLite's batch copy does not carry ix_alerts_alert_key over (PostgreSQL keeps it).
    op.create_index("ix_alerts_alert_key", "alerts", ["alert_key"], if_not_exists=True)


def downgrade() -> None:
    """Drop the constraint and ``migration_reports`` (renamed keys stay renamed)."""
    alerts = alerts_table(MetaData())
    alerts.append_constraint(UniqueConstraint("alert_key", name="uq_alerts_alert_key"))
    with op.batch_alter_table("alerts", copy_from=alerts) as batch:
        batch.drop_constraint("uq_alerts_alert_key", type_="unique")
    op.create_index("ix_alerts_alert_key", "alerts", ["alert_key"], if_not_exists=True)
    op.drop_table("migration_reports")
