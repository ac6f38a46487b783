"""Write times, quantities and criteria in CAP message texts as people write them.

Only the human texts of a message (headline, description, instruction, ``criterionText``) go
through this module; CAP's own datetime fields stay ISO 8601 (:mod:`resilience.early_warning.cap`).

* Times are shown in Shanghai time (Asia/Shanghai, UTC+8, no daylight saving since 1991),
  whatever the zone of the input: Chinese "2026年7月22日0时" ("0时30分" when the minute is
  not zero), English "22 July 2026 00:00"; an English text says "(Beijing time)" once.
* Units: ``degC`` as ℃ in Chinese and °C in English; ``mm``, ``mm/h``, ``m``, ``m/s`` as
  毫米, 毫米/小时, 米, 米/秒 in Chinese (CMA bulletin practice) and as symbols in English;
  wind speeds also as a Beaufort force (级) in Chinese, as CMA bulletins give them.
* Beaufort lower bounds (m/s, force 0-17): the WMO/CMA table of GB/T 28591-2012 (风力等级),
  the same speeds the rule file's wind thresholds use.
* Asset names: Chinese texts name an asset by its Chinese name (a metro station as
  "人民广场站"), English texts by its English name; no Chinese name: the English one.
* Downstream assets (:func:`format_downstream`): a few names, then the count and the count
  per type, "受影响的下游设施：人民广场站等12处（地铁站10、医院2）" / "Downstream: People Square
  station and 11 more (10 metro stations, 2 hospitals)".
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from resilience.early_warning.decision import DownstreamRef

__all__ = [
    "BEAUFORT_LOWER_MS",
    "ASSET_TYPE_WORDS",
    "BEIJING_TIME_EN",
    "SHANGHAI",
    "Lang",
    "asset_name_zh",
    "beaufort_force",
    "format_downstream",
    "format_member_values",
    "format_quantity",
    "format_time",
    "format_units",
]

Lang = Literal["zh", "en"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: Lower bound of Beaufort forces 1..17 in m/s (GB/T 28591-2012; force 0 below 0.3 m/s).
BEAUFORT_LOWER_MS = (
    0.3, 1.6, 3.4, 5.5, 8.0, 10.8, 13.9, 17.2, 20.8, 24.5,
    28.5, 32.7, 37.0, 41.5, 46.2, 51.0, 56.1,
)  # fmt: skip
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
#: units string -> (Chinese, English). Keys are the forecast's UDUNITS strings.
_UNITS: dict[str, tuple[str, str]] = {
    "degC": ("℃", "°C"),
    "mm": ("毫米", "mm"),
    "mm/h": ("毫米/小时", "mm/h"),
    "m": ("米", "m"),
    "m/s": ("米/秒", "m/s"),
    "cm": ("厘米", "cm"),
}
#: Beijing time named once in an English text.
BEIJING_TIME_EN = "(Beijing time)"
#: Asset types whose Chinese names are written with a suffix: a metro station's inventory
#: name is the bare place name ("人民广场"), written "人民广场站" as station signs do.
_ZH_NAME_SUFFIX = {"metro_station": "站"}
#: English texts name a metro station "People Square station" (the inventory's bare name).
_EN_NAME_SUFFIX = {"metro_station": " station"}
#: Asset type -> (Chinese word, English singular, English plural), every type of
#: ``assets.catalogue.ASSET_TYPES``; counts of downstream assets are written with them.
ASSET_TYPE_WORDS: dict[str, tuple[str, str, str]] = {
    "metro_station": ("地铁站", "metro station", "metro stations"),
    "railway_station": ("火车站", "railway station", "railway stations"),
    "airport": ("机场", "airport", "airports"),
    "hospital": ("医院", "hospital", "hospitals"),
    "substation": ("变电站", "substation", "substations"),
    "water_plant": ("水厂", "water treatment plant", "water treatment plants"),
    "tunnel": ("隧道", "tunnel", "tunnels"),
    "bridge": ("桥梁", "bridge", "bridges"),
    "seawall": ("海塘或防汛墙", "seawall or floodwall", "seawalls or floodwalls"),
}


def format_time(when: datetime, lang: Lang) -> str:
    """Return ``when`` in Shanghai time as written in ``lang``.

    Parameters
    ----------
    when
        A timezone-aware time, any zone.
    lang
        ``"zh"``: "2026年7月22日0时" (minutes added when not zero: "0时30分");
        ``"en"``: "22 July 2026 00:00" (24-hour clock, zone not named).

    Returns
    -------
    str
        The time in Asia/Shanghai.

    Raises
    ------
    ValueError
        If ``when`` has no time zone.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware time, found {when.isoformat()!r}")
    local = when.astimezone(SHANGHAI)
    if lang == "zh":
        minute = f"{local.minute}分" if local.minute else ""
        return f"{local.year}年{local.month}月{local.day}日{local.hour}时{minute}"
    return f"{local.day} {_MONTHS_EN[local.month - 1]} {local.year} {local:%H:%M}"


