"""Risk metrics: design-life exceedance, expected annual damage, design value, score and class.

The array functions that :func:`assets.risk.build_risk_table` composes, public so that the
feasibility check reuses them (no duplicate maths). Probabilities come from the GEV of
:mod:`hazard_models.extremes.gev`.

Scoring is a design proposal, not a standard (``docs/domain.md`` 3.3 "Suggested engine
scoring"): likelihood 1-5 from the annual exceedance probability of the row's horizon in the
UK National Risk Register bands (the assessment period is one year, so that each horizon is
scored on its own climate; the design-life probability is reported beside it), consequence
1-5 = criticality shifted by sensitivity (high +1, medium 0, low -1, clipped to 1-5, after
the EU 2021/C 373/01 sensitivity step), score = likelihood x consequence, class low (<= 4),
medium (5-9), high (10-16), very high (>= 17).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hazard_models.extremes.gev import (
    annual_probability_by_year,
    design_life_exceedance,
    exceedance_probability,
    return_level,
)

__all__ = [
    "CLASS_UPPER_SCORES",
    "LIKELIHOOD_BANDS",
    "consequence_level",
    "design_life_probability",
    "design_value_for_target",
    "exceeds_target",
    "expected_annual_damage",
    "likelihood_level",
    "risk_class",
]

RiskClass = Literal["low", "medium", "high", "very high", "not assessed"]
#: Upper edges of likelihood levels 1-4 (probability over the assessment period); UK National
#: Risk Register scale (domain.md 3.3): <0.2 %, 0.2-1 %, 1-5 %, 5-25 %, >25 %.
LIKELIHOOD_BANDS: tuple[float, ...] = (0.002, 0.01, 0.05, 0.25)
#: Highest score of the classes low, medium, high (design proposal, domain.md 3.3).
CLASS_UPPER_SCORES: tuple[int, ...] = (4, 9, 16)


def design_life_probability(
    p_horizon: ArrayLike,
    mid_years: ArrayLike,
    *,
    start_year: int,
    design_life_years: ArrayLike,
) -> NDArray:
    """Return the probability of at least one exceedance over each design life.

    Parameters
    ----------
    p_horizon : array_like, shape (..., n_horizon)
        Annual exceedance probability per horizon (horizons along the last axis).
    mid_years : sequence of float
        Central year of each horizon (any order; sorted here).
    start_year : int
        First year of service.
    design_life_years : array_like, broadcast to ``p_horizon.shape[:-1]``
        Years of service; year t counts for t in [start_year, start_year + life).

    Returns
    -------
    numpy.ndarray, shape (...)
        P = 1 - prod_t (1 - p_t) with p_t interpolated linearly in time between horizon
        centres (``hazard_models.extremes``); NaN where any needed p is NaN.
    """
    p = np.asarray(p_horizon, dtype=float)
    mids = np.asarray(mid_years, dtype=float)
    order = np.argsort(mids)
    life = np.broadcast_to(np.asarray(design_life_years, dtype=float), p.shape[:-1])
    n_years = int(np.nanmax(life, initial=1))
    years = start_year + np.arange(n_years)
    p, life = p[..., order].reshape(-1, mids.size), life.reshape(-1)
    out = np.empty(p.shape[0])
    # in blocks of rows: at 100 k assets each (row, year) array is 200,000 x 100 float64
    # (160 MB) and several live at once; by blocks the step took 0.7 s instead of 5.6 s
    step = max(1, _BLOCK_VALUES // max(n_years, 1))
    for start in range(0, p.shape[0], step):
        rows = slice(start, start + step)
        by_year = annual_probability_by_year(p[rows], mids[order].tolist(), years)
        in_life = np.arange(n_years) < life[rows, None]
        out[rows] = design_life_exceedance(np.where(in_life, by_year, 0.0))
    return out.reshape(np.shape(p_horizon)[:-1])


#: Values of the (row, year) arrays of :func:`design_life_probability` made at a time.
_BLOCK_VALUES = 1 << 20


def expected_annual_damage(damage: ArrayLike, return_periods: Sequence[float]) -> NDArray:
    """Return the expected annual damage from damages at return periods.

    Parameters
    ----------
    damage : array_like, shape (..., n_return_period)
        Damage (e.g. CNY) at each return period, along the last axis.
    return_periods : sequence of float
        Return periods T (years), any order.

    Returns
    -------
    numpy.ndarray, shape (...)
        EAD in the units of ``damage`` per year.

    Notes
    -----
    Trapezoidal integration of damage over annual exceedance probability p = 1/T, with the
    tail conventions of Delft-FIAT (``Deltares/Delft-FIAT`` ``src/fiat/models/calc.py``,
    ``calc_rp_coef``): no damage for events more frequent than the shortest T, and the damage
    of the longest T for all rarer events (adds p_min x D(p_min)). FIAT interpolates
    log-linearly between points; we use the linear trapezoid, as CLIMADA's exceedance-curve
    integration does.
    """
    d = np.asarray(damage, dtype=float)
    p = 1.0 / np.asarray(return_periods, dtype=float)
    order = np.argsort(p)
    p, d = p[order], d[..., order]
    inner = np.sum(np.diff(p) * (d[..., 1:] + d[..., :-1]) / 2.0, axis=-1)
    return inner + p[0] * d[..., 0]


def likelihood_level(probability: ArrayLike) -> NDArray:
    """Return the likelihood level 1-5 of a probability (UK NRR bands); NaN stays NaN.

    A probability on a band edge belongs to the higher band (0.2 % -> 2).
    """
    p = np.asarray(probability, dtype=float)
    level = np.digitize(p, LIKELIHOOD_BANDS, right=False) + 1.0
    return np.where(np.isnan(p), np.nan, level)


def consequence_level(criticality: ArrayLike, sensitivity: ArrayLike) -> NDArray:
    """Return consequence 1-5: criticality (1-5) + sensitivity (1-3) - 2, clipped to 1-5.

    Design proposal: high sensitivity (3) raises the asset's criticality by one level, low
    sensitivity (1) lowers it by one (EU 2021/C 373/01 sensitivity scale; domain.md 3.3).
    """
    c = np.asarray(criticality, dtype=float) + np.asarray(sensitivity, dtype=float) - 2.0
    return np.clip(c, 1.0, 5.0)


def risk_class(score: ArrayLike) -> NDArray:
    """Return the class of a 1-25 score: low / medium / high / very high (NaN: not assessed)."""
    s = np.asarray(score, dtype=float)
    names = np.array(["low", "medium", "high", "very high"], dtype=object)
    out = names[np.digitize(np.nan_to_num(s), np.asarray(CLASS_UPPER_SCORES) + 0.5)]
    return np.where(np.isnan(s), "not assessed", out)


def design_value_for_target(
    params: tuple[ArrayLike, ArrayLike, ArrayLike],
    mid_years: ArrayLike,
    *,
    start_year: int,
    design_life_years: ArrayLike,
    target: float,
    iterations: int = 60,
    points: int = 65,
) -> NDArray:
    """Return the design value whose design-life exceedance probability equals ``target``.

    Parameters
    ----------
    params : tuple of array_like, each shape (..., n_horizon)
        GEV ``(loc, scale, shape)`` per horizon (climate convention for ``shape``).
    mid_years : sequence of float
        Central year of each horizon.
    start_year, design_life_years
        As in :func:`design_life_probability` (``design_life_years`` broadcast to ``...``).
    target : float
        Acceptable probability of at least one exceedance over the design life, in (0, 1).
    iterations : int, optional
        Accuracy as a number of bisection halvings: 60 shrink the bracket below 1e-15 of
        its width.
    points : int, optional
        Values tried at once per round (>= 3); each round narrows the bracket by
        ``points - 1``, so ``ceil(iterations / log2(points - 1))`` rounds are run.

    Returns
    -------
    numpy.ndarray, shape (...)
        Smallest value (to the search accuracy, from above) with design-life probability
        <= ``target``, in the units of the GEV ``loc``.

    Notes
    -----
    Vectorised k-ary search on the monotone P(x): each round evaluates P on ``points``
    evenly spaced values of the bracket in one array operation and keeps the interval where
    P crosses the target (bisection is the case ``points = 3``). Bracket: the lowest 1.5-yr
    level over horizons (annual p >= 2/3 in every year, so P >= 2/3) and the highest level
    at T = 100 x life / target (sum of annual p <= target / 100, so P < target).
    """
    loc, scale, shape = (np.asarray(a, dtype=float)[..., None, :] for a in params)
    life = np.asarray(design_life_years, dtype=float)
    t_high = 100.0 * np.max(life) / target
    with np.errstate(invalid="ignore", over="ignore"):
        low = np.min(return_level(loc, scale, shape, 1.5), axis=-1)  # (..., 1)
        high = np.max(return_level(loc, scale, shape, t_high), axis=-1)
    life = life[..., None] if life.ndim else life
    steps = np.linspace(0.0, 1.0, max(points, 3))
    rounds = math.ceil(iterations / math.log2(steps.size - 1))
    for _ in range(rounds):
        grid = low + (high - low) * steps  # (..., points)
        p = exceedance_probability(grid[..., None], loc, scale, shape)
        prob = design_life_probability(p, mid_years, start_year=start_year, design_life_years=life)
        meets = prob <= target
        first = np.where(meets.any(axis=-1), np.argmax(meets, axis=-1), steps.size - 1)[..., None]
        high = np.take_along_axis(grid, first, axis=-1)
        low = np.take_along_axis(grid, np.maximum(first - 1, 0), axis=-1)
    return high[..., 0]


#: A probability equal to its target meets it; a difference this small is rounding noise.
TARGET_TOLERANCE = 1e-12


def exceeds_target(probability: ArrayLike, target: ArrayLike) -> NDArray:
    """Return whether design-life probabilities are above their target (NaN: False).

    The rule of a feasibility check's verdict (``resilience.feasibility.assessment``), its
    adaptation advice and the engineers' pages: equal meets the target, within
    :data:`TARGET_TOLERANCE`.
    """
    with np.errstate(invalid="ignore"):
        return np.asarray(probability, dtype=float) > np.asarray(target, dtype=float) + (
            TARGET_TOLERANCE
        )
