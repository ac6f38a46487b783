"""Validation errors reach people as one ``field: what was expected, found what`` a line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from resilience.cli.main import app
from resilience.feasibility.models import SubmissionError, read_submission
from resilience.settings import SettingsError, get_settings
from resilience.validation_text import describe, field_lines

SUBMISSION = {
    "project_name": "x",
    "asset_type": "hospital",
    "lon": 121.5,
    "lat": 31.2,
    "design_life_years": 50,
    "start_year": 2030,
}


def _write(folder: Path, **changes: object) -> Path:
    path = folder / "submission.json"
    path.write_text(json.dumps(SUBMISSION | changes))
    return path


def test_each_field_on_its_own_line_without_pydantic_links(tmp_path):
    path = _write(tmp_path, design_life_years="fifty", criticality=9, colour="red")
    with pytest.raises(SubmissionError) as info:
        read_submission(path)
    text = str(info.value)
    lines = text.splitlines()
    assert lines[0] == f"{path}: 3 fields are invalid"
    assert lines[1:] == [
        "  design_life_years: expected a whole number, found 'fifty'",
        "  criticality: criticality 9: expected 1 to 5 (the 1-5 consequence scale)",
        "  colour: not a known field, found 'red'",
    ]
    assert "pydantic.dev" not in text and "input_type" not in text


def test_swapped_coordinates_are_named(tmp_path):
    path = _write(tmp_path, lon=31.2, lat=121.5)
    with pytest.raises(SubmissionError, match="lat and lon look swapped") as info:
        read_submission(path)
    assert str(info.value).count("\n") == 0  # one field: one line, after the file name


def test_one_error_is_one_line_and_broken_json_says_where(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text('{"project_name": "x", ')
    with pytest.raises(SubmissionError) as info:
        read_submission(path)
    assert str(info.value).startswith(f"{path}: (whole document): expected JSON (")
    assert "column" in str(info.value)


def test_settings_name_their_source_and_field(tmp_path):
    config = tmp_path / "resilience.toml"
    config.write_text("design_life_target_probability = 2\nuse_prefect = 'perhaps'\n")
    with pytest.raises(SettingsError) as info:
        get_settings(config)
    lines = str(info.value).splitlines()
    assert str(config) in lines[0] and "2 fields are invalid" in lines[0]
    assert "  design_life_target_probability: expected less than 1, found 2" in lines
    assert "  use_prefect: expected true or false, found 'perhaps'" in lines


def test_check_command_prints_the_lines_and_exits_2(tmp_path):
    path = _write(tmp_path, design_life_years="fifty", lon=31.2, lat=121.5)
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "design_life_years: expected a whole number, found 'fifty'" in result.output
    assert "lat and lon look swapped" in result.output
    assert "Traceback" not in result.output and "pydantic.dev" not in result.output


def test_field_lines_of_plain_error_dicts():
    errors = [
        {"type": "missing", "loc": ("agencies", 0, "id"), "msg": "Field required"},
        {"type": "value_error", "loc": (), "msg": "Value error, horizons overlap", "input": {}},
    ]
    assert field_lines(errors) == [
        "agencies.0.id: required, missing",
        "(whole document): horizons overlap",
    ]


def test_describe_prefix_and_long_values_are_cut(tmp_path):
    from pydantic import BaseModel, ValidationError

    class Model(BaseModel):
        count: int

    with pytest.raises(ValidationError) as info:
        Model(count="x" * 500)
    text = describe("thing.yaml", info.value, prefix="field ")
    assert text.startswith("thing.yaml: field count: expected a whole number, found 'xxx")
    assert text.endswith("...") and len(text) < 120
