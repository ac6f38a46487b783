"""Tests of compound rain + high-water statistics and typhoon conditioning."""

from __future__ import annotations

import importlib.resources

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal, norm

from hazard_models.coast.compound import (
    conditional_exceedance,
    joint_exceedance,
    pair_daily,
    pseudo_observations,
    typhoon_days,
    typhoon_season,
)

RHO = 0.6
N = 20_000


@pytest.fixture(scope="module")
def gaussian_pairs():
    """Rain-like and tide-like series joined by a Gaussian copula (rho 0.6), 20 000 days."""
    rng = np.random.default_rng(7)
    z = rng.multivariate_normal([0.0, 0.0], [[1.0, RHO], [RHO, 1.0]], size=N)
    rain_mm = np.expm1(2.0 + z[:, 0])  # skewed margin: copula results must not care
    water_m = 4.0 + 0.3 * z[:, 1]
    return rain_mm, water_m


@pytest.fixture(scope="module")
def tracks():
    shipped = importlib.resources.files("resilience") / "data" / "typhoon"
    with importlib.resources.as_file(
        shipped / "jtwc_wp_tracks_within300km_shanghai_1945-2021.csv"
    ) as path:
        return pd.read_csv(path, dtype={"jtwc_sn": str, "storm_name": str})


def test_pseudo_observations_by_hand():
    # Ranks of (3, 1, 2, 2, nan) with ties averaged: 4, 1, 2.5, 2.5; n + 1 = 5.
    got = pseudo_observations([3.0, 1.0, 2.0, 2.0, np.nan])
    np.testing.assert_allclose(got[:4], [0.8, 0.2, 0.5, 0.5])
    assert np.isnan(got[4])


def test_joint_exceedance_by_hand():
    x = np.arange(1.0, 11.0)  # pseudo-observations k / 11
    y = np.array([1, 2, 3, 4, 5, 6, 7, 10, 9, 8], dtype=float)
    got = joint_exceedance(x, y, first_probability=0.7, second_probability=0.7, per_year=10)
    # U > 0.7 for k >= 8 (3 days: 8, 9, 10); V > 0.7 on the same 3 days -> 3 / 10 = 0.3.
    assert got.probability == pytest.approx(0.3)
    assert got.n_joint == 3 and got.n == 10
    assert got.independent_probability == pytest.approx(0.09)
    assert got.multiplication_factor == pytest.approx(0.3 / 0.09)
    assert got.conditional_probability == pytest.approx(1.0)
    assert got.and_return_period_years == pytest.approx(1 / (0.3 * 10))


def test_empirical_copula_recovers_the_gaussian_copula(gaussian_pairs):
    rain, water = gaussian_pairs
    got = joint_exceedance(rain, water, first_probability=0.9, second_probability=0.9)
    a = norm.ppf(0.9)
    exact = 1 - 2 * 0.9 + multivariate_normal([0, 0], [[1, RHO], [RHO, 1]]).cdf([a, a])
    # Binomial standard error sqrt(p (1 - p) / n) = 0.0014 at p = 0.039; 4 SE.
    se = np.sqrt(exact * (1 - exact) / N)
    assert abs(got.probability - exact) < 4 * se
    assert got.multiplication_factor > 3.5  # 0.039 / 0.01: dependence quadruples the risk
    independent = joint_exceedance(
        rain,
        np.random.default_rng(1).permutation(water),
        first_probability=0.9,
        second_probability=0.9,
    )
    assert abs(independent.probability - 0.01) < 4 * np.sqrt(0.01 * 0.99 / N)


def test_conditional_exceedance_with_bootstrap(gaussian_pairs):
    rain, water = gaussian_pairs
    r, s = np.quantile(rain, 0.9), np.quantile(water, 0.9)
    years = np.arange(N) // 365
    got = conditional_exceedance(
        rain, water, target_threshold=r, condition_threshold=s, blocks=years, n_boot=500
    )
    a = norm.ppf(0.9)
    exact = (1 - 2 * 0.9 + multivariate_normal([0, 0], [[1, RHO], [RHO, 1]]).cdf([a, a])) / 0.1
    assert got.lower < got.probability < got.upper
    assert got.lower < exact < got.upper  # the 90 % interval covers the truth (0.39)
    assert got.blocks == 55 and got.n_boot == 500 and got.n_condition == pytest.approx(2000, abs=5)
    assert got.unconditional_probability == pytest.approx(0.1, abs=0.001)
    again = conditional_exceedance(
        rain, water, target_threshold=r, condition_threshold=s, blocks=years, n_boot=500
    )
    assert again == got  # seeded


