"""Time horizons and emissions scenarios shared by every hazard layer.

The horizons are the IPCC AR6 WGI periods: the 1995-2014 "recent past" baseline and the
near (2021-2040), mid (2041-2060) and long-term (2081-2100) windows (IPCC AR6 WGI, Atlas
and Chapter 4; see ``docs/science.md``). A user may define others with :class:`Horizon`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AR6_HORIZONS",
    "FUTURE_SCENARIOS",
    "HISTORICAL",
    "SCENARIOS",
    "Horizon",
    "horizon_by_name",
]

HISTORICAL = "historical"
#: Scenario labels allowed in Projections (CMIP6 experiment_id values).
SCENARIOS: tuple[str, ...] = ("historical", "ssp126", "ssp245", "ssp370", "ssp585")
#: Scenarios that a HazardLayer may carry on its ``scenario`` dim.
FUTURE_SCENARIOS: tuple[str, ...] = ("ssp126", "ssp245", "ssp370", "ssp585")


@dataclass(frozen=True)
class Horizon:
    """A named, inclusive window of calendar years.

    Parameters
    ----------
    name : str
        Identifier used on the ``horizon`` dim, e.g. ``"mid"``.
    start, end : int
        First and last calendar year, inclusive.
    """

    name: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(
                f"horizon {self.name!r}: end year {self.end} is before start year {self.start}"
            )

    @property
    def is_baseline(self) -> bool:
        """Return True for the historical reference window (named ``baseline``)."""
        return self.name == "baseline"

    @property
    def mid_year(self) -> float:
        """Return the central year of the window (e.g. 2050.5 for 2041-2060)."""
        return (self.start + self.end) / 2.0

    @property
    def n_years(self) -> int:
        """Return the number of years in the window."""
        return self.end - self.start + 1


AR6_HORIZONS: tuple[Horizon, ...] = (
    Horizon("baseline", 1995, 2014),
    Horizon("near", 2021, 2040),
    Horizon("mid", 2041, 2060),
    Horizon("far", 2081, 2100),
)


def horizon_by_name(name: str, horizons: tuple[Horizon, ...] = AR6_HORIZONS) -> Horizon:
    """Return the horizon called ``name``.

    Raises
    ------
    KeyError
        If no horizon has that name; the message lists the known names.
    """
    for horizon in horizons:
        if horizon.name == name:
            return horizon
    known = ", ".join(h.name for h in horizons)
    raise KeyError(f"unknown horizon {name!r}: expected one of {known}")