def asset_name_zh(name_zh: object, name: str, asset_type: str) -> str:
    """Return the name a Chinese text gives an asset.

    Parameters
    ----------
    name_zh
        The inventory's ``name_zh`` (str; ``None``, NaN or blank when the asset has none).
    name
        The inventory's ``name`` (the fallback, and the English texts' name).
    asset_type
        A key of ``assets.catalogue.ASSET_TYPES``; a ``metro_station`` gets "站" appended
        unless its name already ends with it.

    Returns
    -------
    str
        ``name_zh`` stripped (with the type's suffix), or ``name`` when there is none.
    """
    text = name_zh.strip() if isinstance(name_zh, str) else ""
    if not text:
        return name
    suffix = _ZH_NAME_SUFFIX.get(asset_type, "")
    return text if text.endswith(suffix) else text + suffix


def beaufort_force(speed_ms: float) -> int:
    """Return the Beaufort force (0..17) of a wind speed in m/s (GB/T 28591-2012).

    A speed on a bound is in the higher force (10.8 m/s is force 6, 10.75 m/s force 5); the
    1e-9 m/s allowance absorbs float noise in a threshold read from YAML.
    """
    return bisect.bisect_right(BEAUFORT_LOWER_MS, speed_ms + 1e-9)


def _split_units(units: str, lang: Lang) -> tuple[str, str]:
    """Return (unit written after each number, qualifier written once after the values)."""
    zh = lang == "zh"
    if units.startswith("years"):
        return ("年一遇", "") if zh else ("-year return period", "")
    if units.endswith(" above the asset level"):
        base, _ = _split_units(units.removesuffix(" above the asset level"), lang)
        return (base, "（相对设施限值）") if zh else (base, " relative to the asset's limit")
    if " in " in units and units.endswith(" h"):
        base, window = units.removesuffix(" h").split(" in ", 1)
        label, _ = _split_units(base, lang)
        return (label, f"（{window}小时累计）") if zh else (label, f" in {window} h")
    pair = _UNITS.get(units)
    return (units if pair is None else pair[0 if zh else 1]), ""


def format_units(units: str, lang: Lang) -> str:
    """Return display units for a metric's units string.

    Parameters
    ----------
    units
        A UDUNITS string (``degC``, ``mm/h``, ``m``, ``m/s``), or the engine's derived forms
        ``"<u> in <w> h"`` (a w-hour total), ``"<u> above the asset level"`` and
        ``"years (local return period)"``. Anything else is returned unchanged.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        E.g. ``"毫米（6小时累计）"`` / ``"mm in 6 h"``, ``"℃"`` / ``"°C"``.
    """
    label, note = _split_units(units, lang)
    return f"{label}{note}"


def _number(value: float, units: str, lang: Lang) -> str:
    label, _ = _split_units(units, lang)
    if units.startswith("years") or lang == "zh":
        force = f"（{beaufort_force(value)}级）" if lang == "zh" and units == "m/s" else ""
        return f"{value:g}{label}{force}"
    return f"{value:g} {label}"


def format_quantity(value: float, units: str, lang: Lang) -> str:
    """Return a value with its display units, e.g. ``"113.05毫米（6小时累计）"``.

    Parameters
    ----------
    value
        The number, in ``units``; shown with ``:g`` (up to 6 significant digits).
    units
        As for :func:`format_units`.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        Chinese writes the unit right after the number and a wind speed's force after it
        ("10.75米/秒（5级）"); English puts a space between number and unit ("113.05 mm in
        6 h", "36.2 °C"), none before "-year".
    """
    return f"{_number(value, units, lang)}{_split_units(units, lang)[1]}"


def format_member_values(median: float, maximum: float, units: str, lang: Lang) -> str:
    """Return the ensemble summary phrase of a description, units written as people do.

    Parameters
    ----------
    median, maximum
        The largest member median and the largest member value, in ``units``.
    units
        As for :func:`format_units`.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        "成员中位数最大99.93毫米、最大113.05毫米（6小时累计）" / "member median up to
        99.93 mm, maximum 113.05 mm in 6 h".
    """
    note = _split_units(units, lang)[1]
    low, high = _number(median, units, lang), _number(maximum, units, lang)
    if lang == "zh":
        return f"成员中位数最大{low}、最大{high}{note}"
    return f"member median up to {low}, maximum {high}{note}"


