"""Vectorised GPD maximum likelihood: the likelihood, its derivatives and the Newton fit.

Holds the GPD negative log-likelihood (:func:`gpd_nllh`), its analytic gradient and Hessian
in (sigma, xi) with power series near xi y / sigma = 0, the covariance of the estimate from
the observed information (:func:`gpd_covariance`) and the maximum-likelihood engine of
:func:`hazard_models.extremes.gpd.fit_gpd` (:func:`fit_gpd_mle`): a damped projected Newton
iteration over all series at once, with a scipy Nelder-Mead fallback per unconverged series.

Shape convention: ``shape`` is xi of Coles (2001, eq. 4.2), xi > 0 a heavy tail (scipy's
``genpareto`` c = xi); the shape is kept inside
:data:`hazard_models.extremes.lmoments.SHAPE_BOUNDS`.

References
----------
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer,
sec. 4.3.2 and eq. 4.10-4.11 (likelihood), sec. 2.6.4 and 4.4.1 (observed information).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hazard_models.extremes.lmoments import SHAPE_BOUNDS

__all__ = ["fit_gpd_mle", "gpd_covariance", "gpd_nllh"]

_EXPONENTIAL_EPS = 1e-6  # |xi| below this is the exponential (xi -> 0) limit
_SERIES_EPS = 1e-2  # |xi y / sigma| below this uses Taylor series (avoids cancellation)
_NEWTON_ITERATIONS = 60
_GRADIENT_TOL = 1e-7  # relative gradient size at which a Newton fit counts as converged


def gpd_nllh(excess: ArrayLike, scale: ArrayLike, shape: ArrayLike) -> NDArray:
    """Return the GPD negative log-likelihood of each series of excesses along the last axis.

    Parameters
    ----------
    excess : array_like, shape (..., n_sample)
        Excesses y = x - u of the exceedances (data units, > 0); NaN marks a missing value.
    scale, shape : array_like, shape (...)
        GPD scale sigma (data units) and shape xi of each series.

    Returns
    -------
    numpy.ndarray, shape (...)
        -log L (dimensionless); +inf outside the support or for scale <= 0; NaN for NaN
        parameters.

    Notes
    -----
    -log L = k log sigma + (1 + 1/xi) sum log(1 + xi y_i / sigma), and k log sigma +
    sum y_i / sigma for xi = 0 (Coles 2001, eq. 4.10-4.11).
    """
    y = np.asarray(excess, dtype=float)
    scale, shape = (np.asarray(a, dtype=float)[..., np.newaxis] for a in (scale, shape))
    valid = ~np.isnan(y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        u = shape * y / scale
        exponential = np.abs(shape) < _EXPONENTIAL_EPS
        safe = np.where(exponential, 1.0, shape)
        terms = np.where(exponential, y / scale, (1.0 + 1.0 / safe) * np.log1p(u))
        total = valid.sum(axis=-1) * np.log(scale[..., 0])
        total = total + np.where(valid, terms, 0.0).sum(axis=-1)
    outside = (valid & ((u <= -1.0) | (y < 0))).any(axis=-1) | (scale[..., 0] <= 0)
    total = np.where(outside, np.inf, total)
    return np.where(np.isnan(scale[..., 0] + shape[..., 0]), np.nan, total)


_G_SERIES = tuple((-1) ** n * (n - 1) / n for n in range(2, 9))  # coefficients of u^(n-2)
_H_SERIES = tuple((-1) ** j * (j + 1) * (j + 2) / (j + 3) for j in range(7))  # of u^j


def _with_series(u: NDArray, direct: NDArray, coefficients: tuple[float, ...]) -> NDArray:
    """Replace ``direct`` by the power series in ``u`` (Horner) where |u| < _SERIES_EPS."""
    small = np.abs(u) < _SERIES_EPS
    if small.any():
        us = u[small]
        series = np.zeros_like(us)
        for c in reversed(coefficients):
            series = series * us + c
        direct = direct.copy()
        direct[small] = series
    return direct


def _taylor_g(u: NDArray) -> NDArray:
    """Return (log(1+u) - u/(1+u)) / u^2 = sum_n>=2 (-1)^n (n-1)/n u^(n-2) (small-u series)."""
    safe = np.where(u == 0, 1.0, u)
    return _with_series(u, (np.log1p(u) - u / (1.0 + u)) / safe**2, _G_SERIES)


def _taylor_h(u: NDArray) -> NDArray:
    """Return 2 (log(1+u) - u/(1+u)) / u^3 - 1/(u (1+u)^2) (small-u series: j>=0 terms).

    Series: sum_j (-1)^j (j+1)(j+2)/(j+3) u^j, derived from the expansions of log1p and
    1/(1+u)^2; the direct form cancels catastrophically near u = 0.
    """
    safe = np.where(u == 0, 1.0, u)
    direct = 2.0 * (np.log1p(u) - u / (1.0 + u)) / safe**3 - 1.0 / (safe * (1.0 + u) ** 2)
    return _with_series(u, direct, _H_SERIES)


def _derivatives(y: NDArray, scale: NDArray, shape: NDArray) -> tuple[NDArray, NDArray]:
    """Return the gradient (..., 2) and Hessian (..., 2, 2) of the GPD -log L in (sigma, xi).

    Per excess, with z = y/sigma, t = 1 + xi z, q = z/t and u = xi z (derived from Coles
    2001, eq. 4.10): d/dsigma = (1 - (1+xi) q)/sigma, d/dxi = q - z^2 g(u),
    d2/dsigma2 = (-1 + (1+xi) q (1 + 1/t))/sigma^2, d2/dsigma dxi = (-q + (1+xi) q^2)/sigma,
    d2/dxi2 = z^3 h(u) - q^2, with g and h of :func:`_taylor_g` and :func:`_taylor_h`.
    """
    valid = ~np.isnan(y)
    sigma, xi = scale[..., np.newaxis], shape[..., np.newaxis]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = np.where(valid, y, 0.0) / sigma
        t = 1.0 + xi * z
        q = z / t
        u = xi * z
        parts = (
            (1.0 - (1.0 + xi) * q) / sigma,
            q - z**2 * _taylor_g(u),
            (-1.0 + (1.0 + xi) * q * (1.0 + 1.0 / t)) / sigma**2,
            (-q + (1.0 + xi) * q**2) / sigma,
            z**3 * _taylor_h(u) - q**2,
        )
        d_s, d_x, d_ss, d_sx, d_xx = (np.where(valid, p, 0.0).sum(axis=-1) for p in parts)
    gradient = np.stack([d_s, d_x], axis=-1)
    hessian = np.stack([np.stack([d_ss, d_sx], -1), np.stack([d_sx, d_xx], -1)], -2)
    return gradient, hessian


def gpd_covariance(excess: ArrayLike, scale: ArrayLike, shape: ArrayLike) -> NDArray:
    """Return the covariance of (sigma, xi) from the observed information at the estimate.

    Parameters
    ----------
    excess : array_like, shape (..., n_sample)
        Excesses over the threshold (data units); NaN marks a missing value.
    scale, shape : array_like, shape (...)
        Maximum-likelihood GPD parameters of each series.

    Returns
    -------
    numpy.ndarray, shape (..., 2, 2)
        Inverse of the analytic Hessian of -log L in the order (sigma, xi); units
        [sigma^2, sigma; sigma, 1]. NaN where the Hessian is singular or a parameter is NaN.

    Notes
    -----
    Coles (2001, sec. 2.6.4 and 4.4.1): var(theta_hat) ~ I_O(theta_hat)^-1. Valid only at an
    interior maximum (not at a shape bound).
    """
    y = np.asarray(excess, dtype=float)
    scale, shape = np.asarray(scale, dtype=float), np.asarray(shape, dtype=float)
    _, hessian = _derivatives(y, scale, shape)
    a, b, d = hessian[..., 0, 0], hessian[..., 0, 1], hessian[..., 1, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        det = a * d - b * b
        det = np.where(det > 0, det, np.nan)
        inverse = np.stack([np.stack([d, -b], -1), np.stack([-b, a], -1)], -2)
        return inverse / det[..., np.newaxis, np.newaxis]


def _newton_step(y: NDArray, scale: NDArray, shape: NDArray) -> tuple[NDArray, NDArray]:
    """Return the projected Newton direction (..., 2) and the relative gradient size."""
    gradient, hessian = _derivatives(y, scale, shape)
    a, b, d = hessian[..., 0, 0], hessian[..., 0, 1], hessian[..., 1, 1]
    g0, g1 = gradient[..., 0], gradient[..., 1]
    det = a * d - b * b
    convex = (a > 0) & (det > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        step_s = np.where(convex, -(d * g0 - b * g1) / det, -g0 / np.abs(a) * 0.5)
        step_x = np.where(convex, -(a * g1 - b * g0) / det, -g1 / np.abs(d) * 0.5)
        # At a shape bound with the gradient pushing outward: fix xi, Newton on sigma alone.
        lo, hi = SHAPE_BOUNDS
        pinned = ((shape <= lo) & (g1 > 0)) | ((shape >= hi) & (g1 < 0))
        step_s = np.where(pinned, -g0 / np.abs(a), step_s)
        step_x = np.where(pinned, 0.0, step_x)
        size = np.abs(g0) * scale + np.where(pinned, 0.0, np.abs(g1))
    n = np.maximum((~np.isnan(y)).sum(axis=-1), 1)
    return np.stack([step_s, step_x], axis=-1), size / n


def _newton_mle(y: NDArray, scale: NDArray, shape: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Maximise the likelihood of all series at once; return scale, shape, converged.

    ``y`` is (series, sample), ``scale`` and ``shape`` are (series,). Damped projected
    Newton: each step is halved until -log L does not increase (at most 30 times), xi stays
    inside SHAPE_BOUNDS, and only unconverged series are computed in each iteration.
    """
    scale, shape = scale.copy(), shape.copy()
    current = gpd_nllh(y, scale, shape)
    converged = ~np.isfinite(current)
    active = np.flatnonzero(~converged)
    for _ in range(_NEWTON_ITERATIONS):
        if active.size == 0:
            break
        ya, sa, xa, ca = y[active], scale[active], shape[active], current[active]
        step, size = _newton_step(ya, sa, xa)
        done = size < _GRADIENT_TOL
        factor = np.where(done, 0.0, 1.0)
        for _ in range(30):
            trial_s = sa + factor * step[:, 0]
            trial_x = np.clip(xa + factor * step[:, 1], *SHAPE_BOUNDS)
            trial = gpd_nllh(ya, np.where(trial_s > 0, trial_s, np.nan), trial_x)
            better = trial <= ca  # NaN (scale <= 0) and +inf compare False
            if np.all(better | (factor == 0)):
                break
            factor = np.where(better, factor, factor * 0.5)
        accept = better & (factor > 0)
        scale[active] = np.where(accept, trial_s, sa)
        shape[active] = np.where(accept, trial_x, xa)
        current[active] = np.where(accept, trial, ca)
        # A step that cannot lower -log L means the optimum is reached to rounding error.
        converged[active] = done | (~accept & (size < 1e3 * _GRADIENT_TOL))
        active = active[~converged[active]]
    return scale, shape, converged & np.isfinite(current)


