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
message not addressed to the caller (its existence is not revealed). 422: a bad query value
(an ``at`` that is not ISO 8601 with an offset, or out of range). 503: the keys file is invalid
(fail closed; the log names the file and the line).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    check_view_time,
    is_visible,
)
from resilience.early_warning.metric import BEIJING
from resilience.early_warning.outbox import addressees, alert_time
from resilience.early_warning.rule_models import Agency
from resilience.early_warning.rules import load_rules
from resilience.settings import Settings
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

_LOG = logging.getLogger(__name__)
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


def _entry_line(text: str, number: int) -> int:
    """Return the line of the ``number``-th ``[[keys]]`` header (0 if not found)."""
    headers = [i for i, line in enumerate(text.splitlines(), 1) if line.strip() == "[[keys]]"]
    return headers[number - 1] if number <= len(headers) else 0


def _parse_keys(text: str, path: Path) -> dict[str, str]:
    """Parse keys-file text into ``{sha256 hex: agency id}``; errors name the file and line."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        where = f"line {found.group(1)}: " if found else ""
        raise ApiKeyError(f"{path}: {where}expected valid TOML, found an error: {exc}") from None
    entries = raw.get("keys", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ApiKeyError(f"{path}: keys: expected [[keys]] tables, found {entries!r:.80}")
    keys: dict[str, str] = {}
    for n, entry in enumerate(entries, start=1):
        digest = str(entry.get("sha256", "")).lower()
        if not entry.get("agency") or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
            raise ApiKeyError(
                f"{path}: keys entry {n}: expected agency and a 64-hex-digit sha256, found "
                f"{sorted(entry)} (line {_entry_line(text, n)})"
            )
        keys[digest] = str(entry["agency"])
    return keys


def load_api_keys(path: Path) -> dict[str, str]:
    """Read a keys file: ``{sha256 hex: agency id}`` (empty if the file does not exist).

    Parameters
    ----------
    path : Path
        The keys file (TOML, ``[[keys]]`` tables).

    Returns
    -------
    dict of str to str
        Agency id per hex SHA-256 of a key.

    Raises
    ------
    ApiKeyError
        Naming the file and the line: unreadable, not UTF-8, not TOML, or an entry without
        ``agency`` or a 64-hex ``sha256``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ApiKeyError(f"{path}: expected a readable keys file, found {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ApiKeyError(f"{path}: line {line}: expected UTF-8, found {exc.reason}") from None
    return _parse_keys(text, path)


#: Longest agency id and label written to the keys file (characters).
_MAX_LENGTH = {"agency": 64, "label": 200}
_KEYS_HEADER = "# resilience API keys: SHA-256 of each key, never the key itself.\n"


def _check_text(field: str, value: str) -> None:
    """Refuse an agency id or label that is empty (agency), too long or not printable."""
    limit = _MAX_LENGTH[field]
    if field == "agency" and not value:
        raise ApiKeyError(f"{field}: expected a non-empty agency id, found ''")
    if len(value) > limit:
        raise ApiKeyError(f"{field}: expected at most {limit} characters, found {len(value)}")
    bad = [(i, c) for i, c in enumerate(value) if not c.isprintable()]
    if bad:
        i, c = bad[0]
        raise ApiKeyError(
            f"{field}: expected printable characters only (no control characters), found "
            f"{c!r} at position {i} of {value!r}"
        )


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<path>.lock`` (created 0600) for the block."""
    lock = path.with_name(f"{path.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically by a file that is 0600 from its creation.

    Not ``resilience.storage.atomic``: it makes its files ``rw-r--r--`` before the rename,
    and a keys file must never be readable by others, not even for a moment.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # exactly 0600 whatever the umask, before any byte
            data = memoryview(text.encode("utf-8"))
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)


def issue_api_key(path: Path, agency: str, *, label: str = "") -> str:
    """Create a key for ``agency``, append its hash to the keys file and return the key.

    The key itself is stored nowhere; give it to the agency now. Under an exclusive lock on
    ``<path>.lock`` the file is read, the entry appended, the whole text parsed, and the file
    replaced atomically by one that is readable by its owner only (0600) from its creation, so
    concurrent calls lose no key and a bad entry never reaches the file.

    Parameters
    ----------
    path : Path
        The keys file (created if missing, with its directory).
    agency : str
        Agency id: printable, 1 to 64 characters.
    label : str
        Who holds the key: printable, at most 200 characters.

    Returns
    -------
    str
        The key (256 random bits, URL-safe base64).

    Raises
    ------
    ApiKeyError
        If ``agency`` or ``label`` is not printable or too long (nothing is written), or the
        existing file is invalid (naming the file and line; it is left as it is).
    """
    path = Path(path)
    _check_text("agency", agency)
    _check_text("label", label)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    entry = (
        f"\n[[keys]]\nagency = {json.dumps(agency, ensure_ascii=False)}\n"
        f'sha256 = "{hash_api_key(key)}"\n'
        f'label = {json.dumps(label, ensure_ascii=False)}\ncreated = "{created}"\n'
    )
    with _exclusive(path):
        load_api_keys(path)  # an invalid file is the operator's to repair, not to overwrite
        text = path.read_text(encoding="utf-8") if path.exists() else _KEYS_HEADER
        text += ("" if text.endswith("\n") else "\n") + entry
        if hash_api_key(key) not in _parse_keys(text, path):  # checked before writing
            raise ApiKeyError(f"{path}: expected the new entry to parse, found it missing")
        _write_private(path, text)
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
        try:
            known = load_api_keys(keys_path)
        except ApiKeyError as exc:  # fail closed, and tell the operator what to repair
            _LOG.error("API keys unavailable: %s", exc)
            raise HTTPException(503, "API keys unavailable: the keys file is invalid") from None
        for stored, agency in known.items():
            if hmac.compare_digest(stored, digest):
                return agency
        raise _unauthorised("unknown API key")

    return caller


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

    Raises
    ------
    ApiKeyError
        If the keys file exists but is invalid (naming the file and the line). A file broken
        later makes every keyed request answer 503, and the error is logged.
    """
    service = _Service(
        engine=make_engine(settings.resolved_database_url),
        agencies={a.id: a for a in load_rules(rules_path).agencies},
        clock=clock or (lambda: datetime.now(BEIJING)),
        base_url=base_url,
    )
    keys_file = Path(keys_path or settings.data_dir / "api_keys.toml")
    load_api_keys(keys_file)  # a corrupt keys file fails here, not as a 503 on every request
    caller = Depends(_caller(keys_file))
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
