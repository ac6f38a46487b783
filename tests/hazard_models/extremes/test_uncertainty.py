"""Tests of delta-method and bootstrap confidence intervals for GEV fits."""

from __future__ import annotations

from decimal import Decimal, getcontext
from pathlib import Path

import numpy as np
import pytest

from hazard_models.extremes.gev import gev_cdf, gev_nllh, return_level
from hazard_models.extremes.gev_fit import fit_gev
from hazard_models.extremes.uncertainty import (
    delta_method_ci,
    gev_return_level_ci_delta,
    numerical_covariance,
    parametric_bootstrap_gev,
    return_level_gradient_gev,
    simulate_gev,
)

COLES = Path(__file__).resolve().parents[2] / "data" / "coles"

# Coles (2001), sec. 3.4.1 (Port Pirie annual maximum sea levels, 1923-1987), p. 59: MLE
# (mu, sigma, xi) = (3.87, 0.198, -0.050), maximised log-likelihood 4.34, and the printed
# variance-covariance matrix of (mu, sigma, xi) below. p. 60: z_0.1 = 4.30 m, 95 % CI
# [4.19, 4.41] and z_0.01 = 4.69 m, 95 % CI [4.38, 5.00], by the delta method. Numbers read
# from jojal5/Extremes.jl test/reproducingColesResults.jl (commit
# 030aedd9380df1af09beb1de29be6ce362c36a6e, MIT), which transcribes them from the book.
PORT_PIRIE_PARAMS = {"loc": 3.87, "scale": 0.198, "shape": -0.050}
PORT_PIRIE_COV = np.array(
    [
        [0.000780, 0.000197, -0.00107],
        [0.000197, 0.000410, -0.000778],
        [-0.00107, -0.000778, 0.00965],
    ]
)
PORT_PIRIE_LEVELS = {10.0: (4.30, 4.19, 4.41), 100.0: (4.69, 4.38, 5.00)}


def _port_pirie() -> np.ndarray:
    table = np.loadtxt(COLES / "portpirie.csv", delimiter=",", skiprows=1)
    return table[:, 1]


def _gev_nllh_of(data: np.ndarray):
    def nllh(theta: np.ndarray) -> np.ndarray:
        return gev_nllh(data, theta[..., 0], theta[..., 1], theta[..., 2])

    return nllh


# --- gradient -------------------------------------------------------------------------------


def _return_level_decimal(loc: float, scale: float, shape: Decimal, period: float) -> Decimal:
    """z_T (Coles 2001, eq. 3.4) in 50-digit decimal arithmetic, free of float cancellation."""
    log_y = (-(Decimal(1) - 1 / Decimal(period)).ln()).ln()
    if shape == 0:
        return Decimal(loc) - Decimal(scale) * log_y
    return Decimal(loc) - Decimal(scale) / shape * (1 - (-shape * log_y).exp())


@pytest.mark.parametrize("shape", [-0.4, -0.1, -1e-3, -1e-5, 0.0, 1e-5, 1e-3, 0.2, 0.45])
def test_gradient_matches_central_differences(shape: float) -> None:
    loc, scale = np.array([3.0, 120.0]), np.array([0.2, 15.0])
    periods = np.array([[2.0], [10.0], [100.0], [1000.0]])  # broadcast: (4, 2) outputs
    gradient = return_level_gradient_gev(loc, scale, shape, periods)
    assert gradient.shape == (4, 2, 3)
    h = Decimal("1e-15")
    getcontext().prec = 50
    for (i, j), value in np.ndenumerate(gradient[..., 2]):
        args = (float(loc[j]), float(scale[j]))
        up = _return_level_decimal(*args, Decimal(shape) + h, float(periods[i, 0]))
        down = _return_level_decimal(*args, Decimal(shape) - h, float(periods[i, 0]))
        # Decimal central difference: truncation O(h^2) = 1e-30, rounding 1e-50 / h = 1e-35,
        # so the reference is exact in float; the float formulas keep ~1e-9 relative.
        assert value == pytest.approx(float((up - down) / (2 * h)), rel=1e-8)
    # loc and scale enter linearly (given xi), so float central differences are accurate to
    # O(eps |z| / h) = 1e-8 relative with h = 1e-6 away from xi = 0; at xi ~ 0 return_level's
    # own cancellation (eps / xi) dominates, so those use the exact scale slope -log y instead.
    numeric_loc = (
        return_level(loc + 1e-6, scale, shape, periods)
        - return_level(loc - 1e-6, scale, shape, periods)
    ) / 2e-6
    np.testing.assert_allclose(gradient[..., 0], numeric_loc, rtol=1e-7)
    if abs(shape) >= 1e-3:
        numeric_scale = (
            return_level(loc, scale + 1e-6, shape, periods)
            - return_level(loc, scale - 1e-6, shape, periods)
        ) / 2e-6
        np.testing.assert_allclose(gradient[..., 1], numeric_scale, rtol=1e-6)
    else:
        log_y = np.log(-np.log1p(-1.0 / periods))
        np.testing.assert_allclose(
            gradient[..., 1], np.broadcast_to(-log_y * (1 - shape * log_y / 2), (4, 2)), rtol=1e-6
        )


