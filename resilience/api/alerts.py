"""The warnings endpoints: active alerts, CAP messages and Atom feeds.

* ``GET /v1/alerts[?agency=ID][&hazard=H][&at=ISO]``: the alerts active now (or at ``at``)
  that the caller may see, optionally only those addressed to ``agency``.
* ``GET /v1/alerts/{identifier}.xml``: one CAP 1.2 message (any, active or not).
* ``GET /v1/feeds/public.atom[?at=ISO][&cap=full|embedded]``: the Atom feed of every
  ``Public`` message of the last 7 days (before ``at``), **no key**; Restricted and Private
  messages never appear in it.
* ``GET /v1/feeds/{agency}.atom[?at=ISO][&cap=...][&key=KEY]``: the Atom feed of the
  caller's own agency. The key may also come as the query parameter ``key``, for feed
  readers that cannot send headers (it then ends up in access logs and proxies' logs: a
  header is safer).

All but the public feed need keys of role ``agency`` (403 for the others). 403: a feed of
another agency. 404: unknown agency or message, and also a Restricted or Private message not
addressed to the caller (its existence is not revealed). 422: a bad ``at`` (not ISO 8601 with
an offset, or out of range) or ``cap``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Security
from fastapi.responses import Response
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.engine import Engine

from resilience.api.auth import BEARER_SCHEME, HEADER_SCHEME, Caller, require
from resilience.early_warning.feed import (
    AddressedMessage,
    active_alerts,
    agency_messages,
    build_feed,
    cap_info,
    check_view_time,
    is_visible,
    public_messages,
)
from resilience.early_warning.feed_cap import CAP_MEDIA_TYPE, CapProfile
from resilience.early_warning.outbox import addressees, alert_time
from resilience.early_warning.rule_models import Agency
from resilience.storage.database import session_scope
from resilience.storage.tables import AlertRecord

__all__ = ["AlertSummary", "alert_router"]

ATOM_MEDIA_TYPE = "application/atom+xml"
#: The agency key as a query parameter, for feed readers that cannot send headers.
_QUERY_KEY = APIKeyQuery(
    name="key",
    auto_error=False,
    scheme_name="key_query",
    description="The key as `?key=KEY`, on feeds only; it ends up in access logs.",
)
_AT = Query(description="ISO 8601 time with offset; default now")
_CAP = Query(description="full: cap: fields and the message; embedded: the message only")


class AlertSummary(BaseModel):
    """One active alert as listed by ``GET /v1/alerts``."""

    identifier: str
    msg_type: str
    status: str
    scope: str
    hazard: str
    level: str
    area_code: str
    area_name_zh: str
    area_name_en: str
    sent: datetime
    onset: datetime
    expires: datetime
    headline_zh: str
    headline_en: str
    references: str
    addressees: list[str]
    cap_url: str


def _summary(message: AddressedMessage, base_url: str) -> AlertSummary:
    record = message.record
    zh, en = cap_info(record.cap_xml, "zh-CN"), cap_info(record.cap_xml, "en-US")
    return AlertSummary(
        identifier=record.identifier,
        msg_type=record.msg_type,
        status=zh["status"],
        scope=message.scope,
        hazard=record.hazard,
        level=record.level,
        area_code=record.area,
        area_name_zh=zh["areaDesc"],
        area_name_en=en["areaDesc"],
        sent=alert_time(record.sent),
        onset=alert_time(record.onset),
        expires=alert_time(record.expires),
        headline_zh=zh["headline"],
        headline_en=en["headline"],
        references=record.references,
        addressees=list(message.addressees),
        cap_url=f"{base_url}/v1/alerts/{record.identifier}.xml",
    )


def _parse_at(at: str | None, clock: Callable[[], datetime]) -> datetime:
    """Return the time of a view: ``at`` (ISO 8601 with offset, in range) or now; else 422."""
    if at is None:
        return clock()
    try:
        value = datetime.fromisoformat(at)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise HTTPException(422, f"at: expected ISO 8601 time with offset, found {at!r:.80}")
    try:
        return check_view_time(value)  # e.g. 9999-12-31T23:59:59+00:00: no OverflowError
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@dataclass(frozen=True)
class _Service:
    """What the route handlers share: database, agencies, clock and public root."""

    engine: Engine
    agencies: dict[str, Agency]
    clock: Callable[[], datetime]
    base_url: str

    def root(self, request: Request) -> str:
        return self.base_url or str(request.base_url).rstrip("/")

    def list_alerts(
        self, request: Request, me: str, agency: str | None, hazard: str | None, at: str | None
    ) -> list[AlertSummary]:
        if agency is not None and agency not in self.agencies:
            raise HTTPException(404, f"unknown agency {agency!r}")
        found = active_alerts(self.engine, _parse_at(at, self.clock), agency=agency, viewer=me)
        found = [m for m in found if hazard is None or m.record.hazard == hazard]
        return [_summary(m, self.root(request)) for m in found]

    def cap_message(self, identifier: str, me: str) -> Response:
        with session_scope(self.engine) as session:
            query = select(AlertRecord).where(AlertRecord.identifier == identifier)
            record = session.scalars(query).first()
            names = addressees(session, record) if record is not None else []
        scope = cap_info(record.cap_xml)["scope"] if record is not None else ""
        if record is None or not is_visible(AddressedMessage(record, tuple(names), scope), me):
            raise HTTPException(404, f"no CAP message {identifier!r}")  # hidden, if restricted
        return Response(record.cap_xml.encode("utf-8"), media_type=CAP_MEDIA_TYPE)

    def feed(
        self, request: Request, agency: str, me: str, at: str | None, cap: CapProfile
    ) -> Response:
        if agency not in self.agencies:
            raise HTTPException(404, f"unknown agency {agency!r}")
        if agency != me:
            raise HTTPException(403, f"this key belongs to {me!r}, not to {agency!r}")
        when, info = _parse_at(at, self.clock), self.agencies[agency]
        xml = build_feed(
            agency,
            agency_messages(self.engine, agency, when),
            title=f"{info.name_zh} 预警 / {info.name_en} warnings",
            base_url=self.root(request),
            updated=when,
            cap=cap,
        )
        return Response(xml, media_type=ATOM_MEDIA_TYPE)

    def public_feed(self, request: Request, at: str | None, cap: CapProfile) -> Response:
        when = _parse_at(at, self.clock)
        xml = build_feed(
            "public",
            public_messages(self.engine, when),
            title="上海市公开预警 / Shanghai public warnings",
            base_url=self.root(request),
            updated=when,
            cap=cap,
        )
        return Response(xml, media_type=ATOM_MEDIA_TYPE)


def alert_router(
    engine: Engine,
    agencies: dict[str, Agency],
    *,
    caller: Callable[..., Caller],
    clock: Callable[[], datetime],
    base_url: str,
) -> APIRouter:
    """Return the router of the warnings endpoints.

    Parameters
    ----------
    engine : Engine
        The alert database.
    agencies : dict of str to Agency
        The rule set's agencies, by id.
    caller : callable
        The dependency giving the request's :class:`~resilience.api.auth.Caller`.
    clock : callable
        Returns the current time (aware).
    base_url : str
        Public root used in links; empty: the request's own root.

    Returns
    -------
    fastapi.APIRouter
    """
    service = _Service(engine=engine, agencies=agencies, clock=clock, base_url=base_url)
    router = APIRouter(tags=["alerts"])

    known = Depends(caller)  # a default, not Annotated: a string annotation cannot see locals

    def agency_of(who: Caller = known) -> str:
        return str(require(who, "agency").agency)

    me = Depends(agency_of)

    def feed_agency_of(
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER_SCHEME)],
        header: Annotated[str | None, Security(HEADER_SCHEME)],
        key: Annotated[str | None, Security(_QUERY_KEY)],
    ) -> str:
        # a key in a header wins over one in the query
        return str(require(caller(bearer, header or key), "agency").agency)

    feed_me = Depends(feed_agency_of)

    @router.get("/v1/alerts", response_model=list[AlertSummary])
    def list_alerts(
        request: Request,
        me: str = me,
        agency: Annotated[str | None, Query()] = None,
        hazard: Annotated[str | None, Query()] = None,
        at: Annotated[str | None, _AT] = None,
    ) -> list[AlertSummary]:
        return service.list_alerts(request, me, agency, hazard, at)

    @router.get("/v1/alerts/{identifier}.xml")
    def alert_xml(identifier: str, me: str = me) -> Response:
        return service.cap_message(identifier, me)

    @router.get("/v1/feeds/public.atom", response_class=Response)
    def public_feed(
        request: Request,
        at: Annotated[str | None, _AT] = None,
        cap: Annotated[CapProfile, _CAP] = "full",
    ) -> Response:
        return service.public_feed(request, at, cap)

    @router.get("/v1/feeds/{agency}.atom", response_class=Response)
    def feed(
        request: Request,
        agency: str,
        me: str = feed_me,
        at: Annotated[str | None, _AT] = None,
        cap: Annotated[CapProfile, _CAP] = "full",
    ) -> Response:
        return service.feed(request, agency, me, at, cap)

    return router
