"""Tests of GEV fitting (L-moments, MLE), likelihood and return levels."""

from __future__ import annotations

import dask
import dask.array as da
import lmoments3
import numpy as np
import pytest
import xarray as xr
from lmoments3 import distr
from scipy.stats import genextreme

from hazard_models.extremes.gev import gev_cdf, gev_nllh, return_level, return_levels
from hazard_models.extremes.gev_fit import fit_gev
from hazard_models.extremes.lmoments import SHAPE_BOUNDS, gev_from_lmoments, sample_lmoments


def _raising_scheduler(*args, **kwargs):
    raise AssertionError("a dask computation ran before the result was computed")


def _gev_samples(shapes, size, seed=0, loc=30.0, scale=2.0):
    """Return (len(shapes), size) GEV samples; ``shapes`` in the climate convention."""
    rng = np.random.default_rng(seed)
    return np.stack(
        [genextreme.rvs(-xi, loc=loc, scale=scale, size=size, random_state=rng) for xi in shapes]
    )


# --- existing distribution functions ---------------------------------------------------------


def test_cdf_and_return_level_match_scipy():
    for xi in (-0.3, 0.0, 0.2):
        x = np.linspace(25, 40, 7)
        # 1e-12: both are closed forms of Coles (2001) eq. 3.2 in double precision.
        np.testing.assert_allclose(gev_cdf(x, 30, 2, xi), genextreme.cdf(x, -xi, 30, 2), atol=1e-12)
        level = return_level(30, 2, xi, 100.0)
        np.testing.assert_allclose(level, genextreme.ppf(0.99, -xi, 30, 2), rtol=1e-10)


# --- L-moments ---------------------------------------------------------------------------------


def test_sample_lmoments_match_lmoments3_and_ignore_nan():
    data = _gev_samples([0.1, -0.2, 0.0], 50, seed=1)
    l1, l2, t3, count = sample_lmoments(data)
    for i, row in enumerate(data):
        expected = lmoments3.lmom_ratios(row, nmom=3)
        # 1e-10: the same unbiased PWM estimators (Hosking 1990), summed in another order.
        np.testing.assert_allclose([l1[i], l2[i], t3[i]], expected, rtol=1e-10)
    gappy = data[0].copy()
    gappy[[3, 17, 40]] = np.nan
    g1, g2, g3, n = sample_lmoments(gappy)
    np.testing.assert_allclose(
        [g1, g2, g3], lmoments3.lmom_ratios(gappy[~np.isnan(gappy)], nmom=3), rtol=1e-10
    )
    assert n == 47
    assert count.tolist() == [50, 50, 50]


def test_lmoment_fit_matches_lmoments3():
    rng = np.random.default_rng(7)
    shapes = rng.uniform(-0.4, 0.4, 60)
    data = _gev_samples(shapes, 40, seed=8)
    fit = fit_gev(data)
    inside = np.abs(fit["shape"]) < SHAPE_BOUNDS[1]
    assert inside.sum() > 50
    for i in np.flatnonzero(inside):
        ref = distr.gev.lmom_fit(data[i])
        # lmoments3 (Hosking's pelgev) uses rational approximations and a Newton loop stopping
        # at relative 1e-6; we solve tau3(k) to machine precision. Measured max difference
        # 2e-7 in shape, 5e-7 x scale in loc/scale; 1e-5 leaves margin.
        assert fit["shape"][i] == pytest.approx(-ref["c"], abs=1e-5)
        assert fit["loc"][i] == pytest.approx(ref["loc"], abs=1e-5 * ref["scale"])
        assert fit["scale"][i] == pytest.approx(ref["scale"], rel=1e-5)


def test_gumbel_limit_of_lmoment_formulas():
    # tau3 = log(9/8)/log 2 is the Gumbel L-skewness (Hosking 1990, Table 1).
    t3 = np.log(9.0 / 8.0) / np.log(2.0)
    loc, scale, shape = gev_from_lmoments(10.0 + 0.5772156649 * 2.0, 2.0 * np.log(2.0), t3)
    assert abs(shape) < 1e-9
    assert scale == pytest.approx(2.0, rel=1e-9)
    assert loc == pytest.approx(10.0, rel=1e-9)


@pytest.mark.parametrize("xi", [-0.3, -0.1, 0.0, 0.1, 0.3])
def test_lmoment_round_trip_on_large_samples(xi):
    data = _gev_samples([xi], 20000, seed=3, loc=5.0, scale=1.5)[0]
    fit = fit_gev(data)
    # Sampling sd of the L-moment estimates at n = 20000, measured from 300 replicates (at
    # n = 2000, scaled by sqrt(1/10)): shape <= 0.0091 (largest at xi = 0.3), loc <= 0.0136,
    # scale <= 0.0133. Tolerances are ~4.4 sd, so a seeded draw never fails by chance.
    assert fit["shape"] == pytest.approx(xi, abs=0.04)
    assert fit["loc"] == pytest.approx(5.0, abs=0.06)
    assert fit["scale"] == pytest.approx(1.5, abs=0.06)
    assert fit["status"] == "ok"


def test_vectorised_fit_equals_series_by_series():
    data = _gev_samples(np.linspace(-0.3, 0.3, 12), 30, seed=4).reshape(3, 4, 30)
    whole = fit_gev(data)
    for idx in np.ndindex(3, 4):
        single = fit_gev(data[idx])
        for key in ("loc", "scale", "shape", "nllh"):
            # 1e-12: identical arithmetic, only the array shape differs.
            np.testing.assert_allclose(whole[key][idx], single[key], rtol=1e-12)


