"""What the rule engine decides: one alert episode per (hazard, area) with its level steps.

These pydantic models are the seam between :mod:`resilience.early_warning.engine` (which
builds them from a forecast) and :mod:`resilience.early_warning.lifecycle` (which turns them
into CAP messages). Times are timezone-aware, in Beijing time (+08:00).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from resilience.early_warning.rule_models import Agency, Guidance, HazardInfo, Level

__all__ = [
    "AlertDecision",
    "AreaRef",
    "AssetRef",
    "Certainty",
    "DownstreamRef",
    "LevelStep",
    "RuleScope",
]

Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]


class AreaRef(BaseModel):
    """A warning area: GB/T 2260 code, names and CAP polygons ("lat,lon ..." closed rings)."""

    model_config = ConfigDict(frozen=True)
    code: str
    name_zh: str
    name_en: str
    polygons: list[str] = Field(default_factory=list)


class AssetRef(BaseModel):
    """An asset named by an impact alert, with the level it reaches during the step.

    ``name`` is written in English texts, ``name_zh`` in Chinese ones (empty: ``name``).
    """

    model_config = ConfigDict(frozen=True)
    asset_id: str
    name: str
    name_zh: str = ""
    lat: float
    lon: float
    level: Level


class DownstreamRef(BaseModel):
    """An asset downstream of the assets an impact alert warns about.

    It loses service when one of them fails (``assets.dependencies``: their descendants).

    ``name_zh`` as for :class:`AssetRef`; ``agency`` is the rule set's agency for its type
    (``asset_agencies``), empty when none is configured.
    """

    model_config = ConfigDict(frozen=True)
    asset_id: str
    name: str
    name_zh: str = ""
    asset_type: str
    agency: str = ""


class LevelStep(BaseModel):
    """One level held over a contiguous part of an episode.

    For impact rules ``assets`` are those at a level during the step; a change of that set
    starts a new step, as a change of level does. ``downstream`` are the assets that depend
    on them (and are not warned themselves), most critical first; their agencies are among
    the ``recipients``.
    """

    model_config = ConfigDict(frozen=True)
    level: Level
    start: datetime
    end: datetime
    probability: float = Field(ge=0.0, le=1.0)
    certainty: Certainty
    criterion_id: str
    criterion_zh: str
    criterion_en: str
    value_median: float
    value_max: float
    units: str
    unconfirmed: bool
    recipients: list[str]
    assets: list[AssetRef] = Field(default_factory=list)
    downstream: list[DownstreamRef] = Field(default_factory=list)


class RuleScope(BaseModel):
    """One rule in one area: everything an alert there carries besides its level steps."""

    model_config = ConfigDict(frozen=True)
    rule_id: str
    hazard: str
    scope: Literal["Public", "Restricted"] = "Public"
    hazard_info: HazardInfo
    issuer: Agency
    region_code: str
    area: AreaRef
    lead_h: int
    guidance: dict[Level, Guidance]
    forecast_issued: datetime | None = None
    synthetic: bool = False
    #: sha256 over the inputs of the decision: forecast and rule files, hazard layers' inputs.
    inputs_sha256: str = ""
    likely_above: float = 0.5
    expected_within_h: float = 1.0
    downstream_named: int = 3


class AlertDecision(RuleScope):
    """An alert episode for one hazard in one area: onset, expiry and the level sequence.

    ``onset`` is the start of the first hour at a level, ``expires`` the end of the last hour
    at or above the lowest level plus the rule's hold; ``steps`` cover ``[onset, expires)``.
    ``open_ended`` marks an episode still at a level in the forecast's last hour: nothing is
    known after that, so it ends by expiry (or a later forecast's Update), never by a Cancel.
    """

    onset: datetime
    expires: datetime
    steps: list[LevelStep] = Field(min_length=1)
    open_ended: bool = False
