"""Linear trends of yearly series with autocorrelation-robust (Newey-West) standard errors.

Yearly series (annual mean sea level, annual maxima) are short and their residuals are often
autocorrelated, which makes the ordinary-least-squares standard error of a trend too small.
:func:`fit_linear_trend` reports the OLS slope with two standard errors:

* the plain OLS one (independent residuals);
* the heteroskedasticity- and autocorrelation-consistent (HAC) one of Newey and West
  (1987): Bartlett weights ``1 - j / (L + 1)`` on the residual autocovariances up to lag L,
  with the small-sample factor ``n / (n - 2)``; L by the Newey-West rule of thumb
  ``floor(4 (n / 100)^(2/9))`` (Newey and West 1994, as used by e.g. Stock and Watson; 3
  lags for 36 years). Computed by ``statsmodels`` (``OLS(...).fit(cov_type="HAC")``),
  imported on first use (about 1 s) so that importing this module stays cheap.

The trend test is the HAC t statistic ``slope / SE_HAC`` against Student's t with ``n - 2``
degrees of freedom (two-sided), more cautious than the normal for short records.

Lags count consecutive values, not time steps: a series with missing years is treated as if
its values were adjacent (as the AR(1) correction of :mod:`.psmsl` does); the caller reports
how many values of the span were used.

References
----------
Newey, W. K. and West, K. D. (1987), A simple, positive semi-definite, heteroskedasticity
and autocorrelation consistent covariance matrix, Econometrica 55, 703-708.
Newey, W. K. and West, K. D. (1994), Automatic lag selection in covariance matrix
estimation, Review of Economic Studies 61, 631-653.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["LinearTrend", "fit_linear_trend", "newey_west_lags"]


@dataclass(frozen=True)
class LinearTrend:
    """An OLS trend with its plain and Newey-West (HAC) standard errors.

    Attributes
    ----------
    slope : float
        OLS slope, units of the values per unit of time (e.g. mm/yr).
    standard_error : float
        OLS standard error (independent residuals), same units.
    standard_error_hac : float
        Newey-West HAC standard error, same units.
    hac_lags : int
        Bartlett-kernel lags L of the HAC estimate.
    p_value_hac : float
        Two-sided p-value of slope = 0 with the HAC standard error (t, n - 2 dof).
    count : int
        Number of values used.
    """

    slope: float
    standard_error: float
    standard_error_hac: float
    hac_lags: int
    p_value_hac: float
    count: int


def newey_west_lags(count: int) -> int:
    """Return the Newey-West rule-of-thumb lag count ``floor(4 (n / 100)^(2/9))``.

    Parameters
    ----------
    count : int
        Length n of the series (>= 1).

    Returns
    -------
    int
        Lags of the Bartlett kernel: 2 for n = 5-27, 3 for 28-99, 4 for 100-272.

    Raises
    ------
    ValueError
        If ``count`` is below 1.

    References
    ----------
    Newey and West (1994), Rev. Econ. Stud. 61, 631-653 (see module).
    """
    if count < 1:
        raise ValueError(f"count: expected >= 1, found {count}")
    return int(math.floor(4.0 * (count / 100.0) ** (2.0 / 9.0)))


def fit_linear_trend(
    time: np.ndarray, values: np.ndarray, *, hac_lags: int | None = None
) -> LinearTrend:
    """Fit an OLS trend with plain and Newey-West (HAC) standard errors.

    Parameters
    ----------
    time : numpy.ndarray
        Times of the values, 1-D (e.g. years), finite and not all equal.
    values : numpy.ndarray
        Values, same length, finite (drop gaps first).
    hac_lags : int, optional
        Bartlett lags L (default: :func:`newey_west_lags` of the length).

    Returns
    -------
    LinearTrend

    Raises
    ------
    ValueError
        With fewer than 5 values, non-finite values, constant time or a negative lag.

    Notes
    -----
    With X = [1, t] and residuals e: V_HAC = n / (n - 2) (X'X)^-1 S (X'X)^-1,
    S = sum_t e_t^2 x_t x_t' + sum_{j=1..L} (1 - j / (L + 1)) sum_t e_t e_{t-j}
    (x_t x_{t-j}' + x_{t-j} x_t') (Newey and West 1987).
    """
    time, values = np.asarray(time, dtype=float), np.asarray(values, dtype=float)
    count = time.size
    if count < 5 or values.shape != time.shape:
        raise ValueError(f"trend: expected at least 5 (time, value) pairs, found {count}")
    if not (np.isfinite(time).all() and np.isfinite(values).all()):
        raise ValueError("trend: expected finite times and values (drop the gaps first)")
    if np.ptp(time) == 0:
        raise ValueError("trend: expected times that are not all equal")
    lags = newey_west_lags(count) if hac_lags is None else hac_lags
    if lags < 0:
        raise ValueError(f"hac_lags: expected >= 0, found {lags}")
    from statsmodels.regression.linear_model import OLS  # ~1 s: only when a trend is fitted

    design = np.column_stack([np.ones(count), time - time.mean()])
    plain = OLS(values, design).fit()
    robust = OLS(values, design).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True
    )
    return LinearTrend(
        slope=float(plain.params[1]),
        standard_error=float(plain.bse[1]),
        standard_error_hac=float(robust.bse[1]),
        hac_lags=lags,
        p_value_hac=float(robust.pvalues[1]),
        count=count,
    )
