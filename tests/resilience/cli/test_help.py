"""The command line as a newcomer meets it: --version, help without flag placeholders,
settings errors as one line per field (issue 19)."""

from __future__ import annotations

import typer
from typer.main import get_command
from typer.testing import CliRunner

from resilience import __version__
from resilience.cli.main import app

runner = CliRunner()


def _command_paths() -> list[list[str]]:
    """Every command and sub-command of the app, as argument lists."""
    root = get_command(app)
    paths = []

    def walk(group: typer.core.TyperGroup, prefix: list[str]) -> None:
        for name, command in group.commands.items():
            paths.append([*prefix, name])
            if hasattr(command, "commands"):
                walk(command, [*prefix, name])

    walk(root, [])  # type: ignore[arg-type]
    return paths


def test_version_option():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"resilience {__version__}"


def test_no_help_shows_a_value_placeholder_on_a_flag():
    paths = _command_paths()
    assert len(paths) > 20 and ["flood"] in paths and ["warn", "deliver"] in paths
    for path in [[], *paths]:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, path
    flood = runner.invoke(app, ["flood", "--help"], env={"COLUMNS": "100"}).output
    assert "<path>" in flood  # options that take a value keep their type


def test_bad_settings_are_one_line_per_field_not_a_traceback(tmp_path):
    config = tmp_path / "resilience.toml"
    config.write_text("design_life_target_probability = 2\nuse_prefect = 'perhaps'\n")
    result = runner.invoke(app, ["layers", "--config", str(config)])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    text = " ".join(result.output.split())
    assert "design_life_target_probability: expected less than 1, found 2" in text
    assert "use_prefect: expected true or false, found 'perhaps'" in text
