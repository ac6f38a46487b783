"""Stationary GEV estimates of many series at once on numpy arrays (the engine of ``fit_gev``).

L-moment estimates, optionally refined by (penalised) maximum likelihood, with a per-series
status and the inverse observed information. :func:`hazard_models.extremes.gev_fit.fit_gev`
is the public face (numpy or xarray, stationary or with a covariate); the non-stationary fit
starts from :func:`fit_last_axis` too, which is why it lives in a module of its own.

----------
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer.
Hosking, J. R. M. (1990). L-moments. J. R. Stat. Soc. B 52, 105-124.
Hosking, J. R. M. & Wallis, J. R. (1997). Regional Frequency Analysis. Cambridge UP.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from hazard_models.extremes.gev import gev_nllh
from hazard_models.extremes.gev_mle import ShapePrior, fit_gev_mle, gev_information
from hazard_models.extremes.lmoments import gev_from_lmoments, sample_lmoments

__all__ = ["FIT_STATUSES", "PARAMETERS", "STATUS_DTYPE", "FitMethod", "fit_last_axis"]

FitMethod = Literal["lmoments", "mle", "pmle"]
#: Values of the per-series ``status`` returned by :func:`fit_gev`.
FIT_STATUSES: tuple[str, ...] = ("ok", "too_short", "constant", "nan")
STATUS_DTYPE = "<U9"
PARAMETERS = ("loc", "scale", "shape")


def _series_status(values: NDArray, count: NDArray, min_samples: int) -> NDArray:
    """Return the per-series fit status (see :data:`FIT_STATUSES`)."""
    valid = ~np.isnan(values)
    spread = np.where(valid, values, -np.inf).max(axis=-1, initial=-np.inf) - np.where(
        valid, values, np.inf
    ).min(axis=-1, initial=np.inf)
    status = np.full(count.shape, "ok", dtype=STATUS_DTYPE)
    status[spread == 0] = "constant"
    status[count < min_samples] = "too_short"
    status[count == 0] = "nan"
    return status


def fit_last_axis(
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
        params[ok] = np.stack([fit[name] for name in PARAMETERS], axis=-1)
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
