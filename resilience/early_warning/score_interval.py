"""Confidence intervals of the verification scores POD, FAR and CSI (issue 17, item 4).

Each score is a share of counts, so its interval is a binomial-proportion interval:

* ``POD = hits / events``: ``hits`` successes in ``events`` trials;
* ``FAR = false alarms / warnings``: ``false_alarms`` in ``warnings``;
* ``CSI = hits / (hits + misses + false alarms)`` in the 2 x 2 table, taken as a proportion
  conditional on the number of cases that are a hit, a miss or a false alarm (Jolliffe 2007,
  section 3). Event-based counting can verify a warning by more than one event, or one
  event by two warned intervals, so the warnings verified (``warnings - false_alarms``)
  need not equal ``hits``; the CSI reported (from POD and FAR) is then
  ``hits / (hits + misses + false_alarms * hits / verified)``, and that denominator, not
  always a whole number, is the trial count used. It is the usual one whenever each warned
  interval verifies one event.

Methods: ``"wilson"`` (Wilson 1927, the default: close to nominal coverage for small
counts and never outside [0, 1]; Brown, Cai and DasGupta 2001 recommend it for n < 40) and
``"beta"`` (Clopper and Pearson 1934, "exact": at least the nominal coverage, wider), both
from ``statsmodels.stats.proportion.proportion_confint``. statsmodels is imported on first
use (about 1 s), not with this module.

References
----------
Wilson, E. B. (1927), J. Am. Stat. Assoc. 22, 209-212. Clopper, C. J. and Pearson, E. S.
(1934), Biometrika 26, 404-413. Brown, L. D., Cai, T. T. and DasGupta, A. (2001), Interval
estimation for a binomial proportion, Statistical Science 16, 101-133. Jolliffe, I. T.
(2007), Uncertainty and inference for verification measures, Weather and Forecasting 22,
637-650, doi:10.1175/WAF989.1.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["INTERVAL_COLUMNS", "IntervalMethod", "proportion_interval", "score_intervals"]

#: How a proportion's interval is computed: Wilson score or Clopper-Pearson ("beta").
IntervalMethod = Literal["wilson", "beta"]

#: The columns :func:`score_intervals` adds, in order.
INTERVAL_COLUMNS = ("pod_low", "pod_high", "far_low", "far_high", "csi_low", "csi_high")


def proportion_interval(
    count: np.ndarray,
    trials: np.ndarray,
    *,
    method: IntervalMethod = "wilson",
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the two-sided confidence interval of the proportions ``count / trials``.

    Parameters
    ----------
    count : numpy.ndarray
        Successes (>= 0), any shape.
    trials : numpy.ndarray
        Trials (>= count), same shape; 0 gives NaN bounds (the proportion is undefined).
    method : {"wilson", "beta"}
        Wilson score interval, or Clopper-Pearson ("beta", exact).
    confidence : float
        Coverage, in (0, 1).

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper bounds, in [0, 1], shape of ``count``.

    Raises
    ------
    ValueError
        If ``method`` or ``confidence`` is not one of those allowed, or a count is negative
        or above its trials.

    Notes
    -----
    Wilson: (p + z^2 / 2n +- z sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n), with
    z the (1 + confidence) / 2 normal quantile. Clopper-Pearson: the alpha/2 quantile of
    Beta(x, n - x + 1) and the 1 - alpha/2 quantile of Beta(x + 1, n - x).

    References
    ----------
    Wilson (1927); Clopper and Pearson (1934); Brown, Cai and DasGupta (2001) (see module).
    """
    if method not in ("wilson", "beta"):
        raise ValueError(f"interval method: expected 'wilson' or 'beta', found {method!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: expected a value in (0, 1), found {confidence}")
    count, trials = np.asarray(count, dtype=float), np.asarray(trials, dtype=float)
    if np.any(count < 0) or np.any(count > trials):
        raise ValueError("proportion interval: expected 0 <= count <= trials")
    from statsmodels.stats.proportion import proportion_confint  # ~1 s: only when used

    defined = trials > 0
    low, high = np.full(count.shape, np.nan), np.full(count.shape, np.nan)
    if defined.any():
        bounds = proportion_confint(
            count[defined], trials[defined], alpha=1.0 - confidence, method=method
        )
        low[defined], high[defined] = np.clip(bounds[0], 0, 1), np.clip(bounds[1], 0, 1)
    return low, high


def _csi_trials(scores: pd.DataFrame) -> np.ndarray:
    """Return the CSI's trial count: hits + misses + scaled false alarms (module)."""
    hits = scores["hits"].to_numpy(float)
    verified = (scores["warnings"] - scores["false_alarms"]).to_numpy(float)
    scale = np.divide(hits, verified, out=np.ones_like(hits), where=verified > 0)
    trials = hits + scores["misses"].to_numpy(float) + scores["false_alarms"] * scale
    undefined = (scores["events"] == 0) | (scores["warnings"] == 0)  # CSI is NaN there
    return np.where(undefined, 0.0, trials)


def score_intervals(
    scores: pd.DataFrame, *, method: IntervalMethod = "wilson", confidence: float = 0.95
) -> pd.DataFrame:
    """Return the score table with the confidence bounds of POD, FAR and CSI added.

    Parameters
    ----------
    scores : pandas.DataFrame
        Columns events, hits, misses, warnings, false_alarms (counts), as in
        :data:`resilience.early_warning.verify.SCORE_COLUMNS`.
    method : {"wilson", "beta"}
        Interval method (module docstring).
    confidence : float
        Coverage, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        ``scores`` with :data:`INTERVAL_COLUMNS` (dimensionless, in [0, 1]); NaN where the
        score is undefined (no events, or no warnings).
    """
    pairs = {
        "pod": (scores["hits"], scores["events"]),
        "far": (scores["false_alarms"], scores["warnings"]),
        "csi": (scores["hits"], _csi_trials(scores)),
    }
    added = {}
    for name, (count, trials) in pairs.items():
        low, high = proportion_interval(
            np.asarray(count), np.asarray(trials), method=method, confidence=confidence
        )
        added[f"{name}_low"], added[f"{name}_high"] = low, high
    return scores.assign(**added)
