"""Spread a volume of water over low ground, filling from the lowest cells upward.

For a compartment of cells with ground z_i and areas a_i, the water surface L that stores a
volume V solves::

    V = sum over cells with z_i < L of (L - z_i) a_i

The right side is continuous, piecewise linear and increasing in L, so after sorting the
cells by ground the root is found exactly: between the k-th and (k+1)-th lowest grounds,
``V(L) = L A_k - S_k`` with ``A_k`` the area and ``S_k`` the sum of a_i z_i of the k lowest
cells, hence ``L = (V + S_k) / A_k``. The level is capped at ``max_level_m`` (the static
bathtub level, an upper bound): a volume larger than the compartment holds below it is
reported as capped, never silently stored.

The whole compartment shares one level: pits inside it separated by ridges lower than the
cap fill together (no fill-and-spill sequence; Barnes et al. 2020 describe the full one).

References
----------
Barnes, R., Callaghan, K. L. & Wickert, A. D. (2020). Computing water flow through complex
landscapes, part 3: fill-spill-merge. Earth Surf. Dynam. 8, 431-445.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["FillResult", "fill_level", "stored_volume"]


@dataclass(frozen=True)
class FillResult:
    """The level that stores a volume: ``level_m``, ``stored_m3`` and ``capped``."""

    level_m: float
    stored_m3: float
    capped: bool


def stored_volume(ground_m: NDArray, area_m2: NDArray, level_m: float) -> float:
    """Return the water volume (m3) that a level stores over cells: sum (L - z)+ a."""
    ground, area = np.asarray(ground_m, float), np.asarray(area_m2, float)
    return float(np.sum(np.clip(level_m - ground, 0.0, None) * area))


def fill_level(
    ground_m: NDArray, area_m2: NDArray, volume_m3: float, *, max_level_m: float = np.inf
) -> FillResult:
    """Return the water level that stores ``volume_m3`` over cells, filling the lowest first.

    Parameters
    ----------
    ground_m : numpy.ndarray
        Ground of the compartment's cells (any shape, finite), m.
    area_m2 : numpy.ndarray
        Area of each cell, m2 (same shape, > 0).
    volume_m3 : float
        Volume to store, m3 (>= 0).
    max_level_m : float
        Cap on the level, m (the static bathtub level).

    Returns
    -------
    FillResult
        ``level_m`` (NaN when the volume is 0: nothing is wet), ``stored_m3`` (equal to
        ``volume_m3`` unless capped) and ``capped`` (the volume exceeds what the compartment
        holds below ``max_level_m``; the level is then ``max_level_m``).

    Raises
    ------
    ValueError
        Negative or non-finite volume, non-finite ground, non-positive areas, no cells.

    Notes
    -----
    ``L = (V + S_k) / A_k`` on the segment of the k lowest cells (module docstring).
    """
    ground = np.asarray(ground_m, dtype=float).ravel()
    area = np.broadcast_to(np.asarray(area_m2, dtype=float), np.shape(ground_m)).ravel()
    if not (np.isfinite(volume_m3) and volume_m3 >= 0):
        raise ValueError(f"volume_m3: expected a finite volume >= 0, found {volume_m3!r}")
    if ground.size == 0 or not np.all(np.isfinite(ground)):
        raise ValueError("ground_m: expected at least one cell, all finite")
    if not np.all(area > 0):
        raise ValueError("area_m2: expected cell areas > 0")
    if volume_m3 == 0:
        return FillResult(float("nan"), 0.0, False)
    capacity = stored_volume(ground, area, max_level_m) if np.isfinite(max_level_m) else np.inf
    if volume_m3 >= capacity:
        return FillResult(float(max_level_m), float(capacity), volume_m3 > capacity)
    order = np.argsort(ground, kind="stable")
    z, a = ground[order], area[order]
    area_below, moment_below = np.cumsum(a), np.cumsum(a * z)
    # volume when the level reaches the next cell's ground: V(z_{k+1}) = z_{k+1} A_k - S_k
    at_next = np.append(z[1:] * area_below[:-1] - moment_below[:-1], np.inf)
    k = int(np.searchsorted(at_next, volume_m3, side="left"))
    level = (volume_m3 + moment_below[k]) / area_below[k]
    return FillResult(float(min(level, max_level_m)), float(volume_m3), False)
