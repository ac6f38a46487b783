"""Fit the GEV to every series at once: numpy or (dask) xarray, stationary or non-stationary.

:func:`fit_gev` is the public entry point of the extreme-value engine for block maxima. It
dispatches to the stationary estimates of :mod:`hazard_models.extremes.gev_estimate` or, with
a covariate, to :mod:`hazard_models.extremes.nonstationary`.

----------
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer.
Hosking, J. R. M. (1990). L-moments. J. R. Stat. Soc. B 52, 105-124.
Hosking, J. R. M. & Wallis, J. R. (1997). Regional Frequency Analysis. Cambridge UP.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from hazard_models.extremes.gev_estimate import (
    FIT_STATUSES,
    PARAMETERS,
    STATUS_DTYPE,
    FitMethod,
    fit_last_axis,
)
from hazard_models.extremes.lmoments import AT_BOUND_TOL, SHAPE_BOUNDS
from hazard_models.extremes.nonstationary import fit_gev_nonstationary
from hazard_models.layer import append_history

__all__ = ["FIT_STATUSES", "FitMethod", "fit_gev"]

_METHOD_TEXT = {
    "lmoments": "GEV by L-moments (Hosking 1990; Hosking & Wallis 1997, app. A, GEV); "
    "shape clipped to [-0.5, 0.5]",
    "mle": "GEV by maximum likelihood (Coles 2001, sec. 3.3) started from L-moments "
    "(Hosking 1990); shape bounded to [-0.5, 0.5]",
    "pmle": "GEV by penalised maximum likelihood with the Beta(6, 9) geophysical shape prior "
    "(Martins & Stedinger 2000) started from L-moments (Hosking 1990)",
}


_FLAG_TEXT = {
    "shape_at_bound": "shape on its bound [-0.5, 0.5]: not a likelihood maximum; the delta "
    "method is invalid (see hazard_models.extremes.shape_bound)",
    "shape_clipped": "L-moment shape clipped to [-0.5, 0.5]; loc and scale match l1 and l2 "
    "for the clipped shape",
}


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
        Newton-Raphson started from the L-moment estimates (:mod:`hazard_models.extremes.gev_mle`).
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
        MLE instead (:func:`hazard_models.extremes.nonstationary.fit_gev_nonstationary`, whose
        outputs are returned: ``loc0``, ``loc1``, ``scale``, ``shape``, ``nllh``,
        ``status``, ``covariance``); ``method`` must then be "mle".

    Returns
    -------
    xarray.Dataset or dict of numpy.ndarray
        ``loc``, ``scale`` (data units), ``shape`` (xi, climate convention: xi > 0 heavy
        tail; scipy's c = -xi), ``nllh`` (negative log-likelihood at the estimate, without
        the prior for "pmle"; +inf when an L-moment fit leaves an observation outside its
        support) and ``status`` ("ok", "too_short", "constant" or "nan" = no valid value),
        plus ``cov`` if asked, and the boolean ``shape_at_bound``: True where the shape
        sits on the bound -0.5 or 0.5, so the estimate is not a maximum of the likelihood
        and ``cov`` is not its covariance (for "lmoments" also ``shape_clipped``, the same
        flag: the shape was clipped and loc, scale matched to l1, l2 for the clipped
        shape). ``status`` stays "ok" there because the parameters exist (other modules
        read "ok" as "fitted"); refit one series under a wider or no bound, with the
        deviance of the bound, by :mod:`hazard_models.extremes.shape_bound`.
        Dims or shape: those of ``data`` without the sample axis.
        A bad series never raises: its parameters are NaN.

    Raises
    ------
    ValueError
        If ``method`` or ``min_samples`` is invalid, or ``dim`` is not a dim of ``data``.

    Notes
    -----
    The shape is bounded to [-0.5, 0.5] (:data:`hazard_models.extremes.lmoments.SHAPE_BOUNDS`):
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
        return _add_bound_flags(
            fit_gev_nonstationary(data, covariate, min_samples=min_samples, dim=dim), method
        )
    if isinstance(data, xr.DataArray):
        result = _fit_dataarray(data, method, dim, min_samples=min_samples, return_cov=return_cov)
        return _add_bound_flags(result, method)
    names = ("loc", "scale", "shape", "nllh", "status", "cov")
    outputs = fit_last_axis(np.asarray(data), method, min_samples, return_cov)
    return _add_bound_flags(dict(zip(names, outputs, strict=False)), method)


@overload
def _add_bound_flags(result: xr.Dataset, method: FitMethod) -> xr.Dataset: ...
@overload
def _add_bound_flags(result: dict[str, NDArray], method: FitMethod) -> dict[str, NDArray]: ...
def _add_bound_flags(
    result: xr.Dataset | dict[str, NDArray], method: FitMethod
) -> xr.Dataset | dict[str, NDArray]:
    """Add ``shape_at_bound`` (and ``shape_clipped`` for L-moments) to a fit result.

    Lazy for a dask-backed Dataset: plain elementwise comparisons of ``shape`` and ``status``.
    """
    shape: Any = result["shape"]  # a numpy array or a (lazy) DataArray
    with np.errstate(invalid="ignore"):
        at_bound = (abs(shape) >= SHAPE_BOUNDS[1] - AT_BOUND_TOL) & (result["status"] == "ok")
    flags = {"shape_at_bound": at_bound}
    if method == "lmoments":
        flags["shape_clipped"] = at_bound
    for name, flag in flags.items():
        if isinstance(result, xr.Dataset):
            text = _FLAG_TEXT[name]
            result[name] = flag.assign_attrs(long_name=text, units="1")
        else:
            result[name] = np.asarray(flag)
    return result


def _fit_dataarray(
    data: xr.DataArray, method: FitMethod, dim: str, *, min_samples: int, return_cov: bool
) -> xr.Dataset:
    """Lift :func:`fit_last_axis` over a (possibly dask) DataArray with ``apply_ufunc``."""
    if dim not in data.dims:
        raise ValueError(f"fit_gev: expected the sample dim {dim!r} in data, found {data.dims}")
    if data.chunks is not None:
        data = data.chunk({dim: -1})  # the fit needs each whole series in one chunk
    cov_dims = ["parameter_row", "parameter_column"]
    outputs = xr.apply_ufunc(
        fit_last_axis,
        data,
        input_core_dims=[[dim]],
        output_core_dims=[[]] * 5 + ([cov_dims] if return_cov else []),
        dask="parallelized",
        output_dtypes=[float, float, float, float, np.dtype(STATUS_DTYPE)]
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
        result = result.assign_coords({name: list(PARAMETERS) for name in cov_dims})
    for name in ("loc", "scale", "shape", "nllh", *(["cov"] if return_cov else [])):
        result[name].attrs["method"] = _METHOD_TEXT[method]
    append_history(result.attrs, f"fit_gev: {_METHOD_TEXT[method]}, sample dim {dim!r}")
    return result
