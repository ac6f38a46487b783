"""``resilience surge``: read a gauge record, build the surge report, print or plot it.

Start-up stays light (style.md rule 4): only typer and rich load with this module; the
command imports the readers (:mod:`resilience.coast.surge_inputs`),
:mod:`resilience.coast.surge_report`
and matplotlib when it runs. The lead registers it in ``resilience/cli/main.py``::

    from resilience.cli.surge import surge_command
    app.command("surge")(surge_command)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from resilience.coast.surge_models import SurgeReport

__all__ = ["format_surge_report", "plot_surge_report", "surge_command"]


def format_surge_report(report: SurgeReport) -> list[Any]:
    """Return rich tables: levels, allowances, degradation years, then the notes."""
    from rich.table import Table

    fit = report.fit
    source = f"{fit['method']} GEV of {len(report.years)} annual maxima"
    if "threshold_m" in fit:
        source = (
            f"GEV equivalent of {int(float(fit['storm_peaks']))} storm peaks above "
            f"{float(fit['threshold_m']):.3f} m ({float(fit['storm_peaks_per_year']):.1f}/yr)"
        )
    levels = Table(
        title=f"{report.station_name}: still-water return levels, m ({report.datum} datum)",
        caption=(
            f"{source}: loc {fit['loc_m']:.3f} m, scale {fit['scale_m']:.3f} m, "
            f"shape {fit['shape']:.3f}"
            + ("; SYNTHETIC record" if report.synthetic else "")
            + ". Level integrated over the uncertain rise (likely range)."
        ),
    )
    periods = list(report.baseline)
    for column in ("scenario", "horizon", "rise m", *(f"{t}-yr" for t in periods)):
        levels.add_column(column, justify="right")
    levels.add_row("", "baseline", "0", *(f"{report.baseline[t]:.2f}" for t in periods))
    extra = Table(
        title="Allowance (m) and amplification factor (AF)",
        caption=f"AF: how many times more often today's "
        f"{report.amplification_return_period:g}-yr level is exceeded",
    )
    for column in ("scenario", "horizon", *(f"{t}-yr" for t in periods), "Hunter", "AF"):
        extra.add_column(column, justify="right")
    for row in report.projections:
        rise = f"{row.rise_median_m:.2f} ({row.rise_likely_low_m:.2f}-{row.rise_likely_high_m:.2f})"
        cells = [
            f"{x.integrated_m:.2f} ({x.likely_low_m:.2f}-{x.likely_high_m:.2f})" for x in row.levels
        ]
        levels.add_row(row.scenario, row.horizon, rise, *cells)
        allowances = [f"{x.allowance_m:.3f}" for x in row.levels]
        hunter, factor = f"{row.hunter_allowance_m:.3f}", f"{row.amplification_factor:.1f}"
        extra.add_row(row.scenario, row.horizon, *allowances, hunter, factor)
    notes = "\n".join(f"note: {n}" for n in report.notes)
    return [levels, extra, _degradation_table(report), notes]


def _degradation_table(report: SurgeReport) -> Any:
    from rich.table import Table

    scenarios = list(report.degradation[0].year_by_scenario) if report.degradation else []
    table = Table(
        title="Year a standard degrades",
        caption="'after': not within the sea-level table; 'already': degraded today",
    )
    for column in ("standard", "level m", "T today", "degraded to", *scenarios):
        table.add_column(column, justify="right")
    for row in report.degradation:
        already = row.current_return_period_years <= row.degraded_to_years
        years = [
            "already" if already else ("after" if year is None else str(year))
            for year in row.year_by_scenario.values()
        ]
        today = f"{row.current_return_period_years:.0f} yr"
        target = f"{row.degraded_to_years:g} yr"
        table.add_row(row.label, f"{row.level_m:.2f}", today, target, *years)
    return table


def plot_surge_report(report: SurgeReport, path: Path, *, horizon: str | None = None) -> Path:
    """Draw return-level curves today and in one horizon per scenario (PNG, atomic write).

    Today: the fitted GEV and the referred maxima at Gringorten plotting positions
    (Gringorten 1963). Future: the level integrated over the uncertain rise, with the band
    between the lower and upper likely rise. ``horizon`` defaults to the report's last one.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from hazard_models.coast.allowance import future_return_level
    from hazard_models.coast.sea_level import RiseDistribution
    from hazard_models.extremes.gev import return_level
    from hazard_models.extremes.goodness import empirical_probabilities
    from resilience.storage.atomic import atomic_path

    gev = (report.fit["loc_m"], report.fit["scale_m"], report.fit["shape"])
    periods = np.geomspace(1.1, 2000.0, 80)
    today = return_level(*gev, periods)
    chosen = horizon or report.projections[-1].horizon
    fig, axis = plt.subplots(figsize=(6.8, 4.4), dpi=120)
    axis.plot(periods, today, "k-", label="today (1995-2014 sea level)")
    ordered, probability = empirical_probabilities(np.asarray(report.maxima_m))
    axis.plot(1.0 / (1.0 - probability), ordered, "k.", label="annual maxima (referred)")
    for index, row in enumerate(r for r in report.projections if r.horizon == chosen):
        rise = RiseDistribution(
            np.asarray(row.rise_median_m),
            np.asarray(row.rise_sd_below_m),
            np.asarray(row.rise_sd_above_m),
        )
        colour = f"C{index}"
        level = future_return_level(gev, periods, rise, averaging=report.averaging)
        axis.plot(periods, level, "-", color=colour, label=f"{row.scenario} {chosen}, integrated")
        low, high = today + row.rise_likely_low_m, today + row.rise_likely_high_m
        axis.fill_between(periods, low, high, color=colour, alpha=0.15)
    axis.set_xscale("log")
    axis.set_xlabel("return period (years)")
    axis.set_ylabel(f"still water level (m, {report.datum} datum)")
    axis.set_title(f"{report.station_name}: still-water return levels")
    axis.legend(fontsize="small")
    fig.tight_layout()
    with atomic_path(Path(path)) as temporary:
        fig.savefig(temporary, format="png")
    plt.close(fig)
    return Path(path)


