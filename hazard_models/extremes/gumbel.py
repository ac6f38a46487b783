"""Gumbel distribution: the GEV with shape xi = 0, fitted by maximum likelihood.

Vectorised over series (sample along the last axis). The Gumbel MLE reduces to one equation
in the scale (Coles 2001 sec. 3.3.2 with xi = 0; also Hosking & Wallis 1997 app. A.8):

    sigma = mean(x) - sum(x w) / sum(w),   w = exp(-x / sigma),
    mu = -sigma log(mean(exp(-x / sigma))),

solved here by Newton steps on all series at once, started from the method of moments
(sigma = sqrt(6) s / pi).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hazard_models.extremes.gev import gev_nllh
from hazard_models.extremes.gev_mle import gev_information

__all__ = ["fit_gumbel"]

_ITERATIONS = 50
_TOLERANCE = 1e-10


def _scale_equation(x: NDArray, valid: NDArray, sigma: NDArray) -> tuple[NDArray, NDArray]:
    """Return g(sigma) and g'(sigma) of the Gumbel scale equation for centred data."""
    z = np.where(valid, -x / sigma[..., None], -np.inf)
    w = np.exp(z - z.max(axis=-1, keepdims=True))  # stabilised weights, same ratios
    w = np.where(valid, w, 0.0)
    total = w.sum(axis=-1)
    mean_w = (np.where(valid, x, 0.0) * w).sum(axis=-1) / total
    mean_w2 = (np.where(valid, x, 0.0) ** 2 * w).sum(axis=-1) / total
    value = sigma + mean_w  # mean(x) = 0 after centring
    slope = 1.0 + (mean_w2 - mean_w**2) / sigma**2
    return value, slope


def fit_gumbel(data: ArrayLike, *, min_samples: int = 10) -> dict[str, NDArray]:
    """Fit a Gumbel distribution by maximum likelihood to every series at once.

    Parameters
    ----------
    data : array_like, shape (..., n_sample)
        Annual maxima along the last axis; NaN marks a missing value.
    min_samples : int
        Series with fewer valid values, or constant series, get NaN parameters.

    Returns
    -------
    dict of str to numpy.ndarray
        ``loc``, ``scale`` (data units), ``shape`` (0), ``nllh``, ``status`` (ok, too_short,
        constant) and ``cov`` (..., 2, 2): the inverse observed information of (loc, scale).
    """
    values = np.asarray(data, dtype=float)
    with np.errstate(all="ignore"):  # empty and constant series are flagged, not warned about
        return _fit(values, min_samples)


def _fit(values: NDArray, min_samples: int) -> dict[str, NDArray]:
    valid = np.isfinite(values)
    count = valid.sum(axis=-1)
    safe_count = np.maximum(count, 1)
    centre = np.where(valid, values, 0.0).sum(axis=-1) / safe_count
    x = np.where(valid, values - centre[..., None], 0.0)
    spread = np.sqrt((x**2).sum(axis=-1) / safe_count)
    status = np.where(count < min_samples, "too_short", np.where(spread > 0, "ok", "constant"))
    ok = status == "ok"
    sigma = np.where(ok, np.sqrt(6.0) * spread / np.pi, 1.0)
    for _ in range(_ITERATIONS):
        value, slope = _scale_equation(x, valid, sigma)
        step = value / slope
        sigma = np.maximum(sigma - step, sigma / 10.0)
        if np.all(np.abs(step[ok]) <= _TOLERANCE * sigma[ok]):
            break
    mean_exp = np.where(valid, np.exp(-x / sigma[..., None]), 0.0).sum(axis=-1) / safe_count
    loc = np.where(ok, centre - sigma * np.log(mean_exp), np.nan)
    scale = np.where(ok, sigma, np.nan)
    shape = np.where(ok, 0.0, np.nan)
    information = gev_information(values, loc, scale, shape)[..., :2, :2]
    finite = np.isfinite(information).all(axis=(-2, -1))
    safe = np.where(finite[..., None, None], information, np.eye(2))
    cov = np.where(finite[..., None, None], np.linalg.inv(safe), np.nan)
    return {
        "loc": loc,
        "scale": scale,
        "shape": shape,
        "nllh": gev_nllh(values, loc, scale, shape),
        "status": status,
        "cov": cov,
    }
