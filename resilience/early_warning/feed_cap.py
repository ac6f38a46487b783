"""CAP inside Atom entries: the ``cap:`` summary fields and the whole message as content.

Two conventions of CAP-in-Atom feeds are in use, and an entry may carry both:

* **Summary fields** in the CAP 1.2 namespace directly under ``atom:entry``, as national
  services publish them (the US National Weather Service's alerts.weather.gov Atom feeds):
  ``cap:event``, ``cap:effective``, ``cap:onset``, ``cap:expires``, ``cap:status``,
  ``cap:msgType``, ``cap:category``, ``cap:urgency``, ``cap:severity``, ``cap:certainty``,
  ``cap:areaDesc`` (several areas joined by ``"; "``), one ``cap:polygon`` per polygon and
  one ``cap:geocode`` holding ``cap:valueName``/``cap:value`` pairs, taken from the
  ``<info>`` block of the feed's language.
* **The whole message** as ``<atom:content type="application/cap+xml">`` holding the
  ``cap:alert`` element (RFC 4287 4.1.3.3: an XML media type, one child element), as Google
  Public Alerts and capparselib's Atom mode read it (capparselib takes
  ``entry.content``'s first child).

capparselib validates a feed against its bundled Atom schema, whose entry wildcard is
*strict*: an element of the CAP namespace directly under an entry must be declared globally
in the CAP 1.2 schema, and only ``alert``, ``valueName`` and ``value`` are. So capparselib
rejects any feed with summary fields (also the NWS ones): :data:`CapProfile` ``"embedded"``
leaves them out for such strict clients; ``"full"`` (the default of the API) has both.
"""

from __future__ import annotations

import copy
from typing import Literal

from lxml import etree

from resilience.early_warning.cap import CAP_NS

__all__ = [
    "ATOM_NS",
    "CAP_MEDIA_TYPE",
    "SUMMARY_FIELDS",
    "CapProfile",
    "add_cap_content",
    "add_cap_fields",
]

ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
#: ``"full"``: summary fields and the whole message; ``"embedded"``: the message only.
CapProfile = Literal["full", "embedded"]
#: The single-valued summary fields, in the order written; ``status`` and ``msgType`` are
#: the ``<alert>``'s, the others the ``<info>``'s.
SUMMARY_FIELDS = (
    "event",
    "effective",
    "onset",
    "expires",
    "status",
    "msgType",
    "category",
    "urgency",
    "severity",
    "certainty",
)
_ALERT_FIELDS = frozenset({"status", "msgType"})
_NS = {"cap": CAP_NS}


def _cap(tag: str) -> str:
    return f"{{{CAP_NS}}}{tag}"


def _info(alert: etree._Element, language: str) -> etree._Element:
    infos = alert.findall("cap:info", _NS)
    chosen = next((i for i in infos if i.findtext("cap:language", "", _NS) == language), None)
    return chosen if chosen is not None else (infos[0] if infos else alert)


def add_cap_fields(entry: etree._Element, alert: etree._Element, language: str) -> None:
    """Append the ``cap:`` summary fields of ``alert`` to ``entry``.

    Parameters
    ----------
    entry : lxml element
        The ``atom:entry`` to extend.
    alert : lxml element
        The CAP 1.2 ``<alert>``.
    language : str
        The ``<info>`` block to summarise (its ``cap:language``); the first if none matches.
    """
    info = _info(alert, language)
    for field in SUMMARY_FIELDS:
        text = (alert if field in _ALERT_FIELDS else info).findtext(f"cap:{field}", None, _NS)
        if text is not None:
            etree.SubElement(entry, _cap(field)).text = text
    areas = info.findall("cap:area", _NS)
    descriptions = [a.findtext("cap:areaDesc", "", _NS) for a in areas]
    etree.SubElement(entry, _cap("areaDesc")).text = "; ".join(d for d in descriptions if d)
    for polygon in info.iterfind("cap:area/cap:polygon", _NS):
        etree.SubElement(entry, _cap("polygon")).text = polygon.text
    codes = info.findall("cap:area/cap:geocode", _NS)
    if codes:
        geocode = etree.SubElement(entry, _cap("geocode"))
        for code in codes:
            for tag in ("valueName", "value"):
                etree.SubElement(geocode, _cap(tag)).text = code.findtext(f"cap:{tag}", "", _NS)


def add_cap_content(entry: etree._Element, alert: etree._Element) -> None:
    """Append ``<content type="application/cap+xml">`` holding a copy of ``alert``."""
    content = etree.SubElement(entry, f"{{{ATOM_NS}}}content", type=CAP_MEDIA_TYPE)
    content.append(copy.deepcopy(alert))