def _scipy_mle(y: NDArray, start: NDArray) -> NDArray:
    """Return (scale, shape) maximising one series' likelihood with scipy (fallback only)."""
    from scipy.optimize import minimize  # imported here: keeps `import hazard_models` fast

    x = y[~np.isnan(y)]

    def objective(theta: NDArray) -> float:
        value = gpd_nllh(x, np.exp(theta[0]), theta[1])
        return float(value) if np.isfinite(value) else 1e300

    theta = np.array([np.log(start[0]), start[1]])
    bounds = [(None, None), SHAPE_BOUNDS]
    options = {"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000}
    for _ in range(2):  # one restart guards against premature simplex collapse
        theta = minimize(objective, theta, method="Nelder-Mead", bounds=bounds, options=options).x
    return np.array([np.exp(theta[0]), theta[1]])


def fit_gpd_mle(
    excess: NDArray, scale: NDArray, shape: NDArray, *, ok: NDArray
) -> tuple[NDArray, NDArray]:
    """Return MLE (scale, shape): vectorised Newton, scipy for any series it leaves unconverged.

    Parameters
    ----------
    excess : numpy.ndarray, shape (..., n_sample)
        Excesses over the threshold (data units), NaN-padded; NaN for every series not ``ok``.
    scale, shape : numpy.ndarray, shape (...)
        Start values of sigma (data units) and xi, normally the L-moment estimates.
    ok : numpy.ndarray of bool, shape (...)
        Series to fit; only these get the scipy fallback.

    Returns
    -------
    tuple of numpy.ndarray, shape (...)
        Maximum-likelihood scale sigma (data units) and shape xi, bounded to
        :data:`hazard_models.extremes.lmoments.SHAPE_BOUNDS`. Values of series that are not
        ``ok`` are meaningless (the caller sets them to NaN).

    Notes
    -----
    An L-moment start outside the support (xi < 0 with y_max >= sigma/|xi|) is replaced by
    the exponential fit (xi = 0, sigma = mean excess), whose support is unbounded above.
    """
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(ok[..., np.newaxis], excess, 0.0), axis=-1)
    infeasible = ~np.isfinite(gpd_nllh(excess, scale, shape))
    scale = np.where(infeasible, mean, scale)
    shape = np.where(infeasible, 0.0, shape)
    flat_y = excess.reshape(-1, excess.shape[-1])
    flat_s, flat_x, converged = _newton_mle(flat_y, scale.reshape(-1), shape.reshape(-1))
    for i in np.flatnonzero(ok.ravel() & ~converged):
        flat_s[i], flat_x[i] = _scipy_mle(flat_y[i], np.array([flat_s[i], flat_x[i]]))
    return flat_s.reshape(scale.shape), flat_x.reshape(shape.shape)
