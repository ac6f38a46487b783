"""Vectorised damped-Newton solver behind :mod:`hazard_models.extremes.nonstationary`.

Private: minimises the negative log-likelihood of the GEV whose location (and optionally
log-scale) is linear in a covariate, for every series at once, with finite-difference
derivatives on standardised parameters (Marquardt 1963 damping; Coles 2001, sec. 6.2).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hazard_models.extremes.gev import gev_nllh
from hazard_models.extremes.lmoments import AT_BOUND_TOL, SHAPE_BOUNDS

__all__ = ["model_nllh", "newton"]

_MAX_ITERATIONS = 200
_STEP = 1e-4  # finite-difference step on standardised parameters: ~eps^(1/4) for a Hessian
_GRADIENT_TOL = 1e-3  # |gradient| of the NLL in standardised units accepted as a stationary point


def _nllh_per_series(x: NDArray, loc: NDArray, scale: NDArray, shape: NDArray) -> NDArray:
    """Return the GEV NLL of each series when loc and scale vary along the sample axis.

    ``x``, ``loc`` and ``scale`` have shape (..., n_sample); ``shape`` has shape (...).
    Reuses :func:`hazard_models.extremes.gev.gev_nllh` with each observation as a series of one.
    """
    per_value = gev_nllh(
        x[..., np.newaxis], loc, scale, np.broadcast_to(shape[..., None], loc.shape)
    )
    return per_value.sum(axis=-1)


def model_nllh(theta: NDArray, x: NDArray, c: NDArray, log_scale: bool) -> NDArray:
    """Return the NLL for theta = (mu0, mu1, phi0, [phi1], xi) on standardised data."""
    loc = theta[..., 0:1] + theta[..., 1:2] * c
    phi = theta[..., 2:3] + (theta[..., 3:4] * c if log_scale else 0.0)
    value = _nllh_per_series(x, loc, np.exp(phi), theta[..., -1])
    return np.where(np.isfinite(value), value, np.inf)


def _derivatives(
    theta: NDArray, x: NDArray, c: NDArray, log_scale: bool, free: NDArray
) -> tuple[NDArray, NDArray, NDArray]:
    """Return NLL, gradient and Hessian by central finite differences (vectorised).

    Differences use a step of 1e-4 on standardised parameters (all of order one): the
    truncation error ~h^2 = 1e-8 and the rounding error ~eps |f| / h^2 ~ 1e-6 relative,
    ample for Newton steps and for the covariance. Parameters not in ``free`` get a zero
    gradient and a unit Hessian row (they stay fixed).
    """
    p = theta.shape[-1]
    f0 = model_nllh(theta, x, c, log_scale)
    unit = np.eye(p) * _STEP

    def shifted(*offsets: NDArray) -> NDArray:
        return model_nllh(theta + sum(offsets), x, c, log_scale)

    grad = np.zeros(theta.shape)
    hess = np.zeros(theta.shape + (p,))
    for j in np.flatnonzero(free):
        plus, minus = shifted(unit[j]), shifted(-unit[j])
        grad[..., j] = (plus - minus) / (2 * _STEP)
        hess[..., j, j] = (plus - 2 * f0 + minus) / _STEP**2
        for k in np.flatnonzero(free):
            if k <= j:
                continue
            cross = shifted(unit[j], unit[k]) - shifted(unit[j], -unit[k])
            cross = cross - shifted(-unit[j], unit[k]) + shifted(-unit[j], -unit[k])
            hess[..., j, k] = hess[..., k, j] = cross / (4 * _STEP**2)
    for j in np.flatnonzero(~free):
        hess[..., j, j] = 1.0
    return f0, grad, hess


def newton(
    theta: NDArray, x: NDArray, c: NDArray, *, log_scale: bool, free: NDArray
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Minimise the NLL of every series with damped Newton steps; return theta, nllh, H, ok.

    Marquardt damping: solve (H + lambda diag|H|) d = -g; accept the step when the NLL falls
    (lambda /= 10), otherwise lambda *= 10. The shape is projected onto SHAPE_BOUNDS. Series
    leave the iteration once their gradient vanishes or no step improves them, so the cost
    follows the slowest series only for that series.
    """
    batch = theta.shape[:-1]
    theta = theta.reshape(-1, theta.shape[-1]).copy()
    x, c = x.reshape(-1, x.shape[-1]), c.reshape(-1, c.shape[-1])
    damping = np.full(theta.shape[0], 1e-3)
    running = np.arange(theta.shape[0])
    for _ in range(_MAX_ITERATIONS):
        if running.size == 0:
            break
        th, xs, cs = theta[running], x[running], c[running]
        f0, grad, hess = _derivatives(th, xs, cs, log_scale, free)
        grad, hess = _project_gradient(th, grad, hess)
        trial = th + _damped_step(grad, hess, damping[running])
        trial[:, -1] = np.clip(trial[:, -1], *SHAPE_BOUNDS)
        better = model_nllh(trial, xs, cs, log_scale) < f0
        theta[running] = np.where(better[:, None], trial, th)
        damping[running] = np.clip(
            np.where(better, damping[running] / 10, damping[running] * 10), 1e-12, 1e12
        )
        stop = ~np.isfinite(f0) | (np.abs(grad).max(axis=-1) < 1e-7) | (damping[running] >= 1e10)
        running = running[~stop]
    f0, grad, hess = _derivatives(theta, x, c, log_scale, free)
    converged = np.isfinite(f0) & (
        np.abs(_project_gradient(theta, grad, hess)[0]).max(axis=-1) < _GRADIENT_TOL
    )
    p = theta.shape[-1]
    return (
        theta.reshape(*batch, p),
        f0.reshape(batch),
        hess.reshape(*batch, p, p),
        converged.reshape(batch),
    )


def _project_gradient(theta: NDArray, grad: NDArray, hess: NDArray) -> tuple[NDArray, NDArray]:
    """Fix the shape where it is held on a bound: zero its gradient and decouple its Hessian.

    A shape within ``AT_BOUND_TOL`` (1e-6) of a bound whose gradient points outward is held
    there (projected Newton); the other parameters are then optimised with the shape fixed.
    """
    shape, slope = theta[..., -1], grad[..., -1]
    held = ((shape <= SHAPE_BOUNDS[0] + AT_BOUND_TOL) & (slope > 0)) | (
        (shape >= SHAPE_BOUNDS[1] - AT_BOUND_TOL) & (slope < 0)
    )
    grad, hess = grad.copy(), hess.copy()
    grad[..., -1] = np.where(held, 0.0, slope)
    hess[..., -1, :] = np.where(held[..., None], 0.0, hess[..., -1, :])
    hess[..., :, -1] = np.where(held[..., None], 0.0, hess[..., :, -1])
    hess[..., -1, -1] = np.where(held, 1.0, hess[..., -1, -1])
    return grad, hess


def _damped_step(grad: NDArray, hess: NDArray, damping: NDArray) -> NDArray:
    """Return the Marquardt step -(H + lambda diag|H|)^-1 g (non-finite entries neutralised)."""
    eye = np.eye(grad.shape[-1])
    diag = np.abs(np.diagonal(hess, axis1=-2, axis2=-1)) + 1e-6
    finite = np.isfinite(hess)
    system = np.where(finite, hess, 0.0) + (~finite) * eye
    system = system + damping[..., None, None] * diag[..., None, :] * eye
    rhs = np.where(np.isfinite(grad), grad, 0.0)[..., None]
    return -np.linalg.solve(system, rhs)[..., 0]
