"""``resilience hazards heat|rain|drainage``: hazard layers from projections, and checks.

``--projections`` takes a projections store (``resilience pull --out``) or a directory of daily
files; gaps the projections report (``missing_combinations``) are printed as warnings.

Registered on the main app by ``resilience.cli.main``. Imports stay inside the commands so that
``resilience --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Build heat and rain hazard layers; check drainage standards.")
console = Console()
error_console = Console(stderr=True, soft_wrap=True)

_MAIN = {"heat": ["txx", "tx_days_above_35", "tropical_nights", "hot_spell_frequency"]}
_MAIN["rain"] = ["rx1day", "rx5day", "rainstorm_days", "prcptot", "r95ptot"]

ProjectionsOption = Annotated[
    Path,
    typer.Option(
        "--projections",
        help="Projections store (resilience pull --out) or a directory of daily files.",
    ),
]
ScenariosOption = Annotated[
    str | None, typer.Option("--scenarios", help="Comma-separated SSPs (default: all found).")
]
HorizonsOption = Annotated[
    str | None,
    typer.Option("--horizons", help="Comma-separated AR6 horizons; baseline is always added."),
]
PlotOption = Annotated[
    bool, typer.Option("--plot", help="Also write PNG maps (and the IDF chart for rain).")
]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="Settings TOML file.")]


def _fail(message: str) -> None:
    error_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=2)


def _split(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def _print_summary(layer, kind: str) -> None:  # noqa: ANN001 - xarray Dataset
    from resilience.hazards.build import summary_rows

    table = Table(title=f"{kind} layer: grid mean of the ensemble median")
    for column in ("indicator", "scenario", "horizon", "median", "change", "robust cells"):
        table.add_column(column)
    for row in summary_rows(layer, _MAIN[kind]):
        table.add_row(*row)
    console.print(table)


def _plots(layer, kind: str, out: Path) -> list[Path]:  # noqa: ANN001 - xarray Dataset
    from resilience.hazards.plots import plot_change_map, plot_level_map

    scenario, horizon = str(layer["scenario"].values[-1]), str(layer["horizon"].values[-1])
    variable = "txx" if kind == "heat" else "rx1day"
    stem = out.with_suffix("")
    return [
        plot_level_map(
            layer, variable, Path(f"{stem}_{variable}_map.png"), scenario=scenario, horizon=horizon
        ),
        plot_change_map(
            layer,
            variable,
            Path(f"{stem}_{variable}_change.png"),
            scenario=scenario,
            horizon=horizon,
        ),
    ]


def _idf(rain, heat_path: Path | None, method: str, out: Path, plot: bool) -> list[Path]:  # noqa: ANN001
    import xarray as xr

    from hazard_models.rain.idf_layer import build_idf_layer
    from resilience.hazards.build import write_layer

    heat = xr.load_dataset(heat_path) if heat_path is not None else None
    if method == "clausius_clapeyron" and heat is None:
        _fail("rain_uplift_method clausius_clapeyron needs --heat-layer FILE (a heat layer)")
    idf = build_idf_layer(rain, heat, method=method)  # type: ignore[arg-type]
    paths = [write_layer(idf, Path(f"{out.with_suffix('')}_idf.nc"))]
    if plot:
        from resilience.hazards.plots import plot_idf_chart

        curves = idf["idf_intensity"].sel(quantile=0.5, method="nearest")
        curves = curves.isel(scenario=-1).mean(["lat", "lon"])
        title = f"IDF, Shanghai formula x {method} uplift ({idf['scenario'].values[-1]})"
        paths.append(plot_idf_chart(curves, Path(f"{out.with_suffix('')}_idf.png"), title=title))
    return paths


def _run(kind: str, projections: Path, scenarios, horizons, out: Path, config) -> tuple[Any, Any]:  # noqa: ANN001
    import time

    import resilience
    from resilience.cli.failure import read_settings
    from resilience.climate.progress import task_progress
    from resilience.climate.projection_file import ClimateDataError
    from resilience.compute import dask_scheduler
    from resilience.hazards.build import build_hazard, write_layer
    from resilience.schema import SchemaError

    settings = read_settings(config)  # bad settings: one line per field, exit 2

    def say(line: str) -> None:  # progress on stderr: stdout keeps the summary
        error_console.print(f"  {line}", highlight=False)

    start = time.perf_counter()
    try:
        with dask_scheduler(settings.dask_address):
            say(f"opening {projections} and planning the {kind} layer")
            layer = build_hazard(
                kind,  # type: ignore[arg-type]
                projections,
                scenarios=_split(scenarios),
                horizons=_split(horizons),
                code_version=f"resilience {resilience.__version__}",
            )
            dims = ("scenario", "horizon", "lat", "lon")
            sizes = ", ".join(f"{layer.sizes[d]} {d}" for d in dims)
            say(f"computing {len(layer.data_vars)} variables over {sizes}")
            with task_progress(say, "computing"):
                write_layer(layer, out)
            say(f"written {out} in {time.perf_counter() - start:.1f} s")
    except (FileNotFoundError, ClimateDataError, SchemaError, ValueError, OSError) as error:
        _fail(str(error))  # OSError: an unreachable dask scheduler (settings dask_address)
    import xarray as xr

    layer = xr.load_dataset(out)
    gaps = str(layer.attrs.get("projections_missing_combinations", ""))
    for line in (g for g in gaps.split("\n") if g):
        error_console.print(f"[yellow]warning: projections gap:[/] {line}", highlight=False)
    return settings, layer


@app.command()
def heat(
    projections: ProjectionsOption,
    scenarios: ScenariosOption = None,
    horizons: HorizonsOption = None,
    out: Annotated[Path, typer.Option("--out", help="Layer file (NetCDF).")] = Path("heat.nc"),
    plot: PlotOption = False,
    config: ConfigOption = None,
) -> None:
    """Build the heat layer (TXx return levels, hot days, heat waves, hot nights, CDD)."""
    _, layer = _run("heat", projections, scenarios, horizons, out, config)
    _print_summary(layer, "heat")
    console.print(f"heat layer {out}")
    for path in _plots(layer, "heat", out) if plot else []:
        console.print(f"figure     {path}")


@app.command()
def rain(
    projections: ProjectionsOption,
    scenarios: ScenariosOption = None,
    horizons: HorizonsOption = None,
    out: Annotated[Path, typer.Option("--out", help="Layer file (NetCDF).")] = Path("rain.nc"),
    heat_layer: Annotated[
        Path | None,
        typer.Option("--heat-layer", help="Heat layer for the Clausius-Clapeyron IDF uplift."),
    ] = None,
    plot: PlotOption = False,
    config: ConfigOption = None,
) -> None:
    """Build the rain layer and the future IDF layer (``<out>_idf.nc``)."""
    settings, layer = _run("rain", projections, scenarios, horizons, out, config)
    _print_summary(layer, "rain")
    console.print(f"rain layer {out}")
    paths = _idf(layer, heat_layer, settings.rain_uplift_method, out, plot)
    for path in (_plots(layer, "rain", out) if plot else []) + paths:
        console.print(f"{'IDF' if 'idf' in path.name else 'figure':<10} {path}")


@app.command()
def drainage(
    lat: Annotated[float, typer.Option("--lat", help="Site latitude, degrees north.")],
    lon: Annotated[float, typer.Option("--lon", help="Site longitude, degrees east.")],
    design_return_period: Annotated[
        float, typer.Option("--design-return-period", help="Drainage design period, years.")
    ],
    idf: Annotated[
        Path | None, typer.Option("--idf", help="IDF layer file (default: the layer store).")
    ] = None,
    duration: Annotated[float, typer.Option("--duration", help="Design storm, min.")] = 120.0,
    peak_ratio: Annotated[
        float | None, typer.Option("--peak-ratio", help="Chicago peak ratio r (default 0.367).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Effective return period of today's design storm per scenario and horizon."""
    import dataclasses

    import xarray as xr

    from hazard_models.rain.idf import SHANGHAI_DB31_T1043, chicago_hyetograph
    from hazard_models.rain.idf_layer import drainage_check, drainage_standard
    from resilience.settings import get_settings
    from resilience.storage.layer_store import LayerStore

    formula = SHANGHAI_DB31_T1043
    if peak_ratio is not None:
        try:
            formula = dataclasses.replace(formula, peak_ratio=peak_ratio)
        except ValueError as error:
            _fail(f"--peak-ratio: {error}")
    try:
        layer = (
            xr.load_dataset(idf)
            if idf is not None
            else LayerStore(get_settings(config).layer_store_dir).open("idf")
        )
        effective = drainage_check(layer, design_return_period, lat=lat, lon=lon, formula=formula)
    except (KeyError, FileNotFoundError, ValueError) as error:
        _fail(str(error))
    standard = drainage_standard(design_return_period)
    target = f"{design_return_period:g} yr"
    table = Table(title=f"{target} design storm at {lat:.3f} N {lon:.3f} E")
    for column in ("scenario", "horizon", "effective RP (median)", "10-90 % range", "vs " + target):
        table.add_column(column)
    for scenario in effective["scenario"].values:
        for horizon in effective["horizon"].values:
            row = effective.sel(scenario=scenario, horizon=horizon)
            q = {
                float(k): float(v) for k, v in zip(row["quantile"].values, row.values, strict=True)
            }
            low, mid, high = q[min(q)], q[sorted(q)[len(q) // 2]], q[max(q)]
            # judged against the period the user designs for, not the class's lower bound
            # (a 5-yr system is below its design once its storm recurs every 4 years)
            verdict = "met" if mid >= design_return_period * (1 - 1e-9) else "BELOW"
            table.add_row(
                str(scenario), str(horizon), f"{mid:.2f} yr", f"{high:.2f}-{low:.2f}", verdict
            )
    console.print(table)
    klass = (
        f"it is in Shanghai's {standard[0]} class (at least {standard[1]:g} yr; "
        "DRAINAGE_STANDARDS, domain.md 2.3)"
        if standard is not None
        else "it is below every Shanghai drainage class (the lowest is 3 yr; domain.md 2.3)"
    )
    console.print(
        f"Design period {target}: {klass}. BELOW = the median effective return period of "
        f"today's {target} design storm falls under {target}."
    )
    steps = chicago_hyetograph(design_return_period, duration, formula)
    console.print(
        f"Chicago design storm ({duration:g} min, r = {formula.peak_ratio:g}): "
        f"{steps.sum():.1f} mm, peak {steps.max():.1f} mm in 5 min; "
        "5-min depths: " + " ".join(f"{x:.1f}" for x in steps)
    )
