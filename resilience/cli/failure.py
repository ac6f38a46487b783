"""How the warning commands fail: one error line and exit 2, also for bad settings and rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

__all__ = ["fail", "read_rules", "read_settings"]

error_console = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with status 2 (a usage or input error)."""
    error_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=2)


def read_settings(config: Path | None, **overrides: Any):  # noqa: ANN201 - Settings
    """Return the settings of ``config`` with the overrides that are not None, or fail."""
    from resilience.settings import SettingsError, get_settings

    try:
        return get_settings(config, **{k: v for k, v in overrides.items() if v is not None})
    except (FileNotFoundError, SettingsError) as error:
        fail(str(error))


def read_rules(path: Path | None):  # noqa: ANN201 - RuleSet
    """Return the rule set at ``path`` (default: the shipped rules), or fail naming the error."""
    from resilience.early_warning.rule_models import RuleError
    from resilience.early_warning.rules import load_rules

    try:
        return load_rules(path)
    except RuleError as error:
        fail(str(error))
