"""Read the rows of a CSV strictly: a row with fewer or more fields than the header raises.

:func:`resilience.storage.csv_rows.read_rows` reads a short row as empty cells, which a
reader of observations would then take for missing values: a truncated line would silently
become a gap. Here it is an error naming the file and the line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from resilience.schema import SchemaError

__all__ = ["read_strict_rows"]


def read_strict_rows(
    path: Path, required: Sequence[str]
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Return the header and (line number, row) pairs of a CSV; every row must be whole.

    Line numbers are physical lines (header = 1); blank lines are skipped; cells are
    stripped.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SchemaError
        If the file is not UTF-8, a required column is missing (listing those found), a row
        has another number of fields than the header, or there is no data row.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    except UnicodeDecodeError as error:
        raise SchemaError(f"{path}: expected UTF-8 text ({error.reason})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip() for name in next(reader, [])]
    missing = [name for name in required if name not in header]
    if missing:
        raise SchemaError(
            f"{path}: line 1: missing column(s) {', '.join(missing)}; expected at least "
            f"{', '.join(required)}, found {', '.join(header) or 'no header'}"
        )
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise SchemaError(
                f"{path}: line {reader.line_num}: expected {len(header)} fields, found "
                f"{len(cells)} (truncated or extra fields)"
            )
        rows.append((reader.line_num, dict(zip(header, (c.strip() for c in cells), strict=True))))
    if not rows:
        raise SchemaError(f"{path}: expected at least one data row, found none")
    return header, rows
