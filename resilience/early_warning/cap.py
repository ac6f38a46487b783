"""Build and validate CAP 1.2 messages (OASIS Common Alerting Protocol, ITU-T X.1303).

One message per alert transition (Alert, Update, Cancel) with two ``<info>`` blocks, zh-CN and
en-US. Mappings (domain.md 6.1-6.3):

* severity: blue Minor, yellow Moderate (QWeather feeds); orange Severe, red Extreme
  (convention, UNCONFIRMED in a Chinese standard). A Cancel carries Minor.
* urgency from the lead time ``onset - sent``: Immediate when onset has passed, Expected within
  ``expected_within_h`` (CAP: "within the next hour"), otherwise Future; Past for a Cancel.
* headline "上海中心气象台发布暴雨黄色预警[Ⅲ级/较重]" style (https://www.duozy.cn/article/69497.html);
  notices (waterlogging, impact rules) "…发布内涝积水风险提示（蓝色）：…".
* scope from the rule: ``Public``, or ``Restricted`` with a ``<restriction>`` naming the
  addressed agencies (impact alerts about infrastructure); assets named by an impact alert are
  listed in the description and drawn as ``<circle>`` areas of ``ASSET_RADIUS_KM``; the assets
  that depend on them are named (a few) and counted by type in the description, not drawn.
* identifier ``ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N`` (31 characters, GB/T 35965.1 practice):
  GB/T 2260 region code, GB/T 4657 sector code (UNCONFIRMED, from the agency config), unit
  "000", extension "00", Beijing entry time, sequence digit.

:func:`validate_cap` checks the OASIS XSD (shipped in ``resilience/data/cap``) and what the
XSD cannot: polygon closure and size, coordinate ranges, time order and the +08:00 offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Literal

from lxml import etree

from resilience.early_warning.decision import AlertDecision, LevelStep
from resilience.early_warning.wording import (
    BEIJING_TIME_EN,
    Lang,
    format_downstream,
    format_member_values,
    format_time,
)

__all__ = [
    "ASSET_RADIUS_KM",
    "CAP_NS",
    "IDENTIFIER_PATTERN",
    "CapMessage",
    "CapValidationError",
    "MsgType",
    "Status",
    "build_cap",
    "format_identifier",
    "validate_cap",
]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
IDENTIFIER_PATTERN = re.compile(r"^\d{6}\d{3}\d{3}\d{2}_\d{14}_\d$")
MsgType = Literal["Alert", "Update", "Cancel"]
Status = Literal["Actual", "Exercise", "System", "Test", "Draft"]
#: Radius of the CAP ``<circle>`` drawn around each asset an impact alert names, km (project
#: choice: a metro station with its entrances, or a substation compound).
ASSET_RADIUS_KM = 0.3

#: colour: (zh colour, en colour, Roman level, zh word, en word, CAP severity)
LEVEL_TEXT: dict[str, tuple[str, str, str, str, str, str]] = {
    "blue": ("蓝色", "Blue", "Ⅳ", "一般", "IV/General", "Minor"),
    "yellow": ("黄色", "Yellow", "Ⅲ", "较重", "III/Relatively Serious", "Moderate"),
    "orange": ("橙色", "Orange", "Ⅱ", "严重", "II/Serious", "Severe"),
    "red": ("红色", "Red", "Ⅰ", "特别严重", "I/Particularly Serious", "Extreme"),
}


class CapValidationError(ValueError):
    """A CAP message failed validation; the message names the identifier and the reason."""


@dataclass(frozen=True)
class CapMessage:
    """Everything one CAP message needs besides the decision."""

    identifier: str
    sender: str
    sent: datetime
    status: Status
    msg_type: MsgType
    step: LevelStep
    previous_level: str | None
    effective: datetime
    onset: datetime
    expires: datetime
    references: str = ""


def format_identifier(region_code: str, sector_code: str, sent: datetime, sequence: int) -> str:
    """Return a national-format identifier (31 characters) for a Beijing-time entry time."""
    if not 0 <= sequence <= 9:
        raise ValueError(f"identifier sequence: expected 0..9, found {sequence}")
    return f"{region_code}{sector_code}00000_{sent:%Y%m%d%H%M%S}_{sequence}"


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        node.text = text
    return node


def _urgency(msg: CapMessage, decision: AlertDecision) -> str:
    if msg.msg_type == "Cancel":
        return "Past"
    lead = msg.onset - msg.sent
    if lead <= timedelta(0):
        return "Immediate"
    return "Expected" if lead <= timedelta(hours=decision.expected_within_h) else "Future"


def _notice_headline(msg: CapMessage, d: AlertDecision, zh: bool) -> str:
    info, lv = d.hazard_info, LEVEL_TEXT[msg.step.level]
    who = d.issuer.name_zh if zh else d.issuer.name_en
    where = d.area.name_zh if zh else d.area.name_en
    name = info.notice_zh if zh else info.notice_en
    if zh:
        verb = {"Cancel": "解除", "Update": "更新"}.get(msg.msg_type, "发布")
        return f"{who}{verb}{name}（{lv[0]}）：{where}"
    verb = {"Cancel": "lifts the", "Update": "updates the"}.get(msg.msg_type, "issues a")
    return f"{who} {verb} {name} ({lv[1]}) for {where}"


def _headline(msg: CapMessage, d: AlertDecision, zh: bool) -> str:
    info, lv = d.hazard_info, LEVEL_TEXT[msg.step.level]
    if info.signal == "notice":
        return _notice_headline(msg, d, zh)
    who = d.issuer.name_zh if zh else d.issuer.name_en
    where = d.area.name_zh if zh else d.area.name_en
    if zh:
        signal = f"{info.event_zh}{lv[0]}预警"
        if msg.msg_type == "Cancel":
            return f"{who}解除{signal}：{where}"
        if msg.msg_type == "Update":
            old = f"{info.event_zh}{LEVEL_TEXT[msg.previous_level or 'blue'][0]}预警"
            return f"{who}将{old}更新为{signal}[{lv[2]}级/{lv[3]}]：{where}"
        return f"{who}发布{signal}[{lv[2]}级/{lv[3]}]：{where}"
    signal = f"{info.event_en} {lv[1]} Warning"
    if msg.msg_type == "Cancel":
        return f"{who} lifts the {signal} for {where}"
    if msg.msg_type == "Update":
        old = LEVEL_TEXT[msg.previous_level or "blue"][1]
        return f"{who} changes the {info.event_en} {old} Warning to {signal} [{lv[4]}] for {where}"
    return f"{who} issues {signal} [{lv[4]}] for {where}"


def _description(msg: CapMessage, d: AlertDecision, zh: bool) -> str:
    """Return the description: times in Shanghai time, units as written (:mod:`.wording`)."""
    s = msg.step
    lang: Lang = "zh" if zh else "en"
    demo = (
        "（演示用合成数据，非真实预报）" if zh else " (SYNTHETIC demo data, not a real forecast.)"
    )
    demo = demo if d.synthetic else ""
    if msg.msg_type == "Cancel":
        after = format_time(d.expires, lang)
        if zh:
            return f"预计{after}后{d.area.name_zh}不再达到预警标准，预警解除。{demo}"
        return (
            f"Criteria are no longer expected to be met in {d.area.name_en} "
            f"after {after} {BEIJING_TIME_EN}.{demo}"
        )
    start, named = format_time(s.start, lang), d.downstream_named
    values = format_member_values(s.value_median, s.value_max, s.units, lang)
    if zh:
        return (
            f"预计{start}起，{d.area.name_zh}{s.criterion_zh}。"
            f"集合预报中{s.probability:.0%}的成员达到该级别；{values}。"
            f"{_asset_list(s, zh)}{format_downstream(s.downstream, lang, named=named)}{demo}"
        )
    return (
        f"From {start} {BEIJING_TIME_EN}, {d.area.name_en}: {s.criterion_en}. "
        f"{s.probability:.0%} of ensemble members reach this level; "
        f"{values}.{_asset_list(s, zh)}{format_downstream(s.downstream, lang, named=named)}"
        f"{demo}"
    )


def _asset_list(step: LevelStep, zh: bool) -> str:
    if not step.assets:
        return ""
    if zh:
        names = [
            f"{a.name_zh or a.name}（{a.asset_id}，{LEVEL_TEXT[a.level][0]}）" for a in step.assets
        ]
        return f"涉及设施{len(names)}处：{'；'.join(names)}。"
    names = [f"{a.name} ({a.asset_id}, {LEVEL_TEXT[a.level][1]})" for a in step.assets]
    return f" Assets ({len(names)}): {'; '.join(names)}."


def _instruction(msg: CapMessage, d: AlertDecision, zh: bool) -> str:
    if msg.msg_type == "Cancel":
        return (
            "预警解除，请继续关注最新预报。"
            if zh
            else "The warning is lifted; keep following the latest forecasts."
        )
    guide = d.guidance[msg.step.level]
    return guide.zh if zh else guide.en


def _parameters(info: etree._Element, msg: CapMessage, d: AlertDecision, zh: bool) -> None:
    s = msg.step
    values = {
        "colour": s.level,
        "levelRoman": LEVEL_TEXT[s.level][2],
        "criterionText": s.criterion_zh if zh else s.criterion_en,
        "probability": f"{s.probability:.2f}",
        "thresholdUnconfirmed": str(s.unconfirmed).lower(),
        "ruleId": d.rule_id,
    }
    values["synthetic"] = str(d.synthetic).lower()
    if d.inputs_sha256:
        values["inputsSha256"] = d.inputs_sha256
    for name, value in values.items():
        param = _sub(info, "parameter")
        _sub(param, "valueName", name)
        _sub(param, "value", value)


def _area(info: etree._Element, msg: CapMessage, d: AlertDecision, zh: bool) -> None:
    area = _sub(info, "area")
    _sub(area, "areaDesc", d.area.name_zh if zh else d.area.name_en)
    for polygon in d.area.polygons:
        _sub(area, "polygon", polygon)
    for asset in msg.step.assets:
        _sub(area, "circle", f"{asset.lat:.5f},{asset.lon:.5f} {ASSET_RADIUS_KM:g}")
    geocode = _sub(area, "geocode")
    _sub(geocode, "valueName", "GB/T 2260")
    _sub(geocode, "value", d.area.code)


def _info(root: etree._Element, msg: CapMessage, d: AlertDecision, zh: bool) -> None:
    info = _sub(root, "info")
    _sub(info, "language", "zh-CN" if zh else "en-US")
    _sub(info, "category", d.hazard_info.category)
    _sub(info, "event", d.hazard_info.event_zh if zh else d.hazard_info.event_en)
    cancel = msg.msg_type == "Cancel"
    response = (
        "AllClear" if cancel else ("Execute" if msg.step.level in ("orange", "red") else "Prepare")
    )
    _sub(info, "responseType", response)
    _sub(info, "urgency", _urgency(msg, d))
    _sub(info, "severity", "Minor" if cancel else LEVEL_TEXT[msg.step.level][5])
    _sub(info, "certainty", msg.step.certainty)
    for name, value in d.hazard_info.event_codes.items():
        code = _sub(info, "eventCode")
        _sub(code, "valueName", name)
        _sub(code, "value", value)
    _sub(info, "effective", _iso(msg.effective))
    _sub(info, "onset", _iso(msg.onset))
    _sub(info, "expires", _iso(msg.expires))
    _sub(info, "senderName", d.issuer.name_zh if zh else d.issuer.name_en)
    _sub(info, "headline", _headline(msg, d, zh))
    _sub(info, "description", _description(msg, d, zh))
    _sub(info, "instruction", _instruction(msg, d, zh))
    _parameters(info, msg, d, zh)
    _area(info, msg, d, zh)


def build_cap(msg: CapMessage, decision: AlertDecision) -> bytes:
    """Return the CAP 1.2 XML (UTF-8 bytes) of one message.

    Parameters
    ----------
    msg : CapMessage
        Identifier, sender, times (timezone-aware, +08:00), status, type, references and the
        level step it announces (for a Cancel, the last step).
    decision : AlertDecision
        The alert episode: hazard, area, issuer, guidance.

    Returns
    -------
    bytes
        Not validated; call :func:`validate_cap`.
    """
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _sub(root, "identifier", msg.identifier)
    _sub(root, "sender", msg.sender)
    _sub(root, "sent", _iso(msg.sent))
    _sub(root, "status", msg.status)
    _sub(root, "msgType", msg.msg_type)
    _sub(root, "scope", decision.scope)
    if decision.scope == "Restricted":
        agencies = ", ".join(msg.step.recipients)
        _sub(root, "restriction", f"Addressed agencies only ({agencies} and earlier addressees)")
    if decision.synthetic:
        _sub(root, "note", "SYNTHETIC forecast: demonstration message, not a real warning.")
    if msg.references:
        _sub(root, "references", msg.references)
    _info(root, msg, decision, zh=True)
    _info(root, msg, decision, zh=False)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@cache
def _schema() -> etree.XMLSchema:
    path = resources.files("resilience") / "data" / "cap" / "CAP-v1.2.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def _text(node: etree._Element, tag: str) -> str | None:
    found = node.find(f"{{{CAP_NS}}}{tag}")
    return found.text if found is not None else None


def _check_polygon(text: str) -> str | None:
    try:
        points = [tuple(float(v) for v in pair.split(",")) for pair in text.split()]
    except ValueError:
        return f"polygon: expected 'lat,lon' pairs, found {text[:40]!r}"
    if any(len(p) != 2 for p in points):
        return "polygon: expected 'lat,lon' pairs"
    if len(points) < 4:
        return f"polygon: expected at least 4 points, found {len(points)}"
    if points[0] != points[-1]:
        return "polygon: not closed (first point != last point)"
    if any(not (-90 <= lat <= 90 and -180 <= lon <= 180) for lat, lon in points):
        return "polygon: lat outside [-90, 90] or lon outside [-180, 180]"
    return None


def _check_circle(text: str) -> str | None:
    """Check a CAP circle, "lat,lon radius" with the radius in km (OASIS CAP 1.2, 3.2.4)."""
    try:
        centre, radius = text.split()
        lat, lon = (float(v) for v in centre.split(","))
        radius_km = float(radius)
    except ValueError:
        return f"circle: expected 'lat,lon radius_km', found {text[:40]!r}"
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or radius_km <= 0:
        return f"circle: centre out of range or radius not positive in {text!r}"
    return None


def _check_times(info: etree._Element) -> str | None:
    times = {tag: _text(info, tag) for tag in ("effective", "onset", "expires")}
    parsed = {k: datetime.fromisoformat(v) for k, v in times.items() if v}
    if "effective" in parsed and "onset" in parsed and parsed["effective"] > parsed["onset"]:
        return f"effective {times['effective']} is after onset {times['onset']}"
    if "onset" in parsed and "expires" in parsed and parsed["onset"] >= parsed["expires"]:
        return f"onset {times['onset']} is not before expires {times['expires']}"
    return None


def _profile_problem(root: etree._Element) -> str | None:
    sent = _text(root, "sent") or ""
    if not sent.endswith("+08:00"):
        return f"sent {sent!r}: expected Beijing time with offset +08:00"
    if not IDENTIFIER_PATTERN.match(_text(root, "identifier") or ""):
        return "identifier: expected the national format ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N"
    for info in root.iter(f"{{{CAP_NS}}}info"):
        problem = _check_times(info)
        if problem:
            return problem
        for polygon in info.iter(f"{{{CAP_NS}}}polygon"):
            problem = _check_polygon(polygon.text or "")
            if problem:
                return problem
        for circle in info.iter(f"{{{CAP_NS}}}circle"):
            problem = _check_circle(circle.text or "")
            if problem:
                return problem
    return None


def validate_cap(xml: bytes) -> None:
    """Validate a CAP 1.2 message against the OASIS XSD and this profile's extra rules.

    Parameters
    ----------
    xml : bytes
        The message.

    Raises
    ------
    CapValidationError
        Naming the identifier and the first problem: XSD error (with line), polygon not
        closed or under 4 points, coordinates out of range, a circle not "lat,lon radius"
        with a positive radius, effective > onset or onset >= expires, ``sent`` not at
        +08:00, identifier not in the national format.
    """
    try:
        root = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        raise CapValidationError(f"CAP message (unparsed): not well-formed XML: {exc}") from exc
    ident = _text(root, "identifier") or "<no identifier>"
    schema = _schema()
    if not schema.validate(root):
        err = schema.error_log.last_error
        raise CapValidationError(f"CAP message {ident}: XSD: line {err.line}: {err.message}")
    problem = _profile_problem(root)
    if problem:
        raise CapValidationError(f"CAP message {ident}: {problem}")
