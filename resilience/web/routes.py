"""The warnings pages' routes: ``/``, ``/warnings/{identifier}``, sign-in and sign-out.

Server-rendered HTML (Jinja2 templates in ``templates/``, CSS in ``static/``) with the map
as inline SVG, no CDN. Every page works without script; one small script of ours
(``static/time-slider.js``) makes the time slider reload ``/`` at the chosen time. The agency
key of a signed-in user lives in an HttpOnly, SameSite=Strict cookie and is checked on each
request by the API's own key lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.engine import Engine

from resilience.early_warning.feed import AddressedMessage, check_view_time, is_visible
from resilience.early_warning.metric import BEIJING
from resilience.early_warning.outbox import addressees
from resilience.early_warning.rule_models import Agency
from resilience.storage.database import session_scope
from resilience.storage.tables import AlertRecord
from resilience.web.map_svg import LEVEL_COLOURS, render_district_map
from resilience.web.nav import NAV_LINKS, PageTemplate, is_engineer_page, section_of
from resilience.web.pages import (
    LEVEL_NAMES,
    LEVELS,
    Filters,
    cap_texts,
    exercise_span,
    highest_levels,
    parse_view_time,
    shanghai_time,
    stored_hazards,
    stored_span,
    time_slider,
    warning_rows,
)

__all__ = ["KEY_COOKIE", "web_router"]

#: The cookie holding a signed-in agency's key (HttpOnly, SameSite=Strict).
KEY_COOKIE = "resilience_agency_key"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("resilience.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    env.template_class = PageTemplate  # passes page_template: base.html marks the section
    env.filters["bj"] = shanghai_time
    env.filters["from_epoch"] = _from_epoch
    env.globals |= {"LEVEL_COLOURS": LEVEL_COLOURS, "LEVEL_NAMES": LEVEL_NAMES, "LEVELS": LEVELS}
    env.globals |= {
        "NAV_LINKS": NAV_LINKS,
        "section_of": section_of,
        "is_engineer_page": is_engineer_page,
    }
    return env


def _from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, BEIJING)


@dataclass(frozen=True)
class _Pages:
    engine: Engine
    agencies: dict[str, Agency]
    clock: Callable[[], datetime]
    caller: Callable[..., Any]
    env: Environment

    def viewer(self, request: Request) -> str | None:
        """Return the signed-in agency of the request's cookie, or ``None``."""
        return self.identity(request)[0]

    def identity(self, request: Request) -> tuple[str | None, bool]:
        """Return the cookie's agency (``None``: not an agency) and whether it is an engineer's."""
        key = request.cookies.get(KEY_COOKIE)
        who = self.holder(key) if key else None
        if who is None:
            return None, False
        agency = str(who.agency) if who.role == "agency" and who.agency else None
        return agency, who.role in ("engineer", "reviewer")

    def holder(self, key: str) -> Any | None:
        """Return the holder of a key (``role``, ``agency``), or ``None`` if it is not valid."""
        try:
            return self.caller(bearer=None, header=key)
        except HTTPException:
            return None

    def agency_of(self, key: str) -> str | None:
        who = self.holder(key)
        return str(who.agency) if who and who.role == "agency" and who.agency else None

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(agencies=self.agencies, **context)
        return HTMLResponse(html, status_code=status)

    def index(self, request: Request) -> HTMLResponse:
        query = request.query_params
        error, at = "", self.clock()
        if query.get("at"):
            try:
                at = parse_view_time(query["at"])
            except ValueError as exc:
                error = f"at: expected an ISO 8601 time (with offset, or Shanghai time): {exc}"
        filters = Filters(
            agency=query.get("agency") or None,
            hazard=query.get("hazard") or None,
            level=query.get("level") or None,
        )
        if filters.agency is not None and filters.agency not in self.agencies:
            error = f"unknown agency {filters.agency!r}"
            filters = Filters(hazard=filters.hazard, level=filters.level)
        viewer, engineer = self.identity(request)
        rows = warning_rows(self.engine, at, filters, viewer=viewer)
        bounds = stored_span(self.engine)
        span = exercise_span(self.engine, bounds) if not rows and bounds else None
        keep = {k: v for k, v in query.items() if k != "at" and v}
        suggest = "/?" + urlencode({**keep, "at": span[2].isoformat()}) if span else ""
        return self.render(
            "index.html",
            status=422 if error else 200,
            at=at,
            at_local=at.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M"),
            rows=rows,
            filters=filters,
            hazards=stored_hazards(self.engine),
            map_svg=render_district_map(highest_levels(rows)),
            viewer=viewer,
            engineer_signed_in=engineer,
            error=error,
            span=span,
            suggest=suggest,
            slider=time_slider(bounds, at) if bounds else None,
            hour_links=_hour_links(keep, at),
        )

    def missing(self, identifier: str, viewer: str | None, engineer: bool = False) -> HTMLResponse:
        return self.render(
            "missing.html", 404, identifier=identifier, viewer=viewer, engineer_signed_in=engineer
        )

    def visible_record(
        self, identifier: str, viewer: str | None
    ) -> tuple[AlertRecord, tuple[str, ...], dict[str, dict[str, str]]] | None:
        """Return a message the viewer may see, its addressees and texts; else ``None``."""
        with session_scope(self.engine) as session:
            query = select(AlertRecord).where(AlertRecord.identifier == identifier)
            record = session.scalars(query).first()
            names = tuple(addressees(session, record)) if record is not None else ()
        if record is None:
            return None
        texts = cap_texts(record.cap_xml)
        message = AddressedMessage(record, names, texts["alert"]["scope"] or "Public")
        if message.scope != "Public" and (viewer is None or not is_visible(message, viewer)):
            return None  # hidden: its existence is not revealed
        return record, names, texts

    def cap_xml(self, request: Request, identifier: str) -> Response:
        found = self.visible_record(identifier, self.viewer(request))
        if found is None:
            return self.missing(identifier, None)
        return Response(found[0].cap_xml.encode("utf-8"), media_type="application/cap+xml")

    def detail(self, request: Request, identifier: str) -> HTMLResponse:
        viewer, engineer = self.identity(request)
        found = self.visible_record(identifier, viewer)
        if found is None:
            return self.missing(identifier, viewer, engineer)
        record, names, texts = found
        references = [
            part.split(",")[1] for part in texts["alert"]["references"].split() if "," in part
        ]
        return self.render(
            "detail.html",
            record=record,
            texts=texts,
            references=references,
            addressees=names,
            viewer=viewer,
            engineer_signed_in=engineer,
            parse_time=datetime.fromisoformat,
        )


