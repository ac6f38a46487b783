"""Hot-day standards: the chance that a year has more hot days than a building is planned for.

A hot-day standard (``assets.catalogue``, ``heat_standard="hot_days"``) is a number of days
per year with daily maximum temperature at or above a threshold (35 degC, the CMA
high-temperature threshold) that a building's cooling plant and heat-stress plans are sized
for. The layer gives the mean annual count per climate (``tx_days_above_35``: ensemble
quantiles of the 20-year mean). The year-to-year count is modelled as negative binomial
(NB2) with that mean and a stated overdispersion; the exceedance probability of a standard
of ``s`` days is P(N > s).

References
----------
Wilks, D. S. (2011). Statistical Methods in the Atmospheric Sciences, 3rd ed., Academic
Press, sections 4.2.4-4.2.5: Poisson and negative binomial models of counts of
weather events; the negative binomial for counts more variable than Poisson (clustered
in hot summers).
Hilbe, J. M. (2011). Negative Binomial Regression, 2nd ed., Cambridge UP, eq. 8.2 (NB2:
variance mu + mu^2 / k).
Abramowitz, M. & Stegun, I. A. (1964). Handbook of Mathematical Functions, 26.5.26
(negative binomial CDF as a regularised incomplete beta function) and 26.4.21 (Poisson
CDF as a regularised incomplete gamma function).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["HOT_DAY_DISPERSION", "hot_day_exceedance_probability"]

#: NB2 size k of the year-to-year count of days >= 35 degC: variance = mu + mu^2 / k.
#: UNCONFIRMED (project choice, to be fitted to a station record): k = 4 gives a standard
#: deviation of about 13 days at a mean of 25 d/yr, the spread of Shanghai's recent summers
#: (2010 30 d, 2022 50 d, cooler years near 10 d; docs/domain.md 4.4). ``math.inf`` gives
#: the Poisson model.
HOT_DAY_DISPERSION = 4.0


def hot_day_exceedance_probability(
    standard_days: ArrayLike,
    mean_days: ArrayLike,
    *,
    dispersion: float = HOT_DAY_DISPERSION,
) -> NDArray:
    """Return P(a year's count of hot days > standard), broadcasting the arguments.

    Parameters
    ----------
    standard_days : array_like
        Days per year the design is planned for (a count; fractions round down, since
        N > 12.5 is N > 12).
    mean_days : array_like
        Mean annual count of hot days in the climate of interest (days/yr, >= 0).
    dispersion : float, optional
        NB2 size k > 0 (variance mu + mu^2 / k); ``math.inf`` for Poisson.

    Returns
    -------
    numpy.ndarray
        Probability in [0, 1]; NaN where an input is NaN; 0 for a zero mean; 1 for a
        negative standard.

    Notes
    -----
    With m = floor(s): Poisson P(N > m) = P(m + 1, mu), the regularised lower incomplete
    gamma function (A&S 26.4.21); NB2 with p = k / (k + mu), P(N > m) = I_{1-p}(m + 1, k),
    the regularised incomplete beta function (A&S 26.5.26).
    """
    from scipy.special import betainc, gammainc

    if not dispersion > 0:
        raise ValueError(f"dispersion: expected k > 0 (math.inf for Poisson), got {dispersion}")
    s = np.floor(np.asarray(standard_days, dtype=float))
    mu = np.asarray(mean_days, dtype=float)
    s, mu = np.broadcast_arrays(s, mu)
    count = np.maximum(s, 0.0) + 1.0
    positive = np.maximum(mu, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if np.isinf(dispersion):
            p = gammainc(count, positive)
        else:
            p = betainc(count, dispersion, positive / (dispersion + positive))
    p = np.where(positive == 0.0, 0.0, p)
    p = np.where(s < 0, 1.0, p)
    return np.where(np.isnan(s) | np.isnan(mu), np.nan, p)
