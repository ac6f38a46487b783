"""Tests of GPD peaks-over-threshold fits, likelihood, covariance and return levels."""

from __future__ import annotations

from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import genpareto

from hazard_models.extremes.gpd import fit_gpd, gpd_return_level, gpd_return_level_variance
from hazard_models.extremes.gpd_mle import gpd_covariance, gpd_nllh
from hazard_models.extremes.lmoments import SHAPE_BOUNDS

RAIN_CSV = Path(__file__).resolve().parents[2] / "data" / "coles" / "rain.csv"
Z95 = 1.959963984540054


@pytest.fixture(scope="module")
def rain() -> np.ndarray:
    """Coles (2001) daily rainfall, 17 531 values in mm (tests/data/coles/PROVENANCE.md)."""
    return pd.read_csv(RAIN_CSV)["rainfall_mm"].to_numpy()


def _gpd_rows(shapes, size, seed, scale=2.0, threshold=10.0):
    """Return (len(shapes), size) values threshold + GPD(scale, xi) (scipy c = xi)."""
    rng = np.random.default_rng(seed)
    rows = [genpareto.rvs(xi, scale=scale, size=size, random_state=rng) for xi in shapes]
    return np.stack(rows) + threshold


# --- Coles (2001) sec. 4.4.1, rain at u = 30 mm ------------------------------------------------
# Published values, Coles (2001) sec. 4.4.1 pp. 84-86, as transcribed in
# /work/shared/data/extremes_coles/coles2001_published_fits_rain.csv (from the Extremes.jl test
# test/reproducingColesResults.jl and the caseva test test/test_threshold_excess.py).


def test_rain_fit_reproduces_coles_within_printed_precision(rain):
    fit = fit_gpd(rain, threshold=30.0)
    assert fit["status"] == "ok" and fit["n_exceed"] == 152
    # Printed precision: sigma 7.44, xi 0.184, -log L 485.1 (half a unit of the last digit).
    assert abs(fit["scale"] - 7.44) <= 0.005
    assert abs(fit["shape"] - 0.184) <= 0.0005
    assert abs(fit["nllh"] - 485.1) <= 0.05
    assert fit["threshold"] == 30.0
    np.testing.assert_allclose(fit["rate"], 152 / 17531, rtol=1e-12)
    excess = rain[rain > 30] - 30
    cov = gpd_covariance(excess, fit["scale"], fit["shape"])
    # Printed to 4 decimals: var(sigma) 0.9188, cov -0.0655, var(xi) 0.0102.
    np.testing.assert_allclose(cov, [[0.9188, -0.0655], [-0.0655, 0.0102]], atol=5e-5)
    var_zeta = fit["rate"] * (1 - fit["rate"]) / rain.size
    assert abs(var_zeta - 4.9e-7) <= 0.05e-7  # printed 4.9e-7


def test_rain_100_year_level_and_delta_method_interval(rain):
    fit = fit_gpd(rain, threshold=30.0)
    level = gpd_return_level(fit["scale"], fit["shape"], 30.0, fit["rate"], 100, per_year=365)
    assert abs(level - 106.3) <= 0.05  # printed 106.3 (caseva: 106.34)
    args = (fit["scale"], fit["shape"], fit["rate"])
    common = {"return_period": 100, "per_year": 365, "n_observations": rain.size}
    published_cov = [[0.9188, -0.0655], [-0.0655, 0.0102]]
    var = gpd_return_level_variance(*args, covariance=published_cov, **common)
    # With the published (rounded) covariance the interval is the published 65.62-147.06 to
    # within 0.02 mm (the rounding of the covariance to 4 decimals moves it by ~0.01 mm).
    np.testing.assert_allclose(
        level + Z95 * np.sqrt(var) * np.array([-1, 1]), [65.62, 147.06], atol=0.02
    )
    excess = rain[rain > 30] - 30
    own_cov = gpd_covariance(excess, fit["scale"], fit["shape"])
    var = gpd_return_level_variance(*args, covariance=own_cov, **common)
    # Our exact analytic Hessian gives var(xi) = 0.010242 where the printed 0.0102 (a numerical
    # Hessian, rounded) is 0.4 % smaller; x_100 is so sensitive to xi that the bounds move
    # by 0.14 mm. 0.2 mm (0.5 % of the half-width 40.7 mm) bounds that difference.
    np.testing.assert_allclose(
        level + Z95 * np.sqrt(var) * np.array([-1, 1]), [65.62, 147.06], atol=0.2
    )


def test_lmoments_method_matches_sample_lmoments(rain):
    fit = fit_gpd(rain, threshold=30.0, method="lmoments")
    excess = np.sort(rain[rain > 30] - 30)
    n = excess.size
    b0 = excess.mean()
    b1 = np.sum(np.arange(n) / (n - 1) * excess) / n
    l1, l2 = b0, 2 * b1 - b0
    sigma, xi = fit["scale"], fit["shape"]
    # GPD with lower bound 0: l1 = sigma/(1-xi), l2 = sigma/((1-xi)(2-xi)) (Hosking & Wallis
    # 1997, app. A.5 with k = -xi); the estimator inverts these exactly (1e-12: rounding).
    np.testing.assert_allclose(
        [sigma / (1 - xi), sigma / ((1 - xi) * (2 - xi))], [l1, l2], rtol=1e-12
    )
    assert np.isfinite(fit["nllh"]) and fit["nllh"] > 485.0937  # MLE is the minimum


