"""Parametric-bootstrap confidence intervals for peaks-over-threshold return levels.

Each replicate redraws the number of exceedances, k ~ Binomial(n, zeta_u), and k excesses
from the fitted GPD (by inversion: y = sigma/xi (U^-xi - 1), or -sigma log U at xi = 0), refits
all (series x replicate) samples at once with :func:`hazard_models.extremes.gpd.fit_gpd`, and takes
percentiles of the return levels x_m = u + sigma/xi [(m zeta)^xi - 1] (Coles 2001, eq. 4.13)
with each replicate's own zeta = k / n (Davison & Hinkley 1997, sec. 2.2, percentile method).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hazard_models.extremes.gpd import GpdMethod, fit_gpd, gpd_return_level
from hazard_models.extremes.uncertainty import Interval

__all__ = ["parametric_bootstrap_gpd"]

_GUMBEL_EPS = 1e-6


def _simulate_excesses(
    scale: NDArray, shape: NDArray, counts: NDArray, rng: np.random.Generator
) -> NDArray:
    """Return GPD excesses (series, replicate, max count), NaN beyond each replicate's count."""
    width = max(int(counts.max()), 1)
    uniform = rng.random((*counts.shape, width))
    s, xi = scale[:, None, None], shape[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        general = s / np.where(np.abs(xi) < _GUMBEL_EPS, 1.0, xi) * (uniform ** (-xi) - 1.0)
    excess = np.where(np.abs(xi) < _GUMBEL_EPS, -s * np.log(uniform), general)
    return np.where(np.arange(width) < counts[..., None], excess, np.nan)


def parametric_bootstrap_gpd(
    scale: ArrayLike,
    shape: ArrayLike,
    rate: ArrayLike,
    *,
    n_observations: int,
    threshold: float,
    return_periods: Sequence[float],
    per_year: float,
    n_boot: int = 500,
    level: float = 0.95,
    seed: int = 0,
    method: GpdMethod = "mle",
) -> Interval:
    """Return GPD return levels with parametric-bootstrap percentile intervals.

    Parameters
    ----------
    scale, shape, rate : array_like, shape (series,) or scalar
        Fitted sigma (data units), xi and zeta_u (exceedances per observation).
    n_observations : int
        Observations behind the fit (n in zeta_u = k / n).
    threshold : float
        The threshold u, in data units.
    return_periods : sequence of float
        Years (> 1).
    per_year : float
        Observations per year.
    n_boot, level, seed : int, float, int
        Replicates, confidence level and random seed.
    method : {"mle", "lmoments"}
        Refit method of :func:`hazard_models.extremes.gpd.fit_gpd`: use that of the fit.

    Returns
    -------
    Interval
        ``estimate`` (the fitted return levels), ``lower``, ``upper`` and
        ``standard_error`` (sd of the replicates), each (series, return_period).
    """
    if n_boot < 20 or not 0 < level < 1:
        raise ValueError(f"n_boot, level: expected >= 20 and in (0, 1), found {n_boot}, {level}")
    sigma, xi, zeta = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (scale, shape, rate))
    sigma, xi, zeta = np.broadcast_arrays(sigma, xi, zeta)
    periods = np.asarray(return_periods, dtype=float)
    rng = np.random.default_rng(seed)
    counts = rng.binomial(n_observations, np.nan_to_num(zeta)[:, None], size=(zeta.size, n_boot))
    excess = _simulate_excesses(sigma, xi, counts, rng)
    refit = fit_gpd(threshold + excess, threshold=threshold, method=method)
    ok = (refit["status"] == "ok")[..., None]
    levels = gpd_return_level(
        refit["scale"][..., None],
        refit["shape"][..., None],
        threshold,
        (counts / n_observations)[..., None],
        periods,
        per_year=per_year,
    )
    levels = np.where(ok, levels, np.nan)
    alpha = (1.0 - level) / 2.0
    with warnings.catch_warnings():  # series whose every refit failed give NaN, as intended
        warnings.simplefilter("ignore", RuntimeWarning)
        lower, upper = np.nanquantile(levels, [alpha, 1.0 - alpha], axis=1)
        spread = np.nanstd(levels, axis=1, ddof=1)
    estimate = gpd_return_level(
        sigma[:, None], xi[:, None], threshold, zeta[:, None], periods, per_year=per_year
    )
    return Interval(estimate, lower, upper, spread)