def _hour_links(keep: dict[str, str], at: datetime) -> tuple[str, str]:
    """Return the addresses of the page an hour before and after ``at`` (``""``: out of range)."""
    links = []
    for hours in (-1, 1):
        try:
            when = check_view_time(at + timedelta(hours=hours))
        except (OverflowError, ValueError):
            links.append("")
            continue
        local = when.astimezone(BEIJING).isoformat(timespec="minutes")
        links.append("/?" + urlencode({"at": local, **keep}))
    return links[0], links[1]


def _signin_cookie(response: Response, key: str) -> None:
    response.set_cookie(
        KEY_COOKIE, key, httponly=True, samesite="strict", path="/", max_age=12 * 3600
    )


def web_router(
    engine: Engine,
    agencies: dict[str, Agency],
    *,
    clock: Callable[[], datetime],
    caller: Callable[..., Any],
) -> APIRouter:
    """Return the router of the warnings pages (arguments as :func:`resilience.web.mount_web`).

    Returns
    -------
    fastapi.APIRouter
    """
    pages = _Pages(engine, agencies, clock, caller, _environment())
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return pages.index(request)

    @router.get("/warnings/{identifier}.xml", response_model=None)
    def cap_xml(request: Request, identifier: str) -> Response:
        return pages.cap_xml(request, identifier)

    @router.get("/warnings/{identifier}", response_class=HTMLResponse)
    def detail(request: Request, identifier: str) -> HTMLResponse:
        return pages.detail(request, identifier)

    @router.get("/signin", response_class=HTMLResponse)
    def signin_form(request: Request) -> HTMLResponse:
        viewer, engineer = pages.identity(request)
        return pages.render("signin.html", viewer=viewer, engineer_signed_in=engineer, error="")

    @router.post("/signin", response_model=None)
    async def signin(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        key = (form.get("key") or [""])[0].strip()
        agency = pages.agency_of(key) if key else None
        if agency is None:
            error = "未知的机构密钥 / unknown or revoked agency key"
            return pages.render("signin.html", status=401, viewer=None, error=error)
        response = RedirectResponse("/", status_code=303)
        _signin_cookie(response, key)
        return response

    @router.post("/signout")
    def signout() -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(KEY_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    return router
