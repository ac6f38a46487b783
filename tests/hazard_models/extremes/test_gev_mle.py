"""Tests of the vectorised GEV maximum likelihood, its penalised form and its covariance."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.integrate import quad
from scipy.stats import genextreme

from hazard_models.extremes.gev import gev_nllh
from hazard_models.extremes.gev_fit import fit_gev
from hazard_models.extremes.gev_mle import fit_gev_mle, gev_information, shape_log_prior
from hazard_models.extremes.lmoments import SHAPE_BOUNDS


def _draws(shapes: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Return GEV samples (len(shapes), size) with varied loc/scale; climate-convention shapes."""
    rng = np.random.default_rng(seed)
    loc = rng.uniform(10.0, 50.0, len(shapes))[:, None]
    scale = rng.uniform(0.5, 8.0, len(shapes))[:, None]
    return genextreme.rvs(-shapes[:, None], loc, scale, size=(len(shapes), size), random_state=rng)


def test_loglik_at_least_scipy_on_simulated_series():
    shapes = np.random.default_rng(1).uniform(-0.35, 0.35, 40)
    data = _draws(shapes, 60, seed=2)
    fit = fit_gev(data, method="mle")
    compared = 0
    for i, series in enumerate(data):
        c, loc, scale = genextreme.fit(series)
        if abs(c) > SHAPE_BOUNDS[1]:
            continue  # excluded: scipy's optimum lies outside our documented shape bound
        # Spec: our log-likelihood is no worse than scipy's, to 1e-6 (its optimiser tolerance).
        assert -fit["nllh"][i] >= genextreme.logpdf(series, c, loc, scale).sum() - 1e-6
        compared += 1
    assert compared >= 36


def test_newton_converges_without_fallback_on_gumbel_and_bounded_tails():
    shapes = np.array([0.0, 0.0, 1e-7, -0.4, -0.45, 0.3])
    data = _draws(shapes, 80, seed=3)
    result = fit_gev_mle(data, prior="none", fallback=False)
    assert result["converged"].all() and not result["fallback"].any()
    assert result["iterations"].max() <= 20
    # The optimum has a zero gradient: central differences of the NLL in each parameter are
    # ~0 (h = 1e-5 relative; truncation O(h^2) and rounding O(eps n / h) ~ 1e-8, so 1e-4).
    params = np.stack([result[k] for k in ("loc", "scale", "shape")], axis=-1)
    for axis in range(3):
        step = np.zeros(3)
        step[axis] = 1e-5 * max(1.0, np.abs(params[:, axis]).max())
        up = gev_nllh(data, *(params + step).T)
        down = gev_nllh(data, *(params - step).T)
        bound = np.isclose(params[:, 2], SHAPE_BOUNDS[0]) if axis == 2 else False
        slope = (up - down) / (2 * step[axis])
        assert np.all(bound | (np.abs(slope) < 1e-4 * np.maximum(1, 1 / result["scale"])))


def test_shape_at_bound_is_held_and_better_than_interior_starts():
    data = _draws(np.array([-0.9, 0.9]), 300, seed=4)
    fit = fit_gev(data, method="mle")
    np.testing.assert_allclose(fit["shape"], [-0.5, 0.5])
    lmom = fit_gev(data)
    assert np.all(fit["nllh"] <= lmom["nllh"] + 1e-9)


def test_bad_series_give_nan_status_and_never_raise():
    data = _draws(np.full(5, 0.1), 30, seed=5)
    data[0] = np.nan
    data[1] = 4.0
    data[2, 4:] = np.nan
    data[3, :8] = np.inf
    for method in ("mle", "pmle"):
        fit = fit_gev(data, method=method, return_cov=True)
        assert fit["status"].tolist() == ["nan", "constant", "too_short", "ok", "ok"]
        assert np.isnan(fit["loc"][:3]).all() and np.isnan(fit["cov"][:3]).all()
        assert np.isfinite(fit["nllh"][3:]).all()
    # The gappy series fits exactly like the series without its missing values.
    alone = fit_gev(data[3, 8:], method="mle")
    np.testing.assert_allclose(fit_gev(data, method="mle")["shape"][3], alone["shape"], atol=1e-7)


