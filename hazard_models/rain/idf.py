"""Sub-daily design rainfall: the Shanghai storm-intensity formula, Chicago hyetograph, uplift.

Formula (rational method, docs/domain.md 2.4; DB31/T 1043-2017)::

    q = A1 (1 + C lg P) / (t + b)^n     [L/(s ha)],   i = q / 167   [mm/min]

with P the return period (years) and t the duration (minutes). A1 = 1600, C = 0.846 and
b = 7.0 agree across two secondary sources; the exponent n is 0.656 in one and 0.630 in the
other, and the Chicago peak ratio r is 0.367 or 0.405: both are UNCONFIRMED, so every
parameter lives in :class:`StormFormula` and the default is flagged ``confirmed=False``.
Climate uplift follows Clausius-Clapeyron, about 7 % per K of local warming (domain.md 4.6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "SHANGHAI_DB31_T1043",
    "StormFormula",
    "chicago_hyetograph",
    "clausius_clapeyron_uplift",
    "effective_return_period",
    "storm_intensity",
]

#: L/(s ha) per mm/min: 1 mm/min over a hectare = 10 m3 / 60 s = 166.7 L/s.
LITRES_PER_SECOND_HECTARE_PER_MM_MIN = 166.7


@dataclass(frozen=True)
class StormFormula:
    """Parameters of q = A1 (1 + C lg P) / (t + b)^n and of the Chicago design storm.

    Attributes
    ----------
    a1, c, b, n : float
        Formula parameters (q in L/(s ha), t in minutes).
    peak_ratio : float
        Chicago peak-position ratio r (time to peak / storm duration), in (0, 1).
    confirmed : bool
        False when a parameter is UNCONFIRMED against the standard's text.
    source : str
        Where the values come from.
    """

    a1: float
    c: float
    b: float
    n: float
    peak_ratio: float
    confirmed: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        if not 0.0 < self.peak_ratio < 1.0:
            raise ValueError(f"peak_ratio: expected a value in (0, 1), found {self.peak_ratio}")
        if self.a1 <= 0 or self.n <= 0 or self.b < 0:
            raise ValueError(f"storm formula: expected a1 > 0, n > 0, b >= 0, found {self}")


SHANGHAI_DB31_T1043 = StormFormula(
    a1=1600.0,
    c=0.846,
    b=7.0,
    n=0.656,
    peak_ratio=0.367,
    confirmed=False,
    source="DB31/T 1043-2017 as quoted in secondary sources (docs/domain.md 2.4): n = 0.656 "
    "vs 0.630 and r = 0.367 vs 0.405 are UNCONFIRMED",
)


def _rate(return_period: NDArray, formula: StormFormula) -> NDArray:
    """Return a = A1 (1 + C lg P) / 167 in mm/min x min^n."""
    return (
        formula.a1
        * (1.0 + formula.c * np.log10(return_period))
        / LITRES_PER_SECOND_HECTARE_PER_MM_MIN
    )


def storm_intensity(
    return_period: ArrayLike,
    duration_min: ArrayLike,
    formula: StormFormula = SHANGHAI_DB31_T1043,
    *,
    uplift: ArrayLike = 1.0,
) -> NDArray:
    """Return the mean rainfall intensity (mm/min) of the design storm of a duration.

    Parameters
    ----------
    return_period : array_like
        Return period P in years (> 0), broadcast against ``duration_min``.
    duration_min : array_like
        Duration t in minutes (> 0).
    formula : StormFormula
        Parameters (default: Shanghai DB31/T 1043-2017, partly UNCONFIRMED).
    uplift : array_like
        Multiplicative climate uplift of intensities (see :func:`clausius_clapeyron_uplift`).

    Notes
    -----
    i = A1 (1 + C lg P) / (167 (t + b)^n) (docs/domain.md 2.4). Multiply by 60 for mm/h and
    by t for the depth in mm.
    """
    period = np.asarray(return_period, dtype=float)
    duration = np.asarray(duration_min, dtype=float)
    if np.any(period <= 0) or np.any(duration <= 0):
        raise ValueError("storm_intensity: expected positive return periods and durations")
    return np.asarray(uplift) * _rate(period, formula) / np.power(duration + formula.b, formula.n)


def clausius_clapeyron_uplift(warming_k: ArrayLike, *, rate_per_k: float = 0.07) -> NDArray:
    """Return the intensity factor (1 + rate)^dT for a local warming dT in K.

    About 7 %/K after Clausius-Clapeyron (docs/domain.md 4.6); 0.14 gives the 2xCC
    sensitivity case seen for short-duration extremes.
    """
    return np.power(1.0 + rate_per_k, np.asarray(warming_k, dtype=float))


def effective_return_period(
    design_return_period: ArrayLike,
    uplift: ArrayLike,
    formula: StormFormula = SHANGHAI_DB31_T1043,
) -> NDArray:
    """Return the return period that today's design storm has in a climate with ``uplift``.

    A drainage system sized for the P-year storm carries intensity i(P, t). If every
    intensity grows by a factor f, that capacity is reached by the storm P' with
    f (1 + C lg P') = 1 + C lg P, for every duration (the uplift cancels the duration term):
    P' = 10^(((1 + C lg P) / f - 1) / C). P' below the formula's validity (about 0.5 yr)
    means the system is overwhelmed several times a year.
    """
    period = np.asarray(design_return_period, dtype=float)
    factor = np.asarray(uplift, dtype=float)
    return np.power(10.0, ((1.0 + formula.c * np.log10(period)) / factor - 1.0) / formula.c)


def chicago_hyetograph(
    return_period: float,
    duration_min: float,
    formula: StormFormula = SHANGHAI_DB31_T1043,
    *,
    step_min: float = 5.0,
    uplift: float = 1.0,
) -> NDArray:
    """Return the Chicago design storm as rain depths (mm) per time step.

    The instantaneous intensity before and after the peak (Keifer & Chu 1957; docs/domain.md
    2.4) is i(t_b) = a [(1 - n) t_b / r + b] / (t_b / r + b)^(1 + n) and likewise with
    1 - r after the peak; it is integrated exactly through its mass curve
    D(tau) = a tau / (tau + b)^n, so that every duration centred on the peak holds the IDF
    depth, and the steps sum to the design depth of the whole storm.
    """
    if duration_min <= 0 or step_min <= 0 or duration_min % step_min:
        raise ValueError(
            f"duration_min {duration_min} must be a positive multiple of step_min {step_min}"
        )
    r = formula.peak_ratio
    a = float(uplift) * float(_rate(np.asarray(return_period, dtype=float), formula))
    edges = np.arange(0.0, duration_min + step_min / 2, step_min)
    peak = r * duration_min

    def mass(tau: NDArray) -> NDArray:  # depth of the storm of duration tau around the peak
        return a * tau / np.power(tau + formula.b, formula.n)

    # Cumulative depth from the start: the part before the peak scales with r, after with 1-r.
    before = np.minimum(edges, peak)
    after = np.maximum(edges - peak, 0.0)
    cumulative = r * (mass(np.full_like(before, peak / r)) - mass((peak - before) / r)) + (
        1 - r
    ) * mass(after / (1 - r))
    return np.diff(cumulative)
