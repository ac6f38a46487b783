"""Vectorised GEV maximum likelihood: Newton-Raphson over all series at once.

Every series along the last axis is fitted in the same numpy operations: analytic gradient
and Hessian of the GEV log-likelihood, a Newton step (Hessian shifted to positive definite
where it is not), step halving that never accepts an increase of the objective, and the shape
projected onto :data:`hazard_models.extremes.lmoments.SHAPE_BOUNDS` (an active bound fixes the shape
and the step is taken in location and scale). Each series is standardised by its L-moments,
(x - l1) / l2, so that tolerances and Hessian shifts are free of data units.

Shape convention: ``shape`` = xi of Coles (2001, eq. 3.2), xi > 0 heavy tail (scipy's
``c`` = -xi; Hosking's ``k`` = -xi).

References
----------
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer,
sec. 3.3.2 (likelihood, eq. 3.7-3.9) and 2.6.4 (observed information).
Prescott, P. & Walden, A. T. (1980). Maximum likelihood estimation of the parameters of the
generalized extreme-value distribution. Biometrika 67, 723-724 (analytic derivatives).
Martins, E. S. & Stedinger, J. R. (2000). Generalized maximum-likelihood generalized
extreme-value quantile estimators for hydrologic data. Water Resour. Res. 36, 737-744.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hazard_models.extremes.lmoments import SHAPE_BOUNDS, sample_lmoments

__all__ = [
    "PRIOR_BETA_P",
    "PRIOR_BETA_Q",
    "ShapePrior",
    "fit_gev_mle",
    "gev_information",
    "shape_log_prior",
]

ShapePrior = Literal["none", "martins_stedinger"]

#: Beta(p, q) prior of Martins & Stedinger (2000, eq. 10) on Hosking's kappa in (-0.5, 0.5):
#: pi(kappa) = (0.5 + kappa)^(p-1) (0.5 - kappa)^(q-1) / B(p, q), p = 6, q = 9 (mean
#: kappa = -0.10, sd 0.122). With xi = -kappa: pi(xi) = (0.5 - xi)^(p-1) (0.5 + xi)^(q-1) / B,
#: mean xi = +0.10 and mode xi = 1.5/13 = 0.115 (a slightly heavy tail).
PRIOR_BETA_P = 6.0
PRIOR_BETA_Q = 9.0

_XI_FLOOR = 1e-12  # |xi| is kept above this where 1/xi appears; series cover the rest
_SERIES_A = 0.02  # |xi z| below this uses the power series of w and dw/dxi (error < 1e-16)
_SERIES_TERMS = 10
_GRADIENT_TOL = 1e-7  # max |projected gradient| of the NLL in standardised units
_DECREMENT_TOL = 1e-10  # predicted remaining decrease of the NLL (dimensionless)
_MAX_HALVINGS = 40


def shape_log_prior(shape: ArrayLike, *, prior: ShapePrior = "martins_stedinger") -> NDArray:
    """Return the log density of the geophysical shape prior at ``shape`` (xi).

    Parameters
    ----------
    shape : array_like
        GEV shape xi (climate convention, xi > 0 heavy tail), dimensionless.
    prior : {"martins_stedinger", "none"}
        "martins_stedinger": Beta(6, 9) on kappa = -xi over (-0.5, 0.5) (Martins & Stedinger
        2000, eq. 10, see :data:`PRIOR_BETA_P`); "none": 0 everywhere.

    Returns
    -------
    numpy.ndarray
        log pi(xi); -inf outside (-0.5, 0.5).
    """
    from scipy.special import betaln  # imported here: keeps `import hazard_models` fast

    xi = np.asarray(shape, dtype=float)
    if prior == "none":
        return np.zeros_like(xi)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (
            (PRIOR_BETA_P - 1.0) * np.log(0.5 - xi)
            + (PRIOR_BETA_Q - 1.0) * np.log(0.5 + xi)
            - betaln(PRIOR_BETA_P, PRIOR_BETA_Q)
        )
    return np.where(np.abs(xi) < 0.5, out, -np.inf)


def _prior_derivatives(xi: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Return -log pi(xi) and its first and second derivatives (Martins & Stedinger 2000)."""
    p1, q1 = PRIOR_BETA_P - 1.0, PRIOR_BETA_Q - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        value = -shape_log_prior(xi)
        first = p1 / (0.5 - xi) - q1 / (0.5 + xi)
        second = p1 / (0.5 - xi) ** 2 + q1 / (0.5 + xi) ** 2
    return value, first, second


