"""Threshold choice and declustering for peaks-over-threshold (GPD) analysis.

Runs declustering (Coles 2001, sec. 5.3.2), the mean residual life plot (sec. 4.3.1) and the
parameter-stability plot (sec. 4.3.4), as tables for a caller to print or draw. Exceedances
are values strictly above the threshold, as in :func:`hazard_models.extremes.gpd.fit_gpd`.

References
----------
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from hazard_models.extremes.gpd import fit_gpd
from hazard_models.extremes.gpd_mle import gpd_covariance
from hazard_models.extremes.lmoments import SHAPE_BOUNDS

__all__ = ["Clusters", "decluster_runs", "mean_residual_life", "parameter_stability"]

_Z95 = 1.959963984540054  # standard-normal 97.5 % quantile, for 95 % intervals


@dataclass(frozen=True)
class Clusters:
    """Clusters of exceedances found by runs declustering.

    Attributes
    ----------
    maxima : numpy.ndarray
        Largest value of each cluster, in data units, in time order.
    index : numpy.ndarray of int
        Position of each cluster maximum in the input series (first one on ties).
    n_clusters : int
        Number of clusters n_c.
    n_exceed : int
        Number of exceedances n_u.
    extremal_index : float
        Runs estimate theta = n_c / n_u (Coles 2001, sec. 5.3.2); NaN without exceedances.
    """

    maxima: NDArray
    index: NDArray
    n_clusters: int
    n_exceed: int
    extremal_index: float


def _as_series(values: ArrayLike, name: str = "values") -> NDArray:
    """Return ``values`` as a 1-D float array, or raise naming what was expected."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D series, found shape {x.shape}")
    return x


def decluster_runs(values: ArrayLike, threshold: float, run_length: int) -> Clusters:
    """Group exceedances into clusters by the runs method and keep each cluster's maximum.

    Parameters
    ----------
    values : array_like, shape (time,)
        One series in time order (data units). NaN counts as a non-exceedance, so a gap of
        ``run_length`` or more missing values ends a cluster.
    threshold : float
        Threshold u in data units; exceedances are values > u.
    run_length : int
        r >= 1: a cluster ends once r consecutive observations do not exceed u.

    Returns
    -------
    Clusters
        Cluster maxima, their positions, n_c, n_u and the extremal-index estimate n_c / n_u.

    Raises
    ------
    ValueError
        If ``values`` is not 1-D, ``threshold`` is not finite or ``run_length`` < 1.

    Notes
    -----
    Coles (2001, sec. 5.3.2): exceedances separated by fewer than r non-exceedances belong
    to the same cluster; the runs estimator of the extremal index is theta = n_c / n_u.
    """
    x = _as_series(values)
    if not np.isfinite(threshold):
        raise ValueError(f"threshold: expected a finite number, found {threshold}")
    if int(run_length) != run_length or run_length < 1:
        raise ValueError(f"run_length: expected an integer >= 1, found {run_length}")
    with np.errstate(invalid="ignore"):
        positions = np.flatnonzero(x > threshold)
    if positions.size == 0:
        empty = np.array([], dtype=float)
        return Clusters(empty, np.array([], dtype=int), 0, 0, float("nan"))
    gaps = np.diff(positions) - 1  # non-exceedances between consecutive exceedances
    cluster = np.concatenate([[0], np.cumsum(gaps >= run_length)])
    # Sort by cluster, then by value descending, then by time: the first of each is its max.
    order = np.lexsort((positions, -x[positions], cluster))
    first = np.concatenate([[True], np.diff(cluster[order]) > 0])
    index = positions[order[first]]
    n_clusters = int(cluster[-1]) + 1
    return Clusters(x[index], index, n_clusters, positions.size, n_clusters / positions.size)


