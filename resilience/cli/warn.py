"""``resilience warn [verify|deliver]`` and ``resilience serve``.

``resilience warn --forecast FILE --out DIR`` evaluates the warning rules on a forecast and
writes its CAP 1.2 messages (the callback of the ``warn`` group runs when no subcommand is
given); ``warn verify`` scores CAP files against observed events; ``warn deliver`` runs the
outbox worker. ``serve`` runs the REST API under uvicorn (keys: :mod:`resilience.cli.keys`).
Registered on the main app by ``resilience.cli.main``. Imports stay inside the commands so that
``resilience --help`` stays fast (style.md rule 4).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from resilience.cli.failure import fail, read_rules, read_settings

__all__ = ["serve_command", "warn_app"]

warn_app = typer.Typer(
    help="Warnings: evaluate the rules on a forecast (no subcommand), deliver, verify.",
    invoke_without_command=True,
    no_args_is_help=False,
)
console = Console()
error_console = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Settings TOML file (default: resilience.toml).")
]
RulesOption = Annotated[Path | None, typer.Option("--rules", help="Rule set YAML.")]


#: Exit code of ``resilience warn`` when the forecast had data-quality problems (2: an error).
DATA_QUALITY_EXIT = 3


_fail = fail  # the names the commands below use
_settings = read_settings
_rules = read_rules


def _issue(options: dict[str, Any]) -> None:
    """Run the rules on one forecast and print its bulletin sequence."""
    from rich.markup import escape

    from hazard_models.layer import SchemaError
    from resilience.early_warning import format_bulletins, run_warnings
    from resilience.early_warning.bulletin import data_quality_lines
    from resilience.early_warning.run import load_inputs
    from resilience.geodata.geography import open_districts

    settings = _settings(options["config"])
    rules = _rules(options["rules"])
    try:
        inputs = load_inputs(
            rules,
            assets_path=options["assets"],
            layer_store=options["layers"],
        )
        run = run_warnings(
            options["forecast"],
            rules_path=options["rules"],
            districts=open_districts(options["districts"]),
            database_url=settings.resolved_database_url,
            out_dir=options["out"],
            assets=inputs.assets,  # type: ignore[arg-type]  # a GeoDataFrame or None
            layers=inputs.layers,
        )
    except (SchemaError, ValueError, OSError) as error:
        _fail(str(error))
    console.print(format_bulletins(run))
    hint = {"assets": "give --assets FILE", "layer": "give --layers DIR"}
    for rule_id, why in sorted(run.skipped_rules.items()):
        how = hint["assets"] if "inventory" in why else hint["layer"]
        console.print(f"  rule {rule_id} skipped: {why}; {how}", highlight=False)
    if run.data_quality:
        for line in data_quality_lines(run):
            error_console.print(f"[bold red]{escape(line)}[/]", highlight=False)
        error_console.print(
            f"[bold red]error:[/] the forecast has {len(run.data_quality)} data-quality "
            "problem(s); the messages above were issued from what it holds",
            highlight=False,
        )
        raise typer.Exit(code=DATA_QUALITY_EXIT)


@warn_app.callback(invoke_without_command=True)
def warn(
    ctx: typer.Context,
    forecast: Annotated[
        Path | None, typer.Option("--forecast", help="Forecast NetCDF file.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Directory for the CAP files.")] = None,
    rules: RulesOption = None,
    districts: Annotated[
        Path | None, typer.Option("--districts", help="District boundaries (GeoJSON).")
    ] = None,
    assets: Annotated[
        Path | None, typer.Option("--assets", help="Asset inventory for the impact rules.")
    ] = None,
    layers: Annotated[
        Path | None,
        typer.Option("--layers", help="Layer store for hazard-layer thresholds (e.g. idf)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Evaluate the warning rules on a forecast and write CAP 1.2 bulletins."""
    if ctx.invoked_subcommand is not None:
        if forecast is not None or out is not None:
            _fail("--forecast and --out go with `resilience warn` alone, not with a subcommand")
        return
    if forecast is None or out is None:
        _fail("give --forecast FILE and --out DIR, or a subcommand (verify, deliver); see --help")
    if not forecast.is_file():
        _fail(f"{forecast}: no such file")
    _issue(
        {
            "forecast": forecast,
            "out": out,
            "rules": rules,
            "districts": districts,
            "assets": assets,
            "layers": layers,
            "config": config,
        }
    )


def _fmt(value: float, pattern: str = "{:.2f}") -> str:
    return "-" if value != value else pattern.format(value)  # NaN: no events or no warnings


def _with_interval(value: float, low: float, high: float) -> str:
    """``0.50 [0.15, 0.85]``, or ``-`` when the score is undefined."""
    return "-" if value != value else f"{value:.2f} [{low:.2f}, {high:.2f}]"


def _verification_json(scores: Any, *, tolerance_h: float, interval: str, level: float) -> str:
    """Return the score table as JSON: one object per hazard and level, NaN as null."""
    import json

    rows = [
        {key: (None if isinstance(v, float) and v != v else v) for key, v in row.items()}
        for row in scores.astype(object).to_dict(orient="records")
    ]
    body = {
        "tolerance_h": tolerance_h,
        "interval": {"method": interval, "confidence": level},
        "scores": rows,
    }
    return json.dumps(body, indent=2, default=int)


