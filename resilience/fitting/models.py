"""What ``resilience fit`` reports: the :class:`FitReport` model printed by ``--json``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["Distribution", "FitReport", "Method", "ParameterEstimate", "ReturnLevelEstimate"]

Distribution = Literal["gev", "gpd", "gumbel"]
Method = Literal["mle", "lmoments", "pmle"]


class ParameterEstimate(BaseModel):
    """A fitted parameter and its standard error (observed information)."""

    estimate: float
    se: float | None


class ReturnLevelEstimate(BaseModel):
    """A return level and its confidence interval."""

    return_period: float
    estimate: float
    lower: float | None
    upper: float | None


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
