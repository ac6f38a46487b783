"""Confidence intervals of POD, FAR and CSI: Wilson and Clopper-Pearson, checked by hand
and against scipy.stats.binomtest (an implementation independent of statsmodels)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, norm

from resilience.early_warning.score_interval import proportion_interval, score_intervals

CASES = [(0, 5), (1, 4), (2, 4), (3, 3), (7, 20), (19, 20), (50, 120)]


def wilson_by_hand(x: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson (1927) score interval, written out (Brown, Cai and DasGupta 2001, eq. 4)."""
    z = norm.ppf(0.5 + confidence / 2)
    p = x / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_wilson_matches_the_formula_and_scipy(confidence):
    count, trials = (np.array(c, dtype=float) for c in zip(*CASES, strict=True))
    low, high = proportion_interval(count, trials, confidence=confidence)
    for i, (x, n) in enumerate(CASES):
        hand = wilson_by_hand(x, n, confidence)
        scipy_ci = binomtest(x, n).proportion_ci(confidence_level=confidence, method="wilson")
        # closed forms in double precision: agreement to rounding (1e-12)
        np.testing.assert_allclose([low[i], high[i]], hand, atol=1e-12)
        np.testing.assert_allclose([low[i], high[i]], [scipy_ci.low, scipy_ci.high], atol=1e-12)


def test_clopper_pearson_matches_scipy_exact():
    count, trials = (np.array(c, dtype=float) for c in zip(*CASES, strict=True))
    low, high = proportion_interval(count, trials, method="beta")
    for i, (x, n) in enumerate(CASES):
        scipy_ci = binomtest(x, n).proportion_ci(confidence_level=0.95, method="exact")
        # both invert the beta distribution (scipy.special); 1e-10 covers the root finding
        np.testing.assert_allclose([low[i], high[i]], [scipy_ci.low, scipy_ci.high], atol=1e-10)
        wilson = wilson_by_hand(x, n)
        assert high[i] - low[i] > wilson[1] - wilson[0]  # exact is the wider of the two
    assert low[0] == 0.0 and high[3] == 1.0  # 0 of 5 and 3 of 3 reach the ends


def test_no_trials_gives_nan_and_bad_input_is_refused():
    low, high = proportion_interval(np.array([0.0, 1.0]), np.array([0.0, 2.0]))
    assert np.isnan(low[0]) and np.isnan(high[0]) and 0 < low[1] < 0.5 < high[1] < 1
    with pytest.raises(ValueError, match="expected 0 <= count <= trials"):
        proportion_interval(np.array([3.0]), np.array([2.0]))
    with pytest.raises(ValueError, match=r"confidence: expected a value in \(0, 1\), found 95"):
        proportion_interval(np.array([1.0]), np.array([2.0]), confidence=95)
    with pytest.raises(ValueError, match="expected 'wilson' or 'beta', found 'wald'"):
        proportion_interval(np.array([1.0]), np.array([2.0]), method="wald")  # type: ignore[arg-type]


def _table(rows: list[tuple[int, int, int, int]]) -> pd.DataFrame:
    """Scores from (events, hits, warnings, false alarms), POD / FAR / CSI as verify does."""
    table = pd.DataFrame(rows, columns=["events", "hits", "warnings", "false_alarms"])
    table["misses"] = table.events - table.hits
    pod, far = table.hits / table.events, table.false_alarms / table.warnings
    return table.assign(pod=pod, far=far, csi=1 / (1 / pod + 1 / (1 - far) - 1))


def test_csi_interval_uses_the_counts_behind_the_reported_csi():
    # (a) one warned interval per event: CSI = hits / (hits + misses + false alarms) = 2 / 5
    # (b) one warning verified by two events: POD 1, FAR 0, CSI 1 from 2 hits in 2 cases
    # (c) 1 hit of 2 events, 3 warnings, 1 false alarm, 2 verified (two warned intervals
    #     over the one event): CSI 0.4 = 1 / (1 + 1 + 1 * 1/2), so 1 in 2.5 cases
    scores = score_intervals(_table([(4, 2, 3, 1), (2, 2, 1, 0), (2, 1, 3, 1)]))
    trials = [5.0, 2.0, 2.5]
    np.testing.assert_allclose(scores.hits / trials, scores.csi, rtol=1e-12)
    for i, n in enumerate(trials):
        hand = wilson_by_hand(scores.hits[i], n)
        np.testing.assert_allclose(scores.loc[i, ["csi_low", "csi_high"]], hand, atol=1e-12)
        pod = wilson_by_hand(scores.hits[i], scores.events[i])
        np.testing.assert_allclose(scores.loc[i, ["pod_low", "pod_high"]], pod, atol=1e-12)
        far = wilson_by_hand(scores.false_alarms[i], scores.warnings[i])
        np.testing.assert_allclose(scores.loc[i, ["far_low", "far_high"]], far, atol=1e-12)
