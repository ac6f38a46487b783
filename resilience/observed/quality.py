"""Data-quality rules shared by the readers: gaps as runs, year completeness, physical bounds.

Gaps are listed, never filled: :func:`missing_runs` turns a missing-value mask into runs of
consecutive missing steps (:class:`Gap`). A year's extreme is trusted only when the year is
complete by the ETCCDI/RClimDex rule (:func:`year_completeness`). Values beyond the world
records of the WMO Archive of Weather and Climate Extremes (:data:`WORLD_RECORDS`) cannot be
measurements in the units the readers expect, so a reader raises on them (usually a sign of
wrong units) instead of flagging them.

References
----------
Zhang, X. and Yang, F. (2004). RClimDex (1.0) User Manual. Climate Research Branch,
Environment Canada; rule as implemented in ``climdex.pcic`` (``climdexInput``): "Years with
more than 15 days missing, and months with more than 3 days missing, are considered to be of
poor quality" and an annual index is missing when any month is.
WMO Archive of Weather and Climate Extremes, https://wmo.asu.edu (world records).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "MAX_MISSING_DAYS_PER_MONTH",
    "MAX_MISSING_DAYS_PER_YEAR",
    "WORLD_RECORDS",
    "Gap",
    "describe_gaps",
    "missing_runs",
    "year_completeness",
]

#: RClimDex / climdex.pcic: a month with more than 3 missing days is missing (Zhang & Yang 2004).
MAX_MISSING_DAYS_PER_MONTH = 3
#: RClimDex / climdex.pcic: a year with more than 15 missing days is missing.
MAX_MISSING_DAYS_PER_YEAR = 15
#: Physical bounds from world records: air temperature -89.2 degC (Vostok, 1983) to 56.7 degC
#: (Death Valley, 1913) and 24-h rainfall 1825 mm (Foc-Foc, La Reunion, 1966), WMO Archive of
#: Weather and Climate Extremes; 60-min rainfall 401 mm (Shangdi, Inner Mongolia, 1975), the
#: table of greatest observed point rainfalls in WMO-No. 1045 (Manual on Estimation of PMP,
#: 2009), as recalled (UNCONFIRMED). Loose bounds that catch wrong units, not a QC limit.
WORLD_RECORDS: dict[str, tuple[float, float]] = {
    "temperature_degc": (-89.2, 56.7),
    "precipitation_mm_per_hour": (0.0, 401.0),
    "precipitation_mm_per_day": (0.0, 1825.0),
}


@dataclass(frozen=True)
class Gap:
    """A run of consecutive missing steps of one field.

    Attributes
    ----------
    field : str
        Variable or column name.
    start, end : str
        ISO labels of the first and last missing step (inclusive).
    steps : int
        Number of missing steps (hours, days or months, as the reader says).
    reason : str
        Why the steps are missing ("missing value", "not in the file", "-99999", ...).
    """

    field: str
    start: str
    end: str
    steps: int
    reason: str

    def __str__(self) -> str:
        """Return ``"field: start..end (N steps, reason)"``."""
        span = self.start if self.start == self.end else f"{self.start}..{self.end}"
        return f"{self.field}: {span} ({self.steps}, {self.reason})"


def missing_runs(labels: pd.Index, missing: np.ndarray, field: str, reason: str) -> list[Gap]:
    """Return the runs of consecutive ``True`` in ``missing`` as gaps.

    Parameters
    ----------
    labels : pandas.Index
        One label per step, in order, already formatted as the reports should show it
        (e.g. ``"2013-09-13T05:00"`` for hours, ``"2013-09-13"`` for days).
    missing : numpy.ndarray
        Boolean mask, same length as ``labels``.
    field, reason : str
        Copied to each :class:`Gap`.

    Returns
    -------
    list of Gap
        In order; empty when nothing is missing.
    """
    flags = np.asarray(missing, dtype=bool)
    if flags.size != len(labels):
        raise ValueError(f"missing_runs: {flags.size} flags for {len(labels)} labels")
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [
        Gap(field, str(labels[a]), str(labels[b]), int(b - a + 1), reason)
        for a, b in zip(starts, ends, strict=True)
    ]


def describe_gaps(gaps: list[Gap], *, limit: int = 12) -> str:
    """Return the gaps as one line each (the first ``limit``, then a count of the rest)."""
    if not gaps:
        return "none"
    lines = [str(gap) for gap in gaps[:limit]]
    if len(gaps) > limit:
        lines.append(f"... and {len(gaps) - limit} more runs")
    return "; ".join(lines)


def year_completeness(missing_days: pd.DataFrame) -> pd.DataFrame:
    """Apply the RClimDex rule to missing days per month and say which years are complete.

    Parameters
    ----------
    missing_days : pandas.DataFrame
        Index: years; columns: months 1-12; values: missing days of that month (a month
        absent from the record counts all its days).

    Returns
    -------
    pandas.DataFrame
        Index: years; columns ``missing_days`` (days), ``missing_months`` (months with more
        than :data:`MAX_MISSING_DAYS_PER_MONTH` missing days) and ``complete`` (no missing
        month and at most :data:`MAX_MISSING_DAYS_PER_YEAR` missing days).

    Notes
    -----
    Zhang & Yang (2004), RClimDex; climdex.pcic ``climdexInput`` NA masks.
    """
    table = missing_days.reindex(columns=range(1, 13))
    if table.isna().any().any():
        raise ValueError("year_completeness: expected missing days for all 12 months")
    total = table.sum(axis=1).astype(int)
    months = (table > MAX_MISSING_DAYS_PER_MONTH).sum(axis=1).astype(int)
    complete = (months == 0) & (total <= MAX_MISSING_DAYS_PER_YEAR)
    return pd.DataFrame({"missing_days": total, "missing_months": months, "complete": complete})
