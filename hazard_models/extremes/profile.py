"""Profile-likelihood intervals for return levels of one series: GEV, non-stationary GEV, GPD.

The delta method treats the return-level estimate as normal. For the long return periods of
design work the likelihood is strongly skewed (heavy upper arm), and the profile likelihood
gives the better interval (Coles 2001, sec. 2.6.5, 3.3.3 and 4.4.1). The model is
reparameterised so that the return level z_T is itself a parameter, the likelihood is
maximised over the others for each fixed z_T, and the interval is
{z_T : 2 [nllh_p(z_T) - nllh_hat] <= chi2_1(level)} (Coles 2001, sec. 2.6.5-2.6.6):

- stationary GEV: mu = z_T - q(sigma, xi, T), q the return level of GEV(0, sigma, xi)
  (Coles 2001, eq. 3.4 and sec. 3.3.3, as ``gev.prof`` of the R package ismev);
- non-stationary GEV (location loc0 + loc1 x): the effective return level at a covariate
  value x* (Coles 2001, sec. 6.2), mu(x*) = z_T - q, profiled over (loc1, sigma, xi);
- GPD over a threshold u with the exceedance rate zeta_u in the likelihood (binomial term
  k log zeta + (n - k) log(1 - zeta), Coles 2001, sec. 4.4.1): sigma = (x_m - u) xi /
  ((m zeta)^xi - 1), profiled over (zeta, xi); ismev's ``gpd.prof`` holds zeta at its
  estimate, which gives nearly the same interval because zeta is almost orthogonal.

The shape is held inside the same bound as the fit (:mod:`.shape_bound`); when the fit is on
that bound the interval is the constrained profile and its chi-square calibration is only
approximate (Self & Liang 1987). Ends the profile does not reach (a flat heavy tail, or the
threshold for a GPD) are NaN: the caller must report them as such.

References
----------
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer.
Heffernan, J. E. & Stephenson, A. G. (2018). ismev: An Introduction to Statistical Modeling
of Extreme Values. R package 1.42 (``gev.prof``, ``gpd.prof``).
Self, S. G. & Liang, K.-Y. (1987). J. Am. Stat. Assoc. 82, 605-610.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hazard_models.extremes.gev import return_level
from hazard_models.extremes.gpd_mle import gpd_nllh
from hazard_models.extremes.lmoments import sample_lmoments
from hazard_models.extremes.shape_bound import (
    DEFAULT_SHAPE_BOUND,
    fit_gev_single,
    fit_gpd_single,
    minimise,
    shape_limits,
)

__all__ = ["ProfileInterval", "profile_gev_return_level", "profile_gpd_return_level"]

_UPPER_FACTORS = (1.05, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 100.0)
_LOWER_FACTORS = (0.95, 0.9, 0.75, 0.5, 0.25, 0.1, 0.01)
_GRID_SHAPES = 15


class ProfileInterval(NamedTuple):
    """Return levels (data units) with profile-likelihood bounds, one entry per period.

    ``lower`` or ``upper`` is NaN where the profile deviance does not reach the chi-square
    quantile inside the searched range (the interval is open on that side).
    """

    estimate: NDArray
    lower: NDArray
    upper: NDArray


def _chi2_quantile(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: expected a probability in (0, 1), found {level}")
    from scipy.stats import chi2  # imported here: keeps `import hazard_models` fast

    return float(chi2.ppf(level, 1))


def _crossing(
    deviance: Callable[[float], float], estimate: float, targets: Sequence[float], critical: float
) -> float:
    """Return where ``deviance`` crosses ``critical`` between ``estimate`` and the targets.

    Targets are tried in order (moving away from the estimate); the first bracket is refined
    by Brent's method (scipy ``brentq``, tolerance 1e-8 in standardised units). NaN if no
    target reaches the critical value.
    """
    from scipy.optimize import brentq

    inside = estimate
    for target in targets:
        if deviance(target) > critical:
            return float(brentq(lambda z: deviance(z) - critical, inside, target, xtol=1e-8))
        inside = target
    return float("nan")


def _quantile_offset(sigma: float, xi: float, log_y: float) -> float:
    """Return z_T - mu = sigma (y^-xi - 1)/xi, or -sigma log y at xi = 0 (Coles 2001, eq. 3.4)."""
    if abs(xi * log_y) < 1e-12:
        return -sigma * log_y
    return sigma * float(np.expm1(-xi * log_y)) / xi


def _gev_nllh_1d(z: NDArray, sigma: float, xi: float) -> float:
    """Return GEV -log L of the values ``z`` (location already removed), as :func:`gev_nllh`.

    A lean copy of :func:`hazard_models.extremes.gev.gev_nllh` for one series (the profile
    calls it thousands of times); same formula, Coles (2001, eq. 3.7-3.9).
    """
    w = z / sigma
    if abs(xi) < 1e-6:
        return float(z.size * np.log(sigma) + np.sum(w) + np.sum(np.exp(-w)))
    t = 1.0 + xi * w
    if not np.all(t > 0) or not sigma > 0:
        return np.inf
    log_t = np.log(t)
    return float(
        z.size * np.log(sigma) + (1.0 + 1.0 / xi) * log_t.sum() + np.exp(-log_t / xi).sum()
    )


class _Profile:
    """Profile -log L of one series as a function of the (standardised) return level."""

    def __init__(
        self,
        nllh_at: Callable[[float, NDArray], float],
        theta_hat: NDArray,
        bounds: list[tuple],
        nllh_hat: float,
    ) -> None:
        self.nllh_at, self.bounds, self.nllh_hat = nllh_at, bounds, nllh_hat
        self.theta_hat = theta_hat
        self.solutions: list[tuple[float, NDArray]] = []

    def _grid_start(self, z: float, start: NDArray) -> NDArray:
        """Return the best point of a coarse scan of the shape (last parameter).

        For each of 15 shapes across the allowed range (capped at 3), the parameter before
        it (log-scale, or the logit of the rate) is minimised by a bounded scalar search:
        a warm start alone can sit outside the support at a new return level and leave the
        simplex stuck, which would make the interval too narrow.
        """
        from scipy.optimize import minimize_scalar

        low, high = self.bounds[-1]
        best, best_value = start, np.inf
        for xi in np.linspace(max(low, -0.99), 3.0 if high is None else high, _GRID_SHAPES):
            theta = start.copy()
            theta[-1] = xi

            def scalar(value: float, theta: NDArray = theta) -> float:
                trial = theta.copy()
                trial[-2] = value
                result = self.nllh_at(z, trial)
                return result if np.isfinite(result) else 1e300

            found = minimize_scalar(
                scalar,
                bounds=(start[-2] - 8.0, start[-2] + 8.0),
                method="bounded",
                options={"xatol": 1e-4},
            )
            if found.fun < best_value:
                best_value = found.fun
                best = theta.copy()
                best[-2] = found.x
        return best

    def deviance(self, z: float) -> float:
        """Return 2 [min over the other parameters of -log L(z, .) - nllh_hat]."""
        start = self.theta_hat
        if self.solutions:  # warm start from the nearest return level already profiled
            start = min(self.solutions, key=lambda item: abs(z - item[0]))[1]
        starts = [start]
        if not np.isfinite(self.nllh_at(z, start)):  # outside the support: scan for a start
            starts.append(self._grid_start(z, start))
        theta, value = minimise(lambda t: self.nllh_at(z, t), starts, self.bounds, restarts=1)
        self.solutions.append((z, theta))
        return 2.0 * (value - self.nllh_hat)


def profile_gev_return_level(
    values: ArrayLike,
    return_periods: Sequence[float] | ArrayLike,
    *,
    covariate: ArrayLike | None = None,
    at: float | None = None,
    shape_bound: float | None = DEFAULT_SHAPE_BOUND,
    level: float = 0.95,
) -> ProfileInterval:
    """Return GEV return levels with profile-likelihood confidence intervals.

    Parameters
    ----------
    values : array_like, shape (n,)
        Block maxima of one series (data units); NaN values are left out.
    return_periods : sequence of float
        Return periods T in years (> 1).
    covariate : array_like, shape (n,), optional
        With a covariate the location is loc0 + loc1 x and the levels are the effective
        return levels at ``at`` (Coles 2001, sec. 6.2).
    at : float, optional
        Covariate value of the effective return levels (required with ``covariate``).
    shape_bound : float or None
        Shape limits of the fit and of the profile (:func:`.shape_bound.shape_limits`).
    level : float
        Two-sided confidence level.

    Returns
    -------
    ProfileInterval
        Arrays of shape (n_return_period,), data units.

    Raises
    ------
    ValueError
        A return period <= 1, a bad ``level``, or ``covariate`` without ``at``.

    Notes
    -----
    z_T = mu - sigma/xi [1 - y^-xi], y = -log(1 - 1/T) (Coles 2001, eq. 3.4); for each
    trial z_T, mu = z_T - q(sigma, xi) and -log L is minimised over (sigma, xi) (and loc1).
    """
    periods = np.atleast_1d(np.asarray(return_periods, dtype=float))
    if np.any(periods <= 1):
        raise ValueError("return_period: expected years greater than 1")
    if covariate is not None and at is None:
        raise ValueError("profile_gev_return_level: a covariate needs the value 'at'")
    critical = _chi2_quantile(level)
    fit = fit_gev_single(values, covariate=covariate, shape_bound=shape_bound)
    x = np.asarray(values, dtype=float).ravel()
    c = np.zeros_like(x) if covariate is None else np.asarray(covariate, dtype=float).ravel()
    keep = np.isfinite(x) & np.isfinite(c)
    x, c = x[keep], c[keep] - (at if covariate is not None else 0.0)
    l1, l2, _, _ = (float(v) for v in sample_lmoments(x))
    xs, trend = (x - l1) / l2, covariate is not None
    low, high = shape_limits(shape_bound)
    bounds = [(None, None)] * (1 + trend) + [(low + 1e-9, None if np.isinf(high) else high)]
    loc_here = fit["loc0"] + fit["loc1"] * at if trend else fit["loc"]  # type: ignore[operator]
    theta_hat = np.array(
        [*([fit["loc1"] / l2] if trend else []), np.log(fit["scale"] / l2), fit["shape"]]
    )
    nllh_hat = fit["nllh"] - x.size * np.log(l2)
    out = np.full((3, periods.size), np.nan)
    for i, period in enumerate(periods):
        log_y = float(np.log(-np.log1p(-1.0 / period)))

        def nllh_at(z: float, theta: NDArray, log_y: float = log_y) -> float:
            sigma, xi = np.exp(theta[-2]), theta[-1]
            mu = z - _quantile_offset(sigma, xi, log_y) - (theta[0] * c if trend else 0.0)
            return _gev_nllh_1d(xs - mu, sigma, xi)

        estimate = (float(return_level(loc_here, fit["scale"], fit["shape"], period)) - l1) / l2
        profile = _Profile(nllh_at, theta_hat, bounds, nllh_hat)
        spread = max(abs(estimate), 1.0)
        upper = _crossing(
            profile.deviance,
            estimate,
            [estimate + spread * (f - 1.0) * 4 for f in _UPPER_FACTORS],
            critical,
        )
        lower = _crossing(
            profile.deviance,
            estimate,
            [estimate - spread * (1.0 - f) * 4 for f in _LOWER_FACTORS],
            critical,
        )
        out[:, i] = (l1 + l2 * estimate, l1 + l2 * lower, l1 + l2 * upper)
    return ProfileInterval(*out)


def profile_gpd_return_level(
    values: ArrayLike,
    threshold: float,
    return_periods: Sequence[float] | ArrayLike,
    *,
    per_year: float,
    shape_bound: float | None = DEFAULT_SHAPE_BOUND,
    level: float = 0.95,
) -> ProfileInterval:
    """Return GPD return levels with profile-likelihood intervals, the rate included.

    Parameters
    ----------
    values : array_like, shape (n,)
        All observations of one series (data units), e.g. daily rain; NaN left out.
    threshold : float
        Threshold u (data units); exceedances are values strictly above it.
    return_periods : sequence of float
        Return periods in years (> 1).
    per_year : float
        Observations per year n_y (365 for daily data).
    shape_bound : float or None
        Shape limits of the fit and of the profile (:func:`.shape_bound.shape_limits`).
    level : float
        Two-sided confidence level.

    Returns
    -------
    ProfileInterval
        Arrays of shape (n_return_period,), data units. ``lower`` is NaN where the profile
        stays inside the interval down to the threshold (the level cannot lie below u).

    Raises
    ------
    ValueError
        A return period <= 1, a bad ``level`` or ``per_year``, or fewer than 3 exceedances.

    Notes
    -----
    x_m = u + sigma/xi [(m zeta)^xi - 1], m = T n_y (Coles 2001, eq. 4.13); for each trial
    x_m, sigma follows from (zeta, xi), and -log L = -[k log zeta + (n - k) log(1 - zeta)]
    + GPD -log L of the excesses (Coles 2001, eq. 4.10) is minimised over (zeta, xi).
    """
    periods = np.atleast_1d(np.asarray(return_periods, dtype=float))
    if np.any(periods <= 1) or not per_year > 0:
        raise ValueError("return_period, per_year: expected years > 1 and a positive rate")
    critical = _chi2_quantile(level)
    x = np.asarray(values, dtype=float).ravel()
    x = x[np.isfinite(x)]
    y = x[x > threshold] - threshold
    n, k = x.size, y.size
    fit = fit_gpd_single(y, shape_bound=shape_bound)
    zeta_hat, scale = k / n, float(np.mean(y))
    ys = y / scale
    low, high = shape_limits(shape_bound)
    bounds = [(None, None), (low + 1e-9, None if np.isinf(high) else high)]
    logit_hat = np.log(zeta_hat / (1.0 - zeta_hat))
    theta_hat = np.array([logit_hat, fit["shape"]])
    binomial_hat = -(k * np.log(zeta_hat) + (n - k) * np.log1p(-zeta_hat))
    nllh_hat = fit["nllh"] - k * np.log(scale) + binomial_hat
    out = np.full((3, periods.size), np.nan)
    for i, period in enumerate(periods):
        m = period * per_year

        def nllh_at(z: float, theta: NDArray, m: float = m) -> float:
            zeta = 1.0 / (1.0 + np.exp(-theta[0]))
            xi, log_mz = theta[1], np.log(m * zeta)
            if not (log_mz > 0 and z > 0):
                return np.inf
            factor = xi / np.expm1(xi * log_mz) if abs(xi * log_mz) > 1e-12 else 1.0 / log_mz
            binomial = -(k * np.log(zeta) + (n - k) * np.log1p(-zeta))
            return float(gpd_nllh(ys, z * factor, xi)) + binomial

        sigma_s, xi_hat = fit["scale"] / scale, fit["shape"]
        log_mz = np.log(m * zeta_hat)
        growth = np.expm1(xi_hat * log_mz) / xi_hat if abs(xi_hat) > 1e-12 else log_mz
        estimate = sigma_s * growth
        profile = _Profile(nllh_at, theta_hat, bounds, nllh_hat)
        upper = _crossing(
            profile.deviance, estimate, [estimate * f for f in _UPPER_FACTORS], critical
        )
        lower = _crossing(
            profile.deviance, estimate, [estimate * f for f in _LOWER_FACTORS], critical
        )
        out[:, i] = (
            threshold + scale * estimate,
            threshold + scale * lower,
            threshold + scale * upper,
        )
    return ProfileInterval(*out)