def test_gradient_gumbel_limit_is_exact_and_continuous() -> None:
    period = 100.0
    log_y = np.log(-np.log1p(-1.0 / period))
    at_zero = return_level_gradient_gev(5.0, 2.0, 0.0, period)
    np.testing.assert_allclose(at_zero, [1.0, -log_y, 2.0 * log_y**2 / 2.0], rtol=1e-14)
    # Either side of the series switch (|xi log y| = 1e-3) the two forms agree to ~1e-9.
    switch = 1e-3 / abs(log_y)
    inside = return_level_gradient_gev(5.0, 2.0, switch * (1 - 1e-9), period)
    outside = return_level_gradient_gev(5.0, 2.0, switch * (1 + 1e-9), period)
    np.testing.assert_allclose(inside, outside, rtol=1e-8)


def test_gradient_rejects_short_return_period() -> None:
    with pytest.raises(ValueError, match="greater than 1"):
        return_level_gradient_gev(0.0, 1.0, 0.1, 1.0)


# --- delta method ----------------------------------------------------------------------------


def test_port_pirie_delta_method_matches_coles() -> None:
    interval = gev_return_level_ci_delta(PORT_PIRIE_PARAMS, PORT_PIRIE_COV, [10, 100])
    assert interval.estimate.shape == (2,)
    for k, (estimate, lower, upper) in enumerate(PORT_PIRIE_LEVELS.values()):
        # The book rounds its inputs (mu to 0.01 m: <= 0.005 m on z_T; sigma and xi to 3
        # decimals: <= 0.0012 m each with |dz/dsigma|, |dz/dxi| < 2.4) and prints 2 decimals
        # (0.005 m): at most 0.0125 m in all.
        assert interval.estimate[k] == pytest.approx(estimate, abs=0.0125)
        assert interval.lower[k] == pytest.approx(lower, abs=0.0125)
        assert interval.upper[k] == pytest.approx(upper, abs=0.0125)


def test_port_pirie_numerical_covariance_matches_coles() -> None:
    data = _port_pirie()
    fit = fit_gev(data, method="mle")
    theta = np.array([fit["loc"], fit["scale"], fit["shape"]])
    # MLE agrees with the printed estimates to their precision and -log L = -4.34.
    assert np.all(np.abs(theta - [3.87, 0.198, -0.050]) <= [0.005, 0.0005, 0.0005])
    assert fit["nllh"] == pytest.approx(-4.34, abs=0.005)
    cov = numerical_covariance(_gev_nllh_of(data), theta)
    # The book prints 3 significant figures; 2 % covers its rounding and the ~1e-4 relative
    # difference between our optimum and the book's.
    np.testing.assert_allclose(cov, PORT_PIRIE_COV, rtol=0.02)
    assert cov == pytest.approx(cov.T)


def test_numerical_covariance_of_quadratic_is_exact_and_vectorised() -> None:
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(4, 3)) * [100.0, 1.0, 0.01]  # very different parameter scales
    factors = rng.normal(size=(4, 3, 3))
    precision = factors @ np.swapaxes(factors, -1, -2) + 0.5 * np.eye(3)
    precision = precision / np.array([1e2, 1.0, 1e-2])[:, None] / np.array([1e2, 1.0, 1e-2])

    def nllh(theta: np.ndarray) -> np.ndarray:
        d = theta - centres
        return 0.5 * np.einsum("...i,...ij,...j->...", d, precision, d) + 50.0

    cov = numerical_covariance(nllh, centres)
    # Central differences are exact for a quadratic; what remains is rounding of f ~ 50 over
    # a change of ~5e-7 per step: ~1e-8 relative.
    np.testing.assert_allclose(cov, np.linalg.inv(precision), rtol=1e-6)


def test_numerical_covariance_flags_non_minimum_as_nan() -> None:
    def saddle(theta: np.ndarray) -> np.ndarray:
        return theta[..., 0] ** 2 - theta[..., 1] ** 2

    cov = numerical_covariance(saddle, np.zeros((2, 2)))
    assert np.isnan(cov).all()


def test_delta_method_ci_validates_shapes_and_level() -> None:
    with pytest.raises(ValueError, match="trailing shape"):
        delta_method_ci(1.0, np.ones(3), np.eye(2))
    with pytest.raises(ValueError, match="level"):
        delta_method_ci(1.0, np.ones(2), np.eye(2), level=1.5)
    # identity gradient gives the parameter's own Wald interval: 1 -+ 1.96 * 2
    interval = delta_method_ci(1.0, [1.0, 0.0], [[4.0, 0.0], [0.0, 1.0]])
    assert (interval.lower, interval.upper) == pytest.approx((1 - 3.919928, 1 + 3.919928))


