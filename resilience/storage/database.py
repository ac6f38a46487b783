"""The database connection: an engine on an up-to-date schema, and transactional sessions.

The default is a SQLite file under the data directory; any SQLAlchemy URL (PostgreSQL in
larger deployments) works through settings alone. The schema (:mod:`resilience.storage.tables`)
is made and changed only by the Alembic revisions of :mod:`resilience.storage.migrations`:
:func:`make_engine` upgrades the database to the newest one on first use, under a lock held
across processes, in one transaction (decisions.md D28).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from resilience.storage.migrations.migration import Upgrade

__all__ = [
    "SQLITE_BUSY_TIMEOUT_S",
    "exclusive",
    "make_engine",
    "session_scope",
    "upgrade_schema",
]

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
    """Create an engine for ``url`` and upgrade its database to the newest schema revision.

    For SQLite file URLs the parent directory is created first. See :func:`upgrade_schema`.

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``sqlite:////abs/path/resilience.db`` or ``postgresql+psycopg://...``.

    Returns
    -------
    Engine
        An engine on a database at the newest revision.

    Raises
    ------
    resilience.storage.migrations.migration.DatabaseSchemaError
        If the database cannot be upgraded (unknown revision, or tables of release 0.1.0
        that differ from it); the database is left unchanged.
    """
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        engine = create_engine(url, future=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, future=True)
    upgrade_schema(engine)
    return engine


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _no_implicit_transactions(connection, _record) -> None:  # noqa: ANN001 - DBAPI connection
    connection.isolation_level = None


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """Yield a connection in a transaction that also covers DDL, committed on success.

    PostgreSQL's DDL is transactional. Python's sqlite3 commits before DDL on its own, so a
    SQLite file gets a connection of its own that SQLAlchemy begins with ``BEGIN IMMEDIATE``
    (https://docs.sqlalchemy.org/en/20/dialects/sqlite.html, "Serializable isolation /
    Savepoints / Transactional DDL"): a revision that fails halfway leaves the file as it
    was. An in-memory database has only the engine's connection (nothing outlives the
    process anyway).
    """
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        with engine.begin() as connection:
            yield connection
        return
    migrator = create_engine(
        engine.url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}
    )
    event.listen(migrator, "connect", _sqlite_pragmas)
    event.listen(migrator, "connect", _no_implicit_transactions)
    event.listen(migrator, "begin", _begin_immediate)
    try:
        with migrator.begin() as connection:
            yield connection
    finally:
        migrator.dispose()


def upgrade_schema(engine: Engine) -> Upgrade | None:
    """Upgrade the database of ``engine`` to the newest revision unless it is there already.

    A fresh database gets every revision; one written by release 0.1.0 (tables, no
    ``alembic_version``) is checked against revision 0001, stamped, then upgraded. The
    upgrade holds :func:`exclusive` ``"migrate"`` (concurrent callers wait, then find it
    done) and runs in one transaction; revision 0002 logs and records duplicate alert keys
    in ``migration_reports`` instead of dropping rows.

    Parameters
    ----------
    engine : Engine
        Engine from :func:`make_engine` (or any engine on one of our databases).

    Returns
    -------
    Upgrade or None
        What was done, or ``None`` if the database was at the newest revision already.

    Raises
    ------
    resilience.storage.migrations.migration.DatabaseSchemaError
        As :func:`resilience.storage.migrations.migration.upgrade_database`.
    """
    from resilience.storage.migrations.migration import (
        current_revision,
        head_revision,
        upgrade_database,
    )

    head = head_revision()
    with engine.connect() as connection:
        if current_revision(connection) == head:
            return None
    with exclusive(engine, "migrate"), _migration_connection(engine) as connection:
        return upgrade_database(connection)


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
