"""``resilience db``: the database's schema revision, and upgrading it (decisions.md D28).

``db current`` reads the revision without changing anything; ``db upgrade`` does what the
first use of a database does anyway (:func:`resilience.storage.database.make_engine`); both
list the rows an upgrade had to rename (``migration_reports``).
Registered on the main app by ``resilience.cli.main``; imports stay inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

__all__ = ["db_app"]

db_app = typer.Typer(help="The database schema: current revision, upgrade.", no_args_is_help=True)
console = Console()
error_console = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Settings TOML file (default: resilience.toml).")
]
UrlOption = Annotated[
    str | None, typer.Option("--database-url", help="SQLAlchemy URL (default: from settings).")
]


def _fail(message: str) -> NoReturn:
    error_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=2)


def _url(config: Path | None, url: str | None) -> str:
    if url:
        return url
    from resilience.cli.failure import read_settings  # bad settings: one line per field

    return str(read_settings(config).resolved_database_url)


def _reports(url: str) -> list[tuple]:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("migration_reports"):
                return []
            query = (
                "SELECT revision, table_name, row_id, old_value, new_value FROM migration_reports"
            )
            return [tuple(row) for row in connection.execute(text(query + " ORDER BY id"))]
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    """Return the database's revision without creating or changing anything."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from resilience.storage.migrations.migration import current_revision

    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        if not Path(database).is_file():
            _fail(f"no database at {database}")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    finally:
        engine.dispose()


def _print_reports(url: str) -> None:
    for report in _reports(url):
        console.print("  report: revision {} {}.id {}: {!r} -> {!r}".format(*report))


@db_app.command("current")
def current_command(config: ConfigOption = None, database_url: UrlOption = None) -> None:
    """Print the database's schema revision and the newest one; change nothing."""
    from resilience.storage.migrations.migration import head_revision

    url = _url(config, database_url)
    revision = _revision(url) or "none (empty, or written by release 0.1.0)"
    console.print(f"revision {revision}; newest {head_revision()}", highlight=False)
    _print_reports(url)


@db_app.command("upgrade")
def upgrade_command(config: ConfigOption = None, database_url: UrlOption = None) -> None:
    """Upgrade the database to the newest revision, keeping every row (exit 2 if refused)."""
    from resilience.storage.database import make_engine
    from resilience.storage.migrations.migration import DatabaseSchemaError, head_revision

    url = _url(config, database_url)
    head = head_revision()
    try:
        make_engine(url).dispose()
    except DatabaseSchemaError as error:
        _fail(str(error))
    console.print(f"database at revision {_revision(url)} (newest {head})", highlight=False)
    _print_reports(url)
