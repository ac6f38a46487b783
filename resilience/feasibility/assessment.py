"""Score a site's hazards and give the verdict, vectorised over variants of the standards.

The maths is that of the RiskTable (``assets.metrics``): annual probability per horizon,
design-life probability P = 1 - prod(1 - p_t) with p_t interpolated between horizon mid-years,
likelihood from the annual probability (UK NRR bands) x consequence = score and class.
Verdict rule (a project choice, ``docs/feasibility.md``):

- ``not_feasible`` when any checked hazard reaches the "very high" class (score >= 17) in any
  scenario, in a horizon that overlaps the design life;
- ``feasible_with_adaptation`` otherwise, when some hazard's design-life exceedance
  probability is above its target in some scenario;
- ``feasible`` when every checked probability is at or under its target.

A leading axis of variants (the submitted standards, then one per adaptation option) lets the
options be judged in one pass: nothing is re-sampled or re-tabulated per option.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from assets.metrics import (
    design_life_probability,
    exceeds_target,
    likelihood_level,
    risk_class,
)
from resilience.feasibility.site import SiteHazard

__all__ = [
    "VERDICT_RULE",
    "VERY_HIGH_SCORE",
    "Assessment",
    "assess",
    "governing_hazard",
    "verdicts",
]

#: Lowest score of the "very high" class (assets.metrics.CLASS_UPPER_SCORES).
VERY_HIGH_SCORE = 17
VERDICT_RULE = (
    "not_feasible if any checked hazard reaches the very high class (score >= 17) in any "
    "scenario during a horizon that overlaps the design life; otherwise "
    "feasible_with_adaptation if any design-life exceedance probability is above its "
    "hazard's target in any scenario (the drainage target is at least the "
    "probability the standard accepts in a stationary climate); otherwise feasible "
    "(project choice)"
)


@dataclass(frozen=True)
class Assessment:
    """One hazard scored for a set of standards; arrays shaped (variant, scenario[, horizon])."""

    annual: NDArray
    design_life: NDArray
    likelihood: NDArray
    score: NDArray

    @property
    def risk_class(self) -> NDArray:
        """Return the class of each score (``assets.metrics.risk_class``)."""
        return risk_class(self.score)


def assess(
    site: SiteHazard,
    standards: ArrayLike,
    *,
    start_year: int,
    design_life_years: int,
    params: tuple[NDArray, ...] | None = None,
) -> Assessment:
    """Score one hazard for each standard in ``standards``.

    Parameters
    ----------
    site : SiteHazard
        The hazard at the site.
    standards : array_like, shape (variant,)
        Standards in the hazard's units; NaN means not checked (probabilities NaN).
    start_year, design_life_years : int
        First year of service and years of service.
    params : tuple of numpy.ndarray, optional
        Distribution parameters to use instead of the median ones (model spread).

    Returns
    -------
    Assessment
        ``annual``, ``likelihood``, ``score`` shaped (variant, scenario, horizon) and
        ``design_life`` shaped (variant, scenario).
    """
    annual = site.annual_probability(np.atleast_1d(np.asarray(standards, float)), params)
    design = design_life_probability(
        annual, site.mid_years, start_year=start_year, design_life_years=design_life_years
    )
    likelihood = likelihood_level(annual)
    return Assessment(annual, design, likelihood, likelihood * site.consequence)


def verdicts(
    assessments: Mapping[str, Assessment],
    targets: Mapping[str, float],
    in_life: Mapping[str, NDArray],
) -> list[str]:
    """Return the verdict of each variant.

    Parameters
    ----------
    assessments : mapping of hazard to Assessment
        Every hazard with the same number of variants.
    targets : mapping of hazard to float
        Acceptable design-life exceedance probability per hazard.
    in_life : mapping of hazard to numpy.ndarray of bool, shape (horizon,)
        Horizons that overlap the design life.

    Returns
    -------
    list of str
        ``not_feasible``, ``feasible_with_adaptation`` or ``feasible`` per variant.
    """
    variants = next(iter(assessments.values())).score.shape[0]
    very_high = np.zeros(variants, dtype=bool)
    above = np.zeros(variants, dtype=bool)
    for hazard, a in assessments.items():
        with np.errstate(invalid="ignore"):
            very_high |= (a.score[..., in_life[hazard]] >= VERY_HIGH_SCORE).any(axis=(-1, -2))
            above |= exceeds_target(a.design_life, targets[hazard]).any(axis=-1)
    return [
        "not_feasible" if v else "feasible_with_adaptation" if o else "feasible"
        for v, o in zip(very_high, above, strict=True)
    ]


def governing_hazard(
    assessments: Mapping[str, Assessment],
    variant: int = 0,
    in_life: Mapping[str, NDArray] | None = None,
) -> str | None:
    """Return the hazard of the highest-scoring row (ties: higher design-life probability).

    Hazards without a score (not checked) are left out; None if none is checked. With
    ``in_life`` (horizons overlapping the design life, per hazard) only those horizons'
    scores count, as in the verdict: a 2081-2100 score does not govern a project that
    ends in 2066.
    """
    best: tuple[float, float] | None = None
    name = None
    for hazard, a in assessments.items():
        score = a.score[variant]
        if in_life is not None:
            score = np.where(in_life[hazard], score, np.nan)
        if np.all(np.isnan(score)):
            continue
        top = float(np.nanmax(score))
        rows = (score == top).any(axis=-1)  # scenarios holding a top-scoring row
        key = (top, float(np.nanmax(a.design_life[variant][rows], initial=0.0)))
        if best is None or key > best:
            best, name = key, hazard
    return name
