"""Sea-level rise: projections by year and horizon, their uncertainty, and land motion.

A projection table (AR6 conventions: metres relative to 1995-2014, quantiles 0.17/0.5/0.83 =
median and likely range) is interpolated linearly in time. Vertical land motion (subsidence,
positive = sinking) adds rate x (year - 2004.5). The uncertain rise at one year is described
by :class:`RiseDistribution`, fitted to the median and the likely range:

* ``"piecewise_normal"`` (default): two half-normals joined at the median, with
  sd_below = (q50 - q17) / z and sd_above = (q83 - q50) / z, z = Phi^-1(0.83) = 0.954. It
  reproduces all three quantiles exactly, so the upward skew of the AR6 ranges (SSP5-8.5
  2100: 0.77 m, -0.14 / +0.24 m) is kept, and it reduces to the normal when the range is
  symmetric. Beyond the likely range its tails are normal, which says nothing about
  low-likelihood ice-sheet outcomes (AR6 WGI 9.6.3.3, domain.md 4.2: ~2 m by 2100 cannot be
  ruled out); that deep uncertainty is out of scope.
* ``"normal"``: mean = median, sd = (q83 - q17) / (2 z), the input of Hunter (2012).

References
----------
Fox-Kemper, B. et al. (2021). Ocean, Cryosphere and Sea Level Change. In: Climate Change 2021,
The Physical Science Basis (IPCC AR6 WGI), ch. 9, Cambridge UP. Likely range = 17-83 %.
Hunter, J. (2012). A simple technique for estimating an allowance for uncertain sea-level
rise. Climatic Change 113, 239-252.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from hazard_models.horizon import Horizon
from hazard_models.layer import SchemaError, append_history

__all__ = [
    "BASELINE_MID_YEAR",
    "LIKELY_RANGE",
    "SEA_LEVEL_COLUMNS",
    "RiseDistribution",
    "RiseShape",
    "likely_quantiles",
    "relative_sea_level_rise",
    "rise_distribution",
    "sea_level_at",
    "sea_level_by_year",
    "validate_sea_level_table",
    "vertical_land_motion",
]

#: Centre of the AR6 1995-2014 baseline: sea-level rise and land motion are 0 here.
BASELINE_MID_YEAR = 2004.5
#: The AR6 "likely" range, as probabilities (IPCC AR6 WGI, ch. 9 and SPM).
LIKELY_RANGE = (0.17, 0.83)
SEA_LEVEL_COLUMNS = ("scenario", "year", "quantile", "sea_level_rise_m")
RiseShape = Literal["piecewise_normal", "normal"]
_NODES_PER_SIDE = 64  # Gauss-Legendre nodes on each half of the distribution
_TAIL_LIMIT_SD = 10.0  # half-normal integration stops at 10 sd (tail mass 1.5e-23)


def validate_sea_level_table(sea_level: pd.DataFrame) -> pd.DataFrame:
    """Check the columns of a sea-level-rise table and return it unchanged.

    Raises
    ------
    SchemaError
        If ``sea_level`` is not a DataFrame or lacks a column of :data:`SEA_LEVEL_COLUMNS`.
    """
    if not isinstance(sea_level, pd.DataFrame):
        raise SchemaError(
            f"sea_level: expected a pandas.DataFrame, found {type(sea_level).__name__}"
        )
    missing = [c for c in SEA_LEVEL_COLUMNS if c not in sea_level.columns]
    if missing:
        raise SchemaError(
            f"sea_level: expected columns {list(SEA_LEVEL_COLUMNS)}, missing {missing} "
            f"(found {list(sea_level.columns)})"
        )
    return sea_level


def _interpolate_curve(
    curve: pd.DataFrame, scenario: str, quantile: float, years: np.ndarray
) -> np.ndarray:
    """Interpolate one (scenario, quantile) curve to ``years``; raise if it cannot."""
    where = f"sea_level: scenario {scenario!r}, quantile {quantile:g}"
    if curve.empty:
        raise SchemaError(f"{where}: expected rows, found none")
    table_years = curve["year"].to_numpy(dtype=float)
    if np.any(np.diff(table_years) == 0):
        raise SchemaError(f"{where}: expected one row per year, found duplicate years")
    rise = curve["sea_level_rise_m"].to_numpy(dtype=float)
    if table_years[0] > BASELINE_MID_YEAR:
        table_years, rise = np.r_[BASELINE_MID_YEAR, table_years], np.r_[0.0, rise]
    late = years[years > table_years[-1]]
    if late.size:
        raise SchemaError(
            f"{where}: expected years up to {late.max():g}, found up to {table_years[-1]:g}"
        )
    return np.interp(years, table_years, rise)


def sea_level_by_year(
    sea_level: pd.DataFrame, scenarios: Sequence[str], years: ArrayLike
) -> xr.DataArray:
    """Return sea-level rise at calendar years, by linear interpolation in time.

    Parameters
    ----------
    sea_level : pandas.DataFrame
        Columns ``scenario``, ``year``, ``quantile``, ``sea_level_rise_m`` (m vs 1995-2014).
    scenarios : sequence of str
        Scenarios wanted; each must have every quantile of the table, including 0.5.
    years : array_like
        Calendar years (may be fractional, e.g. horizon mid years).

    Returns
    -------
    xarray.DataArray
        Dims (scenario, year, quantile), m. Rise is 0 m at 2004.5 (the baseline centre) when
        the table starts later; a year after the table's last year raises SchemaError.
    """
    validate_sea_level_table(sea_level)
    quantiles = np.sort(sea_level["quantile"].astype(float).unique())
    if 0.5 not in quantiles:
        raise SchemaError(f"sea_level: quantile: expected 0.5 among {quantiles.tolist()}")
    wanted = np.atleast_1d(np.asarray(years, dtype=float))
    out = np.zeros((len(scenarios), wanted.size, quantiles.size))
    for i, scenario in enumerate(scenarios):
        rows = sea_level[sea_level["scenario"] == scenario]
        for k, quantile in enumerate(quantiles):
            curve = rows[rows["quantile"].astype(float) == quantile].sort_values("year")
            out[i, :, k] = _interpolate_curve(curve, scenario, quantile, wanted)
    coords = {"scenario": list(scenarios), "year": wanted, "quantile": quantiles.tolist()}
    attrs = {"units": "m", "long_name": "sea-level rise relative to 1995-2014"}
    return xr.DataArray(out, dims=("scenario", "year", "quantile"), coords=coords, attrs=attrs)


def sea_level_at(
    sea_level: pd.DataFrame, scenarios: Sequence[str], horizons: Sequence[Horizon]
) -> xr.DataArray:
    """Return sea-level rise at each horizon's mid year (0 m for the baseline horizon).

    Parameters
    ----------
    sea_level : pandas.DataFrame
        Columns ``scenario``, ``year``, ``quantile``, ``sea_level_rise_m`` (m vs 1995-2014).
    scenarios : sequence of str
        Scenarios wanted; each must have the same quantiles, including 0.5.
    horizons : sequence of Horizon
        The ``baseline`` horizon gets 0 m by definition.

    Returns
    -------
    xarray.DataArray
        Dims (scenario, horizon, quantile), m (see :func:`sea_level_by_year`).
    """
    mids = [h.mid_year for h in horizons]
    by_year = sea_level_by_year(sea_level, scenarios, mids)
    out = by_year.values.copy()
    for j, horizon in enumerate(horizons):
        if horizon.is_baseline:
            out[:, j, :] = 0.0
    coords = {
        "scenario": list(scenarios),
        "horizon": [h.name for h in horizons],
        "quantile": by_year["quantile"].values.tolist(),
    }
    return xr.DataArray(
        out, dims=("scenario", "horizon", "quantile"), coords=coords, attrs=by_year.attrs
    )


def vertical_land_motion(subsidence_mm_per_year: ArrayLike, years: ArrayLike) -> NDArray:
    """Return the relative sea-level rise caused by land subsidence since 2004.5, in m.

    Parameters
    ----------
    subsidence_mm_per_year : array_like
        Vertical land motion, mm/yr, positive = sinking (UNCONFIRMED for Shanghai,
        domain.md 4.3: the caller supplies it per location).
    years : array_like
        Calendar years, broadcast against the rates.

    Returns
    -------
    numpy.ndarray
        rate / 1000 x (year - 2004.5), m; negative before 2004.5.
    """
    rate = np.asarray(subsidence_mm_per_year, dtype=float)
    return rate / 1000.0 * (np.asarray(years, dtype=float) - BASELINE_MID_YEAR)


def relative_sea_level_rise(
    sea_level_rise_m: xr.DataArray, subsidence_mm_per_year: xr.DataArray, mid_years: xr.DataArray
) -> xr.DataArray:
    """Return relative sea-level rise: sea-level rise plus land subsidence since 2004.5.

    Parameters
    ----------
    sea_level_rise_m : xarray.DataArray
        Sea-level rise vs 1995-2014, m, dims e.g. (scenario, horizon, quantile).
    subsidence_mm_per_year : xarray.DataArray
        Vertical land motion, mm/yr, positive = sinking, dims e.g. (station,).
    mid_years : xarray.DataArray
        Horizon mid years, dims (horizon,).

    Returns
    -------
    xarray.DataArray
        rise + subsidence / 1000 x (mid year - 2004.5), m, broadcast over all input dims.
    """
    sinking_m = subsidence_mm_per_year / 1000.0 * (mid_years - BASELINE_MID_YEAR)
    total = sea_level_rise_m + sinking_m
    attrs = {"units": "m", "long_name": "relative sea-level rise vs 1995-2014"}
    return total.assign_attrs(append_history(attrs, "relative_sea_level_rise: rise + subsidence"))


@dataclass(frozen=True)
class RiseDistribution:
    """An uncertain sea-level rise: two half-normals joined at the median (all in m).

    Attributes
    ----------
    median_m, sd_below_m, sd_above_m : numpy.ndarray
        Median and the standard deviations of the lower and upper halves, broadcast together.
        Equal sds make it a normal distribution; zero sds a certain rise.
    """

    median_m: NDArray
    sd_below_m: NDArray
    sd_above_m: NDArray

    @property
    def mean_m(self) -> NDArray:
        """Return the mean, m: median + (sd_above - sd_below) / sqrt(2 pi).

        Each half-normal has mean sd sqrt(2/pi) and weight 1/2.
        """
        return self.median_m + (self.sd_above_m - self.sd_below_m) / np.sqrt(2.0 * np.pi)

    def shifted(self, offset_m: ArrayLike) -> RiseDistribution:
        """Return the distribution moved by a certain offset (e.g. land motion), m."""
        moved = self.median_m + np.asarray(offset_m, dtype=float)
        return RiseDistribution(moved, self.sd_below_m, self.sd_above_m)

    def quantile(self, probability: ArrayLike) -> NDArray:
        """Return the rise not exceeded with ``probability`` (in (0, 1)), m."""
        from scipy.special import ndtri

        z = ndtri(np.asarray(probability, dtype=float))
        return self.median_m + z * np.where(z < 0, self.sd_below_m, self.sd_above_m)

    def nodes(self) -> tuple[NDArray, NDArray]:
        """Return quadrature nodes (m) and weights (sum 1) on a new last axis.

        Notes
        -----
        Each half is a half-normal of probability 1/2, integrated by Gauss-Legendre on
        0 <= u <= 10 sd with density phi(u); weights are normalised to 1/2 per half. Exact
        to double precision for smooth integrands such as exp(s / lambda) with
        sd / lambda up to about 4.
        """
        u, half = _half_normal_rule()
        median, below, above = np.broadcast_arrays(self.median_m, self.sd_below_m, self.sd_above_m)
        low = median[..., None] - below[..., None] * u[::-1]
        high = median[..., None] + above[..., None] * u
        nodes = np.concatenate([low, high], axis=-1)
        weights = np.broadcast_to(np.r_[half[::-1], half], nodes.shape)
        return nodes, weights


@lru_cache(maxsize=1)
def _half_normal_rule() -> tuple[NDArray, NDArray]:
    """Return Gauss-Legendre points u on [0, 10] and weights of a half-normal of mass 1/2."""
    u, w = np.polynomial.legendre.leggauss(_NODES_PER_SIDE)
    u = (u + 1.0) * _TAIL_LIMIT_SD / 2.0
    density = w * np.exp(-0.5 * u**2)
    return u, 0.5 * density / density.sum()


def likely_quantiles(quantiles: Sequence[float]) -> tuple[float, float] | None:
    """Return the pair of quantiles of a rise table that gives its spread around the median.

    The AR6 likely range (0.17, 0.83) when the table has both, else the outermost quantiles
    on each side of 0.5; None when one side is missing (a median-only table: a certain rise).
    """
    values = [round(float(q), 6) for q in quantiles]
    if LIKELY_RANGE[0] in values and LIKELY_RANGE[1] in values:
        return LIKELY_RANGE
    below, above = [q for q in values if q < 0.5], [q for q in values if q > 0.5]
    return (min(below), max(above)) if below and above else None


def rise_distribution(
    median_m: ArrayLike,
    lower_m: ArrayLike,
    upper_m: ArrayLike,
    *,
    shape: RiseShape = "piecewise_normal",
    quantiles: tuple[float, float] = LIKELY_RANGE,
) -> RiseDistribution:
    """Fit a :class:`RiseDistribution` to a median and a likely range of sea-level rise.

    Parameters
    ----------
    median_m, lower_m, upper_m : array_like
        Median and the lower and upper quantiles of the rise, m (broadcast together).
    shape : {"piecewise_normal", "normal"}
        See the module docstring; "piecewise_normal" matches all three quantiles.
    quantiles : tuple of float
        Probabilities of ``lower_m`` and ``upper_m`` (default the AR6 likely range).

    Returns
    -------
    RiseDistribution

    Raises
    ------
    ValueError
        If the quantiles are not ordered around 0.5, or lower > median or median > upper.
    """
    from scipy.special import ndtri

    low_q, high_q = quantiles
    if not 0.0 < low_q < 0.5 < high_q < 1.0:
        raise ValueError(f"quantiles: expected 0 < lower < 0.5 < upper < 1, found {quantiles}")
    median, lower, upper = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (median_m, lower_m, upper_m))
    )
    if np.any(lower > median) or np.any(median > upper):
        raise ValueError("rise_distribution: expected lower <= median <= upper")
    z_low, z_high = -float(ndtri(low_q)), float(ndtri(high_q))
    if shape == "normal":
        sd = (upper - lower) / (z_low + z_high)
        return RiseDistribution(median.copy(), sd, sd.copy())
    if shape != "piecewise_normal":
        raise ValueError(f"shape: expected 'piecewise_normal' or 'normal', found {shape!r}")
    return RiseDistribution(median.copy(), (median - lower) / z_low, (upper - median) / z_high)