def _numbers(text: str, option: str) -> list[float]:
    try:
        return [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated numbers, found {text!r}", param_hint=option
        ) from None


def _names(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def surge_command(
    station: Annotated[
        str | None, typer.Option("--station", help="Shipped tide station, e.g. wusongkou.")
    ] = None,
    gauge: Annotated[
        Path | None, typer.Option("--gauge", help="Your CSV of annual maxima (year, column).")
    ] = None,
    hourly: Annotated[
        bool, typer.Option("--hourly", help="--gauge holds hourly levels (peaks over threshold).")
    ] = False,
    column: Annotated[
        str, typer.Option("--column", help="Value column of --gauge.")
    ] = "annual_max_m",
    time_column: Annotated[
        str, typer.Option("--time-column", help="Time column of an --hourly --gauge.")
    ] = "time",
    units: Annotated[str, typer.Option("--units", help="Units of --gauge: m, cm or mm.")] = "m",
    datum: Annotated[str, typer.Option("--datum", help="Datum of --gauge.")] = "Wusong",
    maxima: Annotated[
        Path | None, typer.Option("--maxima", help="Maxima table for --station (default: sample).")
    ] = None,
    scenarios: Annotated[str, typer.Option("--scenarios")] = "ssp126,ssp245,ssp585",
    horizons: Annotated[str, typer.Option("--horizons")] = "near,mid,far",
    return_periods: Annotated[str, typer.Option("--return-periods")] = "10,100,200,1000",
    standards: Annotated[
        str, typer.Option("--standards", help="Defence standards, years.")
    ] = "1000,200,100",
    degradation_factor: Annotated[
        float, typer.Option("--degradation-factor", help="Degraded when T becomes T/factor.")
    ] = 10.0,
    subsidence: Annotated[
        float | None, typer.Option("--subsidence-mm-per-year", help="Land subsidence, mm/yr.")
    ] = None,
    sea_level: Annotated[
        Path | None, typer.Option("--sea-level", help="Sea-level-rise table (default: AR6 GMSL).")
    ] = None,
    method: Annotated[str, typer.Option("--method", help="mle, lmoments or pmle.")] = "mle",
    detrend: Annotated[str, typer.Option("--detrend", help="theil_sen or none.")] = "theil_sen",
    rise_shape: Annotated[
        str, typer.Option("--rise-shape", help="piecewise_normal or normal.")
    ] = "piecewise_normal",
    averaging: Annotated[
        str, typer.Option("--averaging", help="rate (Hunter 2012) or probability.")
    ] = "rate",
    threshold_quantile: Annotated[
        float, typer.Option("--threshold-quantile", help="--hourly: POT threshold quantile.")
    ] = 0.997,
    threshold_m: Annotated[
        float | None, typer.Option("--threshold-m", help="--hourly: POT threshold, m.")
    ] = None,
    decluster_hours: Annotated[
        int, typer.Option("--decluster-hours", help="--hourly: hours that end a storm.")
    ] = 72,
    output_datum: Annotated[
        str | None, typer.Option("--output-datum", help="Print levels on this datum.")
    ] = None,
    wusong_below_1985: Annotated[
        float | None, typer.Option("--wusong-below-1985-m", help="Datum offset (UNCONFIRMED).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Return-level plot (PNG).")] = None,
) -> None:
    """Extreme still-water levels, sea-level allowances and degradation of defence standards."""
    from pydantic import ValidationError

    from hazard_models.layer import SchemaError
    from resilience.coast.surge_inputs import surge_report
    from resilience.coast.surge_models import SurgeOptions
    from resilience.coast.surge_report import to_json
    from resilience.validation_text import describe

    try:
        options = SurgeOptions.model_validate(
            {
                "scenarios": _names(scenarios),
                "horizons": _names(horizons),
                "return_periods": _numbers(return_periods, "--return-periods"),
                "standards": _numbers(standards, "--standards"),
                "degradation_factor": degradation_factor,
                "method": method,
                "detrend": detrend,
                "rise_shape": rise_shape,
                "averaging": averaging,
                "subsidence_mm_per_year": subsidence,
                "output_datum": output_datum,
                "wusong_below_1985_m": wusong_below_1985,
                "threshold_quantile": threshold_quantile,
                "threshold_m": threshold_m,
                "decluster_hours": decluster_hours,
            }
        )
        report = surge_report(
            station=station,
            gauge=gauge,
            hourly=hourly,
            maxima_path=maxima,
            column=column,
            time_column=time_column,
            units=units,  # type: ignore[arg-type]  # checked by the readers
            datum=datum,
            sea_level_path=sea_level,
            options=options,
        )
    except ValidationError as error:
        _fail(describe("invalid option", error))
    except KeyError as error:  # an unknown horizon name
        _fail(str(error.args[0]))
    except (FileNotFoundError, SchemaError, ValueError) as error:
        _fail(str(error))
    console = Console()
    if as_json:
        typer.echo(to_json(report))
    else:
        for item in format_surge_report(report):
            console.print(item)
    if plot is not None:
        written = plot_surge_report(report, plot)
        if not as_json:
            console.print(f"plot {written}")


def _fail(message: str) -> NoReturn:
    from rich.markup import escape

    console = Console(stderr=True, soft_wrap=True)
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code=2)