def test_conditional_exceedance_by_hand_and_errors():
    target = np.array([0, 5, 0, 5, 0, 5, 0, 0, 0, 0, 5, 0], dtype=float)
    condition = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], dtype=float)
    got = conditional_exceedance(
        target, condition, target_threshold=1.0, condition_threshold=0.5, n_boot=200
    )
    # 4 days meet the condition, 2 of them have target > 1: 0.5; overall 4 / 12.
    assert got.probability == 0.5 and got.n_condition == 4 and got.n_joint == 2
    assert got.unconditional_probability == pytest.approx(4 / 12)
    never = conditional_exceedance(
        target, condition, target_threshold=1.0, condition_threshold=9.0, n_boot=50
    )
    assert np.isnan(never.probability) and np.isnan(never.lower)
    with pytest.raises(ValueError, match="at least 10 complete pairs"):
        conditional_exceedance(target[:5], condition[:5], target_threshold=1, condition_threshold=1)
    with pytest.raises(ValueError, match="one label per pair"):
        conditional_exceedance(
            target, condition, target_threshold=1, condition_threshold=1, blocks=[1, 2]
        )
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        joint_exceedance(target, condition, first_probability=1.0, second_probability=0.5)


def test_pair_daily_takes_the_highest_water_within_the_window():
    days = pd.date_range("2021-07-20", periods=6, freq="D")
    rain = pd.Series([0.0, 80.0, 5.0, 0.0, 0.0, 1.0], index=days)
    water = pd.Series([4.0, 4.1, 4.9, 4.2, 4.0, 4.1], index=days)
    same_day = pair_daily(rain, water, window_days=0)
    np.testing.assert_allclose(same_day["water"], water.values)
    window = pair_daily(rain, water, window_days=1)
    # 21 July (80 mm) pairs with 4.9 m on the 22nd, the peak tide of the same storm.
    assert window.loc["2021-07-21", "water"] == 4.9 and window.loc["2021-07-20", "water"] == 4.1
    assert len(pair_daily(rain, water.iloc[:3], window_days=0)) == 3


def test_typhoon_days_and_season_from_the_shipped_jtwc_tracks(tracks):
    days = typhoon_days(tracks)
    # The shipped subset holds 95 storms whose centre came within 300 km (PROVENANCE.md).
    assert days["jtwc_sn"].nunique() == 95
    in_fa = days[days["storm_name"] == "IN-FA"]
    assert in_fa["date"].dt.strftime("%Y-%m-%d").tolist()[-3:] == [
        "2021-07-26",
        "2021-07-27",
        "2021-07-28",
    ]
    assert in_fa["min_dist_km"].min() == pytest.approx(64.3)  # closest approach (summary file)
    # Typhoon days per month: Jul 44, Aug 59, Sep 37 of 155 (90 %), so 90 % needs Jul-Sep.
    assert typhoon_season(days, coverage=0.9) == (7, 8, 9)
    assert typhoon_season(days, coverage=0.95) == (6, 7, 8, 9, 10)
    assert len(typhoon_days(tracks, radius_km=100.0)) < len(days)


def test_conditioning_on_typhoon_days(tracks):
    """Synthetic daily rain and water levels that are high together on the real typhoon days."""
    days = pd.date_range("1990-01-01", "2021-12-31", freq="D")
    rng = np.random.default_rng(3)
    storm = days.isin(typhoon_days(tracks)["date"])
    rain = rng.gamma(0.5, 8.0, days.size) + storm * rng.gamma(4.0, 20.0, days.size)
    water = 3.5 + 0.3 * rng.standard_normal(days.size) + storm * 0.8
    on = conditional_exceedance(
        rain[storm], water[storm], target_threshold=50.0, condition_threshold=4.0, n_boot=200
    )
    overall = conditional_exceedance(
        rain, water, target_threshold=50.0, condition_threshold=4.0, n_boot=200
    )
    assert on.probability > overall.probability


def test_pseudo_observations_match_scipy_rankdata():
    from scipy.stats import rankdata

    rng = np.random.default_rng(9)
    values = np.round(rng.gamma(0.5, 8.0, 5000), 0)  # many ties (rounded rain, zeros)
    values[::97] = np.nan
    valid = np.isfinite(values)
    expected = rankdata(values[valid], method="average") / (valid.sum() + 1)
    # Same ranks, computed as integers and halves: exact.
    np.testing.assert_array_equal(pseudo_observations(values)[valid], expected)
    assert np.isnan(pseudo_observations(values)[~valid]).all()
