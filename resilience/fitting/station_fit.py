"""Fit extreme-value distributions to one station record: ``resilience fit``.

Fits a GEV, Gumbel or GPD (optionally with a covariate in the GEV location) to a
:class:`~resilience.fitting.record.StationRecord`, checks whether the shape bound binds
(:mod:`hazard_models.extremes.shape_bound`: the unrestricted estimate and the deviance), and
reports parameters with standard errors, return levels with confidence intervals
(:mod:`resilience.fitting.intervals`) and goodness of fit, as a
:class:`~resilience.fitting.models.FitReport` (the JSON of the CLI).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from resilience.fitting.fitted import StationFit
from resilience.fitting.intervals import return_level_intervals
from resilience.fitting.models import (
    BoundCheck,
    Distribution,
    FitReport,
    IntervalMethod,
    Method,
    ParameterEstimate,
)
from resilience.fitting.record import StationRecord

__all__ = ["DEFAULT_SHAPE_BOUND", "fit_station"]

#: The engines' bound b of xi in [-b, b] (hazard_models.extremes.lmoments.SHAPE_BOUNDS).
DEFAULT_SHAPE_BOUND = 0.5


def _inverse(information: NDArray) -> NDArray:
    """Return the inverse of a positive-definite information matrix, else all NaN."""
    if not np.all(np.isfinite(information)) or np.linalg.eigvalsh(information)[0] <= 0:
        return np.full(information.shape, np.nan)
    return np.linalg.inv(information)


def _fit_gev(x: NDArray, method: Method, shape_bound: float | None) -> tuple[dict, NDArray]:
    """Stationary GEV: the vectorised engine, refitted by scipy under a non-default bound."""
    from hazard_models.extremes.gev_fit import fit_gev
    from hazard_models.extremes.gev_mle import gev_information
    from hazard_models.extremes.shape_bound import fit_gev_single

    fit = fit_gev(x[None], method=method, return_cov=True)
    if fit["status"][0] != "ok":
        raise ValueError(f"the fit failed: {fit['status'][0]}")
    values = {k: float(fit[k][0]) for k in ("loc", "scale", "shape", "nllh")}
    if shape_bound == DEFAULT_SHAPE_BOUND:
        return values, fit["cov"][0]
    values = fit_gev_single(x, shape_bound=shape_bound, start=[values[k] for k in _GEV])
    return values, _inverse(gev_information(x, *(values[k] for k in _GEV)))


_GEV = ("loc", "scale", "shape")
_TREND = ("loc0", "loc1", "scale", "shape")


def _fit_trend(x: NDArray, c: NDArray, shape_bound: float | None) -> tuple[dict, NDArray]:
    """GEV with location linear in the covariate (Coles 2001, sec. 6.2)."""
    from hazard_models.extremes.gev import gev_nllh
    from hazard_models.extremes.nonstationary import fit_gev_nonstationary
    from hazard_models.extremes.shape_bound import fit_gev_single
    from hazard_models.extremes.uncertainty import numerical_covariance

    fit = fit_gev_nonstationary(x[None], c[None])
    if fit["status"][0] != "ok":
        raise ValueError(f"the trend fit failed: {fit['status'][0]}")
    values = {k: float(fit[k][0]) for k in (*_TREND, "nllh")}
    if shape_bound == DEFAULT_SHAPE_BOUND:
        return values, np.asarray(fit["covariance"][0])
    start = [values[k] for k in _TREND]
    values = fit_gev_single(x, covariate=c, shape_bound=shape_bound, start=start)

    def nllh(theta: NDArray) -> NDArray:
        return gev_nllh(x - theta[0] - theta[1] * c, 0.0, theta[2], theta[3])

    return values, numerical_covariance(nllh, np.array([values[k] for k in _TREND]))


def _fit_peaks(
    x: NDArray, method: Method, threshold: float, shape_bound: float | None
) -> tuple[dict, NDArray]:
    """GPD over the threshold (Coles 2001, sec. 4.3), engine or scipy under another bound."""
    from hazard_models.extremes.gpd import fit_gpd
    from hazard_models.extremes.gpd_mle import gpd_covariance
    from hazard_models.extremes.shape_bound import fit_gpd_single

    if method not in ("mle", "lmoments"):
        raise ValueError(f"--method {method}: the GPD fit supports mle and lmoments")
    fit = fit_gpd(x[None], threshold=threshold, method=method)
    if fit["status"][0] != "ok":
        raise ValueError(f"the GPD fit failed at threshold {threshold:g}: {fit['status'][0]}")
    values = {k: float(fit[k][0]) for k in ("scale", "shape", "nllh", "rate", "n_exceed")}
    excess = x[x > threshold] - threshold
    if shape_bound != DEFAULT_SHAPE_BOUND:
        start = [values["scale"], values["shape"]]
        values.update(fit_gpd_single(excess, shape_bound=shape_bound, start=start))
    return values, gpd_covariance(excess, values["scale"], values["shape"])


def _unrestricted(fit: StationFit) -> dict[str, float]:
    """Return the estimate without the shape bound (MLE with xi > -1, or unclipped L-moments)."""
    from hazard_models.extremes.gev import gev_nllh
    from hazard_models.extremes.gpd_mle import gpd_nllh
    from hazard_models.extremes.lmoments import gev_from_lmoments, sample_lmoments
    from hazard_models.extremes.shape_bound import fit_gev_single, fit_gpd_single

    x = fit.x
    if fit.dist == "gpd":
        excess = x[x > fit.threshold] - fit.threshold  # type: ignore[operator]
        if fit.method == "lmoments":  # Hosking & Wallis (1997, app. A.5), not clipped
            l1, l2, _, _ = sample_lmoments(excess)
            shape = float(2.0 - l1 / l2)
            scale = float((1.0 - shape) * l1)
            return {"scale": scale, "shape": shape, "nllh": float(gpd_nllh(excess, scale, shape))}
        return fit_gpd_single(
            excess, shape_bound=None, start=[fit.values[k] for k in ("scale", "shape")]
        )
    if fit.method == "lmoments":
        loc, scale, shape = (
            float(v) for v in gev_from_lmoments(*sample_lmoments(x)[:3], shape_bounds=(-1.0, 1.0))
        )
        return {
            "loc": loc,
            "scale": scale,
            "shape": shape,
            "nllh": float(gev_nllh(x, loc, scale, shape)),
        }
    start = [fit.values[k] for k in fit.names]
    return fit_gev_single(x, covariate=fit.covariate, shape_bound=None, start=start)


def _check_bound(fit: StationFit) -> BoundCheck | None:
    """Say whether the shape bound binds; if so, give the unrestricted fit and the deviance."""
    from hazard_models.extremes.shape_bound import flag_shape_at_bound

    if fit.dist == "gumbel":
        return None
    if fit.method == "pmle":  # the prior's density is zero at -0.5 and 0.5: never on them
        return BoundCheck(shape_bound=DEFAULT_SHAPE_BOUND, shape_at_bound=False)
    at_bound = bool(flag_shape_at_bound(fit.values["shape"], fit.shape_bound))
    clipped = at_bound if fit.method == "lmoments" else None
    if not at_bound or fit.shape_bound is None:
        return BoundCheck(
            shape_bound=fit.shape_bound, shape_at_bound=at_bound, shape_clipped=clipped
        )
    free = _unrestricted(fit)
    deviance = 2.0 * (fit.nllh - free["nllh"])
    return BoundCheck(
        shape_bound=fit.shape_bound,
        shape_at_bound=True,
        shape_clipped=clipped,
        unrestricted={k: float(v) for k, v in free.items()},
        deviance=float(deviance) if math.isfinite(deviance) else None,
    )


def _estimates(fit: StationFit) -> dict[str, ParameterEstimate]:
    """Return the parameters with standard errors (None where the covariance is invalid)."""
    valid = np.all(np.isfinite(fit.cov)) and not (fit.bound and fit.bound.shape_at_bound)
    se = np.sqrt(np.diag(fit.cov)) if valid else [math.nan] * len(fit.names)
    return {
        name: ParameterEstimate(estimate=fit.values[name], se=None if math.isnan(s) else float(s))
        for name, s in zip(fit.names, se, strict=True)
    }


def _fit_model(
    record: StationRecord,
    dist: Distribution,
    method: Method,
    *,
    threshold: float | None,
    per_year: float,
    shape_bound: float | None,
) -> StationFit:
    """Fit the requested model; return it with the bound check done."""
    from hazard_models.extremes.gumbel import fit_gumbel

    x = np.asarray(record.values, dtype=float)
    common: dict[str, Any] = {"x": x, "dist": dist, "method": method, "shape_bound": shape_bound}
    if dist == "gpd":
        if threshold is None:
            raise ValueError("--dist gpd needs --threshold U (data units)")
        if record.covariate is not None:
            raise ValueError("--covariate is supported for --dist gev only")
        values, cov = _fit_peaks(x, method, threshold, shape_bound)
        fit = StationFit(
            names=("scale", "shape"),
            values=values,
            cov=cov,
            nllh=values["nllh"],
            threshold=threshold,
            per_year=per_year,
            rate=values["rate"],
            **common,
        )
    elif record.covariate is not None:
        if dist != "gev" or method != "mle":
            raise ValueError("--covariate needs --dist gev --method mle (non-stationary MLE)")
        c = np.asarray(record.covariate, dtype=float)
        values, cov = _fit_trend(x, c, shape_bound)
        fit = StationFit(
            names=_TREND, values=values, cov=cov, nllh=values["nllh"], covariate=c, **common
        )
    elif dist == "gumbel":
        if method != "mle":
            raise ValueError(f"--method {method}: the Gumbel fit is by maximum likelihood only")
        g = fit_gumbel(x[None])
        if g["status"][0] != "ok":
            raise ValueError(f"the fit failed: {g['status'][0]}")
        values = {"loc": float(g["loc"][0]), "scale": float(g["scale"][0]), "shape": 0.0}
        fit = StationFit(
            names=("loc", "scale"),
            values=values,
            cov=g["cov"][0],
            nllh=float(g["nllh"][0]),
            **common,
        )
    else:
        if method != "mle" and shape_bound != DEFAULT_SHAPE_BOUND:
            raise ValueError(f"--shape-bound applies to --method mle; {method} keeps [-0.5, 0.5]")
        values, cov = _fit_gev(x, method, shape_bound)
        fit = StationFit(names=_GEV, values=values, cov=cov, nllh=values["nllh"], **common)
    fit.bound = _check_bound(fit)
    fit.diagnostics = _diagnostics(fit)
    return fit


def _diagnostics(fit: StationFit) -> dict:
    """Goodness of fit, and the model facts a reader needs (threshold, rate, covariate)."""
    from hazard_models.extremes.goodness import anderson_darling, gpd_ppcc, ppcc

    x = fit.x
    if fit.dist == "gpd":
        excess = np.where(x > fit.threshold, x - fit.threshold, np.nan)[None]  # type: ignore[operator]
        scale, shape = np.array([fit.values["scale"]]), np.array([fit.values["shape"]])
        return {
            "ppcc": float(gpd_ppcc(excess, scale, shape)[0]),
            "threshold": fit.threshold,
            "exceedances": int(fit.values["n_exceed"]),
            "rate_per_observation": fit.rate,
            "observations_per_year": fit.per_year,
        }
    if fit.covariate is not None:
        from hazard_models.extremes.nonstationary import compare_to_stationary

        test = compare_to_stationary(x[None], fit.covariate[None])
        return {
            "effective_at_covariate": float(fit.covariate[-1]),
            "deviance": float(test["deviance"][0]),
            "p_value": float(test["p_value"][0]),
            "aic_stationary": float(test["aic_stationary"][0]),
            "aic_trend": float(test["aic_nonstationary"][0]),
        }
    triple = (
        np.array([fit.values["loc"]]),
        np.array([fit.values["scale"]]),
        np.array([fit.values["shape"]]),
    )
    return {
        "anderson_darling": float(anderson_darling(x[None], triple)[0]),
        "ppcc": float(ppcc(x[None], triple)[0]),
    }


def fit_station(
    record: StationRecord,
    *,
    dist: Distribution = "gev",
    method: Method = "mle",
    threshold: float | None = None,
    per_year: float = 365.0,
    return_periods: Sequence[float] = (2, 10, 50, 100),
    level: float = 0.95,
    ci: IntervalMethod = "auto",
    n_boot: int = 1000,
    shape_bound: float | None = DEFAULT_SHAPE_BOUND,
    floor: float | None = None,
) -> FitReport:
    """Fit a station record and report parameters, return levels and diagnostics.

    Parameters
    ----------
    record : StationRecord
        Values (block maxima for GEV/Gumbel, all observations for GPD) and an optional
        covariate (GEV location linear in it; return levels are effective at its last value).
    dist : {"gev", "gpd", "gumbel"}
        Distribution.
    method : {"mle", "lmoments", "pmle"}
        Estimator (pmle: GEV only, Beta(6, 9) shape prior of Martins & Stedinger 2000).
    threshold : float, optional
        GPD threshold, in data units (required for ``gpd``).
    per_year : float
        Observations per year, for GPD return levels (365 for daily data).
    return_periods : sequence of float
        Years (> 1).
    level : float
        Confidence level of the intervals.
    ci : {"auto", "profile", "delta", "bootstrap"}
        See :func:`resilience.fitting.intervals.return_level_intervals`; "auto" is profile
        likelihood for MLE fits of GEV and GPD, bootstrap for L-moments, delta otherwise.
    n_boot : int
        Bootstrap replicates (seeded).
    shape_bound : float or None
        b of xi in [-b, b] for MLE fits (0.5 = the engines' bound); None: unrestricted
        (xi > -1, Smith 1985).
    floor : float, optional
        Physical floor of the variable (e.g. 0 mm for rain): an interval end below it is
        flagged.

    Raises
    ------
    ValueError
        An option that does not fit the distribution, or a fit that fails (with its reason).
    """
    periods = [float(p) for p in return_periods]
    if any(p <= 1 for p in periods):
        raise ValueError(f"--return-periods: expected years greater than 1, found {periods}")
    if shape_bound is not None and not shape_bound > 0:
        raise ValueError(
            f"--shape-bound: expected a positive number or 'none', found {shape_bound}"
        )
    fit = _fit_model(
        record, dist, method, threshold=threshold, per_year=per_year, shape_bound=shape_bound
    )
    levels, interval = return_level_intervals(
        fit, periods, ci=ci, level=level, n_boot=n_boot, floor=floor
    )
    at_bound = fit.bound is not None and fit.bound.shape_at_bound
    return FitReport(
        distribution=dist,
        method=method,
        n=int(fit.x.size),
        nllh=fit.nllh,
        parameters=_estimates(fit),
        return_levels=levels,
        diagnostics=fit.diagnostics,
        interval=interval,
        source=f"{record.path}:{record.column}",
        status="shape_at_bound" if at_bound else "ok",
        bound=fit.bound,
    )
