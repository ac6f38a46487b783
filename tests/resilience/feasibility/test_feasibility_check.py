import math

import pytest

from hazard_models.layer import SchemaError
from resilience.feasibility.check import FeasibilityError, run_check


def _worst(result, hazard):
    values = [r.design_life_exceedance_probability for r in result.rows if r.hazard == hazard]
    return max(v for v in values if v is not None)


def test_exceeded_standards_give_adaptation_advice(hot_layers, submission):
    result = run_check(submission, hot_layers, target_probability=0.10)
    assert result.verdict in ("not_feasible", "feasible_with_adaptation")
    advised = {a.hazard: a for a in result.advice}
    assert {"heat", "surge"} <= set(advised)
    assert len(result.rows) == 3 * 2 * 4  # hazards x scenarios x horizons
    assert advised["heat"].worst_scenario == "ssp585"  # ssp585 warms twice as fast
    assert advised["surge"].message.startswith("raise protection level from 6.00 m to ")
    assert advised["heat"].advised_standard > submission.heat_threshold_degc


def test_advised_values_bring_probability_under_target(hot_layers, submission):
    result = run_check(submission, hot_layers, target_probability=0.10)
    advised = {a.hazard: a.advised_standard for a in result.advice}
    changed = submission.model_copy(
        update={"heat_threshold_degc": advised["heat"], "protection_level_m": advised["surge"]}
    )
    recheck = run_check(changed, hot_layers, target_probability=0.10)
    for hazard in ("heat", "surge"):
        assert _worst(result, hazard) > 0.10
        assert _worst(recheck, hazard) <= 0.10
        # rounding up is at most one step (0.1 degC / 0.01 m): still close to the target
        assert _worst(recheck, hazard) > 0.05


def test_rain_advice_is_a_longer_storm(layer_factory, submission):
    layers = layer_factory(rain_loc=120.0, warming=4.0)
    result = run_check(submission, layers)
    rain = next(a for a in result.advice if a.hazard == "rain")
    assert rain.advised_return_period_years > submission.drainage_return_period_years
    assert "size drainage for the" in rain.message and "mm/day" in rain.message
    # re-check with the advised period: the standard becomes the advised baseline level
    changed = submission.model_copy(
        update={"drainage_return_period_years": rain.advised_return_period_years}
    )
    # the advised storm restores the reliability the original standard promised in a
    # stationary climate (check.hazard_targets); 1e-6 covers the rounding of the period
    assert _worst(run_check(changed, layers), "rain") <= result.hazard_targets["rain"] + 1e-6


def test_mild_climate_is_feasible(mild_layers, submission):
    # a 100-yr drainage standard is exceeded over 50 years with p = 1 - 0.99**50 = 39 % even
    # in a stationary climate, so a feasible site needs a rarer storm (docs/feasibility.md)
    result = run_check(
        submission.model_copy(update={"drainage_return_period_years": 1000.0}), mild_layers
    )
    assert result.verdict == "feasible"
    assert result.advice == []
    assert all(r.design_life_exceedance_probability <= 0.10 for r in result.rows)


def test_without_protection_or_ground_there_is_no_surge_check(hot_layers, submission):
    bare = submission.model_copy(update={"protection_level_m": None, "ground_elevation_m": None})
    result = run_check(bare, hot_layers)
    assert "surge" in result.not_checked
    surge = [r for r in result.rows if r.hazard == "surge"]
    assert surge and all(r.design_life_exceedance_probability is None for r in surge)
    assert all(r.risk_class == "not assessed" for r in surge)
    assert all(r.flood_depth_m is None for r in surge)
    assert not math.isnan(surge[0].metric_value)
    assert not [t for t in result.tipping_points if t.hazard == "surge"]


def test_without_protection_the_ground_elevation_is_the_surge_standard(hot_layers, submission):
    # ground 4.2 m against a still water GEV with loc 5.2 m: flooded in most years
    result = run_check(submission.model_copy(update={"protection_level_m": None}), hot_layers)
    assert "surge" not in result.not_checked
    surge = [r for r in result.rows if r.hazard == "surge"]
    assert all(r.standard == 4.2 for r in surge)
    assert all(r.standard_basis.startswith("ground elevation") for r in surge)
    baseline = next(r for r in surge if r.horizon == "baseline")
    # Gumbel(5.2, 0.25): P(level > 4.2) = 1 - exp(-exp(4)) ~ 1
    assert baseline.annual_exceedance_probability == pytest.approx(1 - math.exp(-math.exp(4.0)))
    # flood depth = 100-yr still water - ground (static bound)
    assert baseline.flood_depth_m == pytest.approx(baseline.metric_value - 4.2)
    advice = next(a for a in result.advice if a.hazard == "surge")
    assert advice.message.startswith("protect the site to ")
    protected = run_check(submission, hot_layers)  # protection 6.0 m given: it governs
    assert all(
        r.standard == 6.0 and r.standard_basis.startswith("protection level")
        for r in protected.rows
        if r.hazard == "surge"
    )
    # the flood depth is reported whenever the ground is known, protected or not
    assert all(r.flood_depth_m is not None for r in protected.rows if r.hazard == "surge")


def test_flood_depth_is_zero_on_high_ground(mild_layers, submission):
    high = run_check(submission.model_copy(update={"ground_elevation_m": 9.0}), mild_layers)
    assert all(r.flood_depth_m == 0.0 for r in high.rows if r.hazard == "surge")


def test_layer_versions_and_synthetic_flag(hot_layers, submission):
    result = run_check(submission, hot_layers)
    assert result.layer_versions == {h: "1:0123456789ab" for h in ("heat", "rain", "surge")}
    assert result.synthetic_data is True


def test_missing_layer_is_named(hot_layers, submission):
    del hot_layers["rain"]
    with pytest.raises(FeasibilityError, match=r"missing hazard layers \['rain'\]"):
        run_check(submission, hot_layers)


def test_missing_variable_is_named(hot_layers, submission):
    hot_layers["heat"] = hot_layers["heat"].drop_vars("txx_gev_scale")
    with pytest.raises(FeasibilityError, match="heat layer: missing variables"):
        run_check(submission, hot_layers)


def test_site_outside_a_layer_is_rejected(hot_layers, submission):
    hot_layers["heat"] = hot_layers["heat"].isel(lat=slice(0, 2), lon=slice(0, 2))
    with pytest.raises(FeasibilityError, match="outside the heat layer"):
        run_check(submission, hot_layers)


def test_invalid_layer_is_rejected(hot_layers, submission):
    hot_layers["surge"].attrs.pop("inputs_sha256")
    with pytest.raises(SchemaError, match="expected global attributes"):
        run_check(submission, hot_layers)
