"""Fits of ONE series under any shape bound: the unrestricted estimate and its deviance.

The vectorised engines (:mod:`hazard_models.extremes.gev_mle`, :mod:`.gpd_mle`,
:mod:`.lmoments`) hold the shape xi inside :data:`hazard_models.extremes.lmoments.SHAPE_BOUNDS`
= [-0.5, 0.5]. Where that bound binds, the estimate is not the maximum of the likelihood, the
observed information there is not a covariance, and delta-method intervals are invalid. This
module says so and measures it, one series at a time (a station, or the few cells whose fit
sits on the bound):

- :func:`flag_shape_at_bound` marks estimates on the bound;
- :func:`fit_gev_single` and :func:`fit_gpd_single` maximise the likelihood with the shape in
  any interval (``shape_bound`` = b gives [-b, b]; ``None`` gives the unrestricted
  (-1, +inf)), optionally with the GEV location linear in a covariate;
- :func:`deviance_where_bound` refits the flagged series of a vectorised fit without the
  bound; the likelihood-ratio deviance D = 2 (nllh_bounded - nllh_free) between the bounded
  and the unrestricted fits says how much the bound costs (D > 3.84 rejects the bounded value at
  5 %, Coles 2001, sec. 2.6.6; at a boundary the chi-square calibration is conservative,
  Self & Liang 1987).

Shape convention: ``shape`` = xi of Coles (2001, eq. 3.2 and 4.2), xi > 0 heavy tail.

References
----------
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer.
Smith, R. L. (1985). Maximum likelihood estimation in a class of nonregular cases.
Biometrika 72, 67-90 (no maximum-likelihood estimate exists for xi < -1).
Self, S. G. & Liang, K.-Y. (1987). Asymptotic properties of maximum likelihood estimators and
likelihood ratio tests under nonstandard conditions. J. Am. Stat. Assoc. 82, 605-610.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hazard_models.extremes.gev import gev_nllh
from hazard_models.extremes.gpd_mle import gpd_nllh
from hazard_models.extremes.lmoments import AT_BOUND_TOL, SHAPE_BOUNDS, sample_lmoments

__all__ = [
    "DEFAULT_SHAPE_BOUND",
    "UNRESTRICTED_LOWER",
    "deviance_where_bound",
    "fit_gev_single",
    "fit_gpd_single",
    "flag_shape_at_bound",
    "minimise",
    "shape_limits",
]

#: The engines' default bound b: xi in [-b, b] (:data:`.lmoments.SHAPE_BOUNDS`).
DEFAULT_SHAPE_BOUND: float = SHAPE_BOUNDS[1]
#: Lower end of the "unrestricted" shape: for xi <= -1 the likelihood is unbounded and no
#: maximum-likelihood estimate exists (Smith 1985; Coles 2001, sec. 3.3.2).
UNRESTRICTED_LOWER: float = -1.0
_OPTIONS = {"xatol": 1e-9, "fatol": 1e-11, "maxiter": 20_000, "maxfev": 40_000}


def shape_limits(shape_bound: float | None) -> tuple[float, float]:
    """Return the (lower, upper) shape limits for a bound b, or the unrestricted ones.

    Parameters
    ----------
    shape_bound : float or None
        b > 0 gives [max(-b, -1), b]; ``None`` gives (-1, +inf).

    Raises
    ------
    ValueError
        If ``shape_bound`` is not positive.
    """
    if shape_bound is None:
        return UNRESTRICTED_LOWER, np.inf
    if not shape_bound > 0:
        raise ValueError(f"shape_bound: expected a positive number or None, found {shape_bound}")
    return max(-float(shape_bound), UNRESTRICTED_LOWER), float(shape_bound)


def flag_shape_at_bound(
    shape: ArrayLike, shape_bound: float | None = DEFAULT_SHAPE_BOUND
) -> NDArray:
    """Return True where a fitted shape sits on its bound (within 1e-6).

    Parameters
    ----------
    shape : array_like
        Fitted xi of any shape (NaN gives False).
    shape_bound : float or None
        The bound b the fit used; ``None`` (unrestricted) flags xi at -1.
    """
    low, high = shape_limits(shape_bound)
    xi = np.asarray(shape, dtype=float)
    with np.errstate(invalid="ignore"):
        return (xi <= low + AT_BOUND_TOL) | (xi >= high - AT_BOUND_TOL)


def minimise(
    objective: Callable[[NDArray], float],
    starts: list[NDArray],
    bounds: list[tuple],
    *,
    restarts: int = 2,
) -> tuple[NDArray, float]:
    """Return the best (argmin, min) of bounded Nelder-Mead runs from several starts.

    Each start is refined ``restarts`` times (a restart guards against a collapsed simplex);
    infinite objective values are replaced by 1e300 so that the simplex can step back inside.
    """
    from scipy.optimize import minimize  # imported here: keeps `import hazard_models` fast

    def safe(vector: NDArray) -> float:
        value = objective(vector)
        return value if np.isfinite(value) else 1e300

    best, best_value = starts[0], np.inf
    for start in starts:
        low = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
        high = np.array([np.inf if b[1] is None else b[1] for b in bounds])
        theta = np.clip(np.asarray(start, dtype=float), low, high)
        for _ in range(restarts):
            theta = minimize(safe, theta, method="Nelder-Mead", bounds=bounds, options=_OPTIONS).x
        value = safe(theta)
        if value < best_value:
            best, best_value = theta, value
    return best, best_value


def _xi_bounds(shape_bound: float | None) -> tuple[float, float | None]:
    low, high = shape_limits(shape_bound)
    return low + 1e-9, (None if np.isinf(high) else high)


def fit_gev_single(
    values: ArrayLike,
    *,
    covariate: ArrayLike | None = None,
    shape_bound: float | None = DEFAULT_SHAPE_BOUND,
    start: ArrayLike | None = None,
) -> dict[str, float]:
    """Fit a GEV to one series by maximum likelihood with the shape in any interval.

    Parameters
    ----------
    values : array_like, shape (n,)
        Block maxima (data units); NaN values are left out.
    covariate : array_like, shape (n,), optional
        Location loc0 + loc1 x covariate (Coles 2001, sec. 6.2) if given.
    shape_bound : float or None
        Shape limits of :func:`shape_limits` (``None``: unrestricted, xi > -1).
    start : array_like, optional
        Starting (loc, scale, shape), or (loc0, loc1, scale, shape) with a covariate, in
        data units, e.g. the vectorised engine's estimate; the Gumbel L-moment fit is also
        tried.

    Returns
    -------
    dict of float
        ``loc`` (or ``loc0`` and ``loc1``), ``scale`` (data units), ``shape`` (xi) and
        ``nllh`` (-log L at the estimate).
    """
    x, c = _clean(values, covariate)
    l1, l2 = _lmoment_scaling(x)
    xs, cm = (x - l1) / l2, (float(np.mean(c)) if covariate is not None else 0.0)
    has_trend = covariate is not None

    def objective(theta: NDArray) -> float:
        loc = theta[0] + (theta[1] * (c - cm) if has_trend else 0.0)
        return float(gev_nllh(xs - loc, 0.0, np.exp(theta[-2]), theta[-1]))

    gumbel = np.array(
        [-0.5772 / np.log(2.0), *([0.0] if has_trend else []), -np.log(np.log(2.0)), 0.0]
    )
    starts = [gumbel]
    if start is not None:
        given = np.asarray(start, dtype=float)
        loc_std = (given[0] + (given[1] * cm if has_trend else 0.0) - l1) / l2
        trend = [given[1] * 1.0 / l2] if has_trend else []
        starts.append(np.array([loc_std, *trend, np.log(given[-2] / l2), given[-1]]))
    bounds = [(None, None)] * (2 + has_trend) + [_xi_bounds(shape_bound)]
    theta, value = minimise(objective, starts, bounds)
    scale = float(np.exp(theta[-2]) * l2)
    out = {"scale": scale, "shape": float(theta[-1]), "nllh": value + x.size * np.log(l2)}
    if has_trend:
        loc1 = float(theta[1] * l2)
        return {"loc0": float(l1 + l2 * theta[0] - loc1 * cm), "loc1": loc1, **out}
    return {"loc": float(l1 + l2 * theta[0]), **out}


def fit_gpd_single(
    excess: ArrayLike,
    *,
    shape_bound: float | None = DEFAULT_SHAPE_BOUND,
    start: ArrayLike | None = None,
) -> dict[str, float]:
    """Fit a GPD to the excesses of one series by maximum likelihood, shape in any interval.

    Parameters
    ----------
    excess : array_like, shape (n,)
        Excesses y = x - u > 0 over the threshold (data units); NaN values are left out.
    shape_bound : float or None
        Shape limits of :func:`shape_limits` (``None``: unrestricted, xi > -1).
    start : array_like, optional
        Starting (scale, shape), e.g. the vectorised engine's estimate; the exponential fit
        (xi = 0, sigma = mean excess) is also tried.

    Returns
    -------
    dict of float
        ``scale`` (data units), ``shape`` (xi) and ``nllh`` (-log L of the excesses,
        Coles 2001, eq. 4.10).
    """
    y, _ = _clean(excess, None)
    mean = float(np.mean(y))
    ys = y / mean

    def objective(theta: NDArray) -> float:
        return float(gpd_nllh(ys, np.exp(theta[0]), theta[1]))

    starts = [np.array([0.0, 0.0])]
    if start is not None:
        given = np.asarray(start, dtype=float)
        starts.append(np.array([np.log(given[0] / mean), given[1]]))
    theta, value = minimise(objective, starts, [(None, None), _xi_bounds(shape_bound)])
    return {
        "scale": float(np.exp(theta[0]) * mean),
        "shape": float(theta[1]),
        "nllh": value + y.size * np.log(mean),
    }


def _clean(values: ArrayLike, covariate: ArrayLike | None) -> tuple[NDArray, NDArray]:
    """Return the finite values (and matching covariate), or raise if fewer than 3 remain."""
    x = np.asarray(values, dtype=float).ravel()
    c = np.zeros_like(x) if covariate is None else np.asarray(covariate, dtype=float).ravel()
    if c.shape != x.shape:
        raise ValueError(f"covariate: expected {x.size} values like the data, found {c.size}")
    keep = np.isfinite(x) & np.isfinite(c)
    if keep.sum() < 3 or np.ptp(x[keep]) == 0:
        raise ValueError(f"values: expected at least 3 finite, distinct values, found {keep.sum()}")
    return x[keep], c[keep]


def _lmoment_scaling(x: NDArray) -> tuple[float, float]:
    """Return (l1, l2), the sample mean and L-scale used to standardise the series."""
    l1, l2, _, _ = sample_lmoments(x)
    return float(l1), float(l2)


def deviance_where_bound(
    data: ArrayLike, fit: dict[str, NDArray], *, threshold: ArrayLike | None = None
) -> dict[str, NDArray]:
    """Return the unrestricted shape and the deviance of the bound for the flagged series.

    Parameters
    ----------
    data : array_like, shape (..., n_sample)
        The data of a numpy :func:`~hazard_models.extremes.gev_fit.fit_gev` (block maxima)
        or, with ``threshold``, of :func:`~hazard_models.extremes.gpd.fit_gpd`.
    fit : dict of numpy.ndarray
        That fit's result (``shape_at_bound``, ``nllh``; ``loc``, ``scale``, ``shape``).
    threshold : array_like, optional
        The GPD threshold (scalar or one per series); ``None`` for a GEV fit.

    Returns
    -------
    dict of numpy.ndarray, shape (...)
        ``shape_unrestricted`` (maximum-likelihood xi > -1 without the bound) and
        ``deviance`` = 2 (nllh_bounded - nllh_unrestricted), NaN where the bound does not
        bind. Only the flagged series are refitted (one scipy fit each).

    Notes
    -----
    For an L-moment fit ``nllh`` is the likelihood at the L-moment estimate, so the deviance
    also contains the L-moment estimator's loss of likelihood.
    """
    values = np.asarray(data, dtype=float)
    flagged = np.asarray(fit["shape_at_bound"], dtype=bool)
    free_shape = np.full(flagged.shape, np.nan)
    deviance = np.full(flagged.shape, np.nan)
    u = None if threshold is None else np.broadcast_to(np.asarray(threshold, float), flagged.shape)
    for index in zip(*np.nonzero(flagged), strict=True):
        x = values[index]
        if u is None:
            start = [float(fit[k][index]) for k in ("loc", "scale", "shape")]
            free = fit_gev_single(x, shape_bound=None, start=start)
        else:
            excess = x[x > u[index]] - u[index]
            start = [float(fit[k][index]) for k in ("scale", "shape")]
            free = fit_gpd_single(excess, shape_bound=None, start=start)
        free_shape[index] = free["shape"]
        deviance[index] = 2.0 * (float(fit["nllh"][index]) - free["nllh"])
    return {"shape_unrestricted": free_shape, "deviance": deviance}
