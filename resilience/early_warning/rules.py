"""The warning rule set: agencies, hazards and threshold rules, loaded from YAML and validated.

A rule set is declarative (``resilience/data/rules/shanghai.yaml``). Each rule has criteria;
a criterion is one metric of one forecast variable (an hourly value, a rolling ``sum`` over
``window_h`` hours, or the local ``daily_max``) with one threshold per level it can trigger.
A member reaches a level at an hour when any criterion meets that level's threshold. Every
threshold carries ``source`` and ``unconfirmed`` (domain brief: UNCONFIRMED facts stay
configurable and flagged). :func:`load_rules` raises :class:`RuleError` naming the file, the
rule and the field when the file is inconsistent.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "LEVELS",
    "Agency",
    "Criterion",
    "EngineOptions",
    "Guidance",
    "HazardInfo",
    "HazardRule",
    "Level",
    "RuleError",
    "RuleSet",
    "Threshold",
    "default_rules_path",
    "load_rules",
    "parse_rules",
]

Level = Literal["blue", "yellow", "orange", "red"]
#: Levels from lowest (IV, blue) to highest (I, red); CMA Order 16 (domain.md 1.1).
LEVELS: tuple[Level, ...] = ("blue", "yellow", "orange", "red")
Variable = Literal["tas", "pr", "sfcWind", "wind_gust", "water_level"]
Aggregation = Literal["instant", "sum", "daily_max"]
Condition = Literal["tropical_cyclone", "no_tropical_cyclone"]
Category = Literal["Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env"]

#: Largest physically plausible value of each metric per hour of window; a threshold above
#: it can never be reached. Bounds well above records (domain.md 4.4, 4.5, 1.5): Tmax 40.9
#: degC, 117 mm in 1 h, 5.99 m storm tide.
_PLAUSIBLE_MAX: dict[str, float] = {
    "tas": 60.0,
    "pr": 300.0,
    "sfcWind": 100.0,
    "wind_gust": 120.0,
    "water_level": 12.0,
}


class RuleError(ValueError):
    """A rule file is inconsistent; the message names the file, the rule and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Model):
    """One level's threshold of a criterion, with its source."""

    level: Level
    value: float
    source: str = Field(min_length=1)
    unconfirmed: bool


class Criterion(_Model):
    """One metric of one variable and the thresholds it has per level."""

    id: str
    variable: Variable
    aggregation: Aggregation = "instant"
    window_h: int = Field(default=1, ge=1, le=72)
    operator: Literal[">", ">="] = ">="
    station: str | None = None
    condition: Condition | None = None
    text_zh: str
    text_en: str
    thresholds: list[Threshold] = Field(min_length=1)


class Guidance(_Model):
    """Defence guidance for one level (CAP ``<instruction>``)."""

    zh: str
    en: str
    source: str = Field(min_length=1)
    unconfirmed: bool = False


class HazardInfo(_Model):
    """A hazard type: its event names, codes and CAP category."""

    event_zh: str
    event_en: str
    category: Category = "Met"
    signal: Literal["colour", "notice"] = "colour"
    notice_zh: str | None = None
    notice_en: str | None = None
    event_codes: dict[str, str] = Field(min_length=1)


class Agency(_Model):
    """An agency: what it receives or issues and how its messages are identified."""

    id: str
    name_zh: str
    name_en: str
    hazards: list[str]
    districts: Literal["all"] | list[str] = "all"
    min_level: Level = "blue"
    channels: list[Literal["file"]] = ["file"]
    sector_code: str = Field(pattern=r"^\d{3}$")
    sector_code_unconfirmed: bool


class HazardRule(_Model):
    """A hazard rule: criteria, levels, the issuing agency and the areas it covers."""

    id: str
    hazard: str
    issuer: str
    levels: list[Level] = Field(min_length=1)
    lead_h: int = Field(ge=0, le=72)
    hold_h: int | None = Field(default=None, ge=0, le=24)
    areas: Literal["all"] | list[str] = "all"
    criteria: list[Criterion] = Field(min_length=1)
    guidance: dict[Level, Guidance]


class EngineOptions(_Model):
    """Engine settings: probability to issue, hold, certainty and urgency cut-offs."""

    min_probability: float = Field(default=0.3, gt=0.0, le=1.0)
    hold_h: int = Field(default=1, ge=0, le=24)
    likely_above: float = Field(default=0.5, ge=0.0, lt=1.0)
    expected_within_h: float = Field(default=1.0, ge=0.0)
    region_code: str = Field(default="310000", pattern=r"^\d{6}$")


class RuleSet(_Model):
    """A validated rule set."""

    name: str
    engine: EngineOptions = EngineOptions()
    agencies: list[Agency] = Field(min_length=1)
    hazards: dict[str, HazardInfo] = Field(min_length=1)
    rules: list[HazardRule] = Field(min_length=1)

    def agency(self, agency_id: str) -> Agency:
        """Return the agency with id ``agency_id``."""
        return next(a for a in self.agencies if a.id == agency_id)


