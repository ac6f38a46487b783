"""Pydantic models of a feasibility check: the Submission and its CheckResult.

A proponent submits a site, an asset type and (optionally) the design standards of the
project; the check answers, per hazard, scenario and horizon, how likely the standards are to
be exceeded over the design life, with a verdict and adaptation advice (``docs/feasibility.md``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from assets.catalogue import ASSET_TYPES, HeatStandard
from resilience.feasibility.dependency_models import DependencyAssessment
from resilience.feasibility.fields import (
    BOUNDS,
    CONTROL,
    HOT_DAY_THRESHOLDS_DEGC,
    WGS84,
    finite_or_none,
    number_field,
)
from resilience.validation_text import describe

__all__ = [
    "HOT_DAY_THRESHOLDS_DEGC",
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


class Submission(BaseModel):
    """A project submitted for a climate feasibility check.

    Standards left out default from the asset-type catalogue (``assets.catalogue``); without
    ``protection_level_m`` the surge standard is ``ground_elevation_m``, and without either
    no surge check is possible.
    """

    model_config = ConfigDict(extra="forbid")

    project_name: str = Field(min_length=1, max_length=200, description="plain text")
    asset_type: str = Field(description="a key of assets.catalogue.ASSET_TYPES")
    lon: float = number_field("site longitude, degrees east (WGS 84)", WGS84["lon"])
    lat: float = number_field("site latitude, degrees north (WGS 84)", WGS84["lat"])
    design_life_years: int | None = number_field("years", BOUNDS["design_life_years"], default=None)
    start_year: int = number_field("first year of service", BOUNDS["start_year"], default=2025)
    ground_elevation_m: float | None = number_field(
        "m, Wusong datum", BOUNDS["ground_elevation_m"], default=None
    )
    criticality: int = number_field("1 low to 5 critical", BOUNDS["criticality"], default=3)
    replacement_value: float | None = number_field("CNY", BOUNDS["replacement_value"], default=None)
    heat_standard: HeatStandard | None = Field(
        default=None,
        description="what the heat standard means: 'equipment' (design temperature against "
        "the annual maximum of daily Tmax) or 'hot_days' (days per year with Tmax >= "
        "heat_threshold_degc); default from the asset type",
    )
    heat_threshold_degc: float | None = number_field(
        "degC, daily maximum: the design temperature (equipment) or the hot-day threshold "
        "(hot_days: 35, 37 or 40)",
        BOUNDS["heat_threshold_degc"],
        default=None,
    )
    heat_days_standard: float | None = number_field(
        "days/yr with Tmax >= heat_threshold_degc the design is planned for (hot_days only)",
        BOUNDS["heat_days_standard"],
        default=None,
    )
    drainage_return_period_years: float | None = number_field(
        "years", BOUNDS["drainage_return_period_years"], default=None
    )
    protection_level_m: float | None = number_field(
        "m, Wusong datum", BOUNDS["protection_level_m"], default=None
    )
    depends_on: list[str] | None = Field(
        default=None,
        max_length=50,
        description="asset_ids of the inventory the project will draw on (power, water); "
        "absent: the nearest supply assets by type are assumed (docs/feasibility.md, "
        "'Dependencies')",
    )

    @field_validator("depends_on")
    @classmethod
    def _plain_ids(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for item in value:
            bad = CONTROL.search(item)
            if not item.strip() or bad or len(item) > 200:
                raise ValueError(
                    f"depends_on: expected asset_ids of plain text (1-200 characters), "
                    f"found {item[:40]!r}"
                )
        return list(dict.fromkeys(value))

    @field_validator("project_name", "asset_type")
    @classmethod
    def _plain_text(cls, value: str, info: ValidationInfo) -> str:
        bad = CONTROL.search(value)
        if bad:
            raise ValueError(
                f"{info.field_name}: expected plain text, found control character "
                f"U+{ord(bad.group()):04X} at position {bad.start()}"
            )
        return value

    @field_validator(*BOUNDS)
    @classmethod
    def _in_physical_range(cls, value: float | None, info: ValidationInfo) -> float | None:
        bound = BOUNDS[str(info.field_name)]
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
    def _lon_on_earth(cls, value: float) -> float:
        if not WGS84["lon"].contains(value):
            raise ValueError(f"lon {value:g}: expected {WGS84['lon'].describe()}")
        return value

    @field_validator("lat")
    @classmethod
    def _lat_on_earth(cls, value: float, info: ValidationInfo) -> float:
        if not WGS84["lat"].contains(value):
            lon = info.data.get("lon")
            swapped = (
                isinstance(lon, int | float)
                and WGS84["lat"].contains(lon)
                and WGS84["lon"].contains(value)
            )
            hint = f"; lat and lon look swapped (lon {lon:g}, lat {value:g})" if swapped else ""
            raise ValueError(f"lat {value:g}: expected {WGS84['lat'].describe()}{hint}")
        return value

    @model_validator(mode="after")
    def _defaults_from_catalogue(self) -> Submission:
        kind = ASSET_TYPES[self.asset_type]
        if self.design_life_years is None:
            self.design_life_years = kind.design_life_years
        if self.heat_standard is None:
            self.heat_standard = kind.heat_standard
        if self.heat_threshold_degc is None:
            self.heat_threshold_degc = kind.heat_threshold_degc
        if self.drainage_return_period_years is None:
            self.drainage_return_period_years = float(kind.drainage_return_period_years)
        if self.heat_standard == "hot_days":
            self._hot_days_standard(kind.heat_days_standard)
        elif self.heat_days_standard is not None:
            raise ValueError(
                "heat_days_standard: applies to a 'hot_days' heat standard only; "
                f"{self.asset_type} uses 'equipment' (set heat_standard to 'hot_days')"
            )
        return self

    def _hot_days_standard(self, default: float | None) -> None:
        if self.heat_days_standard is None:
            self.heat_days_standard = default
        if self.heat_days_standard is None:
            raise ValueError(
                "heat_days_standard: expected days per year for a 'hot_days' heat standard "
                f"({self.asset_type} has no default)"
            )
        if self.heat_threshold_degc not in HOT_DAY_THRESHOLDS_DEGC:
            raise ValueError(
                f"heat_threshold_degc {self.heat_threshold_degc:g}: a hot-day standard "
                f"counts days with Tmax >= one of {list(HOT_DAY_THRESHOLDS_DEGC)} degC "
                "(the heat layer's counts)"
            )


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
        raise SubmissionError(describe(str(path), error)) from error


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
    gev: tuple[float, float, float] | None = Field(
        default=None,
        description="the site's pooled GEV (loc, scale, shape; Coles 2001 sign convention, "
        "shape > 0 heavy tail) of the metric's annual maximum in this scenario and horizon: "
        "the distribution behind annual_exceedance_probability; None for counts",
    )
    gev_loc_spread: tuple[float, float] | None = Field(
        default=None,
        description="GEV locations shifted to the spread_quantiles (docs/feasibility.md, "
        "'Model spread'); with scale and shape of ``gev`` they give the band of the curve",
    )
    spread_quantiles: tuple[float, float] | None = Field(
        default=None,
        description="the layer's ensemble quantiles behind the *_p10/*_p90 fields (0.1, 0.9 "
        "for heat and rain; the sea-level likely range 0.17, 0.83 for surge)",
    )
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
    )(finite_or_none)


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

    hazard: HazardName | Literal["combined"] = Field(
        description="the hazard whose standard changes, or 'combined' for every advised change"
    )
    action: str = Field(description="plain-language change, e.g. 'raise protection to 6.60 m'")
    standard: float | None = Field(description="the changed standard; None when combined")
    units: str
    verdict: Verdict
    design_life_exceedance_probability: float = Field(
        description="worst scenario, with the changed standard (combined: the highest over "
        "the changed hazards)"
    )
    changes: dict[str, float] = Field(
        default_factory=dict, description="hazard -> changed standard (in the row's units)"
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
    dependencies: DependencyAssessment | None = Field(
        default=None,
        description="suppliers of the project and their design-life failure probability, "
        "its combined service loss, or a new substation's dependants (docs/feasibility.md, "
        "'Dependencies'); None when the check was run without an inventory source",
    )
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
