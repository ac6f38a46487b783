import json

import pytest
from pydantic import ValidationError

from resilience.feasibility.check import run_check
from resilience.feasibility.models import CheckResult, Submission

BASE = {"project_name": "P", "asset_type": "hospital", "lon": 121.4, "lat": 31.2}


def test_defaults_come_from_the_catalogue():
    s = Submission(**BASE)
    assert (s.design_life_years, s.heat_threshold_degc, s.drainage_return_period_years) == (
        50,
        35.0,
        100.0,
    )
    assert s.protection_level_m is None


def test_given_standards_win_over_the_catalogue():
    s = Submission(**BASE, heat_threshold_degc=38.0, design_life_years=30)
    assert (s.heat_threshold_degc, s.design_life_years) == (38.0, 30)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"asset_type": "castle"}, r"unknown asset_type 'castle': expected one of \['airport'"),
        ({"lon": 116.4}, "lon 116.4 is outside the Shanghai domain 120.8-122.1 E"),
        ({"lat": 32.5}, "lat 32.5 is outside the Shanghai domain 30.6-31.9 N"),
        ({"design_life_years": 0}, "design_life_years"),
        ({"drainage_return_period_years": 1}, "drainage_return_period_years"),
        ({"criticality": 7}, "criticality"),
        ({"project_name": ""}, "project_name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_submissions_are_rejected(change, message):
    with pytest.raises(ValidationError, match=message):
        Submission(**{**BASE, **change})


def test_json_schema_exports():
    schema = CheckResult.model_json_schema()
    assert {"verdict", "rows", "advice", "layer_versions", "created"} <= set(schema["properties"])
    json.dumps(schema)
    assert "asset_type" in Submission.model_json_schema()["properties"]


def test_json_round_trip(hot_layers, submission):
    result = run_check(submission, hot_layers)
    text = result.model_dump_json()
    assert "NaN" not in text
    again = CheckResult.model_validate_json(text)
    assert again == result
