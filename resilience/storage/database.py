"""The database connection: an engine with every table created, and transactional sessions.

The default is a SQLite file under the data directory; any SQLAlchemy URL (PostgreSQL in
larger deployments) works through settings alone. Tables (:mod:`resilience.storage.tables`)
are created on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from resilience.storage.tables import Base

__all__ = ["SQLITE_BUSY_TIMEOUT_S", "make_engine", "session_scope"]

#: Seconds a SQLite writer waits for another writer's lock before "database is locked": a
#: refresh or a warnings run can hold the file for seconds while a check waits to store.
SQLITE_BUSY_TIMEOUT_S = 60.0


def _sqlite_pragmas(connection, _record) -> None:  # noqa: ANN001 - DBAPI connection
    """Use write-ahead logging (readers never block the writer) and the busy timeout.

    WAL: https://www.sqlite.org/wal.html; an in-memory database stays in its own mode.
    """
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    finally:
        cursor.close()


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
    if url.startswith("sqlite"):
        engine = create_engine(url, future=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
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
