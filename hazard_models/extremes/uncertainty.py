"""Confidence intervals for extreme-value fits: delta method and parametric bootstrap.

Every function takes parameters (and covariance matrices) as inputs, so it works with any
fitter: :func:`hazard_models.extremes.gev_fit.fit_gev`, a vectorised MLE that returns a covariance,
or published values. Arrays are vectorised over any leading (series) axes; a trailing
``parameter`` axis, when present, is ordered (loc, scale, shape). ``shape`` is xi of Coles
(2001, eq. 3.2): xi > 0 is a heavy tail (scipy's ``c`` is -xi).

References
----------
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer.
Davison, A. C. & Hinkley, D. V. (1997). Bootstrap Methods and their Application. Cambridge UP.
Nocedal, J. & Wright, S. J. (2006). Numerical Optimization, 2nd ed. Springer, sec. 8.1.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hazard_models.extremes.gev import return_level
from hazard_models.extremes.gev_fit import FitMethod, fit_gev

__all__ = [
    "PARAMETER_NAMES",
    "BootstrapResult",
    "Interval",
    "delta_method_ci",
    "gev_return_level_ci_delta",
    "numerical_covariance",
    "parametric_bootstrap_gev",
    "return_level_gradient_gev",
    "simulate_gev",
]

#: Order of the trailing parameter axis of gradients and covariance matrices.
PARAMETER_NAMES: tuple[str, str, str] = ("loc", "scale", "shape")

_SERIES_LIMIT = 1e-3  # |xi log y| below this uses the Taylor series (Gumbel limit) in gradients
_PILOT_STEP = 1e-4  # pilot finite-difference step, relative to max(|theta_i|, 1)
_STEP_IN_SE = 1e-3  # final step: this fraction of each parameter's standard error
_BOOT_CHUNK_VALUES = 4_000_000  # simulated values held at once (32 MB of float64)


class Interval(NamedTuple):
    """A point estimate with a two-sided confidence interval (all arrays broadcast alike).

    ``standard_error`` is the delta-method standard error, or the standard deviation of the
    bootstrap replicates.
    """

    estimate: NDArray
    lower: NDArray
    upper: NDArray
    standard_error: NDArray


@dataclass(frozen=True)
class BootstrapResult:
    """Percentile-bootstrap intervals of a GEV fit (see :func:`parametric_bootstrap_gev`).

    Attributes
    ----------
    parameters : Interval
        Arrays of shape (..., 3), the last axis ordered as :data:`PARAMETER_NAMES`.
    return_levels : Interval
        Arrays of shape (..., n_return_period), in data units.
    n_valid : numpy.ndarray of int, shape (...)
        Bootstrap refits with status "ok" that entered the percentiles.
    """

    parameters: Interval
    return_levels: Interval
    n_valid: NDArray


def _as_params(params: Mapping[str, ArrayLike]) -> tuple[NDArray, NDArray, NDArray]:
    """Return broadcast float arrays (loc, scale, shape) from a mapping, or raise KeyError."""
    missing = [name for name in PARAMETER_NAMES if name not in params]
    if missing:
        raise KeyError(f"params: expected keys {PARAMETER_NAMES}, missing {missing}")
    loc, scale, shape = np.broadcast_arrays(
        *(np.asarray(params[name], dtype=float) for name in PARAMETER_NAMES)
    )
    return loc, scale, shape


def _normal_quantile(level: float) -> float:
    """Return z with P(|Z| <= z) = level for a standard normal Z."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: expected a probability in (0, 1), found {level}")
    from scipy.special import ndtri  # imported here: keeps `import hazard_models` fast

    return float(ndtri(0.5 + level / 2.0))


