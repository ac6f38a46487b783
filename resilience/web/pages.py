"""What the warnings pages show: active warnings filtered for a viewer, CAP texts, times.

Pure data for the templates: :func:`warning_rows` (the list and the map's levels),
:func:`cap_texts` (one CAP message's fields per language), :func:`stored_span` and
:func:`exercise_span` (the stored messages' time span and a suggested time to view them),
:func:`time_slider` (the time slider over that span), and Shanghai-time formatting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from resilience.early_warning.cap import CAP_NS
from resilience.early_warning.feed import (
    AddressedMessage,
    active_alerts,
    check_view_time,
    info_fields,
)
from resilience.early_warning.metric import BEIJING
from resilience.early_warning.outbox import alert_time
from resilience.storage.database import session_scope
from resilience.storage.tables import AlertRecord

__all__ = [
    "LEVELS",
    "SLIDER_STEP",
    "Filters",
    "TimeSlider",
    "WarningRow",
    "cap_texts",
    "exercise_span",
    "highest_levels",
    "parse_view_time",
    "shanghai_time",
    "stored_hazards",
    "stored_span",
    "time_slider",
    "warning_rows",
]

LEVELS = ("blue", "yellow", "orange", "red")
LEVEL_NAMES = {
    "blue": "蓝色 blue",
    "yellow": "黄色 yellow",
    "orange": "橙色 orange",
    "red": "红色 red",
}
_NS = {"cap": CAP_NS}
_INFO_FIELDS: tuple[str, ...] = ("event", "headline", "description", "instruction")
_INFO_FIELDS += ("senderName", "urgency", "severity", "certainty", "effective", "onset")
_INFO_FIELDS += ("expires", "web")
#: The time slider's step: half an hour (alerts start and end on whole hours; the half hour
#: lets the slider hold a view time such as 20:30).
SLIDER_STEP = timedelta(minutes=30)
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Filters:
    """The page's query: agency addressed, hazard and level (``None``: any)."""

    agency: str | None = None
    hazard: str | None = None
    level: str | None = None


@dataclass(frozen=True)
class WarningRow:
    """One active warning as the list shows it."""

    identifier: str
    hazard: str
    level: str
    msg_type: str
    scope: str
    area_code: str
    area_zh: str
    area_en: str
    event_zh: str
    event_en: str
    headline_zh: str
    headline_en: str
    onset: datetime
    expires: datetime
    addressees: tuple[str, ...]


def shanghai_time(value: datetime) -> str:
    """Return ``value`` as Shanghai wall-clock time: ``2026-07-21 08:00 (北京时间)``."""
    return alert_time(value).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") + " (北京时间)"


def parse_view_time(text: str) -> datetime:
    """Return the view time of ``?at=``: ISO 8601 with offset, or without (Shanghai time).

    Raises
    ------
    ValueError
        If ``text`` is not an ISO 8601 time or is out of range.
    """
    text = text.strip()
    if len(text) > 6 and text[-6] == " " and text[-3] == ":":  # "+08:00" typed unescaped
        text = text[:-6] + "+" + text[-5:]
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:  # the page's datetime-local field: Shanghai wall clock
        value = value.replace(tzinfo=BEIJING)
    return check_view_time(value)


def cap_texts(xml: str) -> dict[str, dict[str, str]]:
    """Return the fields of a CAP message: ``alert`` (header) and ``zh``/``en`` (its infos).

    Returns
    -------
    dict
        ``alert``: identifier, sender, sent, status, msgType, scope, note, references;
        ``zh`` and ``en``: event, headline, description, instruction, senderName, urgency,
        severity, certainty, effective, onset, expires, web, areaDesc (empty when absent).
    """
    root = etree.fromstring(xml.encode("utf-8"))
    header = ("identifier", "sender", "sent", "status", "msgType", "scope", "note", "references")
    out = {"alert": {tag: root.findtext(f"cap:{tag}", "", _NS) for tag in header}}
    for key, language in (("zh", "zh-CN"), ("en", "en-US")):
        out[key] = info_fields(root, language, _INFO_FIELDS)
    return out


def _row(message: AddressedMessage) -> WarningRow:
    record = message.record
    texts = cap_texts(record.cap_xml)
    zh, en = texts["zh"], texts["en"]
    return WarningRow(
        identifier=record.identifier,
        hazard=record.hazard,
        level=record.level,
        msg_type=record.msg_type,
        scope=message.scope,
        area_code=record.area,
        area_zh=zh["areaDesc"],
        area_en=en["areaDesc"],
        event_zh=zh["event"],
        event_en=en["event"],
        headline_zh=zh["headline"],
        headline_en=en["headline"],
        onset=alert_time(record.onset),
        expires=alert_time(record.expires),
        addressees=message.addressees,
    )


def warning_rows(
    engine: Engine, at: datetime, filters: Filters, *, viewer: str | None
) -> list[WarningRow]:
    """Return the warnings active at ``at`` that ``viewer`` may see, filtered.

    Parameters
    ----------
    engine : Engine
        The alert database.
    at : datetime
        Time of the view (aware).
    filters : Filters
        Agency addressed, hazard, level.
    viewer : str, optional
        The signed-in agency: also its Restricted alerts; ``None``: Public ones only.

    Returns
    -------
    list of WarningRow
        Highest level first, then hazard and area.
    """
    found = active_alerts(engine, at, agency=filters.agency, viewer=viewer)
    if viewer is None:
        found = [m for m in found if m.scope == "Public"]
    found = [m for m in found if filters.hazard in (None, m.record.hazard)]
    found = [m for m in found if filters.level in (None, m.record.level)]
    rows = [_row(m) for m in found]
    rank = {level: i for i, level in enumerate(LEVELS)}
    return sorted(rows, key=lambda r: (-rank.get(r.level, -1), r.hazard, r.area_code))


