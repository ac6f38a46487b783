"""The feasibility-check endpoints: submit, list, read, report, and reviewers' decisions.

* ``POST /v1/checks`` (a Submission as JSON): run the check through
  :func:`resilience.feasibility.service.check_submission` and store it. 201 with
  ``{id, result, resubmission_of: null}``; if this key already has a check with the same
  ``result_hash`` (same submission, layer versions, code version and settings), nothing new
  is stored and the answer is 200 with that check: ``{id, result, resubmission_of: id}``.
* ``GET /v1/checks?limit=&offset=``: the caller's checks (a reviewer: all), newest first.
* ``GET /v1/checks/{id}``: the stored check with its decisions.
* ``GET /v1/checks/{id}/report.html`` and ``/report.pdf`` (``?lang=en|zh``; 503 if the
  server lacks the fonts a Chinese PDF needs).
* ``POST /v1/checks/{id}/decisions`` (reviewer only): ``{decision: approved|returned,
  comment}``; 201 with the decision.

Roles: ``engineer`` sees only its own checks (another's: 404, its existence not revealed);
``reviewer`` sees every check; ``agency`` keys get 403. A site outside the layers
(:class:`~resilience.feasibility.check.FeasibilityError`) is 422 with the message.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine

from resilience.api.auth import Caller, require
from resilience.feasibility.check import FeasibilityError
from resilience.feasibility.models import CheckResult, Submission
from resilience.feasibility.service import check_submission, layer_cache_for
from resilience.feasibility.store import (
    CheckPage,
    Decision,
    DecisionName,
    StoredCheck,
    add_decision,
    list_checks,
    load_stored_check,
    store_check,
)
from resilience.settings import Settings

__all__ = ["CheckCreated", "CheckQueue", "DecisionRequest", "check_router", "open_check_queue"]

Lang = Literal["en", "zh"]
_LOG = logging.getLogger(__name__)


class CheckCreated(BaseModel):
    """The answer to ``POST /v1/checks``."""

    id: int
    result: CheckResult
    resubmission_of: int | None = Field(
        description="the earlier check of this key with the same result_hash, if any"
    )


class DecisionRequest(BaseModel):
    """A reviewer's decision on a check."""

    model_config = ConfigDict(extra="forbid")

    decision: DecisionName
    comment: str = Field(default="", max_length=4000)


def _visible(engine: Engine, check_id: int, who: Caller) -> StoredCheck:
    """Return the check if ``who`` may see it; 404 otherwise (also for another's check)."""
    try:
        stored, owner = load_stored_check(engine, check_id)
    except KeyError:
        raise HTTPException(404, f"no check {check_id}") from None
    if who.role != "reviewer" and owner != who.key_id:
        raise HTTPException(404, f"no check {check_id}")
    return stored


def _json(model: BaseModel, status: int = 200) -> Response:
    """Answer with a model serialised once (FastAPI would dump, validate and dump it again)."""
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")


def _preload(settings: Settings) -> None:
    """Open the check's layers now, so the first requests do not wait for them."""
    cache = layer_cache_for(settings)
    if not cache.store.names():
        return
    try:
        cache.layers()
    except Exception as error:  # noqa: BLE001 - only a head start: a check will report it
        _LOG.warning("layers not preloaded (the first check will say why): %s", error)


class CheckQueue:
    """Where checks run: one thread of this process, or a pool of ``processes`` processes.

    A check holds the GIL for most of its time, so in one process checks run one at a time
    (interleaved they only slow each other). ``processes`` > 0 runs them in that many
    spawned processes, each with its own layer cache (preloaded when it starts), so a
    single server process uses several cores however the connections are spread. A pool
    whose process died is replaced, and the check is tried once more.
    """

    def __init__(self, settings: Settings, processes: int) -> None:
        self.settings = settings
        self.processes = processes
        self.lock = threading.Lock()
        self.executor = self._new()

    def _new(self) -> Executor:
        if self.processes <= 0:
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix="feasibility-check")
        pool = ProcessPoolExecutor(
            self.processes,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded server
            initializer=_preload,
            initargs=(self.settings,),
        )
        for _ in range(self.processes):  # start them all now, not on the first checks
            pool.submit(int)
        return pool

    def close(self) -> None:
        """Stop the thread or the processes (when the app shuts down)."""
        self.executor.shutdown(wait=False, cancel_futures=True)

    def check(self, submission: Submission) -> CheckResult:
        """Run :func:`check_submission` in the queue and return its result (or raise)."""
        executor = self.executor
        try:
            return executor.submit(check_submission, submission, self.settings).result()
        except BrokenExecutor:
            _LOG.error("a check process died; starting a new pool and trying again")
            with self.lock:
                if self.executor is executor:
                    self.executor = self._new()
            return self.executor.submit(check_submission, submission, self.settings).result()