def default_rules_path() -> Path:
    """Return the path of the shipped Shanghai rule set."""
    return Path(str(resources.files("resilience") / "data" / "rules" / "shanghai.yaml"))


def _where(raw: dict, loc: tuple) -> str:
    """Describe a pydantic error location, naming the rule or agency id when there is one."""
    if len(loc) >= 2 and loc[0] in ("rules", "agencies") and isinstance(loc[1], int):
        items = raw.get(loc[0]) or []
        ident = items[loc[1]].get("id", "?") if loc[1] < len(items) else "?"
        rest = ".".join(str(p) for p in loc[2:])
        return f"{loc[0][:-1]} {ident!r}, field {rest or '(whole entry)'}"
    return "field " + ".".join(str(p) for p in loc)


def _check_criterion(rule: HazardRule, crit: Criterion, where: str) -> None:
    order = [LEVELS.index(t.level) for t in crit.thresholds]
    if len(set(order)) != len(order):
        raise RuleError(f"{where}, field thresholds: level listed twice (overlapping levels)")
    if order != sorted(order):
        raise RuleError(
            f"{where}, field thresholds: levels out of order; expected blue<yellow<orange<red"
        )
    for low, high in zip(crit.thresholds, crit.thresholds[1:], strict=False):
        if not high.value > low.value:
            raise RuleError(
                f"{where}, field thresholds: values not strictly increasing by level: "
                f"{low.level} {low.value} >= {high.level} {high.value}"
            )
    bound = _PLAUSIBLE_MAX[crit.variable] * (crit.window_h if crit.aggregation == "sum" else 1)
    for t in crit.thresholds:
        if t.level not in rule.levels:
            raise RuleError(
                f"{where}, field thresholds: level {t.level!r} is not in the rule's levels"
            )
        if t.value > bound:
            raise RuleError(
                f"{where}, field thresholds: level {t.level!r} can never be reached: "
                f"{t.value} exceeds the plausible maximum {bound} of {crit.variable}"
            )
    if (crit.variable == "water_level") != (crit.station is not None):
        raise RuleError(
            f"{where}, field station: expected a station for water_level and only for it"
        )


def _check_rule(rules: RuleSet, rule: HazardRule, name: str) -> None:
    where = f"{name}: rule {rule.id!r}"
    if rule.hazard not in rules.hazards:
        raise RuleError(f"{where}, field hazard: unknown hazard {rule.hazard!r}")
    if rule.issuer not in {a.id for a in rules.agencies}:
        raise RuleError(f"{where}, field issuer: unknown agency {rule.issuer!r}")
    if list(rule.levels) != sorted(set(rule.levels), key=LEVELS.index):
        raise RuleError(f"{where}, field levels: overlapping or unordered levels {rule.levels}")
    for crit in rule.criteria:
        _check_criterion(rule, crit, f"{where}, criterion {crit.id!r}")
    reached = {t.level for c in rule.criteria for t in c.thresholds}
    for level in rule.levels:
        if level not in reached:
            raise RuleError(f"{where}, field levels: level {level!r} can never be reached")
        if level not in rule.guidance:
            raise RuleError(f"{where}, field guidance: no guidance for level {level!r}")
    if any(c.station for c in rule.criteria) and rule.areas == "all":
        raise RuleError(f"{where}, field areas: a station rule needs an explicit district list")


def _check_semantics(rules: RuleSet, name: str) -> None:
    ids = [r.id for r in rules.rules]
    if len(set(ids)) != len(ids):
        raise RuleError(f"{name}: rules: duplicate rule id in {ids}")
    for agency in rules.agencies:
        unknown = sorted(set(agency.hazards) - set(rules.hazards))
        if unknown:
            raise RuleError(f"{name}: agency {agency.id!r}, field hazards: unknown {unknown}")
    for rule in rules.rules:
        _check_rule(rules, rule, name)


def parse_rules(raw: object, *, name: str = "<rules>") -> RuleSet:
    """Validate a rule set given as parsed YAML.

    Parameters
    ----------
    raw : object
        The mapping read from a rule file.
    name : str
        File name used in error messages.

    Returns
    -------
    RuleSet

    Raises
    ------
    RuleError
        Naming ``name``, the rule or agency id and the field, and what was expected.
    """
    if not isinstance(raw, dict):
        raise RuleError(f"{name}: expected a mapping with agencies, hazards and rules")
    try:
        rules = RuleSet.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise RuleError(f"{name}: {_where(raw, first['loc'])}: {first['msg']}") from exc
    _check_semantics(rules, name)
    return rules


def load_rules(path: Path | None = None) -> RuleSet:
    """Load and validate a rule file (default: the shipped Shanghai rules).

    Parameters
    ----------
    path : Path, optional
        YAML rule file; ``None`` uses :func:`default_rules_path`.

    Returns
    -------
    RuleSet

    Raises
    ------
    RuleError
        If the file is not valid YAML or breaks a rule (names file, rule id and field).
    """
    path = Path(path) if path is not None else default_rules_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from exc
    return parse_rules(raw, name=str(path))
