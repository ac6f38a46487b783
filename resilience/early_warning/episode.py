"""Collapse an hourly series of issued levels into alert episodes with level steps.

A level reached at hour ``t`` is held for ``hold_h`` further hours (so a one-hour lull does not
end an episode or downgrade it). An episode is a run of hours with a held level; it expires
at the end of its last hour at or above the lowest level plus ``hold_h`` hours. Each change of
the held level inside the run starts a new step (Alert, then Update per step, then Cancel);
so does each change of an optional per-hour ``keys`` code (for impact rules, the set of
assets at a level: a change of the alert's area is an Update too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Episode", "StepSpan", "collapse_episodes", "held_levels"]


@dataclass(frozen=True)
class StepSpan:
    """A level (1 blue .. 4 red) from hour index ``first`` (inclusive)."""

    level: int
    first: int


@dataclass(frozen=True)
class Episode:
    """Hour indices of an episode: first hour, last hour at level, and its steps."""

    first: int
    last: int
    steps: tuple[StepSpan, ...]


def held_levels(levels: np.ndarray, hold_h: int) -> np.ndarray:
    """Return levels held ``hold_h`` hours after each hour (axis 0 is time; any other dims)."""
    held = np.asarray(levels).copy()
    for lag in range(1, hold_h + 1):
        held[lag:] = np.maximum(held[lag:], levels[:-lag])
    return held


def collapse_episodes(
    levels: np.ndarray, *, hold_h: int, keys: np.ndarray | None = None
) -> list[Episode]:
    """Return the episodes of an hourly level series.

    Parameters
    ----------
    levels : numpy.ndarray
        (time,) integer level per hour: 0 none, 1 blue, 2 yellow, 3 orange, 4 red.
    hold_h : int
        Hours a level is held after the last hour it is reached (>= 0).
    keys : numpy.ndarray, optional
        (time,) integer code per hour; a change of code inside an episode starts a step.

    Returns
    -------
    list of Episode
        In time order. ``last`` is the last hour index with ``levels > 0``; steps come from
        the held levels between ``first`` and ``last``.
    """
    levels = np.asarray(levels, dtype=int)
    held = held_levels(levels, hold_h)
    active = np.flatnonzero(held > 0)
    if active.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(active) > 1)
    starts = np.concatenate([[active[0]], active[breaks + 1]])
    stops = np.concatenate([active[breaks], [active[-1]]])
    episodes = []
    for first, stop in zip(starts, stops, strict=True):
        last = int(first + np.flatnonzero(levels[first : stop + 1] > 0)[-1])
        run = held[first : last + 1]
        moved = np.diff(run) != 0
        if keys is not None:
            moved |= np.diff(np.asarray(keys)[first : last + 1]) != 0
        change = np.flatnonzero(moved) + 1
        steps = tuple(StepSpan(int(run[i]), int(first + i)) for i in np.concatenate([[0], change]))
        episodes.append(Episode(int(first), last, steps))
    return episodes
