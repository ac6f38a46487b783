"""Generalized Pareto (GPD) fits to peaks over a threshold, vectorised over many series.

Holds :func:`fit_gpd` (L-moment or maximum-likelihood fits of numpy arrays or, lazily, of
dask-backed DataArrays), the L-moment estimates that also start the likelihood fit, and the
return levels (:func:`gpd_return_level`) with their delta-method variance
(:func:`gpd_return_level_variance`). The likelihood, its derivatives, the covariance of the
estimate and the Newton iteration are in :mod:`hazard_models.extremes.gpd_mle`.

Shape convention: ``shape`` is xi of Coles (2001, eq. 4.2), xi > 0 a heavy tail, as for the
GEV in :mod:`hazard_models.extremes`; scipy's ``genpareto`` uses the same sign (c = xi), and
Hosking's k is -xi.

For threshold u, the excesses y = x - u of the exceedances x > u follow
H(y) = 1 - (1 + xi y / sigma)^(-1/xi) (Coles 2001, eq. 4.2). The exceedance rate
zeta_u = P(X > u) is estimated by the fraction of observations above u (Coles 2001, sec. 4.4.1).

References
----------
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer.
Hosking, J. R. M. & Wallis, J. R. (1997). Regional Frequency Analysis. Cambridge UP, app. A.5.
"""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from hazard_models.extremes.gev_fit import FIT_STATUSES
from hazard_models.extremes.gpd_mle import fit_gpd_mle, gpd_nllh
from hazard_models.extremes.lmoments import AT_BOUND_TOL, SHAPE_BOUNDS, sample_lmoments
from hazard_models.layer import append_history

__all__ = [
    "GpdMethod",
    "fit_gpd",
    "gpd_return_level",
    "gpd_return_level_variance",
]

GpdMethod = Literal["mle", "lmoments"]
_STATUS_DTYPE = "<U9"
_EXPONENTIAL_EPS = 1e-6  # |xi| below this is the exponential (xi -> 0) limit, as in gpd_mle
_METHOD_TEXT = {
    "lmoments": "GPD by L-moments with known lower bound (Hosking & Wallis 1997, app. A.5); "
    "shape clipped to [-0.5, 0.5]",
    "mle": "GPD by maximum likelihood (Coles 2001, sec. 4.3.2), vectorised Newton started "
    "from L-moments (Hosking & Wallis 1997, app. A.5); shape bounded to [-0.5, 0.5]",
}


