"""The design life against the layers' horizons: targets, overlapping horizons, extrapolation.

Annual probabilities are interpolated linearly between horizon mid-years and held constant
outside them (``hazard_models.extremes.gev.annual_probability_by_year``); years after the last
horizon ends are therefore not projected but held at the far horizon's probability, and the
check says so (:func:`extrapolation_note`).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from resilience.feasibility.models import Submission

__all__ = [
    "annual_target",
    "extrapolation_note",
    "hazard_targets",
    "life_horizons",
    "life_years",
]


def life_years(submission: Submission) -> tuple[int, int]:
    """Return the first and last year of service (inclusive)."""
    first = submission.start_year
    return first, first + (submission.design_life_years or 1) - 1


def extrapolation_note(exposure: xr.Dataset, submission: Submission) -> str | None:
    """Say how the design life is extended beyond the layers' horizons, or None if it is not.

    Parameters
    ----------
    exposure : xarray.Dataset
        An Exposure or layer with ``start``/``end`` year coordinates on ``horizon``.
    submission : Submission
        The submission (``start_year``, ``design_life_years``).

    Returns
    -------
    str or None
        The rule used, naming the years extrapolated, or None when the design life ends
        within the last horizon.
    """
    first, last = life_years(submission)
    ends = exposure["end"].values
    index = int(np.argmax(ends))
    end, name = int(ends[index]), str(exposure["horizon"].values[index])
    if last <= end:
        return None
    return (
        f"design life {first}-{last} runs {last - end} years past the last horizon "
        f"({name}, {int(exposure['start'].values[index])}-{end}): probabilities after {end} "
        f"held at the {name} horizon's (no projection beyond it)"
    )


def hazard_targets(submission: Submission, target: float) -> dict[str, float]:
    """Return the acceptable design-life exceedance probability per hazard.

    Absolute standards (a temperature, a count of hot days, a protection level) use
    ``target``. A drainage standard is itself a return period T: even in a stationary climate
    it is exceeded over an L-year life with probability 1 - (1 - 1/T)^L, which the standard
    accepts by design. The rain check therefore asks whether climate change makes that
    probability worse, i.e. its target is the larger of ``target`` and the stationary
    design-life probability.
    """
    life = submission.design_life_years or 1
    period = submission.drainage_return_period_years or math.inf
    designed = -math.expm1(life * math.log1p(-1.0 / period)) if period > 1 else 1.0
    return {"heat": target, "surge": target, "rain": max(target, designed)}


def annual_target(target: float, design_life_years: int) -> float:
    """Return the constant annual probability whose design-life probability is ``target``.

    Notes
    -----
    1 - (1 - p)^L = P  =>  p = 1 - (1 - P)^(1/L) (Coles 2001, section 1.2.4, the design-life
    or encounter probability, inverted).
    """
    return -math.expm1(math.log1p(-target) / max(design_life_years, 1))


def life_horizons(exposure: xr.Dataset, submission: Submission) -> set[str]:
    """Return the horizons that overlap the design life (all of them if none does).

    A project built in 2030 with a 30-year life is scored on the near and mid horizons, not on
    2081-2100; its design-life probability already integrates every year of its life.
    """
    first, last = life_years(submission)
    starts, ends = exposure["start"].values, exposure["end"].values
    names = [str(h) for h in exposure["horizon"].values]
    overlapping = {
        n for n, s, e in zip(names, starts, ends, strict=True) if s <= last and e >= first
    }
    return overlapping or set(names)