def _safe_xi(xi: NDArray) -> NDArray:
    return np.where(np.abs(xi) < _XI_FLOOR, np.where(xi < 0, -_XI_FLOOR, _XI_FLOOR), xi)


def _objective(x: NDArray, valid: NDArray, theta: NDArray, prior: ShapePrior) -> NDArray:
    """Return the (penalised) NLL of each row of ``x`` at ``theta`` = (loc, scale, shape)."""
    mu, sigma, xi = (theta[:, i : i + 1] for i in range(3))
    xs = _safe_xi(xi)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = (x - mu) / sigma
        big_l = np.log1p(xs * z)
        terms = (1.0 + 1.0 / xs) * big_l + np.exp(-big_l / xs)
        outside = (valid & ~(xs * z > -1.0)).any(axis=1)
        total = valid.sum(axis=1) * np.log(sigma[:, 0]) + np.where(valid, terms, 0.0).sum(axis=1)
    total = np.where(outside | ~(sigma[:, 0] > 0) | (np.abs(xi[:, 0]) > 0.5), np.inf, total)
    if prior != "none":
        total = total + _prior_derivatives(xi[:, 0])[0]
    return np.where(np.isnan(total), np.inf, total)


def _w_series(a: NDArray, z: NDArray) -> tuple[NDArray, NDArray]:
    """Return w = [log(1+a) - a/(1+a)]/xi^2 and dw/dxi by their power series in a = xi z.

    log(1+a) - a/(1+a) = sum_{k>=2} (-1)^k (k-1)/k a^k and -2 log(1+a) + 2a/(1+a) +
    a^2/(1+a)^2 = sum_{k>=3} (-1)^k (k-1)(k-2)/k a^k (Taylor expansion), divided by xi^2 and
    xi^3: no cancellation near the Gumbel limit.
    """
    w = np.zeros_like(a)
    wx = np.zeros_like(a)
    power = np.ones_like(a)
    power_prev = power
    for k in range(2, _SERIES_TERMS + 3):
        sign = 1.0 if k % 2 == 0 else -1.0
        w += sign * (k - 1) / k * power
        if k >= 3:
            wx += sign * (k - 1) * (k - 2) / k * power_prev
        power_prev = power
        power = power * a
    return w * z * z, wx * z**3


def _derivatives(
    x: NDArray, valid: NDArray, theta: NDArray, prior: ShapePrior
) -> tuple[NDArray, NDArray]:
    """Return the gradient (S, 3) and Hessian (S, 3, 3) of the NLL in (loc, scale, shape).

    Per observation, with z = (x - mu)/sigma, t = 1 + xi z, u = t^(-1/xi), A = 1 + xi - u,
    L = log t and w = L/xi^2 - z/(xi t), the log-likelihood l = -log sigma - (1 + 1/xi) L - u
    has (Prescott & Walden 1980; derived again here):
    l_mu = A/(sigma t), l_sigma = -1/sigma + z l_mu, l_xi = (1 - u) w - z/t,
    l_mumu = (xi A - u)/(sigma t)^2, l_musigma = -(A + u z)/(sigma t)^2,
    l_muxi = [t (1 - u w) - A z]/(sigma t^2), l_sigmasigma = 1/sigma^2 - z (A t + A + u z)/
    (sigma t)^2, l_sigmaxi = z l_muxi, l_xixi = -u w^2 + (1 - u) w_xi + z^2/t^2,
    w_xi = -2L/xi^3 + 2z/(xi^2 t) + z^2/(xi t^2).
    """
    mu, sigma, xi = (theta[:, i : i + 1] for i in range(3))
    xs = _safe_xi(xi)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = np.where(valid, (x - mu) / sigma, 0.0)
        a = xs * z
        t = 1.0 + a
        big_l = np.log1p(a)
        u = np.exp(-big_l / xs)
        w = (big_l - a / t) / xs**2
        wx = (-2.0 * big_l + 2.0 * a / t + (a / t) ** 2) / xs**3
        small = np.abs(a) < _SERIES_A  # only these few entries pay for the series
        w[small], wx[small] = _w_series(a[small], z[small])
        big_a = 1.0 + xs - u
        st2 = (sigma * t) ** 2
        lm = big_a / (sigma * t)
        lmx = (t * (1.0 - u * w) - big_a * z) / (sigma * t * t)
        per_obs = {
            "g0": lm,
            "g1": -1.0 / sigma + z * lm,
            "g2": (1.0 - u) * w - z / t,
            "h00": (xs * big_a - u) / st2,
            "h01": -(big_a + u * z) / st2,
            "h02": lmx,
            "h11": 1.0 / sigma**2 - z * (big_a * t + big_a + u * z) / st2,
            "h12": z * lmx,
            "h22": -u * w * w + (1.0 - u) * wx + (z / t) ** 2,
        }
        sums = {key: -np.where(valid, value, 0.0).sum(axis=1) for key, value in per_obs.items()}
    gradient = np.stack([sums["g0"], sums["g1"], sums["g2"]], axis=-1)
    hessian = np.empty(gradient.shape + (3,))
    for i, j in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)):
        hessian[:, i, j] = hessian[:, j, i] = sums[f"h{i}{j}"]
    if prior != "none":
        _, first, second = _prior_derivatives(xi[:, 0])
        gradient[:, 2] += first
        hessian[:, 2, 2] += second
    return gradient, hessian