def test_prior_is_martins_stedinger_beta_in_climate_convention():
    # Martins & Stedinger (2000, eq. 10): Beta(6, 9) on kappa + 0.5, kappa = -xi, so
    # E[kappa] = 6/15 - 0.5 = -0.10, i.e. E[xi] = +0.10, mode xi = 1.5/13.
    def density(xi: float) -> float:
        return float(np.exp(shape_log_prior(xi)))

    # 1e-9: quadrature of a smooth polynomial density.
    np.testing.assert_allclose(quad(density, -0.5, 0.5)[0], 1.0, rtol=1e-9)
    np.testing.assert_allclose(quad(lambda s: s * density(s), -0.5, 0.5)[0], 0.10, atol=1e-9)
    grid = np.linspace(-0.49, 0.49, 9801)
    assert abs(grid[np.argmax(shape_log_prior(grid))] - 1.5 / 13) < 1e-4
    assert shape_log_prior(0.6) == -np.inf and shape_log_prior(0.2, prior="none") == 0.0


def test_pmle_pulls_short_records_toward_prior_and_matches_mle_on_long_ones():
    mode = 1.5 / 13
    shapes = np.full(300, mode)
    short = _draws(shapes, 15, seed=6)
    mle, pmle = fit_gev(short, method="mle"), fit_gev(short, method="pmle")
    # Short records: the MLE shape scatters widely (often to the bounds); the prior shrinks
    # it. The mean absolute error must fall by at least a third (measured: about half).
    assert np.mean(np.abs(pmle["shape"] - mode)) < 0.67 * np.mean(np.abs(mle["shape"] - mode))
    assert np.all(np.abs(pmle["shape"]) < 0.5)
    long = _draws(np.array([-0.2, 0.0, 0.3]), 3000, seed=7)
    long_mle, long_pmle = fit_gev(long, method="mle"), fit_gev(long, method="pmle")
    # With n = 3000 the prior's curvature (~100) is small against the information (~1e4):
    # the shapes agree to 0.01 and the likelihood loses less than 1 unit.
    np.testing.assert_allclose(long_pmle["shape"], long_mle["shape"], atol=0.01)
    assert np.all(long_pmle["nllh"] - long_mle["nllh"] < 1.0)
    assert np.all(long_pmle["nllh"] >= long_mle["nllh"] - 1e-8)


def _numerical_hessian(series: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of gev_nllh, steps 1e-4 of each parameter's scale."""
    steps = 1e-4 * np.array([theta[1], theta[1], 1.0])
    hessian = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            total = 0.0
            for si, sj, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                trial = theta.copy()
                trial[i] += si * steps[i]
                trial[j] += sj * steps[j]
                total += sign * gev_nllh(series, *trial)
            hessian[i, j] = total / (4 * steps[i] * steps[j])
    return hessian


def test_covariance_is_inverse_numerical_hessian():
    data = _draws(np.array([-0.25, 0.0, 0.2]), 70, seed=8)
    fit = fit_gev(data, method="mle", return_cov=True)
    assert fit["cov"].shape == (3, 3, 3)
    for i in range(3):
        theta = np.array([fit["loc"][i], fit["scale"][i], fit["shape"][i]])
        expected = np.linalg.inv(_numerical_hessian(data[i], theta))
        # Central differences with h = 1e-4: truncation O(h^2) ~ 1e-8 and rounding
        # O(eps f / h^2) ~ 1e-6 relative, so 1e-4 relative on the covariance.
        np.testing.assert_allclose(fit["cov"][i], expected, rtol=1e-4, atol=1e-10)
    info = gev_information(data, fit["loc"], fit["scale"], fit["shape"])
    np.testing.assert_allclose(np.linalg.inv(info), fit["cov"], rtol=1e-12)


def test_dataarray_cov_has_named_parameter_dims():
    data = _draws(np.array([0.1, -0.1]), 40, seed=9)
    array = xr.DataArray(data, dims=("station", "year"), attrs={"units": "m"})
    fit = fit_gev(array.chunk({"station": 1}), method="pmle", return_cov=True).compute()
    assert fit["cov"].dims == ("station", "parameter_row", "parameter_column")
    assert fit["cov"]["parameter_row"].values.tolist() == ["loc", "scale", "shape"]
    eager = fit_gev(data, method="pmle", return_cov=True)
    np.testing.assert_allclose(fit["cov"].values, eager["cov"], rtol=1e-12)
    assert "Martins & Stedinger" in fit["shape"].attrs["method"]
