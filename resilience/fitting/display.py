"""Show a station fit: terminal tables, the return-level plot and threshold diagnostics (PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from resilience.fitting.models import FitReport
from resilience.fitting.record import StationRecord
from resilience.fitting.station_fit import fit_station
from resilience.storage.atomic import atomic_path

__all__ = ["format_fit", "plot_fit", "plot_threshold_diagnostics", "write_plots"]


def plot_fit(report: FitReport, record: StationRecord, path: Path) -> Path:
    """Draw the return-level plot: fitted curve, confidence band and the data (PNG).

    Empirical return periods use Gringorten plotting positions (Gringorten 1963) of the block
    maxima, or of the exceedances for a GPD fit.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hazard_models.extremes.goodness import empirical_probabilities

    requested = [r.return_period for r in report.return_levels]
    gpd = report.distribution == "gpd"
    profile = "profile" in report.interval  # each profiled period costs ~0.3 s: fewer points
    dense = fit_station(
        record,
        dist=report.distribution,
        method=report.method,
        threshold=float(report.diagnostics["threshold"]) if gpd else None,
        per_year=float(report.diagnostics["observations_per_year"]) if gpd else 365.0,
        return_periods=np.geomspace(1.1, 1.5 * max(requested), 12 if profile else 60).tolist(),
        ci=_interval_method(report.interval),
        shape_bound=report.bound.shape_bound if report.bound else 0.5,
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


def _interval_method(label: str) -> Literal["profile", "delta", "bootstrap"]:
    """Return the interval method named in a report's ``interval`` label."""
    for method in ("profile", "bootstrap"):
        if method in label:
            return method  # type: ignore[return-value]
    return "delta"


def _bound_table(report: FitReport) -> Any:
    """Return the shape-bound table: bound, whether it binds, unrestricted fit, deviance."""
    from rich.table import Table

    bound = report.bound
    table = Table(title="Shape bound")
    table.add_column("name")
    table.add_column("value", justify="right")
    if bound is None:
        return table
    table.add_row("shape_bound", "none" if bound.shape_bound is None else f"{bound.shape_bound:g}")
    table.add_row("shape_at_bound", str(bound.shape_at_bound).lower())
    if bound.shape_clipped is not None:
        table.add_row("shape_clipped", str(bound.shape_clipped).lower())
    for key, value in (bound.unrestricted or {}).items():
        table.add_row(f"unrestricted {key}", f"{value:.4g}")
    if bound.deviance is not None:
        table.add_row("deviance (bounded vs unrestricted)", f"{bound.deviance:.4g}")
    return table


def format_fit(report: FitReport) -> list[Any]:
    """Return rich tables of parameters, return levels, the shape bound and diagnostics."""
    from rich.table import Table

    title = (
        f"{report.distribution.upper()} by {report.method}, n = {report.n}, NLL {report.nllh:.3f}"
    )
    if report.status != "ok":
        title += f", status {report.status}"
    parameters = Table(title=title)
    for column in ("parameter", "estimate", "standard error"):
        parameters.add_column(column, justify="right")
    for name, value in report.parameters.items():
        se = "n/a" if value.se is None else f"{value.se:.4g}"
        parameters.add_row(name, f"{value.estimate:.4g}", se)
    levels = Table(title=f"Return levels ({report.interval})")
    flagged = any(row.flags for row in report.return_levels)
    for column in ("return period (yr)", "level", "lower", "upper"):
        levels.add_column(column, justify="right")
    if flagged:
        levels.add_column("flags")
    for row in report.return_levels:
        bounds = ["n/a" if v is None else f"{v:.4g}" for v in (row.lower, row.upper)]
        flags = ["; ".join(row.flags)] if flagged else []
        levels.add_row(f"{row.return_period:g}", f"{row.estimate:.4g}", *bounds, *flags)
    diagnostics = Table(title="Diagnostics")
    diagnostics.add_column("name")
    diagnostics.add_column("value", justify="right")
    for key, item in report.diagnostics.items():
        diagnostics.add_row(key, f"{item:.4g}" if isinstance(item, float) else str(item))
    tables = [parameters, levels]
    if report.bound is not None:
        tables.append(_bound_table(report))
    return [*tables, diagnostics]


def plot_threshold_diagnostics(
    record: StationRecord, path: Path, *, n_thresholds: int = 30, threshold: float | None = None
) -> Path:
    """Draw the mean-residual-life and parameter-stability plots for choosing a threshold.

    Thresholds run from the 90th percentile of the record to the value that leaves 15
    exceedances (Coles 2001, secs. 4.3.1 and 4.3.4: pick the lowest u above which the mean
    excess is linear and the modified scale and shape are stable). ``threshold``, if given
    (the one fitted), is marked by a dashed vertical line on every panel.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hazard_models.extremes.threshold import mean_residual_life, parameter_stability

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
    if threshold is not None:
        for axis in axes:
            axis.axvline(threshold, color="C3", linestyle="--", label=f"chosen u = {threshold:g}")
        axes[0].legend()
    axes[0].set_title("Threshold choice: mean residual life and parameter stability")
    fig.tight_layout()
    with atomic_path(Path(path)) as temporary:
        fig.savefig(temporary, format="png")
    plt.close(fig)
    return Path(path)


def write_plots(
    report: FitReport,
    record: StationRecord,
    plot: Path | None,
    qq_plot: Path | None,
    threshold_plot: Path | None,
) -> list[str]:
    """Write the plots asked for (return levels, P-P and Q-Q, threshold); return messages."""
    messages = []
    if plot is not None:
        messages.append(f"plot {plot_fit(report, record, plot)}")
    if qq_plot is not None:
        from resilience.fitting.qq_plot import plot_qq_pp

        messages.append(f"probability and quantile plots {plot_qq_pp(report, record, qq_plot)}")
    if threshold_plot is not None:
        threshold = report.diagnostics.get("threshold")
        path = plot_threshold_diagnostics(
            record, threshold_plot, threshold=None if threshold is None else float(threshold)
        )
        messages.append(f"threshold diagnostics {path}")
    return messages