def test_shape_is_bounded():
    data = _gev_samples([0.9, -0.9], 200, seed=5)
    fit = fit_gev(data)
    np.testing.assert_allclose(fit["shape"], [0.5, -0.5])
    mle = fit_gev(data, method="mle")
    assert np.all((mle["shape"] >= -0.5) & (mle["shape"] <= 0.5))


# --- maximum likelihood ------------------------------------------------------------------------


def test_mle_likelihood_at_least_scipy():
    rng = np.random.default_rng(11)
    shapes = rng.uniform(-0.3, 0.3, 8)
    data = _gev_samples(shapes, 60, seed=12, loc=4.0, scale=0.3)
    fit = fit_gev(data, method="mle")
    compared = 0
    for i, series in enumerate(data):
        c, loc, scale = genextreme.fit(series)
        if abs(c) > SHAPE_BOUNDS[1]:
            continue  # scipy's optimum lies outside our documented shape bound (series 0)
        scipy_loglik = genextreme.logpdf(series, c, loc, scale).sum()
        # Required by the spec: our optimum is no worse than scipy's (to 1e-6 in log L).
        assert -fit["nllh"][i] >= scipy_loglik - 1e-6
        compared += 1
    assert compared >= 6


def test_mle_improves_on_lmoments():
    data = _gev_samples([0.1, -0.2], 50, seed=13)
    lmom, mle = fit_gev(data), fit_gev(data, method="mle")
    assert np.all(mle["nllh"] <= lmom["nllh"] + 1e-9)


def test_nllh_matches_scipy():
    data = _gev_samples([0.2], 40, seed=14)[0]
    for xi in (-0.2, 0.0, 0.2):
        expected = -genextreme.logpdf(data, -xi, 29.0, 2.5).sum()
        assert gev_nllh(data, 29.0, 2.5, xi) == pytest.approx(expected, rel=1e-10)
    # A bounded tail whose upper end point lies below the data: outside the support.
    assert gev_nllh(data, 20.0, 1.0, -0.5) == np.inf


# --- robustness --------------------------------------------------------------------------------


def test_bad_series_give_nan_with_reason_and_never_raise():
    data = _gev_samples([0.1] * 6, 30, seed=15)
    data[0] = np.nan
    data[1] = 7.0
    data[2, 5:] = np.nan
    data[3, :10] = np.nan
    data[4, 0] = np.inf
    fit = fit_gev(data)
    assert fit["status"].tolist() == ["nan", "constant", "too_short", "ok", "ok", "ok"]
    assert np.isnan(fit["loc"][:3]).all() and np.isnan(fit["shape"][:3]).all()
    # Missing values are left out: the gappy series fits like the series without them.
    np.testing.assert_allclose(fit["shape"][3], fit_gev(data[3, 10:])["shape"], rtol=1e-12)
    np.testing.assert_allclose(fit["shape"][4], fit_gev(data[4, 1:])["shape"], rtol=1e-12)
    mle = fit_gev(data, method="mle")
    assert mle["status"].tolist() == fit["status"].tolist()


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="method: expected 'lmoments' or 'mle'"):
        fit_gev(np.zeros((2, 20)), method="moments")
    with pytest.raises(ValueError, match="min_samples: expected at least 3"):
        fit_gev(np.zeros((2, 20)), min_samples=2)
    with pytest.raises(ValueError, match="expected the sample dim 'year'"):
        fit_gev(xr.DataArray(np.zeros((2, 20)), dims=("lat", "time")))
    with pytest.raises(ValueError, match="greater than 1"):
        return_levels(xr.Dataset({"loc": 1.0, "scale": 1.0, "shape": 0.0}), [1.0])


# --- xarray and dask ---------------------------------------------------------------------------


def _maxima_dataarray(chunked: bool) -> xr.DataArray:
    data = _gev_samples(np.linspace(-0.2, 0.2, 6), 25, seed=16).reshape(2, 3, 25)
    values = da.from_array(data, chunks=(1, 3, 10)) if chunked else data
    return xr.DataArray(
        values,
        dims=("lat", "lon", "year"),
        coords={"lat": [31.0, 31.5], "lon": [121.0, 121.4, 121.8], "year": np.arange(2000, 2025)},
        attrs={"units": "degC"},
    )


def test_dataarray_fit_is_lazy_and_equals_numpy():
    with dask.config.set(scheduler=_raising_scheduler):
        lazy = fit_gev(_maxima_dataarray(chunked=True))
        levels = return_levels(lazy, [10, 100])
        assert lazy["shape"].chunks is not None and levels.chunks is not None
    eager = fit_gev(_maxima_dataarray(chunked=False))
    with dask.config.set(scheduler="synchronous"):
        computed = lazy.compute()
    assert set(computed.data_vars) == {
        *("loc", "scale", "shape", "nllh", "status"),
        *("shape_at_bound", "shape_clipped"),  # the default method is "lmoments"
    }
    assert computed["shape_at_bound"].dtype == bool
    assert computed["loc"].dims == ("lat", "lon")
    assert computed["loc"].attrs["units"] == "degC" and computed["shape"].attrs["units"] == "1"
    xr.testing.assert_allclose(
        computed[["loc", "scale", "shape"]], eager[["loc", "scale", "shape"]]
    )
    assert (computed["status"] == "ok").all()
    expected = return_level(eager["loc"].values, eager["scale"].values, eager["shape"].values, 100)
    np.testing.assert_allclose(levels.sel(return_period=100).values, expected, rtol=1e-12)
    assert levels.dims == ("return_period", "lat", "lon")
