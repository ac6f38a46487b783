"""Which requested years a run's files cover, and a report line for every gap.

A run (one model member, experiment and variable) may come as many files whose date ranges
leave holes, or stop inside a horizon. :func:`coverage_gaps` counts the days of each needed
year against the length of that year in the run's calendar (365 in ``noleap``, 360 in
``360_day``, 365 or 366 in ``standard``); :func:`gap_line` words the result, naming the
files, for the ``missing_combinations`` attribute of Projections. Values of missing days are
NaN in the assembled Dataset, so a gap is reported, never used as if complete.

Which experiment serves which year follows :mod:`resilience.climate.selection`: years up to
2014 come from ``historical`` and later ones from the SSPs (Eyring et al. 2016).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hazard_models.horizon import HISTORICAL
from resilience.climate.projection_file import year_runs
from resilience.climate.selection import HISTORICAL_END_YEAR
from resilience.schema import Horizon

__all__ = ["Gaps", "coverage_gaps", "gap_line", "needed_years"]

_NAMES_SHOWN = 3


@dataclass(frozen=True)
class Gaps:
    """Needed years a run lacks entirely (``missing``) or in part (``partial``: year, days, of)."""

    missing: tuple[int, ...]
    partial: tuple[tuple[int, int, int], ...]

    def __bool__(self) -> bool:
        return bool(self.missing or self.partial)


@functools.lru_cache(maxsize=4096)
def _days_in_year(year: int, calendar: str) -> int:
    import cftime

    first = cftime.datetime(year, 1, 1, calendar=calendar)
    return (cftime.datetime(year + 1, 1, 1, calendar=calendar) - first).days


def needed_years(horizon: Horizon, experiment: str) -> list[int]:
    """Return the years of ``horizon`` that ``experiment`` serves (historical up to 2014)."""
    years = range(horizon.start, horizon.end + 1)
    if experiment == HISTORICAL:
        return [y for y in years if y <= HISTORICAL_END_YEAR]
    return [y for y in years if y > HISTORICAL_END_YEAR]


def coverage_gaps(years_of_days: np.ndarray, needed: Sequence[int], calendar: str) -> Gaps:
    """Return the needed years with no day, and those with fewer days than the calendar year.

    Parameters
    ----------
    years_of_days : numpy.ndarray of int
        Calendar year of every time step of the run (one per day).
    needed : sequence of int
        Years the request needs from this run.
    calendar : str
        CF calendar of the run (``noleap``, ``360_day``, ``standard`` ...).

    Returns
    -------
    Gaps
        Falsy when every needed year is complete.
    """
    found, counts = np.unique(np.asarray(years_of_days, dtype=int), return_counts=True)
    have = dict(zip(found.tolist(), counts.tolist(), strict=True))
    missing = tuple(y for y in sorted(set(needed)) if y not in have)
    partial = tuple(
        (y, have[y], _days_in_year(y, calendar))
        for y in sorted(set(needed))
        if y in have and have[y] < _days_in_year(y, calendar)
    )
    return Gaps(missing, partial)


def _ranges(years: Sequence[int]) -> str:
    """Format years compactly, e.g. ``2041-2050,2055``."""
    return ",".join(f"{a}-{b}" if a != b else f"{a}" for a, b in year_runs(years))


def gap_line(run: str, gaps: Gaps, files: Sequence[str], *, horizon: Horizon | None = None) -> str:
    """Word one run's gaps for ``missing_combinations``, naming the horizon and the files.

    Parameters
    ----------
    run : str
        ``"{model} {experiment} {variable}"``.
    gaps : Gaps
        From :func:`coverage_gaps`.
    files : sequence of str
        Names of the run's files (the first three are shown).
    horizon : Horizon, optional
        The horizon the years were needed for.

    Returns
    -------
    str
        E.g. ``"MIROC6 ssp245 tasmax: horizon far (2081-2100): years 2091-2100 missing,
        2090 partial (181 of 365 days) (NaN); files tasmax_day_..._20810101-20900630.nc"``.
    """
    parts = []
    if gaps.missing:
        parts.append(f"years {_ranges(gaps.missing)} missing")
    parts += [f"{y} partial ({n} of {of} days)" for y, n, of in gaps.partial]
    where = f"horizon {horizon.name} ({horizon.start}-{horizon.end}): " if horizon else ""
    shown = ", ".join(sorted(files)[:_NAMES_SHOWN])
    more = f" and {len(files) - _NAMES_SHOWN} more" if len(files) > _NAMES_SHOWN else ""
    return f"{run}: {where}{', '.join(parts)} (NaN); files {shown}{more}"
