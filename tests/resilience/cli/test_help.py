"""The command line as a newcomer meets it: --version, help without flag placeholders,
settings errors as one line per field (issue 19)."""

from __future__ import annotations

import pytest
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


@pytest.mark.parametrize(
    "args",
    [
        ["layers"],
        ["db", "upgrade"],
        ["keys", "list"],
        ["hazards", "heat", "--projections", "nowhere"],
        ["cascade", "--no-figure"],
    ],
)
def test_every_command_reading_settings_fails_in_one_line(tmp_path, args):
    config = tmp_path / "resilience.toml"
    config.write_text("dask_address = 5\ncolour = 'blue'\n")
    result = runner.invoke(app, [*args, "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert "colour: not a known field" in " ".join(result.output.split())


def test_an_unreachable_scheduler_is_one_line_not_a_traceback(tmp_path):
    config = tmp_path / "resilience.toml"
    config.write_text(f'data_dir = "{tmp_path}"\ndask_address = "tcp://127.0.0.1:9"\n')
    (tmp_path / "projections").mkdir()
    result = runner.invoke(
        app,
        [
            "hazards",
            "heat",
            "--projections",
            str(tmp_path / "projections"),
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "cannot reach the dask scheduler at tcp://127.0.0.1:9" in " ".join(result.output.split())
