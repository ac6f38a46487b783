"""The database connection: an engine with every table created, and transactional sessions.

The default is a SQLite file under the data directory; any SQLAlchemy URL (PostgreSQL in
larger deployments) works through settings alone. Tables (:mod:`resilience.storage.tables`)
are created on first use.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from resilience.storage.tables import Base

__all__ = ["SQLITE_BUSY_TIMEOUT_S", "exclusive", "make_engine", "session_scope"]

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


_LOCAL_LOCKS: dict[str, threading.Lock] = {}


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[None]:
    """Hold a lock named ``name`` across every process using this database.

    A check-then-insert sequence (the alert lifecycle finds what is stored, then issues the
    rest) is correct only if one process runs it at a time. PostgreSQL: a session advisory
    lock (``pg_advisory_lock``, keyed by a hash of ``name``) on a connection held for the
    block. SQLite file: an exclusive ``flock`` on ``<database>.<name>.lock`` beside it. An
    in-memory or other database: a lock within this process (one process holds it anyway).
    """
    url = engine.url
    if url.get_backend_name() == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        return
    database = url.database
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        import fcntl

        lock_path = Path(database).with_name(f"{Path(database).name}.{name}.lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with _LOCAL_LOCKS.setdefault(name, threading.Lock()):
        yield
