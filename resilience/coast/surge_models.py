"""The data of a station surge report: options, the gauge record and the report itself.

Pydantic models only (no computation): :class:`SurgeOptions` (the choices of
``resilience surge``), :class:`GaugeRecord` (annual maxima of one gauge, or the peaks-over-
threshold fit of its hourly record, :class:`PeaksSummary`) and :class:`SurgeReport` with its
rows (what ``resilience surge --json`` prints). Built by :mod:`resilience.coast.surge_report`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

__all__ = [
    "DegradationRow",
    "FutureLevel",
    "GaugeRecord",
    "PeaksSummary",
    "ProjectionRow",
    "SurgeOptions",
    "SurgeReport",
]


class FutureLevel(BaseModel):
    """Return level of one return period in one scenario and horizon (m on ``datum``)."""

    return_period: float
    likely_low_m: float  #: with the rise at its lower likely quantile
    median_rise_m: float  #: with the median rise
    likely_high_m: float  #: with the rise at its upper likely quantile
    integrated_m: float  #: integrated over the uncertain rise (hazard_models.coast.allowance)
    allowance_m: float  #: integrated_m - today's level


class ProjectionRow(BaseModel):
    """Relative sea-level rise and its consequences in one scenario and horizon."""

    scenario: str
    horizon: str
    mid_year: float
    rise_median_m: float  #: relative rise (sea level + land motion) vs 1995-2014
    rise_likely_low_m: float
    rise_likely_high_m: float
    rise_sd_below_m: float  #: sd of the lower half of the fitted rise distribution
    rise_sd_above_m: float
    hunter_allowance_m: float  #: mu + sigma^2 / (2 lambda), normal rise, lambda = GEV scale
    amplification_factor: float  #: of today's ``amplification_return_period`` level
    levels: list[FutureLevel]


class DegradationRow(BaseModel):
    """When a standard level becomes a ``degraded_to_years`` event, per scenario."""

    label: str
    level_m: float
    current_return_period_years: float
    degraded_to_years: float
    year_by_scenario: dict[str, int | None]  #: None: not within the sea-level table


class SurgeReport(BaseModel):
    """What ``resilience surge --json`` prints."""

    station: str
    station_name: str
    datum: str
    source: str
    synthetic: bool
    years: list[int]
    maxima_m: list[float]  #: annual maxima referred to the 1995-2014 sea level
    fit: dict[str, float | int | str]
    baseline: dict[str, float]  #: return period (str) -> today's level, m
    subsidence_mm_per_year: float
    sea_level_source: str
    rise_shape: Literal["piecewise_normal", "normal"]
    averaging: Literal["rate", "probability"]
    amplification_return_period: float
    projections: list[ProjectionRow]
    degradation: list[DegradationRow]
    notes: list[str]


class SurgeOptions(BaseModel):
    """Choices of a surge report; the defaults are those of the CLI."""

    scenarios: list[str] = ["ssp126", "ssp245", "ssp585"]
    horizons: list[str] = ["near", "mid", "far"]
    return_periods: list[float] = [10.0, 100.0, 200.0, 1000.0]
    standards: list[float] = [1000.0, 200.0, 100.0]  #: defence standards, return periods
    degradation_factor: float = 10.0  #: a standard T is degraded when it is a T/factor event
    amplification_return_period: float = 100.0
    method: Literal["mle", "lmoments", "pmle"] = "mle"
    detrend: Literal["theil_sen", "none"] = "theil_sen"
    rise_shape: Literal["piecewise_normal", "normal"] = "piecewise_normal"
    averaging: Literal["rate", "probability"] = "rate"
    subsidence_mm_per_year: float | None = None  #: None: the station's (or the placeholder)
    output_datum: str | None = None  #: None: the record's own datum
    wusong_below_1985_m: float | None = None  #: None: the UNCONFIRMED default 1.717 m
    threshold_quantile: float = 0.997  #: hourly records: POT threshold (Arns et al. 2013)
    threshold_m: float | None = None  #: hourly records: POT threshold in m, if given
    decluster_hours: int = 72  #: hourly records: hours below the threshold that end a storm


class PeaksSummary(BaseModel):
    """Peaks-over-threshold fit of an hourly record (m on the record's datum).

    The fields of :class:`hazard_models.coast.gauge_extremes.PeaksFit`; ``gev_*`` is the
    equivalent GEV of annual maxima that the report uses (Coles 2001, sec. 4.2.2).
    """

    threshold_m: float
    threshold_quantile: float | None  #: None when the threshold was given in m
    gpd_scale_m: float
    gpd_shape: float
    rate_per_year: float  #: storm peaks above the threshold per year
    n_clusters: int
    n_exceed: int  #: hours above the threshold
    years_of_record: float
    run_length_hours: int
    trend_m_per_year: float
    method: Literal["mle", "lmoments"]
    gev_loc_m: float
    gev_scale_m: float
    gev_shape: float


class GaugeRecord(BaseModel):
    """Annual maxima of one gauge (m on ``datum``) and what is known about the gauge.

    For an hourly record ``peaks`` holds its POT fit, and ``maxima_m`` the annual maxima of
    the hourly levels already referred to 1995-2014 (they are plotted, not fitted).
    """

    station: str
    station_name: str
    datum: str
    years: list[int]
    maxima_m: list[float]
    subsidence_mm_per_year: float | None = None
    design_level_m: float | None = None  #: the 1000-yr level of the 1984 standard, if known
    source: str
    synthetic: bool = False
    peaks: PeaksSummary | None = None
