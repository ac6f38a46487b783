"""REST API for warnings (FastAPI): active alerts, CAP messages and Atom feeds per agency.

``create_app(settings)`` builds the app; the CLI serves it (``uvicorn``). Endpoints:

* ``GET /v1/health``: liveness, no key.
* ``GET /v1/alerts[?agency=ID][&hazard=H][&at=ISO]``: the alerts active now (or at ``at``)
  that the caller may see, optionally only those addressed to ``agency``.
* ``GET /v1/alerts/{identifier}.xml``: one CAP 1.2 message (any, active or not).
* ``GET /v1/feeds/{agency}.atom``: the Atom feed of the caller's own agency.

**Keys.** Every endpoint but health needs an agency API key, in ``Authorization: Bearer KEY``
or ``X-API-Key: KEY``. The keys file (TOML, default ``<data_dir>/api_keys.toml``) stores only
SHA-256 hashes of the keys, one ``[[keys]]`` table per key with ``agency`` and ``sha256``;
:func:`issue_api_key` makes a key, stores its hash and shows the key once. Unsalted SHA-256
suffices because keys are 256-bit random tokens, not passwords (OWASP Password Storage Cheat
Sheet applies slow hashes to low-entropy secrets).

**Status codes.** 401: no key or an unknown key (with ``WWW-Authenticate: Bearer``). 403: a
feed of another agency. 404: unknown agency or message, and also a Restricted or Private
message not addressed to the caller (its existence is not revealed). 422: a bad query value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.engine import Engine

from resilience.early_warning.feed import (
    AddressedMessage,
    active_alerts,
    agency_messages,
    build_feed,
    cap_info,
    is_visible,
)
from resilience.early_warning.metric import BEIJING
from resilience.early_warning.outbox import addressees, alert_time
from resilience.early_warning.rule_models import Agency
from resilience.early_warning.rules import load_rules
from resilience.settings import Settings
from resilience.storage.atomic import write_text_atomic
from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import AlertRecord

__all__ = [
    "AlertSummary",
    "ApiKeyError",
    "create_app",
    "hash_api_key",
    "issue_api_key",
    "load_api_keys",
]

CAP_MEDIA_TYPE = "application/cap+xml"
ATOM_MEDIA_TYPE = "application/atom+xml"


class ApiKeyError(ValueError):
    """The keys file is invalid; the message names the file and the entry."""


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


def hash_api_key(key: str) -> str:
    """Return the hex SHA-256 of an API key (what the keys file stores)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def load_api_keys(path: Path) -> dict[str, str]:
    """Read a keys file: ``{sha256 hex: agency id}`` (empty if the file does not exist).

    Raises
    ------
    ApiKeyError
        Naming the file and the entry number when an entry lacks ``agency`` or a 64-hex
        ``sha256``.
    """
    path = Path(path)
    if not path.exists():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ApiKeyError(f"{path}: not valid TOML: {exc}") from exc
    keys: dict[str, str] = {}
    for n, entry in enumerate(raw.get("keys", []), start=1):
        digest = str(entry.get("sha256", "")).lower()
        if not entry.get("agency") or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
            raise ApiKeyError(
                f"{path}: keys entry {n}: expected agency and a 64-hex-digit sha256, found "
                f"{sorted(entry)}"
            )
        keys[digest] = str(entry["agency"])
    return keys


def issue_api_key(path: Path, agency: str, *, label: str = "") -> str:
    """Create a key for ``agency``, append its hash to the keys file and return the key.

    The key itself is stored nowhere; give it to the agency now. The file is rewritten
    atomically and made readable by its owner only.
    """
    path = Path(path)
    key = secrets.token_urlsafe(32)
    text = (
        path.read_text(encoding="utf-8")
        if path.exists()
        else ("# resilience API keys: SHA-256 of each key, never the key itself.\n")
    )
    created = datetime.now(UTC).isoformat(timespec="seconds")
    text += (
        f'\n[[keys]]\nagency = {json.dumps(agency)}\nsha256 = "{hash_api_key(key)}"\n'
        f'label = {json.dumps(label, ensure_ascii=False)}\ncreated = "{created}"\n'
    )
    write_text_atomic(path, text)
    os.chmod(path, 0o600)
    load_api_keys(path)  # the file must still parse
    return key


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


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _caller(keys_path: Path) -> Callable[..., str]:
    """Return the dependency that maps the request's key to its agency (or raises 401)."""

    def caller(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> str:
        key = x_api_key
        if authorization and authorization.lower().startswith("bearer "):
            key = authorization[7:].strip()
        if not key:
            raise _unauthorised("API key required (Authorization: Bearer KEY or X-API-Key)")
        digest = hash_api_key(key)
        for stored, agency in load_api_keys(keys_path).items():
            if hmac.compare_digest(stored, digest):
                return agency
        raise _unauthorised("unknown API key")

    return caller


def _parse_at(at: str | None, clock: Callable[[], datetime]) -> datetime:
    if at is None:
        return clock()
    try:
        value = datetime.fromisoformat(at)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise HTTPException(422, f"at: expected ISO 8601 time with offset, found {at!r}")
    return value


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

    def feed(self, request: Request, agency: str, me: str) -> Response:
        if agency not in self.agencies:
            raise HTTPException(404, f"unknown agency {agency!r}")
        if agency != me:
            raise HTTPException(403, f"this key belongs to {me!r}, not to {agency!r}")
        when, info = self.clock(), self.agencies[agency]
        xml = build_feed(
            agency,
            agency_messages(self.engine, agency, when),
            title=f"{info.name_zh} 预警 / {info.name_en} warnings",
            base_url=self.root(request),
            updated=when,
        )
        return Response(xml, media_type=ATOM_MEDIA_TYPE)


def create_app(
    settings: Settings,
    *,
    rules_path: Path | None = None,
    keys_path: Path | None = None,
    base_url: str = "",
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build the warnings REST API.

    Parameters
    ----------
    settings : Settings
        Gives the database URL and the data directory.
    rules_path : Path, optional
        Rule set naming the agencies (default: the shipped Shanghai rules).
    keys_path : Path, optional
        Keys file (default ``<data_dir>/api_keys.toml``); re-read on each request, so keys
        issued or revoked take effect without a restart.
    base_url : str
        Public root used in links (feed, ``cap_url``); default the request's own root.
    clock : callable, optional
        Returns the current time (aware); default the system clock in Beijing time.

    Returns
    -------
    fastapi.FastAPI
    """
    service = _Service(
        engine=make_engine(settings.resolved_database_url),
        agencies={a.id: a for a in load_rules(rules_path).agencies},
        clock=clock or (lambda: datetime.now(BEIJING)),
        base_url=base_url,
    )
    caller = Depends(_caller(Path(keys_path or settings.data_dir / "api_keys.toml")))
    app = FastAPI(title="resilience early warnings", version="1")

    @app.get("/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/alerts", response_model=list[AlertSummary])
    def list_alerts(
        request: Request,
        me: str = caller,
        agency: Annotated[str | None, Query()] = None,
        hazard: Annotated[str | None, Query()] = None,
        at: Annotated[str | None, Query(description="ISO 8601 time with offset")] = None,
    ) -> list[AlertSummary]:
        return service.list_alerts(request, me, agency, hazard, at)

    @app.get("/v1/alerts/{identifier}.xml")
    def alert_xml(identifier: str, me: str = caller) -> Response:
        return service.cap_message(identifier, me)

    @app.get("/v1/feeds/{agency}.atom")
    def feed(request: Request, agency: str, me: str = caller) -> Response:
        return service.feed(request, agency, me)

    return app
