"""Return-level intervals of a station fit: profile likelihood, delta method or bootstrap.

"auto" picks the interval that is valid for the estimator: the profile likelihood for MLE
fits of the GEV (stationary or with a trend) and the GPD (Coles 2001, secs. 2.6.5, 3.3.3,
4.4.1 and 6.2; :mod:`hazard_models.extremes.profile`), a seeded parametric bootstrap for
L-moment fits (the L-moment estimator has no likelihood information to invert; Hosking &
Wallis 1997, sec. 4.3), and the delta method for the Gumbel and the penalised MLE. The delta
method is refused at a shape bound (the information there is not a covariance), and an end
below the GPD threshold or the user's physical floor is flagged, never silently shown.

References
----------
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer.
Davison, A. C. & Hinkley, D. V. (1997). Bootstrap Methods and their Application. Cambridge UP.
Hosking, J. R. M. & Wallis, J. R. (1997). Regional Frequency Analysis. Cambridge UP.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from resilience.fitting.fitted import StationFit
from resilience.fitting.models import IntervalMethod, ReturnLevelEstimate

__all__ = ["resolve_interval_method", "return_level_intervals"]

AT_BOUND_DELTA = "shape at its bound: the delta method is invalid there (use --ci profile)"


def resolve_interval_method(fit: StationFit, ci: IntervalMethod) -> IntervalMethod:
    """Return the interval method for ``ci`` ("auto" resolved), or raise if it does not apply.

    Raises
    ------
    ValueError
        profile without MLE or for the Gumbel; delta for L-moments; bootstrap for the Gumbel
        or a trend model.
    """
    if ci == "auto":
        if fit.method == "lmoments":
            return "bootstrap"
        return "profile" if fit.method == "mle" and fit.dist != "gumbel" else "delta"
    if ci == "profile" and (fit.method != "mle" or fit.dist == "gumbel"):
        raise ValueError("--ci profile needs --method mle and --dist gev or gpd")
    if ci == "delta" and fit.method == "lmoments":
        raise ValueError(
            "--ci delta: L-moment estimates have no likelihood information to invert; "
            "use --ci bootstrap (the default for --method lmoments)"
        )
    if ci == "bootstrap" and (fit.dist == "gumbel" or fit.covariate is not None):
        raise ValueError("--ci bootstrap is available for stationary --dist gev and gpd")
    return ci


def _threshold(fit: StationFit) -> float:
    """Return the GPD threshold of a fit (set for every GPD fit)."""
    if fit.threshold is None:
        raise ValueError("a GPD fit needs a threshold")
    return float(fit.threshold)


def _clean(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _rows(
    periods: list[float], estimate: NDArray, lower: NDArray, upper: NDArray, flags: list[list[str]]
) -> list[ReturnLevelEstimate]:
    return [
        ReturnLevelEstimate(
            return_period=t, estimate=float(e), lower=_clean(lo), upper=_clean(hi), flags=f
        )
        for t, e, lo, hi, f in zip(periods, estimate, lower, upper, flags, strict=True)
    ]


def _delta(fit: StationFit, periods: list[float], level: float) -> tuple[NDArray, ...]:
    """Return (estimate, lower, upper) by the delta method (Coles 2001, 3.3.3 and 4.4.1)."""
    from hazard_models.extremes.gev import return_level
    from hazard_models.extremes.gpd import gpd_return_level, gpd_return_level_variance
    from hazard_models.extremes.uncertainty import delta_method_ci, return_level_gradient_gev

    t = np.asarray(periods, dtype=float)
    v = fit.values
    if fit.dist == "gpd":
        estimate = gpd_return_level(
            v["scale"], v["shape"], _threshold(fit), fit.rate, t, per_year=fit.per_year
        )
        variance = gpd_return_level_variance(
            v["scale"],
            v["shape"],
            fit.rate,
            return_period=t,
            per_year=fit.per_year,
            covariance=fit.cov,
            n_observations=fit.x.size,
        )
        from scipy.special import ndtri

        half = float(ndtri(0.5 + level / 2.0)) * np.sqrt(variance)
        return estimate, estimate - half, estimate + half
    at = float(fit.covariate[-1]) if fit.covariate is not None else 0.0
    loc = v["loc0"] + v["loc1"] * at if fit.covariate is not None else v["loc"]
    gradient = return_level_gradient_gev(loc, v["scale"], v["shape"], t)
    if fit.covariate is not None:
        g = gradient
        gradient = np.stack([g[..., 0], g[..., 0] * at, g[..., 1], g[..., 2]], axis=-1)
    elif fit.dist == "gumbel":
        gradient = gradient[..., :2]
    estimate = return_level(loc, v["scale"], v["shape"], t)
    interval = delta_method_ci(estimate, gradient, fit.cov, level=level)
    return interval.estimate, interval.lower, interval.upper


def _profile(fit: StationFit, periods: list[float], level: float) -> tuple[NDArray, ...]:
    """Return (estimate, lower, upper) by profile likelihood (hazard_models.extremes.profile)."""
    from hazard_models.extremes.profile import profile_gev_return_level, profile_gpd_return_level

    if fit.dist == "gpd":
        result = profile_gpd_return_level(
            fit.x,
            _threshold(fit),
            periods,
            per_year=fit.per_year,
            shape_bound=fit.shape_bound,
            level=level,
        )
    else:
        at = float(fit.covariate[-1]) if fit.covariate is not None else None
        result = profile_gev_return_level(
            fit.x, periods, covariate=fit.covariate, at=at, shape_bound=fit.shape_bound, level=level
        )
    return result.estimate, result.lower, result.upper


def _bootstrap(
    fit: StationFit, periods: list[float], level: float, n_boot: int
) -> tuple[NDArray, ...]:
    """Return (estimate, lower, upper) by a seeded parametric bootstrap, refitting as fitted."""
    v = fit.values
    if fit.dist == "gpd":
        from hazard_models.extremes.gpd_bootstrap import parametric_bootstrap_gpd

        interval = parametric_bootstrap_gpd(
            v["scale"],
            v["shape"],
            fit.rate,
            n_observations=fit.x.size,
            threshold=_threshold(fit),
            return_periods=periods,
            per_year=fit.per_year,
            n_boot=n_boot,
            level=level,
            method="lmoments" if fit.method == "lmoments" else "mle",
        )
    else:
        from hazard_models.extremes.uncertainty import parametric_bootstrap_gev

        params = {k: np.array([v[k]]) for k in ("loc", "scale", "shape")}
        result = parametric_bootstrap_gev(
            params,
            fit.x.size,
            return_periods=periods,
            n_boot=n_boot,
            method=fit.method,
            level=level,
        )
        interval = result.return_levels
    return interval.estimate[0], interval.lower[0], interval.upper[0]


def _flags(
    fit: StationFit, ci: IntervalMethod, lower: NDArray, upper: NDArray, floor: float | None
) -> list[list[str]]:
    """Return, per return period, why an end is missing or lies below a limit."""
    out: list[list[str]] = []
    for lo, hi in zip(lower, upper, strict=True):
        flags = []
        if ci == "profile" and not math.isfinite(lo):
            flags.append(
                "lower end not reached: the profile stays inside the interval"
                + (" down to the threshold" if fit.dist == "gpd" else "")
            )
        if ci == "profile" and not math.isfinite(hi):
            flags.append(
                "upper end not reached: the profile likelihood is too flat (open-ended interval)"
            )
        if fit.dist == "gpd" and math.isfinite(lo) and lo < _threshold(fit):
            flags.append(
                f"lower end below the threshold {fit.threshold:g}: impossible for "
                f"a peaks-over-threshold level (use --ci profile)"
            )
        if floor is not None and math.isfinite(lo) and lo < floor:
            flags.append(f"lower end below the physical floor {floor:g}")
        out.append(flags)
    return out


def return_level_intervals(
    fit: StationFit,
    periods: list[float],
    *,
    ci: IntervalMethod = "auto",
    level: float = 0.95,
    n_boot: int = 1000,
    floor: float | None = None,
) -> tuple[list[ReturnLevelEstimate], str]:
    """Return the return levels with intervals and the interval's label.

    Parameters
    ----------
    fit : StationFit
        A fitted station model (:func:`resilience.fitting.station_fit.fit_station`).
    periods : list of float
        Return periods in years (> 1).
    ci : {"auto", "profile", "delta", "bootstrap"}
        Interval method (:func:`resolve_interval_method`).
    level : float
        Two-sided confidence level.
    n_boot : int
        Bootstrap replicates (seed 0).
    floor : float, optional
        Physical floor in data units (e.g. 0 for rain); lower ends below it are flagged.

    Returns
    -------
    (list of ReturnLevelEstimate, str)
        Rows in data units with ``flags``, and a label such as "95% profile likelihood".
    """
    method = resolve_interval_method(fit, ci)
    at_bound = fit.bound is not None and fit.bound.shape_at_bound
    if method == "profile":
        estimate, lower, upper = _profile(fit, periods, level)
        label = f"{level:.0%} profile likelihood"
        if at_bound:
            label += f" (shape held at its bound {fit.shape_bound:g}: approximate)"
    elif method == "bootstrap":
        estimate, lower, upper = _bootstrap(fit, periods, level, n_boot)
        label = f"{level:.0%} parametric bootstrap ({n_boot} replicates, percentile, seed 0)"
    else:
        estimate, lower, upper = _delta(fit, periods, level)
        label = f"{level:.0%} delta method"
        if fit.method == "pmle":
            label += " (posterior-mode covariance of the penalised fit)"
    flags = _flags(fit, method, np.asarray(lower), np.asarray(upper), floor)
    if method in ("profile", "bootstrap") and at_bound and fit.bound is not None:
        free_shape = (fit.bound.unrestricted or {}).get("shape", math.nan)
        deviance = math.nan if fit.bound.deviance is None else fit.bound.deviance
        note = (
            f"shape held at its bound {fit.shape_bound:g} (unrestricted xi {free_shape:.3g}, "
            f"deviance {deviance:.3g}): this interval is conditional on the bound; "
            "--shape-bound none drops it"
        )
        flags = [[note, *f] for f in flags]
    if method == "delta" and at_bound:
        lower = upper = np.full(len(periods), np.nan)
        flags = [[AT_BOUND_DELTA, *f] for f in flags]
        label += ": not available at the shape bound"
    return _rows(periods, np.asarray(estimate), np.asarray(lower), np.asarray(upper), flags), label
