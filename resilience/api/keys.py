"""API keys in the database (table ``api_keys``, revision 0003): add, list, revoke, import.

A key has a unique name and a role: ``engineer`` (submits checks and sees its own),
``reviewer`` (sees every check and records decisions) or ``agency`` (the warnings endpoints
of the agency it names). Only the key's SHA-256 is stored; :func:`add_api_key` returns the
key once. Revoking keeps the row (``revoked`` set), so decisions and checks keep their
author. :func:`import_legacy_keys` copies the entries of the legacy keys file
(:mod:`resilience.api.legacy_keys`) as agency keys, idempotently (a sha256 already in the
table, revoked or not, is skipped), named ``legacy <agency> <first 12 hex of sha256>``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from resilience.api.legacy_keys import ApiKeyError, check_text, hash_api_key, load_api_keys
from resilience.storage.database import session_scope
from resilience.storage.tables import ApiKeyRecord

__all__ = [
    "ROLES",
    "ApiKey",
    "Role",
    "add_api_key",
    "find_api_key",
    "import_legacy_keys",
    "list_api_keys",
    "revoke_api_key",
]

Role = Literal["engineer", "reviewer", "agency"]
ROLES: tuple[str, ...] = get_args(Role)


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the key itself): id, name, role, agency, created, revoked."""

    id: int
    name: str
    role: Role
    agency: str | None
    created: datetime
    revoked: datetime | None

    @classmethod
    def of(cls, record: ApiKeyRecord) -> ApiKey:
        """Return the value of an ``api_keys`` row."""
        return cls(
            id=record.id,
            name=record.name,
            role=record.role,  # type: ignore[arg-type]  # written only from a Role
            agency=record.agency,
            created=record.created,
            revoked=record.revoked,
        )


def _check_role(role: str, agency: str | None) -> None:
    if role not in ROLES:
        raise ApiKeyError(f"role: expected one of {', '.join(ROLES)}, found {role!r}")
    if role == "agency" and agency is None:
        raise ApiKeyError("agency: expected an agency id for a key of role agency (--agency)")
    if role != "agency" and agency is not None:
        raise ApiKeyError(f"agency: expected none for a key of role {role}, found {agency!r}")
    if agency is not None:
        check_text("agency", agency)


def add_api_key(
    engine: Engine, name: str, *, role: str, agency: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key, store its SHA-256 (one transaction) and return it with the key itself.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The database (at revision 0003 or later).
    name : str
        Unique name of the key's holder: printable, 1 to 200 characters.
    role : {"engineer", "reviewer", "agency"}
        What the key may do.
    agency : str, optional
        The agency id: required for role ``agency``, refused for the others.

    Returns
    -------
    tuple of (ApiKey, str)
        The stored key and the key (256 random bits, URL-safe base64), shown only now.

    Raises
    ------
    ApiKeyError
        A bad name, role or agency, or a name already taken; nothing is stored.
    """
    check_text("name", name)
    _check_role(role, agency)
    key = secrets.token_urlsafe(32)
    record = ApiKeyRecord(
        name=name, role=role, agency=agency, sha256=hash_api_key(key), created=datetime.now(UTC)
    )
    try:
        with session_scope(engine) as session:
            session.add(record)
            session.flush()
            stored = ApiKey.of(record)
    except IntegrityError:
        raise ApiKeyError(f"name: expected a new key name, found {name!r} taken") from None
    return stored, key


def find_api_key(engine: Engine, digest: str) -> ApiKey | None:
    """Return the stored key with this SHA-256 (revoked or not), ``None`` if unknown."""
    with session_scope(engine) as session:
        record = session.scalars(select(ApiKeyRecord).where(ApiKeyRecord.sha256 == digest)).first()
        return None if record is None else ApiKey.of(record)


def list_api_keys(engine: Engine) -> list[ApiKey]:
    """Return every stored key, oldest first (revoked ones included)."""
    with session_scope(engine) as session:
        return [ApiKey.of(r) for r in session.scalars(select(ApiKeyRecord).order_by("id"))]


def revoke_api_key(engine: Engine, name_or_id: str) -> ApiKey:
    """Revoke a key by name or by id (one transaction); return it. Revoking twice is a no-op.

    Raises
    ------
    KeyError
        If no key has that name or id.
    """
    match = ApiKeyRecord.name == name_or_id
    if name_or_id.isdigit():
        match = or_(match, ApiKeyRecord.id == int(name_or_id))
    with session_scope(engine) as session:
        found = list(session.scalars(select(ApiKeyRecord).where(match).order_by("id")))
        if not found:
            raise KeyError(f"no API key named or numbered {name_or_id!r}")
        record = next((r for r in found if r.name == name_or_id), found[0])
        if record.revoked is None:
            record.revoked = datetime.now(UTC)
        session.flush()
        return ApiKey.of(record)


def import_legacy_keys(engine: Engine, path: Path) -> list[ApiKey]:
    """Copy the legacy keys file's entries into ``api_keys`` as agency keys; return the new.

    Idempotent: an entry whose sha256 is already stored (revoked or not) is skipped, so a
    key revoked in the database stays revoked. One transaction.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The database.
    path : Path
        The legacy keys file (absent: nothing to import).

    Returns
    -------
    list of ApiKey
        The keys imported by this call.

    Raises
    ------
    ApiKeyError
        If the file is invalid (naming the file and line); nothing is imported.
    """
    entries = load_api_keys(Path(path))
    with session_scope(engine) as session:
        known = set(session.scalars(select(ApiKeyRecord.sha256)))
        added = [
            ApiKeyRecord(
                name=f"legacy {agency} {digest[:12]}",
                role="agency",
                agency=agency,
                sha256=digest,
                created=datetime.now(UTC),
            )
            for digest, agency in entries.items()
            if digest not in known
        ]
        session.add_all(added)
        session.flush()
        return [ApiKey.of(r) for r in added]
