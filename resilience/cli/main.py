"""Command line of resilience: one typer app, every command listed in ``resilience --help``.

Start-up stays light (style.md rule 4): only typer and rich are imported here; each command
imports what it needs. The CLI is the composition root, so ``demo`` and ``refresh`` import
``flows`` inside the command (docs/decisions.md D3). Only those two run flows, and only with
settings ``use_prefect = true``: no other command imports Prefect or starts its temporary
server (tests/resilience/cli/test_no_prefect.py). With ``PREFECT_API_URL`` set, they use
that server instead of starting one (docs/operations.md).
"""

from __future__ import annotations

import json
import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from resilience.cli.help_format import hide_flag_placeholders

app = typer.Typer(
    name="resilience",
    help="Climate risk and urban resilience engine for Shanghai.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
error_console = Console(stderr=True, soft_wrap=True)
hide_flag_placeholders()


ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Settings TOML file (default: resilience.toml).")
]


def _settings(config: Path | None, **overrides: Any):  # noqa: ANN202 - pydantic model
    from resilience.cli.failure import read_settings  # one line per field, no traceback

    return read_settings(config, **overrides)


def _enter_scheduler(stack: ExitStack, address: str | None) -> None:
    """Enter the dask scheduler of the settings, or fail in one line if it cannot be reached."""
    from resilience.compute import dask_scheduler

    try:
        stack.enter_context(dask_scheduler(address))
    except OSError as error:  # names the address and the setting
        _fail(str(error))


def _print_version(value: bool) -> None:
    if value:
        from resilience import __version__

        typer.echo(f"resilience {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Climate risk and urban resilience engine for Shanghai."""


def _fail(message: str) -> NoReturn:
    error_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=2)


