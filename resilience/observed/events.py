"""Turn the hourly station record into observed warning events for ``resilience warn verify``.

An observed event is an interval during which the observed level was *at least* a level, in
the CSV that :func:`resilience.early_warning.verify_inputs.read_observed` reads::

    hazard,area,level,start,end

Levels come from criteria like those of the rule set (``resilience/data/rules``), given by
the caller as :class:`EventCriterion` (this package does not import the warning engine;
``resilience/data/observed/make_observed_files.py`` builds them from the shipped rules). The
metrics follow the engine's conventions (``resilience.early_warning.metric``): a sum over
``w`` hours at hour ``t`` is the total of hours ``t-w+1 .. t``; a daily maximum is taken over
the Beijing calendar day and applies to every hour of that day. Missing hours make a metric
a lower bound: it can confirm that a level was reached, never that it was not; the hours
that leave a level undecided are listed in ``attrs["undecided_hours"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from resilience.schema import SchemaError
from resilience.storage.atomic import write_text_atomic

__all__ = [
    "EVENT_COLUMNS",
    "LEVELS",
    "EventCriterion",
    "observed_events",
    "write_observed_events",
]

EVENT_COLUMNS = ("hazard", "area", "level", "start", "end")
#: Colour levels in increasing severity, as in China's warning signals and the rule set.
LEVELS = ("blue", "yellow", "orange", "red")
_OFFSET = "+08:00"  # Beijing time (no daylight saving), the record's clock


@dataclass(frozen=True)
class EventCriterion:
    """One metric of the hourly record and its threshold per level.

    Attributes
    ----------
    column : {"temperature_degc", "precipitation_mm"}
        Column of :func:`resilience.observed.hourly.read_hourly_station`.
    aggregation : {"sum", "daily_max"}
        Trailing sum over ``window_h`` hours, or maximum over the Beijing day.
    thresholds : tuple of (str, float)
        (level, value) in the column's units (mm over the window, degC).
    window_h : int
        Hours of a sum.
    operator : {">", ">="}
        How a value reaches a threshold.
    """

    column: Literal["temperature_degc", "precipitation_mm"]
    aggregation: Literal["sum", "daily_max"]
    thresholds: tuple[tuple[str, float], ...]
    window_h: int = 1
    operator: Literal[">", ">="] = ">="

    def __post_init__(self) -> None:
        unknown = [level for level, _ in self.thresholds if level not in LEVELS]
        if unknown or not self.thresholds:
            raise ValueError(f"EventCriterion: expected levels from {LEVELS}, found {unknown}")
        if self.window_h < 1:
            raise ValueError(f"EventCriterion: window_h: expected >= 1, found {self.window_h}")


def _metric(series: pd.Series, criterion: EventCriterion) -> tuple[pd.Series, pd.Series]:
    """Return the metric per hour (a lower bound) and whether it is exact (no missing hour)."""
    missing = series.isna()
    if criterion.aggregation == "sum":
        window = criterion.window_h
        value = series.rolling(window, min_periods=1).sum()
        exact = ~missing.rolling(window, min_periods=1).max().astype(bool)
        return value, exact
    day = series.index.normalize()
    value = series.groupby(day).transform("max")
    exact = ~missing.groupby(day).transform("max").astype(bool)
    return value, exact


def _levels(
    hourly: pd.DataFrame, criteria: Sequence[EventCriterion]
) -> tuple[np.ndarray, np.ndarray]:
    """Return per hour the highest level index reached (-1: none) and the undecided hours.

    An hour is undecided when a level above the one reached was not reached by a metric that
    had missing values (so it might have been).
    """
    reached = np.full(len(hourly), -1)
    misses: list[tuple[int, np.ndarray]] = []  # (level index, not reached with missing data)
    for criterion in criteria:
        if criterion.column not in hourly.columns:
            raise SchemaError(f"hourly record: expected column {criterion.column!r}")
        value, exact = _metric(hourly[criterion.column], criterion)
        values = value.to_numpy()
        for level, threshold in criterion.thresholds:
            with np.errstate(invalid="ignore"):
                hit = values > threshold if criterion.operator == ">" else values >= threshold
            reached = np.where(hit, np.maximum(reached, LEVELS.index(level)), reached)
            misses.append((LEVELS.index(level), ~hit & ~exact.to_numpy()))
    undecided = np.zeros(len(hourly), dtype=bool)
    for index, missed in misses:
        undecided |= missed & (index > reached)
    return reached, undecided


def observed_events(
    hourly: pd.DataFrame,
    criteria: Sequence[EventCriterion],
    *,
    hazard: str,
    areas: Sequence[str],
    start: str,
    end: str,
) -> pd.DataFrame:
    """Return the intervals during which each level was reached, per area.

    Parameters
    ----------
    hourly : pandas.DataFrame
        From :func:`resilience.observed.hourly.read_hourly_station` (index: start of each
        hour, Beijing time).
    criteria : sequence of EventCriterion
        The hazard's criteria; an hour's level is the highest any of them reaches.
    hazard : str
        Hazard id of the rule set, e.g. ``"rainstorm"``.
    areas : sequence of str
        6-digit GB/T 2260 codes the station stands for (one row per area and interval).
    start, end : str
        ISO local times ``[start, end)`` of the period to convert; the hours before ``start``
        feed the sums.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EVENT_COLUMNS`; ``start``/``end`` ISO 8601 with +08:00. For each level
        of the criteria, the intervals during which that level or a higher one was reached
        (so an orange interval also appears, longer or equal, at yellow).
        ``attrs["undecided_hours"]``: hours whose level is a lower bound because of missing
        values.

    Raises
    ------
    SchemaError
        For an area that is not a 6-digit code, ``start >= end``, or a period outside the
        record.
    """
    bad = [a for a in areas if not (a.isdigit() and len(a) == 6)]
    if bad or not areas:
        raise SchemaError(f"areas: expected 6-digit GB/T 2260 codes, found {list(areas)}")
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    if first >= last or first < hourly.index[0] or last > hourly.index[-1] + pd.Timedelta("1h"):
        raise SchemaError(
            f"period {start}..{end}: expected start < end within the record "
            f"{hourly.index[0]}..{hourly.index[-1]}"
        )
    reached, undecided = _levels(hourly, criteria)
    inside = (hourly.index >= first) & (hourly.index < last)
    hours = hourly.index[inside]
    rows = []
    present = {level for criterion in criteria for level, _ in criterion.thresholds}
    for index, level in enumerate(LEVELS):
        if level not in present:
            continue
        mask = np.concatenate([[False], reached[inside] >= index, [False]])
        edges = np.diff(mask.astype(np.int8))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            begin, finish = hours[a], hours[b - 1] + pd.Timedelta("1h")
            for area in areas:
                rows.append((hazard, area, level, _iso(begin), _iso(finish)))
    events = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    events.attrs = {"undecided_hours": [_iso(t) for t in hours[undecided[inside]]]}
    return events


def _iso(time: pd.Timestamp) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S") + _OFFSET


def write_observed_events(
    events: pd.DataFrame, path: Path, *, comments: Sequence[str] = ()
) -> Path:
    """Write observed events as the CSV ``resilience warn verify --observed`` reads.

    Parameters
    ----------
    events : pandas.DataFrame
        Columns :data:`EVENT_COLUMNS` (e.g. several :func:`observed_events` concatenated).
    path : Path
        Output file, written atomically (UTF-8, LF).
    comments : sequence of str
        Lines written first, each prefixed ``# `` (provenance; verification skips them).

    Returns
    -------
    Path
        ``path``.
    """
    if any('"' in c or "\n" in c for c in comments):
        raise ValueError("comments: expected single lines without double quotes")
    lines = [f"# {c}" for c in comments] + [",".join(EVENT_COLUMNS)]
    lines += [
        ",".join(str(v) for v in row) for row in events[list(EVENT_COLUMNS)].itertuples(index=False)
    ]
    return write_text_atomic(Path(path), "\n".join(lines) + "\n")
