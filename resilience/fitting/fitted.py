"""A fitted station model: the parameters, covariance and data an interval needs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from numpy.typing import NDArray

from resilience.fitting.models import BoundCheck, Distribution, Method

__all__ = ["StationFit"]


@dataclass
class StationFit:
    """A fitted station model: what :mod:`resilience.fitting.intervals` needs."""

    x: NDArray
    dist: Distribution
    method: Method
    names: tuple[str, ...]
    values: dict[str, float]
    cov: NDArray
    nllh: float
    shape_bound: float | None
    covariate: NDArray | None = None
    threshold: float | None = None
    per_year: float = 365.0
    rate: float = math.nan
    diagnostics: dict = field(default_factory=dict)
    bound: BoundCheck | None = None
