"""Adaptation tipping points: the year a standard stops meeting its target, per scenario.

Dynamic Adaptive Policy Pathways (Haasnoot, Kwakkel, Walker & ter Maat 2013, Global
Environmental Change 23, 485-498, doi:10.1016/j.gloenvcha.2012.12.006) plan with adaptation
tipping points (Kwadijk et al. 2010, WIREs Climate Change 1, 729-740): the moment a measure
no longer meets its objective. Here the objective is the hazard's design-life target P; its
annual equivalent is the constant annual probability p* = 1 - (1 - P)^(1/L) that gives P over
the L-year life (Coles 2001, section 1.2.4, inverted). The tipping year is the first calendar
year whose annual exceedance probability (interpolated linearly between horizon mid-years,
held constant outside them, as for the design-life probability) is above p*.
"""

from __future__ import annotations

import numpy as np

from hazard_models.extremes.gev import annual_probability_by_year
from resilience.feasibility.lifetime import annual_target
from resilience.feasibility.models import TippingPoint
from resilience.feasibility.site import SiteHazard

__all__ = ["first_year_above", "tipping_points"]

#: A probability equal to p* (to rounding: a stationary 1/T standard sits exactly on its own
#: annual target) meets the target.
_RELATIVE_TOLERANCE = 1e-9


def first_year_above(
    annual: np.ndarray, mid_years: np.ndarray, years: np.ndarray, threshold: float
) -> np.ndarray:
    """Return the first year whose interpolated annual probability is above ``threshold``.

    Parameters
    ----------
    annual : numpy.ndarray, shape (..., horizon)
        Annual exceedance probability per horizon.
    mid_years : numpy.ndarray, shape (horizon,)
        Central year of each horizon (ascending).
    years : numpy.ndarray, shape (year,)
        Calendar years searched, ascending.
    threshold : float
        Annual probability p*.

    Returns
    -------
    numpy.ndarray of float, shape (...)
        The year, or NaN where no searched year is above ``threshold``.
    """
    order = np.argsort(mid_years)
    by_year = annual_probability_by_year(annual[..., order], mid_years[order].tolist(), years)
    above = by_year > threshold * (1.0 + _RELATIVE_TOLERANCE)  # equal meets the target
    first = np.argmax(above, axis=-1)
    return np.where(above.any(axis=-1), years[first], np.nan)


def tipping_points(
    site: SiteHazard,
    annual: np.ndarray,
    *,
    target: float,
    start_year: int,
    design_life_years: int,
    horizon_bounds: tuple[int, int],
) -> list[TippingPoint]:
    """Return one tipping point per scenario for a checked hazard.

    Parameters
    ----------
    site : SiteHazard
        The hazard at the site (its standard, scenarios, horizon mid-years).
    annual : numpy.ndarray, shape (scenario, horizon)
        Annual exceedance probability of the standard.
    target : float
        The hazard's design-life target probability.
    start_year, design_life_years : int
        The design life [start_year, start_year + L).
    horizon_bounds : tuple of int
        First and last year the layers' horizons cover (e.g. 1995, 2100): the search range;
        no tipping point is computed past the projections' end.

    Returns
    -------
    list of TippingPoint
        Status ``before_start`` (year <= start_year: the standard fails the target from the
        first year of service), ``within_life``, ``after_life`` or ``not_reached``.
    """
    threshold = annual_target(target, design_life_years)
    first, last = horizon_bounds
    years = np.arange(first, last + 1, dtype=float)
    found = first_year_above(annual, site.mid_years, years, threshold)
    life_end = start_year + design_life_years - 1
    rule = (
        f"first year from {first} to {last} whose annual exceedance probability "
        "(interpolated between horizon mid-years, held constant outside them) is above "
        f"{threshold:.3g}, the constant annual probability that gives the {site.hazard} "
        f"target {target:.3g} over the {design_life_years}-year design life, "
        "p* = 1 - (1 - P)^(1/L) (adaptation tipping point, Haasnoot et al. 2013)"
    )
    if life_end > last:
        rule += f"; projections end in {last}: no tipping point is computed beyond it"
    points = []
    for scenario, year in zip(site.scenarios, found, strict=True):
        if np.isnan(year):
            status, value = "not_reached", None
        else:
            value = int(year)
            status = (
                "before_start"
                if value <= start_year
                else "within_life"
                if value <= life_end
                else "after_life"
            )
        points.append(
            TippingPoint(
                hazard=site.hazard,  # type: ignore[arg-type]
                scenario=scenario,
                standard=site.standard,
                units=site.standard_units,
                year=value,
                status=status,  # type: ignore[arg-type]
                rule=rule,
            )
        )
    return points
