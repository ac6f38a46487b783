"""Upgrade a database to the newest revision, adopting one written before migrations existed.

Alembic is configured in code (no ``alembic.ini``, no ``env.py``): the script location is
this package's folder found through :mod:`importlib.resources`, so an installed package
migrates as a checkout does. :func:`upgrade_database` runs on a connection inside a
transaction that the caller opened and holds the migration lock for
(:func:`resilience.storage.database.make_engine`), so a failed revision leaves the database as
it was, on PostgreSQL and on a SQLite file alike.

Three states of a database: empty (every revision runs); at a known revision (the later ones
run); or written by release 0.1.0, whose tables exist without an ``alembic_version`` table.
That one is compared with revision 0001 (:func:`check_release_schema`): any difference but a
missing table (created) or a table that is not ours (left alone) raises
:class:`DatabaseSchemaError` naming it, and nothing is changed. If it matches, it is stamped
0001 and upgraded like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from resilience.storage.migrations.versions import r0001_initial

__all__ = [
    "DatabaseSchemaError",
    "Upgrade",
    "check_release_schema",
    "current_revision",
    "head_revision",
    "upgrade_database",
]

#: Differences with revision 0001 that adoption tolerates: a table of 0001 that the old
#: release had not created yet (it made some on first use), and a table that is not ours.
_TOLERATED = {"add_table", "remove_table"}


class DatabaseSchemaError(RuntimeError):
    """The database's schema is not one this release can upgrade; nothing was changed."""


@dataclass(frozen=True)
class Upgrade:
    """What :func:`upgrade_database` did: the revision before and after, and any adoption."""

    before: str | None
    after: str
    adopted: bool


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("resilience.storage.migrations")))
    return config


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """Return the newest revision this release knows (``"0003"``)."""
    head = _script().get_current_head()
    if head is None:  # pragma: no cover - the package ships its revisions
        raise DatabaseSchemaError("no migration revisions found in resilience.storage.migrations")
    return head


def current_revision(connection: Connection) -> str | None:
    """Return the revision stamped in the database, ``None`` if it has none."""
    return MigrationContext.configure(connection).get_current_revision()


def _describe(diff: Any) -> str:
    """Return one line for an Alembic ``compare_metadata`` difference."""
    if isinstance(diff, list):  # a column's modifications: [(op, schema, table, column, ...)]
        return "; ".join(
            f"{d[0]} {d[2]}.{d[3]}: {d[-2]!r} in the database, {d[-1]!r} in 0001" for d in diff
        )
    kind, *rest = diff
    names = [getattr(r, "name", None) or str(r) for r in rest if r is not None]
    return f"{kind} {' '.join(names)}"


def check_release_schema(connection: Connection) -> list[str]:
    """Check a database with no revision stamp against revision 0001; return missing tables.

    Parameters
    ----------
    connection : Connection
        A connection to the database (inside a transaction).

    Returns
    -------
    list of str
        The tables of 0001 not in the database (release 0.1.0 made some on first use).

    Raises
    ------
    DatabaseSchemaError
        If a table of 0001 differs (a column, a type, an index, a constraint), with each
        difference as Alembic's autogenerate reports it (``add_column``: 0001 has it and
        the database does not).
    """
    from alembic.autogenerate import compare_metadata

    context = MigrationContext.configure(connection, opts={"compare_type": True})
    diffs = compare_metadata(context, r0001_initial.schema())
    problems = [d for d in diffs if isinstance(d, list) or d[0] not in _TOLERATED]
    if problems:
        found = "\n  ".join(_describe(d) for d in problems)
        raise DatabaseSchemaError(
            "the database has tables of resilience but no alembic_version, and they do not "
            f"match revision 0001 (release 0.1.0); expected its schema, found:\n  {found}\n"
            "nothing was changed"
        )
    return sorted(d[1].name for d in diffs if not isinstance(d, list) and d[0] == "add_table")


def _is_release_database(connection: Connection) -> bool:
    ours = set(r0001_initial.schema().tables)
    return bool(ours & set(inspect(connection).get_table_names()))


def _check_known(revision: str | None) -> None:
    if revision is None:
        return
    try:
        _script().get_revision(revision)
    except CommandError as error:
        raise DatabaseSchemaError(
            f"the database is at revision {revision!r}, which this release does not know "
            f"(its newest is {head_revision()!r}): a newer release wrote it; install that one"
        ) from error


def _run(connection: Connection, destination: str) -> None:
    script = _script()

    def steps(revision: str | tuple[str, ...], _context: MigrationContext) -> list[Any]:
        # What `alembic upgrade` runs (alembic.command.upgrade passes the heads tuple too).
        return script._upgrade_revs(destination, revision)  # type: ignore[arg-type]

    with EnvironmentContext(_config(), script, fn=steps, destination_rev=destination) as env:
        env.configure(connection=connection, render_as_batch=True)
        with env.begin_transaction():
            env.run_migrations()


def upgrade_database(connection: Connection, destination: str = "head") -> Upgrade:
    """Upgrade the database of ``connection`` to ``destination``, keeping every row.

    Parameters
    ----------
    connection : Connection
        A connection inside a transaction the caller commits (on SQLite, one that makes DDL
        transactional), held under the caller's migration lock.
    destination : str
        Revision to reach; the newest by default.

    Returns
    -------
    Upgrade
        The revision before (``None``: empty or release 0.1.0) and after, and whether a
        release-0.1.0 database was adopted (checked, stamped 0001).

    Raises
    ------
    DatabaseSchemaError
        If an unstamped database does not match 0001, or the stamp is a revision this
        release does not know. Nothing is changed then.
    """
    before = current_revision(connection)
    _check_known(before)
    adopted = before is None and _is_release_database(connection)
    if adopted:
        check_release_schema(connection)
        r0001_initial.schema().create_all(connection, checkfirst=True)
        MigrationContext.configure(connection).stamp(_script(), "0001")
    _run(connection, destination)
    after = current_revision(connection)
    if after is None:  # pragma: no cover - alembic stamps every revision it runs
        raise DatabaseSchemaError(f"upgrade to {destination!r} left no revision stamp")
    return Upgrade(before=before, after=after, adopted=adopted)
