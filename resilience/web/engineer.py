"""The engineers' pages: submit a feasibility check, read its verdict and report, list checks.

``/checks/new`` (a form: the site picked on a district map or typed, the asset type's
catalogue standards shown), ``POST /checks/new`` (the check runs in the API's check queue),
``/checks`` (the signed-in engineer's checks, newest first), ``/checks/{id}`` (verdict,
per-hazard summary, the report's figures, tipping points, options, the site on the map) and
its ``report.html`` / ``report.pdf``. The key is the ``/signin`` cookie; engineer and
reviewer keys are accepted here. ``resilience.web`` may not import ``resilience.feasibility``
(docs/design.md), so the check service arrives as a :class:`CheckBackend` of callables
built by the composition root (docs/web.md).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from resilience.web.check_summary import (
    STANDARD_FIELDS,
    catalogue_defaults,
    hazard_summary,
    tipping_rows,
)
from resilience.web.site_map import render_site_map

__all__ = ["FORM_FIELDS", "HEAT_STANDARDS", "CheckBackend", "CheckFigure", "engineer_router"]

#: The form's typed fields, in order: (name, label, type the text is read as).
FORM_FIELDS: tuple[tuple[str, str, type], ...] = (
    ("project_name", "项目名称 Project name", str),
    ("lon", "经度 Longitude (°E)", float),
    ("lat", "纬度 Latitude (°N)", float),
    ("design_life_years", "设计年限 Design life (years)", int),
    ("start_year", "起始年份 Start year", int),
    ("heat_threshold_degc", "高温标准 Heat standard (°C, daily Tmax)", float),
    ("heat_days_standard", "高温日数标准 Hot days a year (hot_days only)", float),
    ("drainage_return_period_years", "排水标准 Drainage return period (years)", float),
    ("ground_elevation_m", "地面高程 Ground elevation (m, Wusong)", float),
    ("protection_level_m", "防护标高 Protection level (m, Wusong)", float),
    ("criticality", "重要性 Criticality (1-5)", int),
)
#: The choices of the form's heat-standard select (``assets.catalogue.HeatStandard``).
HEAT_STANDARDS = ("equipment", "hot_days")
_FIGURES_KEPT = 64  # checks whose figures are kept drawn (about 130 KB each)


@dataclass(frozen=True)
class CheckFigure:
    """One figure of a check's report, drawn by the report's own code.

    Attributes
    ----------
    hazard : str
        ``heat``, ``rain`` or ``surge``.
    kind : {"probability", "return_level"}
        The annual and design-life chance of exceeding the standard per scenario, or the
        return-level curve against the standard.
    svg : str
        An ``<svg>`` element that fetches nothing (no external font, image or link).
    caption : str
        The report's caption of the figure.
    """

    hazard: str
    kind: Literal["probability", "return_level"]
    svg: str
    caption: str


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
    render_figures : callable, optional
        ``render_figures(result) -> list[CheckFigure]``: the report's figures of the check;
        without it the result page has none.
    site_domain : callable, optional
        ``site_domain() -> (lon_min, lon_max, lat_min, lat_max) | None``: where the
        published layers can be checked (degrees), drawn on the form's map.
    """

    submission_model: type[BaseModel]
    check: Callable[[Any], Any]
    store: Callable[..., tuple[int, bool]]
    load: Callable[[int], tuple[Any, int | None]]
    list_checks: Callable[..., Any]
    render_html: Callable[[Any], str]
    render_pdf: Callable[[Any], bytes]
    render_figures: Callable[[Any], list[CheckFigure]] | None = None
    site_domain: Callable[[], tuple[float, float, float, float] | None] | None = None


def _form_values(body: bytes) -> dict[str, str]:
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0].strip() for name, values in form.items()}


def _typed(values: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the form's filled fields read as their types, and the fields that do not read."""
    data: dict[str, Any] = {"asset_type": values.get("asset_type", "")}
    errors: dict[str, str] = {}
    if values.get("heat_standard"):
        data["heat_standard"] = values["heat_standard"]
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
    """Return pydantic's errors by form field; a whole-form error naming a field goes there."""
    fields = {name for name, _, _ in FORM_FIELDS} | {"asset_type", "heat_standard"}
    errors: dict[str, str] = {}
    for item in error.errors():
        message = str(item["msg"]).removeprefix("Value error, ")
        named = message.split(":", 1)[0].split(" ", 1)[0]
        name = str(item["loc"][0]) if item["loc"] else named if named in fields else "form"
        errors.setdefault(name, message)
    return errors


def _site(values: Mapping[str, str]) -> tuple[float, float] | None:
    """Return the form's (lon, lat) when both read as numbers, for the map's marker."""
    try:
        site = float(values.get("lon", "")), float(values.get("lat", ""))
    except ValueError:
        return None
    return site if all(math.isfinite(v) for v in site) else None


def _domain_box(domain: Any) -> tuple[float, float, float, float] | None:
    """Return a result's ``LayerDomain`` as (lon_min, lon_max, lat_min, lat_max)."""
    if domain is None:
        return None
    return (domain.lon_min, domain.lon_max, domain.lat_min, domain.lat_max)


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
    defaults = catalogue_defaults()
    drawn: dict[int, list[CheckFigure]] = {}  # check id -> figures (a stored check is final)
    drawing = threading.Lock()

    def figures(check_id: int, result: Any) -> list[CheckFigure]:
        if backend.render_figures is None:
            return []
        with drawing:
            if check_id in drawn:
                return drawn[check_id]
        made = backend.render_figures(result)
        with drawing:
            if len(drawn) >= _FIGURES_KEPT:
                drawn.pop(next(iter(drawn)))  # the oldest drawn
            drawn[check_id] = made
        return made

    def domain_now() -> tuple[float, float, float, float] | None:
        return backend.site_domain() if backend.site_domain is not None else None

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
        chosen = values.get("asset_type", "")
        domain = domain_now()
        return render(
            "checks_new.html",
            status,
            fields=FORM_FIELDS,
            heat_standards=HEAT_STANDARDS,
            standard_fields=STANDARD_FIELDS,
            defaults=defaults,
            chosen=chosen if chosen in defaults else next(iter(defaults)),
            values=values,
            errors=errors,
            site_map=render_site_map(site=_site(values), domain=domain, pick=True),
            domain=domain,
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
            errors = _field_errors(error) | errors
        if errors:
            return await run_in_threadpool(form_page, values, errors, 422)
        try:  # backend.check waits for the API's check queue (a thread or process pool)
            result = await run_in_threadpool(backend.check, submission)
        except ValueError as error:
            return await run_in_threadpool(form_page, values, {"form": str(error)}, 422)
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
        result = found.result
        site = (result.submission.lon, result.submission.lat)
        return render(
            "checks_detail.html",
            200,
            stored=found,
            summary=hazard_summary(result),
            tipping=tipping_rows(result),
            figures=figures(found.id, result),
            site_map=render_site_map(site=site, domain=_domain_box(result.domain)),
            viewer=None,
        )

    return router
