"""SQLAlchemy storage for submissions, check results and alerts.

The default is a SQLite file under the data directory; any SQLAlchemy URL (PostgreSQL in
larger deployments) works through settings alone. Tables are created on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

__all__ = [
    "AlertRecord",
    "Base",
    "CheckRecord",
    "SubmissionRecord",
    "make_engine",
    "session_scope",
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


class CheckRecord(Base):
    """The result of one feasibility check (JSON of ``CheckResult``)."""

    __tablename__ = "check_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    verdict: Mapped[str] = mapped_column(String(40))
    score: Mapped[float] = mapped_column(Float)
    layer_versions: Mapped[dict] = mapped_column(JSON)
    payload: Mapped[dict] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class AlertRecord(Base):
    """One CAP message issued for an alert transition (Alert, Update or Cancel)."""

    __tablename__ = "alerts"
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


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` and create missing tables.

    For SQLite file URLs the parent directory is created first.

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``sqlite:////abs/path/resilience.db`` or ``postgresql+psycopg://...``.
    """
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    import resilience.early_warning.outbox  # noqa: F401 - registers the outbox tables (no cycle here)

    Base.metadata.create_all(engine)
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on any error."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
