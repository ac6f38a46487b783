"""Tests of GEV goodness-of-fit statistics: plotting positions, PPCC, Anderson-Darling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from hazard_models.extremes.gev_fit import fit_gev
from hazard_models.extremes.goodness import (
    anderson_darling,
    bootstrap_goodness_pvalues,
    empirical_probabilities,
    ppcc,
    probability_plot,
)
from hazard_models.extremes.uncertainty import simulate_gev

COLES = Path(__file__).resolve().parents[2] / "data" / "coles"


def _params(fit: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return fit["loc"], fit["scale"], fit["shape"]


def _bimodal(n_series: int, n: int, seed: int) -> np.ndarray:
    """Half N(0, 1), half N(8, 1): two well-separated modes, clearly not a GEV."""
    rng = np.random.default_rng(seed)
    half = n // 2
    return np.concatenate(
        [rng.normal(0, 1, (n_series, half)), rng.normal(8, 1, (n_series, n - half))], axis=-1
    )


def test_plotting_positions_known_values_and_gaps() -> None:
    data = np.array([[3.0, 1.0, 2.0, np.nan], [4.0, 3.0, 2.0, 1.0]])
    ordered, gringorten = empirical_probabilities(data)
    np.testing.assert_array_equal(ordered[0, :3], [1.0, 2.0, 3.0])
    assert np.isnan(ordered[0, 3]) and np.isnan(gringorten[0, 3])
    # Gringorten (1963): (i - 0.44) / (n + 0.12); n = 3 and n = 4.
    np.testing.assert_allclose(gringorten[0, :3], (np.arange(1, 4) - 0.44) / 3.12)
    np.testing.assert_allclose(gringorten[1], (np.arange(1, 5) - 0.44) / 4.12)
    _, weibull = empirical_probabilities(data, formula="weibull")
    np.testing.assert_allclose(weibull[1], np.arange(1, 5) / 5)
    with pytest.raises(ValueError, match="formula"):
        empirical_probabilities(data, formula="blom")  # type: ignore[arg-type]


def test_anderson_darling_matches_scipy_for_gumbel() -> None:
    data = np.loadtxt(COLES / "portpirie.csv", delimiter=",", skiprows=1)[:, 1]
    loc, scale = stats.gumbel_r.fit(data)  # scipy.stats.anderson(dist="gumbel_r") uses this fit
    expected = stats.anderson(data, dist="gumbel_r", method="interpolate").statistic
    # Same formula and parameters, different summation order: agreement to rounding.
    assert anderson_darling(data, (loc, scale, 0.0)) == pytest.approx(expected, rel=1e-10)


def test_ppcc_matches_scipy_correlation_and_ignores_gaps() -> None:
    sample = simulate_gev({"loc": 10.0, "scale": 2.0, "shape": 0.15}, 40, seed=3)
    params = (10.2, 2.1, 0.1)
    n = sample.size
    positions = (np.arange(1, n + 1) - 0.44) / (n + 0.12)
    quantiles = stats.genextreme.ppf(positions, -0.1, loc=10.2, scale=2.1)  # scipy c = -xi
    expected = stats.pearsonr(np.sort(sample), quantiles).statistic
    assert ppcc(sample, params) == pytest.approx(expected, rel=1e-12)
    with_gaps = np.concatenate([[np.nan], sample, [np.nan, np.inf]])
    assert ppcc(with_gaps, params) == pytest.approx(expected, rel=1e-12)
    assert anderson_darling(with_gaps, params) == pytest.approx(anderson_darling(sample, params))


def test_probability_plot_points_are_consistent() -> None:
    sample = simulate_gev({"loc": 0.0, "scale": 1.0, "shape": -0.2}, 30, seed=8)
    points = probability_plot(sample, (0.0, 1.0, -0.2))
    assert set(points) == {
        "ordered",
        "empirical_probability",
        "model_probability",
        "model_quantile",
    }
    assert np.all(np.diff(points["model_probability"]) > 0)
    assert np.all(np.diff(points["model_quantile"]) > 0)
    # model quantile and model probability are inverse maps: F(F^-1(p)) = p
    exact = probability_plot(points["model_quantile"], (0.0, 1.0, -0.2))
    np.testing.assert_allclose(exact["model_probability"], points["empirical_probability"])
    assert ppcc(points["model_quantile"], (0.0, 1.0, -0.2)) == pytest.approx(1.0, abs=1e-12)


def test_good_fits_score_well_and_bimodal_badly() -> None:
    gev = simulate_gev({"loc": np.full(200, 10.0), "scale": 2.0, "shape": 0.1}, 60, seed=21)
    bimodal = _bimodal(200, 60, seed=22)
    gev_fit, bimodal_fit = fit_gev(gev, method="mle"), fit_gev(bimodal, method="mle")
    a2_gev, a2_bimodal = (
        anderson_darling(gev, _params(gev_fit)),
        anderson_darling(bimodal, _params(bimodal_fit)),
    )
    r_gev, r_bimodal = ppcc(gev, _params(gev_fit)), ppcc(bimodal, _params(bimodal_fit))
    # Stephens (1974) / scipy asymptotic 5 % point for A^2 with estimated parameters is ~0.75
    # (Gumbel case); a true GEV sample exceeds it in ~5 % of series, a bimodal one nearly always.
    assert np.mean(a2_gev > 0.75) < 0.15
    assert np.mean(a2_bimodal > 0.75) > 0.95
    # Every bimodal series is worse than the median GEV series on both statistics.
    assert a2_bimodal.min() > np.median(a2_gev)
    assert r_bimodal.max() < np.median(r_gev)
    assert np.median(r_gev) > 0.98


def test_bootstrap_pvalues_separate_good_and_bimodal() -> None:
    gev = simulate_gev({"loc": np.full(40, 10.0), "scale": 2.0, "shape": 0.1}, 60, seed=31)
    bimodal = _bimodal(10, 60, seed=32)
    good = bootstrap_goodness_pvalues(gev, n_boot=199, seed=1)
    bad = bootstrap_goodness_pvalues(bimodal, n_boot=199, seed=2)
    # Under the null p-values are ~uniform: the share below 0.05 is 0.05 (binomial sd 0.034 for
    # 40 series); allow up to 0.2.
    assert np.mean(good["ppcc_pvalue"] < 0.05) <= 0.2
    assert np.mean(good["anderson_darling_pvalue"] < 0.05) <= 0.2
    # PPCC rejects every bimodal series; A^2 p-values are floored by the ~3 % of L-moment
    # refits that leave a simulated value outside their support (A^2 = inf), see the docs.
    assert np.all(bad["ppcc_pvalue"] < 0.02)
    assert np.all(bad["anderson_darling_pvalue"] < 0.15)
    assert bad["anderson_darling"].min() > good["anderson_darling"].max()


def test_bad_series_give_nan_not_errors() -> None:
    data = np.array([[1.0, 2.0, np.nan, np.nan], [5.0, 4.0, 3.0, 2.0]])
    result_ad = anderson_darling(data, (np.array([1.0, np.nan]), 1.0, 0.0))
    assert np.isnan(result_ad).all()  # series 0 too short, series 1 NaN parameter
    outside = anderson_darling(np.array([0.0, 1.0, 5.0]), (0.0, 1.0, -0.5))  # bound at 2.0
    assert outside == np.inf
    short = bootstrap_goodness_pvalues(data[:1], n_boot=20)
    assert np.isnan(short["ppcc_pvalue"]).all() and np.isnan(short["ppcc"]).all()


def test_gpd_ppcc_matches_scipy_and_flags_a_wrong_tail():
    from scipy.stats import genpareto, pearsonr

    from hazard_models.extremes.goodness import gpd_ppcc

    y = genpareto.rvs(0.2, scale=5, size=(1, 200), random_state=1)
    p = (np.arange(1, 201) - 0.44) / (200 + 0.12)  # Gringorten positions
    expected = pearsonr(np.sort(y[0]), genpareto.ppf(p, 0.2, scale=5))[0]
    assert gpd_ppcc(y, 5.0, 0.2)[0] == pytest.approx(expected, rel=1e-12)
    # an exponential model (xi = 0) for a very heavy tail fits visibly worse
    heavy = genpareto.rvs(0.45, scale=5, size=(1, 400), random_state=2)
    assert gpd_ppcc(heavy, 5.0, 0.0)[0] < gpd_ppcc(heavy, 5.0, 0.45)[0]