def return_level_gradient_gev(
    loc: ArrayLike, scale: ArrayLike, shape: ArrayLike, return_period: ArrayLike
) -> NDArray:
    """Return the gradient of the GEV return level with respect to (loc, scale, shape).

    Parameters
    ----------
    loc, scale, shape : array_like
        GEV parameters (data units, data units, dimensionless xi), broadcast together.
    return_period : array_like
        Return period T in years (> 1), broadcast against the parameters.

    Returns
    -------
    numpy.ndarray, shape (*broadcast, 3)
        dz_T/dloc (1), dz_T/dscale (1) and dz_T/dshape (data units), last axis ordered as
        :data:`PARAMETER_NAMES`.

    Raises
    ------
    ValueError
        If a return period is not greater than 1.

    Notes
    -----
    With y = -log(1 - 1/T) and z_T = mu - sigma/xi (1 - y^-xi) (Coles 2001, eq. 3.4), the
    gradient is (Coles 2001, sec. 3.3.3, inference for return levels)
    (1, -xi^-1 (1 - y^-xi), sigma xi^-2 (1 - y^-xi) - sigma xi^-1 y^-xi log y).
    With a = xi log y both non-trivial entries cancel badly as xi -> 0, so for
    |a| < 1e-3 they use their Taylor series: -log y (1 - a/2 + a^2/6) and
    sigma (log y)^2 (1/2 - a/3 + a^2/8); at xi = 0 these are the Gumbel gradient
    (1, -log y, sigma (log y)^2 / 2). Series truncation error is O(a^3) ~ 1e-9 relative.
    """
    loc, scale, shape, period = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (loc, scale, shape, return_period))
    )
    if np.any(period <= 1):
        raise ValueError("return_period: expected years greater than 1")
    log_y = np.log(-np.log1p(-1.0 / period))
    a = shape * log_y
    near_gumbel = np.abs(a) < _SERIES_LIMIT
    safe = np.where(near_gumbel | (shape == 0), 1.0, shape)
    one_minus = -np.expm1(-safe * log_y)  # 1 - y^-xi
    d_scale = np.where(near_gumbel, -log_y * (1 - a / 2 + a * a / 6), -one_minus / safe)
    d_shape_general = scale * (one_minus / safe**2 - np.exp(-safe * log_y) * log_y / safe)
    d_shape_series = scale * log_y**2 * (0.5 - a / 3 + a * a / 8)
    d_shape = np.where(near_gumbel, d_shape_series, d_shape_general)
    d_loc = np.where(np.isnan(loc), np.nan, 1.0)
    return np.stack([d_loc, d_scale, d_shape], axis=-1)


def delta_method_ci(
    estimate: ArrayLike, gradient: ArrayLike, cov: ArrayLike, *, level: float = 0.95
) -> Interval:
    """Return the delta-method normal confidence interval of a function of the parameters.

    Parameters
    ----------
    estimate : array_like, shape (...)
        The function g(theta) at the estimate, in its own units.
    gradient : array_like, shape (..., n_parameter)
        dg/dtheta at the estimate, parameters on the last axis.
    cov : array_like, shape (..., n_parameter, n_parameter)
        Covariance matrix of the parameter estimates (e.g. inverse observed information).
        Leading axes broadcast against ``gradient``.
    level : float
        Two-sided confidence level, in (0, 1).

    Returns
    -------
    Interval
        ``estimate``, ``lower`` and ``upper`` = estimate -+ z se, and ``standard_error``
        se = sqrt(g^T V g); NaN where the variance is negative or NaN (a covariance that is
        not positive semi-definite).

    Notes
    -----
    Var g(theta_hat) ~ grad g^T V grad g (Coles 2001, sec. 2.6.4, Theorem 2.4), with the
    symmetric interval g -+ z_(1-alpha/2) se (ibid., eq. 2.11 applied to g).
    """
    z = _normal_quantile(level)
    grad = np.asarray(gradient, dtype=float)
    matrix = np.asarray(cov, dtype=float)
    if matrix.shape[-2:] != (grad.shape[-1], grad.shape[-1]):
        raise ValueError(
            f"cov: expected trailing shape ({grad.shape[-1]}, {grad.shape[-1]}) to match the "
            f"gradient's parameter axis, found {matrix.shape[-2:]}"
        )
    variance = np.einsum("...i,...ij,...j->...", grad, matrix, grad)
    with np.errstate(invalid="ignore"):
        se = np.where(variance >= 0, np.sqrt(np.abs(variance)), np.nan)
    value = np.broadcast_to(np.asarray(estimate, dtype=float), se.shape)
    return Interval(value, value - z * se, value + z * se, se)


