"""Feasibility checks of a batch of submissions: each file -> check -> stored -> report.

Reads like a table of contents. Every submission goes through
:func:`resilience.feasibility.service.check_submission`, the one entry point that the CLI
(``resilience check``) and the REST API (``POST /v1/checks``) use too, so a file checked here
gets the same :class:`~resilience.feasibility.models.CheckResult` (and ``result_hash``) as
anywhere else for the same layer versions and settings. Each check is stored with
:func:`~resilience.feasibility.store.save_check` (no owner, like the CLI) after its report is
written with :func:`~resilience.feasibility.report.write_report`, so a database that cannot
take the row loses no report. A submission that is invalid, or whose site lies outside the
layers, is recorded with its error and the others are still checked.

Run it as a Prefect flow (``feasibility_flow``) or as plain calls (``run_feasibility_checks``
with ``use_prefect=False``): the sequence is written once, in ``feasibility_sequence``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from prefect import flow, task
from pydantic import BaseModel


class CheckedSubmission(BaseModel):
    """One submission file's check: its ids, verdict and hash, or why it was not checked."""

    file: Path
    check_id: str | None = None  #: ``CheckResult.check_id``, the report's file name
    record_id: int | None = None  #: the row of ``check_results`` in the database
    verdict: str | None = None
    governing_hazard: str | None = None
    result_hash: str | None = None
    html: Path | None = None
    json_path: Path | None = None
    error: str | None = None  #: an invalid submission or a site outside the layers


class FeasibilityRun(BaseModel):
    """The checks of one run, in the order of the files."""

    checks: list[CheckedSubmission]

    @property
    def failed(self) -> list[CheckedSubmission]:
        """The submissions that could not be checked."""
        return [c for c in self.checks if c.error is not None]


def submission_files(submissions: Path | list[Path]) -> list[Path]:
    """Return the submission files: a folder's ``*.json`` (sorted by name), or the list."""
    if isinstance(submissions, list):
        return [Path(p) for p in submissions]
    folder = Path(submissions)
    if not folder.is_dir():
        return [folder]
    return sorted(folder.glob("*.json"))


def check_file(
    path: Path, out_dir: Path, config: Path | None = None, *, lang: str = "en"
) -> CheckedSubmission:
    """Check one submission file, write its report, then store it (as ``resilience check``)."""
    from resilience.feasibility.check import FeasibilityError
    from resilience.feasibility.models import SubmissionError, read_submission
    from resilience.feasibility.report import write_report
    from resilience.feasibility.service import check_submission
    from resilience.feasibility.store import save_check
    from resilience.settings import get_settings
    from resilience.storage.database import make_engine

    settings = get_settings(config)
    try:
        submission = read_submission(path)
        result = check_submission(submission, settings)
    except (SubmissionError, FeasibilityError) as error:
        return CheckedSubmission(file=Path(path), error=str(error))
    files = write_report(result, Path(out_dir), lang=lang)
    record_id = save_check(make_engine(settings.resolved_database_url), submission, result)
    return CheckedSubmission(
        file=Path(path),
        check_id=result.check_id,
        record_id=record_id,
        verdict=result.verdict,
        governing_hazard=result.governing_hazard,
        result_hash=result.result_hash,
        html=files["html"],
        json_path=files["json"],
    )


# Retries on the step that touches the disk and the database (style.md).
TASKS = SimpleNamespace(
    submission_files=task(name="find-submissions")(submission_files),
    check_file=task(name="check-submission", retries=1)(check_file),
)
PLAIN = SimpleNamespace(submission_files=submission_files, check_file=check_file)


def feasibility_sequence(
    run: SimpleNamespace,
    submissions: Path | list[Path],
    out_dir: Path,
    *,
    config: Path | None = None,
    lang: str = "en",
) -> FeasibilityRun:
    """Sequence the steps with ``run`` (Prefect tasks or plain functions)."""
    files = run.submission_files(submissions)
    return FeasibilityRun(checks=[run.check_file(p, out_dir, config, lang=lang) for p in files])


@flow(name="feasibility-checks", log_prints=True)
def feasibility_flow(
    submissions: Path | list[Path],
    out_dir: Path,
    config: Path | None = None,
    lang: str = "en",
) -> FeasibilityRun:
    """Check every submission in a folder (``*.json``) or a list of files under Prefect.

    ``config`` is the settings TOML file (layer store, database, design-life target); the
    default is ``resilience.toml`` and ``RESILIENCE_*`` variables, as for the CLI.
    """
    return feasibility_sequence(TASKS, submissions, out_dir, config=config, lang=lang)


def run_feasibility_checks(
    submissions: Path | list[Path],
    out_dir: Path,
    *,
    config: Path | None = None,
    lang: str = "en",
    use_prefect: bool = True,
) -> FeasibilityRun:
    """Run the checks under Prefect, or as plain function calls."""
    if use_prefect:
        return feasibility_flow(submissions, out_dir, config, lang)
    return feasibility_sequence(PLAIN, submissions, out_dir, config=config, lang=lang)
