"""``resilience surge``: read a gauge record, build the surge report, print or plot it.

Start-up stays light (style.md rule 4): only typer and rich load with this module; the
command imports the readers, :mod:`resilience.surge_report` and matplotlib when it runs. The
lead registers it in ``resilience/cli.py``::

    from resilience.cli_surge import surge_command
    app.command("surge")(surge_command)
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    import pandas as pd

    from resilience.surge_report import GaugeRecord, SurgeOptions, SurgeReport

__all__ = [
    "format_surge_report",
    "plot_surge_report",
    "read_gauge_maxima",
    "read_typhoon_tracks",
    "surge_command",
    "surge_report",
]

Units = Literal["m", "cm", "mm"]
TYPHOON_TRACKS_FILE = "jtwc_wp_tracks_within300km_shanghai_1945-2021.csv"
_TO_METRES = {"m": 1.0, "cm": 0.01, "mm": 0.001}
_MIN_YEARS = 10
_SAMPLE_SOURCE = "synthetic sample (resilience.sample.tides, docs/sea_level.md)"


def read_gauge_maxima(path: Path, *, column: str = "annual_max_m", units: Units = "m") -> pd.Series:
    """Read a user's annual maxima (columns ``year`` and ``column``) and return them in m.

    Raises
    ------
    SchemaError
        From :func:`resilience.tide_io.read_gauge_csv` (file, line and column of a bad cell),
        for an unknown ``units``, or fewer than 10 values.
    """
    from hazard_models.layer import SchemaError
    from resilience.tide_io import read_gauge_csv

    if units not in _TO_METRES:
        raise SchemaError(f"--units: expected one of {list(_TO_METRES)}, found {units!r}")
    series = read_gauge_csv(Path(path), column=column) * _TO_METRES[units]
    if series.size < _MIN_YEARS:
        raise SchemaError(
            f"{path}: field '{column}': expected at least {_MIN_YEARS} annual maxima, "
            f"found {series.size}"
        )
    return series


def read_typhoon_tracks(path: Path | None = None) -> pd.DataFrame:
    """Read JTWC best-track points near Shanghai (default: the shipped 1945-2021 subset).

    Returns
    -------
    pandas.DataFrame
        The file's columns (``resilience/data/typhoon/PROVENANCE.md``); ``jtwc_sn`` and
        ``storm_name`` as text, ``dist_to_shanghai_km`` as float, ``time_utc`` as parsed
        UTC times. For :func:`hazard_models.compound.typhoon_days`.

    Raises
    ------
    SchemaError
        A missing column, or a distance or time that does not parse (file, line, field).
    """
    import pandas as pd

    from hazard_models.compound import TRACK_COLUMNS
    from hazard_models.layer import SchemaError
    from resilience.csv_rows import parse_float, read_rows, where
    from resilience.geography import data_path

    source = Path(path) if path is not None else data_path("typhoon", TYPHOON_TRACKS_FILE)
    header, rows = read_rows(source, TRACK_COLUMNS)
    records = []
    for line, row in rows:
        record: dict[str, Any] = dict(row)
        field = "dist_to_shanghai_km"
        record[field] = parse_float(row[field], source, line, field)
        try:
            record["time_utc"] = pd.Timestamp(row["time_utc"]).tz_convert("UTC")
        except (ValueError, TypeError):
            message = (
                f"expected an ISO UTC time such as 2021-07-25T06:00Z, found {row['time_utc']!r}"
            )
            raise SchemaError(f"{where(source, line, 'time_utc')}: {message}") from None
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=header)
    frame.attrs["source"] = str(source)
    return frame


def _station_record(station: str, maxima_path: Path | None) -> GaugeRecord:
    """Return the record of a shipped station, from ``maxima_path`` or the synthetic sample."""
    from hazard_models.layer import SchemaError
    from resilience.datum import canonical_datum
    from resilience.surge_report import GaugeRecord
    from resilience.tide_io import read_annual_maxima, read_tide_stations

    stations = read_tide_stations()
    if station not in set(stations["station"]):
        raise SchemaError(f"--station {station!r}: expected one of {list(stations['station'])}")
    row = stations.set_index("station").loc[station].to_dict()
    with tempfile.TemporaryDirectory() as scratch:
        if maxima_path is None:
            from resilience.sample.tides import write_sample_tide_gauges

            table = read_annual_maxima(write_sample_tide_gauges(Path(scratch)))
        else:
            table = read_annual_maxima(Path(maxima_path))
    source = _SAMPLE_SOURCE if maxima_path is None else str(maxima_path)
    rows = table[table["station"] == station]
    if rows.empty:
        raise SchemaError(f"{source}: station {station!r}: expected annual maxima, found none")
    design = row.get("design_level_1000yr_m")
    return GaugeRecord(
        station=station,
        station_name=str(row["station_name"]),
        datum=canonical_datum(str(row["datum"])),
        years=[int(y) for y in rows["year"]],
        maxima_m=[float(v) for v in rows["annual_max_m"]],
        subsidence_mm_per_year=row.get("subsidence_mm_per_year"),
        design_level_m=None if design is None or math.isnan(design) else float(design),
        source=source,
        synthetic=bool(rows["synthetic"].any()),
    )


def surge_report(
    *,
    station: str | None = None,
    gauge: Path | None = None,
    maxima_path: Path | None = None,
    column: str = "annual_max_m",
    units: Units = "m",
    datum: str = "Wusong",
    sea_level_path: Path | None = None,
    options: SurgeOptions | None = None,
) -> SurgeReport:
    """Read the inputs and build the report of a shipped station or of a user's gauge CSV.

    Parameters
    ----------
    station : str, optional
        A station of the shipped table (``wusongkou``, ``huangpu_park``). Its maxima come
        from ``maxima_path`` (a table as ``resilience.tide_io.read_annual_maxima`` reads),
        by default the synthetic sample (the report says so).
    gauge : pathlib.Path, optional
        A user's CSV with ``year`` and ``column`` (annual maxima in ``units`` on ``datum``).
    sea_level_path : pathlib.Path, optional
        A sea-level-rise table replacing the shipped AR6 global-mean table.
    options : SurgeOptions, optional
        See :class:`resilience.surge_report.SurgeOptions`.

    Raises
    ------
    SchemaError
        Bad files (file, line and field), unknown station or datum, too few maxima.
    ValueError
        Neither or both of ``station`` and ``gauge``.
    """
    from resilience.datum import canonical_datum
    from resilience.surge_report import GaugeRecord, build_surge_report
    from resilience.tide_io import read_sea_level_projections

    if (station is None) == (gauge is None):
        raise ValueError("give exactly one of --station and --gauge")
    if gauge is None:
        record = _station_record(str(station), maxima_path)
    else:
        series = read_gauge_maxima(gauge, column=column, units=units)
        record = GaugeRecord(
            station=Path(gauge).stem,
            station_name=Path(gauge).stem,
            datum=canonical_datum(datum),
            years=[int(y) for y in series.index],
            maxima_m=series.tolist(),
            source=f"{gauge}:{column}",
        )
    return build_surge_report(record, read_sea_level_projections(sea_level_path), options=options)


def format_surge_report(report: SurgeReport) -> list[Any]:
    """Return rich tables: levels, allowances, degradation years, then the notes."""
    from rich.table import Table

    fit = report.fit
    levels = Table(
        title=f"{report.station_name}: still-water return levels, m ({report.datum} datum)",
        caption=(
            f"{fit['method']} GEV of {len(report.years)} annual maxima: loc {fit['loc_m']:.3f} m, "
            f"scale {fit['scale_m']:.3f} m, shape {fit['shape']:.3f}"
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

    from hazard_models.allowance import future_return_level
    from hazard_models.extremes import return_level
    from hazard_models.goodness import empirical_probabilities
    from hazard_models.sea_level import RiseDistribution
    from resilience.atomic import atomic_path

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
    column: Annotated[
        str, typer.Option("--column", help="Value column of --gauge.")
    ] = "annual_max_m",
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
    from resilience.surge_report import SurgeOptions, to_json

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
                "subsidence_mm_per_year": subsidence,
                "output_datum": output_datum,
                "wusong_below_1985_m": wusong_below_1985,
            }
        )
        report = surge_report(
            station=station,
            gauge=gauge,
            maxima_path=maxima,
            column=column,
            units=units,  # type: ignore[arg-type]  # checked by read_gauge_maxima
            datum=datum,
            sea_level_path=sea_level,
            options=options,
        )
    except ValidationError as error:
        _fail(f"invalid option: {error.errors()[0]['loc'][0]}: {error.errors()[0]['msg']}")
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
    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=2)
