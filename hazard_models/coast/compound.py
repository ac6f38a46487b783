"""Compound rain and high water: joint and conditional exceedance, conditioned on typhoons.

Shanghai's worst floods come from typhoon rain falling on a high tide (domain.md 1.5), so the
probability that both are high on the same day matters more than either alone. Two
distribution-free estimators, both on paired daily values (daily rain, daily maximum water
level within a window):

* **Empirical copula** (Genest & Favre 2007): each variable is replaced by its pseudo-
  observations U = rank / (n + 1), which removes the margins; the joint exceedance
  P(U > p, V > q) is the fraction of days with both above their marginal quantiles. Its
  ratio to the independent value (1 - p)(1 - q) is the likelihood multiplication factor of
  Zscheischler & Seneviratne (2017); for p = q, P(V > q | U > p) is the coefficient chi(u) of
  Coles, Heffernan & Tawn (1999).
* **Conditional exceedance** P(rain > r | water > s) with a percentile bootstrap interval
  (Efron & Tibshirani 1993). Days of one year or one storm are not independent, so whole
  blocks (years, or storm events) are resampled when ``blocks`` is given (a block bootstrap,
  Kuensch 1989).

Typhoon conditioning: :func:`typhoon_days` turns best tracks (JTWC, 6-hourly) into the local
calendar days on which a storm centre was within a radius of Shanghai, and
:func:`typhoon_season` the months that hold most of them; both give masks to condition on.

References
----------
Coles, S., Heffernan, J. & Tawn, J. (1999). Dependence measures for extreme value analyses.
Extremes 2, 339-365.
Efron, B. & Tibshirani, R. (1993). An Introduction to the Bootstrap. Chapman & Hall, ch. 13.
Genest, C. & Favre, A.-C. (2007). Everything you always wanted to know about copula modeling
but were afraid to ask. J. Hydrol. Eng. 12, 347-368.
Kuensch, H. R. (1989). The jackknife and the bootstrap for general stationary observations.
Ann. Stat. 17, 1217-1241.
Zscheischler, J. & Seneviratne, S. I. (2017). Dependence of drivers affects risks associated
with compound events. Sci. Adv. 3, e1700263.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ConditionalExceedance",
    "JointExceedance",
    "conditional_exceedance",
    "joint_exceedance",
    "pair_daily",
    "pseudo_observations",
    "typhoon_days",
    "typhoon_season",
]

TRACK_COLUMNS = ("jtwc_sn", "storm_name", "time_utc", "dist_to_shanghai_km")
SHANGHAI_UTC_OFFSET_H = 8  # China Standard Time, UTC+8


@dataclass(frozen=True)
class JointExceedance:
    """Joint exceedance of two variables above marginal quantiles (empirical copula)."""

    probability: float  #: P(U > p, V > q) per observation (per day for daily pairs)
    independent_probability: float  #: (1 - p)(1 - q)
    multiplication_factor: float  #: probability / independent_probability
    conditional_probability: float  #: P(V > q | U > p)
    and_return_period_years: float  #: 1 / (probability x observations per year)
    n: int  #: pairs used
    n_joint: int  #: pairs with both above


@dataclass(frozen=True)
class ConditionalExceedance:
    """P(target > threshold | condition > threshold), with a bootstrap interval."""

    probability: float
    lower: float
    upper: float
    level: float  #: confidence level of [lower, upper]
    unconditional_probability: float  #: P(target > threshold) over all pairs
    n_condition: int  #: pairs with the condition met
    n_joint: int  #: pairs with both above
    n_boot: int
    blocks: int  #: blocks resampled (pairs when no blocks were given)


def _pairs(first: ArrayLike, second: ArrayLike) -> tuple[NDArray, NDArray]:
    """Return the two series as floats without pairs that hold a NaN."""
    x, y = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"expected two 1-D series of equal length, found {x.shape}, {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 10:
        raise ValueError(f"expected at least 10 complete pairs, found {int(keep.sum())}")
    return x[keep], y[keep]


def pseudo_observations(values: ArrayLike) -> NDArray:
    """Return rank / (n + 1) of each value (average ranks for ties), in (0, 1).

    The empirical margins of Genest & Favre (2007, sec. 5); NaN stays NaN. Ties share the
    mean of the ranks they span, as ``scipy.stats.rankdata(method="average")`` (numpy only,
    so that the CLI does not import scipy.stats).
    """
    x = np.asarray(values, dtype=float)
    out = np.full(x.shape, np.nan)
    valid = np.isfinite(x)
    _, inverse, counts = np.unique(x[valid], return_inverse=True, return_counts=True)
    last = np.cumsum(counts)  # rank of the last member of each group of equal values
    average = last - (counts - 1) / 2.0
    out[valid] = average[inverse] / (valid.sum() + 1.0)
    return out


def joint_exceedance(
    first: ArrayLike,
    second: ArrayLike,
    *,
    first_probability: float,
    second_probability: float,
    per_year: float = 365.25,
) -> JointExceedance:
    """Return the empirical-copula probability that both variables exceed their quantiles.

    Parameters
    ----------
    first, second : array_like, shape (n,)
        Paired values, e.g. daily rain (mm/day) and daily maximum water level (m).
    first_probability, second_probability : float
        Marginal non-exceedance probabilities p and q in (0, 1), e.g. 0.99.
    per_year : float
        Pairs per year, for the AND return period (365.25 for daily pairs; clustering of
        wet days makes it approximate).

    Returns
    -------
    JointExceedance
    """
    for name, value in (("first", first_probability), ("second", second_probability)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"{name}_probability: expected a value in (0, 1), found {value}")
    x, y = _pairs(first, second)
    u, v = pseudo_observations(x), pseudo_observations(y)
    above_first = u > first_probability
    joint = int(np.sum(above_first & (v > second_probability)))
    probability = joint / x.size
    independent = (1.0 - first_probability) * (1.0 - second_probability)
    with np.errstate(divide="ignore", invalid="ignore"):
        conditional = joint / above_first.sum() if above_first.any() else np.nan
        period = 1.0 / (probability * per_year) if joint else np.inf
    return JointExceedance(
        probability=probability,
        independent_probability=independent,
        multiplication_factor=probability / independent,
        conditional_probability=float(conditional),
        and_return_period_years=float(period),
        n=int(x.size),
        n_joint=joint,
    )


def conditional_exceedance(
    target: ArrayLike,
    condition: ArrayLike,
    *,
    target_threshold: float,
    condition_threshold: float,
    blocks: ArrayLike | None = None,
    n_boot: int = 1000,
    level: float = 0.90,
    seed: int = 0,
) -> ConditionalExceedance:
    """Return P(target > target_threshold | condition > condition_threshold) with a CI.

    Parameters
    ----------
    target, condition : array_like, shape (n,)
        Paired values, e.g. daily rain (mm/day) and daily maximum water level (m).
    target_threshold, condition_threshold : float
        Thresholds in the units of each series.
    blocks : array_like, shape (n,), optional
        Block label of each pair (e.g. the year, or a storm id): whole blocks are resampled.
        Default: pairs are resampled one by one (serially independent pairs).
    n_boot : int
        Bootstrap replicates (seeded by ``seed``).
    level : float
        Confidence level of the percentile interval.

    Returns
    -------
    ConditionalExceedance
        ``probability`` NaN (and no interval) when the condition is never met.
    """
    t, c = np.asarray(target, dtype=float), np.asarray(condition, dtype=float)
    labels = np.arange(t.size) if blocks is None else np.asarray(blocks)
    if labels.shape != t.shape:
        raise ValueError("blocks: expected one label per pair")
    keep = np.isfinite(t) & np.isfinite(c)
    t, c, labels = t[keep], c[keep], labels[keep]
    _pairs(t, c)
    met = c > condition_threshold
    both = met & (t > target_threshold)
    _, block_index = np.unique(labels, return_inverse=True)
    n_blocks = int(block_index.max()) + 1
    met_per_block = np.bincount(block_index, weights=met, minlength=n_blocks)
    both_per_block = np.bincount(block_index, weights=both, minlength=n_blocks)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_blocks, size=(n_boot, n_blocks))
    with np.errstate(divide="ignore", invalid="ignore"):
        replicates = both_per_block[draws].sum(axis=1) / met_per_block[draws].sum(axis=1)
        estimate = both.sum() / met.sum() if met.any() else np.nan
    replicates = replicates[np.isfinite(replicates)]
    tail = 100.0 * (1.0 - level) / 2.0
    lower, upper = (
        np.percentile(replicates, [tail, 100.0 - tail]) if replicates.size else (np.nan, np.nan)
    )
    return ConditionalExceedance(
        probability=float(estimate),
        lower=float(lower),
        upper=float(upper),
        level=level,
        unconditional_probability=float(np.mean(t > target_threshold)),
        n_condition=int(met.sum()),
        n_joint=int(both.sum()),
        n_boot=n_boot,
        blocks=n_blocks,
    )


def pair_daily(rain: pd.Series, water: pd.Series, *, window_days: int = 1) -> pd.DataFrame:
    """Pair daily rain with the highest water level within +- ``window_days`` of each day.

    Parameters
    ----------
    rain : pandas.Series
        Daily rain (mm/day) indexed by date.
    water : pandas.Series
        Daily maximum water level (m) indexed by date.
    window_days : int
        Half-width of the window for the water level (0 = same day), because peak rain and
        peak tide of one storm may fall on neighbouring days.

    Returns
    -------
    pandas.DataFrame
        Columns ``rain`` and ``water`` on the days present in both series (date index).
    """
    if window_days < 0:
        raise ValueError("window_days: expected 0 or more")
    daily = pd.DatetimeIndex(pd.to_datetime(water.index)).normalize()
    water = pd.Series(water.to_numpy(dtype=float), index=daily).groupby(level=0).max()
    full = water.asfreq("D")
    widest = full.rolling(2 * window_days + 1, center=True, min_periods=1).max()
    rain_daily = pd.Series(
        rain.to_numpy(dtype=float), index=pd.DatetimeIndex(pd.to_datetime(rain.index)).normalize()
    )
    frame = pd.DataFrame({"rain": rain_daily, "water": widest.reindex(rain_daily.index)})
    return frame.dropna()


def typhoon_days(tracks: pd.DataFrame, *, radius_km: float = 300.0) -> pd.DataFrame:
    """Return the local (UTC+8) days on which a storm centre was within ``radius_km``.

    Parameters
    ----------
    tracks : pandas.DataFrame
        Best-track points with columns ``jtwc_sn``, ``storm_name``, ``time_utc`` (ISO time)
        and ``dist_to_shanghai_km`` (great-circle distance of the centre, km).
    radius_km : float
        Radius around Shanghai, km (300 km: the radius of the shipped JTWC subset).

    Returns
    -------
    pandas.DataFrame
        One row per storm and day: ``date`` (local calendar day), ``jtwc_sn``,
        ``storm_name`` and ``min_dist_km`` (closest distance that day), sorted by date.
    """
    missing = [c for c in TRACK_COLUMNS if c not in tracks.columns]
    if missing:
        raise ValueError(f"tracks: expected columns {list(TRACK_COLUMNS)}, missing {missing}")
    near = tracks[tracks["dist_to_shanghai_km"].astype(float) <= radius_km].copy()
    time = pd.to_datetime(near["time_utc"], utc=True)
    near["date"] = (time + pd.Timedelta(hours=SHANGHAI_UTC_OFFSET_H)).dt.tz_localize(None)
    near["date"] = near["date"].dt.normalize()
    near["storm_name"] = near["storm_name"].fillna("").astype(str)
    grouped = near.groupby(["date", "jtwc_sn"], as_index=False).agg(
        storm_name=("storm_name", "last"), min_dist_km=("dist_to_shanghai_km", "min")
    )
    return grouped.sort_values(["date", "jtwc_sn"], ignore_index=True)


def typhoon_season(days: pd.DataFrame, *, coverage: float = 0.9) -> tuple[int, ...]:
    """Return the fewest calendar months that hold ``coverage`` of the typhoon days.

    Parameters
    ----------
    days : pandas.DataFrame
        Output of :func:`typhoon_days` (column ``date``).
    coverage : float
        Fraction of typhoon days to cover, in (0, 1].

    Returns
    -------
    tuple of int
        Month numbers (1-12), ascending; months are taken by descending count.
    """
    if not 0.0 < coverage <= 1.0:
        raise ValueError(f"coverage: expected a value in (0, 1], found {coverage}")
    counts = pd.to_datetime(days["date"]).dt.month.value_counts()
    counts = counts.sort_values(ascending=False, kind="stable")
    share = counts.cumsum() / counts.sum()
    needed = int(np.searchsorted(share.to_numpy(), coverage - 1e-12) + 1)
    return tuple(sorted(int(m) for m in counts.index[:needed]))