def _project(theta: NDArray) -> NDArray:
    """Clip the shape column of ``theta`` to :data:`SHAPE_BOUNDS`."""
    out = theta.copy()
    out[:, 2] = np.clip(out[:, 2], *SHAPE_BOUNDS)
    return out


def _newton_direction(
    gradient: NDArray, hessian: NDArray, theta: NDArray
) -> tuple[NDArray, NDArray, NDArray]:
    """Return the projected Newton step, projected gradient and Newton decrement.

    A shape at a bound whose gradient points outwards is held fixed (its row and column are
    replaced by the identity, its gradient by 0). Where the smallest eigenvalue of H is not
    positive, H + lambda I is used (Levenberg-Marquardt shift; Nocedal & Wright 2006, 3.4).
    """
    low, high = SHAPE_BOUNDS
    fixed = ((theta[:, 2] >= high) & (gradient[:, 2] < 0)) | (
        (theta[:, 2] <= low) & (gradient[:, 2] > 0)
    )
    g = gradient.copy()
    h = hessian.copy()
    g[fixed, 2] = 0.0
    h[fixed, 2, :] = 0.0
    h[fixed, :, 2] = 0.0
    h[fixed, 2, 2] = 1.0
    eigen = np.linalg.eigvalsh(np.where(np.isfinite(h), h, 0.0))
    floor = 1e-8 * np.maximum(1.0, np.abs(eigen[:, -1]))
    shift = np.where(eigen[:, 0] < floor, floor - eigen[:, 0], 0.0)
    h = h + shift[:, None, None] * np.eye(3)
    step = -np.linalg.solve(h, g[..., None])[..., 0]
    step = np.where(np.isfinite(step), step, 0.0)
    # Newton decrement lambda^2 / 2 = -g.d / 2 estimates f - min f where H is positive definite
    # (Boyd & Vandenberghe 2004, sec. 9.5.1); +inf where H had to be shifted.
    decrement = np.where(shift == 0, -0.5 * np.sum(g * step, axis=1), np.inf)
    return step, g, decrement


def _line_search(
    x: NDArray, valid: NDArray, theta: NDArray, step: NDArray, objective: NDArray, prior: ShapePrior
) -> tuple[NDArray, NDArray, NDArray]:
    """Halve each step until the objective does not increase; return theta, value, accepted."""
    new_theta, new_value = theta.copy(), objective.copy()
    pending = np.ones(len(theta), dtype=bool)
    alpha = 1.0
    for _ in range(_MAX_HALVINGS):
        rows = np.flatnonzero(pending)
        if rows.size == 0:
            break
        trial = _project(theta[rows] + alpha * step[rows])
        value = _objective(x[rows], valid[rows], trial, prior)
        good = np.isfinite(value) & (value <= objective[rows])
        new_theta[rows[good]], new_value[rows[good]] = trial[good], value[good]
        pending[rows[good]] = False
        alpha *= 0.5
    return new_theta, new_value, ~pending