# --- agreement with scipy and the likelihood -------------------------------------------------


def test_mle_is_at_least_as_good_as_scipy_on_simulated_series():
    shapes = np.tile([-0.3, -0.1, 0.0, 0.1, 0.3], 8)
    data = _gpd_rows(shapes, 300, seed=3)
    fit = fit_gpd(data, threshold=10.0)
    assert (fit["status"] == "ok").all()
    for i, row in enumerate(data):
        excess = row[row > 10.0] - 10.0
        c, _, scale = genpareto.fit(excess, floc=0)
        if not SHAPE_BOUNDS[0] < c < SHAPE_BOUNDS[1]:
            continue  # scipy's optimum lies outside our shape bounds: not comparable
        theirs = gpd_nllh(excess, scale, c)
        # 1e-6: the criterion; our Newton converges to a gradient of ~1e-7 per value.
        assert fit["nllh"][i] <= theirs + 1e-6, (i, fit["nllh"][i], theirs)


def test_nllh_matches_scipy_logpdf_and_exponential_limit():
    excess = np.array([0.5, 1.2, 3.3, 0.1, 7.0])
    for xi in (-0.1, 0.0, 0.25):
        expected = -genpareto.logpdf(excess, xi, scale=2.0).sum()
        # 1e-12: the same closed form (Coles 2001, eq. 4.10) in double precision.
        np.testing.assert_allclose(gpd_nllh(excess, 2.0, xi), expected, rtol=1e-12)
    assert gpd_nllh(excess, 2.0, -0.5) == np.inf  # 7.0 lies above the upper end 4.0
    assert gpd_nllh(excess, -1.0, 0.1) == np.inf


@pytest.mark.parametrize(("scale", "shape"), [(7.44, 0.1845), (3.0, 0.0), (3.0, 2e-4), (5.0, -0.2)])
def test_covariance_inverts_numerical_hessian(rain, scale, shape):
    excess = rain[rain > 30] - 30
    excess = excess[excess < 24.0] if shape < 0 else excess  # inside the support 0 < y < 25

    def f(s, x):
        return float(gpd_nllh(excess, s, x))

    h = 1e-4
    hss = (f(scale + h, shape) - 2 * f(scale, shape) + f(scale - h, shape)) / h**2
    hxx = (f(scale, shape + h) - 2 * f(scale, shape) + f(scale, shape - h)) / h**2
    hsx = (
        f(scale + h, shape + h)
        - f(scale + h, shape - h)
        - f(scale - h, shape + h)
        + f(scale - h, shape - h)
    ) / (4 * h**2)
    numerical = np.array([[hss, hsx], [hsx, hxx]])
    # 2e-4: central differences with h = 1e-4 carry O(h^2) truncation and O(eps f / h^2)
    # rounding errors, measured below 2e-5 relative here; compare the information matrix
    # rather than its inverse, which amplifies those errors by the condition number.
    information = np.linalg.inv(gpd_covariance(excess, scale, shape))
    np.testing.assert_allclose(information, numerical, rtol=2e-4)


def test_mle_recovers_true_parameters_of_a_long_sample():
    data = _gpd_rows([0.2, -0.2], 20000, seed=11, scale=3.0)
    fit = fit_gpd(data, threshold=10.0)
    # Standard errors at n = 20000 are ~0.01 for xi and ~0.03 for sigma (Coles 2001, 4.3.2);
    # the tolerances are about 4 standard errors.
    np.testing.assert_allclose(fit["shape"], [0.2, -0.2], atol=0.04)
    np.testing.assert_allclose(fit["scale"], [3.0, 3.0], atol=0.12)
    np.testing.assert_allclose(fit["rate"], 1.0)


# --- robustness ----------------------------------------------------------------------------


def test_bad_series_give_nan_and_status_without_raising():
    rng = np.random.default_rng(5)
    good = 10 + genpareto.rvs(0.1, scale=2.0, size=200, random_state=rng)
    data = np.stack(
        [
            good,
            np.full(200, np.nan),
            np.full(200, 12.0),  # constant: all excesses equal
            np.where(np.arange(200) < 195, 5.0, good),  # 5 exceedances only
            np.where(np.arange(200) % 3 == 0, np.nan, good),  # gaps are fine
            np.where(np.arange(200) == 7, np.inf, good),  # inf is a missing value
        ]
    )
    fit = fit_gpd(data, threshold=10.0)
    assert list(fit["status"]) == ["ok", "nan", "constant", "too_short", "ok", "ok"]
    assert np.isnan(fit["scale"][1:4]).all() and np.isnan(fit["shape"][1:4]).all()
    assert np.isnan(fit["nllh"][1:4]).all()
    assert np.isfinite(fit["scale"][[0, 4, 5]]).all()
    assert list(fit["n_exceed"]) == [200, 0, 200, 5, 133, 199]
    np.testing.assert_allclose(fit["rate"][[0, 3, 4]], [1.0, 5 / 200, 1.0])
    nan_threshold = fit_gpd(data[:1], threshold=np.array([np.nan]))
    assert nan_threshold["status"][0] == "nan" and np.isnan(nan_threshold["scale"][0])


