"""1-h rain against the storm formula, and gauge trends against the engine's sea level."""

import numpy as np
import pandas as pd
import pytest

from hazard_models.rain.idf import SHANGHAI_DB31_T1043
from resilience.geodata.geography import data_path
from resilience.observed.hourly import annual_max_hourly_rain
from resilience.observed.psmsl import SeaLevelTrend
from resilience.observed.water_comparisons import (
    compare_hourly_rain_idf,
    compare_sea_level_trends,
    formula_return_period,
    gmsl_rate_mm_per_year,
)


def formula_depth(period, minutes=60.0):
    """DB31/T 1043 written out: q = A1 (1 + C lg P) / (t + b)^n L/(s ha); i = q / 166.7."""
    f = SHANGHAI_DB31_T1043
    q = f.a1 * (1 + f.c * np.log10(period)) / (minutes + f.b) ** f.n
    return q / 166.7 * minutes


def test_formula_return_period_inverts_the_formula():
    periods = np.array([0.5, 1.0, 2.0, 5.0, 20.0, 100.0])
    np.testing.assert_allclose(formula_return_period(formula_depth(periods)), periods, rtol=1e-12)
    assert formula_depth(5.0) == pytest.approx(58.10, abs=0.01)  # the demo's 5-yr 1-h design rain


def test_hourly_maxima_against_the_formula(hourly):
    table = annual_max_hourly_rain(hourly)
    result = compare_hourly_rain_idf(table)
    years = result.years
    depth = table["max_1h_mm"]
    expected_p = 10 ** ((depth / formula_depth(1.0) - 1) / SHANGHAI_DB31_T1043.c)
    np.testing.assert_allclose(years["formula_return_period"], expected_p)
    np.testing.assert_allclose(years["annual_return_period"], 1 / (1 - np.exp(-1 / expected_p)))
    ranks = depth.rank(ascending=False)
    np.testing.assert_allclose(years["empirical_return_period"], 7 / ranks)  # (n + 1) / m
    np.testing.assert_allclose(years["formula_depth_mm"], formula_depth(7 / ranks))
    assert years.loc[2013, "formula_return_period"] == pytest.approx(6.49, abs=0.01)
    np.testing.assert_allclose(
        result.formula_depth_mm.loc[[1.0, 5.0]], formula_depth(np.array([1.0, 5.0]))
    )
    corrected = compare_hourly_rain_idf(table, fixed_interval_factor=1.13)
    np.testing.assert_allclose(corrected.years["max_1h_mm"], depth * 1.13)
    assert "0 of 6 years complete" in result.summary()


def test_gmsl_rate_from_the_shipped_table():
    table = pd.read_csv(data_path("sea_level", "ar6_gmsl_projections.csv"))
    # ssp245 median: 0.054 m in 2020, 0 m at 2004.5 (the baseline centre): 54 mm / 15.5 yr
    assert gmsl_rate_mm_per_year(table, "ssp245") == pytest.approx(54 / 15.5)
    rate = gmsl_rate_mm_per_year(table, "ssp585", start_year=2020, end_year=2030)
    assert rate == pytest.approx((0.098 - 0.050) * 1000 / 10)  # table rows 2020 and 2030


def test_sea_level_comparison_arithmetic():
    trend = SeaLevelTrend(1980, 2017, 32, 3.4, 0.4, 0.6, 0.3, 0.55, 3, 1e-6)
    table = compare_sea_level_trends(
        {"Kanmen": trend}, rise_mm_per_year=3.5, subsidence_mm_per_year=3.0
    )
    row = table.loc["Kanmen"]
    assert row["engine_mm_per_year"] == 6.5
    assert row["difference_mm_per_year"] == pytest.approx(3.1)
    assert row["z"] == pytest.approx(3.1 / 0.6)
    assert row["z_hac"] == pytest.approx(3.1 / 0.55)  # the Newey-West error, 0.55
