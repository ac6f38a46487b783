"""Profile-likelihood return-level intervals against Coles (2001) and a brute-force profile.

The brute-force profile is an independent implementation: scipy.stats log-densities, the
nuisance shape scanned on a fine grid and the remaining parameter found by a bounded scalar
search, with no code shared with :mod:`hazard_models.extremes.profile`.
"""

from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.stats import chi2, genextreme, genpareto

from hazard_models.extremes.profile import profile_gev_return_level, profile_gpd_return_level
from hazard_models.extremes.shape_bound import fit_gev_single

COLES = Path(__file__).parents[2] / "data" / "coles"
CRITICAL = chi2.ppf(0.95, 1)


def brute_gev_deviance(x, z, period, nllh_hat, shapes):
    """2 [min over (sigma, xi) of -log L with mu = z_T - q(sigma, xi)] - 2 nllh_hat.

    Nested scalar searches: the shape over the bracket ``shapes`` (lo, hi), log-sigma inside.
    """
    log_y = np.log(-np.log1p(-1.0 / period))

    def inner(xi):
        def nll(log_sigma):
            sigma = np.exp(log_sigma)
            mu = z - sigma * np.expm1(-xi * log_y) / xi
            value = -genextreme.logpdf(x, -xi, loc=mu, scale=sigma).sum()
            return value if np.isfinite(value) else 1e10

        opts = {"xatol": 1e-7}
        return minimize_scalar(nll, bounds=(-6, 4), method="bounded", options=opts).fun

    opts = {"xatol": 1e-6}
    best = minimize_scalar(inner, bounds=shapes, method="bounded", options=opts).fun
    return 2 * (best - nllh_hat)


def test_port_pirie_profile_reproduces_coles():
    x = np.loadtxt(COLES / "portpirie.csv", delimiter=",", skiprows=1, usecols=1)
    result = profile_gev_return_level(x, [100])
    # Coles (2001) sec. 3.4.1, text of fig. 3.4: z_100 profile interval [4.5, 5.27] m (vs
    # delta [4.38, 5.00]); published to 2-3 digits, so 0.015 m
    assert result.estimate[0] == pytest.approx(4.69, abs=0.005)
    assert (result.lower[0], result.upper[0]) == pytest.approx((4.5, 5.27), abs=0.015)
    nllh_hat = fit_gev_single(x)["nllh"]
    for end in (result.lower[0], result.upper[0]):
        # both searches stop at ~1e-6 in their argument: the deviance agrees to ~1e-4
        assert brute_gev_deviance(x, end, 100, nllh_hat, (-0.4, 0.4)) == pytest.approx(
            CRITICAL, abs=1e-3
        )


def test_heavy_tail_profile_without_bound_matches_brute_force():
    x = genextreme.rvs(-0.9, loc=10, scale=2, size=40, random_state=1)
    result = profile_gev_return_level(x, [100], shape_bound=None)
    nllh_hat = fit_gev_single(x, shape_bound=None)["nllh"]
    for end in (result.lower[0], result.upper[0]):
        assert brute_gev_deviance(x, end, 100, nllh_hat, (0.05, 2.0)) == pytest.approx(
            CRITICAL, abs=1e-3
        )
    assert result.upper[0] - result.estimate[0] > 3 * (result.estimate[0] - result.lower[0])


def test_rain_gpd_profile_with_rate_matches_brute_force():
    rain = np.loadtxt(COLES / "rain.csv", delimiter=",", skiprows=1, usecols=0)
    result = profile_gpd_return_level(rain, 30.0, [100], per_year=365)
    # Coles (2001) sec. 4.4.1: x_100 = 106.3 mm; the profile interval is strongly
    # asymmetric (fig. 4.6), far from the delta interval [65.6, 147.1]
    assert result.estimate[0] == pytest.approx(106.3, abs=0.05)
    assert result.lower[0] > 75 and result.upper[0] > 180
    y = rain[rain > 30] - 30
    n, k, m = rain.size, y.size, 100 * 365
    c, _, scale = genpareto.fit(y, floc=0)
    zeta = k / n
    nllh_hat = (
        -genpareto.logpdf(y, c, scale=scale).sum() - k * np.log(zeta) - (n - k) * np.log1p(-zeta)
    )

    def deviance(x_m):
        best = np.inf
        for xi in np.linspace(-0.2, 0.7, 181):

            def nll(logit, xi=xi):
                z = 1 / (1 + np.exp(-logit))
                sigma = (x_m - 30) * xi / np.expm1(xi * np.log(m * z))
                value = -genpareto.logpdf(y, xi, scale=sigma).sum()
                value -= k * np.log(z) + (n - k) * np.log1p(-z)
                return value if np.isfinite(value) else 1e10

            logit = np.log(zeta / (1 - zeta))
            found = minimize_scalar(nll, bounds=(logit - 1, logit + 1), method="bounded")
            best = min(best, found.fun)
        return 2 * (best - nllh_hat)

    for end in (result.lower[0], result.upper[0]):
        assert deviance(end) == pytest.approx(CRITICAL, abs=1e-2)


def test_fremantle_effective_level_profile():
    table = np.genfromtxt(COLES / "fremantle.csv", delimiter=",", skip_header=1)
    x, year = table[:, 1], table[:, 0]
    result = profile_gev_return_level(x, [100], covariate=year, at=1989.0)
    fit = fit_gev_single(x, covariate=year)
    loc = fit["loc0"] + fit["loc1"] * 1989.0
    expected = genextreme.isf(0.01, -fit["shape"], loc=loc, scale=fit["scale"])
    assert result.estimate[0] == pytest.approx(expected, abs=1e-6)
    assert result.lower[0] < expected < result.upper[0]
    # a bounded tail (xi = -0.125): the interval is tight, a few tenths of a metre
    assert 0.1 < result.upper[0] - result.lower[0] < 0.5


def test_bad_arguments():
    with pytest.raises(ValueError, match="greater than 1"):
        profile_gev_return_level(np.arange(20.0), [1.0])
    with pytest.raises(ValueError, match="needs the value 'at'"):
        profile_gev_return_level(np.arange(20.0), [10], covariate=np.arange(20.0))
