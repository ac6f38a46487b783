"""Faults of issue 13 items 9, 10 and 11: a feasibility submission and the ``check`` command.

9: a database that cannot store the check must not take the report with it; 10: absurd
design standards (1e308 degC, NaN, ``true``) are rejected with the field and its range; 11: a
submission's text is plain text on the terminal (no rich markup, no control sequences), and a
file that is not UTF-8 is a clear error.
"""

import importlib.util
import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from resilience.cli.main import app
from resilience.feasibility.check import run_check
from resilience.feasibility.models import Submission
from resilience.feasibility.report import format_table, terminal_text
from resilience.sample.bundle import EXAMPLE_SUBMISSION
from resilience.storage.layer_store import LayerStore

runner = CliRunner()


def _make_layers():
    """The synthetic heat, rain and surge layers of the feasibility tests' conftest."""
    path = Path(__file__).parents[1] / "resilience" / "feasibility" / "conftest.py"
    spec = importlib.util.spec_from_file_location("feasibility_layer_factory", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_layers()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A data directory whose layer store holds published heat, rain and surge layers."""
    root = tmp_path_factory.mktemp("data")
    store = LayerStore(root / "layers")
    for name, layer in _make_layers().items():
        store.publish(name, layer)
    return root


def _config(tmp_path: Path, data_dir: Path, database_url: str | None = None) -> Path:
    lines = [f"data_dir = {json.dumps(str(data_dir))}", "use_prefect = false"]
    if database_url is not None:
        lines.append(f"database_url = {json.dumps(database_url)}")
    path = tmp_path / "resilience.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _submission_file(tmp_path: Path, **changes: object) -> Path:
    path = tmp_path / "submission.json"
    path.write_text(json.dumps({**EXAMPLE_SUBMISSION, **changes}), encoding="utf-8")
    return path


# --- 13.10: physical ranges, finite numbers, no booleans ------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("heat_threshold_degc", 1e308, r"heat_threshold_degc 1e\+308: expected -90 to 60 degC"),
        ("heat_threshold_degc", -273, r"heat_threshold_degc -273: expected -90 to 60 degC"),
        ("protection_level_m", -1e300, r"protection_level_m -1e\+300: expected -20 to 100 m"),
        ("ground_elevation_m", 1e6, r"ground_elevation_m 1e\+06: expected -20 to 100 m"),
        (
            "drainage_return_period_years",
            1e300,
            r"drainage_return_period_years 1e\+300: expected more than 1 to 100000 years",
        ),
        ("replacement_value", 1e300, r"replacement_value 1e\+300: expected 0 to 1e\+13 CNY"),
    ],
)
@pytest.mark.fault("13.10", "absurd design standard is rejected with field and range")
def test_absurd_standards_are_rejected(field, value, message):
    with pytest.raises(ValidationError, match=message):
        Submission(**{**EXAMPLE_SUBMISSION, field: value})


@pytest.mark.parametrize(
    ("field", "token", "message"),
    [
        ("heat_threshold_degc", "NaN", "heat_threshold_degc\n  Input should be a finite number"),
        ("protection_level_m", "Infinity", "protection_level_m\n  Input should be a finite"),
        ("ground_elevation_m", "-Infinity", "ground_elevation_m\n  Input should be a finite"),
        ("criticality", "true", "criticality\n  Input should be a valid integer"),
        ("heat_threshold_degc", "true", "heat_threshold_degc\n  Input should be a valid number"),
        ("design_life_years", "false", "design_life_years\n  Input should be a valid integer"),
    ],
)
@pytest.mark.fault("13.10", "NaN, Infinity or a boolean in a numeric field is rejected")
def test_non_numbers_in_json_are_rejected(field, token, message):
    text = json.dumps({**EXAMPLE_SUBMISSION, field: "@@"}).replace('"@@"', token)
    with pytest.raises(ValidationError, match=message):
        Submission.model_validate_json(text)


def test_the_ranges_keep_real_submissions():
    """The bundled example and the ends of every range stay valid."""
    assert Submission(**EXAMPLE_SUBMISSION).heat_threshold_degc == 40.0
    edges = {
        "heat_threshold_degc": 60,
        "ground_elevation_m": -20.0,
        "protection_level_m": 100.0,
        "drainage_return_period_years": 100_000,
        "design_life_years": 300,
        "replacement_value": 0,
    }
    submission = Submission(**{**EXAMPLE_SUBMISSION, **edges})
    assert submission.heat_threshold_degc == 60.0 and submission.protection_level_m == 100.0


# --- 13.11: plain text on the terminal, UTF-8 input -----------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [("station\x00", "U\\+0000"), ("\x1b[2J\x1b[31mred", "U\\+001B"), ("a\x9bb", "U\\+009B")],
)
@pytest.mark.fault("13.11", "NUL, ANSI escape or C1 control in project_name is rejected")
def test_control_characters_in_names_are_rejected(name, code):
    with pytest.raises(ValidationError, match=f"project_name: expected plain text, .*{code}"):
        Submission(**{**EXAMPLE_SUBMISSION, "project_name": name})


@pytest.mark.fault("13.11", "check table prints a stored name with ANSI/NUL/markup as text")
def test_check_table_shows_names_as_plain_text():
    """A result stored before names were checked still prints as text, not as control codes."""
    submission = Submission(**EXAMPLE_SUBMISSION)
    result = run_check(submission, _make_layers())
    hostile = "\x1b]0;pwned\x07\x1b[31m[bold]Red[/bold]\x00 [link=file:///etc]x[/link]"
    result.submission = Submission.model_construct(
        **{**submission.model_dump(), "project_name": hostile}
    )
    console = Console(record=True, width=200, color_system=None)
    console.print(format_table(result))
    text = console.export_text()
    assert "\x1b" not in text and "\x00" not in text and "\x07" not in text
    assert "[bold]Red[/bold]" in text and "[link=file:///etc]x[/link]" in text


def test_terminal_text_keeps_ordinary_text():
    assert terminal_text("Bund interchange (example) 外滩") == "Bund interchange (example) 外滩"


@pytest.mark.fault("13.11", "project_name '[/bold]' prints as text, check exits 0")
def test_markup_in_project_name_prints_as_text(tmp_path, data_dir):
    submission = _submission_file(tmp_path, project_name="Bund [/bold] station [red]")
    config = _config(tmp_path, data_dir)
    result = runner.invoke(app, ["check", str(submission), "--config", str(config)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "Bund [/bold] station [red]" in result.output
    assert "stored as check #" in result.output


@pytest.mark.fault("13.11", "non-UTF-8 submission: error names the file and UTF-8")
def test_non_utf8_submission_is_a_clear_error(tmp_path, data_dir):
    submission = tmp_path / "gbk.json"
    text = json.dumps({**EXAMPLE_SUBMISSION, "project_name": "外滩站"}, ensure_ascii=False)
    submission.write_bytes(text.encode("gbk"))
    config = _config(tmp_path, data_dir)
    result = runner.invoke(app, ["check", str(submission), "--config", str(config)])
    assert result.exit_code == 2, result.output + repr(result.exception)
    assert "gbk.json: expected UTF-8 encoded JSON, found byte 0x" in result.output
    assert "Traceback" not in result.output


@pytest.mark.fault("13.11", "markup in a rejected submission's error message prints as text")
def test_markup_in_an_invalid_submission_prints_as_text(tmp_path, data_dir):
    submission = _submission_file(tmp_path, project_name="[/bold]" * 40)  # too long: 280
    config = _config(tmp_path, data_dir)
    result = runner.invoke(app, ["check", str(submission), "--config", str(config)])
    assert result.exit_code == 2, result.output + repr(result.exception)
    assert "project_name" in result.output and "[/bold][/bold]" in result.output


# --- 13.9: the report survives a database that cannot store the check -----------------------


@pytest.mark.fault("13.9", "check: database cannot be opened; report kept, exit 2")
def test_report_is_kept_when_the_database_cannot_be_opened(tmp_path, data_dir):
    directory = tmp_path / "not-a-database.db"
    directory.mkdir()  # SQLite cannot open a directory: "unable to open database file"
    config = _config(tmp_path, data_dir, f"sqlite:///{directory}")
    submission = _submission_file(tmp_path)
    reports = tmp_path / "reports"
    result = runner.invoke(
        app, ["check", str(submission), "--report", str(reports), "--config", str(config)]
    )
    assert result.exit_code == 2, result.output + repr(result.exception)
    html, json_file = sorted(reports.glob("check_*.html")), sorted(reports.glob("check_*.json"))
    assert len(html) == 1 and len(json_file) == 1
    assert json.loads(json_file[0].read_text())["verdict"] in {
        "feasible",
        "feasible_with_adaptation",
        "not_feasible",
    }
    output = " ".join(result.output.split())  # rich wraps long lines
    assert "was not stored in sqlite:///" in output
    assert "unable to open database file" in output
    assert f"the report was kept in {html[0]}" in output


@pytest.mark.fault("13.9", "check: database is locked; report kept, exit 2")
def test_report_is_kept_when_the_database_is_locked(tmp_path, data_dir, monkeypatch):
    def locked(*args: object, **kwargs: object) -> int:
        raise OperationalError("INSERT INTO submissions", {}, Exception("database is locked"))

    monkeypatch.setattr("resilience.feasibility.store.save_check", locked)
    config = _config(tmp_path, data_dir, f"sqlite:///{tmp_path / 'resilience.db'}")
    submission = _submission_file(tmp_path)
    reports = tmp_path / "reports"
    result = runner.invoke(
        app, ["check", str(submission), "--report", str(reports), "--config", str(config)]
    )
    assert result.exit_code == 2, result.output + repr(result.exception)
    output = " ".join(result.output.split())
    assert "database is locked" in output
    assert "the report was kept in" in output and str(reports) in output
    assert len(list(reports.glob("check_*.html"))) == 1


@pytest.mark.fault("13.9", "check without --report: a failed store says nothing was kept")
def test_failed_store_without_report_says_so(tmp_path, data_dir):
    directory = tmp_path / "db-dir"
    directory.mkdir()
    config = _config(tmp_path, data_dir, f"sqlite:///{directory}")
    result = runner.invoke(app, ["check", str(_submission_file(tmp_path)), "--config", str(config)])
    assert result.exit_code == 2, result.output + repr(result.exception)
    assert "no report was written (pass --report DIR to keep one)" in " ".join(
        result.output.split()
    )
