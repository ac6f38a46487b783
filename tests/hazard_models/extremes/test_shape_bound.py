"""Shape bounds that say when they bind: flags of the engines, unrestricted fits, deviance.

Independent references: scipy.stats.genextreme / genpareto maximum likelihood (scipy's
c = -xi for the GEV, c = xi for the GPD), lmoments3 for unclipped L-moment estimates, and
Coles (2001, sec. 6.3.2) for the Fremantle trend model.
"""

from pathlib import Path

import dask
import numpy as np
import pytest
import xarray as xr
from scipy.stats import genextreme, genpareto

from hazard_models.extremes.gev import gev_nllh
from hazard_models.extremes.gev_fit import fit_gev
from hazard_models.extremes.gpd import fit_gpd
from hazard_models.extremes.lmoments import gev_from_lmoments, sample_lmoments
from hazard_models.extremes.shape_bound import (
    deviance_where_bound,
    fit_gev_single,
    fit_gpd_single,
    flag_shape_at_bound,
    shape_limits,
)

COLES = Path(__file__).parents[2] / "data" / "coles"


@pytest.fixture
def heavy():
    """40 maxima from a GEV with xi = 0.9: the MLE lies beyond the engines' bound 0.5."""
    return genextreme.rvs(-0.9, loc=10, scale=2, size=40, random_state=1)


def test_engines_flag_the_bound(heavy):
    pirie = np.loadtxt(COLES / "portpirie.csv", delimiter=",", skiprows=1, usecols=1)
    data = np.stack([heavy, pirie[:40]])
    for method in ("mle", "lmoments"):
        fit = fit_gev(data, method=method)
        assert fit["shape_at_bound"].tolist() == [True, False]
        assert fit["shape"][0] == 0.5 and fit["status"].tolist() == ["ok", "ok"]
    assert fit_gev(data, method="lmoments")["shape_clipped"].tolist() == [True, False]
    assert "shape_clipped" not in fit_gev(data, method="mle")


def test_dataarray_flag_stays_lazy(heavy):
    data = xr.DataArray(np.stack([heavy] * 4), dims=("station", "year")).chunk({"station": 1})
    with dask.config.set(scheduler="single-threaded"):
        fit = fit_gev(data, method="mle")
        assert fit["shape_at_bound"].chunks is not None  # nothing computed yet
        assert fit["shape_at_bound"].values.all()


def test_gpd_engine_flags_the_bound():
    excess = genpareto.rvs(0.9, scale=5.0, size=(2, 60), random_state=3)
    excess[1] = genpareto.rvs(0.1, scale=5.0, size=60, random_state=4)
    fit = fit_gpd(10.0 + excess, threshold=10.0)
    assert fit["shape_at_bound"].tolist() == [True, False]


def test_unrestricted_gev_matches_scipy(heavy):
    free = fit_gev_single(heavy, shape_bound=None)
    c, loc, scale = genextreme.fit(heavy)
    # scipy's optimiser stops at ~1e-5 relative; the likelihood is flat to that level
    assert (free["loc"], free["scale"], free["shape"]) == pytest.approx((loc, scale, -c), rel=1e-4)
    assert free["nllh"] == pytest.approx(-genextreme.logpdf(heavy, c, loc, scale).sum(), abs=1e-6)
    bounded = fit_gev_single(heavy)
    assert bounded["shape"] == pytest.approx(0.5, abs=1e-8)
    deviance = 2 * (bounded["nllh"] - free["nllh"])
    assert 0 < deviance < 10
    engine = fit_gev(heavy, method="mle")
    assert bounded["nllh"] == pytest.approx(float(engine["nllh"]), abs=1e-6)


def test_bounded_fit_equals_the_engine_inside_the_bound():
    pirie = np.loadtxt(COLES / "portpirie.csv", delimiter=",", skiprows=1, usecols=1)
    single = fit_gev_single(pirie)
    engine = fit_gev(pirie, method="mle")
    for name in ("loc", "scale", "shape"):  # two optimisers of one likelihood: 1e-5
        assert single[name] == pytest.approx(float(engine[name]), abs=1e-5)


def test_unrestricted_gpd_matches_scipy():
    excess = genpareto.rvs(0.9, scale=5.0, size=60, random_state=3)
    free = fit_gpd_single(excess, shape_bound=None)
    c, _, scale = genpareto.fit(excess, floc=0)
    assert (free["scale"], free["shape"]) == pytest.approx((scale, c), rel=1e-4)
    assert fit_gpd_single(excess)["shape"] == pytest.approx(0.5, abs=1e-8)


def test_trend_fit_reproduces_coles_fremantle():
    table = np.genfromtxt(COLES / "fremantle.csv", delimiter=",", skip_header=1)
    fit = fit_gev_single(table[:, 1], covariate=table[:, 0])
    # Coles (2001) sec. 6.3.2: beta1 0.00203 m/yr, sigma 0.124, xi -0.125, log-likelihood 49.9
    assert fit["loc1"] == pytest.approx(0.00203, abs=1e-5)
    assert (fit["scale"], fit["shape"]) == pytest.approx((0.124, -0.125), abs=0.001)
    assert fit["nllh"] == pytest.approx(-49.9, abs=0.05)


def test_unclipped_lmoments_match_lmoments3(heavy):
    from lmoments3 import distr

    loc, scale, shape = gev_from_lmoments(*sample_lmoments(heavy)[:3], shape_bounds=(-1.0, 1.0))
    reference = distr.gev.lmom_fit(heavy)  # Hosking's k = -xi
    assert float(shape) == pytest.approx(-reference["c"], abs=1e-6)
    assert (float(loc), float(scale)) == pytest.approx(
        (reference["loc"], reference["scale"]), rel=1e-6
    )
    assert float(shape) > 0.5  # what the default clip hides
    assert np.isfinite(gev_nllh(heavy, loc, scale, shape))


def test_limits_and_flags():
    assert shape_limits(None) == (-1.0, np.inf)  # no MLE below -1 (Smith 1985)
    assert shape_limits(2.0) == (-1.0, 2.0) and shape_limits(0.3) == (-0.3, 0.3)
    with pytest.raises(ValueError, match="expected a positive number"):
        shape_limits(0.0)
    assert flag_shape_at_bound([0.5, -0.5, 0.49, np.nan]).tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match="at least 3 finite, distinct"):
        fit_gev_single([1.0, 1.0, 1.0, np.nan])


def test_deviance_where_bound_refits_only_flagged_series(heavy):
    pirie = np.loadtxt(COLES / "portpirie.csv", delimiter=",", skiprows=1, usecols=1)
    data = np.stack([heavy, pirie[:40]])
    fit = fit_gev(data, method="mle")
    out = deviance_where_bound(data, fit)
    c, loc, scale = genextreme.fit(heavy)
    assert out["shape_unrestricted"][0] == pytest.approx(-c, rel=1e-4)
    reference = -genextreme.logpdf(heavy, c, loc, scale).sum()
    assert out["deviance"][0] == pytest.approx(2 * (fit["nllh"][0] - reference), abs=1e-5)
    assert np.isnan(out["shape_unrestricted"][1]) and np.isnan(out["deviance"][1])
    excess = genpareto.rvs(0.9, scale=5.0, size=(1, 60), random_state=3)
    gpd = fit_gpd(10.0 + excess, threshold=10.0)
    free = deviance_where_bound(10.0 + excess, gpd, threshold=10.0)
    assert free["shape_unrestricted"][0] == pytest.approx(
        genpareto.fit(excess[0], floc=0)[0], rel=1e-4
    )
    assert free["deviance"][0] > 0