def test_shape_is_bounded():
    rng = np.random.default_rng(8)
    heavy = genpareto.rvs(1.5, scale=1.0, size=(2, 400), random_state=rng)
    fit = fit_gpd(heavy, threshold=0.0)
    np.testing.assert_array_equal(fit["shape"], SHAPE_BOUNDS[1])
    # At the bound, sigma is still the conditional optimum: the sigma-gradient vanishes.
    for i in range(2):
        f0 = gpd_nllh(heavy[i], fit["scale"][i], 0.5)
        assert f0 <= gpd_nllh(heavy[i], fit["scale"][i] * 1.001, 0.5)
        assert f0 <= gpd_nllh(heavy[i], fit["scale"][i] * 0.999, 0.5)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="method: expected 'mle' or 'lmoments'"):
        fit_gpd(np.ones(20), threshold=0.0, method="pmle")
    with pytest.raises(ValueError, match="min_exceedances: expected at least 3"):
        fit_gpd(np.ones(20), threshold=0.0, min_exceedances=2)
    with pytest.raises(ValueError, match="expected the sample dim 'time'"):
        fit_gpd(xr.DataArray(np.ones(20), dims="day"), threshold=0.0)


# --- xarray / dask ----------------------------------------------------------------------------


def _raising_scheduler(*args, **kwargs):
    raise AssertionError("a dask computation ran before the result was computed")


def test_dataarray_fit_is_lazy_and_matches_numpy():
    data = _gpd_rows([0.1, -0.1, 0.2, 0.0, 0.3, -0.2], 150, seed=2).reshape(2, 3, 150)
    array = xr.DataArray(data, dims=("lat", "lon", "time"), attrs={"units": "mm/day"})
    threshold = xr.DataArray(np.array([10.0, 10.5, 11.0]), dims="lon")
    with dask.config.set(scheduler=_raising_scheduler):
        lazy = fit_gpd(array.chunk({"lat": 1}), threshold=threshold)
    with dask.config.set(scheduler="synchronous"):
        result = lazy.compute()
    expected = fit_gpd(data, threshold=np.array([10.0, 10.5, 11.0]))
    for name in ("scale", "shape", "threshold", "rate", "n_exceed", "nllh"):
        # 1e-12: the same code on the same numbers, only chunked differently.
        np.testing.assert_allclose(result[name].values, expected[name], rtol=1e-12)
    assert result["scale"].attrs["units"] == "mm/day" and "Coles" in result["shape"].attrs["method"]
    assert "fit_gpd" in result.attrs["history"]


# --- return levels ----------------------------------------------------------------------------


def test_return_level_is_the_gpd_quantile_and_continuous_at_zero_shape():
    zeta, per_year = 0.01, 365.0
    for xi in (-0.2, 0.0, 0.3):
        level = gpd_return_level(2.0, xi, 30.0, zeta, 50.0, per_year=per_year)
        # x_m is exceeded once in m observations: P(X > x_m) = zeta (1 - H(x_m - u)) = 1/m.
        expected = 30.0 + genpareto.ppf(1 - 1 / (50 * per_year * zeta), xi, scale=2.0)
        np.testing.assert_allclose(level, expected, rtol=1e-12)
    near = gpd_return_level(2.0, np.array([-1e-7, 0.0, 1e-7]), 30.0, zeta, 50.0, per_year=per_year)
    np.testing.assert_allclose(near, near[1], rtol=1e-6)  # eq. 4.14 is the limit of eq. 4.13
    assert np.isnan(gpd_return_level(2.0, 0.1, 30.0, 0.001, 1.0, per_year=365))  # m zeta < 1


def test_return_level_variance_matches_numerical_gradient():
    sigma, xi, zeta, n = 7.44, 0.184, 0.00867, 17531
    cov = np.array([[0.9188, -0.0655], [-0.0655, 0.0102]])

    def level(z, s, x):
        return gpd_return_level(s, x, 30.0, z, 100.0, per_year=365)

    steps = np.array([1e-7, 1e-5, 1e-6])
    point = np.array([zeta, sigma, xi])
    grad = []
    for k, h in enumerate(steps):
        up, down = point.copy(), point.copy()
        up[k] += h
        down[k] -= h
        grad.append((level(*up) - level(*down)) / (2 * h))
    grad = np.array(grad)
    full = np.zeros((3, 3))
    full[0, 0] = zeta * (1 - zeta) / n  # Coles 2001, sec. 4.4.1
    full[1:, 1:] = cov
    expected = grad @ full @ grad
    var = gpd_return_level_variance(
        sigma, xi, zeta, return_period=100, per_year=365, covariance=cov, n_observations=n
    )
    np.testing.assert_allclose(var, expected, rtol=1e-6)  # central differences: O(h^2) error
