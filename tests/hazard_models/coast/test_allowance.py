"""Tests of allowances, amplification factors and degradation years under uncertain rise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtri

from hazard_models.coast.allowance import (
    MAX_EXCEEDANCES_PER_YEAR,
    amplification_factor,
    degradation_year,
    expected_exceedances,
    future_return_level,
    future_return_period,
    hunter_allowance,
    sea_level_allowance,
)
from hazard_models.coast.sea_level import RiseDistribution, rise_distribution
from hazard_models.extremes.gev import return_level

Z83 = float(ndtri(0.83))
PERIODS = np.array([2.0, 10.0, 100.0, 1000.0])


def normal_rise(mean_m: float, sd_m: float) -> RiseDistribution:
    """A normal rise given by its mean and sd (built through the likely range)."""
    return rise_distribution(mean_m, mean_m - Z83 * sd_m, mean_m + Z83 * sd_m, shape="normal")


def certain_rise(rise_m: float) -> RiseDistribution:
    return RiseDistribution(np.asarray(rise_m), np.asarray(0.0), np.asarray(0.0))


def test_hunter_closed_form_by_hand():
    # A = mu + sigma^2 / (2 lambda): 0.5 + 0.01 / 0.4 = 0.525 m; 0.77 + 0.04 / 0.5 = 0.85 m.
    assert hunter_allowance(0.5, 0.1, 0.2) == pytest.approx(0.525, rel=1e-15)
    assert hunter_allowance(0.77, 0.2, 0.25) == pytest.approx(0.85, rel=1e-15)
    np.testing.assert_allclose(hunter_allowance([0.5, 0.5], 0.0, 0.3), [0.5, 0.5])
    with pytest.raises(ValueError, match="positive scale"):
        hunter_allowance(0.5, 0.1, 0.0)


def test_numerical_allowance_of_a_gumbel_equals_hunter_for_every_period():
    gev = (4.0, 0.2, 0.0)
    for mean, sd in ((0.5, 0.1), (0.77, 0.2), (0.0, 0.05)):
        got = sea_level_allowance(gev, PERIODS, normal_rise(mean, sd))
        # Exact identity for an exponential tail; the quadrature is exact to ~1e-12 and the
        # bisection to rounding, so 1e-9 m is a generous bound.
        np.testing.assert_allclose(got, hunter_allowance(mean, sd, 0.2), atol=1e-9)


def test_the_high_water_cap_only_matters_for_frequent_levels_and_very_wide_rises():
    """sd = 2 lambda: at T = 2 yr rise nodes 3.5 sd up exceed every high water (the cap of
    705.8 a year), so the allowance falls 0.6 mm below Hunter's 0.7 m; rare levels match."""
    got = sea_level_allowance((4.0, 0.2, 0.0), PERIODS, normal_rise(0.3, 0.4))
    assert 0.0 < 0.7 - got[0] < 0.001
    np.testing.assert_allclose(got[2:], 0.7, atol=1e-6)


def test_a_certain_rise_shifts_every_level_by_itself():
    for gev in ((4.0, 0.2, 0.0), (4.0, 0.25, 0.15), (4.0, 0.25, -0.2)):
        today = return_level(*gev, PERIODS)
        future = future_return_level(gev, PERIODS, certain_rise(0.3))
        np.testing.assert_allclose(future, today + 0.3, atol=1e-12)  # Coles eq. 3.4 + shift


def test_amplification_by_hand():
    # Gumbel, certain rise s: N(z - s) / N(z) = exp(s / lambda) = exp(0.3 / 0.2) = 4.4817.
    assert amplification_factor((4.0, 0.2, 0.0), certain_rise(0.3)) == pytest.approx(
        np.exp(1.5), rel=1e-12
    )
    # Gumbel, normal rise: exp(mu / lambda + sigma^2 / (2 lambda^2)) = exp(2.5 + 0.125).
    got = amplification_factor((4.0, 0.2, 0.0), normal_rise(0.5, 0.1))
    assert got == pytest.approx(np.exp(2.625), rel=1e-10)
    # GEV xi = 0.1, sigma = 0.25, certain 0.3 m: today's 100-yr level z has
    # 1 + xi (z - mu) / sigma = y^-xi with y = -log(0.99); the future rate is
    # [y^-xi - xi 0.3 / 0.25]^(-1/xi), so AF = that / y.
    y = -np.log(0.99)
    expected = (y**-0.1 - 0.1 * 0.3 / 0.25) ** (-1 / 0.1) / y
    got = amplification_factor((4.0, 0.25, 0.1), certain_rise(0.3), return_period=100.0)
    assert got == pytest.approx(expected, rel=1e-12)


