"""Tests of runs declustering and the threshold diagnostics (mean residual life, stability)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import genpareto

from hazard_models.extremes.gpd import fit_gpd
from hazard_models.extremes.threshold import decluster_runs, mean_residual_life, parameter_stability

RAIN_CSV = Path(__file__).resolve().parents[2] / "data" / "coles" / "rain.csv"


def test_decluster_runs_on_a_hand_made_series():
    #        0  1  2  3  4  5  6  7  8  9 10 11 12 13 14
    x = [0, 5, 7, 0, 6, 0, 0, 0, 9, 0, 0, 4, 8, 8, np.nan]
    clusters = decluster_runs(x, 3.0, 2)
    # Exceedances at 1 2 4 | 8 | 11 12 13: gaps of 1 non-exceedance join, gaps of 2+ split.
    assert clusters.n_exceed == 7 and clusters.n_clusters == 3
    np.testing.assert_array_equal(clusters.maxima, [7, 9, 8])
    np.testing.assert_array_equal(clusters.index, [2, 8, 12])  # first of tied maxima
    assert clusters.extremal_index == pytest.approx(3 / 7)
    one_run = decluster_runs(x, 3.0, 1)  # every break ends a cluster
    np.testing.assert_array_equal(one_run.maxima, [7, 6, 9, 8])
    long_run = decluster_runs(x, 3.0, 3)  # 8 and 11 are 2 apart: one cluster
    np.testing.assert_array_equal(long_run.maxima, [7, 9])
    none = decluster_runs(x, 100.0, 2)
    assert none.n_clusters == 0 and np.isnan(none.extremal_index)


def test_decluster_runs_rejects_bad_arguments():
    with pytest.raises(ValueError, match="run_length: expected an integer >= 1"):
        decluster_runs([1.0, 2.0], 0.0, 0)
    with pytest.raises(ValueError, match="values: expected a 1-D series"):
        decluster_runs(np.ones((2, 2)), 0.0, 1)
    with pytest.raises(ValueError, match="threshold: expected a finite number"):
        decluster_runs([1.0], np.nan, 1)


def test_mean_residual_life_is_linear_above_a_true_gpd_threshold():
    rng = np.random.default_rng(4)
    # Body uniform on [0, 5) (not GPD), GPD(sigma=2, xi=0.2) excesses above u0 = 5.
    body = rng.uniform(0, 5, 30000)
    tail = 5.0 + genpareto.rvs(0.2, scale=2.0, size=20000, random_state=rng)
    values = rng.permutation(np.concatenate([body, tail]))
    thresholds = np.linspace(5.0, 9.0, 9)
    table = mean_residual_life(values, thresholds, units="mm")
    assert list(table.columns) == [
        "threshold_mm",
        "mean_excess_mm",
        "lower_mm",
        "upper_mm",
        "n_exceed",
    ]
    # Coles (2001, eq. 4.9): e(u) = (sigma_u0 + xi (u - u0)) / (1 - xi) = 2.5 + 0.25 (u - 5).
    expected = 2.5 + 0.25 * (thresholds - 5.0)
    inside = (table["lower_mm"] <= expected) & (expected <= table["upper_mm"])
    assert inside.sum() >= 8  # 95 % intervals: at most one miss expected among 9
    slope = np.polyfit(thresholds, table["mean_excess_mm"], 1)[0]
    assert slope == pytest.approx(0.25, abs=0.06)  # SE of the slope ~0.02 at these counts
    # Below u0 the uniform body bends the curve: the mean excess at 2 is far off the line.
    low = mean_residual_life(values, [2.0])["mean_excess_mm"].iloc[0]
    assert abs(low - (2.5 + 0.25 * (2.0 - 5.0))) > 0.5


def test_mean_residual_life_counts_and_empty_thresholds():
    table = mean_residual_life([1.0, 2.0, 4.0, np.nan], [0.0, 3.0, 5.0], units="m")
    np.testing.assert_allclose(table["mean_excess_m"], [7 / 3, 1.0, np.nan])
    assert list(table["n_exceed"]) == [3, 1, 0]
    assert np.isnan(table["lower_m"].iloc[1])  # one exceedance: no spread, no interval


def test_parameter_stability_is_flat_above_a_true_threshold_and_matches_fit():
    rain = pd.read_csv(RAIN_CSV)["rainfall_mm"].to_numpy()
    table = parameter_stability(rain, [25.0, 30.0, 35.0])
    single = fit_gpd(rain, threshold=30.0)
    row = table.iloc[1]
    # 1e-12: the same vectorised fit, one series of a batch versus alone.
    assert row["shape"] == pytest.approx(float(single["shape"]), rel=1e-9)
    assert row["modified_scale_mm"] == pytest.approx(
        float(single["scale"] - single["shape"] * 30.0), rel=1e-9
    )
    # Coles (2001) sec. 4.4.1: se(xi) = sqrt(0.0102) = 0.101 at u = 30.
    assert (row["shape_upper"] - row["shape"]) / 1.96 == pytest.approx(0.101, abs=0.001)
    assert list(table["n_exceed"]) == [int((rain > u).sum()) for u in (25.0, 30.0, 35.0)]

    rng = np.random.default_rng(9)
    values = genpareto.rvs(0.1, scale=2.0, size=20000, random_state=rng)
    stable = parameter_stability(values, [0.5, 1.0, 2.0, 3.0], units="m")
    # Above any u the excesses are GPD(sigma + xi u, xi): sigma* = 2 and xi = 0.1 throughout.
    # Each 95 % interval should hold the truth; 0.02 (about one standard error at these
    # counts) of slack keeps the seeded test from failing on the 1-in-20 miss it allows.
    for _, r in stable.iterrows():
        assert (
            r["modified_scale_lower_m"] <= 2.0 + 0.02 and 2.0 - 0.02 <= r["modified_scale_upper_m"]
        )
        assert r["shape_lower"] <= 0.1 <= r["shape_upper"] or abs(r["shape"] - 0.1) < 0.02
    short = parameter_stability(values, [1e6])
    assert short["status"].iloc[0] == "too_short" and np.isnan(short["shape"].iloc[0])
