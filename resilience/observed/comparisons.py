"""Compare observations with each other and with the engine: heat and extremes of the baseline.

Pure computation over data already read (no file is opened here). Each function returns a
frozen value with the numbers and a one-line ``summary()`` that a report can print:

* :func:`compare_daily_tmax`: ERA5-Land against the hourly station over their overlap (bias,
  July-August bias, hot days per year from both);
* :func:`qdm_calibration_overlap`: how many years of a reference a QDM calibration can use
  against a projection set, against the years it needs;
* :func:`compare_return_level`: a GEV fitted to station annual maxima against the sample's
  baseline return level (read from a layer with :func:`layer_centre_value`).

Sub-daily rain and sea level are in :mod:`resilience.observed.water_comparisons`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from hazard_models.extremes.gev import exceedance_probability, return_level
from hazard_models.extremes.gev_fit import FitMethod, fit_gev
from hazard_models.extremes.uncertainty import gev_return_level_ci_delta

__all__ = [
    "CENTRE_LAT",
    "CENTRE_LON",
    "HOT_DAY_DEGC",
    "CalibrationOverlap",
    "ReturnLevelComparison",
    "TmaxComparison",
    "compare_daily_tmax",
    "compare_return_level",
    "layer_centre_value",
    "qdm_calibration_overlap",
]

#: People's Square, the urban centre the demo reports (domain.md metro spot check).
CENTRE_LAT, CENTRE_LON = 31.23, 121.47
#: Hot day: Tmax >= 35 degC, the engine's ``tx_days_above_35`` and China's high-temperature
#: day (the warning rule itself issues yellow above 35 degC, resilience/data/rules).
HOT_DAY_DEGC = 35.0
_SUMMER = (7, 8)


@dataclass(frozen=True)
class TmaxComparison:
    """Daily maximum temperature of a reference (e.g. ERA5-Land) against a station.

    Attributes
    ----------
    days : int
        Days with a value in both series.
    first_day, last_day : str
        Span of those days.
    correlation : float
        Pearson r of the paired days.
    bias_degc, bias_jul_aug_degc : float
        Mean of reference minus station, all days and July-August days.
    hot_days : pandas.DataFrame
        Index year; columns ``reference``, ``station`` (paired days >= the threshold),
        ``reference_shifted`` (reference minus the July-August bias, a mean-shift
        correction) and ``paired_days``.
    hot_day_degc : float
        The threshold.
    """

    days: int
    first_day: str
    last_day: str
    correlation: float
    bias_degc: float
    bias_jul_aug_degc: float
    hot_days: pd.DataFrame
    hot_day_degc: float

    def summary(self) -> str:
        """Return one line with the numbers."""
        mean = self.hot_days.mean()
        return (
            f"ERA5-Land vs station Tmax {self.first_day}..{self.last_day} ({self.days} days): "
            f"r {self.correlation:.3f}, bias {self.bias_degc:+.2f} degC, July-August "
            f"{self.bias_jul_aug_degc:+.2f} degC; days >= {self.hot_day_degc:g} degC per year: "
            f"station {mean['station']:.1f}, ERA5-Land {mean['reference']:.1f} "
            f"({mean['reference_shifted']:.1f} after removing the July-August bias)"
        )


def compare_daily_tmax(
    reference: pd.Series, station: pd.Series, *, hot_day_degc: float = HOT_DAY_DEGC
) -> TmaxComparison:
    """Compare two daily maximum temperature series (degC) on the days both have.

    Parameters
    ----------
    reference, station : pandas.Series
        Daily Tmax, degC, indexed by date; NaN days are left out of the pairs.
    hot_day_degc : float
        Threshold of a hot day (``>=``), degC.

    Returns
    -------
    TmaxComparison

    Raises
    ------
    ValueError
        With fewer than 30 paired days.
    """
    pairs = pd.concat({"reference": reference, "station": station}, axis=1, join="inner").dropna()
    if len(pairs) < 30:
        raise ValueError(
            f"compare_daily_tmax: expected at least 30 paired days, found {len(pairs)}"
        )
    difference = pairs["reference"] - pairs["station"]
    summer = pairs.index.month.isin(_SUMMER)
    bias_summer = float(difference[summer].mean())
    years = pairs.index.year
    hot = pd.DataFrame(
        {
            "reference": (pairs["reference"] >= hot_day_degc).groupby(years).sum(),
            "station": (pairs["station"] >= hot_day_degc).groupby(years).sum(),
            "reference_shifted": (pairs["reference"] - bias_summer >= hot_day_degc)
            .groupby(years)
            .sum(),
            "paired_days": pairs["station"].groupby(years).size(),
        }
    ).astype(int)
    hot.index.name = "year"
    return TmaxComparison(
        days=len(pairs),
        first_day=pairs.index[0].date().isoformat(),
        last_day=pairs.index[-1].date().isoformat(),
        correlation=float(np.corrcoef(pairs["reference"], pairs["station"])[0, 1]),
        bias_degc=float(difference.mean()),
        bias_jul_aug_degc=bias_summer,
        hot_days=hot,
        hot_day_degc=hot_day_degc,
    )


@dataclass(frozen=True)
class CalibrationOverlap:
    """Years a QDM calibration can use, against the years it needs.

    Attributes
    ----------
    variable : str
    required_years : int
    reference_years : tuple of int
        Complete years of the reference.
    with_historical : tuple of int
        Reference years the ``historical`` projections cover (what ``adjust_qdm`` trains on).
    with_scenarios : tuple of int
        Reference years covered by ``historical`` or by every SSP (a spliced training
        period, historical up to its end and SSPs after).
    missing_projection_years : tuple of int
        Reference years that neither ``historical`` nor every SSP covers: the years the
        projections must add to use the whole reference.
    """

    variable: str
    required_years: int
    reference_years: tuple[int, ...]
    with_historical: tuple[int, ...]
    with_scenarios: tuple[int, ...]
    missing_projection_years: tuple[int, ...]

    def summary(self) -> str:
        """Return one line with the numbers."""
        return (
            f"QDM {self.variable}: reference {_span(self.reference_years)}, trainable against "
            f"historical {len(self.with_historical)} yr ({_span(self.with_historical)}), "
            f"spliced with SSPs {len(self.with_scenarios)} yr; needs {self.required_years} yr; "
            f"projections lack {_span(self.missing_projection_years)}"
        )


def _span(years: Sequence[int]) -> str:
    """Return years as runs, e.g. "2010-2014, 2025"."""
    if not years:
        return "none"
    runs, start, previous = [], years[0], years[0]
    for year in years[1:]:
        if year != previous + 1:
            runs.append((start, previous))
            start = year
        previous = year
    runs.append((start, previous))
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def qdm_calibration_overlap(
    reference_years: Sequence[int],
    projection_years: Mapping[str, Sequence[int]],
    *,
    variable: str,
    required_years: int = 30,
) -> CalibrationOverlap:
    """Return how many reference years a QDM calibration can use with a projection set.

    Parameters
    ----------
    reference_years : sequence of int
        Complete years of the observed reference (e.g.
        :func:`resilience.observed.era5land.complete_years`).
    projection_years : mapping of str to sequence of int
        Years per scenario of the projections, ``historical`` included.
    variable : str
        Name for the summary.
    required_years : int
        Calibration length wanted: 30 years, the WMO climatological standard normal
        (WMO-No. 1203, 2017); the engine's AR6 baseline is 20 (1995-2014).

    Returns
    -------
    CalibrationOverlap
    """
    reference = sorted({int(y) for y in reference_years})
    historical = {int(y) for y in projection_years.get("historical", ())}
    ssps = [set(map(int, v)) for k, v in projection_years.items() if k != "historical"]
    every_ssp = set.intersection(*ssps) if ssps else set()
    covered = historical | every_ssp
    return CalibrationOverlap(
        variable=variable,
        required_years=required_years,
        reference_years=tuple(reference),
        with_historical=tuple(y for y in reference if y in historical),
        with_scenarios=tuple(y for y in reference if y in covered),
        missing_projection_years=tuple(y for y in reference if y not in covered),
    )


def layer_centre_value(
    layer: xr.Dataset,
    variable: str,
    *,
    return_period: float,
    lat: float = CENTRE_LAT,
    lon: float = CENTRE_LON,
) -> float:
    """Return a layer's baseline return level at the cell nearest to a point (median).

    The demo's headline selection (nearest cell, ``quantile`` 0.5, ``horizon`` "baseline",
    the first scenario: the baseline is the same under every scenario).

    Raises
    ------
    KeyError
        If the variable, the return period or the baseline horizon is not in the layer.
    """
    data = layer[variable].sel(lat=lat, lon=lon, method="nearest")
    data = data.sel(return_period=return_period, horizon="baseline")
    if "quantile" in data.dims:
        data = data.sel(quantile=0.5, method="nearest")
    if "scenario" in data.dims:
        data = data.isel(scenario=0)
    return float(data)


@dataclass(frozen=True)
class ReturnLevelComparison:
    """A station GEV return level against the engine's (sample's) baseline level.

    Attributes
    ----------
    variable, units : str
    first_year, last_year, years : int
        Annual maxima used (complete years only).
    method : str
        GEV estimator.
    loc, scale, shape : float
        Station GEV parameters (shape xi > 0: heavy tail).
    return_period : float
    station_level, station_lower, station_upper : float
        Station return level and its 95 % delta-method interval (NaN when the shape sits on
        its bound: the estimate is then not a likelihood maximum).
    sample_level : float
        The engine's baseline return level.
    sample_return_period_at_station : float
        How rare the sample's level is under the station fit, years.
    shape_at_bound : bool
        True when the fitted shape sits on the bound -0.5 or 0.5 (said in the summary).
    """

    variable: str
    units: str
    first_year: int
    last_year: int
    years: int
    method: str
    loc: float
    scale: float
    shape: float
    return_period: float
    station_level: float
    station_lower: float
    station_upper: float
    sample_level: float
    sample_return_period_at_station: float
    shape_at_bound: bool = False

    def summary(self) -> str:
        """Return one line with the numbers."""
        rarity = (
            f"a {self.sample_return_period_at_station:.0f}-yr event at the station"
            if math.isfinite(self.sample_return_period_at_station)
            else "beyond the upper bound of the station's GEV"
        )
        interval = (
            "shape at its bound +-0.5, no valid delta interval; see resilience fit --shape-bound"
            if self.shape_at_bound
            else f"95 % {self.station_lower:.1f}-{self.station_upper:.1f}"
        )
        return (
            f"{self.return_period:g}-yr {self.variable}: station {self.station_level:.1f} "
            f"{self.units} ({interval}; "
            f"{self.years} yr {self.first_year}-{self.last_year}), sample baseline "
            f"{self.sample_level:.1f} {self.units} "
            f"({self.sample_level - self.station_level:+.1f}; {rarity})"
        )


def compare_return_level(
    annual_maxima: pd.Series,
    sample_level: float,
    *,
    variable: str,
    units: str,
    return_period: float = 20.0,
    method: FitMethod = "lmoments",
) -> ReturnLevelComparison:
    """Fit a GEV to station annual maxima and compare a return level with the sample's.

    Parameters
    ----------
    annual_maxima : pandas.Series
        Annual maxima indexed by year; NaN years (incomplete) are left out.
    sample_level : float
        The engine's baseline level for the same return period (e.g.
        :func:`layer_centre_value` of the heat or rain layer).
    variable, units : str
        For the summary (e.g. "TXx", "degC").
    return_period : float
        Years (> 1).
    method : {"lmoments", "mle", "pmle"}
        GEV estimator (:func:`hazard_models.extremes.fit_gev`); L-moments, as the layers.

    Returns
    -------
    ReturnLevelComparison

    Raises
    ------
    ValueError
        With fewer than 10 annual maxima, or a fit that fails.

    Notes
    -----
    z_T (Coles 2001, eq. 3.4); 95 % interval by the delta method (Coles 2001, sec. 3.3.3);
    the sample level's return period at the station is 1 / (1 - F(z)).
    """
    values = annual_maxima.dropna()
    if len(values) < 10:
        raise ValueError(
            f"compare_return_level: expected at least 10 annual maxima, found {len(values)}"
        )
    fit = fit_gev(values.to_numpy(dtype=float), method=method, return_cov=True)
    if str(fit["status"]) != "ok":
        raise ValueError(f"compare_return_level: GEV fit failed ({fit['status']})")
    params = {k: float(fit[k]) for k in ("loc", "scale", "shape")}
    at_bound = bool(fit["shape_at_bound"])
    interval = gev_return_level_ci_delta(params, fit["cov"], [return_period])
    if at_bound:  # not a likelihood maximum: the delta method does not apply (issue 17)
        interval = interval._replace(lower=np.full(1, np.nan), upper=np.full(1, np.nan))
    level = float(return_level(params["loc"], params["scale"], params["shape"], return_period))
    probability = float(exceedance_probability(sample_level, **params))
    return ReturnLevelComparison(
        variable=variable,
        units=units,
        first_year=int(values.index.min()),
        last_year=int(values.index.max()),
        years=len(values),
        method=method,
        return_period=float(return_period),
        station_level=level,
        station_lower=float(interval.lower[0]),
        station_upper=float(interval.upper[0]),
        sample_level=float(sample_level),
        sample_return_period_at_station=1.0 / probability if probability > 0 else math.inf,
        shape_at_bound=at_bound,
        **params,
    )
