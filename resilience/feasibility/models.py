"""Pydantic models of a feasibility check: the Submission and its CheckResult.

A proponent submits a site, an asset type and (optionally) the design standards of the
project; the check answers, per hazard, scenario and horizon, how likely the standards are to
be exceeded over the design life, with a verdict and adaptation advice (``docs/feasibility.md``).
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assets.catalogue import ASSET_TYPES

__all__ = [
    "SHANGHAI_DOMAIN",
    "Advice",
    "CheckResult",
    "HazardRow",
    "Submission",
    "Verdict",
]

Verdict = Literal["feasible", "feasible_with_adaptation", "not_feasible"]
HazardName = Literal["heat", "rain", "surge"]
#: Shanghai domain of the engine's layers: (lon_min, lon_max, lat_min, lat_max), degrees.
SHANGHAI_DOMAIN: tuple[float, float, float, float] = (120.8, 122.1, 30.6, 31.9)


def _finite_or_none(value: float | None) -> float | None:
    """Map NaN/inf to None so that JSON stays valid and round-trips."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class Submission(BaseModel):
    """A project submitted for a climate feasibility check.

    Standards left out default from the asset-type catalogue (``assets.catalogue``); a
    missing ``protection_level_m`` means no surge check is possible.
    """

    model_config = ConfigDict(extra="forbid")

    project_name: str = Field(min_length=1, max_length=200)
    asset_type: str = Field(description="a key of assets.catalogue.ASSET_TYPES")
    lon: float = Field(description="site longitude, degrees east (WGS 84)")
    lat: float = Field(description="site latitude, degrees north (WGS 84)")
    design_life_years: int | None = Field(default=None, gt=0, le=300)
    start_year: int = Field(default=2025, ge=2000, le=2100)
    ground_elevation_m: float | None = Field(default=None, description="m, Wusong datum")
    criticality: int = Field(default=3, ge=1, le=5, description="1 low to 5 critical")
    replacement_value: float | None = Field(default=None, ge=0, description="CNY")
    heat_threshold_degc: float | None = None
    drainage_return_period_years: float | None = Field(default=None, gt=1)
    protection_level_m: float | None = Field(default=None, description="m, Wusong datum")

    @field_validator("asset_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in ASSET_TYPES:
            raise ValueError(f"unknown asset_type {value!r}: expected one of {sorted(ASSET_TYPES)}")
        return value

    @field_validator("lon")
    @classmethod
    def _lon_in_domain(cls, value: float) -> float:
        lo, hi = SHANGHAI_DOMAIN[:2]
        if not lo <= value <= hi:
            raise ValueError(f"lon {value} is outside the Shanghai domain {lo}-{hi} E")
        return value

    @field_validator("lat")
    @classmethod
    def _lat_in_domain(cls, value: float) -> float:
        lo, hi = SHANGHAI_DOMAIN[2:]
        if not lo <= value <= hi:
            raise ValueError(f"lat {value} is outside the Shanghai domain {lo}-{hi} N")
        return value

    @model_validator(mode="after")
    def _defaults_from_catalogue(self) -> Submission:
        kind = ASSET_TYPES[self.asset_type]
        if self.design_life_years is None:
            self.design_life_years = kind.design_life_years
        if self.heat_threshold_degc is None:
            self.heat_threshold_degc = kind.heat_threshold_degc
        if self.drainage_return_period_years is None:
            self.drainage_return_period_years = float(kind.drainage_return_period_years)
        return self


class HazardRow(BaseModel):
    """One hazard x scenario x horizon line of a check; probabilities in [0, 1]."""

    hazard: HazardName
    scenario: str
    horizon: str
    metric: str
    metric_value: float | None
    metric_units: str
    standard: float | None
    standard_units: str
    annual_exceedance_probability: float | None
    design_life_exceedance_probability: float | None
    likelihood: int | None = Field(default=None, ge=1, le=5)
    consequence: int | None = Field(default=None, ge=1, le=5)
    score: int | None = Field(default=None, ge=1, le=25)
    risk_class: str

    _finite = field_validator(
        "metric_value",
        "standard",
        "annual_exceedance_probability",
        "design_life_exceedance_probability",
        mode="before",
    )(_finite_or_none)


class Advice(BaseModel):
    """A design value that brings one hazard back under the target in the worst scenario."""

    hazard: HazardName
    worst_scenario: str
    design_life_exceedance_probability: float
    current_standard: float | None
    advised_standard: float
    units: str
    advised_return_period_years: float | None = None
    message: str


class LayerInput(BaseModel):
    """Where one hazard layer used by a check came from."""

    layer_version: str
    inputs_sha256: str
    code_version: str = ""
    synthetic: Literal["yes", "no", "unknown"] = "unknown"


class CheckResult(BaseModel):
    """The outcome of a feasibility check (stored as JSON, rendered as HTML)."""

    check_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    submission: Submission
    rows: list[HazardRow]
    not_checked: dict[str, str] = Field(
        default_factory=dict, description="hazard -> why it could not be checked"
    )
    target_probability: float = Field(gt=0, lt=1)
    hazard_targets: dict[str, float] = Field(
        default_factory=dict,
        description="acceptable design-life exceedance probability per hazard (see check.py)",
    )
    overall_score: int | None = Field(ge=1, le=25)
    overall_class: str
    verdict: Verdict
    verdict_rule: str
    advice: list[Advice]
    layer_versions: dict[str, str]
    synthetic_data: bool = False
    layer_inputs: dict[str, LayerInput] = Field(
        default_factory=dict,
        description="per hazard layer: its inputs' sha256 and whether any input was synthetic",
    )
    method: str = ""
    sources: list[str] = Field(default_factory=list)
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
