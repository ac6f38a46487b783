"""Tests of station extremes from hourly tide-gauge records (POT) and the GEV equivalence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hazard_models.coast.gauge_extremes import (
    annual_maxima_of_hourly,
    fit_hourly_peaks,
    peaks_to_gev,
    refer_hourly_to_baseline,
)
from hazard_models.extremes.gev import gev_cdf
from hazard_models.extremes.gpd import fit_gpd

THRESHOLD_M = 2.8


def hourly_record(years: int = 30, *, rate: float = 5.0, trend: float = 0.0, seed: int = 4):
    """SYNTHETIC hourly levels: 2.0 +- 0.1 m noise (never above 2.4 m) plus storms.

    Storm peaks arrive as a Poisson number of events at least 10 days apart (so one storm is
    one cluster for runs of 72 h) with excesses over 2.8 m drawn from GPD(0.25 m, 0.1) by
    inversion; each storm is a 25-hour triangle peaking on the hour of the peak.
    """
    rng = np.random.default_rng(seed)
    times = pd.date_range("1990-01-01", periods=int(years * 8766), freq="h")
    level = 2.0 + np.clip(0.1 * rng.standard_normal(times.size), -0.4, 0.4)
    count = rng.poisson(rate * years)
    starts = np.sort(rng.choice(np.arange(48, times.size - 48, 240), size=count, replace=False))
    peaks = THRESHOLD_M + 0.25 / 0.1 * ((1.0 - rng.random(count)) ** -0.1 - 1.0)
    offsets = np.arange(-12, 13)
    for start, peak in zip(starts, peaks, strict=True):
        bump = 2.0 + (peak - 2.0) * (1.0 - np.abs(offsets) / 12.5)
        level[start + offsets] = np.maximum(level[start + offsets], bump)
    decimal = times.year + (times.day_of_year - 1) / 365.25
    return times.to_numpy(), level + trend * (np.asarray(decimal) - 2004.5), peaks


def test_peaks_to_gev_reproduces_the_poisson_rate_of_the_peaks():
    """-log F of the GEV equals lambda [1 + xi (z - u) / sigma]^(-1/xi) above u (Coles 4.2.2)."""
    levels = np.array([3.0, 3.5, 4.5, 6.0])
    for shape in (-0.2, 0.0, 0.15):
        loc, scale, xi = peaks_to_gev(2.8, 0.25, shape, rate_per_year=5.0)
        rate = -np.log(gev_cdf(levels, loc, scale, xi))
        if shape == 0.0:
            expected = 5.0 * np.exp(-(levels - 2.8) / 0.25)
        else:
            expected = 5.0 * np.maximum(1 + shape * (levels - 2.8) / 0.25, 0) ** (-1 / shape)
        # Closed-form identity; 1e-10 relative allows for rounding in log/power only.
        np.testing.assert_allclose(rate, expected, rtol=1e-10)
    # Hand values: xi = 0.1, lambda = 5: psi = 0.25 x 5^0.1 = 0.29366 m,
    # mu = 2.8 + (0.29366 - 0.25) / 0.1 = 3.23655 m; Gumbel: mu = 2.8 + 0.25 ln 5 = 3.20236 m.
    loc, scale, _ = peaks_to_gev(2.8, 0.25, 0.1, rate_per_year=5.0)
    assert float(scale) == pytest.approx(0.293655, abs=1e-6)  # hand values to 6 decimals
    assert float(loc) == pytest.approx(3.236547, abs=1e-6)
    assert float(peaks_to_gev(2.8, 0.25, 0.0, rate_per_year=5.0)[0]) == pytest.approx(
        3.202359, abs=1e-6
    )
    with pytest.raises(ValueError, match="positive rate and scale"):
        peaks_to_gev(2.8, 0.25, 0.1, rate_per_year=0.0)


def test_one_storm_is_one_peak_and_the_fit_is_the_gpd_of_the_peaks():
    times, level, peaks = hourly_record()
    fit = fit_hourly_peaks(times, level, threshold_m=THRESHOLD_M, detrend="none")
    # Storms are >= 10 days apart and last 25 h, so 72-hour runs keep exactly one peak each.
    assert fit.n_clusters == peaks.size == 152
    assert fit.rate_per_year == pytest.approx(152 / 30, rel=1e-12)  # 30 x 8766 valid hours
    assert fit.n_exceed > fit.n_clusters  # several hours above 2.8 m per storm
    direct = fit_gpd(peaks[None], threshold=THRESHOLD_M)
    # The cluster maxima ARE the generated peaks: the same MLE to the last digit.
    assert fit.scale_m == pytest.approx(float(direct["scale"][0]), rel=1e-12)
    assert fit.shape == pytest.approx(float(direct["shape"][0]), abs=1e-12)
    # Sampling check: 152 peaks give sd(xi) ~ (1 + xi) / sqrt(152) = 0.09 and sd(sigma) ~ 11 %;
    # measured 0.171 and 0.262 m against 0.1 and 0.25 m, inside 2 sd.
    assert abs(fit.shape - 0.1) < 0.18 and fit.scale_m == pytest.approx(0.25, rel=0.22)
    assert fit.gev == tuple(
        float(p) for p in peaks_to_gev(2.8, fit.scale_m, fit.shape, rate_per_year=152 / 30)
    )
    merged = fit_hourly_peaks(
        times, level, threshold_m=THRESHOLD_M, detrend="none", run_length_hours=24 * 40
    )  # 40-day runs merge neighbours
    assert merged.n_clusters < fit.n_clusters


def test_default_threshold_and_the_trend_is_removed():
    times, level, _ = hourly_record(trend=0.004)
    flat_times, flat, _ = hourly_record()
    fit = fit_hourly_peaks(times, level)
    reference = fit_hourly_peaks(flat_times, flat)
    # Theil-Sen of 30 annual means (each +-1 mm from noise and storms) recovers 4 mm/yr to
    # ~0.1 mm/yr, so the referred records and their fits nearly coincide.
    assert fit.trend_m_per_year == pytest.approx(0.004 + reference.trend_m_per_year, abs=2e-4)
    assert fit.threshold_m == pytest.approx(reference.threshold_m, abs=0.01)
    assert fit.gev[0] == pytest.approx(reference.gev[0], abs=0.02)
    # 99.7 % of the hourly levels lie below the default threshold (Arns et al. 2013).
    referred, _ = refer_hourly_to_baseline(times, level)
    assert np.mean(referred.to_numpy() <= fit.threshold_m) == pytest.approx(0.997, abs=1e-4)


def test_linear_series_is_referred_to_zero_and_annual_maxima():
    times = pd.date_range("1995-01-01", "2014-12-31 23:00", freq="h")
    decimal = times.year + (times - pd.to_datetime(times.year.astype(str))).total_seconds() / (
        np.where(times.is_leap_year, 366.0, 365.0) * 86400.0
    )
    level = 0.01 * (np.asarray(decimal) - 2004.5)
    referred, slope = refer_hourly_to_baseline(times.to_numpy(), level)
    # Annual means of a straight line lie on a line of the same slope (1e-7 m/yr: leap years
    # shift the mean hour by 1e-5 yr); the referred record is flat to 1e-6 m.
    assert slope == pytest.approx(0.01, abs=1e-7)
    np.testing.assert_allclose(referred.to_numpy(), 0.0, atol=1e-6)
    raw, _ = refer_hourly_to_baseline(times.to_numpy(), level, detrend="none")
    maxima = annual_maxima_of_hourly(raw)
    assert maxima.index.tolist() == list(range(1995, 2015))
    # Each year's maximum is its last hour: 0.01 x (year + 1 - 1 h - 2004.5).
    assert maxima.loc[2004] == pytest.approx(0.01 * (2005 - 1 / 8784 - 2004.5), abs=1e-9)


def test_gaps_and_errors():
    times, level, _ = hourly_record(years=12)
    with_gap = level.copy()
    with_gap[1000:3000] = np.nan
    fit = fit_hourly_peaks(times, with_gap, threshold_m=THRESHOLD_M, detrend="none")
    assert fit.years_of_record == pytest.approx((times.size - 2000) / 8766, rel=1e-12)
    shuffled = times.copy()
    shuffled[[5, 6]] = shuffled[[6, 5]]
    with pytest.raises(ValueError, match="strictly increasing"):
        fit_hourly_peaks(shuffled, level)
    with pytest.raises(ValueError, match="whole hours"):
        fit_hourly_peaks(times + np.timedelta64(30, "m"), level)
    with pytest.raises(ValueError, match="expected at least 10 storm peaks above 9.000 m"):
        fit_hourly_peaks(times, level, threshold_m=9.0)
    with pytest.raises(ValueError, match="one level per time"):
        fit_hourly_peaks(times[:-1], level)
    with pytest.raises(ValueError, match=r"threshold_quantile: expected \(0, 1\)"):
        fit_hourly_peaks(times, level, threshold_quantile=99.7)
    with pytest.raises(ValueError, match="at least two years with 80%"):
        fit_hourly_peaks(times[:5000], level[:5000])
