"""OLS trends with Newey-West (HAC) standard errors, against the formulas written in numpy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from resilience.observed.psmsl import annual_means, read_psmsl_monthly, sea_level_trend
from resilience.observed.shipped import PSMSL_STATIONS, observed_file
from resilience.observed.summary_lines import _maxima_trend_line, _sea_level_line
from resilience.observed.trend import fit_linear_trend, newey_west_lags


def hac_by_hand(time: np.ndarray, values: np.ndarray, lags: int) -> tuple[float, float, float]:
    """(slope, OLS SE, Newey-West SE) written out (Newey and West 1987, Bartlett weights).

    V = n / (n - 2) (X'X)^-1 S (X'X)^-1, S = sum_t e_t^2 x_t x_t'
    + sum_j (1 - j / (L + 1)) sum_t e_t e_{t-j} (x_t x_{t-j}' + x_{t-j} x_t'), with X = [1, t]
    (t centred: the slope's variance is the same, and X'X is well conditioned).
    """
    n = time.size
    x = np.column_stack([np.ones(n), time - time.mean()])
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ values
    e = values - x @ beta
    ols_se = np.sqrt(e @ e / (n - 2) * xtx_inv[1, 1])
    score = x * e[:, None]
    s = score.T @ score
    for j in range(1, lags + 1):
        gamma = score[j:].T @ score[:-j]
        s += (1 - j / (lags + 1)) * (gamma + gamma.T)
    v = n / (n - 2) * xtx_inv @ s @ xtx_inv
    return float(beta[1]), float(ols_se), float(np.sqrt(v[1, 1]))


@pytest.fixture
def series() -> tuple[np.ndarray, np.ndarray]:
    """15 years of a 2 mm/yr rise with AR(1) noise (phi 0.6), seeded."""
    rng = np.random.default_rng(17)
    noise = np.zeros(15)
    for i in range(1, 15):
        noise[i] = 0.6 * noise[i - 1] + rng.normal(0, 5)
    years = np.arange(2000.0, 2015.0)
    return years, 7000 + 2.0 * (years - 2000) + noise


@pytest.mark.parametrize("lags", [None, 0, 1, 4])
def test_statsmodels_hac_equals_the_formula_in_numpy(series, lags):
    years, values = series
    trend = fit_linear_trend(years, values, hac_lags=lags)
    expected_lags = newey_west_lags(15) if lags is None else lags
    slope, ols_se, hac_se = hac_by_hand(years, values, expected_lags)
    # both are the same linear algebra in double precision: 1e-10 relative
    assert trend.hac_lags == expected_lags and trend.count == 15
    assert trend.slope == pytest.approx(slope, rel=1e-10)
    assert trend.slope == pytest.approx(np.polyfit(years, values, 1)[0], rel=1e-10)
    assert trend.standard_error == pytest.approx(ols_se, rel=1e-10)
    assert trend.standard_error_hac == pytest.approx(hac_se, rel=1e-10)
    p_value = 2 * stats.t.sf(abs(slope / hac_se), 13)
    assert trend.p_value_hac == pytest.approx(p_value, rel=1e-8)


def test_hac_without_lags_is_the_white_hc1_error(series):
    years, values = series
    # L = 0: White's heteroskedasticity-consistent error with the n / (n - 2) factor (HC1)
    x = np.column_stack([np.ones(15), years - years.mean()])
    e = values - x @ np.linalg.lstsq(x, values, rcond=None)[0]
    bread = np.linalg.inv(x.T @ x)
    hc1 = 15 / 13 * bread @ (x.T * e**2) @ x @ bread
    hac = fit_linear_trend(years, values, hac_lags=0).standard_error_hac
    assert hac == pytest.approx(np.sqrt(hc1[1, 1]), rel=1e-10)


def test_newey_west_rule_of_thumb():
    # floor(4 (n / 100)^(2/9)), Newey and West (1994)
    for n in (5, 15, 27, 28, 36, 52, 99, 100, 272, 273):
        assert newey_west_lags(n) == int(np.floor(4 * (n / 100) ** (2 / 9)))
    assert [newey_west_lags(n) for n in (27, 28, 100, 273)] == [2, 3, 4, 5]
    with pytest.raises(ValueError, match="count: expected >= 1"):
        newey_west_lags(0)


def test_bad_series_are_refused():
    years = np.arange(6.0)
    with pytest.raises(ValueError, match="at least 5"):
        fit_linear_trend(years[:4], years[:4])
    with pytest.raises(ValueError, match="finite"):
        fit_linear_trend(years, np.array([1, 2, np.nan, 4, 5, 6.0]))
    with pytest.raises(ValueError, match="not all equal"):
        fit_linear_trend(np.ones(6), years)
    with pytest.raises(ValueError, match="hac_lags: expected >= 0"):
        fit_linear_trend(years, years, hac_lags=-1)


def test_sea_level_trend_carries_the_hac_error_and_the_summary_shows_both():
    name, path = PSMSL_STATIONS[979]  # Lusi
    annual = annual_means(read_psmsl_monthly(observed_file(path)))
    trend = sea_level_trend(annual)
    years, values = annual.index.to_numpy(float), annual["msl_mm"].to_numpy(float)
    lags = newey_west_lags(years.size)
    slope, ols_se, hac_se = hac_by_hand(years, values, lags)
    assert trend.hac_lags == lags
    assert trend.rate_mm_per_year == pytest.approx(slope, rel=1e-10)
    assert trend.standard_error_hac_mm_per_year == pytest.approx(hac_se, rel=1e-10)
    assert trend.standard_error_mm_per_year == pytest.approx(ols_se, rel=1e-10)
    sea = _sea_level_line()
    assert "(OLS +- SE plain / Newey-West HAC)" in sea
    shown = f"{name} {slope:.2f} +- {ols_se:.2f} / {hac_se:.2f} mm/yr"
    assert shown in sea, sea
    maxima = _maxima_trend_line()
    assert "TXx " in maxima and "Rx1day " in maxima and "degC/decade (HAC p " in maxima


def test_annual_maximum_trend_line_uses_the_complete_years():
    from resilience.observed.ghcn import annual_maxima, read_ghcn_monthly
    from resilience.observed.shipped import GHCN_STATIONS

    station = GHCN_STATIONS["58362"]
    maxima = annual_maxima(read_ghcn_monthly(observed_file(station.monthly_file)))
    txx = maxima["tmax_degc"].dropna()
    slope, ols_se, hac_se = hac_by_hand(
        txx.index.to_numpy(float), txx.to_numpy(float), newey_west_lags(txx.size)
    )
    shown = f"TXx {10 * slope:+.2f} +- {10 * ols_se:.2f} / {10 * hac_se:.2f} degC/decade"
    assert shown in _maxima_trend_line()


def test_statsmodels_is_imported_only_when_used():
    import subprocess
    import sys

    code = (
        "import sys, resilience.cli.main, resilience.observed.summary_lines, "
        "resilience.early_warning.verify\n"
        "assert not [m for m in sys.modules if m.startswith('statsmodels')]\n"
        "from resilience.observed.trend import fit_linear_trend\n"
        "fit_linear_trend([1, 2, 3, 4, 5], [1, 3, 2, 5, 4])\n"
        "assert 'statsmodels' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