def test_uncertainty_raises_the_allowance_and_the_tail_shape_orders_it():
    rise = normal_rise(0.5, 0.15)
    for shape in (-0.2, 0.0, 0.2):
        allowance = sea_level_allowance((4.0, 0.2, shape), PERIODS, rise)
        assert np.all(allowance > 0.5)  # Jensen: an uncertain rise costs more than its mean
    # A heavy tail (xi > 0) flattens N(z) with height, so the allowance falls towards the mean
    # with T; a bounded tail (xi < 0) steepens it, so the allowance grows (Buchanan et al. 2016).
    assert np.all(np.diff(sea_level_allowance((4.0, 0.2, 0.2), PERIODS, rise)) < 0)
    assert np.all(np.diff(sea_level_allowance((4.0, 0.2, -0.2), PERIODS, rise)) > 0)


def test_probability_averaging_is_close_to_rate_averaging_for_rare_events():
    gev, rise = (4.0, 0.2, 0.0), normal_rise(0.5, 0.1)
    rate = sea_level_allowance(gev, PERIODS, rise)
    probability = sea_level_allowance(gev, PERIODS, rise, averaging="probability")
    # Measured: 20 mm at T = 2, 3 mm at 10, 0.3 mm at 100, 0.03 mm at 1000 years.
    assert abs(probability[1] - rate[1]) < 0.005
    assert abs(probability[2] - rate[2]) < 0.0005
    assert np.all(probability <= rate + 1e-12)
    with pytest.raises(ValueError, match="'rate' or 'probability'"):
        expected_exceedances(5.0, gev, rise, averaging="median")


def test_rates_stay_finite_below_a_lower_bound():
    # xi = 0.3 puts the lower bound at mu - sigma / xi = 3.33 m; a wide rise reaches below it.
    gev = (4.0, 0.2, 0.3)
    rate = expected_exceedances(3.0, gev, normal_rise(0.0, 0.01))
    assert rate == pytest.approx(MAX_EXCEEDANCES_PER_YEAR)  # every high water exceeds
    assert MAX_EXCEEDANCES_PER_YEAR == pytest.approx(705.8, abs=0.1)
    assert np.isfinite(amplification_factor(gev, rise_distribution(0.9, 0.8, 1.1)))
    assert future_return_period(9.0, (4.0, 0.2, -0.2), certain_rise(0.0)) == np.inf


def test_degradation_year_by_hand():
    """Gumbel (0, 0.2), rise 1 cm/yr since 2004.5: the 1000-yr level becomes a 100-yr one
    when the rise reaches z_1000 - z_100 = 0.2 ln(ln 0.99 / ln 0.999) = 0.4614 m, i.e. at
    2050.6, so the first whole year is 2051."""
    gev = (0.0, 0.2, 0.0)
    years = np.arange(2005, 2101, dtype=float)
    rise = RiseDistribution(0.01 * (years - 2004.5), np.zeros(years.size), np.zeros(years.size))
    level = float(return_level(*gev, 1000.0))
    assert degradation_year(level, gev, rise, years=years, target_return_period=100.0) == 2051.0
    never = degradation_year(level, gev, rise, years=years, target_return_period=2.0)
    assert np.isnan(never)
    with pytest.raises(ValueError, match="one rise per year"):
        degradation_year(level, gev, rise, years=years[:-1], target_return_period=100.0)
    with pytest.raises(ValueError, match="greater than 1"):
        degradation_year(level, gev, rise, years=years, target_return_period=1.0)
