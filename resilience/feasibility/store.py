"""Store feasibility checks and reviewers' decisions in the database (``storage.database``).

A check is stored whole: its :class:`CheckResult` as JSON (so it loads back identical), with
the verdict, score, layer versions, owner and ``result_hash`` as columns. ``owner_key_id`` is
the API key that submitted it, ``None`` for the CLI and flows. Each write is one
transaction. :func:`store_check` answers a resubmission (same owner, same ``result_hash``)
with the first check instead of storing a copy; the unique constraint
``uq_check_results_owner_hash`` makes that hold under concurrent submissions too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from resilience.feasibility.models import CheckResult, Submission, Verdict
from resilience.storage.database import exclusive, session_scope
from resilience.storage.tables import (
    ApiKeyRecord,
    CheckDecisionRecord,
    CheckRecord,
    SubmissionRecord,
)

__all__ = [
    "checks_with_hash",
    "CheckPage",
    "CheckSummary",
    "Decision",
    "DecisionName",
    "StoredCheck",
    "add_decision",
    "list_checks",
    "load_check",
    "load_stored_check",
    "save_check",
    "store_check",
]

DecisionName = Literal["approved", "returned"]


class Decision(BaseModel):
    """A reviewer's decision on a check, as stored."""

    id: int
    decision: DecisionName
    comment: str
    reviewer: str
    created: datetime


class StoredCheck(BaseModel):
    """A stored check: its id, owner (key name, ``None`` for CLI and flow runs), decisions."""

    id: int
    owner: str | None
    created: datetime
    result: CheckResult
    decisions: list[Decision]


class CheckSummary(BaseModel):
    """One line of a list of checks."""

    id: int
    owner: str | None
    project_name: str
    asset_type: str
    verdict: Verdict
    result_hash: str | None
    created: datetime
    decision: DecisionName | None


class CheckPage(BaseModel):
    """A page of checks, newest first; ``next_offset`` is ``None`` on the last page."""

    items: list[CheckSummary]
    total: int
    limit: int
    offset: int
    next_offset: int | None


@contextmanager
def _one_writer(engine: Engine) -> Iterator[None]:
    """On SQLite, queue writers on a lock instead of SQLite's busy handler.

    SQLite lets one writer in at a time; the others retry with growing sleeps (up to 100 ms
    each), which is most of the tail latency of concurrent submissions from several server
    processes. An ``flock`` (:func:`resilience.storage.database.exclusive`) wakes the next
    writer as soon as the lock is free. PostgreSQL needs nothing of the kind.
    """
    if engine.url.get_backend_name() != "sqlite":
        yield
        return
    with exclusive(engine, "check-writes"):
        yield


def _new_record(session: Session, submission: Submission, result: CheckResult) -> CheckRecord:
    stored = SubmissionRecord(
        project_name=submission.project_name,
        asset_type=submission.asset_type,
        lon=submission.lon,
        lat=submission.lat,
        payload=submission.model_dump(mode="json"),
    )
    session.add(stored)
    session.flush()
    return CheckRecord(
        submission_id=stored.id,
        verdict=result.verdict,
        score=float(result.overall_score or 0),
        layer_versions=dict(result.layer_versions),
        payload=result.model_dump(mode="json"),
        created=result.created,
        result_hash=result.result_hash or None,
    )


def save_check(
    engine: Engine, submission: Submission, result: CheckResult, *, owner_key_id: int | None = None
) -> int:
    """Store a submission and its check result (one transaction); return the check's id.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        From ``resilience.storage.database.make_engine`` (tables exist).
    submission : Submission
        As received.
    result : CheckResult
        Its check; stored whole as JSON with the verdict, score and layer versions as columns.
    owner_key_id : int, optional
        The ``api_keys`` id that submitted it; ``None`` (CLI, flows) always stores a new row.

    Returns
    -------
    int
        Primary key of the new ``check_results`` row.

    Raises
    ------
    sqlalchemy.exc.IntegrityError
        If ``owner_key_id`` already has a check with this ``result_hash`` (use
        :func:`store_check` to get that one instead).
    """
    with _one_writer(engine), session_scope(engine) as session:
        record = _new_record(session, submission, result)
        record.owner_key_id = owner_key_id
        session.add(record)
        session.flush()
        return int(record.id)


def checks_with_hash(engine: Engine, result_hash: str) -> list[int]:
    """Return the ids of stored checks with this ``result_hash``, oldest first (any owner).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The database.
    result_hash : str
        ``CheckResult.result_hash`` (same submission, layer versions, code and parameters).

    Returns
    -------
    list of int
        Empty when these inputs were never checked here.
    """
    if not result_hash:
        return []
    with session_scope(engine) as session:
        query = select(CheckRecord.id).where(CheckRecord.result_hash == result_hash)
        return [int(i) for i in session.scalars(query.order_by(CheckRecord.id))]


def _same_result(engine: Engine, owner_key_id: int, result_hash: str) -> int | None:
    with session_scope(engine) as session:
        query = select(CheckRecord.id).where(
            CheckRecord.owner_key_id == owner_key_id, CheckRecord.result_hash == result_hash
        )
        return session.scalars(query.order_by(CheckRecord.id)).first()


