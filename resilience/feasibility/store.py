"""Store feasibility checks in the database (``resilience.storage.database``)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from resilience.feasibility.models import CheckResult, Submission
from resilience.storage.database import session_scope
from resilience.storage.tables import CheckRecord, SubmissionRecord

__all__ = ["load_check", "save_check"]


def save_check(engine: Engine, submission: Submission, result: CheckResult) -> int:
    """Store a submission and its check result; return the ``CheckRecord`` id.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        From ``resilience.storage.database.make_engine`` (tables exist).
    submission : Submission
        As received.
    result : CheckResult
        Its check; stored whole as JSON with the verdict, score and layer versions as columns.

    Returns
    -------
    int
        Primary key of the new ``check_results`` row.
    """
    with session_scope(engine) as session:
        stored = SubmissionRecord(
            project_name=submission.project_name,
            asset_type=submission.asset_type,
            lon=submission.lon,
            lat=submission.lat,
            payload=submission.model_dump(mode="json"),
        )
        session.add(stored)
        session.flush()
        record = CheckRecord(
            submission_id=stored.id,
            verdict=result.verdict,
            score=float(result.overall_score or 0),
            layer_versions=dict(result.layer_versions),
            payload=result.model_dump(mode="json"),
            created=result.created,
        )
        session.add(record)
        session.flush()
        return int(record.id)


def load_check(engine: Engine, record_id: int) -> CheckResult:
    """Return the check result stored under ``record_id``.

    Raises
    ------
    KeyError
        If no check has that id.
    """
    with session_scope(engine) as session:
        record = session.get(CheckRecord, record_id)
        if record is None:
            raise KeyError(f"no feasibility check with id {record_id}")
        return CheckResult.model_validate(record.payload)
