"""The science of a check (issue 14 item 3): heat semantics per asset type, model spread,
tipping points, adaptation options and the governing hazard."""

import math

import numpy as np
import pytest
from scipy.stats import nbinom
from scipy.stats import poisson as poisson_distribution

from assets.hot_days import HOT_DAY_DISPERSION
from resilience.feasibility.check import run_check
from resilience.feasibility.models import CheckResult, Submission
from resilience.feasibility.tipping import first_year_above

poisson_sf = poisson_distribution.sf
HOSPITAL = {"project_name": "Ruijin east wing", "asset_type": "hospital", "lon": 121.45}


def with_hot_days(layers, means, spread=(0.8, 1.25)):
    """Add tx_days_above_35 with per-horizon mean counts (both scenarios) and a model spread."""
    heat = layers["heat"]
    median = np.asarray(means, dtype=float)[None, :, None, None, None]
    factors = np.asarray([spread[0], 1.0, spread[1]])[None, None, :, None, None]
    shape = (heat.sizes["scenario"], heat.sizes["horizon"], 3, heat.sizes["lat"], heat.sizes["lon"])
    counts = np.broadcast_to(median * factors, shape).copy()
    dims = ("scenario", "horizon", "quantile", "lat", "lon")
    attrs = {"units": "days", "long_name": "days Tmax >= 35 degC", "method": "test"}
    layers["heat"] = heat.assign(tx_days_above_35=(dims, counts, attrs))
    return layers


def with_spread(layers, hazard, below, above):
    """Shift the lowest/highest quantile return levels by ``below``/``above`` (layer units)."""
    layer = layers[hazard]
    metric = {"heat": "txx", "rain": "rx1day", "surge": "still_water_level"}[hazard]
    levels = layer[metric].copy()
    levels[{"quantile": 0}] = levels.isel(quantile=1) - below
    levels[{"quantile": -1}] = levels.isel(quantile=1) + above
    layers[hazard] = layer.assign({metric: levels})
    return layers


def _rows(result, hazard, **where):
    return [
        r
        for r in result.rows
        if r.hazard == hazard and all(getattr(r, k) == v for k, v in where.items())
    ]


def test_hospital_heat_is_a_count_of_hot_days_and_passes_today(hot_layers):
    # TXx ~ Gumbel(39, 1) makes every day-count-free 35 degC standard fail (the old bug:
    # 99.99 %); 5 hot days a year on average against a 30-day plan does not.
    layers = with_hot_days(hot_layers, [5.0, 5.0, 5.0, 5.0])
    site = Submission(**HOSPITAL, lat=31.3, protection_level_m=8.0)
    result = run_check(site, layers)
    heat = _rows(result, "heat")
    k = HOT_DAY_DISPERSION
    expected = nbinom.sf(30, k, k / (k + 5.0))  # P(N > 30), N ~ NB2(mean 5, k)
    assert all(r.annual_exceedance_probability == pytest.approx(expected, rel=1e-9) for r in heat)
    assert all(r.standard == 30.0 and r.standard_units == "days/yr" for r in heat)
    assert heat[0].metric == "tx_days_above_35_median" and heat[0].metric_value == 5.0
    assert "days per year with daily Tmax >= 35 degC" in heat[0].standard_basis
    assert all(r.risk_class == "low" for r in heat)
    life = 1 - (1 - expected) ** 50
    assert heat[0].design_life_exceedance_probability == pytest.approx(life, rel=1e-9)
    assert life < 0.10 and "heat" not in {a.hazard for a in result.advice}
    # the same hospital judged as equipment against TXx fails, as every hospital did before
    old = run_check(
        site.model_copy(update={"heat_standard": "equipment", "heat_days_standard": None}), layers
    )
    assert min(r.design_life_exceedance_probability for r in _rows(old, "heat")) > 0.99


def test_hot_day_dispersion_is_a_recorded_parameter(hot_layers):
    layers = with_hot_days(hot_layers, [9.0, 9.0, 9.0, 9.0])
    site = Submission(**HOSPITAL, lat=31.3, protection_level_m=8.0)
    default = run_check(site, layers)
    poisson = run_check(site, layers, hot_day_dispersion=math.inf)
    assert default.parameters["hot_day_dispersion"] == HOT_DAY_DISPERSION
    assert poisson.parameters["hot_day_dispersion"] == "inf"
    row = _rows(poisson, "heat")[0]
    assert row.annual_exceedance_probability == pytest.approx(poisson_sf(30, 9.0), rel=1e-9)
    # overdispersion makes a hot summer likelier; the hash tells the two apart
    assert (
        _rows(default, "heat")[0].annual_exceedance_probability > row.annual_exceedance_probability
    )
    assert default.result_hash != poisson.result_hash
    assert CheckResult.model_validate_json(poisson.model_dump_json()) == poisson


