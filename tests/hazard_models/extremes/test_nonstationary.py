"""Tests of the non-stationary GEV against Coles (2001) and simulated trends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import chi2, genextreme

from hazard_models.extremes.gev import design_life_exceedance, exceedance_probability, return_level
from hazard_models.extremes.nonstationary import (
    annual_exceedance_nonstationary,
    compare_to_stationary,
    effective_return_level,
    fit_gev_nonstationary,
)

COLES = Path(__file__).resolve().parents[2] / "data" / "coles"


@pytest.fixture(scope="module")
def fremantle() -> pd.DataFrame:
    """Fremantle annual maximum sea levels (m), 1897-1989 with gaps (Coles 2001, sec. 6.3.2)."""
    return pd.read_csv(COLES / "fremantle.csv")


@pytest.fixture(scope="module")
def portpirie() -> pd.DataFrame:
    """Port Pirie annual maximum sea levels (m), 1923-1987 (Coles 2001, sec. 3.4.1)."""
    return pd.read_csv(COLES / "portpirie.csv")


def test_fremantle_linear_trend_matches_coles(fremantle: pd.DataFrame) -> None:
    # Coles (2001), sec. 6.3.2, mu(t) = beta0 + beta1 t with t = year - 1896: beta0 = 1.38
    # (0.03), beta1 = 0.00203 (0.00052), sigma = 0.124 (0.010), xi = -0.125 (0.070),
    # maximised log-likelihood 49.9. Transcribed from jojal5/Extremes.jl
    # test/reproducingColesResults.jl (commit 030aedd9). Tolerances: half a unit of the last
    # printed digit.
    fit = fit_gev_nonstationary(fremantle["SeaLevel"].to_numpy(), fremantle["Year"] - 1896.0)
    se = np.sqrt(np.diag(fit["covariance"]))
    assert fit["status"] == "ok"
    assert fit["loc0"] == pytest.approx(1.38, abs=0.005)
    assert fit["loc1"] == pytest.approx(0.00203, abs=0.000005)
    assert fit["scale"] == pytest.approx(0.124, abs=0.0005)
    assert fit["shape"] == pytest.approx(-0.125, abs=0.0005)
    assert fit["nllh"] == pytest.approx(-49.9, abs=0.05)
    printed = np.array([0.03, 0.00052, 0.010, 0.070])  # standard errors, Coles sec. 6.3.2
    assert np.all(np.abs(se - printed) <= np.array([0.005, 5e-6, 5e-4, 5e-4]))


def test_fremantle_rejects_stationarity_as_in_coles(fremantle: pd.DataFrame) -> None:
    # Coles (2001), sec. 6.3.2: the linear-trend model improves the log-likelihood from 43.6
    # (stationary) to 49.9, a deviance of about 12.6, far above chi2_1(0.95) = 3.84.
    result = compare_to_stationary(fremantle["SeaLevel"].to_numpy(), fremantle["Year"] - 1896.0)
    assert result["nllh_stationary"] == pytest.approx(-43.6, abs=0.05)
    assert result["deviance"] == pytest.approx(2 * (49.9 - 43.6), abs=0.2)  # printed values
    assert result["deviance"] > chi2.ppf(0.95, 1)
    assert result["p_value"] < 0.001
    assert result["aic_nonstationary"] < result["aic_stationary"]


def test_fremantle_log_scale_trend_does_not_improve(fremantle: pd.DataFrame) -> None:
    # Coles (2001), sec. 6.3.2 (via Extremes.jl): a trend in log sigma too gives log-lik 50.7
    # with t = 1..86 (rtol 0.1 there), i.e. < 1 unit above the linear-location model, not
    # significant against chi2_1. Our t = year - 1896 fit must lie in the same range.
    data = fremantle["SeaLevel"].to_numpy()
    both = compare_to_stationary(data, fremantle["Year"] - 1896.0, log_scale=True)
    linear = fit_gev_nonstationary(data, fremantle["Year"] - 1896.0)
    assert both["degrees_of_freedom"] == 2
    assert -both["nllh_nonstationary"] == pytest.approx(50.7, abs=0.5)
    assert 2 * (linear["nllh"] - both["nllh_nonstationary"]) < chi2.ppf(0.95, 1)


def test_portpirie_stationary_fit_matches_coles(portpirie: pd.DataFrame) -> None:
    # Coles (2001), sec. 3.4.1: mu = 3.87, sigma = 0.198, xi = -0.050, log-likelihood 4.34,
    # 100-year return level 4.69 m; variances 0.000780, 0.000410, 0.00965 (sigma on its own
    # scale). Transcribed from Extremes.jl test/reproducingColesResults.jl. Tolerance: half a
    # unit of the last printed digit.
    result = fit_gev_nonstationary(portpirie["SeaLevel"].to_numpy(), portpirie["Year"])
    loc, scale, shape = (result[f"stationary_{k}"] for k in ("loc", "scale", "shape"))
    assert loc == pytest.approx(3.87, abs=0.005)
    assert scale == pytest.approx(0.198, abs=0.0005)
    assert shape == pytest.approx(-0.050, abs=0.0005)
    assert result["stationary_nllh"] == pytest.approx(-4.34, abs=0.005)
    assert return_level(loc, scale, shape, 100) == pytest.approx(4.69, abs=0.005)
    comparison = compare_to_stationary(portpirie["SeaLevel"].to_numpy(), portpirie["Year"])
    assert comparison["p_value"] > 0.05  # Coles, sec. 3.4.1: no evidence of a trend


def _simulate(rng: np.random.Generator, n_series: int, trend: float) -> tuple[np.ndarray, ...]:
    years = np.arange(1961, 2021, dtype=float)  # 60 annual maxima per series
    loc = 30.0 + trend * (years - 1961.0)
    data = genextreme.rvs(-0.1, loc=loc, scale=5.0, size=(n_series, years.size), random_state=rng)
    return data, years  # scipy's c = -0.1 is xi = +0.1 (heavy tail)


def test_simulated_trend_is_recovered() -> None:
    rng = np.random.default_rng(20010)
    data, years = _simulate(rng, 400, 0.1)
    fit = fit_gev_nonstationary(data, years)
    assert (fit["status"] == "ok").all()
    # The mean of 400 estimates has standard error ~ 0.02 / sqrt(400) = 0.001 (one fit's SE is
    # ~0.02 mm/day per year here): a 0.005 tolerance is 5 standard errors.
    assert fit["loc1"].mean() == pytest.approx(0.1, abs=0.005)
    assert fit["shape"].mean() == pytest.approx(0.1, abs=0.02)
    # The reported standard error must match the spread of the estimates (within 15 %).
    se = np.sqrt(fit["covariance"][:, 1, 1])
    assert se.mean() == pytest.approx(fit["loc1"].std(), rel=0.15)
    # The trend model nests the stationary one and starts from its MLE: never a worse NLL.
    assert (fit["nllh"] <= fit["stationary_nllh"]).all()


def test_per_series_covariate_and_bad_series() -> None:
    rng = np.random.default_rng(3)
    data, years = _simulate(rng, 3, 0.1)
    data[1, :55] = np.nan  # too short
    data[2] = 7.0  # constant
    covariate = np.broadcast_to(years, data.shape).copy()
    covariate[0, :5] = np.nan  # covariate gaps drop those values
    fit = fit_gev_nonstationary(data, covariate)
    assert list(fit["status"]) == ["ok", "too_short", "constant"]
    assert np.isnan(fit["loc1"][1:]).all() and np.isfinite(fit["loc1"][0])
    flat = fit_gev_nonstationary(data[:1], np.ones(60))
    assert flat["status"][0] == "constant_covariate"
    with pytest.raises(ValueError, match="covariate: expected shape"):
        fit_gev_nonstationary(data, years[:10])


def test_design_life_under_trend_exceeds_stationary() -> None:
    params = {"loc0": np.array(30.0), "loc1": np.array(0.1), "scale": np.array(5.0)}
    params["shape"] = np.array(0.1)
    years = np.arange(2030, 2080, dtype=float) - 1961.0
    p_t = annual_exceedance_nonstationary(60.0, params, years)
    assert p_t.shape == (50,)
    expected = exceedance_probability(60.0, 30.0 + 0.1 * years, 5.0, 0.1)  # direct formula
    np.testing.assert_allclose(p_t, expected, rtol=1e-12)
    assert np.all(np.diff(p_t) > 0)  # a rising location raises each year's probability
    stationary = design_life_exceedance(np.full(50, p_t[0]))
    assert design_life_exceedance(p_t) > stationary
    # The effective level at x has annual exceedance 1/T there (round trip, float precision).
    level = effective_return_level(params, 80.0, 100.0)
    assert annual_exceedance_nonstationary(level, params, [80.0])[0] == pytest.approx(0.01)


def test_dataarray_wrapper_is_lazy_and_matches_numpy() -> None:
    rng = np.random.default_rng(11)
    data, years = _simulate(rng, 6, 0.05)
    array = xr.DataArray(
        data.reshape(2, 3, -1), dims=("lat", "lon", "year"), attrs={"units": "mm/day"}
    ).chunk({"lat": 1})
    result = fit_gev_nonstationary(array, years, log_scale=True)
    assert result["loc1"].chunks is not None  # nothing computed yet
    with xr.set_options(keep_attrs=True):
        computed = result.compute(scheduler="synchronous")
    reference = fit_gev_nonstationary(data, years, log_scale=True)
    np.testing.assert_allclose(computed["scale1"].values.ravel(), reference["scale1"])
    assert computed["covariance"].dims == ("lat", "lon", "row_parameter", "column_parameter")
    assert list(computed["row_parameter"].values) == ["loc0", "loc1", "scale0", "scale1", "shape"]
    assert computed["loc0"].attrs["units"] == "mm/day"
    warming = xr.DataArray([1.0, 2.0], dims="warming_level")
    levels = effective_return_level(computed, warming, 100.0)
    assert levels.dims == ("lat", "lon", "warming_level")
    comparison = compare_to_stationary(array, years)
    assert set(comparison["p_value"].dims) == {"lat", "lon"}


def test_fit_gev_with_a_covariate_is_the_nonstationary_fit():
    from hazard_models.extremes.gev_fit import fit_gev
    from hazard_models.extremes.nonstationary import fit_gev_nonstationary

    rng = np.random.default_rng(11)
    years = np.arange(1950, 2010, dtype=float)
    data = 10 + 0.05 * (years - 1950) + rng.gumbel(0, 1.5, size=(3, years.size))
    via_fit_gev = fit_gev(data, method="mle", covariate=years)
    direct = fit_gev_nonstationary(data, years)
    np.testing.assert_array_equal(via_fit_gev["loc1"], direct["loc1"])
    with pytest.raises(ValueError, match="a covariate needs method 'mle'"):
        fit_gev(data, covariate=years)
