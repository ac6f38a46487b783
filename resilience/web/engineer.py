"""The engineers' pages: submit a feasibility check, read its verdict and report, list checks.

``/checks/new`` (a form), ``POST /checks/new``, ``/checks`` (the signed-in engineer's checks,
newest first), ``/checks/{id}`` (verdict, governing hazard, options) and its
``report.html`` / ``report.pdf``. The key is the ``/signin`` cookie; engineer and reviewer
keys are accepted here. ``resilience.web`` may not import ``resilience.feasibility``
(docs/design.md), so the check service arrives as a :class:`CheckBackend` of callables
built by the composition root (docs/web.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from assets.catalogue import ASSET_TYPES

__all__ = ["FORM_FIELDS", "CheckBackend", "engineer_router"]

#: The form's typed fields, in order: (name, label, type the text is read as).
FORM_FIELDS: tuple[tuple[str, str, type], ...] = (
    ("project_name", "项目名称 Project name", str),
    ("lon", "经度 Longitude (°E)", float),
    ("lat", "纬度 Latitude (°N)", float),
    ("design_life_years", "设计年限 Design life (years)", int),
    ("start_year", "起始年份 Start year", int),
    ("ground_elevation_m", "地面高程 Ground elevation (m, Wusong)", float),
    ("protection_level_m", "防护标高 Protection level (m, Wusong)", float),
    ("criticality", "重要性 Criticality (1-5)", int),
)


@dataclass(frozen=True)
class CheckBackend:
    """The check service, as callables (``resilience.feasibility`` functions bound by the root).

    Attributes
    ----------
    submission_model : type of BaseModel
        Validates the form (``Submission``).
    check : callable
        ``check(submission) -> CheckResult``; raises ``ValueError`` for a site it cannot check.
    store : callable
        ``store(submission, result, owner_key_id=) -> (id, earlier)``.
    load : callable
        ``load(id) -> (StoredCheck, owner_key_id)``; raises ``KeyError`` if unknown.
    list_checks : callable
        ``list_checks(owner_key_id=) -> CheckPage`` (newest first).
    render_html, render_pdf : callable
        ``render(result) -> str | bytes``: the report.
    """

    submission_model: type[BaseModel]
    check: Callable[[Any], Any]
    store: Callable[..., tuple[int, bool]]
    load: Callable[[int], tuple[Any, int | None]]
    list_checks: Callable[..., Any]
    render_html: Callable[[Any], str]
    render_pdf: Callable[[Any], bytes]


def _form_values(body: bytes) -> dict[str, str]:
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0].strip() for name, values in form.items()}


def _typed(values: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the form's filled fields read as their types, and the fields that do not read."""
    data: dict[str, Any] = {"asset_type": values.get("asset_type", "")}
    errors: dict[str, str] = {}
    for name, _, kind in FORM_FIELDS:
        text = values.get(name, "")
        if not text:
            continue
        try:
            data[name] = kind(text)
        except ValueError:
            errors[name] = f"{name}: expected {'an integer' if kind is int else 'a number'}"
    return data, errors


