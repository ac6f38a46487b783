"""Extreme-value statistics: GEV fits, distribution functions and design-life probabilities.

Shape convention (used everywhere in this package): ``shape`` is xi of Coles (2001, eq. 3.2),
so xi > 0 is a heavy (Frechet) tail, xi < 0 a bounded (Weibull) tail and xi = 0 the Gumbel
case. scipy's ``genextreme`` uses ``c = -xi``.

References
----------
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer.
Hosking, J. R. M. (1990). L-moments. J. R. Stat. Soc. B 52, 105-124.
Hosking, J. R. M. & Wallis, J. R. (1997). Regional Frequency Analysis. Cambridge UP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, overload

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from hazard_models.gev_mle import ShapePrior, fit_gev_mle, gev_information
from hazard_models.layer import append_history
from hazard_models.lmoments import gev_from_lmoments, sample_lmoments

__all__ = [
    "FIT_STATUSES",
    "FitMethod",
    "annual_probability_by_year",
    "design_life_exceedance",
    "exceedance_probability",
    "fit_gev",
    "gev_cdf",
    "gev_nllh",
    "return_level",
    "return_levels",
]

FitMethod = Literal["lmoments", "mle", "pmle"]
#: Values of the per-series ``status`` returned by :func:`fit_gev`.
FIT_STATUSES: tuple[str, ...] = ("ok", "too_short", "constant", "nan")
_STATUS_DTYPE = "<U9"
_METHOD_TEXT = {
    "lmoments": "GEV by L-moments (Hosking 1990; Hosking & Wallis 1997, app. A, GEV); "
    "shape clipped to [-0.5, 0.5]",
    "mle": "GEV by maximum likelihood (Coles 2001, sec. 3.3) started from L-moments "
    "(Hosking 1990); shape bounded to [-0.5, 0.5]",
    "pmle": "GEV by penalised maximum likelihood with the Beta(6, 9) geophysical shape prior "
    "(Martins & Stedinger 2000) started from L-moments (Hosking 1990)",
}
_PARAMETERS = ("loc", "scale", "shape")

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
    accuracy at small p.
    """
    p = np.clip(np.asarray(annual_probability, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return -np.expm1(np.sum(np.log1p(-p), axis=axis))


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


def _series_status(values: NDArray, count: NDArray, min_samples: int) -> NDArray:
    """Return the per-series fit status (see :data:`FIT_STATUSES`)."""
    valid = ~np.isnan(values)
    spread = np.where(valid, values, -np.inf).max(axis=-1, initial=-np.inf) - np.where(
        valid, values, np.inf
    ).min(axis=-1, initial=np.inf)
    status = np.full(count.shape, "ok", dtype=_STATUS_DTYPE)
    status[spread == 0] = "constant"
    status[count < min_samples] = "too_short"
    status[count == 0] = "nan"
    return status


def _fit_last_axis(
    data: NDArray, method: FitMethod, min_samples: int, return_cov: bool = False
) -> tuple[NDArray, ...]:
    """Fit every series along the last axis; return loc, scale, shape, nllh, status[, cov]."""
    values = np.asarray(data, dtype=float)
    values = np.where(np.isfinite(values), values, np.nan)
    l1, l2, t3, count = sample_lmoments(values)
    status = _series_status(values, count, min_samples)
    ok = status == "ok"
    params = np.stack(gev_from_lmoments(l1, l2, t3), axis=-1)
    params[~ok] = np.nan
    prior: ShapePrior = "martins_stedinger" if method == "pmle" else "none"
    if method != "lmoments" and ok.any():
        fit = fit_gev_mle(values[ok], params[ok], prior=prior)
        params[ok] = np.stack([fit[name] for name in _PARAMETERS], axis=-1)
    loc, scale, shape = params[..., 0], params[..., 1], params[..., 2]
    outputs = (loc, scale, shape, gev_nllh(values, loc, scale, shape), status)
    if not return_cov:
        return outputs
    return (*outputs, _covariance(values, params, prior))


def _covariance(values: NDArray, params: NDArray, prior: ShapePrior) -> NDArray:
    """Return the inverse observed information, NaN where it is not positive definite."""
    information = gev_information(values, *np.moveaxis(params, -1, 0), prior=prior)
    finite = np.isfinite(information).all(axis=(-2, -1))
    safe = np.where(finite[..., None, None], information, np.eye(3))
    positive = np.linalg.eigvalsh(safe)[..., 0] > 0
    cov = np.linalg.inv(np.where(positive[..., None, None], safe, np.eye(3)))
    return np.where((finite & positive)[..., None, None], cov, np.nan)


@overload
def fit_gev(
    data: xr.DataArray,
    *,
    method: FitMethod = ...,
    dim: str = ...,
    min_samples: int = ...,
    return_cov: bool = ...,
    covariate: ArrayLike | xr.DataArray | None = ...,
) -> xr.Dataset: ...
@overload
def fit_gev(
    data: ArrayLike,
    *,
    method: FitMethod = ...,
    dim: str = ...,
    min_samples: int = ...,
    return_cov: bool = ...,
    covariate: ArrayLike | xr.DataArray | None = ...,
) -> dict[str, NDArray]: ...
def fit_gev(
    data: xr.DataArray | ArrayLike,
    *,
    method: FitMethod = "lmoments",
    dim: str = "year",
    min_samples: int = 10,
    return_cov: bool = False,
    covariate: ArrayLike | xr.DataArray | None = None,
) -> xr.Dataset | dict[str, NDArray]:
    """Fit a GEV distribution to every series at once.

    Parameters
    ----------
    data : xarray.DataArray or array_like
        Annual maxima (any units). A numpy array holds the sample on its LAST axis; a
        DataArray holds it on ``dim`` and may be dask-backed (the fit stays lazy).
        NaN and +-inf are treated as missing values and left out of their series.
    method : {"lmoments", "mle", "pmle"}
        "lmoments" (default): L-moment estimates. "mle": maximum likelihood by vectorised
        Newton-Raphson started from the L-moment estimates (:mod:`hazard_models.gev_mle`).
        "pmle": penalised MLE with the Beta(6, 9) geophysical shape prior of Martins &
        Stedinger (2000), for short records. All three are vectorised over series.
    dim : str
        Sample dim of a DataArray input, e.g. ``"year"``; ignored for numpy input.
    min_samples : int
        Series with fewer valid values get NaN parameters and status "too_short" (>= 3).
    return_cov : bool
        Also return ``cov``: the inverse observed information of (loc, scale, shape) at the
        estimate, shape (..., 3, 3) for numpy input, dims (..., "parameter_row",
        "parameter_column") for a DataArray; NaN where the information is not positive
        definite. For "pmle" it includes the prior's curvature (posterior-mode covariance);
        for "lmoments" it is the MLE approximation evaluated at the L-moment estimate.
    covariate : array_like or xarray.DataArray, optional
        If given, fit the non-stationary GEV with location ``loc0 + loc1 x covariate`` by
        MLE instead (:func:`hazard_models.nonstationary.fit_gev_nonstationary`, whose
        outputs are returned: ``loc0``, ``loc1``, ``scale``, ``shape``, ``nllh``,
        ``status``, ``covariance``); ``method`` must then be "mle".

    Returns
    -------
    xarray.Dataset or dict of numpy.ndarray
        ``loc``, ``scale`` (data units), ``shape`` (xi, climate convention: xi > 0 heavy
        tail; scipy's c = -xi), ``nllh`` (negative log-likelihood at the estimate, without
        the prior for "pmle"; +inf when an L-moment fit leaves an observation outside its
        support) and ``status`` ("ok", "too_short", "constant" or "nan" = no valid value),
        plus ``cov`` if asked. Dims or shape: those of ``data`` without the sample axis.
        A bad series never raises: its parameters are NaN.

    Raises
    ------
    ValueError
        If ``method`` or ``min_samples`` is invalid, or ``dim`` is not a dim of ``data``.

    Notes
    -----
    The shape is bounded to [-0.5, 0.5] (:data:`hazard_models.lmoments.SHAPE_BOUNDS`):
    with 20-100 maxima per series, estimates beyond it are dominated by sampling noise
    (Hosking & Wallis 1997, app. A, GEV; Coles 2001, sec. 3.3).
    """
    if method not in ("lmoments", "mle", "pmle"):
        raise ValueError(
            f"fit_gev: method: expected 'lmoments' or 'mle' (or 'pmle'), found {method!r}"
        )
    if min_samples < 3:
        raise ValueError(f"fit_gev: min_samples: expected at least 3, found {min_samples}")
    if covariate is not None:
        if method != "mle":
            raise ValueError(f"fit_gev: a covariate needs method 'mle', found {method!r}")
        from hazard_models.nonstationary import fit_gev_nonstationary  # imports this module

        return fit_gev_nonstationary(data, covariate, min_samples=min_samples, dim=dim)
    if isinstance(data, xr.DataArray):
        return _fit_dataarray(data, method, dim, min_samples=min_samples, return_cov=return_cov)
    names = ("loc", "scale", "shape", "nllh", "status", "cov")
    outputs = _fit_last_axis(np.asarray(data), method, min_samples, return_cov)
    return dict(zip(names, outputs, strict=False))


def _fit_dataarray(
    data: xr.DataArray, method: FitMethod, dim: str, *, min_samples: int, return_cov: bool
) -> xr.Dataset:
    """Lift :func:`_fit_last_axis` over a (possibly dask) DataArray with ``apply_ufunc``."""
    if dim not in data.dims:
        raise ValueError(f"fit_gev: expected the sample dim {dim!r} in data, found {data.dims}")
    if data.chunks is not None:
        data = data.chunk({dim: -1})  # the fit needs each whole series in one chunk
    cov_dims = ["parameter_row", "parameter_column"]
    outputs = xr.apply_ufunc(
        _fit_last_axis,
        data,
        input_core_dims=[[dim]],
        output_core_dims=[[]] * 5 + ([cov_dims] if return_cov else []),
        dask="parallelized",
        output_dtypes=[float, float, float, float, np.dtype(_STATUS_DTYPE)]
        + ([float] if return_cov else []),
        dask_gufunc_kwargs={"output_sizes": dict.fromkeys(cov_dims, 3) if return_cov else {}},
        kwargs={"method": method, "min_samples": min_samples, "return_cov": return_cov},
    )
    units = data.attrs.get("units", "1")
    attrs = {
        "loc": {"units": units, "long_name": "GEV location parameter"},
        "scale": {"units": units, "long_name": "GEV scale parameter"},
        "shape": {"units": "1", "long_name": "GEV shape parameter xi (xi > 0: heavy tail)"},
        "nllh": {"units": "1", "long_name": "GEV negative log-likelihood at the estimate"},
        "status": {"long_name": "fit status", "flag_meanings": " ".join(FIT_STATUSES)},
        "cov": {"long_name": "covariance of (loc, scale, shape), inverse observed information"},
    }
    result = xr.Dataset(
        {name: out.assign_attrs(attrs[name]) for name, out in zip(attrs, outputs, strict=False)}
    )
    if return_cov:
        result = result.assign_coords({name: list(_PARAMETERS) for name in cov_dims})
    for name in ("loc", "scale", "shape", "nllh", *(["cov"] if return_cov else [])):
        result[name].attrs["method"] = _METHOD_TEXT[method]
    append_history(result.attrs, f"fit_gev: {_METHOD_TEXT[method]}, sample dim {dim!r}")
    return result


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
