"""Who is calling: the request's API key mapped to a :class:`Caller` (name, role, agency).

The key comes in ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``, declared through
FastAPI's security classes (:class:`~fastapi.security.HTTPBearer`,
:class:`~fastapi.security.APIKeyHeader`) so that the OpenAPI document names both schemes.
The database (``api_keys``) decides first: a known key is its role, a revoked one is refused.
A key the database does not know is looked up in the legacy keys file
(:mod:`resilience.api.legacy_keys`, re-read on each request) as an agency key. 401: no key,
an unknown or a revoked key (with ``WWW-Authenticate: Bearer``); 403: a role the endpoint
does not serve; 503: the legacy keys file is invalid (fail closed; the log names the file
and the line).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import HTTPException, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from resilience.api.keys import Role, find_api_key
from resilience.api.legacy_keys import ApiKeyError, hash_api_key, load_api_keys

__all__ = ["BEARER_SCHEME", "HEADER_SCHEME", "Caller", "caller_dependency", "require"]

#: The logger of the API app, where operators look (kept from before the split).
_LOG = logging.getLogger("resilience.api.app")

BEARER_SCHEME = HTTPBearer(
    auto_error=False, description="An API key: `Authorization: Bearer KEY`", scheme_name="bearer"
)
HEADER_SCHEME = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The same key in `X-API-Key: KEY`"
)


@dataclass(frozen=True)
class Caller:
    """The holder of the request's key: ``key_id`` is ``None`` for a legacy-file key."""

    key_id: int | None
    name: str
    role: Role
    agency: str | None


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _legacy_caller(keys_path: Path, digest: str) -> Caller | None:
    try:
        known = load_api_keys(keys_path)
    except ApiKeyError as exc:  # fail closed, and tell the operator what to repair
        _LOG.error("API keys unavailable: %s", exc)
        raise HTTPException(503, "API keys unavailable: the keys file is invalid") from None
    for stored, agency in known.items():
        if hmac.compare_digest(stored, digest):
            return Caller(key_id=None, name=f"legacy {agency}", role="agency", agency=agency)
    return None


def caller_dependency(engine: Engine, keys_path: Path) -> Callable[..., Caller]:
    """Return the dependency that maps the request's key to its :class:`Caller` (or 401).

    Parameters
    ----------
    engine : Engine
        The database holding ``api_keys``.
    keys_path : Path
        The legacy keys file, consulted for keys the database does not know.

    Returns
    -------
    callable
        A FastAPI dependency.
    """

    def caller(
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER_SCHEME)],
        header: Annotated[str | None, Security(HEADER_SCHEME)],
    ) -> Caller:
        key = bearer.credentials.strip() if bearer is not None else header
        if not key:
            raise _unauthorised("API key required (Authorization: Bearer KEY or X-API-Key)")
        digest = hash_api_key(key)
        stored = find_api_key(engine, digest)  # looked up by hash: timing reveals no key
        if stored is not None:
            if stored.revoked is not None:
                raise _unauthorised("revoked API key")
            return Caller(
                key_id=stored.id, name=stored.name, role=stored.role, agency=stored.agency
            )
        legacy = _legacy_caller(keys_path, digest)
        if legacy is None:
            raise _unauthorised("unknown API key")
        return legacy

    return caller


def require(caller: Caller, *roles: Role) -> Caller:
    """Return ``caller`` if its role is one of ``roles``; else raise 403 naming them."""
    if caller.role not in roles:
        raise HTTPException(
            403, f"this endpoint needs a key of role {' or '.join(roles)}, not {caller.role}"
        )
    return caller
