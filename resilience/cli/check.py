"""``resilience check FILE.json``: a project's climate feasibility against the published layers.

Runs :func:`resilience.feasibility.service.check_submission` (the one way the CLI, the REST
API and the flows check a submission, so all three give the same ``CheckResult``), writes the
report (``--report DIR``, ``--lang en|zh``) and then stores the check with no owner.
Registered on the main app by ``resilience.cli.main``; imports stay inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console

__all__ = ["check_command"]

console = Console()
error_console = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> NoReturn:
    error_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=2)


def _print_result(result: Any) -> None:  # noqa: ANN401 - CheckResult
    from resilience.feasibility.report import format_tables, terminal_text

    for table in format_tables(result, console.width):  # one table per hazard below 112 cols
        console.print(table)
    for advice in result.advice:
        where = f"{advice.hazard}, worst {terminal_text(advice.worst_scenario)}"
        console.print(f"  advice ({where}): {terminal_text(advice.message)}")
    for hazard, why in result.not_checked.items():
        console.print(f"  not checked ({hazard}): {terminal_text(why)}")
    if result.governing_hazard:
        console.print(f"  governing hazard: {result.governing_hazard}")
    for option in result.options:
        action = terminal_text(option.action)
        if option.hazard == "combined":  # its action repeats every advice line above
            action = "all the advised changes together"
        console.print(f"  option ({option.hazard}): {action} -> {option.verdict}")
    by_hazard: dict[str, list[str]] = {}
    for point in result.tipping_points:  # DAPP: the year a standard stops meeting its target
        if point.year is not None:
            where = "" if point.status == "within_life" else f", {point.status.replace('_', ' ')}"
            by_hazard.setdefault(point.hazard, []).append(
                f"{terminal_text(point.scenario)} {point.year}{where}"
            )
    for hazard, points in by_hazard.items():
        console.print(f"  tipping points ({hazard}): {'; '.join(points)}")


def check_command(
    submission: Annotated[Path, typer.Argument(help="Submission JSON file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    report_dir: Annotated[
        Path | None, typer.Option("--report", help="Also write HTML and JSON reports here.")
    ] = None,
    lang: Annotated[
        Literal["en", "zh"], typer.Option("--lang", help="Language of the report: en or zh.")
    ] = "en",
    config: Annotated[
        Path | None, typer.Option("--config", help="Settings TOML file (default: resilience.toml).")
    ] = None,
) -> None:
    """Check a project's climate feasibility against the published hazard layers.

    The report (``--report``) is written before the check is stored, so a database that
    cannot take the row (locked, read-only, unreachable) loses nothing: the command says
    where the report was kept and exits with status 2.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from resilience.feasibility.check import FeasibilityError
    from resilience.feasibility.models import SubmissionError, read_submission
    from resilience.feasibility.report import terminal_text, write_report
    from resilience.feasibility.service import check_submission
    from resilience.feasibility.store import checks_with_hash, save_check
    from resilience.settings import SettingsError, get_settings
    from resilience.storage.database import make_engine

    try:
        settings = get_settings(config)
        request = read_submission(submission)
        result = check_submission(request, settings)
    except (SubmissionError, FeasibilityError, FileNotFoundError, SettingsError) as error:
        # one line per field: each line cleaned of control characters, the breaks kept
        _fail("\n".join(terminal_text(line) for line in str(error).splitlines()))
    try:
        files = None if report_dir is None else write_report(result, report_dir, lang=lang)
    except OSError as error:
        _fail(f"{terminal_text(error)}: cannot write the report; the check was not stored")
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        _print_result(result)
    kept = "no report was written (pass --report DIR to keep one)"
    if files is not None:
        shown_files = [terminal_text(path) for path in files.values()]
        kept = f"the report was kept in {', '.join(shown_files)}"
        if not as_json:
            console.print("report " + "\n       ".join(shown_files))
    url, shown = settings.resolved_database_url, "the configured database"
    try:
        shown = terminal_text(make_url(url).render_as_string(hide_password=True))
        engine = make_engine(url)
        earlier = checks_with_hash(engine, result.result_hash)
        check_id = save_check(engine, request, result)
    except (SQLAlchemyError, OSError) as error:
        reason = terminal_text(str(error).splitlines()[0] if str(error) else repr(error))
        _fail(f"check {result.check_id} was not stored in {shown}: {reason}; {kept}")
    if not as_json:
        console.print(f"stored as check #{check_id} in {shown}")
    if earlier:  # the same submission, layer versions, code and settings: the same result
        same = ", ".join(f"#{i}" for i in earlier[-3:])
        typer.echo(
            f"re-submission: the same inputs as stored check {same} "
            f"(result_hash {result.result_hash[:12]}); the result is identical",
            err=as_json,
        )
