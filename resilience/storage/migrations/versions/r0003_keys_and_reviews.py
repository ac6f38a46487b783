"""Revision 0003: API keys with roles, check owners and result hashes, reviewers' decisions.

* ``api_keys``: one row per key of the REST API (name, role ``engineer`` | ``reviewer`` |
  ``agency``, agency id, SHA-256 of the key, created, revoked). Keys of the legacy keys file
  (``<data_dir>/api_keys.toml``) are imported by ``resilience keys import`` (the migration
  does not know the data directory), and are honoured from the file until then.
* ``check_results`` gains ``owner_key_id`` (the submitting key; ``NULL`` for CLI and flow
  runs and for every older row), ``result_hash`` (indexed; filled on older rows from their
  stored ``CheckResult`` where it has one) and the constraint ``uq_check_results_owner_hash``
  (one check per owner and hash: a resubmission finds the first). On SQLite the columns are
  added in batch mode (the table is copied, ids kept).
* ``check_decisions``: a reviewer's decision (``approved`` | ``returned``) and comment.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    update,
)

from resilience.storage.migrations.versions.r0001_initial import schema as schema_0001

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None

#: Name of the owner's foreign key (batch mode on SQLite needs named constraints).
_OWNER_FK = "fk_check_results_owner_key_id"


def keys_table(metadata: MetaData) -> Table:
    """Return ``api_keys`` as created by 0003 on ``metadata``."""
    return Table(
        "api_keys",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(200), nullable=False, unique=True),
        Column("role", String(10), nullable=False),
        Column("agency", String(64), nullable=True),
        Column("sha256", String(64), nullable=False, unique=True),
        Column("created", DateTime(timezone=True), nullable=False),
        Column("revoked", DateTime(timezone=True), nullable=True),
    )


def decisions_table(metadata: MetaData) -> Table:
    """Return ``check_decisions`` as created by 0003 on ``metadata``."""
    return Table(
        "check_decisions",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("check_id", Integer, ForeignKey("check_results.id"), nullable=False, index=True),
        Column("reviewer_key_id", Integer, ForeignKey("api_keys.id"), nullable=False),
        Column("decision", String(10), nullable=False),
        Column("comment", Text, nullable=False),
        Column("created", DateTime(timezone=True), nullable=False),
    )


def _fill_result_hashes() -> None:
    """Copy ``result_hash`` out of each older row's stored ``CheckResult``, where it has one."""
    bind = op.get_bind()
    checks = Table(
        "check_results",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("payload", JSON),
        Column("result_hash", String(64)),
    )
    for row_id, payload in bind.execute(select(checks.c.id, checks.c.payload)).all():
        digest = payload.get("result_hash") if isinstance(payload, dict) else None
        if isinstance(digest, str) and 0 < len(digest) <= 64:
            bind.execute(update(checks).where(checks.c.id == row_id).values(result_hash=digest))


def upgrade() -> None:
    """Create ``api_keys`` and ``check_decisions``; add owner and hash to ``check_results``."""
    metadata = schema_0001()
    keys_table(metadata).create(op.get_bind())
    with op.batch_alter_table("check_results", copy_from=metadata.tables["check_results"]) as b:
        b.add_column(Column("owner_key_id", Integer, ForeignKey("api_keys.id", name=_OWNER_FK)))
        b.add_column(Column("result_hash", String(64), nullable=True))
        b.create_index("ix_check_results_owner_key_id", ["owner_key_id"])
        b.create_index("ix_check_results_result_hash", ["result_hash"])
        b.create_unique_constraint("uq_check_results_owner_hash", ["owner_key_id", "result_hash"])
    decisions_table(metadata).create(op.get_bind())
    _fill_result_hashes()


def downgrade() -> None:
    """Drop ``check_decisions``, the new ``check_results`` columns and ``api_keys``."""
    op.drop_table("check_decisions")
    metadata = schema_0001()
    keys_table(metadata)
    checks = metadata.tables["check_results"]
    checks.append_column(Column("owner_key_id", Integer, ForeignKey("api_keys.id", name=_OWNER_FK)))
    checks.append_column(Column("result_hash", String(64)))
    checks.append_constraint(
        UniqueConstraint("owner_key_id", "result_hash", name="uq_check_results_owner_hash")
    )
    Index("ix_check_results_owner_key_id", checks.c.owner_key_id)
    Index("ix_check_results_result_hash", checks.c.result_hash)
    with op.batch_alter_table("check_results", copy_from=checks) as batch:
        batch.drop_index("ix_check_results_result_hash")
        batch.drop_index("ix_check_results_owner_key_id")
        batch.drop_constraint("uq_check_results_owner_hash", type_="unique")
        batch.drop_column("result_hash")
        batch.drop_column("owner_key_id")
    op.drop_table("api_keys")