def _lmoment_start(y: NDArray) -> tuple[NDArray, NDArray]:
    """Return GPD (scale, shape) from L-moments with the lower bound known (zero).

    Hosking & Wallis (1997, app. A.5), lower bound xi_H = 0 known: k = l1/l2 - 2 and
    alpha = (1 + k) l1; shape = -k clipped to SHAPE_BOUNDS, scale = (1 - shape) l1 so that
    the mean still matches.
    """
    l1, l2, _, _ = sample_lmoments(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        shape = np.clip(2.0 - l1 / l2, *SHAPE_BOUNDS)
    return (1.0 - shape) * l1, shape


def _excesses(values: NDArray, threshold: NDArray) -> NDArray:
    """Return excesses over ``threshold`` packed to the front of the last axis (NaN-padded)."""
    with np.errstate(invalid="ignore"):
        y = np.where(
            values > threshold[..., np.newaxis], values - threshold[..., np.newaxis], np.nan
        )
    y = np.sort(y, axis=-1)  # NaN sorts last
    width = max(int((~np.isnan(y)).sum(axis=-1).max(initial=0)), 1)
    return y[..., :width]


def _status(n_valid: NDArray, y: NDArray, n_exceed: NDArray, minimum: int) -> NDArray:
    """Return the per-series status: ok, too_short, constant or nan (see FIT_STATUSES)."""
    spread = np.nanmax(np.where(np.isnan(y), -np.inf, y), axis=-1) - np.nanmin(
        np.where(np.isnan(y), np.inf, y), axis=-1
    )
    status = np.full(n_valid.shape, "ok", dtype=_STATUS_DTYPE)
    status[spread == 0] = "constant"
    status[n_exceed < minimum] = "too_short"
    status[n_valid == 0] = "nan"
    return status


def _fit_last_axis(
    data: NDArray, threshold: NDArray, method: GpdMethod, min_exceedances: int
) -> tuple[NDArray, ...]:
    """Fit every series along the last axis; return the seven outputs of :func:`fit_gpd`."""
    values = np.asarray(data, dtype=float)
    values = np.where(np.isfinite(values), values, np.nan)
    threshold = np.broadcast_to(np.asarray(threshold, dtype=float), values.shape[:-1])
    n_valid = (~np.isnan(values)).sum(axis=-1)
    y = _excesses(values, threshold)
    n_exceed = (~np.isnan(y)).sum(axis=-1)
    status = _status(n_valid, y, n_exceed, min_exceedances)
    status[np.isnan(threshold) & (n_valid > 0)] = "nan"
    ok = status == "ok"
    y_ok = np.where(ok[..., np.newaxis], y, np.nan)
    scale, shape = _lmoment_start(y_ok)
    if method == "mle" and ok.any():
        scale, shape = fit_gpd_mle(y_ok, scale, shape, ok=ok)
    scale, shape = np.where(ok, scale, np.nan), np.where(ok, shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n_valid > 0, n_exceed / n_valid, np.nan)
    nllh = gpd_nllh(y_ok, scale, shape)
    return scale, shape, threshold.copy(), rate, n_exceed, nllh, status


_OUTPUT_NAMES = ("scale", "shape", "threshold", "rate", "n_exceed", "nllh", "status")


@overload
def fit_gpd(
    data: xr.DataArray,
    *,
    threshold: float | xr.DataArray,
    method: GpdMethod = ...,
    dim: str = ...,
    min_exceedances: int = ...,
) -> xr.Dataset: ...
@overload
def fit_gpd(
    data: ArrayLike,
    *,
    threshold: ArrayLike,
    method: GpdMethod = ...,
    dim: str = ...,
    min_exceedances: int = ...,
) -> dict[str, NDArray]: ...
def fit_gpd(
    data: xr.DataArray | ArrayLike,
    *,
    threshold: ArrayLike | xr.DataArray,
    method: GpdMethod = "mle",
    dim: str = "time",
    min_exceedances: int = 10,
) -> xr.Dataset | dict[str, NDArray]:
    """Fit a GPD to the excesses over ``threshold`` of every series at once.

    Parameters
    ----------
    data : xarray.DataArray or array_like
        Observations (e.g. daily rain, mm/day). A numpy array holds each series on its LAST
        axis; a DataArray holds it on ``dim`` and may be dask-backed (the fit stays lazy).
        NaN and +-inf are missing values. Decluster first (see
        :func:`hazard_models.extremes.threshold.decluster_runs`) if exceedances come in clusters.
    threshold : float, array_like or xarray.DataArray
        Threshold u in data units: a scalar, or one per series (broadcast against the data
        without its sample axis). Exceedances are values strictly above u.
    method : {"mle", "lmoments"}
        "mle" (default): maximum likelihood by a Newton iteration on all series at once,
        started from L-moments; series it leaves unconverged fall back to one scipy
        Nelder-Mead each. "lmoments": L-moment estimates only.
    dim : str
        Sample dim of a DataArray input; ignored for numpy input.
    min_exceedances : int
        Series with fewer exceedances get NaN parameters and status "too_short" (>= 3).

    Returns
    -------
    xarray.Dataset or dict of numpy.ndarray
        ``scale`` (sigma, data units), ``shape`` (xi, xi > 0 heavy tail, bounded to
        [-0.5, 0.5]), ``threshold`` (u, data units), ``rate`` (zeta_u, exceedances per
        valid observation), ``n_exceed`` (count), ``nllh`` (-log L of the excesses; +inf when
        an L-moment fit leaves an excess outside its support) and ``status`` ("ok",
        "too_short", "constant" = all excesses equal, "nan" = no valid value or NaN
        threshold), and the boolean ``shape_at_bound`` (True where the shape sits on -0.5
        or 0.5: not a likelihood maximum, so the observed information is not a covariance;
        for "lmoments" the shape was clipped there; ``status`` stays "ok" because the
        parameters exist; see :mod:`hazard_models.extremes.shape_bound` to refit one series
        without the bound), and for "lmoments" ``shape_clipped`` (the same flag). Shape or
        dims: those of ``data`` without the sample axis. A bad series never raises: its
        parameters are NaN.

    Raises
    ------
    ValueError
        If ``method`` or ``min_exceedances`` is invalid, or ``dim`` is not in ``data``.

    Notes
    -----
    -log L of Coles (2001, eq. 4.10); the Newton step uses the analytic gradient and Hessian
    (see :func:`hazard_models.extremes.gpd_mle.gpd_covariance`). The shape bound follows
    :data:`hazard_models.extremes.lmoments.SHAPE_BOUNDS`; the GPD MLE is irregular for xi < -0.5
    (Coles 2001, sec. 4.3.2).
    """
    if method not in ("mle", "lmoments"):
        raise ValueError(f"fit_gpd: method: expected 'mle' or 'lmoments', found {method!r}")
    if min_exceedances < 3:
        raise ValueError(f"fit_gpd: min_exceedances: expected at least 3, found {min_exceedances}")
    if isinstance(data, xr.DataArray):
        return _add_bound_flags(
            _fit_dataarray(data, threshold, method, dim, min_exceedances), method
        )
    values = np.asarray(data, dtype=float)
    if values.ndim == 0:
        raise ValueError("fit_gpd: data: expected at least one sample axis, found a scalar")
    outputs = _fit_last_axis(values, np.asarray(threshold, dtype=float), method, min_exceedances)
    return _add_bound_flags(dict(zip(_OUTPUT_NAMES, outputs, strict=True)), method)


@overload
def _add_bound_flags(result: xr.Dataset, method: GpdMethod) -> xr.Dataset: ...
@overload
def _add_bound_flags(result: dict[str, NDArray], method: GpdMethod) -> dict[str, NDArray]: ...
def _add_bound_flags(
    result: xr.Dataset | dict[str, NDArray], method: GpdMethod
) -> xr.Dataset | dict[str, NDArray]:
    """Add ``shape_at_bound`` (and ``shape_clipped`` for L-moments): xi on -0.5 or 0.5."""
    shape: Any = result["shape"]  # a numpy array or a (lazy) DataArray
    with np.errstate(invalid="ignore"):
        flag = (abs(shape) >= SHAPE_BOUNDS[1] - AT_BOUND_TOL) & (result["status"] == "ok")
    names = ["shape_at_bound"] + (["shape_clipped"] if method == "lmoments" else [])
    for name in names:
        if isinstance(result, xr.Dataset):
            text = "shape on its bound [-0.5, 0.5]: not a likelihood maximum; delta invalid"
            result[name] = flag.assign_attrs(long_name=text, units="1")
        else:
            result[name] = np.asarray(flag)
    return result


def _fit_dataarray(
    data: xr.DataArray,
    threshold: ArrayLike | xr.DataArray,
    method: GpdMethod,
    dim: str,
    min_exceedances: int,
) -> xr.Dataset:
    """Lift :func:`_fit_last_axis` over a (possibly dask) DataArray with ``apply_ufunc``."""
    if dim not in data.dims:
        raise ValueError(f"fit_gpd: expected the sample dim {dim!r} in data, found {data.dims}")
    if data.chunks is not None:
        data = data.chunk({dim: -1})  # each whole series must sit in one chunk
    outputs = xr.apply_ufunc(
        _fit_last_axis,
        data,
        threshold if isinstance(threshold, xr.DataArray) else float(np.asarray(threshold)),
        input_core_dims=[[dim], []],
        output_core_dims=[[]] * 7,
        dask="parallelized",
        output_dtypes=[float, float, float, float, int, float, np.dtype(_STATUS_DTYPE)],
        kwargs={"method": method, "min_exceedances": min_exceedances},
    )
    units = data.attrs.get("units", "1")
    attrs = {
        "scale": {"units": units, "long_name": "GPD scale parameter sigma"},
        "shape": {"units": "1", "long_name": "GPD shape parameter xi (xi > 0: heavy tail)"},
        "threshold": {"units": units, "long_name": "GPD threshold u"},
        "rate": {"units": "1", "long_name": "exceedances per valid observation (zeta_u)"},
        "n_exceed": {"units": "1", "long_name": "number of exceedances"},
        "nllh": {"units": "1", "long_name": "GPD negative log-likelihood at the estimate"},
        "status": {"long_name": "fit status", "flag_meanings": " ".join(FIT_STATUSES)},
    }
    result = xr.Dataset(
        {name: out.assign_attrs(attrs[name]) for name, out in zip(attrs, outputs, strict=True)}
    )
    for name in ("scale", "shape", "nllh"):
        result[name].attrs["method"] = _METHOD_TEXT[method]
    append_history(result.attrs, f"fit_gpd: {_METHOD_TEXT[method]}, sample dim {dim!r}")
    return result


def gpd_return_level(
    scale: ArrayLike,
    shape: ArrayLike,
    threshold: ArrayLike,
    rate: ArrayLike,
    return_period: ArrayLike,
    *,
    per_year: float,
) -> NDArray:
    """Return the level exceeded on average once every ``return_period`` years.

    Parameters
    ----------
    scale, shape : array_like
        GPD sigma (data units) and xi.
    threshold : array_like
        Threshold u (data units).
    rate : array_like
        zeta_u = P(X > u) per observation (``rate`` of :func:`fit_gpd`).
    return_period : array_like
        Return period in years; all arguments broadcast together.
    per_year : float
        Observations per year n_y (365 for daily data, as in Coles 2001, sec. 4.4.1).

    Returns
    -------
    numpy.ndarray
        x_m in data units; NaN where m zeta_u <= 1 (the level would lie below u).

    Notes
    -----
    x_m = u + sigma/xi [(m zeta_u)^xi - 1], and u + sigma log(m zeta_u) for xi = 0, with
    m = return_period x per_year observations (Coles 2001, eq. 4.13-4.14).
    """
    scale, shape, u, zeta, period = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (scale, shape, threshold, rate, return_period))
    )
    if per_year <= 0:
        raise ValueError(f"per_year: expected a positive number of observations, found {per_year}")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mz = np.log(period * per_year * zeta)
        exponential = np.abs(shape) < _EXPONENTIAL_EPS
        safe = np.where(exponential, 1.0, shape)
        level = np.where(
            exponential, u + scale * log_mz, u + scale / safe * np.expm1(safe * log_mz)
        )
    return np.where(log_mz > 0, level, np.nan)


