"""The rule set's data model: agencies, hazards, criteria and rules (pydantic, validated).

The YAML rule file (docs/warnings.md) is parsed into these models by
:func:`resilience.early_warning.rules.parse_rules`, which also runs the cross-field checks of
:mod:`resilience.early_warning.rule_checks`. Levels follow CMA Order 16 (domain.md 1.1); CAP
categories OASIS CAP 1.2 section 3.2.2 (domain.md 6.1).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CHANNELS",
    "LEVELS",
    "Agency",
    "AssetLevel",
    "AssetSelection",
    "Criterion",
    "EngineOptions",
    "Guidance",
    "HazardInfo",
    "HazardRule",
    "LayerLevel",
    "Level",
    "RuleError",
    "RuleSet",
    "Threshold",
]

Level = Literal["blue", "yellow", "orange", "red"]
#: Levels from lowest (IV, blue) to highest (I, red); CMA Order 16 (domain.md 1.1).
LEVELS: tuple[Level, ...] = ("blue", "yellow", "orange", "red")
Variable = Literal["tas", "pr", "sfcWind", "wind_gust", "water_level"]
Aggregation = Literal["instant", "sum", "daily_max"]
Condition = Literal["tropical_cyclone", "no_tropical_cyclone"]
#: CAP 1.2 ``<category>`` values (OASIS CAP 1.2 section 3.2.2, domain.md 6.1).
Category = Literal[
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
]
#: How an agency receives messages: pushed by the outbox (``webhook``, ``file``; the
#: deployment's delivery configuration gives the targets) or pulled (``feed``, ``api``).
Channel = Literal["webhook", "file", "feed", "api"]
CHANNELS: tuple[Channel, ...] = ("webhook", "file", "feed", "api")
_PULL_CHANNELS: list[Channel] = ["feed", "api"]
Scope = Literal["Public", "Restricted"]
CatalogueField = Literal["heat_threshold_degc"]


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


class AssetLevel(_Model):
    """The level each asset is compared with (units of the criterion's variable).

    ``column`` (an inventory column) or ``catalogue`` (a field of the asset's type in
    ``assets.catalogue``), plus ``offset``; when ``defence_column`` is given, the level is no
    lower than that column (water reaches an asset behind a defence only over its crest).
    """

    column: str | None = None
    catalogue: CatalogueField | None = None
    offset: float = 0.0
    offset_source: str | None = None
    offset_unconfirmed: bool = False
    defence_column: str | None = None


class LayerLevel(_Model):
    """Return levels from a hazard layer: ``variable`` of ``layer`` at the ``select`` coords.

    The layer must have ``return_period``, ``lat`` and ``lon``; a ``duration`` dim (minutes)
    is matched to the criterion's ``window_h``. An intensity in mm/h becomes a depth in mm.
    """

    layer: str
    variable: str
    select: dict[str, str | float] = Field(default_factory=dict)


class Criterion(_Model):
    """One metric of one variable and the thresholds it has per level."""

    id: str
    variable: Variable
    aggregation: Aggregation = "instant"
    window_h: int = Field(default=1, ge=1, le=72)
    duration_h: int = Field(default=1, ge=1, le=72)
    operator: Literal[">", ">="] = ">="
    station: str | None = None
    condition: Condition | None = None
    asset_level: AssetLevel | None = None
    layer_level: LayerLevel | None = None
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
    """An agency: what it receives, where, how, and how its messages are identified."""

    id: str
    name_zh: str
    name_en: str
    hazards: list[str]
    districts: Literal["all"] | list[str] = "all"
    min_level: Level = "blue"
    channels: list[Channel] = Field(default_factory=lambda: _PULL_CHANNELS.copy(), min_length=1)
    sector_code: str = Field(pattern=r"^\d{3}$")
    sector_code_unconfirmed: bool


class AssetSelection(_Model):
    """Which inventory assets an impact rule covers: asset types, and column equalities."""

    types: list[str] = Field(min_length=1)
    where: dict[str, str] = Field(default_factory=dict)


class HazardRule(_Model):
    """A hazard rule: criteria, levels, the issuing agency and the areas it covers."""

    id: str
    hazard: str
    issuer: str
    levels: list[Level] = Field(min_length=1)
    lead_h: int = Field(ge=0, le=72)
    hold_h: int | None = Field(default=None, ge=0, le=24)
    areas: Literal["all"] | list[str] = "all"
    scope: Scope = "Public"
    assets: AssetSelection | None = None
    criteria: list[Criterion] = Field(min_length=1)
    guidance: dict[Level, Guidance]


class EngineOptions(_Model):
    """Engine settings: probability to issue, hold, certainty and urgency cut-offs."""

    min_probability: float = Field(default=0.3, gt=0.0, le=1.0)
    hold_h: int = Field(default=1, ge=0, le=24)
    likely_above: float = Field(default=0.5, ge=0.0, lt=1.0)
    expected_within_h: float = Field(default=1.0, ge=0.0)
    region_code: str = Field(default="310000", pattern=r"^\d{6}$")
    #: Downstream assets named in an impact message's text before "and N more" (the counts
    #: by type always cover all of them); 0 gives the counts only.
    downstream_named: int = Field(default=3, ge=0, le=20)


class RuleSet(_Model):
    """A validated rule set.

    ``asset_agencies`` maps an asset type (a key of ``assets.catalogue.ASSET_TYPES``) to the
    id of the agency responsible for assets of that type: an impact alert addresses the
    agencies of the assets downstream of the assets it warns about (docs/warnings.md,
    "Downstream assets"). Types not listed address no one.
    """

    name: str
    engine: EngineOptions = EngineOptions()
    agencies: list[Agency] = Field(min_length=1)
    hazards: dict[str, HazardInfo] = Field(min_length=1)
    asset_agencies: dict[str, str] = Field(default_factory=dict)
    rules: list[HazardRule] = Field(min_length=1)

    def agency(self, agency_id: str) -> Agency:
        """Return the agency with id ``agency_id``."""
        return next(a for a in self.agencies if a.id == agency_id)
