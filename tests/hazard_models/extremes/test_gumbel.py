import numpy as np
import pytest
from scipy.stats import gumbel_r

from hazard_models.extremes.gev import gev_nllh
from hazard_models.extremes.gev_mle import gev_information
from hazard_models.extremes.gumbel import fit_gumbel


def test_likelihood_at_least_scipys_on_simulated_series():
    rng = np.random.default_rng(3)
    loc = np.linspace(3, 100, 40)[:, None]
    scale = np.linspace(0.1, 20, 40)[:, None]
    x = gumbel_r.rvs(loc=loc, scale=scale, size=(40, 60), random_state=rng)
    fit = fit_gumbel(x)
    for i in range(40):
        ref_loc, ref_scale = gumbel_r.fit(x[i])
        # ours is the exact root of the score equations; scipy's optimiser stops near it
        assert fit["nllh"][i] <= gev_nllh(x[i], ref_loc, ref_scale, 0.0) + 1e-8
    assert (fit["status"] == "ok").all() and (fit["shape"] == 0).all()


def test_covariance_is_inverse_information_block():
    x = gumbel_r.rvs(loc=10, scale=2, size=(1, 80), random_state=1)
    fit = fit_gumbel(x)
    info = gev_information(x, fit["loc"], fit["scale"], fit["shape"])[..., :2, :2]
    np.testing.assert_allclose(fit["cov"] @ info, np.eye(2)[None], atol=1e-10)


def test_gaps_short_and_constant_series():
    x = gumbel_r.rvs(loc=10, scale=2, size=(3, 30), random_state=2)
    x[0, :5] = np.nan
    x[1, :25] = np.nan
    x[2] = 7.0
    fit = fit_gumbel(x)
    assert list(fit["status"]) == ["ok", "too_short", "constant"]
    assert np.isfinite(fit["loc"][0]) and np.isnan(fit["loc"][1:]).all()
    assert fit["loc"][0] == pytest.approx(fit_gumbel(x[0, 5:])["loc"], rel=1e-12)
