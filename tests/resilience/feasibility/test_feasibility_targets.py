import math

import pytest

from resilience.feasibility.check import hazard_targets
from resilience.feasibility.models import Submission


def submission(**changes):
    base = dict(
        project_name="p",
        asset_type="metro_station",
        lon=121.47,
        lat=31.23,
        design_life_years=50,
        start_year=2030,
        drainage_return_period_years=100,
    )
    base.update(changes)
    return Submission(**base)


def test_drainage_target_is_the_stationary_design_life_probability():
    targets = hazard_targets(submission(), 0.10)
    # A 100-yr standard over 50 years: 1 - 0.99**50 = 0.395 (encounter probability).
    assert targets["rain"] == pytest.approx(1 - 0.99**50, rel=1e-12)
    assert targets["heat"] == targets["surge"] == 0.10


def test_drainage_target_never_below_the_project_target():
    targets = hazard_targets(
        submission(drainage_return_period_years=10_000, design_life_years=5), 0.10
    )
    assert targets["rain"] == 0.10
    assert math.isclose(hazard_targets(submission(design_life_years=1), 0.2)["heat"], 0.2)


def test_life_horizons_overlap_the_design_life():
    import xarray as xr

    from resilience.feasibility.check import life_horizons

    exposure = xr.Dataset(
        coords={
            "horizon": ["baseline", "near", "mid", "far"],
            "start": ("horizon", [1995, 2021, 2041, 2081]),
            "end": ("horizon", [2014, 2040, 2060, 2100]),
        }
    )
    assert life_horizons(exposure, submission(start_year=2030, design_life_years=30)) == {
        "near",
        "mid",
    }
    assert life_horizons(exposure, submission(start_year=2030, design_life_years=100)) == {
        "near",
        "mid",
        "far",
    }
    # a life that falls between horizons is scored on every horizon rather than on none
    assert life_horizons(exposure, submission(start_year=2062, design_life_years=5)) == {
        "baseline",
        "near",
        "mid",
        "far",
    }
