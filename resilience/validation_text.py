"""Pydantic validation errors as people read them: one ``field: what was expected`` per line.

Pydantic's own text carries ``[type=..., input_value=..., input_type=...]`` and an
``errors.pydantic.dev`` link on each field; :func:`field_lines` keeps the field and the
expectation, adds what was found, and :func:`describe` prefixes the source (a file, a
settings source) so that every reader of user input (submissions, settings, city profiles,
rule and delivery files) fails the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

__all__ = ["describe", "error_message", "field_lines"]

#: Pydantic messages rephrased (by error type) as what was expected.
_EXPECTED = {
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected text",
    "missing": "required, missing",
    "extra_forbidden": "not a known field",
    "json_invalid": "expected JSON",
    "dict_type": "expected a mapping (key: value)",
    "list_type": "expected a list",
}
#: Found values longer than this are cut (a whole file pasted into a field).
_MAX_FOUND = 60


def _found(error: Mapping[str, Any]) -> str:
    if error.get("type") in ("missing", "json_invalid") or "input" not in error:
        return ""
    value = repr(error["input"])
    if len(value) > _MAX_FOUND:
        value = value[: _MAX_FOUND - 3] + "..."
    return f", found {value}"


def error_message(error: Mapping[str, Any]) -> str:
    """Return what one pydantic error (an item of ``errors()``) expected, and what was found."""
    kind = str(error.get("type", ""))
    message = (
        str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    )
    if kind in _EXPECTED:
        detail = (
            f" ({error['ctx']['error']})" if kind == "json_invalid" and error.get("ctx") else ""
        )
        return _EXPECTED[kind] + detail + _found(error)
    if kind in ("value_error", "assertion_error"):
        return message  # our own validators already say what was expected and found
    if kind in ("literal_error", "enum"):
        return message.replace("Input should be", "expected") + _found(error)
    if message.startswith("Input should be"):
        return message.replace("Input should be", "expected", 1) + _found(error)
    return message + _found(error)


def field_lines(errors: ValidationError | Iterable[Mapping[str, Any]]) -> list[str]:
    """Return one ``field: message`` line per error, fields dotted (``rules.2.level``).

    Parameters
    ----------
    errors : pydantic.ValidationError or iterable of dict
        The error, or its ``errors()``.

    Returns
    -------
    list of str
        ``"(whole document)"`` stands for an error not tied to a field.
    """
    items = errors.errors() if isinstance(errors, ValidationError) else errors
    lines = []
    for error in items:
        field = ".".join(str(part) for part in error.get("loc", ())) or "(whole document)"
        lines.append(f"{field}: {error_message(error)}")
    return lines


def describe(source: str, error: ValidationError, *, prefix: str = "") -> str:
    """Return ``source`` and the error's fields, one per line (one line for one field).

    Parameters
    ----------
    source : str
        What was read: a file path, ``"settings"``...
    error : pydantic.ValidationError
    prefix : str
        Put before each field, e.g. ``"field "``.

    Returns
    -------
    str
        ``"path: field: message"`` for one error; otherwise ``"path: N fields are invalid"``
        followed by an indented ``field: message`` line each.
    """
    lines = [prefix + line for line in field_lines(error)]
    if len(lines) == 1:
        return f"{source}: {lines[0]}"
    return f"{source}: {len(lines)} fields are invalid\n" + "\n".join(f"  {x}" for x in lines)
