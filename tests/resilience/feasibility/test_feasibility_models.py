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
    # a hospital's heat standard is a count of hot days (assets.catalogue)
    assert (s.heat_standard, s.heat_days_standard) == ("hot_days", 30.0)
    assert s.protection_level_m is None


def test_given_standards_win_over_the_catalogue():
    s = Submission(**BASE, heat_threshold_degc=37.0, heat_days_standard=12, design_life_years=30)
    assert (s.heat_threshold_degc, s.heat_days_standard, s.design_life_years) == (37.0, 12, 30)
    equipment = Submission(**BASE, heat_standard="equipment", heat_threshold_degc=38.0)
    assert (equipment.heat_threshold_degc, equipment.heat_days_standard) == (38.0, None)


def test_swapped_lat_and_lon_are_named():
    with pytest.raises(ValidationError, match=r"lat and lon look swapped \(lon 31.2, lat 121.4\)"):
        Submission(**{**BASE, "lon": 31.2, "lat": 121.4})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"asset_type": "castle"}, r"unknown asset_type 'castle': expected one of \['airport'"),
        ({"lon": 181.0}, r"lon 181: expected -180 to 180 degrees east \(WGS 84\)"),
        (
            {"lat": -91.0},
            r"lat -91: expected -90 to 90 degrees north \(WGS 84\) \[",
        ),  # no swap hint
        ({"heat_threshold_degc": 36.0}, r"hot-day standard counts days with Tmax >= one of"),
        ({"heat_days_standard": 400}, r"heat_days_standard 400: expected 0 to 366 days/yr"),
        (
            {"asset_type": "substation", "heat_days_standard": 20},
            "heat_days_standard: applies to a 'hot_days' heat standard only",
        ),
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
