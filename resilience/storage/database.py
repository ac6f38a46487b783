"""The database connection: an engine with every table created, and transactional sessions.

The default is a SQLite file under the data directory; any SQLAlchemy URL (PostgreSQL in
larger deployments) works through settings alone. Tables (:mod:`resilience.storage.tables`)
are created on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from resilience.storage.tables import Base

__all__ = ["make_engine", "session_scope"]


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
