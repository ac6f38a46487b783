"""The GEV distribution: CDF, exceedance probability, return levels, likelihood, design life.

Shape convention (used everywhere in this package): ``shape`` is xi of Coles (2001, eq. 3.2),
so xi > 0 is a heavy (Frechet) tail, xi < 0 a bounded (Weibull) tail and xi = 0 the Gumbel
case. scipy's ``genextreme`` uses ``c = -xi``.

----------
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer.
Hosking, J. R. M. (1990). L-moments. J. R. Stat. Soc. B 52, 105-124.
Hosking, J. R. M. & Wallis, J. R. (1997). Regional Frequency Analysis. Cambridge UP.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "annual_probability_by_year",
    "design_life_exceedance",
    "exceedance_probability",
    "gev_cdf",
    "gev_nllh",
    "return_level",
    "return_levels",
]

_GUMBEL_EPS = 1e-6  # |xi| below this is treated as the Gumbel limit (avoids 0/0)


def gev_cdf(x: ArrayLike, loc: ArrayLike, scale: ArrayLike, shape: ArrayLike) -> NDArray:
    """Return the GEV cumulative distribution function, broadcasting all arguments.

    Notes
    -----
    F(x) = exp(-[1 + xi (x - mu)/sigma]^(-1/xi)) for xi != 0 and
    exp(-exp(-(x - mu)/sigma)) for xi = 0 (Coles 2001, eq. 3.2). Outside the support F is 0
    (below a lower bound) or 1 (above an upper bound). NaN parameters give NaN.
    """
    x, loc, scale, shape = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (x, loc, scale, shape))
    )
    z = (x - loc) / scale
    gumbel = np.abs(shape) < _GUMBEL_EPS
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = 1.0 + shape * z
        safe_shape = np.where(gumbel, 1.0, shape)
        frechet_or_weibull = np.exp(-np.power(np.maximum(t, 0.0), -1.0 / safe_shape))
        out = np.where(gumbel, np.exp(-np.exp(-z)), frechet_or_weibull)
    out = np.where((t <= 0) & (shape > 0) & ~gumbel, 0.0, out)
    out = np.where((t <= 0) & (shape < 0) & ~gumbel, 1.0, out)
    return np.where(np.isnan(z) | np.isnan(shape), np.nan, out)


def exceedance_probability(
    value: ArrayLike, loc: ArrayLike, scale: ArrayLike, shape: ArrayLike
) -> NDArray:
    """Return the annual probability that the annual maximum exceeds ``value``.

    Parameters
    ----------
    value : array_like
        Design value, in the units of the fitted annual maxima.
    loc, scale, shape : array_like
        GEV parameters (climate convention for ``shape``), broadcast against ``value``.

    Returns
    -------
    numpy.ndarray
        1 - F(value), in [0, 1].
    """
    return 1.0 - gev_cdf(value, loc, scale, shape)


def return_level(
    loc: ArrayLike, scale: ArrayLike, shape: ArrayLike, return_period: ArrayLike
) -> NDArray:
    """Return the level exceeded on average once every ``return_period`` years.

    Parameters
    ----------
    loc, scale, shape : array_like
        GEV parameters of annual maxima.
    return_period : array_like
        Return period T in years (> 1); broadcast against the parameters.

    Notes
    -----
    z_T = mu - sigma/xi [1 - y^(-xi)] with y = -log(1 - 1/T), and mu - sigma log y for
    xi = 0 (Coles 2001, eq. 3.4).
    """
    loc, scale, shape, period = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (loc, scale, shape, return_period))
    )
    if np.any(period <= 1):
        raise ValueError("return_period: expected years greater than 1")
    y = -np.log1p(-1.0 / period)
    gumbel = np.abs(shape) < _GUMBEL_EPS
    safe_shape = np.where(gumbel, 1.0, shape)
    general = loc - scale / safe_shape * (1.0 - np.power(y, -safe_shape))
    return np.where(gumbel, loc - scale * np.log(y), general)


def annual_probability_by_year(
    p_horizon: ArrayLike, horizon_mid_years: Sequence[float], years: ArrayLike
) -> NDArray:
    """Interpolate annual exceedance probabilities from horizons to calendar years.

    Parameters
    ----------
    p_horizon : array_like, shape (..., n_horizon)
        Annual exceedance probability for each horizon, horizons along the last axis.
    horizon_mid_years : sequence of float, length n_horizon
        Central year of each horizon (ascending), e.g. 2004.5, 2030.5, 2050.5, 2090.5.
    years : array_like, shape (n_year,)
        Calendar years at which to evaluate.

    Returns
    -------
    numpy.ndarray, shape (..., n_year)
        Linear interpolation in time between horizon centres, held constant before the first
        and after the last centre (no extrapolation of trends).
    """
    p = np.asarray(p_horizon, dtype=float)
    mids = np.asarray(horizon_mid_years, dtype=float)
    if p.shape[-1] != mids.size:
        raise ValueError(
            f"p_horizon: expected {mids.size} horizons on the last axis, found {p.shape[-1]}"
        )
    if mids.size > 1 and np.any(np.diff(mids) <= 0):
        raise ValueError("horizon_mid_years: expected strictly ascending years")
    years = np.asarray(years, dtype=float)
    index = np.clip(np.searchsorted(mids, years, side="right") - 1, 0, max(mids.size - 2, 0))
    if mids.size == 1:
        return np.repeat(p, years.size, axis=-1)
    lo, hi = mids[index], mids[index + 1]
    weight = np.clip((years - lo) / (hi - lo), 0.0, 1.0)
    return p[..., index] * (1.0 - weight) + p[..., index + 1] * weight


def design_life_exceedance(annual_probability: ArrayLike, axis: int = -1) -> NDArray:
    """Return the chance of at least one exceedance over a design life.

    Parameters
    ----------
    annual_probability : array_like
        Annual exceedance probability p_t of each year of the design life along ``axis``.
    axis : int
        Axis holding the years.

    Notes
    -----
    P = 1 - prod_t (1 - p_t), assuming independent years (Coles 2001, sec. 4.4.1 / the
    "encounter probability" of design hydrology). Computed as -expm1(sum log1p(-p_t)) for
    accuracy at small p. The sum runs in year order (``cumsum``, not numpy's pairwise sum,
    whose grouping depends on the number of years), so years of p = 0 appended leave the
    result unchanged to the bit: an asset's probability does not depend on the design lives
    of the other assets computed with it, nor on the block of rows it is computed in.
    """
    p = np.clip(np.asarray(annual_probability, dtype=float), 0.0, 1.0)
    if p.shape[axis] == 0:
        return np.zeros(np.delete(p.shape, axis % p.ndim))
    with np.errstate(divide="ignore"):
        return -np.expm1(np.take(np.cumsum(np.log1p(-p), axis=axis), -1, axis=axis))


def gev_nllh(data: ArrayLike, loc: ArrayLike, scale: ArrayLike, shape: ArrayLike) -> NDArray:
    """Return the GEV negative log-likelihood of each series along the last axis.

    Parameters
    ----------
    data : array_like, shape (..., n_sample)
        Annual maxima along the last axis; NaN values are left out.
    loc, scale, shape : array_like, shape (...)
        GEV parameters of each series (climate convention for ``shape``).

    Returns
    -------
    numpy.ndarray, shape (...)
        -log L (dimensionless); +inf when a value lies outside the support or scale <= 0;
        NaN when a parameter is NaN.

    Notes
    -----
    -log L = n log sigma + (1 + 1/xi) sum log t_i + sum t_i^(-1/xi), t_i = 1 + xi (x_i - mu)/sigma,
    and n log sigma + sum z_i + sum exp(-z_i) for xi = 0 (Coles 2001, eq. 3.7-3.9).
    """
    x = np.asarray(data, dtype=float)
    loc, scale, shape = (np.asarray(a, dtype=float)[..., np.newaxis] for a in (loc, scale, shape))
    valid = ~np.isnan(x)
    count = valid.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = (x - loc) / scale
        gumbel = np.abs(shape) < _GUMBEL_EPS
        safe = np.where(gumbel, 1.0, shape)
        t = 1.0 + safe * z
        general = (1.0 + 1.0 / safe) * np.log(t) + np.power(t, -1.0 / safe)
        terms = np.where(gumbel, z + np.exp(-z), general)
        outside = valid & ~gumbel & (t <= 0)
        total = count * np.log(scale[..., 0]) + np.where(valid, terms, 0.0).sum(axis=-1)
    bad = outside.any(axis=-1) | (scale[..., 0] <= 0)
    total = np.where(bad, np.inf, total)
    params_nan = np.isnan(loc[..., 0] + scale[..., 0] + shape[..., 0])
    return np.where(params_nan, np.nan, total)


def return_levels(params: xr.Dataset, return_periods: Sequence[float]) -> xr.DataArray:
    """Return GEV return levels for each return period, lazily for dask parameters.

    Parameters
    ----------
    params : xarray.Dataset
        ``loc``, ``scale`` and ``shape`` variables (as from :func:`fit_gev`) on any dims.
    return_periods : sequence of float
        Return periods in years (> 1).

    Returns
    -------
    xarray.DataArray
        Dims ``("return_period", *params.loc.dims)``, in the units of ``loc``.

    Notes
    -----
    z_T = mu - sigma/xi [1 - (-log(1 - 1/T))^(-xi)] (Coles 2001, eq. 3.4), see
    :func:`return_level`.
    """
    period = xr.DataArray(
        np.asarray(return_periods, dtype=float),
        dims="return_period",
        attrs={"units": "year", "long_name": "return period"},
    )
    if np.any(period.values <= 1):
        raise ValueError(
            f"return_periods: expected years greater than 1, found {list(return_periods)}"
        )
    levels = xr.apply_ufunc(
        return_level,
        params["loc"],
        params["scale"],
        params["shape"],
        period.assign_coords(return_period=period),
        dask="parallelized",
        output_dtypes=[float],
    )
    levels = levels.transpose("return_period", *params["loc"].dims)
    return levels.assign_attrs(
        units=params["loc"].attrs.get("units", "1"), long_name="GEV return level"
    )
