"""Adaptation advice and options: the standard that meets the target, and the verdict with it.

Advice (per hazard above its target): the design value whose design-life exceedance
probability equals the target in the worst scenario (the one that needs the highest value),
rounded up (0.1 degC, 1 day, 1 mm/day, 0.01 m) so that it stays on the safe side. GEV
hazards use the vectorised bisection of ``assets.metrics.design_value_for_target``; a hot-day
count is searched over every whole number of days 0-366 at once.

Options: one per advised standard with the verdict the whole check gives when that one
standard changes, and one combining every change (only when two or more hazards need one).
Options are judged against the submitted check's hazard targets: for rain, the reliability
that the submitted drainage standard promises in a stationary climate, which the advice
restores (``lifetime.hazard_targets``). They reuse the sampled arrays
(``assessment.assess`` with a variant axis): no re-sampling or RiskTable per option.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from assets.metrics import design_life_probability, design_value_for_target
from hazard_models.extremes.gev import exceedance_probability
from resilience.feasibility.assessment import Assessment, assess, verdicts
from resilience.feasibility.models import AdaptationOption, Advice, Submission
from resilience.feasibility.site import SiteHazard

__all__ = ["adaptation_options", "advise"]

_STEP = {"heat": 0.1, "rain": 1.0, "surge": 0.01}  # rounding up of advised values
_MAX_DAYS = 366
_BISECTION_STEPS = 36  # halvings: the bracket (< 1e4 units wide) shrinks below 1e-6, far
# below the rounding steps above


def _ceil(value: float, step: float) -> float:
    """Round up to ``step`` so that the advised standard stays on the safe side."""
    return round(math.ceil(round(value / step, 9)) * step, 6)


def _design_values(site: SiteHazard, submission: Submission, target: float) -> np.ndarray:
    """Return the per-scenario design value meeting ``target``, shape (scenario,)."""
    life = int(submission.design_life_years or 1)
    if site.kind == "count":
        days = np.arange(_MAX_DAYS + 1, dtype=float)
        annual = site.annual_probability(days)  # (days, S, H)
        p = design_life_probability(
            annual, site.mid_years, start_year=submission.start_year, design_life_years=life
        )
        meets = p <= target  # (days, S); monotone in days
        return np.where(meets.any(axis=0), days[np.argmax(meets, axis=0)], float(_MAX_DAYS))
    loc, scale, shape = site.params
    return design_value_for_target(
        (loc, scale, shape),
        site.mid_years,
        start_year=submission.start_year,
        design_life_years=life,
        target=target,
        iterations=_BISECTION_STEPS,
    )


def advise(
    site: SiteHazard, assessment: Assessment, submission: Submission, target: float
) -> Advice:
    """Advise the standard that meets ``target`` in every scenario (the worst one governs).

    Parameters
    ----------
    site : SiteHazard
        A checked hazard above its target.
    assessment : Assessment
        Its assessment with the submitted standard as variant 0.
    submission : Submission
        The submission (design life, drainage period, protection level).
    target : float
        The hazard's design-life target probability.

    Returns
    -------
    Advice
    """
    values = _design_values(site, submission, target)
    worst = int(np.argmax(values))
    current = site.standard
    step = 1.0 if site.kind == "count" else _STEP[site.hazard]
    advised = _ceil(float(values[worst]), step)
    period = None
    if site.kind == "count":
        threshold = submission.heat_threshold_degc or 35.0
        message = (
            f"plan cooling and heat-stress measures for {advised:.0f} days a year with Tmax "
            f">= {threshold:g} degC (standard {current:.0f} days)"
        )
    elif site.hazard == "heat":
        message = f"design for TXx {advised:.1f} degC (standard {current:.1f} degC)"
    elif site.hazard == "surge":
        if submission.protection_level_m is not None:
            message = (
                f"raise protection level from {current:.2f} m to {advised:.2f} m (Wusong datum)"
            )
        else:
            message = (
                f"protect the site to {advised:.2f} m, Wusong datum (ground at {current:.2f} m, "
                "no protection level given)"
            )
    else:
        baseline = site.horizons.index("baseline")
        annual = float(exceedance_probability(advised, *(p[worst, baseline] for p in site.params)))
        period = 1.0 / annual if annual > 1e-6 else 1e6  # beyond the fitted support: cap
        message = (
            f"size drainage for the {period:.0f}-yr storm ({advised:.0f} mm/day in the baseline "
            f"climate) instead of the {submission.drainage_return_period_years:g}-yr storm "
            f"({current:.0f} mm/day)"
        )
    return Advice(
        hazard=site.hazard,  # type: ignore[arg-type]
        worst_scenario=site.scenarios[worst],
        design_life_exceedance_probability=float(assessment.design_life[0, worst]),
        current_standard=current,
        advised_standard=advised,
        units=site.standard_units,
        advised_return_period_years=period,
        message=message,
    )


def adaptation_options(
    sites: Mapping[str, SiteHazard],
    advice: list[Advice],
    submission: Submission,
    *,
    targets: Mapping[str, float],
    in_life: Mapping[str, np.ndarray],
) -> list[AdaptationOption]:
    """Return one option per advice, then the combined one, each with its verdict.

    Parameters
    ----------
    sites : mapping of hazard to SiteHazard
        Every hazard of the check.
    advice : list of Advice
        The advised standards (:func:`advise`).
    submission : Submission
        For the design life.
    targets : mapping of hazard to float
        The submitted check's hazard targets.
    in_life : mapping of hazard to numpy.ndarray of bool
        Horizons overlapping the design life, per hazard.

    Returns
    -------
    list of AdaptationOption
        ``design_life_exceedance_probability`` is the worst scenario's with the change (the
        highest over the changed hazards for the combined option).
    """
    changes: list[dict[str, Advice]] = [{a.hazard: a} for a in advice]
    if len(advice) > 1:
        changes.append({a.hazard: a for a in advice})
    if not changes:
        return []
    life = int(submission.design_life_years or 1)
    assessments = {}
    for hazard, site in sites.items():
        standards = [site.standard] + [
            c[hazard].advised_standard if hazard in c else site.standard for c in changes
        ]
        assessments[hazard] = assess(
            site, standards, start_year=submission.start_year, design_life_years=life
        )
    verdict = verdicts(assessments, targets, in_life)
    options = []
    for index, change in enumerate(changes, start=1):
        worst = max(float(np.nanmax(assessments[h].design_life[index])) for h in change)
        single = next(iter(change.values())) if len(change) == 1 else None
        options.append(
            AdaptationOption(
                hazard=single.hazard if single else "combined",
                action=single.message if single else "; ".join(a.message for a in change.values()),
                standard=single.advised_standard if single else None,
                units=single.units if single else "",
                verdict=verdict[index],  # type: ignore[arg-type]
                design_life_exceedance_probability=worst,
                changes={h: a.advised_standard for h, a in change.items()},
            )
        )
    return options
