"""Storm-tide hydrographs at a gauge: the water level through an event that peaks at a level.

A still-water return level says how high the water gets, not for how long. The overtopping
model (:mod:`hazard_models.coast.overtopping`) needs the level through time, so every return
level is given a hydrograph that peaks exactly at it:

* **synthetic** (:class:`SyntheticStormTide`): an astronomical tide of range R (one M2
  constituent, period 12.42 h) with high water at t = 0, plus a surge pulse of peak P and
  total duration D, also peaking at t = 0::

      level(t) = peak - (R / 2) (1 - cos(2 pi t / T_M2)) - P (1 - cos^2(pi t / D)),
      for -D/2 <= t <= D/2 (the event; outside it the surge is zero).

  The peak is reached once, at t = 0; before and after, the tide falls and the surge decays.
  The event is the surge: overflow at ordinary high waters outside it is not counted.
* **a user series** (:class:`StormTideSeries`): hours and levels of a recorded or modelled
  event, shifted up or down so that its maximum equals each return level (the shape is kept).

References
----------
Pugh, D. & Woodworth, P. (2014). Sea-Level Science. Cambridge University Press, ch. 3-4
(M2 period 12.42 h; the surge as the residual added to the astronomical tide).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "M2_PERIOD_H",
    "StormTideSeries",
    "SyntheticStormTide",
    "storm_tide",
]

#: Period of the principal lunar semi-diurnal constituent M2, hours (Pugh & Woodworth 2014).
M2_PERIOD_H = 12.42


@dataclass(frozen=True)
class SyntheticStormTide:
    """Shape of a synthetic storm tide: M2 tide of ``tide_range_m`` plus a cos^2 surge pulse.

    Defaults are ASSUMPTIONS for the Changjiang mouth, to be replaced by a gauge analysis:
    a 3.0 m spring range (UNCONFIRMED; the sample forecast uses 3.9 m), a 2.0 m surge (Winnie
    1997: 2.35 m on a spring tide, domain.md 1.5) lasting 24 h (UNCONFIRMED).
    """

    tide_range_m: float = 3.0
    surge_peak_m: float = 2.0
    surge_duration_h: float = 24.0
    step_minutes: float = 2.0

    def __post_init__(self) -> None:
        checks = {
            "tide_range_m": self.tide_range_m >= 0,
            "surge_peak_m": self.surge_peak_m >= 0,
            "surge_duration_h": self.surge_duration_h > 0,
            "step_minutes": 0 < self.step_minutes <= 60,
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not (ok and np.isfinite(value)):
                raise ValueError(f"SyntheticStormTide: {name} = {value!r} is out of range")

    def describe(self) -> str:
        """Return a one-line description (for ``method`` attributes and reports)."""
        return (
            f"synthetic storm tide: M2 tide range {self.tide_range_m:g} m (T {M2_PERIOD_H} h) + "
            f"cos^2 surge {self.surge_peak_m:g} m over {self.surge_duration_h:g} h"
        )


@dataclass(frozen=True)
class StormTideSeries:
    """A user storm-tide event: ``time_h`` strictly increasing, ``level_m`` (any datum)."""

    time_h: tuple[float, ...]
    level_m: tuple[float, ...]
    name: str = "user series"

    def __post_init__(self) -> None:
        time, level = np.asarray(self.time_h, float), np.asarray(self.level_m, float)
        if time.size != level.size or time.size < 2:
            raise ValueError(f"{self.name}: expected >= 2 (time_h, level_m) pairs of equal length")
        if not (np.all(np.isfinite(time)) and np.all(np.isfinite(level))):
            raise ValueError(f"{self.name}: expected finite time_h and level_m")
        if np.any(np.diff(time) <= 0):
            raise ValueError(f"{self.name}: expected strictly increasing time_h")

    def describe(self) -> str:
        """Return a one-line description (for ``method`` attributes and reports)."""
        span = self.time_h[-1] - self.time_h[0]
        return f"storm tide from {self.name} ({len(self.time_h)} points over {span:g} h)"


StormTideShape = SyntheticStormTide | StormTideSeries


def storm_tide(
    peak_level_m: float, shape: StormTideShape
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the storm-tide hydrograph of an event peaking at ``peak_level_m``.

    Parameters
    ----------
    peak_level_m : float
        Highest still-water level of the event (e.g. a return level), m on any datum.
    shape : SyntheticStormTide or StormTideSeries
        The synthetic shape (formula in the module docstring) or a user series, shifted so
        that its maximum is ``peak_level_m``.

    Returns
    -------
    time_h, level_m : numpy.ndarray
        Hours (t = 0 at the synthetic peak) and levels, m on the datum of ``peak_level_m``;
        ``level_m.max() == peak_level_m``.
    """
    if not np.isfinite(peak_level_m):
        raise ValueError(f"peak_level_m: expected a finite level, found {peak_level_m!r}")
    if isinstance(shape, StormTideSeries):
        level = np.asarray(shape.level_m, dtype=float)
        return np.asarray(shape.time_h, dtype=float), level - level.max() + peak_level_m
    half = shape.surge_duration_h / 2
    steps = int(np.ceil(2 * half * 60 / shape.step_minutes)) + 1
    time = np.linspace(-half, half, steps)
    tide_drop = shape.tide_range_m / 2 * (1 - np.cos(2 * np.pi * time / M2_PERIOD_H))
    surge_drop = shape.surge_peak_m * (1 - np.cos(np.pi * time / shape.surge_duration_h) ** 2)
    return time, peak_level_m - tide_drop - surge_drop
