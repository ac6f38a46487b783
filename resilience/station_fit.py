"""Fit extreme-value distributions to one station record: ``resilience fit``.

Reads a user's CSV with line-numbered errors, fits a GEV, Gumbel or GPD (optionally with a
covariate in the GEV location), and reports parameters with standard errors, return levels with
confidence intervals and goodness of fit, as a :class:`FitReport` (the JSON of the CLI).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from hazard_models.layer import SchemaError
from resilience.atomic import atomic_path
from resilience.csv_rows import parse_float, read_rows

__all__ = [
    "MIN_VALUES",
    "FitReport",
    "ParameterEstimate",
    "ReturnLevelEstimate",
    "StationRecord",
    "fit_station",
    "plot_fit",
    "plot_threshold_diagnostics",
    "read_station_record",
]

Distribution = Literal["gev", "gpd", "gumbel"]
Method = Literal["mle", "lmoments", "pmle"]
#: Fewest values a fit accepts (issue 3: series shorter than 10 give no fit).
MIN_VALUES = 10


class StationRecord(BaseModel):
    """Values of one column of a CSV (and an optional covariate), in file order."""

    path: Path
    column: str
    values: list[float]
    covariate_column: str | None = None
    covariate: list[float] | None = None
    skipped_lines: list[int] = Field(default_factory=list, description="empty or NA cells")


class ParameterEstimate(BaseModel):
    """A fitted parameter and its standard error (observed information)."""

    estimate: float
    se: float | None


class ReturnLevelEstimate(BaseModel):
    """A return level and its confidence interval."""

    return_period: float
    estimate: float
    lower: float | None
    upper: float | None


class FitReport(BaseModel):
    """What ``resilience fit --json`` prints (issue 3, section 7)."""

    distribution: Distribution
    method: Method
    n: int
    nllh: float
    parameters: dict[str, ParameterEstimate]
    return_levels: list[ReturnLevelEstimate]
    diagnostics: dict[str, float | int | str] = Field(default_factory=dict)
    interval: str = "95 % delta method"
    source: str = ""


def read_station_record(
    path: Path, *, column: str, covariate: str | None = None, min_values: int = MIN_VALUES
) -> StationRecord:
    """Read ``column`` (and ``covariate``) of a CSV, with errors naming line and field.

    Empty and NA cells are gaps (their lines are listed in ``skipped_lines``); text in a
    number, a missing column or too few values raise.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SchemaError
        Missing column (the message lists the columns found), a non-numeric value (file, line
        and field), or fewer than ``min_values`` values.
    """
    path = Path(path)
    required = [column] + ([covariate] if covariate else [])
    _, rows = read_rows(path, required)
    values, covariates, skipped = [], [], []
    for line, row in rows:
        value = parse_float(row[column], path, line, column, allow_missing=True)
        x = (
            parse_float(row[covariate], path, line, covariate, allow_missing=True)
            if covariate
            else 0.0
        )
        if math.isnan(value) or math.isnan(x):
            skipped.append(line)
            continue
        values.append(value)
        covariates.append(x)
    if len(values) < min_values:
        raise SchemaError(
            f"{path}: field '{column}': expected at least {min_values} numeric values to fit, "
            f"found {len(values)}"
        )
    if np.ptp(values) == 0:
        raise SchemaError(f"{path}: field '{column}': all {len(values)} values are equal")
    return StationRecord(
        path=path,
        column=column,
        values=values,
        covariate_column=covariate,
        covariate=covariates if covariate else None,
        skipped_lines=skipped,
    )


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
    from hazard_models.extremes import fit_gev
    from hazard_models.goodness import anderson_darling, ppcc
    from hazard_models.gumbel import fit_gumbel
    from hazard_models.uncertainty import gev_return_level_ci_delta

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
    from hazard_models.nonstationary import compare_to_stationary, fit_gev_nonstationary
    from hazard_models.uncertainty import delta_method_ci, return_level_gradient_gev

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
    from hazard_models.extremes import return_level

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
    from hazard_models.gpd import (
        fit_gpd,
        gpd_covariance,
        gpd_return_level,
        gpd_return_level_variance,
    )

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
    from hazard_models.goodness import gpd_ppcc

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
        from hazard_models.gpd_bootstrap import parametric_bootstrap_gpd

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
        from hazard_models.uncertainty import parametric_bootstrap_gev

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


def plot_fit(report: FitReport, record: StationRecord, path: Path) -> Path:
    """Draw the return-level plot: fitted curve, confidence band and the data (PNG).

    Empirical return periods use Gringorten plotting positions (Gringorten 1963) of the block
    maxima, or of the exceedances for a GPD fit.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hazard_models.goodness import empirical_probabilities

    requested = [r.return_period for r in report.return_levels]
    gpd = report.distribution == "gpd"
    dense = fit_station(
        record,
        dist=report.distribution,
        method=report.method,
        threshold=float(report.diagnostics["threshold"]) if gpd else None,
        per_year=float(report.diagnostics["observations_per_year"]) if gpd else 365.0,
        return_periods=np.geomspace(1.01, 1.5 * max(requested), 60).tolist(),
    )
    levels = dense.return_levels
    periods = [r.return_period for r in levels]
    fig, axis = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    axis.plot(periods, [r.estimate for r in levels], "-", color="C0", label="fitted")
    axis.plot(
        requested, [r.estimate for r in report.return_levels], "o", color="C0", label="reported"
    )
    lower = [np.nan if r.lower is None else r.lower for r in levels]
    upper = [np.nan if r.upper is None else r.upper for r in levels]
    axis.fill_between(periods, lower, upper, color="C0", alpha=0.2, label=report.interval)
    values = np.asarray(record.values, dtype=float)
    if report.distribution == "gpd":
        u = float(report.diagnostics["threshold"])
        per_obs = float(report.diagnostics["observations_per_year"])
        ordered, prob = empirical_probabilities(values[values > u])
        rate = values[values > u].size / values.size
        empirical = 1.0 / ((1.0 - prob) * rate * per_obs)
    else:
        ordered, prob = empirical_probabilities(values)
        empirical = 1.0 / (1.0 - prob)
    axis.plot(empirical, ordered, "k.", label="data")
    axis.set_xscale("log")
    axis.set_xlabel("return period (years)")
    axis.set_ylabel(record.column)
    axis.set_title(f"{report.distribution.upper()} ({report.method}) fit, n = {report.n}")
    axis.legend()
    fig.tight_layout()
    with atomic_path(Path(path)) as temporary:
        fig.savefig(temporary, format="png")
    plt.close(fig)
    return Path(path)