def _quiet_prefect_defaults() -> None:
    """Local, private Prefect defaults for one-shot CLI runs that use Prefect.

    Also starts the watchdog of :mod:`flows.server_guard`, so that Prefect's temporary
    server does not outlive a run killed with SIGKILL (issue 13, item 7).
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    from flows.server_guard import guard_ephemeral_server

    guard_ephemeral_server()


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the sample into.")],
) -> None:
    """Write the deterministic Shanghai sample (projections, assets, tides, forecast)."""
    from resilience.sample.bundle import write_sample

    start = time.perf_counter()
    paths = write_sample(out, progress=lambda m: console.print(f"  writing {m} ..."))
    table = Table(title=f"Sample written in {time.perf_counter() - start:.1f} s")
    table.add_column("part")
    table.add_column("path", overflow="fold")  # whole paths at 80 columns, never cut
    for name, path in paths.model_dump().items():
        table.add_row(name, str(path))
    console.print(table)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Directory for every demo output.")] = Path(
        "demo-output"
    ),
    config: ConfigOption = None,
) -> None:
    """Run the three user paths end to end on the bundled sample and summarise them."""
    out = out.resolve()
    settings = _settings(config, data_dir=out / "data")
    if settings.use_prefect:
        _quiet_prefect_defaults()
    from flows.demo import run_demo
    from resilience.cli.summary import print_demo_summary

    start = time.perf_counter()
    console.print(f"[bold]resilience demo[/] -> {out}")
    with ExitStack() as stack:
        _enter_scheduler(stack, settings.dask_address)
        result = run_demo(
            out,
            database_url=settings.resolved_database_url,
            target_probability=settings.design_life_target_probability,
            use_prefect=settings.use_prefect,
        )
    print_demo_summary(console, result, elapsed_s=time.perf_counter() - start)


@app.command()
def refresh(
    profile: Annotated[
        Path | None,
        typer.Option("--profile", help="City profile (YAML or TOML, docs/profile.md)."),
    ] = None,
    sample_dir: Annotated[
        Path | None,
        typer.Option("--sample", help="A folder holding profile.yaml (e.g. `resilience sample`)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Where the risk table is written.")] = Path(
        "refresh-output"
    ),
    config: ConfigOption = None,
) -> None:
    """Rebuild a city's hazard layers into the layer store and recompute its risk table."""
    settings = _settings(config)
    if settings.use_prefect:
        _quiet_prefect_defaults()
    from flows.refresh import run_refresh  # imports Prefect only for a Prefect run
    from resilience.profile import ProfileError, find_profile, load_profile

    if (profile is None) == (sample_dir is None):
        _fail("give --profile FILE or --sample DIR (one of them)")
    try:
        path = profile if profile is not None else find_profile(Path(str(sample_dir)))
        city = load_profile(path)
    except ProfileError as error:
        _fail(str(error))
    console.print(f"refreshing {city.name} from {city.source}", highlight=False, soft_wrap=True)
    from resilience.climate.bias import BiasAdjustmentError
    from resilience.climate.projection_file import ClimateDataError
    from resilience.schema import SchemaError

    try:
        with ExitStack() as stack:
            _enter_scheduler(stack, settings.dask_address)
            result = run_refresh(
                path.resolve(),
                settings.layer_store_dir.resolve(),
                out.resolve(),
                use_prefect=settings.use_prefect,
                idf_method=settings.rain_uplift_method,
                risk_export_max_rows=settings.risk_export_max_rows,
                progress=lambda line: error_console.print(f"  {line}", highlight=False),
            )
    except (
        ProfileError,
        SchemaError,
        ClimateDataError,
        BiasAdjustmentError,
        FileNotFoundError,
    ) as error:
        _fail(f"refresh of {city.name} ({path}): {error}")
    for name, layer in result.layers.items():
        console.print(f"layer {name:<13} {layer}", highlight=False, soft_wrap=True)
    done = ", ".join(f"{step} {outcome}" for step, outcome in result.step_outcomes.items())
    console.print(f"steps: {done}", highlight=False)  # built or reused (docs/operations.md)
    risk = result.risk
    for label, file in (("risk table", risk.parquet), ("", risk.gpkg), ("", risk.csv)):
        if file is not None:
            console.print(f"{label:<19} {file}", highlight=False, soft_wrap=True)
    if risk.exports_skipped:
        console.print(f"{'':<19} {risk.exports_skipped}", highlight=False, soft_wrap=True)
    console.print(
        f"provenance          {result.risk.provenance} (synthetic inputs: {result.risk.synthetic})",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def fit(
    csv_file: Annotated[Path, typer.Argument(help="CSV with one value per row.")],
    column: Annotated[str, typer.Option("--column", help="Column to fit.")],
    dist: Annotated[str, typer.Option("--dist", help="gev, gpd or gumbel.")] = "gev",
    method: Annotated[str, typer.Option("--method", help="mle, lmoments or pmle.")] = "mle",
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="GPD threshold, data units.")
    ] = None,
    per_year: Annotated[
        float, typer.Option("--per-year", help="Observations per year (GPD).")
    ] = 365.0,
    covariate: Annotated[
        str | None, typer.Option("--covariate", help="Column for a GEV location trend.")
    ] = None,
    return_periods: Annotated[
        str, typer.Option("--return-periods", help="Comma-separated years.")
    ] = "2,10,50,100",
    ci: Annotated[
        str, typer.Option("--ci", help="auto (profile for mle), profile, delta or bootstrap.")
    ] = "auto",
    shape_bound: Annotated[
        str, typer.Option("--shape-bound", help="b of xi in [-b, b] (mle), or 'none'.")
    ] = "0.5",
    floor: Annotated[
        float | None, typer.Option("--floor", help="Physical floor (0: rain).")
    ] = None,
    date_column: Annotated[
        str | None, typer.Option("--date-column", help="Dates: a column or year,month,day,hour.")
    ] = None,
    block: Annotated[str, typer.Option("--block", help="annual, DJF, MAM, JJA or SON.")] = "annual",
    run_length: Annotated[int, typer.Option("--run-length", help="Declustering run.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Return-level plot (PNG).")] = None,
    qq_plot: Annotated[Path | None, typer.Option("--qq-plot", help="P-P, Q-Q plots (PNG).")] = None,
    threshold_plot: Annotated[
        Path | None,
        typer.Option("--threshold-plot", help="Mean-residual-life and stability plots (PNG)."),
    ] = None,
) -> None:
    """Fit a GEV, Gumbel or GPD to a station record or dated series, with 95 % intervals.

    Says when the shape sits on its bound (status shape_at_bound, the unrestricted estimate
    and the deviance); docs/fitting.md.
    """
    from hazard_models.layer import SchemaError
    from resilience.fitting.display import write_plots
    from resilience.fitting.series import load_record
    from resilience.fitting.station_fit import fit_station

    choices = {
        "dist": (dist, ("gev", "gpd", "gumbel")),
        "method": (method, ("mle", "lmoments", "pmle")),
        "ci": (ci, ("auto", "profile", "delta", "bootstrap")),
        "block": (block, ("annual", "DJF", "MAM", "JJA", "SON")),
    }
    for option, (value, allowed) in choices.items():
        if value not in allowed:
            _fail(f"--{option} {value!r}: expected one of {', '.join(allowed)}")
    try:
        periods = [float(p) for p in return_periods.split(",") if p.strip()]
        bound = None if shape_bound.strip().lower() == "none" else float(shape_bound)
    except ValueError:
        _fail(f"--return-periods {return_periods!r} or --shape-bound {shape_bound!r}: expected "
              "comma-separated numbers, and a positive number or 'none'")  # fmt: skip
    try:
        record, extra, per_year = load_record(
            csv_file, column, date_column, dist=dist, threshold=threshold, block=block,  # type: ignore[arg-type]
            run_length=run_length, covariate=covariate, per_year=per_year,
        )  # fmt: skip
        report = fit_station(
            record, dist=dist, method=method, threshold=threshold, per_year=per_year,  # type: ignore[arg-type]
            return_periods=periods, ci=ci, shape_bound=bound, floor=floor,  # type: ignore[arg-type]
        )  # fmt: skip  # dist, method, ci: checked against the choices above
    except (FileNotFoundError, SchemaError, ValueError) as error:
        _fail(str(error))
    report.diagnostics.update(extra)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        from resilience.fitting.display import format_fit

        for table in format_fit(report):
            console.print(table)
    for message in write_plots(report, record, plot, qq_plot, threshold_plot):
        if not as_json:
            console.print(message)