def gpd_return_level_variance(
    scale: ArrayLike,
    shape: ArrayLike,
    rate: ArrayLike,
    *,
    return_period: ArrayLike,
    per_year: float,
    covariance: ArrayLike,
    n_observations: ArrayLike,
) -> NDArray:
    """Return the delta-method variance of the GPD return level.

    Parameters
    ----------
    scale, shape, rate : array_like
        GPD sigma (data units), xi and zeta_u (per observation).
    return_period : array_like
        Return period in years; broadcast against the parameters.
    per_year : float
        Observations per year.
    covariance : array_like, shape (..., 2, 2)
        Covariance of (sigma, xi), e.g. from
        :func:`hazard_models.extremes.gpd_mle.gpd_covariance`.
    n_observations : array_like
        Number of valid observations n behind ``rate``.

    Returns
    -------
    numpy.ndarray
        var(x_m) in data units squared. A 95 % interval is x_m -+ 1.96 sqrt(var).

    Notes
    -----
    Coles (2001, sec. 4.4.1): var(x_m) = grad^T V grad with V = diag-block
    [zeta_u (1 - zeta_u)/n; cov(sigma, xi)] (zeta_u independent of (sigma, xi)) and
    grad = [sigma m^xi zeta^(xi-1), ((m zeta)^xi - 1)/xi,
    -sigma ((m zeta)^xi - 1)/xi^2 + sigma (m zeta)^xi log(m zeta)/xi]; for xi -> 0 the last
    two are log(m zeta) and sigma log(m zeta)^2 / 2.
    """
    cov = np.asarray(covariance, dtype=float)
    sigma, xi, zeta, period, n = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (scale, shape, rate, return_period, n_observations))
    )
    m = period * per_year
    log_mz = np.log(m * zeta)
    exponential = np.abs(xi) < _EXPONENTIAL_EPS
    safe = np.where(exponential, 1.0, xi)
    power = np.exp(safe * log_mz)  # (m zeta)^xi
    d_zeta = sigma * np.exp(np.where(exponential, 0.0, xi) * np.log(m) + (xi - 1) * np.log(zeta))
    d_zeta = np.where(exponential, sigma / zeta, d_zeta)
    d_sigma = np.where(exponential, log_mz, (power - 1.0) / safe)
    d_xi = np.where(
        exponential,
        sigma * log_mz**2 / 2.0,
        -sigma * (power - 1.0) / safe**2 + sigma * power * log_mz / safe,
    )
    var_zeta = zeta * (1.0 - zeta) / n
    block = (
        d_sigma**2 * cov[..., 0, 0]
        + 2.0 * d_sigma * d_xi * cov[..., 0, 1]
        + d_xi**2 * cov[..., 1, 1]
    )
    return d_zeta**2 * var_zeta + block