def mean_residual_life(
    values: ArrayLike, thresholds: ArrayLike, *, units: str = "mm"
) -> pd.DataFrame:
    """Return the mean residual life (mean excess) table with 95 % confidence intervals.

    Parameters
    ----------
    values : array_like, shape (time,)
        One series (data units); NaN values are left out.
    thresholds : array_like, shape (threshold,)
        Candidate thresholds u, in data units.
    units : str
        Units of ``values``, used only in the column names (default mm, daily rain).

    Returns
    -------
    pandas.DataFrame
        One row per threshold: ``threshold_<units>``, ``mean_excess_<units>`` (mean of
        x - u over x > u), ``lower_<units>`` and ``upper_<units>`` (95 % interval) and
        ``n_exceed``. Mean and bounds are NaN without exceedances; bounds are NaN with one.

    Notes
    -----
    Above a threshold u0 where the GPD holds, the mean excess is linear in u:
    E(X - u | X > u) = (sigma_u0 + xi u) / (1 - xi) (Coles 2001, eq. 4.9). The interval is
    mean -+ 1.96 s / sqrt(n_u), from the approximate normality of sample means (sec. 4.3.1).
    """
    x = _as_series(values)
    x = x[~np.isnan(x)]
    u = _as_series(thresholds, "thresholds")
    with np.errstate(invalid="ignore"):
        excess = np.where(
            x[np.newaxis, :] > u[:, np.newaxis], x[np.newaxis, :] - u[:, np.newaxis], np.nan
        )
    count = (~np.isnan(excess)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, np.nansum(excess, axis=1) / count, np.nan)
        spread = np.where(
            count > 1, np.nansum((excess - mean[:, np.newaxis]) ** 2, axis=1) / (count - 1), np.nan
        )
        half = _Z95 * np.sqrt(spread / count)
    return pd.DataFrame(
        {
            f"threshold_{units}": u,
            f"mean_excess_{units}": mean,
            f"lower_{units}": mean - half,
            f"upper_{units}": mean + half,
            "n_exceed": count,
        }
    )


def parameter_stability(
    values: ArrayLike,
    thresholds: ArrayLike,
    *,
    units: str = "mm",
    min_exceedances: int = 10,
) -> pd.DataFrame:
    """Return GPD fits over a range of thresholds: modified scale and shape with 95 % CIs.

    Parameters
    ----------
    values : array_like, shape (time,)
        One series (data units); NaN values are left out.
    thresholds : array_like, shape (threshold,)
        Candidate thresholds u, in data units; all are fitted at once by
        :func:`hazard_models.extremes.gpd.fit_gpd` (maximum likelihood).
    units : str
        Units of ``values``, used only in the column names (default mm, daily rain).
    min_exceedances : int
        Thresholds with fewer exceedances get NaN estimates and status "too_short".

    Returns
    -------
    pandas.DataFrame
        One row per threshold: ``threshold_<units>``, ``modified_scale_<units>``
        (sigma* = sigma - xi u) with ``modified_scale_lower_<units>`` and
        ``modified_scale_upper_<units>``, ``shape`` (xi) with ``shape_lower`` and
        ``shape_upper``, ``n_exceed`` and ``status``. Bounds are NaN where the shape sits
        on its bound [-0.5, 0.5] (the observed information is then not a covariance).

    Notes
    -----
    Above a threshold where the GPD holds, sigma* and xi are constant in u (Coles 2001,
    sec. 4.3.4). var(sigma*) = grad^T V grad with grad = (1, -u) and V the observed-
    information covariance of (sigma, xi) (delta method, Coles 2001, sec. 4.3.4).
    """
    x = _as_series(values)
    x = x[~np.isnan(x)]
    u = _as_series(thresholds, "thresholds")
    rows = np.broadcast_to(x, (u.size, x.size))
    fit = fit_gpd(rows, threshold=u, min_exceedances=min_exceedances)
    with np.errstate(invalid="ignore"):
        excess = np.where(rows > u[:, np.newaxis], rows - u[:, np.newaxis], np.nan)
    cov = gpd_covariance(excess, fit["scale"], fit["shape"])
    interior = (fit["shape"] > SHAPE_BOUNDS[0]) & (fit["shape"] < SHAPE_BOUNDS[1])
    var_modified = cov[:, 0, 0] - 2.0 * u * cov[:, 0, 1] + u**2 * cov[:, 1, 1]
    half_modified = np.where(interior, _Z95 * np.sqrt(var_modified), np.nan)
    half_shape = np.where(interior, _Z95 * np.sqrt(cov[:, 1, 1]), np.nan)
    modified = fit["scale"] - fit["shape"] * u
    return pd.DataFrame(
        {
            f"threshold_{units}": u,
            f"modified_scale_{units}": modified,
            f"modified_scale_lower_{units}": modified - half_modified,
            f"modified_scale_upper_{units}": modified + half_modified,
            "shape": fit["shape"],
            "shape_lower": fit["shape"] - half_shape,
            "shape_upper": fit["shape"] + half_shape,
            "n_exceed": fit["n_exceed"],
            "status": fit["status"],
        }
    )
