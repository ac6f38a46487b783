"""Fit extreme-value distributions to one station record: ``resilience fit``.

Fits a GEV, Gumbel or GPD (optionally with a covariate in the GEV location) to a
:class:`~resilience.fitting.record.StationRecord`, and reports parameters with standard errors,
return levels with confidence intervals and goodness of fit, as a
:class:`~resilience.fitting.models.FitReport` (the JSON of the CLI).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from resilience.fitting.models import (
    Distribution,
    FitReport,
    Method,
    ParameterEstimate,
    ReturnLevelEstimate,
)
from resilience.fitting.record import StationRecord

__all__ = ["fit_station"]


def _z(level: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(0.5 + level / 2.0))


def _estimates(names: Sequence[str], values: Sequence[float], cov: NDArray) -> dict:
    se = np.sqrt(np.diag(cov)) if np.all(np.isfinite(cov)) else [math.nan] * len(names)
    return {
        name: ParameterEstimate(estimate=float(v), se=None if math.isnan(s) else float(s))
        for name, v, s in zip(names, values, se, strict=True)
    }


def _levels(periods: Sequence[float], estimate, lower, upper) -> list[ReturnLevelEstimate]:  # noqa: ANN001
    def clean(value: float) -> float | None:
        return None if not math.isfinite(value) else float(value)

    return [
        ReturnLevelEstimate(
            return_period=float(t), estimate=float(e), lower=clean(lo), upper=clean(hi)
        )
        for t, e, lo, hi in zip(periods, estimate, lower, upper, strict=True)
    ]


def _fit_block_maxima(x: NDArray, dist: Distribution, method: Method, periods, level: float):  # noqa: ANN001, ANN202
    """GEV or Gumbel by the requested method, with delta-method return-level intervals."""
    from hazard_models.extremes.gev_fit import fit_gev
    from hazard_models.extremes.goodness import anderson_darling, ppcc
    from hazard_models.extremes.gumbel import fit_gumbel
    from hazard_models.extremes.uncertainty import gev_return_level_ci_delta

    if dist == "gumbel":
        if method != "mle":
            raise ValueError(f"--method {method}: the Gumbel fit is by maximum likelihood only")
        fit = fit_gumbel(x[None])
        cov3 = np.zeros((1, 3, 3))
        cov3[:, :2, :2] = fit["cov"]
        names: tuple[str, ...] = ("loc", "scale")
        cov = fit["cov"][0]
    else:
        fit = fit_gev(x[None], method=method, return_cov=True)
        cov3, names, cov = fit["cov"], ("loc", "scale", "shape"), fit["cov"][0]
    if fit["status"][0] != "ok":
        raise ValueError(f"the fit failed: {fit['status'][0]}")
    params = {k: fit[k] for k in ("loc", "scale", "shape")}
    interval = gev_return_level_ci_delta(params, cov3, periods, level=level)
    triple = (fit["loc"], fit["scale"], fit["shape"])
    diagnostics = {
        "anderson_darling": float(anderson_darling(x[None], triple)[0]),
        "ppcc": float(ppcc(x[None], triple)[0]),
    }
    return (
        float(fit["nllh"][0]),
        _estimates(names, [float(fit[n][0]) for n in names], cov),
        _levels(periods, interval.estimate[0], interval.lower[0], interval.upper[0]),
        diagnostics,
    )


def _fit_trend(x: NDArray, covariate: NDArray, periods, level: float):  # noqa: ANN001, ANN202
    """GEV with location linear in the covariate; return levels at its last value."""
    from hazard_models.extremes.nonstationary import compare_to_stationary, fit_gev_nonstationary
    from hazard_models.extremes.uncertainty import delta_method_ci, return_level_gradient_gev

    fit = fit_gev_nonstationary(x[None], covariate[None])
    if fit["status"][0] != "ok":
        raise ValueError(f"the trend fit failed: {fit['status'][0]}")
    names = ("loc0", "loc1", "scale", "shape")
    cov = np.asarray(fit["covariance"][0])
    at = float(covariate[-1])
    loc = fit["loc0"][0] + fit["loc1"][0] * at
    scale, shape = fit["scale"][0], fit["shape"][0]
    g = return_level_gradient_gev(loc, scale, shape, np.asarray(periods, dtype=float))
    gradient = np.stack([g[..., 0], g[..., 0] * at, g[..., 1], g[..., 2]], axis=-1)
    from hazard_models.extremes.gev import return_level

    estimate = return_level(loc, scale, shape, np.asarray(periods, dtype=float))
    interval = delta_method_ci(estimate, gradient, cov, level=level)
    test = compare_to_stationary(x[None], covariate[None])
    diagnostics = {
        "effective_at_covariate": at,
        "deviance": float(test["deviance"][0]),
        "p_value": float(test["p_value"][0]),
        "aic_stationary": float(test["aic_stationary"][0]),
        "aic_trend": float(test["aic_nonstationary"][0]),
    }
    return (
        float(fit["nllh"][0]),
        _estimates(names, [float(fit[n][0]) for n in names], cov),
        _levels(periods, interval.estimate, interval.lower, interval.upper),
        diagnostics,
    )


def _fit_peaks(
    x: NDArray, method: Method, threshold: float, per_year: float, periods, level: float
):  # noqa: ANN001, ANN202
    """GPD over ``threshold`` with Coles (2001, sec. 4.4.1) delta-method intervals."""
    from hazard_models.extremes.gpd import fit_gpd, gpd_return_level, gpd_return_level_variance
    from hazard_models.extremes.gpd_mle import gpd_covariance

    if method not in ("mle", "lmoments"):
        raise ValueError(f"--method {method}: the GPD fit supports mle and lmoments")
    fit = fit_gpd(x[None], threshold=threshold, method=method)
    if fit["status"][0] != "ok":
        raise ValueError(f"the GPD fit failed at threshold {threshold:g}: {fit['status'][0]}")
    scale, shape, rate = fit["scale"], fit["shape"], fit["rate"]
    excess = np.where(x > threshold, x - threshold, np.nan)[None]
    cov = gpd_covariance(excess, scale, shape)
    t = np.asarray(periods, dtype=float)
    estimate = gpd_return_level(scale[0], shape[0], threshold, rate[0], t, per_year=per_year)
    variance = gpd_return_level_variance(
        scale[0],
        shape[0],
        rate[0],
        return_period=t,
        per_year=per_year,
        covariance=cov[0],
        n_observations=x.size,
    )
    half = _z(level) * np.sqrt(variance)
    from hazard_models.extremes.goodness import gpd_ppcc

    diagnostics = {
        "ppcc": float(gpd_ppcc(excess, scale, shape)[0]),
        "threshold": threshold,
        "exceedances": int(fit["n_exceed"][0]),
        "rate_per_observation": float(rate[0]),
        "observations_per_year": per_year,
    }
    return (
        float(fit["nllh"][0]),
        _estimates(("scale", "shape"), [float(scale[0]), float(shape[0])], cov[0]),
        _levels(periods, estimate, estimate - half, estimate + half),
        diagnostics,
    )


def _bootstrap_levels(
    estimates: dict[str, float],
    x: NDArray,
    dist: Distribution,
    *,
    periods: list[float],
    diagnostics: dict,
    level: float,
    n_boot: int,
) -> list[ReturnLevelEstimate]:
    """Return levels with parametric-bootstrap percentile intervals (seed 0)."""
    if dist == "gpd":
        from hazard_models.extremes.gpd_bootstrap import parametric_bootstrap_gpd

        interval = parametric_bootstrap_gpd(
            estimates["scale"],
            estimates["shape"],
            diagnostics["rate_per_observation"],
            n_observations=x.size,
            threshold=float(diagnostics["threshold"]),
            return_periods=periods,
            per_year=float(diagnostics["observations_per_year"]),
            n_boot=n_boot,
            level=level,
        )
    else:
        from hazard_models.extremes.uncertainty import parametric_bootstrap_gev

        params = {k: np.array([estimates[k]]) for k in ("loc", "scale", "shape")}
        result = parametric_bootstrap_gev(
            params, x.size, return_periods=periods, n_boot=n_boot, method="mle", level=level
        )
        interval = result.return_levels
    return _levels(periods, interval.estimate[0], interval.lower[0], interval.upper[0])


def fit_station(
    record: StationRecord,
    *,
    dist: Distribution = "gev",
    method: Method = "mle",
    threshold: float | None = None,
    per_year: float = 365.0,
    return_periods: Sequence[float] = (2, 10, 50, 100),
    level: float = 0.95,
    ci: Literal["delta", "bootstrap"] = "delta",
    n_boot: int = 1000,
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
        Estimator (pmle: GEV only, Martins & Stedinger 2000 prior).
    threshold : float, optional
        GPD threshold, in data units (required for ``gpd``).
    per_year : float
        Observations per year, for GPD return levels (365 for daily data).
    return_periods : sequence of float
        Years (> 1).
    level : float
        Confidence level of the intervals.
    ci : {"delta", "bootstrap"}
        Delta method (Coles 2001 secs. 3.3.3 and 4.4.1) or parametric bootstrap percentiles
        (``n_boot`` replicates, seeded; stationary GEV and GPD only).

    Raises
    ------
    ValueError
        An option that does not fit the distribution, or a fit that fails (with its reason).
    """
    x = np.asarray(record.values, dtype=float)
    periods = [float(p) for p in return_periods]
    if any(p <= 1 for p in periods):
        raise ValueError(f"--return-periods: expected years greater than 1, found {periods}")
    if dist == "gpd":
        if threshold is None:
            raise ValueError("--dist gpd needs --threshold U (data units)")
        if record.covariate is not None:
            raise ValueError("--covariate is supported for --dist gev only")
        result = _fit_peaks(x, method, threshold, per_year, periods, level)
    elif record.covariate is not None:
        if dist != "gev" or method != "mle":
            raise ValueError("--covariate needs --dist gev --method mle (non-stationary MLE)")
        result = _fit_trend(x, np.asarray(record.covariate, dtype=float), periods, level)
    else:
        result = _fit_block_maxima(x, dist, method, periods, level)
    nllh, parameters, levels, diagnostics = result
    interval = f"{level:.0%} delta method"
    if ci == "bootstrap":
        if dist == "gumbel" or record.covariate is not None:
            raise ValueError("--ci bootstrap is available for stationary --dist gev and gpd")
        estimates = {name: value.estimate for name, value in parameters.items()}
        levels = _bootstrap_levels(
            estimates, x, dist, periods=periods, diagnostics=diagnostics, level=level, n_boot=n_boot
        )
        interval = f"{level:.0%} parametric bootstrap ({n_boot} replicates, percentile)"
    return FitReport(
        distribution=dist,
        method=method,
        n=int(x.size),
        nllh=nllh,
        parameters=parameters,
        return_levels=levels,
        diagnostics=diagnostics,
        interval=interval,
        source=f"{record.path}:{record.column}",
    )
