"""``resilience compound``: joint and conditional exceedance of daily rain and high water.

Reads a user's CSV of paired daily values (date, rain, high water) and prints the empirical
joint exceedance and the conditional exceedance with its bootstrap interval, optionally on
JTWC typhoon days or in the typhoon season only (:mod:`resilience.coast.compound_report`,
``docs/surge.md`` section 7).

Start-up stays light: only typer and rich load with this module. The lead registers it in
``resilience/cli/main.py``::

    from resilience.cli.compound import compound_command
    app.command("compound")(compound_command)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from resilience.coast.compound_report import CompoundResult

__all__ = ["compound_command", "format_compound"]


def format_compound(result: CompoundResult) -> list[Any]:
    """Return a rich table of the result, then its notes."""
    from rich.table import Table

    title = f"Rain >= {result.rain_threshold_mm:.1f} mm and high water >= "
    title += f"{result.water_threshold_m:.2f} m ({result.condition.replace('_', ' ')})"
    table = Table(
        title=title,
        caption=f"{result.n_pairs} paired days, {result.first_date} to {result.last_date}",
    )
    table.add_column("quantity")
    table.add_column("value", justify="right")
    interval = f"({result.rain_given_water_lower:.3f}-{result.rain_given_water_upper:.3f})"
    rows = [
        ("P(rain above)", f"{result.rain_exceedance:.4f}"),
        ("P(high water above)", f"{result.water_exceedance:.4f}"),
        ("P(both), empirical", f"{result.joint_exceedance:.5f} ({result.n_joint} days)"),
        ("P(both) if independent", f"{result.independent_joint_exceedance:.5f}"),
        ("multiplication factor", f"{result.multiplication_factor:.2f}"),
        ("AND return period", f"{result.and_return_period_years:.1f} yr"),
        ("P(high water | rain)", f"{result.water_given_rain:.3f}"),
        (
            f"P(rain | high water), {result.level:.0%} CI",
            f"{result.rain_given_water:.3f} " + interval,
        ),
    ]
    if result.typhoon_months is not None:
        rows.append(("typhoon season (months)", ", ".join(map(str, result.typhoon_months))))
    for name, value in rows:
        table.add_row(name, value)
    return [table, "\n".join(f"note: {n}" for n in result.notes)]


def compound_command(
    pairs: Annotated[
        Path, typer.Option("--pairs", help="CSV of paired daily values (date, rain, high water).")
    ],
    date_column: Annotated[str, typer.Option("--date-column", help="Date column.")] = "date",
    rain_column: Annotated[
        str, typer.Option("--rain-column", help="Daily rain column, mm.")
    ] = "rain_mm",
    water_column: Annotated[
        str, typer.Option("--water-column", help="Daily high-water column, m.")
    ] = "high_water_m",
    rain_threshold: Annotated[
        float | None, typer.Option("--rain-threshold-mm", help="Default: --quantile of rain.")
    ] = None,
    water_threshold: Annotated[
        float | None, typer.Option("--water-threshold-m", help="Default: --quantile of water.")
    ] = None,
    quantile: Annotated[
        float | None,
        typer.Option(
            "--quantile",
            help="Quantile of the default thresholds (default 0.99, lowered to keep 10 days "
            "above each).",
        ),
    ] = None,
    typhoon_only: Annotated[
        bool, typer.Option("--typhoon-only", help="Only JTWC typhoon days near Shanghai.")
    ] = False,
    typhoon_season: Annotated[
        bool, typer.Option("--typhoon-season", help="Only the typhoon-season months.")
    ] = False,
    radius: Annotated[
        float, typer.Option("--typhoon-radius-km", help="Typhoon day: centre within, km.")
    ] = 300.0,
    tracks: Annotated[
        Path | None, typer.Option("--tracks", help="JTWC track CSV (default: shipped).")
    ] = None,
    window_days: Annotated[
        int, typer.Option("--window-days", help="Water = highest within +- days.")
    ] = 0,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap replicates.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Joint and conditional exceedance of daily rain and high water (compound flooding)."""
    from pydantic import ValidationError

    from hazard_models.layer import SchemaError
    from resilience.coast.compound_report import CompoundOptions, compound_analysis, read_paired_csv
    from resilience.validation_text import describe

    if typhoon_only and typhoon_season:
        _fail("give at most one of --typhoon-only and --typhoon-season")
    condition = "typhoon_days" if typhoon_only else "all_days"
    condition = "typhoon_season" if typhoon_season else condition
    try:
        options = CompoundOptions(
            rain_threshold_mm=rain_threshold,
            water_threshold_m=water_threshold,
            quantile=quantile,
            condition=condition,  # type: ignore[arg-type]  # one of the three names above
            typhoon_radius_km=radius,
            window_days=window_days,
            n_boot=n_boot,
        )
        frame = read_paired_csv(
            pairs, date_column=date_column, rain_column=rain_column, water_column=water_column
        )
        days = None
        if condition != "all_days":
            from resilience.coast.typhoon_io import shipped_typhoon_days

            days = shipped_typhoon_days(tracks, radius_km=radius)
        result = compound_analysis(frame, days, options=options)
    except ValidationError as error:
        _fail(describe("invalid option", error))
    except (FileNotFoundError, SchemaError, ValueError) as error:
        _fail(str(error))
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    console = Console()
    for item in format_compound(result):
        console.print(item)


def _fail(message: str) -> NoReturn:
    from rich.markup import escape

    console = Console(stderr=True, soft_wrap=True)
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code=2)
