"""Non-stationary GEV: location (and optionally log-scale) linear in a covariate.

Model (Coles 2001, sec. 6.2, eq. 6.2-6.4)::

    Z_t ~ GEV(mu(t), sigma(t), xi),  mu(t) = loc0 + loc1 x_t,
    sigma(t) = scale                           (log_scale=False)
    log sigma(t) = scale0 + scale1 x_t         (log_scale=True)

where x_t is a covariate such as the year or the global-mean warming. Parameters are fitted
by maximum likelihood, vectorised over all series at once with damped Newton steps
(Levenberg-Marquardt), started from the stationary L-moment fit of
:func:`hazard_models.extremes.gev_fit.fit_gev` refined to the stationary MLE by the same Newton
solver. Models are compared by AIC and by the deviance (likelihood-ratio) statistic
D = 2 (l_1 - l_0), referred to chi-square with as many degrees of freedom as added
parameters (Coles 2001, sec. 2.6.6 and 6.2).

Shape convention: ``shape`` is xi of Coles (2001, eq. 3.2), xi > 0 a heavy tail (scipy's
``c`` is -xi); it is bounded to :data:`hazard_models.extremes.lmoments.SHAPE_BOUNDS`.

References
----------
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer.
Marquardt, D. W. (1963). An algorithm for least-squares estimation of nonlinear parameters.
J. SIAM 11, 431-441 (the damping of the Newton steps).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from hazard_models.extremes.gev import exceedance_probability, return_level
from hazard_models.extremes.gev_estimate import fit_last_axis
from hazard_models.extremes.nonstationary_newton import model_nllh as _model_nllh
from hazard_models.extremes.nonstationary_newton import newton as _newton
from hazard_models.layer import append_history

__all__ = [
    "NONSTATIONARY_STATUSES",
    "annual_exceedance_nonstationary",
    "compare_to_stationary",
    "effective_return_level",
    "fit_gev_nonstationary",
]

#: Values of ``status``: those of ``fit_gev`` plus "constant_covariate" (the covariate does not
#: vary over the valid values, so loc1 is not identifiable) and "not_converged".
NONSTATIONARY_STATUSES: tuple[str, ...] = (
    "ok",
    "too_short",
    "constant",
    "nan",
    "constant_covariate",
    "not_converged",
)
_STATUS_DTYPE = "<U18"
_METHOD_TEXT = (
    "non-stationary GEV by maximum likelihood (Coles 2001, sec. 6.2), location linear in the "
    "covariate; vectorised damped Newton (Marquardt 1963) from the L-moment fit (Hosking 1990)"
)


def _parameter_names(log_scale: bool) -> tuple[str, ...]:
    """Return the names of the fitted parameters, in covariance order."""
    return (
        ("loc0", "loc1", "scale0", "scale1", "shape")
        if log_scale
        else (
            "loc0",
            "loc1",
            "scale",
            "shape",
        )
    )


def _prepare(
    data: ArrayLike, covariate: ArrayLike, min_samples: int
) -> tuple[NDArray, NDArray, dict[str, NDArray]]:
    """Mask missing values, take the stationary L-moment fit and set the per-series status."""
    values = np.asarray(data, dtype=float)
    try:
        cov = np.broadcast_to(np.asarray(covariate, dtype=float), values.shape)
    except ValueError as error:
        raise ValueError(
            f"covariate: expected shape {values.shape[-1:]} or {values.shape} (the sample "
            f"axis of data), found {np.shape(covariate)}"
        ) from error
    mask = np.isfinite(values) & np.isfinite(cov)
    values, cov = np.where(mask, values, np.nan), np.where(mask, cov, np.nan)
    names = ("loc", "scale", "shape", "nllh", "status")
    start = dict(zip(names, fit_last_axis(values, "lmoments", min_samples), strict=True))
    with np.errstate(invalid="ignore"):
        spread = np.nanmax(np.where(mask, cov, -np.inf), axis=-1) - np.nanmin(
            np.where(mask, cov, np.inf), axis=-1
        )
    status = start["status"].astype(_STATUS_DTYPE)
    status[(status == "ok") & ~(spread > 0)] = "constant_covariate"
    start["status"] = status
    return values, cov, start


def _standardise(
    values: NDArray, cov: NDArray, start: Mapping[str, NDArray]
) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """Return data and covariate scaled to order one, and the scaling (m, s, cm, cs).

    x' = (x - m) / s with (m, s) the L-moment location and scale; c' = (c - cm) / cs with the
    covariate's mean and standard deviation. Series that are not fitted get x' = NaN, which
    contributes zero NLL, so they never move.
    """
    ok = start["status"] == "ok"
    m = np.where(ok, start["loc"], 0.0)
    s = np.where(ok, start["scale"], 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cm = np.where(ok, np.nanmean(np.where(ok[..., None], cov, 0.0), axis=-1), 0.0)
        cs = np.where(ok, np.nanstd(np.where(ok[..., None], cov, 1.0), axis=-1), 1.0)
        x = np.where(ok[..., None], (values - m[..., None]) / s[..., None], np.nan)
        c = (cov - cm[..., None]) / cs[..., None]
    return x, np.where(np.isfinite(c), c, 0.0), m, s, np.stack([cm, cs])


def _start(x: NDArray, c: NDArray, shape: NDArray, log_scale: bool) -> NDArray:
    """Return standardised starting values: the L-moment fit, or Gumbel if it misses data."""
    p = 5 if log_scale else 4
    theta = np.zeros(shape.shape + (p,))
    theta[..., -1] = np.where(np.isfinite(shape), shape, 0.0)
    outside = ~np.isfinite(_model_nllh(theta, x, c, log_scale))
    theta[..., -1] = np.where(outside, 0.0, theta[..., -1])  # Gumbel support is all of R
    return theta


def _covariance(hess: NDArray, jacobian: NDArray, ok: NDArray) -> NDArray:
    """Return J H^-1 J^T (observed-information covariance, Coles 2001, sec. 2.6.4)."""
    eye = np.eye(hess.shape[-1])
    safe = np.where(ok[..., None, None] & np.isfinite(hess), hess, eye)
    try:
        inverse = np.linalg.inv(safe)
    except np.linalg.LinAlgError:
        inverse = np.linalg.pinv(safe)
    out = jacobian @ inverse @ np.swapaxes(jacobian, -1, -2)
    return np.where(ok[..., None, None], out, np.nan)


def _to_original(
    theta: NDArray, m: NDArray, s: NDArray, cov_scaling: NDArray, log_scale: bool
) -> tuple[NDArray, NDArray]:
    """Map standardised parameters to data units; return them and the Jacobian d orig/d std.

    mu = m + s (a0 + a1 (c - cm)/cs) gives loc1 = s a1/cs and loc0 = m + s a0 - loc1 cm;
    log sigma = log s + b0 + b1 (c - cm)/cs gives scale1 = b1/cs, scale0 = log s + b0 - scale1 cm.
    """
    cm, cs = cov_scaling
    p = theta.shape[-1]
    jac = np.zeros(theta.shape + (p,))
    jac[..., 0, 0], jac[..., 0, 1] = s, -s * cm / cs
    jac[..., 1, 1] = s / cs
    jac[..., -1, -1] = 1.0
    out = np.empty_like(theta)
    out[..., 1] = s * theta[..., 1] / cs
    out[..., 0] = m + s * theta[..., 0] - out[..., 1] * cm
    out[..., -1] = theta[..., -1]
    if log_scale:
        out[..., 3] = theta[..., 3] / cs
        out[..., 2] = np.log(s) + theta[..., 2] - out[..., 3] * cm
        jac[..., 2, 2], jac[..., 2, 3], jac[..., 3, 3] = 1.0, -cm / cs, 1.0 / cs
    else:
        out[..., 2] = s * np.exp(theta[..., 2])
        jac[..., 2, 2] = out[..., 2]  # delta method: d sigma / d log sigma = sigma
    return out, jac


def _fit_both(
    data: ArrayLike, covariate: ArrayLike, log_scale: bool, min_samples: int
) -> dict[str, NDArray]:
    """Fit the stationary and the non-stationary model to every series (numpy core)."""
    values, cov, start = _prepare(data, covariate, min_samples)
    x, c, m, s, cov_scaling = _standardise(values, cov, start)
    theta = _start(x, c, start["shape"], log_scale)
    stationary = np.array([True, False, True] + [False] * log_scale + [True])
    theta0, nllh0, _, converged0 = _newton(theta, x, c, log_scale=log_scale, free=stationary)
    theta1, nllh1, hess, converged1 = _newton(
        theta0, x, c, log_scale=log_scale, free=np.ones(theta.shape[-1], dtype=bool)
    )
    status = start["status"]
    status[(status == "ok") & ~(converged0 & converged1)] = "not_converged"
    ok = status == "ok"
    params, jac = _to_original(theta1, m, s, cov_scaling, log_scale)
    params0, _ = _to_original(theta0, m, s, cov_scaling, log_scale)
    count = np.isfinite(x).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = count * np.log(s)  # NLL of x = m + s x' adds n log s
    result = {
        name: np.where(ok, params[..., i], np.nan)
        for i, name in enumerate(_parameter_names(log_scale))
    }
    result["nllh"] = np.where(ok, nllh1 + shift, np.nan)
    result["status"] = status
    result["covariance"] = _covariance(hess, jac, ok)
    result["stationary_loc"] = np.where(ok, params0[..., 0], np.nan)
    result["stationary_scale"] = np.where(
        ok, np.exp(params0[..., 2]) if log_scale else params0[..., 2], np.nan
    )
    result["stationary_shape"] = np.where(ok, params0[..., -1], np.nan)
    result["stationary_nllh"] = np.where(ok, nllh0 + shift, np.nan)
    return result


def _check_options(min_samples: int) -> None:
    """Raise ValueError for an invalid ``min_samples``."""
    if min_samples < 4:
        raise ValueError(f"min_samples: expected at least 4, found {min_samples}")


def _apply_dataarray(
    data: xr.DataArray, covariate: ArrayLike | xr.DataArray, dim: str, kwargs: dict[str, Any]
) -> xr.Dataset:
    """Lift :func:`_fit_both` over a (possibly dask) DataArray with ``apply_ufunc``."""
    if dim not in data.dims:
        raise ValueError(f"expected the sample dim {dim!r} in data, found {data.dims}")
    if not isinstance(covariate, xr.DataArray):
        covariate = xr.DataArray(np.asarray(covariate, dtype=float), dims=dim)
    if data.chunks is not None:
        data = data.chunk({dim: -1})  # each whole series must sit in one chunk
    names = (*_parameter_names(kwargs["log_scale"]), "nllh", "status")
    names += ("stationary_loc", "stationary_scale", "stationary_shape", "stationary_nllh")
    n_par = len(_parameter_names(kwargs["log_scale"]))

    def core(values: NDArray, cov: NDArray) -> tuple[NDArray, ...]:
        result = _fit_both(values, cov, **kwargs)
        return (*(result[name] for name in names), result["covariance"])

    outputs = xr.apply_ufunc(
        core,
        data,
        covariate,
        input_core_dims=[[dim], [dim]],
        output_core_dims=[[]] * len(names) + [["row_parameter", "column_parameter"]],
        dask="parallelized",
        output_dtypes=[float] * (len(names) - 5) + [np.dtype(_STATUS_DTYPE)] + [float] * 5,
        dask_gufunc_kwargs={"output_sizes": {"row_parameter": n_par, "column_parameter": n_par}},
    )
    result = xr.Dataset(dict(zip((*names, "covariance"), outputs, strict=True)))
    labels = list(_parameter_names(kwargs["log_scale"]))
    result = result.assign_coords(row_parameter=labels, column_parameter=labels)
    units = data.attrs.get("units", "1")
    for name in ("loc0", "scale", "stationary_loc", "stationary_scale"):
        if name in result:
            result[name].attrs["units"] = units
    for name in ("shape", "scale0", "scale1", "nllh", "stationary_shape", "stationary_nllh"):
        if name in result:
            result[name].attrs["units"] = "1"
    result["loc1"].attrs["units"] = f"({units}) per covariate unit"
    for name in names[:-5]:
        result[name].attrs["method"] = _METHOD_TEXT
    append_history(result.attrs, f"fit_gev_nonstationary: {_METHOD_TEXT}, sample dim {dim!r}")
    return result


def fit_gev_nonstationary(
    data: xr.DataArray | ArrayLike,
    covariate: xr.DataArray | ArrayLike,
    *,
    log_scale: bool = False,
    min_samples: int = 10,
    dim: str = "year",
) -> xr.Dataset | dict[str, NDArray]:
    """Fit a GEV whose location (and optionally log-scale) is linear in a covariate.

    Parameters
    ----------
    data : xarray.DataArray or array_like
        Annual maxima (any units). A numpy array holds the sample on its LAST axis, shape
        (..., n_sample); a DataArray holds it on ``dim`` and may be dask-backed (lazy).
        NaN and +-inf are missing values.
    covariate : xarray.DataArray or array_like
        Covariate x_t of each value (e.g. year, or global-mean warming in K): shape
        (n_sample,) shared by every series, or the shape of ``data`` (one per series).
        A DataArray must have ``dim`` and broadcasts against ``data``. Values where the
        covariate is NaN are left out.
    log_scale : bool
        False: constant scale. True: log sigma(t) = scale0 + scale1 x_t.
    min_samples : int
        Series with fewer valid values get NaN parameters and status "too_short" (>= 4).
    dim : str
        Sample dim of a DataArray input; ignored for numpy input.

    Returns
    -------
    xarray.Dataset or dict of numpy.ndarray
        ``loc0`` (data units), ``loc1`` (data units per covariate unit), ``scale`` (data
        units) or ``scale0``, ``scale1`` (log of data units, and per covariate unit),
        ``shape`` (xi, xi > 0 heavy tail, in [-0.5, 0.5]), ``nllh`` (negative
        log-likelihood), ``status`` (see :data:`NONSTATIONARY_STATUSES`), ``covariance``
        (..., n_parameter, n_parameter) in the order of the parameters above (dims
        ``row_parameter``, ``column_parameter`` for a Dataset), and the stationary MLE
        (``stationary_loc``, ``stationary_scale``, ``stationary_shape``,
        ``stationary_nllh``) that started the fit. A bad series never raises; its values
        are NaN.

    Raises
    ------
    ValueError
        If ``min_samples`` < 4, the covariate's shape does not match, or ``dim`` is missing.

    Notes
    -----
    mu(t) = loc0 + loc1 x_t (Coles 2001, eq. 6.2); the NLL is eq. 6.5. Each series is scaled
    by its L-moment location and scale, and the covariate standardised, so that all
    parameters are of order one; damped Newton steps (Marquardt 1963) with finite-difference
    derivatives then run on all series at once. The stationary MLE is found first and starts
    the non-stationary fit, so its NLL is never worse. ``covariance`` is the inverse observed
    information (Coles 2001, sec. 2.6.4), mapped to the reported parameters by the delta
    method; it is not meaningful when ``shape`` sits on a bound.
    """
    _check_options(min_samples)
    kwargs = {"log_scale": bool(log_scale), "min_samples": min_samples}
    if isinstance(data, xr.DataArray):
        return _apply_dataarray(data, covariate, dim, kwargs)
    return _fit_both(data, covariate, log_scale=bool(log_scale), min_samples=min_samples)


def _parameters_at(params: Mapping[str, Any], covariate_value: Any) -> tuple[Any, Any, Any]:
    """Return (loc, scale, shape) of a non-stationary fit at a covariate value."""
    loc = params["loc0"] + params["loc1"] * covariate_value
    if "scale0" in params:
        scale = np.exp(params["scale0"] + params["scale1"] * covariate_value)
    else:
        scale = params["scale"] + 0.0 * covariate_value
    return loc, scale, params["shape"]


def effective_return_level(
    params: Mapping[str, Any], covariate_value: ArrayLike | xr.DataArray, return_period: ArrayLike
) -> NDArray | xr.DataArray:
    """Return the level with annual exceedance probability 1/T at a covariate value.

    Parameters
    ----------
    params : mapping or xarray.Dataset
        ``loc0``, ``loc1``, ``scale`` (or ``scale0``, ``scale1``) and ``shape`` as from
        :func:`fit_gev_nonstationary`, numpy arrays of shape (...) or DataArrays.
    covariate_value : array_like or xarray.DataArray
        Covariate value(s) x (e.g. a year, or warming in K); broadcast against the parameters
        (numpy rules, or by dim name for DataArrays).
    return_period : array_like
        Return period T in years (> 1), broadcast likewise.

    Returns
    -------
    numpy.ndarray or xarray.DataArray
        Effective return level in data units: the GEV return level (Coles 2001, eq. 3.4) with
        mu = loc0 + loc1 x and sigma = scale or exp(scale0 + scale1 x) (Coles 2001,
        sec. 6.3.2: "effective" return levels of a non-stationary model).
    """
    loc, scale, shape = _parameters_at(params, covariate_value)
    if any(isinstance(a, xr.DataArray) for a in (loc, scale, shape, return_period)):
        return xr.apply_ufunc(return_level, loc, scale, shape, return_period, dask="allowed")
    return return_level(loc, scale, shape, return_period)


def annual_exceedance_nonstationary(
    value: ArrayLike | xr.DataArray,
    params: Mapping[str, Any],
    covariates: ArrayLike | xr.DataArray,
) -> NDArray | xr.DataArray:
    """Return the probability p_t that each year's maximum exceeds ``value``.

    Parameters
    ----------
    value : array_like or xarray.DataArray
        Design value in data units, broadcast against the parameters (shape (...)).
    params : mapping or xarray.Dataset
        Non-stationary GEV parameters as from :func:`fit_gev_nonstationary`.
    covariates : array_like, shape (n_year,), or xarray.DataArray
        Covariate of each year of the design life. A numpy array gives a new LAST axis; a
        DataArray (e.g. on dim ``year``) broadcasts by name.

    Returns
    -------
    numpy.ndarray, shape (..., n_year), or xarray.DataArray
        p_t = 1 - F(value; mu(x_t), sigma(x_t), xi) (Coles 2001, eq. 3.2 and 6.2), ready
        for :func:`hazard_models.extremes.gev.design_life_exceedance`, which gives
        1 - prod_t (1 - p_t).
    """
    if isinstance(covariates, xr.DataArray):
        loc, scale, shape = _parameters_at(params, covariates)
        return xr.apply_ufunc(exceedance_probability, value, loc, scale, shape, dask="allowed")
    x = np.asarray(covariates, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"covariates: expected one value per year (1-D), found shape {x.shape}")
    expanded = {k: np.asarray(params[k], dtype=float)[..., None] for k in _present(params)}
    loc, scale, shape = _parameters_at(expanded, x)
    return exceedance_probability(np.asarray(value, dtype=float)[..., None], loc, scale, shape)


def _present(params: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the parameter names that ``params`` holds (constant or log-linear scale)."""
    return _parameter_names("scale0" in params)