def gev_return_level_ci_delta(
    params: Mapping[str, ArrayLike],
    cov: ArrayLike,
    return_periods: Sequence[float] | ArrayLike,
    *,
    level: float = 0.95,
) -> Interval:
    """Return GEV return levels with delta-method confidence intervals.

    Parameters
    ----------
    params : mapping
        ``loc``, ``scale``, ``shape`` arrays of shape (...) (e.g. the result of
        :func:`hazard_models.extremes.gev_fit.fit_gev`).
    cov : array_like, shape (..., 3, 3)
        Covariance of (loc, scale, shape) for each series.
    return_periods : sequence of float
        Return periods in years (> 1).
    level : float
        Two-sided confidence level.

    Returns
    -------
    Interval
        Arrays of shape (..., n_return_period), in data units.

    Notes
    -----
    z_T from :func:`hazard_models.extremes.gev.return_level` (Coles 2001, eq. 3.4), gradient from
    :func:`return_level_gradient_gev`, interval from :func:`delta_method_ci` (Coles 2001,
    sec. 3.3.3: Var z_T ~ grad^T V grad).
    """
    loc, scale, shape = (p[..., np.newaxis] for p in _as_params(params))
    periods = np.atleast_1d(np.asarray(return_periods, dtype=float))
    estimate = return_level(loc, scale, shape, periods)
    gradient = return_level_gradient_gev(loc, scale, shape, periods)
    matrix = np.asarray(cov, dtype=float)[..., np.newaxis, :, :]
    return delta_method_ci(estimate, gradient, matrix, level=level)


def _second_differences(
    nllh: Callable[[NDArray], NDArray], theta: NDArray, step: NDArray, *, diagonal_only: bool
) -> NDArray:
    """Return the central finite-difference Hessian (..., p, p) of ``nllh`` at ``theta``."""
    p = theta.shape[-1]
    centre = np.asarray(nllh(theta), dtype=float)
    hessian = np.full((*theta.shape[:-1], p, p), np.nan)
    unit = np.eye(p)

    def at(*moves: tuple[int, float]) -> NDArray:
        shift = sum(sign * unit[i] * step[..., i : i + 1] for i, sign in moves)
        return np.asarray(nllh(theta + shift), dtype=float)

    for i in range(p):
        h2 = step[..., i] ** 2
        hessian[..., i, i] = (at((i, 1.0)) - 2.0 * centre + at((i, -1.0))) / h2
        if diagonal_only:
            continue
        for j in range(i):
            cross = at((i, 1), (j, 1)) - at((i, 1), (j, -1)) - at((i, -1), (j, 1))
            cross = cross + at((i, -1), (j, -1))
            hessian[..., i, j] = hessian[..., j, i] = cross / (4.0 * step[..., i] * step[..., j])
    return hessian


