"""Extreme still-water levels under uncertain sea-level rise: allowance, amplification, degradation.

Today's annual maxima X follow a GEV(mu, sigma, xi) referred to the 1995-2014 sea level; in a
future year they are X + S, with S the uncertain relative rise
(:class:`hazard_models.coast.sea_level.RiseDistribution`). As Hunter (2012) does, we keep the
expected number of exceedances of a level z per year, averaged over S:

    N(z) = E_S[ Lambda(z - S) ],   Lambda(z) = -log F(z) = [1 + xi (z - mu) / sigma]^(-1/xi)

(-log F is the yearly Poisson rate of exceedances when exceedances form a Poisson process,
the point-process view of the GEV; Coles 2001, ch. 7). ``averaging="probability"`` averages
the annual exceedance probability 1 - F(z - S) instead and converts it to a rate; the two
differ by less than 1 % for return periods of 10 years and more.

* Future T-year level z'_T: N(z'_T) = -log(1 - 1/T), so that a certain rise s gives exactly
  z_T + s (Coles 2001, eq. 3.4).
* Allowance A_T = z'_T - z_T: how far a structure must be raised to keep today's expected
  number of exceedances. For a Gumbel tail (xi = 0, scale lambda) and normal S (mean mu_S,
  sd sigma_S) it is A = mu_S + sigma_S^2 / (2 lambda) for every T (Hunter 2012); for
  xi != 0 it depends on T and is found numerically (as Buchanan et al. 2016 do for the GPD).
* Amplification factor of a level z: N_future(z) / N_today(z), how many times more often
  today's T-year level is exceeded (Buchanan et al. 2017; IPCC SROCC ch. 4, 4.2.3.4).
* Degradation year of a standard: the first year in which the return period of a fixed
  level, 1 / (1 - exp(-N_year(z))), falls to a target.

References
----------
Buchanan, M. K., Kopp, R. E., Oppenheimer, M. & Tebaldi, C. (2016). Allowances for evolving
coastal flood risk under uncertain local sea-level rise. Climatic Change 137, 347-362.
Buchanan, M. K., Oppenheimer, M. & Kopp, R. E. (2017). Amplification of flood frequencies with
local sea level rise and emerging flood regimes. Environ. Res. Lett. 12, 064009.
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer.
Hunter, J. (2012). A simple technique for estimating an allowance for uncertain sea-level
rise. Climatic Change 113, 239-252.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from hazard_models.coast.sea_level import (
    RiseDistribution,
    RiseShape,
    likely_quantiles,
    rise_distribution,
)
from hazard_models.extremes.gev import return_level

__all__ = [
    "MAX_EXCEEDANCES_PER_YEAR",
    "Averaging",
    "GevParameters",
    "amplification_factor",
    "degradation_year",
    "expected_exceedances",
    "future_return_level",
    "future_return_period",
    "hunter_allowance",
    "integrated_return_levels",
    "sea_level_allowance",
]

Averaging = Literal["rate", "probability"]
#: (loc, scale, shape) of the GEV of today's annual maxima, m, m, 1 (xi > 0 heavy tail).
GevParameters = tuple[ArrayLike, ArrayLike, ArrayLike]
#: Semi-diurnal high waters per year, 365.25 d x 24 h / 12.42 h (the M2 tidal period): no
#: level can be exceeded more often, so the rate -log F is capped here. Without the cap a rise
#: node below the lower bound of a heavy-tailed GEV (xi > 0) would make N(z) infinite.
MAX_EXCEEDANCES_PER_YEAR = 365.25 * 24.0 / 12.42
_GUMBEL_EPS = 1e-6  # |xi| below this is the Gumbel limit, as in hazard_models.extremes
_BISECTIONS = 64  # halves the bracket to below 1e-15 of its width


def _gev_rate(level: NDArray, loc: NDArray, scale: NDArray, shape: NDArray) -> NDArray:
    """Return Lambda = -log F(level), the expected exceedances per year (Coles 2001, eq. 3.2).

    0 above an upper bound (xi < 0); capped at :data:`MAX_EXCEEDANCES_PER_YEAR` (which also
    applies below a lower bound, xi > 0, where F = 0).
    """
    z = (level - loc) / scale
    gumbel = np.abs(shape) < _GUMBEL_EPS
    safe = np.where(gumbel, 1.0, shape)
    t = 1.0 + safe * z
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        general = np.where(t > 0, np.power(np.maximum(t, 1e-300), -1.0 / safe), 0.0)
        general = np.where((t <= 0) & (safe > 0), np.inf, general)
        rate = np.where(gumbel, np.exp(-z), general)
    return np.minimum(rate, MAX_EXCEEDANCES_PER_YEAR)


def _gev_arrays(gev: GevParameters) -> tuple[NDArray, NDArray, NDArray]:
    loc, scale, shape = (np.asarray(p, dtype=float) for p in gev)
    if np.any(scale <= 0):
        raise ValueError("gev: expected a positive scale")
    return loc, scale, shape


def _mean_rate(
    level: NDArray,
    gev: tuple[NDArray, NDArray, NDArray],
    rule: tuple[NDArray, NDArray],
    averaging: str,
) -> NDArray:
    """Return N(level) averaged over the rise nodes ``rule`` = (nodes, weights), last axis."""
    nodes, weights = rule
    loc, scale, shape = (p[..., None] for p in gev)
    rates = _gev_rate(np.asarray(level)[..., None] - nodes, loc, scale, shape)
    if averaging == "rate":
        return np.sum(weights * rates, axis=-1)
    if averaging == "probability":
        probability = np.sum(weights * -np.expm1(-rates), axis=-1)
        with np.errstate(divide="ignore"):
            return -np.log1p(-np.minimum(probability, 1.0))
    raise ValueError(f"averaging: expected 'rate' or 'probability', found {averaging!r}")


def expected_exceedances(
    level_m: ArrayLike, gev: GevParameters, rise: RiseDistribution, *, averaging: Averaging = "rate"
) -> NDArray:
    """Return the expected number of exceedances of a level per year under uncertain rise.

    Parameters
    ----------
    level_m : array_like
        Water level, m on the datum of the fit.
    gev : tuple of array_like
        (loc m, scale m, shape) of today's annual maxima, broadcast against ``level_m``.
    rise : RiseDistribution
        Relative sea-level rise since 1995-2014 (m), broadcast against ``level_m``.
    averaging : {"rate", "probability"}
        Average the Poisson rate (Hunter 2012) or the annual probability (module docstring).

    Returns
    -------
    numpy.ndarray
        N(z), exceedances per year (>= 0).
    """
    level = np.asarray(level_m, dtype=float)
    return _mean_rate(level, _gev_arrays(gev), rise.nodes(), averaging)


def future_return_period(
    level_m: ArrayLike, gev: GevParameters, rise: RiseDistribution, *, averaging: Averaging = "rate"
) -> NDArray:
    """Return the return period (years) of a level under uncertain rise: 1 / (1 - exp(-N)).

    ``inf`` where the level can no longer be exceeded (above a bounded tail).
    """
    rate = expected_exceedances(level_m, gev, rise, averaging=averaging)
    with np.errstate(divide="ignore"):
        return 1.0 / -np.expm1(-rate)


def future_return_level(
    gev: GevParameters,
    return_period: ArrayLike,
    rise: RiseDistribution,
    *,
    averaging: Averaging = "rate",
) -> NDArray:
    """Return the T-year still-water level integrated over the uncertain sea-level rise.

    Parameters
    ----------
    gev : tuple of array_like
        (loc m, scale m, shape) of today's annual maxima.
    return_period : array_like
        T in years (> 1), broadcast against the parameters and the rise.
    rise : RiseDistribution
        Relative sea-level rise, m.
    averaging : {"rate", "probability"}
        See :func:`expected_exceedances`.

    Returns
    -------
    numpy.ndarray
        z'_T in m, solving N(z'_T) = -log(1 - 1/T) by bisection between z_T + min(S) and
        z_T + max(S) over the quadrature nodes (64 halvings: exact to rounding).
    """
    loc, scale, shape = _gev_arrays(gev)
    period = np.asarray(return_period, dtype=float)
    today = return_level(loc, scale, shape, period)
    rule = rise.nodes()
    nodes = rule[0]
    low = today + np.min(nodes, axis=-1)
    high = today + np.max(nodes, axis=-1)
    target = -np.log1p(-1.0 / period)
    low, high, target = np.broadcast_arrays(low, high, target)
    low, high = low.copy(), high.copy()
    for _ in range(_BISECTIONS):
        middle = 0.5 * (low + high)
        above = _mean_rate(middle, (loc, scale, shape), rule, averaging) > target
        low = np.where(above, middle, low)
        high = np.where(above, high, middle)
    return 0.5 * (low + high)


def sea_level_allowance(
    gev: GevParameters,
    return_period: ArrayLike,
    rise: RiseDistribution,
    *,
    averaging: Averaging = "rate",
) -> NDArray:
    """Return the allowance A_T = z'_T - z_T (m) that keeps today's exceedance frequency.

    See :func:`future_return_level`; for xi = 0 and a normal rise it equals
    :func:`hunter_allowance` for every T (Hunter 2012).
    """
    loc, scale, shape = _gev_arrays(gev)
    today = return_level(loc, scale, shape, return_period)
    return future_return_level(gev, return_period, rise, averaging=averaging) - today


def hunter_allowance(mean_m: ArrayLike, sd_m: ArrayLike, gumbel_scale_m: ArrayLike) -> NDArray:
    """Return Hunter's (2012) allowance A = mu + sigma^2 / (2 lambda), in m.

    Parameters
    ----------
    mean_m, sd_m : array_like
        Mean and standard deviation of a normally distributed sea-level rise, m.
    gumbel_scale_m : array_like
        Scale lambda of the Gumbel distribution of today's extremes, m (> 0).

    Notes
    -----
    Exact when extremes have an exponential (Gumbel) upper tail and the rise is normal
    (Hunter 2012, Climatic Change 113:239-252); used as a check of the numerical
    :func:`sea_level_allowance` and as a quick estimate.
    """
    scale = np.asarray(gumbel_scale_m, dtype=float)
    if np.any(scale <= 0):
        raise ValueError("gumbel_scale_m: expected a positive scale")
    return np.asarray(mean_m, dtype=float) + np.asarray(sd_m, dtype=float) ** 2 / (2.0 * scale)


def amplification_factor(
    gev: GevParameters,
    rise: RiseDistribution,
    *,
    return_period: ArrayLike = 100.0,
    averaging: Averaging = "rate",
) -> NDArray:
    """Return how many times more often today's T-year level is exceeded under the rise.

    Returns
    -------
    numpy.ndarray
        N_future(z_T) / N_today(z_T), dimensionless (1 = no change).

    References
    ----------
    Buchanan, Oppenheimer & Kopp (2017), Environ. Res. Lett. 12, 064009.
    """
    loc, scale, shape = _gev_arrays(gev)
    level = return_level(loc, scale, shape, return_period)
    today = -np.log1p(-1.0 / np.asarray(return_period, dtype=float))
    return expected_exceedances(level, gev, rise, averaging=averaging) / today


def degradation_year(
    level_m: float,
    gev: tuple[float, float, float],
    rise_by_year: RiseDistribution,
    *,
    years: ArrayLike,
    target_return_period: float,
    averaging: Averaging = "rate",
) -> float:
    """Return the first year in which a fixed level becomes a ``target_return_period`` event.

    Parameters
    ----------
    level_m : float
        The level of the standard (e.g. today's 1000-year level or a crest height), m.
    gev : tuple of float
        (loc m, scale m, shape) of today's annual maxima (1995-2014 sea level).
    rise_by_year : RiseDistribution
        Relative rise in each of ``years`` (arrays with the year on their only axis), m.
    years : array_like
        Ascending calendar years, same length as the rise arrays.
    target_return_period : float
        Return period (years, > 1) at which the standard counts as degraded.

    Returns
    -------
    float
        The first year whose return period 1 / (1 - exp(-N_year(level))) is at most the
        target, or NaN if no year of ``years`` reaches it.
    """
    years = np.asarray(years, dtype=float)
    if np.asarray(rise_by_year.median_m).shape != years.shape:
        raise ValueError("rise_by_year: expected one rise per year")
    if target_return_period <= 1:
        raise ValueError("target_return_period: expected years greater than 1")
    periods = future_return_period(
        np.full(years.shape, level_m), gev, rise_by_year, averaging=averaging
    )
    reached = np.flatnonzero(periods <= target_return_period)
    return float(years[reached[0]]) if reached.size else float("nan")


def integrated_return_levels(
    params: xr.Dataset,
    rise: xr.DataArray,
    return_periods: Sequence[float],
    *,
    rise_shape: RiseShape = "piecewise_normal",
    averaging: Averaging = "rate",
) -> xr.DataArray:
    """Return station return levels integrated over the uncertain relative sea-level rise.

    Parameters
    ----------
    params : xarray.Dataset
        ``loc`` (m), ``scale`` (m) and ``shape`` of today's GEV, dims (station,).
    rise : xarray.DataArray
        Relative rise quantiles, dims (scenario, horizon, quantile, station), m. The median
        (0.5) and the pair of :func:`hazard_models.coast.sea_level.likely_quantiles` define the
        distribution; a median-only table gives a certain rise.
    return_periods : sequence of float
        Years (> 1).
    rise_shape : {"piecewise_normal", "normal"}
        See :func:`hazard_models.coast.sea_level.rise_distribution`.
    averaging : {"rate", "probability"}
        See :func:`expected_exceedances`.

    Returns
    -------
    xarray.DataArray
        Dims (scenario, horizon, return_period, station), m: :func:`future_return_level`
        of each station, scenario and horizon. A zero rise gives today's z_T exactly.
    """
    ordered = rise.transpose("scenario", "horizon", "station", "quantile")
    median = ordered.sel(quantile=0.5).values[:, :, None, :]  # return_period axis added
    pair = likely_quantiles(ordered["quantile"].values.tolist())
    if pair is None:
        distribution = rise_distribution(median, median, median, shape=rise_shape)
    else:
        low, high = (ordered.sel(quantile=q).values[:, :, None, :] for q in pair)
        distribution = rise_distribution(median, low, high, shape=rise_shape, quantiles=pair)
    periods = np.asarray(return_periods, dtype=float)
    gev = (params["loc"].values, params["scale"].values, params["shape"].values)
    levels = future_return_level(
        gev, periods[None, None, :, None], distribution, averaging=averaging
    )
    coords = {
        "scenario": ordered["scenario"].values,
        "horizon": ordered["horizon"].values,
        "return_period": periods,
        "station": ordered["station"].values,
    }
    return xr.DataArray(
        levels, dims=("scenario", "horizon", "return_period", "station"), coords=coords
    )