def test_hot_day_advice_is_a_whole_number_of_days_that_meets_the_target(hot_layers):
    layers = with_hot_days(hot_layers, [9.0, 20.0, 30.0, 45.0])
    site = Submission(**HOSPITAL, lat=31.3, protection_level_m=8.0)
    result = run_check(site, layers)
    advice = next(a for a in result.advice if a.hazard == "heat")
    assert advice.advised_standard == int(advice.advised_standard) > 30
    assert advice.message.startswith(
        f"plan cooling and heat-stress measures for {advice.advised_standard:.0f} days"
    )
    recheck = run_check(
        site.model_copy(update={"heat_days_standard": advice.advised_standard}), layers
    )
    worst = max(r.design_life_exceedance_probability for r in _rows(recheck, "heat"))
    one_less = site.model_copy(update={"heat_days_standard": advice.advised_standard - 1})
    short = max(
        r.design_life_exceedance_probability for r in _rows(run_check(one_less, layers), "heat")
    )
    assert worst <= 0.10 < short  # the smallest whole number of days that meets the target


def test_spread_is_ordered_and_shifts_the_gev_location(hot_layers, submission):
    layers = with_spread(hot_layers, "heat", below=0.5, above=0.7)
    layers = with_spread(layers, "surge", below=0.05, above=0.2)
    result = run_check(submission, layers)
    for r in result.rows:
        for name in (
            "metric_value",
            "annual_exceedance_probability",
            "design_life_exceedance_probability",
        ):
            low, mid, high = (getattr(r, name + s) for s in ("_p10", "", "_p90"))
            assert low <= mid <= high, (r.hazard, r.scenario, r.horizon, name)
    # Known answer: Gumbel(39, 1) baseline; the 10 % levels are 0.5 degC lower at every
    # return period, so the 10 % end is Gumbel(38.5, 1): P(TXx > 40) = 1 - exp(-exp(-1.5)).
    base = _rows(result, "heat", scenario="ssp126", horizon="baseline")[0]
    assert base.annual_exceedance_probability_p10 == pytest.approx(1 - math.exp(-math.exp(-1.5)))
    assert base.annual_exceedance_probability_p90 == pytest.approx(1 - math.exp(-math.exp(-0.3)))
    assert base.metric_value_p90 - base.metric_value == pytest.approx(0.7)
    assert base.spread_quantiles == (0.1, 0.9)
    assert _rows(result, "surge")[0].spread_quantiles == (0.17, 0.83)
    wide = [
        r
        for r in result.rows
        if r.annual_exceedance_probability_p90 > r.annual_exceedance_probability_p10
    ]
    assert wide, "a spread of the levels must widen the probabilities"


def _gumbel_p(x, loc, scale):
    return 1 - math.exp(-math.exp(-(x - loc) / scale))


def test_tipping_year_matches_a_hand_computation(layer_factory, submission):
    # heat: Gumbel scale 1, loc 32 + warming x STEP (0, 1, 2, 4) x (0.5 ssp126, 1 ssp585)
    layers = layer_factory(heat_loc=32.0, surge_loc=3.0)
    site = submission.model_copy(
        update={"heat_threshold_degc": 40.0, "start_year": 2030, "design_life_years": 50}
    )
    result = run_check(site, layers)
    threshold = 1 - 0.9 ** (1 / 50)  # annual equivalent of the 10 % target over 50 years
    mids = [2004.5, 2030.5, 2050.5, 2090.5]
    for scenario, factor in (("ssp126", 0.5), ("ssp585", 1.0)):
        locs = [32.0 + factor * step for step in (0.0, 1.0, 2.0, 4.0)]
        p = [_gumbel_p(40.0, loc, 1.0) for loc in locs]
        expected = None
        for year in range(1995, 2101):  # explicit loop, linear between mid-years
            if year <= mids[0]:
                p_year = p[0]
            elif year >= mids[-1]:
                p_year = p[-1]
            else:
                i = max(j for j in range(3) if mids[j] <= year)
                w = (year - mids[i]) / (mids[i + 1] - mids[i])
                p_year = p[i] * (1 - w) + p[i + 1] * w
            if p_year > threshold:
                expected = year
                break
        point = next(
            t for t in result.tipping_points if t.hazard == "heat" and t.scenario == scenario
        )
        assert point.year == expected, scenario
        assert "p* = 1 - (1 - P)^(1/L)" in point.rule
    statuses = {t.scenario: (t.year, t.status) for t in result.tipping_points if t.hazard == "heat"}
    # roughly by hand: ssp585 crosses about 3/4 of the way from 2030.5 to 2050.5, ssp126
    # from 2050.5 to 2090.5; the design life is 2030-2079
    assert statuses == {"ssp585": (2046, "within_life"), "ssp126": (2082, "after_life")}


