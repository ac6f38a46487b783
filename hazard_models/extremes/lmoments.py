"""Sample L-moments and the GEV parameters that match them, vectorised over many series.

Every function works on the LAST axis of an array and on all other axes at once, so that a
whole grid of series is fitted with a handful of numpy operations (no loop over cells).
Missing values (NaN) are left out of each series; the count of valid values may differ from
one series to the next.

Shape convention: ``shape`` is xi of Coles (2001, eq. 3.2), xi > 0 a heavy tail. Hosking's
``k`` is -xi (Hosking 1990, Table 1).

References
----------
Hosking, J. R. M. (1990). L-moments: analysis and estimation of distributions using linear
combinations of order statistics. J. R. Stat. Soc. B 52, 105-124.
Hosking, J. R. M., Wallis, J. R. & Wood, E. F. (1985). Estimation of the generalized
extreme-value distribution by the method of probability-weighted moments. Technometrics 27,
251-261.
Hosking, J. R. M. & Wallis, J. R. (1997). Regional Frequency Analysis: An Approach Based on
L-Moments. Cambridge University Press. Appendix A (GEV).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["SHAPE_BOUNDS", "gev_from_lmoments", "sample_lmoments"]

#: Bounds applied to the fitted shape xi. Outside [-0.5, 0.5] GEV fits of the 20-100 values
#: available per cell are unreliable (Hosking & Wallis 1997, app. A, GEV: the L-moment
#: estimator's variance grows quickly beyond |k| = 0.5; Coles 2001, sec. 3.3: the MLE is
#: irregular for xi < -0.5). Both estimators clip to this range.
SHAPE_BOUNDS: tuple[float, float] = (-0.5, 0.5)
#: A shape within this of a bound counts as on it: the estimators clip exactly to the bound,
#: this absorbs rounding (read by every "shape_at_bound" flag and the projected Newton).
AT_BOUND_TOL = 1e-6

_LOG2 = math.log(2.0)
_LOG3 = math.log(3.0)
_EULER = 0.5772156649015329  # Euler-Mascheroni constant, for the Gumbel limit
_SMALL_K = 1e-6  # |k| below this uses the Gumbel (k -> 0) limits of the formulas
_NEWTON_STEPS = 3  # each step squares the error of the 1985 start (~1e-3 -> 1e-6 -> 1e-12)


def sample_lmoments(data: ArrayLike) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Return the first three sample L-moments of each series along the last axis.

    Parameters
    ----------
    data : array_like, shape (..., n_sample)
        Samples along the last axis, in any units; NaN marks a missing value.

    Returns
    -------
    l1, l2, t3 : numpy.ndarray, shape (...)
        Mean (data units), L-scale (data units) and L-skewness (dimensionless). NaN where a
        series has fewer than 3 valid values.
    count : numpy.ndarray of int, shape (...)
        Number of valid (non-NaN) values in each series.

    Notes
    -----
    Unbiased probability-weighted moments of the ordered sample x_(1) <= ... <= x_(n)
    (Hosking & Wallis 1997, ch. 2): b_r = n^-1 sum_j [(j-1)...(j-r)] / [(n-1)...(n-r)] x_(j),
    then l1 = b0, l2 = 2 b1 - b0, l3 = 6 b2 - 6 b1 + b0 and t3 = l3 / l2 (ibid.).
    The weights depend on each series' own n, so series with gaps are handled exactly.
    """
    ordered = np.sort(np.asarray(data, dtype=float), axis=-1)  # NaN sorts to the end
    valid = ~np.isnan(ordered)
    count = valid.sum(axis=-1)
    values = np.where(valid, ordered, 0.0)
    rank = np.arange(ordered.shape[-1], dtype=float)  # j - 1
    n = count[..., np.newaxis].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        w1 = np.where(valid, rank / (n - 1.0), 0.0)
        w2 = np.where(valid, rank * (rank - 1.0) / ((n - 1.0) * (n - 2.0)), 0.0)
        b0 = values.sum(axis=-1) / count
        b1 = (w1 * values).sum(axis=-1) / count
        b2 = (w2 * values).sum(axis=-1) / count
        l2 = 2.0 * b1 - b0
        t3 = (6.0 * b2 - 6.0 * b1 + b0) / l2
    short = count < 3
    nan = np.full(count.shape, np.nan)
    return (
        np.where(count > 0, b0, nan),
        np.where(short, nan, l2),
        np.where(short, nan, t3),
        count,
    )