def _newton(
    x: NDArray, valid: NDArray, theta: NDArray, prior: ShapePrior, max_iterations: int
) -> tuple[NDArray, NDArray, NDArray]:
    """Run projected, damped Newton-Raphson on every row; return theta, converged, iterations."""
    value = _objective(x, valid, theta, prior)
    converged = np.zeros(len(theta), dtype=bool)
    iterations = np.zeros(len(theta), dtype=int)
    active = np.flatnonzero(np.isfinite(value))
    for _ in range(max_iterations):
        if active.size == 0:
            break
        xa, va, ta = x[active], valid[active], theta[active]
        gradient, hessian = _derivatives(xa, va, ta, prior)
        step, projected, decrement = _newton_direction(gradient, hessian, ta)
        done = (np.max(np.abs(projected), axis=1) < _GRADIENT_TOL) | (decrement < _DECREMENT_TOL)
        converged[active[done]] = True
        keep = ~done
        new_theta, new_value, accepted = _line_search(
            xa[keep], va[keep], ta[keep], step[keep], value[active[keep]], prior
        )
        rows = active[keep]
        theta[rows], value[rows] = new_theta, new_value
        iterations[rows] += 1
        active = rows[accepted]  # a series whose every halving failed has stalled: stop it
    return theta, converged, iterations


def _standardise(data: ArrayLike) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """Return rows (S, n) of (x - l1)/l2, their valid mask, l1, l2 and the fit-able rows."""
    values = np.asarray(data, dtype=float)
    values = np.where(np.isfinite(values), values, np.nan).reshape(-1, values.shape[-1])
    l1, l2, _, count = sample_lmoments(values)
    usable = (count >= 3) & (l2 > 0) & np.isfinite(l2)
    safe_l2 = np.where(usable, l2, 1.0)
    x = (values - np.where(usable, l1, 0.0)[:, None]) / safe_l2[:, None]
    valid = ~np.isnan(x) & usable[:, None]
    return np.where(valid, x, 0.0), valid, l1, safe_l2, usable