def format_fit(report: FitReport) -> list[Any]:
    """Return rich tables of parameters, return levels and diagnostics for the terminal."""
    from rich.table import Table

    title = (
        f"{report.distribution.upper()} by {report.method}, n = {report.n}, NLL {report.nllh:.3f}"
    )
    parameters = Table(title=title)
    for column in ("parameter", "estimate", "standard error"):
        parameters.add_column(column, justify="right")
    for name, value in report.parameters.items():
        se = "n/a" if value.se is None else f"{value.se:.4g}"
        parameters.add_row(name, f"{value.estimate:.4g}", se)
    levels = Table(title=f"Return levels ({report.interval})")
    for column in ("return period (yr)", "level", "lower", "upper"):
        levels.add_column(column, justify="right")
    for row in report.return_levels:
        bounds = ["n/a" if v is None else f"{v:.4g}" for v in (row.lower, row.upper)]
        levels.add_row(f"{row.return_period:g}", f"{row.estimate:.4g}", *bounds)
    diagnostics = Table(title="Diagnostics")
    diagnostics.add_column("name")
    diagnostics.add_column("value", justify="right")
    for key, item in report.diagnostics.items():
        diagnostics.add_row(key, f"{item:.4g}" if isinstance(item, float) else str(item))
    return [parameters, levels, diagnostics]


def plot_threshold_diagnostics(
    record: StationRecord, path: Path, *, n_thresholds: int = 30
) -> Path:
    """Draw the mean-residual-life and parameter-stability plots for choosing a threshold.

    Thresholds run from the 90th percentile of the record to the value that leaves 15
    exceedances (Coles 2001, secs. 4.3.1 and 4.3.4: pick the lowest u above which the mean
    excess is linear and the modified scale and shape are stable).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hazard_models.threshold import mean_residual_life, parameter_stability

    values = np.asarray(record.values, dtype=float)
    top = np.sort(values)[-15]
    thresholds = np.linspace(np.quantile(values, 0.90), top, n_thresholds)
    units = "data"
    mrl = mean_residual_life(values, thresholds, units=units)
    stability = parameter_stability(values, thresholds, units=units)
    fig, axes = plt.subplots(3, 1, figsize=(6.4, 8.0), dpi=120, sharex=True)
    u = mrl[f"threshold_{units}"]
    panels = (
        (axes[0], mrl, "mean_excess_", "lower_", "upper_", "mean excess"),
        (
            axes[1],
            stability,
            "modified_scale_",
            "modified_scale_lower_",
            "modified_scale_upper_",
            "modified scale",
        ),
    )
    for axis, table, mid, low, high, label in panels:
        axis.plot(u, table[f"{mid}{units}"], "k-")
        axis.fill_between(u, table[f"{low}{units}"], table[f"{high}{units}"], alpha=0.2)
        axis.set_ylabel(f"{label} ({record.column})")
    axes[2].plot(u, stability["shape"], "k-")
    axes[2].fill_between(u, stability["shape_lower"], stability["shape_upper"], alpha=0.2)
    axes[2].set_ylabel("shape xi")
    axes[2].set_xlabel(f"threshold ({record.column})")
    axes[0].set_title("Threshold choice: mean residual life and parameter stability")
    fig.tight_layout()
    with atomic_path(Path(path)) as temporary:
        fig.savefig(temporary, format="png")
    plt.close(fig)
    return Path(path)