def test_delta_method_se_matches_spread_of_mle_refits() -> None:
    """Delta-method se of z_10 agrees with the sd of MLE refits, and covers near 95 %."""
    truth = {"loc": 10.0, "scale": 2.0, "shape": 0.0}
    true_level = return_level(10.0, 2.0, 0.0, 10.0)
    samples = simulate_gev({k: np.full(200, v) for k, v in truth.items()}, 100, seed=11)
    fit = fit_gev(samples, method="mle")
    theta = np.stack([fit["loc"], fit["scale"], fit["shape"]], axis=-1)
    cov = numerical_covariance(_gev_nllh_of(samples), theta)
    interval = gev_return_level_ci_delta(fit, cov, [10.0])
    se = interval.standard_error[:, 0]
    assert np.isfinite(se).all()
    # sd of 200 refits has ~5 % Monte-Carlo error (1/sqrt(2*200)); 15 % is 3 of those.
    assert np.median(se) == pytest.approx(np.std(interval.estimate[:, 0], ddof=1), rel=0.15)
    covered = (interval.lower[:, 0] <= true_level) & (true_level <= interval.upper[:, 0])
    # Symmetric delta-method intervals of return levels under-cover at n ~ 100 (z_T is skewed;
    # Coles 2001, sec. 3.3.3 and 3.4.1): 0.90-0.92 in 1000 replicates measured here. The
    # binomial sd with 200 series is 0.019, so accept 0.86-0.99 (3 sd around 0.92-0.95).
    assert 0.86 <= covered.mean() <= 0.99


# --- bootstrap -------------------------------------------------------------------------------


def test_simulate_gev_matches_its_distribution() -> None:
    sample = simulate_gev({"loc": 10.0, "scale": 2.0, "shape": 0.2}, 20000, seed=1)
    probabilities = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    uniform = gev_cdf(sample, 10.0, 2.0, 0.2)  # probability integral transform: U(0, 1)
    # The p-quantile of 20,000 uniforms has sd sqrt(p (1 - p) / 20000) <= 0.0035; 4 sd.
    tolerance = 4 * np.sqrt(probabilities * (1 - probabilities) / sample.size)
    assert np.all(np.abs(np.quantile(uniform, probabilities) - probabilities) <= tolerance)


def test_bootstrap_covers_truth_at_about_nominal_rate() -> None:
    truth = {"loc": 10.0, "scale": 2.0, "shape": 0.1}
    n_series = 200
    samples = simulate_gev({k: np.full(n_series, v) for k, v in truth.items()}, 50, seed=5)
    fit = fit_gev(samples)
    result = parametric_bootstrap_gev(fit, 50, return_periods=[10.0, 100.0], n_boot=300, seed=2)
    assert result.return_levels.lower.shape == (n_series, 2)
    assert result.parameters.upper.shape == (n_series, 3)
    assert (result.n_valid == 300).all()
    true_levels = return_level(10.0, 2.0, 0.1, np.array([10.0, 100.0]))
    covered = (result.return_levels.lower <= true_levels) & (
        true_levels <= result.return_levels.upper
    )
    # Binomial sd at 95 % with 200 series is 0.015; percentile intervals also under-cover by
    # a few % at n = 50 (Davison & Hinkley 1997, sec. 5.3), so accept 0.87-0.99.
    assert 0.87 <= covered[:, 0].mean() <= 0.99
    assert 0.87 <= covered[:, 1].mean() <= 0.99
    true_params = np.array([10.0, 2.0, 0.1])
    covered_params = (result.parameters.lower <= true_params) & (
        true_params <= result.parameters.upper
    )
    assert (0.87 <= covered_params.mean(axis=0)).all()


def test_bootstrap_is_reproducible_and_handles_bad_series() -> None:
    params = {"loc": np.array([[10.0, np.nan]]), "scale": 2.0, "shape": 0.0}
    first = parametric_bootstrap_gev(params, 30, return_periods=[50.0], n_boot=50, seed=4)
    second = parametric_bootstrap_gev(params, 30, return_periods=[50.0], n_boot=50, seed=4)
    assert first.return_levels.lower.shape == (1, 2, 1)
    np.testing.assert_array_equal(first.return_levels.upper, second.return_levels.upper)
    assert np.isnan(first.return_levels.lower[0, 1]).all()
    assert first.n_valid.tolist() == [[50, 0]]
    lower, upper = first.return_levels.lower[0, 0, 0], first.return_levels.upper[0, 0, 0]
    assert lower < return_level(10.0, 2.0, 0.0, 50.0) < upper
    with pytest.raises(ValueError, match="n_boot"):
        parametric_bootstrap_gev(params, 30, return_periods=[50.0], n_boot=5)
