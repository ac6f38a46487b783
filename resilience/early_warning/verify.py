"""Warning verification: score past alerts against what was observed, per hazard and level.

Event-based scores, as the US National Weather Service verifies its warnings (NWS Instruction
10-1601, "Verification Procedures", 2005; summarised in National Research Council 2005,
*Flash Flood Forecasting Over Complex Terrain*, appendix D, doi:10.17226/11128). For a level L
and an area (GB/T 2260 district):

* **warned intervals**: when the alerts announced level >= L there. Each non-Cancel message
  announces its level from its ``onset`` until the next message of the episode takes over
  (its ``onset``) or until ``expires``; a Cancel sent earlier ends the episode then.
* **observed events**: when the observations reached level >= L (touching or overlapping
  intervals are merged).
* an observed event overlapped by a warned interval (widened by ``tolerance_h`` on each side)
  is a **hit** (warned event), otherwise a **miss**; a warned interval overlapping no event is
  a **false alarm** (unverified warning).
* ``POD = hits / (hits + misses)``, ``FAR = false alarms / warnings``,
  ``CSI = 1 / (1 / POD + 1 / (1 - FAR) - 1)`` (NWSI 10-1601, CSI from POD and FAR).
* **lead time** of a hit: event start minus the time the warning in force was issued, i.e.
  the ``sent`` time of the first message of the overlapping warned interval (among those
  starting before the event ends); an event that began before its warning counts as zero
  lead time (NWSI 10-1601). Reported as mean and median (hours) and the share of hits with
  lead time > 0.
* **intervals**: each of POD, FAR and CSI with its confidence interval (Wilson by default,
  or Clopper-Pearson), from :mod:`resilience.early_warning.score_interval`.

Inputs come from :mod:`resilience.early_warning.verify_inputs` (CAP files or stored records;
observed events from CSV), or from engine decisions on an analysis
(:func:`observed_from_decisions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from hazard_models.layer import SchemaError
from resilience.early_warning.decision import AlertDecision
from resilience.early_warning.rule_models import LEVELS
from resilience.early_warning.score_interval import (
    INTERVAL_COLUMNS,
    IntervalMethod,
    score_intervals,
)
from resilience.early_warning.verify_inputs import AlertMessage, Span

__all__ = [
    "SCORE_COLUMNS",
    "Verification",
    "observed_from_decisions",
    "verify_alerts",
    "warned_spans",
]

SCORE_COLUMNS = (
    "hazard",
    "level",
    "events",
    "hits",
    "misses",
    "warnings",
    "false_alarms",
    "pod",
    "far",
    "csi",
    "lead_time_mean_h",
    "lead_time_median_h",
    "lead_time_positive_pct",
    *INTERVAL_COLUMNS,
)


@dataclass(frozen=True)
class Verification:
    """Scores per hazard and level, and the events and warnings behind them."""

    scores: pd.DataFrame
    events: pd.DataFrame


def _episodes(messages: Sequence[AlertMessage]) -> dict[str, list[AlertMessage]]:
    """Group messages by the Alert their ``references`` chain leads back to."""
    by_id = {m.identifier: m for m in messages}
    groups: dict[str, list[AlertMessage]] = {}
    for message in messages:
        root, seen = message, set()
        while root.references and root.identifier not in seen:
            seen.add(root.identifier)
            parent = root.references[-1]
            if parent not in by_id:
                raise SchemaError(
                    f"{root.source}: references {parent}, which is not among the alerts read; "
                    "expected every message of an episode"
                )
            root = by_id[parent]
        groups.setdefault(root.identifier, []).append(message)
    return groups


def warned_spans(messages: Sequence[AlertMessage]) -> list[Span]:
    """Return the intervals each message announced its level for, per area.

    Parameters
    ----------
    messages : sequence of AlertMessage
        Every message of the episodes to score.

    Returns
    -------
    list of Span
        ``issued`` is the message's ``sent``.
    """
    spans: list[Span] = []
    for episode in _episodes(messages).values():
        ordered = sorted(episode, key=lambda m: (m.sent, m.identifier))
        cancels = [m.sent for m in ordered if m.msg_type == "Cancel"]
        stop_all = min(cancels) if cancels else None
        steps = [m for m in ordered if m.msg_type != "Cancel"]
        for n, message in enumerate(steps):
            end = steps[n + 1].onset if n + 1 < len(steps) else message.expires
            end = min(end, message.expires, stop_all or end)  # an early Cancel ends it
            if end <= message.onset:
                continue
            for area in message.areas:
                spans.append(
                    Span(message.hazard, area, message.level, message.onset, end, message.sent)
                )
    return spans


def observed_from_decisions(decisions: Iterable[AlertDecision]) -> list[Span]:
    """Return observed spans from the engine run on an analysis (``product = "analysis"``).

    Each level step becomes a span; step ends include the rule's hold (``hold_h``), so events
    last up to that much longer than the raw observations.
    """
    return [
        Span(d.hazard, d.area.code, s.level, s.start, s.end) for d in decisions for s in d.steps
    ]


def _merge(spans: list[Span]) -> list[tuple[datetime, datetime, list[Span]]]:
    """Merge overlapping or touching spans into (start, end, members) intervals."""
    merged: list[tuple[datetime, datetime, list[Span]]] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and span.start <= merged[-1][1]:
            start, end, members = merged[-1]
            merged[-1] = (start, max(end, span.end), [*members, span])
        else:
            merged.append((span.start, span.end, [span]))
    return merged


def _at_least(spans: list[Span], rank: int) -> list[Span]:
    return [s for s in spans if LEVELS.index(s.level) >= rank]


def _overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def _lead_h(event: tuple, intervals: list, tolerance: pd.Timedelta) -> float | None:
    """Lead time (h, >= 0) of an event, or None if no warned interval overlaps it.

    The warning in force is each overlapping merged interval; it was issued when the first of
    its messages that starts before the event ends was sent.
    """
    start, end, _ = event
    issued = [
        member.issued
        for w_start, w_end, members in intervals
        if _overlaps(w_start - tolerance, w_end + tolerance, start, end)
        for member in members
        if member.issued is not None and member.start - tolerance < end
    ]
    if not issued:
        return None
    return max((start - min(issued)).total_seconds() / 3600.0, 0.0)


def _score_area(warned: list[Span], observed: list[Span], tolerance: pd.Timedelta) -> list[dict]:
    """Return one row per observed event and per warned interval of one hazard, level, area."""
    events, intervals = _merge(observed), _merge(warned)
    rows = []
    for event in events:
        lead = _lead_h(event, intervals, tolerance)
        matched = lead is not None
        rows.append(
            {
                "kind": "event",
                "start": event[0],
                "end": event[1],
                "matched": matched,
                "lead_time_h": lead if matched else np.nan,
            }
        )
    for start, end, _ in intervals:
        hit = any(_overlaps(start - tolerance, end + tolerance, e[0], e[1]) for e in events)
        rows.append(
            {"kind": "warning", "start": start, "end": end, "matched": hit, "lead_time_h": np.nan}
        )
    return rows


def _scores(events: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (hazard, level), group in events.groupby(["hazard", "level"], sort=False):
        observed, warnings = group[group.kind == "event"], group[group.kind == "warning"]
        hits = int(observed.matched.sum())
        false_alarms = int((~warnings.matched.astype(bool)).sum())
        pod = hits / len(observed) if len(observed) else np.nan
        far = false_alarms / len(warnings) if len(warnings) else np.nan
        csi = 1.0 / (1.0 / pod + 1.0 / (1.0 - far) - 1.0) if pod > 0 and far < 1 else 0.0
        leads = observed.lead_time_h.dropna()
        rows.append(
            {
                "hazard": hazard,
                "level": level,
                "events": len(observed),
                "hits": hits,
                "misses": len(observed) - hits,
                "warnings": len(warnings),
                "false_alarms": false_alarms,
                "pod": pod,
                "far": far,
                "csi": csi if len(observed) and len(warnings) else np.nan,
                "lead_time_mean_h": leads.mean() if len(leads) else np.nan,
                "lead_time_median_h": leads.median() if len(leads) else np.nan,
                "lead_time_positive_pct": 100.0 * (leads > 0).mean() if len(leads) else np.nan,
            }
        )
    table = pd.DataFrame(rows, columns=SCORE_COLUMNS[: -len(INTERVAL_COLUMNS)])
    rank = table["level"].map(LEVELS.index)
    table = table.assign(_rank=rank).sort_values(["hazard", "_rank"], kind="stable")
    return table.drop(columns="_rank").reset_index(drop=True)


def verify_alerts(
    messages: Sequence[AlertMessage],
    observed: Sequence[Span],
    *,
    tolerance_h: float = 0.0,
    interval: IntervalMethod = "wilson",
    confidence: float = 0.95,
) -> Verification:
    """Score alerts against observed events per hazard and level (NWSI 10-1601 measures).

    Parameters
    ----------
    messages : sequence of AlertMessage
        Every message of the episodes to score (:func:`read_cap_alerts`,
        :func:`alerts_from_records`).
    observed : sequence of Span
        Observed intervals at or above a level (:func:`read_observed`).
    tolerance_h : float
        Hours by which a warned interval is widened on each side when matching (h, >= 0).
    interval : {"wilson", "beta"}
        Confidence interval of POD, FAR and CSI: Wilson score, or Clopper-Pearson.
    confidence : float
        Coverage of those intervals, in (0, 1).

    Returns
    -------
    Verification
        ``scores``: hazard, level, events, hits, misses, warnings, false_alarms, pod, far,
        csi, lead_time_mean_h, lead_time_median_h, lead_time_positive_pct, then the bounds
        pod_low, pod_high, far_low, far_high, csi_low, csi_high; ``events``: one
        row per observed event and per warned interval (kind, hazard, level, area, start,
        end, matched, lead_time_h). Levels are "at or above"; a (hazard, level) without any
        event or warning is left out.

    Raises
    ------
    ValueError
        If ``tolerance_h`` is negative, or ``interval`` or ``confidence`` is not allowed.
    SchemaError
        If a message references one that is not among ``messages``.
    """
    if tolerance_h < 0:
        raise ValueError(f"tolerance_h: expected >= 0, found {tolerance_h}")
    if interval not in ("wilson", "beta"):
        raise ValueError(f"interval: expected 'wilson' or 'beta', found {interval!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: expected a value in (0, 1), found {confidence}")
    tolerance = pd.Timedelta(hours=tolerance_h)
    groups: dict[tuple[str, str], tuple[list[Span], list[Span]]] = {}
    for span in warned_spans(messages):
        groups.setdefault((span.hazard, span.area), ([], []))[0].append(span)
    for span in observed:
        groups.setdefault((span.hazard, span.area), ([], []))[1].append(span)
    rows: list[dict] = []
    for (hazard, area), (warned, seen) in sorted(groups.items()):
        for rank, level in enumerate(LEVELS):
            at_level = _score_area(_at_least(warned, rank), _at_least(seen, rank), tolerance)
            rows.extend({"hazard": hazard, "level": level, "area": area, **r} for r in at_level)
    columns = ["kind", "hazard", "level", "area", "start", "end", "matched", "lead_time_h"]
    events = pd.DataFrame(rows, columns=columns)
    scores = score_intervals(_scores(events), method=interval, confidence=confidence)
    return Verification(scores=scores, events=events)
