"""The legacy keys file of the warnings API: agency keys as SHA-256 hashes in TOML.

Before revision 0003 the API's keys lived in ``<data_dir>/api_keys.toml``, one ``[[keys]]``
table per key with ``agency`` and ``sha256`` (and ``label``, ``created``). Keys now live in
the database with roles (:mod:`resilience.api.keys`); this file is still honoured, read on
each request, for agency keys the database does not know, and ``resilience keys import``
copies its entries into the database (idempotent: by sha256). :func:`issue_api_key` still
appends to it (``resilience keys add AGENCY --keys FILE``).

Unsalted SHA-256 suffices because keys are 256-bit random tokens, not passwords (OWASP
Password Storage Cheat Sheet applies slow hashes to low-entropy secrets).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["ApiKeyError", "check_text", "hash_api_key", "issue_api_key", "load_api_keys"]


class ApiKeyError(ValueError):
    """The keys file is invalid; the message names the file and the entry."""


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


#: Longest agency id, label and key name (characters; ``api_keys`` columns are as long).
_MAX_LENGTH = {"agency": 64, "label": 200, "name": 200}
_KEYS_HEADER = "# resilience API keys: SHA-256 of each key, never the key itself.\n"


def check_text(field: str, value: str) -> None:
    """Refuse an agency id, label or key name that is empty (not label), long or unprintable.

    Raises
    ------
    ApiKeyError
        Naming the field, what it expects and what it found.
    """
    limit = _MAX_LENGTH[field]
    if field != "label" and not value:
        what = "agency id" if field == "agency" else field
        raise ApiKeyError(f"{field}: expected a non-empty {what}, found ''")
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
    check_text("agency", agency)
    check_text("label", label)
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
