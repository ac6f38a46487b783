"""Read CSV tables row by row, so that every error names the file, the line and the field.

Line numbers are physical lines of the file (header = line 1); blank lines are skipped. Used
by the tide-gauge readers and by ``resilience fit``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from importlib.resources.abc import Traversable
from pathlib import Path

from hazard_models.layer import SchemaError

__all__ = ["MISSING", "Row", "parse_float", "read_rows", "where"]

#: Cell values read as "no value" where a column allows it.
MISSING = frozenset({"", "na", "nan", "null", "none"})

Row = tuple[int, dict[str, str]]


def read_rows(source: Path | Traversable, required: Sequence[str]) -> tuple[list[str], list[Row]]:
    """Return the header and (line number, row) pairs of a CSV, checking required columns.

    Line numbers are physical lines of the file (header = line 1). Blank lines are skipped.
    """
    try:
        text = source.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"{source}: file not found") from None
    except UnicodeDecodeError as error:
        raise SchemaError(f"{source}: expected UTF-8 text ({error.reason})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    rows: list[Row] = []
    for row in reader:
        if None in row:
            extra = row.pop(None)
            raise SchemaError(
                f"{source}: line {reader.line_num}: expected {len(header)} fields, "
                f"found {len(header) + len(extra)}"
            )
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
    missing = [name for name in required if name not in header]
    if missing:
        raise SchemaError(
            f"{source}: line 1: missing column(s) {', '.join(missing)}; "
            f"expected at least {', '.join(required)}, found {', '.join(header) or 'no header'}"
        )
    if not rows:
        raise SchemaError(f"{source}: expected at least one data row, found none")
    return header, rows


def where(source: object, line: int, field: str) -> str:
    """Return ``"FILE: line N, field 'NAME'"`` for error messages."""
    return f"{source}: line {line}, field '{field}'"


def parse_float(
    text: str, source: object, line: int, field: str, *, allow_missing: bool = False
) -> float:
    """Parse a finite number, or NaN for a missing marker when ``allow_missing``."""
    if allow_missing and text.lower() in MISSING:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise SchemaError(f"{where(source, line, field)}: expected a number, found {text!r}")
    return value