def format_criterion(template: str, value: float) -> str:
    """Fill a rule's criterion text (``text_zh`` or ``text_en``) with a threshold.

    Parameters
    ----------
    template
        A :meth:`str.format` template from the rule file; it may name ``{value}`` (``:g``),
        ``{magnitude}`` (absolute value), ``{signed}`` (with its sign), ``{beaufort}`` (the
        Beaufort force of a wind threshold in m/s, :func:`beaufort_force`) and
        ``{offset_zh:<unit>}`` / ``{offset_en:<unit>}`` (a margin to a limit: "减2℃" /
        " minus 2 °C", nothing for 0).
    value
        The threshold, in the criterion variable's units.

    Returns
    -------
    str
        The filled text.
    """
    names = {
        "value": f"{value:g}",
        "magnitude": f"{abs(value):g}",
        "signed": f"{value:+g}",
        "beaufort": str(beaufort_force(value)),
        "offset_zh": _Offset(value, ("减", "加")),
        "offset_en": _Offset(value, (" minus ", " plus ")),
    }
    return template.format(**names)


@dataclass(frozen=True)
class _Offset:
    """A margin to a limit, its unit given as the format spec: ``{offset_zh:℃}``.

    -2 reads "减2℃" / " minus 2 °C", +1 "加1℃" / " plus 1 °C", and 0 nothing, so "the limit
    {offset}" reads "the limit minus 2 °C" or "the limit".
    """

    value: float
    words: tuple[str, str]

    def __format__(self, unit: str) -> str:
        if self.value == 0:
            return ""
        return f"{self.words[self.value > 0]}{abs(self.value):g}{unit}"


def _type_counts(refs: Sequence[DownstreamRef], lang: Lang) -> str:
    """Return the counts per type, "地铁站10、医院2" / "10 metro stations, 2 hospitals"."""
    counts = sorted(Counter(r.asset_type for r in refs).items(), key=lambda kv: (-kv[1], kv[0]))
    words = [ASSET_TYPE_WORDS.get(t, (t, t, t)) for t, _ in counts]
    if lang == "zh":
        return "、".join(f"{w[0]}{n}" for w, (_, n) in zip(words, counts, strict=True))
    return ", ".join(
        f"{n} {w[1] if n == 1 else w[2]}" for w, (_, n) in zip(words, counts, strict=True)
    )


def _name_en(ref: DownstreamRef) -> str:
    suffix = _EN_NAME_SUFFIX.get(ref.asset_type, "")
    return ref.name if ref.name.lower().endswith(suffix.lower()) else ref.name + suffix


def format_downstream(refs: Sequence[DownstreamRef], lang: Lang, *, named: int = 3) -> str:
    """Return the sentence naming the assets downstream of an impact alert's assets.

    Parameters
    ----------
    refs
        The downstream assets, in the order they are named (most critical first).
    lang
        ``"zh"`` or ``"en"``.
    named
        How many are named (0: counts only); the counts per type cover all of them.

    Returns
    -------
    str
        "" when ``refs`` is empty; else e.g. "受影响的下游设施：人民广场站、瑞金医院等12处
        （地铁站10、医院2）。" / " Downstream: People Square station, Ruijin Hospital and 10
        more (10 metro stations, 2 hospitals)." (Chinese names as :func:`asset_name_zh`; all named:
        "受影响的下游设施2处：甲、乙（…）。" / " Downstream: A and B (…).").
    """
    if not refs:
        return ""
    shown, total, counts = refs[:named], len(refs), _type_counts(refs, lang)
    rest = total - len(shown)
    if lang == "zh":
        names = "、".join(r.name_zh or r.name for r in shown)
        if not shown:
            return f"受影响的下游设施{total}处（{counts}）。"
        if rest:
            return f"受影响的下游设施：{names}等{total}处（{counts}）。"
        return f"受影响的下游设施{total}处：{names}（{counts}）。"
    listed = [_name_en(r) for r in shown]
    if not listed:
        return f" Downstream: {total} {'asset' if total == 1 else 'assets'} ({counts})."
    if rest:
        return f" Downstream: {', '.join(listed)} and {rest} more ({counts})."
    head = ", ".join(listed[:-1])
    return f" Downstream: {head + ' and ' if head else ''}{listed[-1]} ({counts})."