@app.command()
def pull(
    catalog: Annotated[Path | None, typer.Argument(help="Catalogue YAML of sources.")] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Local glob or folder of daily CMIP6 files (NEX-GDDP-CMIP6 or DRS names, or "
            "any name with CMIP6 global attributes), or an HTTP URL template.",
        ),
    ] = None,
    models: Annotated[str, typer.Option("--models", help="For a URL template.")] = "",
    experiments: Annotated[str, typer.Option("--experiments", help="For a URL template.")] = "",
    region: Annotated[
        str | None,
        typer.Option("--region", help="shanghai, global (whole grid) or lon0,lat0,lon1,lat1."),
    ] = "shanghai",
    horizons: Annotated[str, typer.Option("--horizons")] = "baseline,mid,far",
    variables: Annotated[str, typer.Option("--variables")] = "tasmax,pr",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Projections store to write (Zarr, docs/projections_store.md)."),
    ] = None,
    reference: Annotated[
        Path | None, typer.Option("--reference", help="Observed reference (NetCDF) for QDM.")
    ] = None,
    rehash: Annotated[
        bool,
        typer.Option("--rehash", help="With --out: hash every input, trusting no record."),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Pull projections from a catalogue or a glob, normalise them and report what is there.

    With --out, write them as a projections store; a store already holding the same inputs
    and request is left as it is.
    """
    settings = _settings(config)
    from resilience.climate.catalog import CatalogError, load_catalog
    from resilience.climate.projection_file import ClimateDataError
    from resilience.climate.pull import catalog_from_source, pull_projections, resolve_region
    from resilience.climate.store import open_projection_store, pull_to_store
    from resilience.schema import SchemaError

    if (catalog is None) == (source is None):
        _fail("give a CATALOG file or --source PATH_GLOB (one of them)")
    wanted, cache_dir = _split(variables), settings.data_dir / "cache"
    try:
        sources = (
            load_catalog(catalog)
            if catalog
            else catalog_from_source(
                str(source),
                variables=wanted,
                models=_split(models),
                experiments=_split(experiments),
            )
        )
        if out is not None:
            written = pull_to_store(
                sources,
                out,
                variables=wanted,
                horizons=_split(horizons),
                cache_dir=cache_dir,
                region=resolve_region(region),
                reference=reference,
                rehash=rehash,
                progress=lambda line: error_console.print(f"  {line}", highlight=False),
            )
            ds = open_projection_store(out)
        else:
            ds = pull_projections(
                sources,
                variables=wanted,
                horizons=_split(horizons),
                cache_dir=cache_dir,
                region=resolve_region(region),
            )
            if reference is not None:
                from resilience.climate.bias import adjust_qdm

                names = [str(v) for v in ds.data_vars]
                ds = adjust_qdm(ds, _open_reference(reference), variables=names)
    except (
        CatalogError,
        ClimateDataError,
        SchemaError,
        FileNotFoundError,
        ValueError,
        RuntimeError,
    ) as error:
        _fail(str(error))
    _print_pulled(ds)
    if out is not None:
        verb = "unchanged (same inputs and request)" if written.status == "unchanged" else "written"
        console.print(
            f"projections store {out}: {verb}; {written.files} input files, inputs sha256 "
            f"{written.inputs_sha256[:12] or '(not hashed: remote addresses)'}",
            highlight=False,
        )


def _print_pulled(ds) -> None:  # noqa: ANN001 - xarray Dataset
    """Print a table of what was pulled, then every missing combination as a warning."""
    table = Table(title="Projections pulled")
    for column in ("variable", "units", "models", "scenarios", "years", "lat x lon"):
        table.add_column(column)
    years = ds["time"].dt.year
    for name, var in ds.data_vars.items():
        table.add_row(
            str(name),
            var.attrs.get("units", ""),
            str(ds.sizes["model"]),
            " ".join(str(s) for s in ds["scenario"].values),
            f"{int(years.min())}-{int(years.max())}",
            f"{ds.sizes['lat']} x {ds.sizes['lon']}",
        )
    console.print(table)
    missing = [line for line in ds.attrs.get("missing_combinations", "").split("\n") if line]
    console.print(f"missing combinations: {len(missing) or 'none'}", highlight=False)
    for line in missing:
        error_console.print(f"[yellow]warning:[/] {line}", highlight=False)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _open_reference(path: Path):  # noqa: ANN202 - xarray Dataset
    import xarray as xr

    return xr.open_dataset(path, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True))


@app.command()
def layers(config: ConfigOption = None) -> None:
    """List the published hazard layers and their versions."""
    settings = _settings(config)
    from resilience.storage.layer_store import LayerStore

    store = LayerStore(settings.layer_store_dir)
    table = Table(title=f"Layer store {store.root}")
    for column in ("layer", "current", "versions", "created", "file"):
        table.add_column(column)
    for name in store.names():
        entry = store.current(name)
        table.add_row(
            name,
            entry.version,
            str(len(store.versions(name))),
            entry.manifest.get("created", ""),
            str(entry.path),
        )
    console.print(table)


@app.command()
def version() -> None:
    """Print the version."""
    from resilience import __version__

    typer.echo(json.dumps({"resilience": __version__}))


if __name__ == "__main__":  # pragma: no cover
    app()


# Command groups that live in their own modules (typer and rich only at import time).
from resilience.cli.cascade import cascade_command  # noqa: E402
from resilience.cli.check import check_command  # noqa: E402
from resilience.cli.compound import compound_command  # noqa: E402
from resilience.cli.db import db_app  # noqa: E402
from resilience.cli.flood import flood_command  # noqa: E402
from resilience.cli.hazards import app as _hazards_app  # noqa: E402
from resilience.cli.keys import keys_app  # noqa: E402
from resilience.cli.surge import surge_command  # noqa: E402
from resilience.cli.warn import serve_command, warn_app  # noqa: E402

app.command("check")(check_command)
app.add_typer(_hazards_app, name="hazards")
app.command("surge")(surge_command)
app.command("flood")(flood_command)
app.command("compound")(compound_command)
app.command("cascade")(cascade_command)
app.add_typer(warn_app, name="warn")
app.command("serve")(serve_command)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