def numerical_covariance(
    nllh: Callable[[NDArray], NDArray], params: ArrayLike, *, step: ArrayLike | None = None
) -> NDArray:
    """Return the inverse observed information from a finite-difference Hessian of ``nllh``.

    Parameters
    ----------
    nllh : callable
        Negative log-likelihood, vectorised: takes parameters of shape (..., p) and returns
        shape (...), e.g. ``lambda t: gev_nllh(data, t[..., 0], t[..., 1], t[..., 2])``.
    params : array_like, shape (..., p)
        The maximum-likelihood estimate of each series.
    step : array_like, shape (..., p), optional
        Finite-difference steps in parameter units; overrides the default rule.

    Returns
    -------
    numpy.ndarray, shape (..., p, p)
        Covariance matrix; all NaN for a series whose Hessian is not finite or not positive
        definite (not a local minimum, or on the edge of the support).

    Notes
    -----
    Observed information I = Hessian of -log L at the MLE, covariance V = I^-1 (Coles 2001,
    sec. 2.6.4). The Hessian uses central differences (Nocedal & Wright 2006, eq. 8.8-8.9):
    (f(+h_i) - 2 f + f(-h_i)) / h_i^2 and (f(++) - f(+-) - f(-+) + f(--)) / (4 h_i h_j).

    Step rule: a pilot pass of diagonal terms with h_i = 1e-4 max(|theta_i|, 1) estimates
    each standard error s_i ~ I_ii^-1/2; the final step is h_i = 1e-3 s_i, so that every
    parameter moves by the same fraction of its own uncertainty whatever its units. The
    truncation error is then O(1e-6) relative, and -log L changes by ~5e-7 per step, far above
    rounding (~1e-14 |log L|). Where the pilot curvature is not positive the pilot step is kept.
    """
    theta = np.asarray(params, dtype=float)
    if step is None:
        pilot_step = _PILOT_STEP * np.maximum(np.abs(theta), 1.0)
        pilot = _second_differences(nllh, theta, pilot_step, diagonal_only=True)
        curvature = np.diagonal(pilot, axis1=-2, axis2=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = _STEP_IN_SE / np.sqrt(curvature)
        usable = np.isfinite(scaled) & (scaled > 0)
        steps = np.where(usable, scaled, pilot_step)
    else:
        steps = np.broadcast_to(np.asarray(step, dtype=float), theta.shape)
    hessian = _second_differences(nllh, theta, steps, diagonal_only=False)
    return _inverse_positive_definite(hessian)


def _inverse_positive_definite(matrix: NDArray) -> NDArray:
    """Invert symmetric matrices (..., p, p) by eigen-decomposition; NaN if not pos. definite."""
    finite = np.isfinite(matrix).all(axis=(-2, -1))
    safe = np.where(finite[..., None, None], matrix, np.eye(matrix.shape[-1]))
    values, vectors = np.linalg.eigh(safe)
    good = finite & (values > 0).all(axis=-1)
    inverse_values = np.where(good[..., None], 1.0 / np.where(values > 0, values, 1.0), np.nan)
    return np.einsum("...ik,...k,...jk->...ij", vectors, inverse_values, vectors)


def simulate_gev(
    params: Mapping[str, ArrayLike], size: int, *, seed: int | np.random.Generator = 0
) -> NDArray:
    """Draw samples from GEV distributions, all series at once.

    Parameters
    ----------
    params : mapping
        ``loc``, ``scale``, ``shape`` arrays of shape (...).
    size : int
        Number of values per series.
    seed : int or numpy.random.Generator
        Seed or generator (results are reproducible for a given seed).

    Returns
    -------
    numpy.ndarray, shape (..., size)
        Samples in data units; NaN for series with a NaN parameter.

    Notes
    -----
    Inversion: with E ~ Exp(1), -log F(X) = E, so X is the GEV quantile at y = E, i.e. the
    return level for T = 1 / (1 - exp(-E)) (Coles 2001, eq. 3.4).
    """
    loc, scale, shape = (p[..., np.newaxis] for p in _as_params(params))
    rng = np.random.default_rng(seed)
    exponential = rng.standard_exponential((*loc.shape[:-1], size))
    exponential = np.maximum(exponential, np.finfo(float).tiny)
    period = -1.0 / np.expm1(-exponential)
    with np.errstate(invalid="ignore"):
        return return_level(loc, scale, shape, period)


def _percentile_interval(replicates: NDArray, level: float) -> tuple[NDArray, NDArray, NDArray]:
    """Return (lower, upper, sd) of replicates along axis 1, ignoring NaN replicates."""
    alpha = (1.0 - level) / 2.0
    with warnings.catch_warnings():  # all-NaN series give NaN, which is the intended answer
        warnings.simplefilter("ignore", RuntimeWarning)
        lower, upper = np.nanquantile(replicates, [alpha, 1.0 - alpha], axis=1)
        spread = np.nanstd(replicates, axis=1, ddof=1)
    return lower, upper, spread


def _bootstrap_replicates(
    params: NDArray,
    n: int,
    periods: NDArray,
    *,
    n_boot: int,
    method: FitMethod,
    rng: np.random.Generator,
) -> tuple[NDArray, NDArray]:
    """Return refitted parameters (S, n_boot, 3) and return levels (S, n_boot, n_T).

    ``params`` is (S, 3); series are processed in chunks of bounded memory.
    """
    names = PARAMETER_NAMES
    per_series = n_boot * n
    chunk = max(1, int(_BOOT_CHUNK_VALUES // per_series))
    fitted, levels = [], []
    for start in range(0, params.shape[0], chunk):
        block = params[start : start + chunk]
        shape = (block.shape[0], n_boot)
        truth = {name: np.broadcast_to(block[:, i, None], shape) for i, name in enumerate(names)}
        samples = simulate_gev(truth, n, seed=rng)  # (s, n_boot, n)
        fit = fit_gev(samples, method=method)
        theta = np.stack([fit[name] for name in PARAMETER_NAMES], axis=-1)
        theta[fit["status"] != "ok"] = np.nan
        fitted.append(theta)
        levels.append(
            return_level(theta[..., 0, None], theta[..., 1, None], theta[..., 2, None], periods)
        )
    return np.concatenate(fitted), np.concatenate(levels)


def parametric_bootstrap_gev(
    params: Mapping[str, ArrayLike],
    n: int,
    *,
    return_periods: Sequence[float] | ArrayLike,
    n_boot: int = 500,
    method: FitMethod = "lmoments",
    seed: int = 0,
    level: float = 0.95,
) -> BootstrapResult:
    """Return percentile-bootstrap intervals for GEV parameters and return levels.

    Parameters
    ----------
    params : mapping
        Fitted ``loc``, ``scale``, ``shape`` arrays of shape (...).
    n : int
        Sample size of the original fit (number of annual maxima per series).
    return_periods : sequence of float
        Return periods in years (> 1).
    n_boot : int
        Bootstrap samples per series (>= 20; 500-1000 for 95 % percentile intervals).
    method : {"lmoments", "mle"}
        Refit method, passed to :func:`hazard_models.extremes.gev_fit.fit_gev`. Use the method of
        the
        original fit; "mle" loops over series x n_boot in scipy and is slow.
    seed : int
        Seed of the random generator (results are reproducible).
    level : float
        Two-sided confidence level.

    Returns
    -------
    BootstrapResult
        Estimates are the input parameters and their return levels; lower and upper are the
        (1 -+ level)/2 quantiles of the refits; standard_error is the refits' sd. Series with
        NaN parameters, or fewer than 2 valid refits, give NaN.

    Raises
    ------
    ValueError
        If ``n``, ``n_boot``, ``level`` or a return period is invalid.

    Notes
    -----
    Parametric bootstrap (Davison & Hinkley 1997, sec. 2.2 and 5.3, percentile method): draw
    ``n_boot`` samples of size ``n`` from each fitted GEV (:func:`simulate_gev`), refit all
    (series x n_boot) samples in one vectorised :func:`~hazard_models.extremes.gev_fit.fit_gev` call
    per memory-bounded chunk (at most 4e6 simulated values at once), and take quantiles.
    """
    if n < 3 or n_boot < 20:
        raise ValueError(f"n, n_boot: expected n >= 3 and n_boot >= 20, found {n}, {n_boot}")
    _normal_quantile(level)  # validates level
    loc, scale, shape = _as_params(params)
    periods = np.atleast_1d(np.asarray(return_periods, dtype=float))
    flat = np.stack([loc, scale, shape], axis=-1).reshape(-1, 3)
    fitted, levels = _bootstrap_replicates(
        flat, n, periods, n_boot=n_boot, method=method, rng=np.random.default_rng(seed)
    )
    valid = np.isfinite(fitted).all(axis=-1)
    enough = valid.sum(axis=-1) >= 2
    fitted[~enough] = np.nan
    levels[~enough] = np.nan
    estimates = (flat, return_level(flat[:, :1], flat[:, 1:2], flat[:, 2:3], periods))
    intervals = []
    for estimate, replicates in zip(estimates, (fitted, levels), strict=True):
        out = (estimate, *_percentile_interval(replicates, level))
        intervals.append(Interval(*(a.reshape(*loc.shape, a.shape[-1]) for a in out)))
    return BootstrapResult(intervals[0], intervals[1], valid.sum(axis=-1).reshape(loc.shape))
