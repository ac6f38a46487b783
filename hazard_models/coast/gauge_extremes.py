"""Extreme still-water levels of one tide gauge: annual maxima (GEV) or hourly records (POT).

Both paths refer the record to the 1995-2014 sea level first, so that the extremes describe
the baseline and a sea-level rise can be added to them (:mod:`hazard_models.coast.allowance`):

* **Annual maxima** (:func:`refer_to_baseline`): remove the Theil-Sen slope of the maxima
  (Sen 1968) pivoting at 2004.5, then fit a GEV (:func:`hazard_models.extremes.gev_fit.fit_gev`).
* **Hourly levels** (:func:`fit_hourly_peaks`): remove the Theil-Sen slope of the annual mean
  levels (mean sea level), then peaks over threshold: runs declustering (Coles 2001, sec.
  5.3.2) keeps one peak per storm, and a GPD is fitted to the peaks' excesses. The defaults,
  a threshold at the 99.7th percentile of the hourly levels and clusters separated by at
  least 3 days (72 h), are those recommended for tide-gauge records by Arns et al. (2013);
  both are options.

A Poisson process of cluster peaks (rate lambda a year) with GPD(sigma, xi) excesses over u
has annual maxima that follow GEV(mu, psi, xi) with psi = sigma lambda^xi and
mu = u + (psi - sigma) / xi (mu = u + sigma log lambda for xi = 0) (Coles 2001, sec. 4.2.2
and 7.5), so the GEV's -log F(z) is the POT rate lambda [1 + xi (z - u) / sigma]^(-1/xi)
exactly. :func:`peaks_to_gev` makes that conversion, and the POT fit then flows through the
same allowance, amplification and degradation code as an annual-maximum fit.

References
----------
Arns, A., Wahl, T., Haigh, I. D., Jensen, J. & Pattiaratchi, C. (2013). Estimating extreme
water level probabilities: a comparison of the direct methods and recommendations for best
practise. Coastal Engineering 81, 51-66.
Coles, S. (2001). An Introduction to Statistical Modeling of Extreme Values. Springer.
Sen, P. K. (1968). Estimates of the regression coefficient based on Kendall's tau. J. Am.
Stat. Assoc. 63, 1379-1389.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from hazard_models.coast.sea_level import BASELINE_MID_YEAR

__all__ = [
    "HOURS_PER_YEAR",
    "Detrend",
    "PeaksFit",
    "annual_maxima_of_hourly",
    "fit_hourly_peaks",
    "peaks_to_gev",
    "refer_hourly_to_baseline",
    "refer_to_baseline",
    "theil_sen_slope",
]

Detrend = Literal["theil_sen", "none"]
#: Hours in a mean Julian year (365.25 d), to turn hours of record into years.
HOURS_PER_YEAR = 365.25 * 24.0
#: A year enters the mean-sea-level trend only with this share of its hours (our convention).
MIN_YEAR_COVERAGE = 0.8
_GUMBEL_EPS = 1e-6  # |xi| below this is the Gumbel limit, as in hazard_models.extremes


def theil_sen_slope(years: np.ndarray, values: np.ndarray) -> float:
    """Return the Theil-Sen slope: the median of the slopes between all pairs of points.

    Parameters
    ----------
    years : numpy.ndarray, shape (n,)
        Calendar years (at least two distinct).
    values : numpy.ndarray, shape (n,)
        Values, e.g. annual maxima in m; NaN pairs are ignored.

    Returns
    -------
    float
        Slope in value units per year, e.g. m/yr.

    References
    ----------
    Theil, H. (1950). Proc. K. Ned. Akad. Wet. 53, 386-392. Sen, P. K. (1968). Estimates of
    the regression coefficient based on Kendall's tau. J. Am. Stat. Assoc. 63, 1379-1389.
    Computed by ``scipy.stats.theilslopes`` on the finite pairs (pairs of equal years are
    left out, as Sen defines it).
    """
    from scipy.stats import theilslopes  # scipy's estimator; ours differed only in NaN handling

    x, y = np.asarray(years, dtype=float), np.asarray(values, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if np.unique(x[keep]).size < 2:
        raise ValueError("theil_sen_slope: expected at least two distinct years with values")
    return float(theilslopes(y[keep], x[keep]).slope)


def refer_to_baseline(
    annual_maxima: pd.DataFrame, *, detrend: Detrend = "theil_sen"
) -> tuple[pd.DataFrame, pd.Series]:
    """Return the annual maxima referred to the baseline sea level, one slope per station.

    Parameters
    ----------
    annual_maxima : pandas.DataFrame
        Columns ``station``, ``year``, ``annual_max_m`` (m, station datum).
    detrend : {"theil_sen", "none"}
        "theil_sen": x'_t = x_t - b (t - 2004.5) with b the station's Theil-Sen slope.

    Returns
    -------
    referred : pandas.DataFrame
        Same rows, ``annual_max_m`` replaced by the referred value (m).
    slopes_m_per_year : pandas.Series
        Trend removed at each station (m/yr; 0 for ``detrend="none"``), indexed by station.
    """
    if detrend not in ("theil_sen", "none"):
        raise ValueError(f"detrend: expected 'theil_sen' or 'none', found {detrend!r}")
    referred = annual_maxima.copy()
    slopes = {}
    for station, rows in annual_maxima.groupby("station", sort=False):
        slope = 0.0
        if detrend == "theil_sen":
            slope = theil_sen_slope(rows["year"].to_numpy(), rows["annual_max_m"].to_numpy())
        slopes[station] = slope
        shift = slope * (rows["year"].to_numpy(dtype=float) - BASELINE_MID_YEAR)
        referred.loc[rows.index, "annual_max_m"] = rows["annual_max_m"].to_numpy() - shift
    return referred, pd.Series(slopes, name="trend_m_per_year", dtype=float)


def _hourly_series(times: ArrayLike, levels_m: ArrayLike) -> pd.Series:
    """Return the levels on a regular hourly index (gaps NaN); raise for bad times."""
    index = pd.DatetimeIndex(pd.to_datetime(np.asarray(times)))
    values = np.asarray(levels_m, dtype=float)
    if index.size != values.size or values.ndim != 1:
        raise ValueError(f"expected one level per time, found {index.size} and {values.size}")
    if index.size < 2 or not index.is_monotonic_increasing or index.has_duplicates:
        raise ValueError("times: expected at least two strictly increasing times")
    if np.any(index != index.floor("h")):
        raise ValueError("times: expected whole hours (an hourly record)")
    return pd.Series(values, index=index).asfreq("h")


def _decimal_years(index: pd.DatetimeIndex) -> NDArray:
    """Return calendar years with the fraction of the year elapsed (e.g. 2004.5)."""
    start = pd.to_datetime(index.year.astype(str) + "-01-01")
    length = np.where(index.is_leap_year, 366.0, 365.0) * 86400.0
    return index.year + (index - start).total_seconds().to_numpy() / length


def refer_hourly_to_baseline(
    times: ArrayLike, levels_m: ArrayLike, *, detrend: Detrend = "theil_sen"
) -> tuple[pd.Series, float]:
    """Return hourly levels referred to the 1995-2014 sea level, and the trend removed.

    Parameters
    ----------
    times : array_like of datetime64, shape (n,)
        Whole hours, strictly increasing (gaps allowed).
    levels_m : array_like, shape (n,)
        Water levels, m on the gauge datum; NaN = missing.
    detrend : {"theil_sen", "none"}
        "theil_sen": x'(t) = x(t) - b (t - 2004.5), t in decimal years, b the Theil-Sen slope
        of the annual mean levels of years with at least 80 % of their hours.

    Returns
    -------
    referred : pandas.Series
        Levels on a regular hourly index (gaps NaN), m.
    trend_m_per_year : float
        b, m/yr (0 for ``detrend="none"``).
    """
    if detrend not in ("theil_sen", "none"):
        raise ValueError(f"detrend: expected 'theil_sen' or 'none', found {detrend!r}")
    series = _hourly_series(times, levels_m)
    if detrend == "none":
        return series, 0.0
    by_year = series.groupby(pd.DatetimeIndex(series.index).year)
    full = by_year.count().to_numpy() >= MIN_YEAR_COVERAGE * _hours_in(by_year.size().index)
    means = by_year.mean()[full]
    if means.size < 2:
        raise ValueError(
            f"detrend: expected at least two years with {MIN_YEAR_COVERAGE:.0%} of their hours, "
            f"found {means.size}"
        )
    slope = theil_sen_slope(means.index.to_numpy(dtype=float), means.to_numpy())
    shift = slope * (_decimal_years(pd.DatetimeIndex(series.index)) - BASELINE_MID_YEAR)
    return series - shift, slope


def _hours_in(years: pd.Index) -> NDArray:
    """Return the number of hours in each calendar year (Gregorian leap years)."""
    y = np.asarray(years, dtype=int)
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    return np.where(leap, 366 * 24, 365 * 24)


def peaks_to_gev(
    threshold_m: ArrayLike, scale_m: ArrayLike, shape: ArrayLike, *, rate_per_year: ArrayLike
) -> tuple[NDArray, NDArray, NDArray]:
    """Return the GEV (loc m, scale m, shape) of annual maxima implied by a POT model.

    Parameters
    ----------
    threshold_m : array_like
        Threshold u, m.
    scale_m, shape : array_like
        GPD sigma (m) and xi of the excesses of cluster peaks over u.
    rate_per_year : array_like
        lambda, cluster peaks above u per year (> 0).

    Returns
    -------
    tuple of numpy.ndarray
        (mu, psi, xi) with psi = sigma lambda^xi and mu = u + (psi - sigma) / xi, or
        mu = u + sigma log lambda when xi = 0 (Coles 2001, sec. 4.2.2: the GPD of a GEV has
        sigma = psi + xi (u - mu) and lambda = [1 + xi (u - mu) / psi]^(-1/xi)).
    """
    u, sigma, xi, rate = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (threshold_m, scale_m, shape, rate_per_year))
    )
    if np.any(rate <= 0) or np.any(sigma <= 0):
        raise ValueError("peaks_to_gev: expected a positive rate and scale")
    gumbel = np.abs(xi) < _GUMBEL_EPS
    safe = np.where(gumbel, 1.0, xi)
    psi = np.where(gumbel, sigma, sigma * rate**safe)
    mu = np.where(gumbel, u + sigma * np.log(rate), u + (psi - sigma) / safe)
    return mu, psi, xi.copy()


@dataclass(frozen=True)
class PeaksFit:
    """A peaks-over-threshold fit of an hourly record (levels referred to 1995-2014).

    Attributes
    ----------
    threshold_m, scale_m, shape : float
        u (m), GPD sigma (m) and xi of the cluster peaks' excesses.
    rate_per_year : float
        Cluster peaks above u per year of valid record.
    n_clusters, n_exceed : int
        Cluster peaks, and hours above u (their ratio is the extremal index, Coles 5.3.2).
    years_of_record : float
        Valid hours / 8766.
    run_length_hours : int
        Hours below u that end a cluster.
    trend_m_per_year : float
        Mean-sea-level trend removed.
    """

    threshold_m: float
    scale_m: float
    shape: float
    rate_per_year: float
    n_clusters: int
    n_exceed: int
    years_of_record: float
    run_length_hours: int
    trend_m_per_year: float

    @property
    def gev(self) -> tuple[float, float, float]:
        """Return the equivalent GEV of annual maxima, (loc m, scale m, shape)."""
        loc, scale, shape = peaks_to_gev(
            self.threshold_m, self.scale_m, self.shape, rate_per_year=self.rate_per_year
        )
        return float(loc), float(scale), float(shape)


def fit_hourly_peaks(
    times: ArrayLike,
    levels_m: ArrayLike,
    *,
    threshold_quantile: float = 0.997,
    threshold_m: float | None = None,
    run_length_hours: int = 72,
    detrend: Detrend = "theil_sen",
    method: Literal["mle", "lmoments"] = "mle",
    min_clusters: int = 10,
) -> PeaksFit:
    """Fit a declustered peaks-over-threshold model to an hourly tide-gauge record.

    Parameters
    ----------
    times, levels_m : array_like, shape (n,)
        Whole hours (strictly increasing) and water levels (m on the gauge datum; NaN gaps).
    threshold_quantile : float
        u as a quantile of the referred hourly levels (default 0.997, Arns et al. 2013).
    threshold_m : float, optional
        u in m, replacing ``threshold_quantile``.
    run_length_hours : int
        A cluster ends after this many hours at or below u (default 72 h, Arns et al. 2013).
    detrend : {"theil_sen", "none"}
        See :func:`refer_hourly_to_baseline`.
    method : {"mle", "lmoments"}
        GPD estimator (:func:`hazard_models.extremes.gpd.fit_gpd`).
    min_clusters : int
        Fewest cluster peaks accepted.

    Returns
    -------
    PeaksFit
        With :attr:`PeaksFit.gev` the equivalent GEV of annual maxima.

    Raises
    ------
    ValueError
        Bad times, a quantile outside (0, 1), too few clusters, or a failed GPD fit.
    """
    from hazard_models.extremes.gpd import fit_gpd
    from hazard_models.extremes.threshold import decluster_runs

    referred, slope = refer_hourly_to_baseline(times, levels_m, detrend=detrend)
    values = referred.to_numpy()
    if threshold_m is None:
        if not 0.0 < threshold_quantile < 1.0:
            raise ValueError(f"threshold_quantile: expected (0, 1), found {threshold_quantile}")
        threshold_m = float(np.nanquantile(values, threshold_quantile))
    clusters = decluster_runs(values, threshold_m, run_length_hours)
    if clusters.n_clusters < min_clusters:
        raise ValueError(
            f"expected at least {min_clusters} storm peaks above {threshold_m:.3f} m, "
            f"found {clusters.n_clusters}; lower the threshold or give a longer record"
        )
    fit = fit_gpd(clusters.maxima[None], threshold=threshold_m, method=method)
    if fit["status"][0] != "ok":
        raise ValueError(f"the GPD fit of the storm peaks failed: {fit['status'][0]}")
    years = float(np.isfinite(values).sum()) / HOURS_PER_YEAR
    return PeaksFit(
        threshold_m=float(threshold_m),
        scale_m=float(fit["scale"][0]),
        shape=float(fit["shape"][0]),
        rate_per_year=clusters.n_clusters / years,
        n_clusters=clusters.n_clusters,
        n_exceed=clusters.n_exceed,
        years_of_record=years,
        run_length_hours=int(run_length_hours),
        trend_m_per_year=slope,
    )


def annual_maxima_of_hourly(referred: pd.Series, *, min_coverage: float = 0.5) -> pd.Series:
    """Return the annual maxima (m) of an hourly series, for years with enough hours.

    Parameters
    ----------
    referred : pandas.Series
        Hourly levels on a regular hourly DatetimeIndex (NaN gaps), m.
    min_coverage : float
        Share of a year's hours required (default 0.5, our convention for a plot).

    Returns
    -------
    pandas.Series
        Indexed by year, m.
    """
    by_year = referred.groupby(pd.DatetimeIndex(referred.index).year)
    keep = by_year.count().to_numpy() >= min_coverage * _hours_in(by_year.size().index)
    return by_year.max()[keep]
