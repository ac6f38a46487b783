"""Pydantic models of a feasibility check: the Submission and its CheckResult.

A proponent submits a site, an asset type and (optionally) the design standards of the
project; the check answers, per hazard, scenario and horizon, how likely the standards are to
be exceeded over the design life, with a verdict and adaptation advice (``docs/feasibility.md``).
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from assets.catalogue import ASSET_TYPES

__all__ = [
    "SHANGHAI_DOMAIN",
    "AdaptationOption",
    "Advice",
    "CheckResult",
    "HazardRow",
    "LayerDomain",
    "Submission",
    "SubmissionError",
    "TippingPoint",
    "Verdict",
    "read_submission",
]

Verdict = Literal["feasible", "feasible_with_adaptation", "not_feasible"]
HazardName = Literal["heat", "rain", "surge"]
#: Shanghai domain of the engine's layers: (lon_min, lon_max, lat_min, lat_max), degrees.
SHANGHAI_DOMAIN: tuple[float, float, float, float] = (120.8, 122.1, 30.6, 31.9)


class _Range(NamedTuple):
    """Physical range of a numeric Submission field, with units and where it comes from."""

    low: float
    high: float
    units: str
    basis: str
    low_open: bool = False

    def contains(self, value: float) -> bool:
        """Return True if ``value`` lies in the range."""
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high

    def describe(self) -> str:
        """Return e.g. ``"-90 to 60 degC (Earth's observed extremes)"``."""
        low = f"more than {self.low:g}" if self.low_open else f"{self.low:g}"
        units = f" {self.units}" if self.units else ""
        return f"{low} to {self.high:g}{units} ({self.basis})"


#: Ranges of the numeric fields (lon and lat are bounded by SHANGHAI_DOMAIN instead). Values
#: outside them are typing errors, not designs, so they are rejected rather than clipped.
_BOUNDS: dict[str, _Range] = {
    # Service lives of civil works: 1 year to 300 (monumental structures); the catalogue's
    # longest default is 100 years (assets.catalogue).
    "design_life_years": _Range(1, 300, "years", "a civil-works design life"),
    # The layers' horizons run from the 1995-2014 baseline to 2081-2100 (AR6_HORIZONS in
    # hazard_models/horizon.py), so a start year outside 2000-2100 cannot be checked.
    "start_year": _Range(2000, 2100, "", "the hazard layers' horizons"),
    # Land and structures in Shanghai lie within about -20 m (deep basements, metro) and
    # 100 m (the few hills of Songjiang and Jinshan reach about 100 m) on the Wusong datum.
    "ground_elevation_m": _Range(-20, 100, "m", "Shanghai's terrain on the Wusong datum"),
    "protection_level_m": _Range(-20, 100, "m", "Shanghai's terrain on the Wusong datum"),
    # The 1-5 criticality scale of the risk matrix (docs/feasibility.md, step 4).
    "criticality": _Range(1, 5, "", "the 1-5 consequence scale"),
    # Zero up to 1e13 CNY, about twice Shanghai's 2023 GDP (4.7e12 CNY, Shanghai Statistical
    # Yearbook): no single project is worth more.
    "replacement_value": _Range(0, 1e13, "CNY", "at most twice Shanghai's annual GDP"),
    # Earth's observed extremes of air temperature: -89.2 degC (Vostok, 1983) and 56.7 degC
    # (Death Valley, 1913), WMO Archive of Weather and Climate Extremes.
    "heat_threshold_degc": _Range(-90, 60, "degC", "Earth's observed extremes"),
    # A return period is longer than one year (an annual probability below 1); 100000 years
    # is beyond the longest design standard in use (Dutch dikes, 1 in 10000 years).
    "drainage_return_period_years": _Range(
        1, 100_000, "years", "an annual exceedance probability in [1e-5, 1)", low_open=True
    ),
}
#: C0 controls (NUL, ESC ...), DEL and C1 controls: never part of a name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _number(description: str, bound: _Range | None = None, **kwargs: Any) -> Any:
    """Return a Field that takes a real number only: no bool, no string, no NaN or infinity.

    ``bound`` only documents the range in the JSON schema; ``Submission._in_physical_range``
    enforces it with a message that names the field, the range and its basis.
    """
    schema: dict[str, JsonValue] | None = None
    if bound is not None:
        low = "exclusiveMinimum" if bound.low_open else "minimum"
        schema = {low: bound.low, "maximum": bound.high}
    return Field(
        strict=True,
        allow_inf_nan=False,
        description=description,
        json_schema_extra=schema,
        **kwargs,
    )


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

    project_name: str = Field(min_length=1, max_length=200, description="plain text")
    asset_type: str = Field(description="a key of assets.catalogue.ASSET_TYPES")
    lon: float = _number("site longitude, degrees east (WGS 84)")
    lat: float = _number("site latitude, degrees north (WGS 84)")
    design_life_years: int | None = _number("years", _BOUNDS["design_life_years"], default=None)
    start_year: int = _number("first year of service", _BOUNDS["start_year"], default=2025)
    ground_elevation_m: float | None = _number(
        "m, Wusong datum", _BOUNDS["ground_elevation_m"], default=None
    )
    criticality: int = _number("1 low to 5 critical", _BOUNDS["criticality"], default=3)
    replacement_value: float | None = _number("CNY", _BOUNDS["replacement_value"], default=None)
    heat_threshold_degc: float | None = _number(
        "degC, daily maximum", _BOUNDS["heat_threshold_degc"], default=None
    )
    drainage_return_period_years: float | None = _number(
        "years", _BOUNDS["drainage_return_period_years"], default=None
    )
    protection_level_m: float | None = _number(
        "m, Wusong datum", _BOUNDS["protection_level_m"], default=None
    )

    @field_validator("project_name", "asset_type")
    @classmethod
    def _plain_text(cls, value: str, info: ValidationInfo) -> str:
        bad = _CONTROL.search(value)
        if bad:
            raise ValueError(
                f"{info.field_name}: expected plain text, found control character "
                f"U+{ord(bad.group()):04X} at position {bad.start()}"
            )
        return value

    @field_validator(*_BOUNDS)
    @classmethod
    def _in_physical_range(cls, value: float | None, info: ValidationInfo) -> float | None:
        bound = _BOUNDS[str(info.field_name)]
        if value is not None and not bound.contains(value):
            raise ValueError(f"{info.field_name} {value:g}: expected {bound.describe()}")
        return value

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


class SubmissionError(ValueError):
    """A submission file that cannot be read or is not a valid Submission."""


def read_submission(path: str | Path) -> Submission:
    """Read and validate a submission JSON file.

    Parameters
    ----------
    path : str or Path
        UTF-8 JSON (a byte-order mark is allowed) with the fields of :class:`Submission`.

    Returns
    -------
    Submission
        The validated submission, standards left out filled from the catalogue.

    Raises
    ------
    SubmissionError
        If the file cannot be read, is not UTF-8 (the message gives the offending byte and
        its offset) or is not a valid Submission (pydantic's field-by-field report); every
        message starts with the file name.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        raise SubmissionError(
            f"{path}: expected UTF-8 encoded JSON, found byte 0x{byte:02x} at offset "
            f"{error.start} that is not UTF-8 ({error.reason})"
        ) from error
    except OSError as error:
        raise SubmissionError(f"{path}: cannot read ({error.strerror or error})") from error
    try:
        return Submission.model_validate_json(text)
    except ValidationError as error:
        raise SubmissionError(f"{path}: {error}") from error


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
    standard_basis: str = Field(
        default="",
        description="what the standard means, e.g. 'equipment design temperature against the "
        "annual maximum of daily Tmax' or 'ground elevation (no protection level given)'",
    )
    metric_value_p10: float | None = Field(default=None, description="10 % of the models")
    metric_value_p90: float | None = Field(default=None, description="90 % of the models")
    annual_exceedance_probability_p10: float | None = Field(
        default=None, description="model spread: the 10 % end of the annual probability"
    )
    annual_exceedance_probability_p90: float | None = Field(
        default=None, description="model spread: the 90 % end of the annual probability"
    )
    design_life_exceedance_probability_p10: float | None = None
    design_life_exceedance_probability_p90: float | None = None
    flood_depth_m: float | None = Field(
        default=None,
        description="surge rows: still water at the metric's return period above the site's "
        "ground (m, 0 when dry); None when the ground elevation is unknown",
    )

    _finite = field_validator(
        "metric_value",
        "standard",
        "annual_exceedance_probability",
        "design_life_exceedance_probability",
        "metric_value_p10",
        "metric_value_p90",
        "annual_exceedance_probability_p10",
        "annual_exceedance_probability_p90",
        "design_life_exceedance_probability_p10",
        "design_life_exceedance_probability_p90",
        "flood_depth_m",
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


class TippingPoint(BaseModel):
    """The year from which a standard stops meeting its target in one scenario (DAPP).

    Dynamic Adaptive Policy Pathways (Haasnoot et al. 2013, doi:10.1016/j.gloenvcha.2012.12.006)
    plan with adaptation tipping points: the moment a measure no longer meets its objective.
    """

    hazard: HazardName
    scenario: str
    standard: float | None
    units: str
    year: int | None = Field(
        description="first year whose annual exceedance probability is above the annual "
        "equivalent of the target; None if not reached by the last horizon"
    )
    status: Literal["before_start", "within_life", "after_life", "not_reached"]
    rule: str


class AdaptationOption(BaseModel):
    """One change of a standard and the verdict the check would give with it."""

    hazard: HazardName
    action: str = Field(description="plain-language change, e.g. 'raise protection to 6.60 m'")
    standard: float
    units: str
    verdict: Verdict
    design_life_exceedance_probability: float = Field(
        description="worst scenario, with the changed standard"
    )


class LayerDomain(BaseModel):
    """Where the published layers a check used can be sampled (degrees, WGS 84)."""

    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float
    layers: list[str]


class LayerInput(BaseModel):
    """Where one hazard layer used by a check came from."""

    layer_version: str
    inputs_sha256: str
    code_version: str = ""
    synthetic: Literal["yes", "no", "unknown"] = "unknown"


class CheckResult(BaseModel):
    """The outcome of a feasibility check (stored as JSON, rendered as HTML)."""

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
    extrapolation: str | None = Field(
        default=None,
        description="set when the design life runs past the last horizon: the rule used",
    )
    layer_versions: dict[str, str]
    synthetic_data: bool = False
    layer_inputs: dict[str, LayerInput] = Field(
        default_factory=dict,
        description="per hazard layer: its inputs' sha256 and whether any input was synthetic",
    )
    method: str = ""
    sources: list[str] = Field(default_factory=list)
    governing_hazard: HazardName | None = Field(
        default=None, description="the hazard with the highest score (then probability)"
    )
    tipping_points: list[TippingPoint] = Field(default_factory=list)
    options: list[AdaptationOption] = Field(default_factory=list)
    domain: LayerDomain | None = None
    code_version: str = ""
    parameters: dict[str, float | str] = Field(
        default_factory=dict, description="settings that change the result (target ...)"
    )
    result_hash: str = Field(
        default="",
        description="sha256 of (submission, layer versions, code version, parameters): equal "
        "for the same inputs wherever the check runs (CLI, API, flow)",
    )
    check_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