def highest_levels(rows: list[WarningRow]) -> Mapping[str, str]:
    """Return the highest level among ``rows`` by district adcode."""
    rank = {level: i for i, level in enumerate(LEVELS)}
    out: dict[str, str] = {}
    for row in rows:
        if rank.get(row.level, -1) > rank.get(out.get(row.area_code, ""), -1):
            out[row.area_code] = row.level
    return out


def stored_hazards(engine: Engine) -> dict[str, str]:
    """Return the hazards of the stored messages with their names (the filter's choices).

    Returns
    -------
    dict of str to str
        Hazard id to ``"暴雨 Rainstorm"`` (the CAP events of its first message), sorted by id.
    """
    with session_scope(engine) as session:
        first = select(func.min(AlertRecord.id)).group_by(AlertRecord.hazard).scalar_subquery()
        rows = session.execute(
            select(AlertRecord.hazard, AlertRecord.cap_xml).where(AlertRecord.id.in_(first))
        ).all()
    names = {}
    for hazard, xml in rows:
        texts = cap_texts(xml)
        names[hazard] = f"{texts['zh']['event']} {texts['en']['event']}".strip() or hazard
    return dict(sorted(names.items()))


def stored_span(engine: Engine) -> tuple[datetime, datetime] | None:
    """Return the stored messages' first onset and last expiry (``None``: none is stored)."""
    with session_scope(engine) as session:
        start, end = session.execute(
            select(func.min(AlertRecord.onset), func.max(AlertRecord.expires))
        ).one()
    if start is None or end is None:
        return None
    return alert_time(start), alert_time(end)


@dataclass(frozen=True)
class TimeSlider:
    """The time slider of the warnings page: a range over the stored span, in epoch seconds.

    Attributes
    ----------
    min_s, max_s : int
        The span's first onset and last expiry (s since 1970 UTC), widened to whole steps.
    value_s : int
        The viewed time (s), within ``[min_s, max_s]``.
    step_s : int
        The step (s).
    outside : bool
        The viewed time lies outside the span (the slider shows the nearer end).
    ticks : tuple of (int, float, str)
        Each Shanghai midnight inside the span: its time (s), its position along the slider
        (0-100 %) and its label ("7月21日 21 Jul").
    """

    min_s: int
    max_s: int
    value_s: int
    step_s: int
    outside: bool
    ticks: tuple[tuple[int, float, str], ...]


def time_slider(
    span: tuple[datetime, datetime], at: datetime, *, step: timedelta = SLIDER_STEP
) -> TimeSlider:
    """Return the slider over ``span`` (first onset, last expiry) showing ``at``.

    Parameters
    ----------
    span : (datetime, datetime)
        First onset and last expiry (aware), as :func:`stored_span` returns them.
    at : datetime
        The viewed time (aware).
    step : timedelta
        The slider's step (whole seconds, dividing a day); the ends are widened to it.

    Returns
    -------
    TimeSlider
    """
    step_s = int(step.total_seconds())
    low = int(span[0].timestamp()) // step_s * step_s
    high = -(-int(span[1].timestamp()) // step_s) * step_s
    high = max(high, low + step_s)
    seconds = int(at.timestamp())
    day_s = 86400
    offset_s = 8 * 3600  # Asia/Shanghai: UTC+8, no daylight saving since 1991
    first = -(-(low + offset_s) // day_s) * day_s - offset_s
    ticks = []
    for midnight in range(first, high + 1, day_s):
        local = datetime.fromtimestamp(midnight, BEIJING)
        label = f"{local.month}月{local.day}日 {local.day} {_MONTHS_EN[local.month - 1]}"
        ticks.append((midnight, round(100 * (midnight - low) / (high - low), 2), label))
    return TimeSlider(
        min_s=low,
        max_s=high,
        value_s=min(max(seconds, low), high),
        step_s=step_s,
        outside=not low <= seconds <= high,
        ticks=tuple(ticks),
    )


def exercise_span(
    engine: Engine, bounds: tuple[datetime, datetime] | None = None
) -> tuple[datetime, datetime, datetime] | None:
    """Return the stored messages' first onset, last expiry and the busiest onset time.

    ``bounds`` is :func:`stored_span` when the caller has it already (not read again).
    The busiest onset is found by sorting (n log n): counting the overlaps of every pair
    took 1.5 s for 2,000 stored messages, on a page shown whenever nothing is active.

    Returns
    -------
    tuple of datetime, or None
        ``(start, end, suggested)``; ``suggested`` is the onset at which most non-Cancel
        messages are in force (a time worth viewing). ``None``: no message is stored.
    """
    from bisect import bisect_right

    bounds = bounds or stored_span(engine)
    if bounds is None:
        return None
    with session_scope(engine) as session:
        stored = session.execute(
            select(AlertRecord.onset, AlertRecord.expires).where(AlertRecord.msg_type != "Cancel")
        ).all()
    onsets = sorted(alert_time(a).timestamp() for a, _ in stored)
    expiries = sorted(alert_time(b).timestamp() for _, b in stored)

    def in_force(t: float) -> int:  # messages with onset <= t < expiry
        return bisect_right(onsets, t) - bisect_right(expiries, t)

    if not onsets:
        return bounds[0], bounds[1], bounds[0]
    best = max(onsets, key=lambda t: (in_force(t), -t))  # the earliest of the busiest
    return bounds[0], bounds[1], datetime.fromtimestamp(best, bounds[0].tzinfo)
