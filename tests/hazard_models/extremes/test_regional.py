import dask
import numpy as np
import pytest
import xarray as xr
from scipy.stats import genextreme

from hazard_models.extremes.lmoments import gev_from_lmoments, sample_lmoments
from hazard_models.extremes.regional import fit_gev_regional


@pytest.fixture
def maxima():
    rng = np.random.default_rng(7)
    loc = rng.uniform(80, 120, (2, 6, 5))
    scale = rng.uniform(20, 40, (2, 6, 5))
    values = genextreme.rvs(
        -0.1, loc=loc[..., None], scale=scale[..., None], size=(2, 6, 5, 20), random_state=rng
    )
    return xr.DataArray(values, dims=("model", "lat", "lon", "year"), attrs={"units": "mm/day"})


def test_regional_fit_by_hand(maxima):
    fit = fit_gev_regional(maxima)
    for model in range(2):
        values = maxima.isel(model=model).values.reshape(-1, 20)
        l1, l2, t3, count = sample_lmoments(values)
        regional = np.sum(t3 * count) / np.sum(count)  # Hosking & Wallis (1997) eq. 6.4
        loc, scale, shape = gev_from_lmoments(l1, l2, np.full_like(l1, regional))
        got = fit.isel(model=model)
        np.testing.assert_allclose(got["shape"].values.ravel(), shape, rtol=1e-12)
        np.testing.assert_allclose(got["loc"].values.ravel(), loc, rtol=1e-12)
        np.testing.assert_allclose(got["scale"].values.ravel(), scale, rtol=1e-12)
    # each model is its own region
    assert fit["shape"].isel(model=0, lat=0, lon=0) != fit["shape"].isel(model=1, lat=0, lon=0)


def test_regional_shape_is_closer_to_the_truth_than_site_shapes(maxima):
    from hazard_models.extremes.gev_fit import fit_gev

    regional = fit_gev_regional(maxima)["shape"]
    site = fit_gev(maxima)["shape"]
    # 30 sites x 20 years: the regional estimate's error is several times smaller than the
    # typical single-site error (xi = 0.1 true).
    assert float(np.abs(regional - 0.1).max()) < float(np.abs(site - 0.1).median())


def test_short_and_constant_sites_are_left_out(maxima):
    broken = maxima.copy()
    broken[0, 0, 0, :15] = np.nan  # only 5 values left
    broken[0, 0, 1, :] = 50.0  # constant
    fit = fit_gev_regional(broken)
    assert (
        np.isnan(float(fit["loc"][0, 0, 0])) and str(fit["status"][0, 0, 0].values) == "too_short"
    )
    assert np.isnan(float(fit["loc"][0, 0, 1])) and str(fit["status"][0, 0, 1].values) == "constant"
    values = broken.isel(model=0).values.reshape(-1, 20)[2:]
    _, _, t3, count = sample_lmoments(values)
    assert float(fit["shape"][0, 2, 2]) == pytest.approx(
        float(gev_from_lmoments(1.0, 1.0, np.sum(t3 * count) / np.sum(count))[2]), rel=1e-12
    )


def test_lazy_and_equal_to_eager(maxima):
    def refuse(*args, **kwargs):
        raise AssertionError("computed while building the graph")

    with dask.config.set(scheduler=refuse):
        lazy = fit_gev_regional(maxima.chunk({"lat": 3}))
    assert lazy["loc"].chunks is not None
    xr.testing.assert_allclose(lazy.compute(), fit_gev_regional(maxima))


def test_missing_dims_are_named(maxima):
    with pytest.raises(ValueError, match="expected dims \\['station'\\]"):
        fit_gev_regional(maxima, region_dims=("station",))


def test_index_flood_pools_the_l_cv(maxima):
    fit = fit_gev_regional(maxima, index_flood=True)
    values = maxima.isel(model=0).values.reshape(-1, 20)
    l1, l2, t3, count = sample_lmoments(values)
    cv = np.sum(l2 / l1 * count) / np.sum(count)  # regional L-CV (Hosking & Wallis 1997, 6.2)
    skew = np.sum(t3 * count) / np.sum(count)
    loc, scale, shape = gev_from_lmoments(l1, cv * l1, np.full_like(l1, skew))
    np.testing.assert_allclose(fit["loc"].isel(model=0).values.ravel(), loc, rtol=1e-12)
    np.testing.assert_allclose(fit["scale"].isel(model=0).values.ravel(), scale, rtol=1e-12)
    # every site's scale / mean ratio is the same (one regional growth curve)
    ratio = (fit["scale"] / maxima.mean("year")).isel(model=0)
    assert float(ratio.std()) < 1e-12