def _score_table(scores: Any, title: str, *, interval: str, level: float) -> Table:
    """Build the score table: counts, POD, FAR and CSI with their intervals, lead times."""
    name = {"wilson": "Wilson", "beta": "Clopper-Pearson"}[interval]
    caption = f"POD, FAR, CSI: value \\[low, high] of the {100 * level:g} % {name} interval"
    table = Table(title=title, caption=caption)
    columns = ("hazard", "level", "events", "hits", "misses", "warnings", "false alarms")
    for column in (*columns, "POD", "FAR", "CSI", "lead mean h", "lead median h"):
        table.add_column(column)
    for row in scores.itertuples(index=False):
        table.add_row(
            row.hazard,
            row.level,
            *(str(v) for v in (row.events, row.hits, row.misses, row.warnings, row.false_alarms)),
            _with_interval(row.pod, row.pod_low, row.pod_high),
            _with_interval(row.far, row.far_low, row.far_high),
            _with_interval(row.csi, row.csi_low, row.csi_high),
            _fmt(row.lead_time_mean_h, "{:.1f}"),
            _fmt(row.lead_time_median_h, "{:.1f}"),
        )
    return table


IntervalOption = Annotated[
    Literal["wilson", "beta"],
    typer.Option(
        "--interval",
        help="Confidence interval of POD, FAR and CSI: wilson (score) or beta (Clopper-Pearson).",
    ),
]


@warn_app.command("verify")
def verify(
    alerts: Annotated[
        list[Path], typer.Option("--alerts", help="CAP files or directories (repeatable).")
    ],
    observed: Annotated[Path, typer.Option("--observed", help="Observed events CSV.")],
    tolerance_h: Annotated[
        float, typer.Option("--tolerance-h", help="Widen warned intervals by H hours.")
    ] = 0.0,
    interval: IntervalOption = "wilson",
    confidence: Annotated[
        float, typer.Option("--confidence", help="Coverage of the intervals, in (0, 1).")
    ] = 0.95,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
    rules: RulesOption = None,
) -> None:
    """Score past alerts against observed events: POD, FAR, CSI (with intervals), lead time."""
    from hazard_models.layer import SchemaError
    from resilience.early_warning.verify import verify_alerts
    from resilience.early_warning.verify_inputs import read_cap_alerts, read_observed

    rule_set = _rules(rules)
    try:
        messages = read_cap_alerts(alerts, rules=rule_set)
        events = read_observed(observed, hazards=rule_set.hazards)
        result = verify_alerts(
            messages, events, tolerance_h=tolerance_h, interval=interval, confidence=confidence
        )
    except (SchemaError, ValueError) as error:
        _fail(str(error))
    if as_json:
        text = _verification_json(
            result.scores, tolerance_h=tolerance_h, interval=interval, level=confidence
        )
        typer.echo(text)
        return
    title = f"Verification of {len(messages)} messages ({tolerance_h:g} h tolerance)"
    console.print(_score_table(result.scores, title, interval=interval, level=confidence))


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    base_url: Annotated[
        str, typer.Option("--base-url", help="Public root for links (default: the request's).")
    ] = "",
    keys: Annotated[
        Path | None, typer.Option("--keys", help="Keys file (default: <data_dir>/api_keys.toml).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Server processes.")] = 1,
    check_processes: Annotated[
        int | None,
        typer.Option(
            "--check-processes",
            min=0,
            help="Processes that run feasibility checks (default: one per core; 0: in the "
            "server process, one check at a time).",
        ),
    ] = None,
    rules: RulesOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve the REST API (feasibility checks, alerts, CAP messages, feeds) with uvicorn."""
    import uvicorn

    from resilience.api.app import SERVE_ENVIRONMENT, ApiKeyError, create_app

    settings = _settings(config)
    _rules(rules)  # a bad rule file fails here, not on the first request
    if check_processes is None:  # a check holds the GIL: one process per core (bench_api_checks)
        check_processes = len(os.sched_getaffinity(0))
    try:
        app = create_app(
            settings,
            rules_path=rules,
            keys_path=keys,
            base_url=base_url,
            check_processes=check_processes if workers == 1 else 0,  # workers build their own
        )
    except ApiKeyError as error:  # a corrupt keys file: one line, not a traceback
        _fail(str(error))
    root = f"http://{host}:{port}"
    console.print(
        f"serving the warnings pages on {root}/, the API on {root}/v1/ and its documentation "
        f"on {root}/docs (Ctrl-C to stop)"
    )
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    given = {"config": config, "rules": rules, "keys": keys}
    for option, name in SERVE_ENVIRONMENT.items():  # each worker builds the same app
        value = {"base_url": base_url, "check_processes": str(check_processes)}.get(option)
        path = given.get(option)
        os.environ[name] = str(path.resolve()) if path is not None else value or ""
    factory = "resilience.api.app:app_from_environment"
    uvicorn.run(factory, factory=True, workers=workers, host=host, port=port, log_level="info")


def _register_deliver() -> None:
    from resilience.cli.deliver import deliver_command

    warn_app.command("deliver")(deliver_command)


_register_deliver()