def open_check_queue(settings: Settings, processes: int = 0) -> CheckQueue:
    """Return the queue checks run in, its layers preloaded when it is this process.

    Parameters
    ----------
    settings : Settings
        Gives the layer store and the design-life target of the checks.
    processes : int
        0: one thread of this process (layers opened now); N: a pool of N processes.

    Returns
    -------
    CheckQueue
        Shared by ``POST /v1/checks`` and the engineers' form (``resilience.api.app``).
    """
    if processes <= 0:
        _preload(settings)
    return CheckQueue(settings, processes)


def check_router(
    engine: Engine,
    settings: Settings,
    *,
    caller: Callable[..., Caller],
    check_processes: int = 0,
    queue: CheckQueue | None = None,
) -> APIRouter:
    """Return the router of the feasibility-check endpoints.

    Parameters
    ----------
    engine : Engine
        The database (checks, decisions, keys).
    settings : Settings
        Gives the layer store and the design-life target of the checks.
    caller : callable
        The dependency giving the request's :class:`~resilience.api.auth.Caller`.
    check_processes : int
        0: checks run in this process, one at a time; N: in a pool of N processes.
    queue : CheckQueue, optional
        Where checks run (:func:`open_check_queue`), to share it with other callers; given,
        ``check_processes`` is not used. The router closes it when the app shuts down.

    Returns
    -------
    fastapi.APIRouter
    """
    if queue is None:
        queue = open_check_queue(settings, check_processes)
    router = APIRouter(tags=["checks"], on_shutdown=[queue.close])

    known = Depends(caller)  # defaults, not Annotated: a string annotation cannot see locals

    def checker(who: Caller = known) -> Caller:
        return require(who, "engineer", "reviewer")

    def reviewer(who: Caller = known) -> Caller:
        return require(who, "reviewer")

    as_checker, as_reviewer = Depends(checker), Depends(reviewer)

    @router.post(
        "/v1/checks",
        status_code=201,
        response_model=CheckCreated,
        responses={
            200: {"model": CheckCreated, "description": "A resubmission: the earlier check"},
            413: {"description": "A body over 1 MB"},
        },
    )
    def submit(submission: Submission, who: Caller = as_checker) -> Response:
        """Check a submission and store it (201), or return this key's earlier check (200)."""
        try:
            result = queue.check(submission)
        except FeasibilityError as error:
            raise HTTPException(422, str(error)) from None
        assert who.key_id is not None  # engineers and reviewers are database keys
        check_id, again = store_check(engine, submission, result, owner_key_id=who.key_id)
        if again:
            result = load_stored_check(engine, check_id)[0].result
        made = CheckCreated(id=check_id, result=result, resubmission_of=check_id if again else None)
        return _json(made, 200 if again else 201)

    @router.get("/v1/checks", response_model=CheckPage)
    def checks(
        who: Caller = as_checker,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> CheckPage:
        """List the caller's checks (a reviewer: every check), newest first."""
        owner = None if who.role == "reviewer" else who.key_id
        return list_checks(engine, owner_key_id=owner, limit=limit, offset=offset)

    @router.get("/v1/checks/{check_id}", response_model=StoredCheck)
    def one_check(check_id: int, who: Caller = as_checker) -> Response:
        """Return a stored check with its decisions."""
        return _json(_visible(engine, check_id, who))

    @router.get("/v1/checks/{check_id}/report.html")
    def report_html(check_id: int, who: Caller = as_checker, lang: Lang = "en") -> Response:
        """Return the check's report as one HTML page."""
        from resilience.feasibility.report import render_html

        result = _visible(engine, check_id, who).result
        return Response(render_html(result, lang=lang), media_type="text/html; charset=utf-8")

    @router.get("/v1/checks/{check_id}/report.pdf")
    def report_pdf(check_id: int, who: Caller = as_checker, lang: Lang = "en") -> Response:
        """Return the check's report as PDF."""
        from resilience.feasibility.report import render_pdf
        from resilience.feasibility.report_pdf import MissingFontError

        result = _visible(engine, check_id, who).result
        try:
            pdf = render_pdf(result, lang=lang)
        except MissingFontError as error:  # the server's to fix: say what is missing
            raise HTTPException(503, f"cannot render the {lang} PDF: {error}") from None
        headers = {"Content-Disposition": f'inline; filename="check_{check_id}_{lang}.pdf"'}
        return Response(pdf, media_type="application/pdf", headers=headers)

    @router.post("/v1/checks/{check_id}/decisions", status_code=201, response_model=Decision)
    def decide(check_id: int, body: DecisionRequest, who: Caller = as_reviewer) -> Decision:
        """Record a reviewer's decision (approved or returned) with a comment."""
        assert who.key_id is not None  # reviewers are database keys
        try:
            return add_decision(
                engine, check_id, who.key_id, decision=body.decision, comment=body.comment
            )
        except KeyError:
            raise HTTPException(404, f"no check {check_id}") from None

    return router