def test_first_year_above_simple_case():
    # p rises from 0.02 (2030.5) to 0.03 (2050.5): above 0.025 after 2040.5, so 2041
    annual = np.array([[0.01, 0.02, 0.03, 0.05], [0.001, 0.001, 0.001, 0.001]])
    years = np.arange(1995, 2101)
    got = first_year_above(annual, np.array([2004.5, 2030.5, 2050.5, 2090.5]), years, 0.025)
    assert got[0] == 2041 and np.isnan(got[1])


def test_tipping_statuses(layer_factory, submission):
    hot = run_check(submission, layer_factory(heat_loc=39.0))  # fails already in the baseline
    assert {t.status for t in hot.tipping_points if t.hazard == "heat"} == {"before_start"}
    cool = run_check(submission, layer_factory(heat_loc=20.0, warming=0.0))
    assert {(t.status, t.year) for t in cool.tipping_points if t.hazard == "heat"} == {
        ("not_reached", None)
    }
    late = submission.model_copy(update={"start_year": 2090, "design_life_years": 120})
    points = run_check(late, layer_factory(heat_loc=20.0, warming=0.0)).tipping_points
    assert all("projections end in 2100" in t.rule for t in points)


@pytest.mark.parametrize(
    "life",
    [{}, {"start_year": 2090, "design_life_years": 120}],  # the second runs past 2100
    ids=["within-horizons", "extrapolated"],
)
def test_options_give_the_verdict_of_a_recheck(hot_layers, submission, life):
    site = submission.model_copy(update={"drainage_return_period_years": 100_000.0, **life})
    result = run_check(site, hot_layers)
    by_hazard = {o.hazard: o for o in result.options}
    assert set(by_hazard) == {"heat", "surge", "combined"}
    fields = {"heat": "heat_threshold_degc", "surge": "protection_level_m"}
    for hazard, field in fields.items():
        option = by_hazard[hazard]
        recheck = run_check(site.model_copy(update={field: option.standard}), hot_layers)
        assert option.verdict == recheck.verdict
        worst = max(r.design_life_exceedance_probability for r in _rows(recheck, hazard))
        assert option.design_life_exceedance_probability == pytest.approx(worst, rel=1e-12)
    combined = by_hazard["combined"]
    both = site.model_copy(update={fields[h]: v for h, v in combined.changes.items()})
    assert combined.verdict == run_check(both, hot_layers).verdict == "feasible"
    assert combined.standard is None and set(combined.changes) == {"heat", "surge"}


def test_governing_hazard_is_the_top_score_then_probability(hot_layers, submission):
    result = run_check(submission, hot_layers)
    checked = [r for r in result.rows if r.score is not None]
    top = max(r.score for r in checked)
    best = max(
        (r for r in checked if r.score == top), key=lambda r: r.design_life_exceedance_probability
    )
    assert result.governing_hazard == best.hazard
    assert result.overall_score == top


def test_a_seawall_is_judged_on_surge_only(mild_layers):
    from resilience.feasibility.check import run_check
    from resilience.feasibility.models import Submission

    wall = Submission(
        project_name="wall", asset_type="seawall", lon=121.45, lat=31.30, protection_level_m=5.0
    )
    result = run_check(wall, mild_layers)
    assert set(result.not_checked) == {"heat", "rain"}
    assert "not applicable" in result.not_checked["heat"]
    for row in result.rows:
        if row.hazard != "surge":
            assert row.standard is None and row.design_life_exceedance_probability is None
            assert row.score is None
    assert result.governing_hazard in (None, "surge")
    assert all(a.hazard == "surge" for a in result.advice)


def test_overall_score_and_governing_hazard_count_only_the_design_life(layer_factory, submission):
    from resilience.feasibility.check import run_check

    # a life of 2025-2034 overlaps the near horizon (2021-2040) only
    short = submission.model_copy(update={"start_year": 2025, "design_life_years": 10})
    result = run_check(short, layer_factory(heat_loc=36.0))
    life = [r for r in result.rows if r.horizon == "near" and r.score is not None]
    later = [r for r in result.rows if r.horizon == "far" and r.score is not None]
    assert max(r.score for r in later) > max(r.score for r in life)  # the case discriminates
    assert result.overall_score == max(r.score for r in life)
    top = max(life, key=lambda r: (r.score, r.design_life_exceedance_probability))
    assert result.governing_hazard == top.hazard
