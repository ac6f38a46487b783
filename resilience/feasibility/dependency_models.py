"""Pydantic models of the dependencies section of a check: suppliers and dependants.

A project draws on other assets of the inventory to operate (power, treated water); the
check reports each supplier's chance of failing over the project's design life and the
project's combined service-loss probability, both bounds (``docs/feasibility.md``,
"Dependencies"; the rules of ``docs/cascade.md``). The verdict stays on the project's own
hazards: this section is reported beside it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from resilience.feasibility.fields import finite_or_none

__all__ = [
    "DependencyAssessment",
    "ServiceLossRow",
    "Supplier",
    "SupplierLossRow",
]

DependencySource = Literal["risk_table", "check_at_site", "none"]


class SupplierLossRow(BaseModel):
    """One supplier's failure probability in one scenario and horizon, both bounds.

    ``*_lower`` combines the supplier's hazards under full dependence (max), ``*_upper``
    under independence (1 - prod(1 - p)); ``assets.cascade`` notes.
    """

    scenario: str
    horizon: str
    annual_failure_probability_lower: float | None
    annual_failure_probability_upper: float | None
    design_life_failure_probability_lower: float | None = Field(
        description="over the PROJECT's design life (same for every horizon of a scenario)"
    )
    design_life_failure_probability_upper: float | None
    hazards_unknown: list[str] = Field(
        default_factory=list, description="hazards without a probability (left out, named)"
    )

    _finite = field_validator(
        "annual_failure_probability_lower",
        "annual_failure_probability_upper",
        "design_life_failure_probability_lower",
        "design_life_failure_probability_upper",
        mode="before",
    )(finite_or_none)


class Supplier(BaseModel):
    """An asset of the inventory the project draws on."""

    asset_id: str
    name: str
    asset_type: str
    distance_km: float = Field(ge=0, description="great-circle distance from the site, km")
    basis: Literal["named", "assumed"] = Field(
        description="named in the submission's depends_on, or assumed (nearest by type)"
    )
    rows: list[SupplierLossRow] = Field(default_factory=list)
    problem: str = Field(default="", description="why the supplier's probability is missing")


class ServiceLossRow(BaseModel):
    """The project's probability of losing service over its design life, one scenario.

    ``own_*``: its own hazards combined; ``*_lower``: own and suppliers under full
    dependence (max p); ``*_upper``: under independence (1 - prod(1 - p)).
    """

    scenario: str
    own_lower: float | None
    own_upper: float | None
    lower: float | None
    upper: float | None

    _finite = field_validator("own_lower", "own_upper", "lower", "upper", mode="before")(
        finite_or_none
    )


class DependencyAssessment(BaseModel):
    """What the project depends on, what would depend on it, or why it was not assessed."""

    status: Literal["assessed", "not_assessed"]
    reason: str = Field(default="", description="why not assessed (empty when assessed)")
    source: DependencySource = Field(
        default="none",
        description="where suppliers' probabilities come from: the published risk table, "
        "or the check machinery run at each supplier's site when none is published",
    )
    inventory: str = Field(default="", description="the inventory file used")
    inventory_sha256: str = ""
    risk_table_provenance_sha256: str = Field(
        default="", description="sha256 of risk_table.provenance.json when the table was used"
    )
    rule: str = ""
    notes: list[str] = Field(default_factory=list)
    suppliers: list[Supplier] = Field(default_factory=list)
    service_loss: list[ServiceLossRow] = Field(default_factory=list)
    dependants: dict[str, int] = Field(
        default_factory=dict,
        description="a new substation: asset type -> number of inventory assets whose "
        "nearest substation it would become",
    )