def _hosking_k(t3: NDArray) -> NDArray:
    """Return Hosking's k solving tau3(k) = t3, to machine precision.

    Start from the Hosking, Wallis & Wood (1985) approximation
    k ~ 7.8590 c + 2.9554 c^2 with c = 2/(3 + t3) - log 2 / log 3 (error < 9e-4 for
    -0.5 < k < 0.5), then take Newton steps on the exact relation
    (1 - 3^-k) / (1 - 2^-k) = (t3 + 3) / 2 (Hosking & Wallis 1997, app. A, GEV).
    """
    c = 2.0 / (3.0 + t3) - _LOG2 / _LOG3
    k = 7.8590 * c + 2.9554 * c * c
    target = (t3 + 3.0) / 2.0
    for _ in range(_NEWTON_STEPS):
        small = np.abs(k) < _SMALL_K
        ks = np.where(small, _SMALL_K, k)
        x2, x3 = np.power(2.0, -ks), np.power(3.0, -ks)
        ratio = (1.0 - x3) / (1.0 - x2)
        slope = ((1.0 - x2) * x3 * _LOG3 - (1.0 - x3) * x2 * _LOG2) / (1.0 - x2) ** 2
        # Clipping keeps Newton stable where the root lies beyond SHAPE_BOUNDS (clipped later).
        k = np.clip(ks - (ratio - target) / slope, -1.0, 1.0)
    return k


def gev_from_lmoments(
    l1: ArrayLike,
    l2: ArrayLike,
    t3: ArrayLike,
    *,
    shape_bounds: tuple[float, float] = SHAPE_BOUNDS,
) -> tuple[NDArray, NDArray, NDArray]:
    """Return the GEV parameters whose L-moments are ``l1``, ``l2`` and ``t3``.

    Parameters
    ----------
    l1, l2 : array_like
        Mean and L-scale, in data units (``l2`` > 0).
    t3 : array_like
        L-skewness, dimensionless.
    shape_bounds : (float, float)
        Limits of xi; (-1, 1) gives the unclipped estimate for -1 < xi < 1 (the range in
        which the root of tau3(k) = t3 is solved).

    Returns
    -------
    loc, scale, shape : numpy.ndarray
        GEV location and scale (data units) and shape xi (climate convention, xi > 0 heavy
        tail), with xi clipped to ``shape_bounds`` (loc and scale then match l1 and l2
        for the clipped shape: callers flag it, see ``shape_clipped`` of ``fit_gev``).

    Notes
    -----
    With k = -xi (Hosking & Wallis 1997, app. A, GEV):
    scale = l2 k / ((1 - 2^-k) Gamma(1 + k)) and loc = l1 - scale (1 - Gamma(1 + k)) / k;
    for k -> 0 (Gumbel) scale = l2 / log 2 and loc = l1 - 0.5772 scale.
    """
    from scipy.special import gamma  # imported here: keeps `import hazard_models` fast

    l1, l2, t3 = (np.asarray(a, dtype=float) for a in (l1, l2, t3))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        k = np.clip(_hosking_k(t3), -shape_bounds[1], -shape_bounds[0])
        gumbel = np.abs(k) < _SMALL_K
        ks = np.where(gumbel, 1.0, k)
        g = gamma(1.0 + ks)
        scale = np.where(gumbel, l2 / _LOG2, l2 * ks / ((1.0 - np.power(2.0, -ks)) * g))
        loc = np.where(gumbel, l1 - _EULER * scale, l1 - scale * (1.0 - g) / ks)
    shape = np.where(gumbel, 0.0, -k)
    return loc, scale, np.where(np.isnan(t3), np.nan, shape)
