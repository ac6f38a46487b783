"""``resilience keys add|list|revoke|import``: API keys of the REST API, with roles.

``keys add NAME --role engineer|reviewer|agency [--agency ID]`` stores a new key's SHA-256 in
the database (``api_keys``) and prints the key, once, alone on the last line. ``keys list``
shows the stored keys (never a key), ``keys revoke NAME|ID`` stops one, and ``keys import``
copies the legacy keys file (``<data_dir>/api_keys.toml``) into the database as agency keys
(idempotent). Without ``--role``, ``keys add AGENCY [--label L] [--keys FILE]`` does what it
did before roles: it appends an agency key to the legacy file (default
``<data_dir>/api_keys.toml``), which the API still honours.
Registered on the main app by ``resilience.cli.main``; imports stay inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["keys_app"]

keys_app = typer.Typer(
    help="API keys of the REST API: engineers, reviewers and agencies.", no_args_is_help=True
)
console = Console()
error_console = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Settings TOML file (default: resilience.toml).")
]
RulesOption = Annotated[Path | None, typer.Option("--rules", help="Rule set YAML (agencies).")]
LegacyOption = Annotated[
    Path | None,
    typer.Option("--keys", help="Legacy keys file (TOML) instead of the database."),
]


def _fail(message: str) -> NoReturn:
    error_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code=2)


def _settings(config: Path | None) -> Any:  # noqa: ANN401 - pydantic Settings
    from resilience.cli.failure import read_settings  # bad settings: one line per field

    return read_settings(config)


def _engine(config: Path | None) -> tuple[Any, str]:
    """Return the configured database's engine and its URL without the password."""
    from sqlalchemy.engine import make_url

    from resilience.storage.database import make_engine

    url = _settings(config).resolved_database_url
    return make_engine(url), make_url(url).render_as_string(hide_password=True)


def _check_agency(agency: str, rules: Path | None) -> None:
    from resilience.early_warning.rule_models import RuleError
    from resilience.early_warning.rules import load_rules

    try:
        known = sorted(a.id for a in load_rules(rules).agencies)
    except RuleError as error:
        _fail(str(error))
    if agency not in known:
        _fail(f"unknown agency {agency!r}; expected one of {', '.join(known)}")


def _add_legacy(agency: str, label: str, path: Path, rules: Path | None) -> None:
    from resilience.api.legacy_keys import ApiKeyError, issue_api_key

    _check_agency(agency, rules)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        key = issue_api_key(path, agency, label=label)
    except (ApiKeyError, OSError) as error:  # nothing written: the file is as it was
        _fail(str(error))
    console.print(f"key for {agency} (stored as SHA-256 in {path}; shown only now):")
    typer.echo(key)


@keys_app.command("add")
def add_key(
    name: Annotated[str, typer.Argument(help="Who holds the key (unique; with --keys: agency).")],
    role: Annotated[
        str | None, typer.Option("--role", help="engineer, reviewer or agency.")
    ] = None,
    agency: Annotated[
        str | None, typer.Option("--agency", help="Agency id (role agency only).")
    ] = None,
    label: Annotated[
        str, typer.Option("--label", help="Legacy file only: who holds the key.")
    ] = "",
    keys: LegacyOption = None,
    rules: RulesOption = None,
    config: ConfigOption = None,
) -> None:
    """Issue an API key; it is shown once, on the last line, and only its SHA-256 is stored.

    Without --role (the form before roles), NAME is an agency id and the key goes to the
    legacy keys file.
    """
    if keys is not None or role is None:  # the form before roles: NAME is the agency
        if role is not None or agency is not None:
            _fail("--keys: the legacy keys file holds agency keys only (NAME is the agency)")
        _add_legacy(name, label, keys or _settings(config).data_dir / "api_keys.toml", rules)
        return
    from resilience.api.keys import add_api_key
    from resilience.api.legacy_keys import ApiKeyError

    if label:
        _fail("--label: for the legacy keys file only; NAME says who holds a key")
    if role == "agency" and agency is not None:
        _check_agency(agency, rules)
    engine, shown = _engine(config)
    try:
        stored, key = add_api_key(engine, name, role=role, agency=agency)
    except ApiKeyError as error:  # nothing stored
        _fail(str(error))
    whose = f"{stored.role}, agency {stored.agency}" if stored.agency else stored.role
    console.print(
        f"key #{stored.id} {stored.name!r} ({whose}) stored as SHA-256 in {shown}; shown only now:",
        highlight=False,
        markup=False,
    )
    typer.echo(key)


@keys_app.command("list")
def list_keys(config: ConfigOption = None) -> None:
    """List the stored keys (id, name, role, agency, created, revoked); never a key."""
    from resilience.api.keys import list_api_keys

    engine, shown = _engine(config)
    table = Table(title=f"API keys in {shown}")
    for header in ("id", "name", "role", "agency", "created", "revoked"):
        table.add_column(header)
    for key in list_api_keys(engine):
        revoked = key.revoked.isoformat(timespec="seconds") if key.revoked else ""
        created = key.created.isoformat(timespec="seconds")
        cells = (str(key.id), key.name, key.role, key.agency or "", created, revoked)
        table.add_row(*(Text(cell) for cell in cells))  # names print as text, never markup
    console.print(table)


@keys_app.command("revoke")
def revoke_key(
    key: Annotated[str, typer.Argument(help="Name or id of the key.")],
    config: ConfigOption = None,
) -> None:
    """Revoke a key: it stops working at once; its row stays for the record."""
    from resilience.api.keys import revoke_api_key

    engine, _ = _engine(config)
    try:
        revoked = revoke_api_key(engine, key)
    except KeyError as error:
        _fail(str(error.args[0]))
    console.print(f"revoked key #{revoked.id} {revoked.name!r}", highlight=False, markup=False)


@keys_app.command("import")
def import_keys(keys: LegacyOption = None, config: ConfigOption = None) -> None:
    """Copy the legacy keys file's agency keys into the database (again: nothing new)."""
    from resilience.api.keys import import_legacy_keys
    from resilience.api.legacy_keys import ApiKeyError

    path = keys or _settings(config).data_dir / "api_keys.toml"
    engine, shown = _engine(config)
    try:
        imported = import_legacy_keys(engine, path)
    except ApiKeyError as error:
        _fail(str(error))
    for key in imported:
        console.print(f"imported #{key.id} {key.name!r}", highlight=False, markup=False)
    console.print(f"{len(imported)} key(s) imported from {path} into {shown}", markup=False)
