"""What ``resilience fit`` reports: the :class:`FitReport` model printed by ``--json``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "BoundCheck",
    "Distribution",
    "FitReport",
    "IntervalMethod",
    "Method",
    "ParameterEstimate",
    "ReturnLevelEstimate",
]

Distribution = Literal["gev", "gpd", "gumbel"]
Method = Literal["mle", "lmoments", "pmle"]
#: "auto": profile likelihood for MLE fits of GEV and GPD, bootstrap for L-moments, delta
#: method otherwise (Gumbel, penalised MLE).
IntervalMethod = Literal["auto", "profile", "delta", "bootstrap"]


class ParameterEstimate(BaseModel):
    """A fitted parameter and its standard error (observed information)."""

    estimate: float
    se: float | None


class ReturnLevelEstimate(BaseModel):
    """A return level and its confidence interval (``None``: no valid end; see ``flags``)."""

    return_period: float
    estimate: float
    lower: float | None
    upper: float | None
    flags: list[str] = Field(
        default_factory=list,
        description="why an end is missing or suspect, e.g. a delta-method lower end below "
        "the threshold or the physical floor",
    )


class BoundCheck(BaseModel):
    """Whether the shape bound binds, and what the fit would be without it."""

    shape_bound: float | None = Field(description="b of xi in [-b, b]; None = unrestricted")
    shape_at_bound: bool
    shape_clipped: bool | None = Field(
        default=None, description="L-moment shape clipped (lmoments)"
    )
    unrestricted: dict[str, float] | None = Field(
        default=None, description="estimate without the bound (xi > -1), with its nllh"
    )
    deviance: float | None = Field(
        default=None,
        description="2 (nllh bounded - nllh unrestricted); > 3.84 rejects the bound at 5 %",
    )


class FitReport(BaseModel):
    """What ``resilience fit --json`` prints (issue 3, section 7)."""

    distribution: Distribution
    method: Method
    n: int
    nllh: float
    parameters: dict[str, ParameterEstimate]
    return_levels: list[ReturnLevelEstimate]
    diagnostics: dict[str, float | int | str] = Field(default_factory=dict)
    interval: str = "95 % delta method"
    source: str = ""
    status: Literal["ok", "shape_at_bound"] = "ok"
    bound: BoundCheck | None = None