def _scipy_fallback(x: NDArray, valid: NDArray, theta: NDArray, prior: ShapePrior) -> NDArray:
    """Refine one standardised series with Nelder-Mead (scipy), for Newton failures only."""
    from scipy.optimize import minimize  # imported here: keeps `import hazard_models` fast

    def objective(vector: NDArray) -> float:
        trial = np.array([[vector[0], np.exp(vector[1]), vector[2]]])
        value = _objective(x[None], valid[None], trial, prior)[0]
        return float(value) if np.isfinite(value) else 1e300

    start = np.array([theta[0], np.log(theta[1]), theta[2]])
    options = {"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000, "maxfev": 8000}
    bounds = [(None, None), (None, None), SHAPE_BOUNDS]
    best = minimize(objective, start, method="Nelder-Mead", bounds=bounds, options=options).x
    return np.array([best[0], np.exp(best[1]), best[2]])


def fit_gev_mle(
    data: ArrayLike,
    start: ArrayLike | None = None,
    *,
    prior: ShapePrior = "none",
    max_iterations: int = 60,
    fallback: bool = True,
) -> dict[str, NDArray]:
    """Fit a GEV by (penalised) maximum likelihood to every series at once.

    Parameters
    ----------
    data : array_like, shape (..., n_sample)
        Annual maxima along the last axis (any units); NaN and +-inf are missing values.
    start : array_like, shape (..., 3), optional
        Starting (loc, scale, shape), e.g. L-moment estimates; the Gumbel L-moment fit
        (support = whole line) is also tried and the better start is kept.
    prior : {"none", "martins_stedinger"}
        "martins_stedinger" maximises log L + log pi(xi), the generalised maximum likelihood of
        Martins & Stedinger (2000), see :func:`shape_log_prior`.
    max_iterations : int
        Newton iterations per series.
    fallback : bool
        Refine series that did not converge with scipy's Nelder-Mead, one at a time.

    Returns
    -------
    dict of numpy.ndarray, shape (...)
        ``loc``, ``scale`` (data units), ``shape`` (xi), ``converged`` (Newton reached a
        projected gradient below 1e-7 in L-moment-standardised units), ``iterations`` and
        ``fallback`` (True where scipy refined the series). Series with fewer than 3 valid
        values or no spread give NaN.
    """
    shape_out = np.shape(data)[:-1]
    x, valid, l1, l2, usable = _standardise(data)
    rows = np.flatnonzero(usable)
    gumbel_scale = 1.0 / np.log(2.0)  # Hosking 1990, Table 1: Gumbel L-moment fit, l2 = 1
    starts = [np.tile([-0.5772156649015329 * gumbel_scale, gumbel_scale, 0.0], (rows.size, 1))]
    if start is not None:
        given = np.asarray(start, dtype=float).reshape(-1, 3)[rows]
        starts.append(
            np.column_stack(
                [(given[:, 0] - l1[rows]) / l2[rows], given[:, 1] / l2[rows], given[:, 2]]
            )
        )
    limit = 0.49 if prior != "none" else 0.5  # the prior density is 0 at +-0.5
    starts = [np.column_stack([s[:, :2], np.clip(s[:, 2], -limit, limit)]) for s in starts]
    values = [_objective(x[rows], valid[rows], np.nan_to_num(s, nan=1.0), prior) for s in starts]
    theta = np.where((values[-1] < values[0])[:, None], starts[-1], starts[0])
    theta, converged, iterations = _newton(x[rows], valid[rows], theta, prior, max_iterations)
    used_fallback = np.zeros(rows.size, dtype=bool)
    if fallback:
        for i in np.flatnonzero(~converged):
            candidate = _scipy_fallback(x[rows[i]], valid[rows[i]], theta[i], prior)
            pair = np.stack([theta[i], candidate])
            value = _objective(x[[rows[i]] * 2], valid[[rows[i]] * 2], pair, prior)
            used_fallback[i] = True
            theta[i] = pair[int(np.argmin(value))]
    out = np.full((len(usable), 3), np.nan)
    out[rows] = np.column_stack(
        [l1[rows] + l2[rows] * theta[:, 0], l2[rows] * theta[:, 1], theta[:, 2]]
    )
    flags = {"converged": converged, "iterations": iterations, "fallback": used_fallback}
    result = {
        name: out[:, i].reshape(shape_out) for i, name in enumerate(("loc", "scale", "shape"))
    }
    for name, flag in flags.items():
        full = np.zeros(len(usable), dtype=flag.dtype)
        full[rows] = flag
        result[name] = full.reshape(shape_out)
    return result


def gev_information(
    data: ArrayLike,
    loc: ArrayLike,
    scale: ArrayLike,
    shape: ArrayLike,
    *,
    prior: ShapePrior = "none",
) -> NDArray:
    """Return the observed information (Hessian of the NLL) of (loc, scale, shape).

    Parameters
    ----------
    data : array_like, shape (..., n_sample)
        Annual maxima along the last axis; NaN values are left out.
    loc, scale, shape : array_like, shape (...)
        GEV parameters at which to evaluate (normally the estimate).
    prior : {"none", "martins_stedinger"}
        Add the curvature of -log pi(xi) (the penalised objective of "pmle").

    Returns
    -------
    numpy.ndarray, shape (..., 3, 3)
        d^2 (-log L) / d theta_i d theta_j, theta = (loc, scale, shape); units are the
        inverse products of the parameters' units. NaN where a parameter is NaN.

    Notes
    -----
    Its inverse is the asymptotic covariance of the MLE (Coles 2001, sec. 2.6.4, 3.3.3).
    """
    x, valid, l1, l2, usable = _standardise(data)
    params = np.stack(np.broadcast_arrays(*(np.asarray(a, float) for a in (loc, scale, shape))), -1)
    params = params.reshape(-1, 3)
    theta = np.column_stack([(params[:, 0] - l1) / l2, params[:, 1] / l2, params[:, 2]])
    _, hessian = _derivatives(x, valid, np.nan_to_num(theta, nan=1.0), prior)
    factor = np.array([1.0, 1.0, 0.0])[None, :] / l2[:, None] + np.array([0.0, 0.0, 1.0])
    hessian = hessian * factor[:, :, None] * factor[:, None, :]
    bad = ~usable | np.isnan(params).any(axis=1)
    hessian[bad] = np.nan
    return hessian.reshape(np.shape(data)[:-1] + (3, 3))