def compare_to_stationary(
    data: xr.DataArray | ArrayLike,
    covariate: xr.DataArray | ArrayLike,
    *,
    log_scale: bool = False,
    min_samples: int = 10,
    dim: str = "year",
) -> xr.Dataset | dict[str, NDArray]:
    """Compare the non-stationary GEV with the stationary one by AIC and deviance.

    Parameters
    ----------
    data, covariate, log_scale, min_samples, dim
        As for :func:`fit_gev_nonstationary`.

    Returns
    -------
    xarray.Dataset or dict of numpy.ndarray
        Per series: ``nllh_stationary``, ``nllh_nonstationary``, ``aic_stationary``,
        ``aic_nonstationary`` (dimensionless; lower is better), ``deviance`` (D >= 0),
        ``degrees_of_freedom`` (1, or 2 with ``log_scale``), ``p_value`` (chi-square
        upper tail of D) and ``status``.

    Notes
    -----
    D = 2 {l_1(M_1) - l_0(M_0)} is referred to chi-square with k = dim M_1 - dim M_0
    degrees of freedom; M_0 is rejected at level alpha when D > c_alpha (Coles 2001,
    sec. 2.6.6, applied to Fremantle in sec. 6.3.2). AIC = 2 NLL + 2 n_parameter
    (Akaike 1974, IEEE Trans. Autom. Control 19, 716-723).
    """
    from scipy.special import chdtrc  # imported here: keeps `import hazard_models` fast

    fit = fit_gev_nonstationary(
        data, covariate, log_scale=log_scale, min_samples=min_samples, dim=dim
    )
    extra = 2 if log_scale else 1
    nllh0, nllh1 = fit["stationary_nllh"], fit["nllh"]
    deviance = 2.0 * (nllh0 - nllh1)
    out = {
        "nllh_stationary": nllh0,
        "nllh_nonstationary": nllh1,
        "aic_stationary": 2.0 * nllh0 + 2.0 * 3,
        "aic_nonstationary": 2.0 * nllh1 + 2.0 * (3 + extra),
        "deviance": deviance,
        "degrees_of_freedom": extra + 0.0 * deviance,
        "p_value": (
            xr.apply_ufunc(chdtrc, extra, deviance, dask="allowed")
            if isinstance(deviance, xr.DataArray)
            else chdtrc(extra, deviance)
        ),
        "status": fit["status"],
    }
    return xr.Dataset(out, attrs=fit.attrs) if isinstance(fit, xr.Dataset) else out