def store_check(
    engine: Engine, submission: Submission, result: CheckResult, *, owner_key_id: int
) -> tuple[int, bool]:
    """Store a check for an API key unless that key already has one with the same hash.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The database.
    submission : Submission
        As received.
    result : CheckResult
        Its check (``result_hash`` set by :func:`resilience.feasibility.check.run_check`).
    owner_key_id : int
        The submitting key's ``api_keys`` id.

    Returns
    -------
    tuple of (int, bool)
        The check id, and ``True`` if it is an earlier check of this owner with the same
        ``result_hash`` (nothing new was stored).
    """
    digest = result.result_hash
    if digest:
        earlier = _same_result(engine, owner_key_id, digest)
        if earlier is not None:
            return int(earlier), True
    try:
        return save_check(engine, submission, result, owner_key_id=owner_key_id), False
    except IntegrityError:  # a concurrent identical submission stored it first
        earlier = _same_result(engine, owner_key_id, digest) if digest else None
        if earlier is None:
            raise
        return int(earlier), True


def _decisions(session: Session, check_id: int) -> list[Decision]:
    rows = session.execute(
        select(CheckDecisionRecord, ApiKeyRecord.name)
        .join(ApiKeyRecord, ApiKeyRecord.id == CheckDecisionRecord.reviewer_key_id)
        .where(CheckDecisionRecord.check_id == check_id)
        .order_by(CheckDecisionRecord.id)
    ).all()
    return [
        Decision(id=d.id, decision=d.decision, comment=d.comment, reviewer=name, created=d.created)  # type: ignore[arg-type]  # decision holds only the two values (checked on write)
        for d, name in rows
    ]


def load_stored_check(engine: Engine, check_id: int) -> tuple[StoredCheck, int | None]:
    """Return a stored check with its decisions, and the id of the key that owns it.

    Raises
    ------
    KeyError
        If no check has that id.
    """
    with session_scope(engine) as session:
        found = session.execute(
            select(CheckRecord, ApiKeyRecord.name)
            .outerjoin(ApiKeyRecord, ApiKeyRecord.id == CheckRecord.owner_key_id)
            .where(CheckRecord.id == check_id)
        ).first()
        if found is None:
            raise KeyError(f"no feasibility check with id {check_id}")
        record, owner = found
        stored = StoredCheck(
            id=record.id,
            owner=owner,
            created=record.created,
            result=CheckResult.model_validate(record.payload),
            decisions=_decisions(session, record.id),
        )
        return stored, record.owner_key_id


def load_check(engine: Engine, record_id: int) -> CheckResult:
    """Return the check result stored under ``record_id``.

    Raises
    ------
    KeyError
        If no check has that id.
    """
    return load_stored_check(engine, record_id)[0].result


def list_checks(
    engine: Engine, *, owner_key_id: int | None, limit: int = 50, offset: int = 0
) -> CheckPage:
    """Return a page of checks, newest first: one owner's, or every check if ``None``.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The database.
    owner_key_id : int or None
        Only this key's checks; ``None`` lists all (a reviewer's view).
    limit, offset : int
        Page size (at least 1) and how many checks to skip.

    Returns
    -------
    CheckPage
    """
    latest = (
        select(CheckDecisionRecord.decision)
        .where(CheckDecisionRecord.check_id == CheckRecord.id)
        .order_by(CheckDecisionRecord.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    columns = (  # not the payloads: a page of 20 would parse about 1 MB of JSON
        CheckRecord.id,
        ApiKeyRecord.name,
        SubmissionRecord.project_name,
        SubmissionRecord.asset_type,
        CheckRecord.verdict,
        CheckRecord.result_hash,
        CheckRecord.created,
        latest,
    )
    query = (
        select(*columns)
        .join(SubmissionRecord, SubmissionRecord.id == CheckRecord.submission_id)
        .outerjoin(ApiKeyRecord, ApiKeyRecord.id == CheckRecord.owner_key_id)
    )
    counted = select(func.count(CheckRecord.id))
    if owner_key_id is not None:
        query = query.where(CheckRecord.owner_key_id == owner_key_id)
        counted = counted.where(CheckRecord.owner_key_id == owner_key_id)
    query = query.order_by(CheckRecord.created.desc(), CheckRecord.id.desc())
    with session_scope(engine) as session:
        total = int(session.scalar(counted) or 0)
        rows = session.execute(query.limit(limit).offset(offset)).all()
        fields = ("id", "owner", "project_name", "asset_type", "verdict", "result_hash")
        items = [
            CheckSummary.model_validate(
                dict(zip((*fields, "created", "decision"), row, strict=True))
            )
            for row in rows
        ]
    following = offset + len(items)
    return CheckPage(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        next_offset=following if following < total else None,
    )


def add_decision(
    engine: Engine, check_id: int, reviewer_key_id: int, *, decision: DecisionName, comment: str
) -> Decision:
    """Record a reviewer's decision on a check (one transaction); return it.

    Raises
    ------
    KeyError
        If no check has that id (nothing is stored).
    """
    with _one_writer(engine), session_scope(engine) as session:
        if session.get(CheckRecord, check_id) is None:
            raise KeyError(f"no feasibility check with id {check_id}")
        record = CheckDecisionRecord(
            check_id=check_id, reviewer_key_id=reviewer_key_id, decision=decision, comment=comment
        )
        session.add(record)
        session.flush()
        name = session.get(ApiKeyRecord, reviewer_key_id)
        return Decision(
            id=record.id,
            decision=decision,
            comment=comment,
            reviewer=name.name if name is not None else "",
            created=record.created,
        )