def _field_errors(error: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else "form"
        errors.setdefault(name, str(item["msg"]))
    return errors


def engineer_router(
    backend: CheckBackend,
    *,
    caller: Callable[..., Any],
    key_cookie: str,
    render: Callable[..., HTMLResponse],
) -> APIRouter:
    """Return the router of the engineers' pages.

    Parameters
    ----------
    backend : CheckBackend
        The check service.
    caller : callable
        The API's key lookup, called as ``caller(bearer=None, header=KEY)``.
    key_cookie : str
        The sign-in cookie's name (the one ``/signin`` sets; ``/checks/signin`` sets it too,
        for engineer and reviewer keys, which ``/signin`` refuses).
    render : callable
        ``render(template, status, **context)``: the pages' renderer.

    Returns
    -------
    fastapi.APIRouter
    """
    router = APIRouter(include_in_schema=False)
    hints = {
        name: (kind.label, kind.design_life_years, kind.heat_threshold_degc)
        for name, kind in ASSET_TYPES.items()
    }

    def engineer(request: Request) -> Any | None:
        return holder(request.cookies.get(key_cookie) or "")

    def holder(key: str) -> Any | None:
        if not key:
            return None
        try:
            who = caller(bearer=None, header=key)
        except HTTPException:
            return None
        if who.role not in ("engineer", "reviewer") or who.key_id is None:
            return None
        return who

    def visible(check_id: int, who: Any) -> Any | None:
        try:
            stored, owner = backend.load(check_id)
        except KeyError:
            return None
        if who.role != "reviewer" and owner != who.key_id:
            return None  # another engineer's check: its existence is not revealed
        return stored

    def form_page(values: Mapping[str, str], errors: Mapping[str, str], status: int) -> Response:
        return render(
            "checks_new.html",
            status,
            fields=FORM_FIELDS,
            hints=hints,
            values=values,
            errors=errors,
            viewer=None,
        )

    def missing(check_id: int) -> Response:
        return render("checks_missing.html", 404, check_id=check_id, viewer=None)

    def to_signin() -> Response:
        return RedirectResponse("/checks/signin", status_code=303)

    def owned(request: Request, check_id: int) -> Any:
        """Return the check the signed-in engineer may see, or the response to send instead."""
        who = engineer(request)
        if who is None:
            return to_signin()
        stored = visible(check_id, who)
        return missing(check_id) if stored is None else stored

    @router.get("/checks/signin", response_class=HTMLResponse)
    def signin_form() -> HTMLResponse:
        return render("checks_signin.html", 200, error="", viewer=None)

    @router.post("/checks/signin", response_model=None)
    async def signin_post(request: Request) -> Response:
        key = _form_values(await request.body()).get("key", "")
        if holder(key) is None:
            error = "未知的工程师密钥 / unknown or revoked engineer key"
            return render("checks_signin.html", 401, error=error, viewer=None)
        response = RedirectResponse("/checks", status_code=303)
        response.set_cookie(
            key_cookie, key, httponly=True, samesite="strict", path="/", max_age=12 * 3600
        )
        return response

    @router.get("/checks/new", response_model=None)
    def new_form(request: Request) -> Response:
        if engineer(request) is None:
            return to_signin()
        return form_page({"start_year": "2025", "criticality": "3"}, {}, 200)

    @router.post("/checks/new", response_model=None)
    async def submit(request: Request) -> Response:
        who = engineer(request)
        if who is None:
            return to_signin()
        values = _form_values(await request.body())
        data, errors = _typed(values)
        try:
            submission = backend.submission_model.model_validate(data)
        except ValidationError as error:
            return form_page(values, _field_errors(error) | errors, 422)
        if errors:
            return form_page(values, errors, 422)
        try:
            result = await run_in_threadpool(backend.check, submission)
        except ValueError as error:
            return form_page(values, {"form": str(error)}, 422)
        stored = await run_in_threadpool(backend.store, submission, result, owner_key_id=who.key_id)
        check_id = stored[0]
        return RedirectResponse(f"/checks/{check_id}", status_code=303)

    @router.get("/checks", response_model=None)
    def listing(request: Request) -> Response:
        who = engineer(request)
        if who is None:
            return to_signin()
        page = backend.list_checks(owner_key_id=who.key_id)
        return render("checks_list.html", 200, items=page.items, viewer=None)

    @router.get("/checks/{check_id}/report.html", response_model=None)
    def report_html(request: Request, check_id: int) -> Response:
        found = owned(request, check_id)
        if isinstance(found, Response):
            return found
        return HTMLResponse(backend.render_html(found.result))

    @router.get("/checks/{check_id}/report.pdf", response_model=None)
    def report_pdf(request: Request, check_id: int) -> Response:
        found = owned(request, check_id)
        if isinstance(found, Response):
            return found
        return Response(backend.render_pdf(found.result), media_type="application/pdf")

    @router.get("/checks/{check_id}", response_model=None)
    def detail(request: Request, check_id: int) -> Response:
        found = owned(request, check_id)
        if isinstance(found, Response):
            return found
        return render("checks_detail.html", 200, stored=found, viewer=None)

    return router
