"""Station surge report: ``resilience surge --station NAME`` or ``--gauge FILE.csv``.

Fits a GEV to a tide gauge's annual maxima (referred to the 1995-2014 sea level), then for
each scenario and horizon reports the return levels under the sea-level-rise quantiles, the
levels integrated over the whole uncertain rise, the allowance (and Hunter's 2012 Gumbel
closed form beside it), the amplification factor of today's 100-year level and the year in
which each defence standard degrades (``docs/surge.md``). The result is a
:class:`SurgeReport` (pydantic; :func:`to_json`). This module computes and does no I/O:
reading the inputs and rendering tables and plots are in :mod:`resilience.cli_surge`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel

from hazard_models.layer import SchemaError
from resilience.datum import DEFAULT_OFFSETS, DatumOffsets, canonical_datum, datum_shift_m

__all__ = [
    "DEFAULT_SUBSIDENCE_MM_PER_YEAR",
    "DegradationRow",
    "FutureLevel",
    "GaugeRecord",
    "ProjectionRow",
    "SurgeOptions",
    "SurgeReport",
    "build_surge_report",
    "to_json",
]

#: Placeholder land subsidence for a user's gauge, mm/yr: UNCONFIRMED (domain.md 4.3), the
#: same value as the shipped stations table.
DEFAULT_SUBSIDENCE_MM_PER_YEAR = 3.0
_MIN_YEARS = 10


class FutureLevel(BaseModel):
    """Return level of one return period in one scenario and horizon (m on ``datum``)."""

    return_period: float
    likely_low_m: float  #: with the rise at its lower likely quantile
    median_rise_m: float  #: with the median rise
    likely_high_m: float  #: with the rise at its upper likely quantile
    integrated_m: float  #: integrated over the uncertain rise (hazard_models.allowance)
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
    fit: dict[str, float | str]
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


class GaugeRecord(BaseModel):
    """Annual maxima of one gauge (m on ``datum``) and what is known about the gauge."""

    station: str
    station_name: str
    datum: str
    years: list[int]
    maxima_m: list[float]
    subsidence_mm_per_year: float | None = None
    design_level_m: float | None = None  #: the 1000-yr level of the 1984 standard, if known
    source: str
    synthetic: bool = False


def _likely_indices(quantiles: np.ndarray) -> tuple[int, int, int]:
    """Return the indices of the lower likely quantile, the median and the upper one.

    The AR6 likely range (0.17, 0.83) when the table has it, else its outermost quantiles.
    """
    values = [round(float(q), 6) for q in quantiles]
    low = values.index(0.17) if 0.17 in values else 0
    high = values.index(0.83) if 0.83 in values else len(values) - 1
    return low, values.index(0.5), high


def _levels(gev: tuple[float, float, float], periods: np.ndarray) -> np.ndarray:
    from hazard_models.extremes import return_level

    return np.asarray(return_level(*gev, periods), dtype=float)


def _projection(
    gev: tuple[float, float, float],
    rise_m: tuple[float, float, float],
    *,
    horizon: Any,
    scenario: str,
    quantiles: tuple[float, float],
    options: SurgeOptions,
) -> ProjectionRow:
    """Return the row of one scenario and horizon; ``rise_m`` = (low, median, high), m."""
    from hazard_models.allowance import amplification_factor, future_return_level, hunter_allowance
    from hazard_models.sea_level import rise_distribution

    low, median, high = rise_m
    rise = rise_distribution(median, low, high, shape=options.rise_shape, quantiles=quantiles)
    normal = rise_distribution(median, low, high, shape="normal", quantiles=quantiles)
    periods = np.asarray(options.return_periods, dtype=float)
    today = _levels(gev, periods)
    integrated = future_return_level(gev, periods, rise, averaging=options.averaging)
    levels = [
        FutureLevel(
            return_period=float(t),
            likely_low_m=float(z + low),
            median_rise_m=float(z + median),
            likely_high_m=float(z + high),
            integrated_m=float(zi),
            allowance_m=float(zi - z),
        )
        for t, z, zi in zip(periods, today, integrated, strict=True)
    ]
    factor = amplification_factor(
        gev, rise, return_period=options.amplification_return_period, averaging=options.averaging
    )
    return ProjectionRow(
        scenario=scenario,
        horizon=horizon.name,
        mid_year=horizon.mid_year,
        rise_median_m=float(median),
        rise_likely_low_m=float(low),
        rise_likely_high_m=float(high),
        rise_sd_below_m=float(rise.sd_below_m),
        rise_sd_above_m=float(rise.sd_above_m),
        hunter_allowance_m=float(hunter_allowance(normal.mean_m, normal.sd_above_m, gev[1])),
        amplification_factor=float(factor),
        levels=levels,
    )


def _rise_by_year(
    sea_level: pd.DataFrame, *, options: SurgeOptions, subsidence: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """Return the years 2005..last table year and each scenario's RiseDistribution over them."""
    from hazard_models.sea_level import rise_distribution, sea_level_by_year, vertical_land_motion

    years = np.arange(2005, int(sea_level["year"].max()) + 1, dtype=float)
    by_year = sea_level_by_year(sea_level, options.scenarios, years)
    low, mid, high = _likely_indices(by_year["quantile"].values)
    quantiles = (float(by_year["quantile"][low]), float(by_year["quantile"][high]))
    land = vertical_land_motion(subsidence, years)
    rises = {}
    for scenario in options.scenarios:
        table = by_year.sel(scenario=scenario).values
        rises[scenario] = rise_distribution(
            table[:, mid],
            table[:, low],
            table[:, high],
            shape=options.rise_shape,
            quantiles=quantiles,
        ).shifted(land)
    return years, rises


def _degradation(
    gev: tuple[float, float, float],
    standards: list[tuple[str, float, float]],
    sea_level: pd.DataFrame,
    *,
    options: SurgeOptions,
    subsidence: float,
) -> list[DegradationRow]:
    """Degradation year of each (label, level, nominal return period) per scenario."""
    from hazard_models.allowance import degradation_year, future_return_period
    from hazard_models.sea_level import rise_distribution

    years, rises = _rise_by_year(sea_level, options=options, subsidence=subsidence)
    today = rise_distribution(0.0, 0.0, 0.0)
    rows = []
    for label, level, nominal in standards:
        target = nominal / options.degradation_factor
        found: dict[str, int | None] = {}
        for scenario, rise in rises.items():
            year = degradation_year(
                level,
                gev,
                rise,
                years=years,
                target_return_period=target,
                averaging=options.averaging,
            )
            found[scenario] = None if math.isnan(year) else int(year)
        rows.append(
            DegradationRow(
                label=label,
                level_m=level,
                current_return_period_years=float(future_return_period(level, gev, today)),
                degraded_to_years=target,
                year_by_scenario=found,
            )
        )
    return rows


def _fit(record: GaugeRecord, options: SurgeOptions) -> tuple[tuple[float, float, float], Any]:
    """Refer the maxima to 1995-2014 and fit the GEV; return (loc, scale, shape), referred."""
    from hazard_models.extremes import fit_gev
    from hazard_models.surge import refer_to_baseline

    table = pd.DataFrame(
        {"station": record.station, "year": record.years, "annual_max_m": record.maxima_m}
    )
    referred, slopes = refer_to_baseline(table, detrend=options.detrend)
    values = referred["annual_max_m"].to_numpy(dtype=float)
    fit = fit_gev(values[None], method=options.method, min_samples=_MIN_YEARS)
    if fit["status"][0] != "ok":
        raise SchemaError(f"{record.source}: the GEV fit failed ({fit['status'][0]})")
    gev = (float(fit["loc"][0]), float(fit["scale"][0]), float(fit["shape"][0]))
    return gev, (values, float(slopes.iloc[0]))


def _notes(
    record: GaugeRecord, options: SurgeOptions, sea_level_source: str, *, output_datum: str
) -> list[str]:
    """Return the caveats that apply to this report (UNCONFIRMED inputs, synthetic data)."""
    notes = [
        f"sea-level rise from {sea_level_source}; the shipped table is the AR6 GLOBAL mean, not "
        "Shanghai's relative rise (docs/sea_level.md)",
        "Hunter allowance: closed form for a normal rise and a Gumbel tail, lambda = GEV scale "
        "(exact only when the shape is 0); allowance_m is the numerical GEV value",
    ]
    if options.subsidence_mm_per_year is None:
        notes.append("subsidence_mm_per_year is a placeholder: UNCONFIRMED (domain.md 4.3)")
    if record.synthetic:
        notes.append("annual maxima are SYNTHETIC apart from the recorded maxima (D11)")
    wusong = "Wusong" in (canonical_datum(record.datum), output_datum)
    if record.datum != output_datum and wusong and options.wusong_below_1985_m is None:
        notes.append(
            "datum conversion uses the UNCONFIRMED Wusong offset "
            f"{DEFAULT_OFFSETS.wusong_below_1985_m} m (resilience.datum)"
        )
    return notes


def _projections(
    gev: tuple[float, float, float],
    sea_level: pd.DataFrame,
    *,
    options: SurgeOptions,
    subsidence: float,
) -> list[ProjectionRow]:
    """Return one row per scenario and horizon (levels on the record's datum)."""
    from hazard_models.horizon import horizon_by_name
    from hazard_models.sea_level import sea_level_at, vertical_land_motion

    horizons = [horizon_by_name(name) for name in options.horizons]
    rise = sea_level_at(sea_level, options.scenarios, horizons)
    low, mid, high = _likely_indices(rise["quantile"].values)
    quantiles = (float(rise["quantile"][low]), float(rise["quantile"][high]))
    rows = []
    for scenario in options.scenarios:
        for horizon in horizons:
            land = float(vertical_land_motion(subsidence, horizon.mid_year))
            values = rise.sel(scenario=scenario, horizon=horizon.name).values + land
            triple = (float(values[low]), float(values[mid]), float(values[high]))
            rows.append(
                _projection(
                    gev,
                    triple,
                    horizon=horizon,
                    scenario=scenario,
                    quantiles=quantiles,
                    options=options,
                )
            )
    return rows


def _standards(
    gev: tuple[float, float, float], record: GaugeRecord, options: SurgeOptions
) -> list[tuple[str, float, float]]:
    """Return (label, level m, nominal return period) of each standard to degrade."""
    standards = [
        (f"{t:g}-yr today", float(_levels(gev, np.array([t]))[0]), t) for t in options.standards
    ]
    if record.design_level_m is not None and math.isfinite(record.design_level_m):
        standards.append(("1000-yr design 1984", record.design_level_m, 1000.0))
    return standards


def _output_datum(record: GaugeRecord, options: SurgeOptions) -> tuple[str, float]:
    """Return the output datum and the shift (m) from the record's datum to it."""
    offsets = DEFAULT_OFFSETS
    if options.wusong_below_1985_m is not None:
        offsets = DatumOffsets(wusong_below_1985_m=options.wusong_below_1985_m)
    datum = canonical_datum(options.output_datum or record.datum)
    return datum, datum_shift_m(record.datum, datum, offsets=offsets)


def _shift_levels(
    projections: list[ProjectionRow], degradation: list[DegradationRow], shift: float
) -> None:
    """Move every level (not the rises or allowances) by ``shift`` m, in place."""
    for projection in projections:
        for level in projection.levels:
            for name in ("likely_low_m", "median_rise_m", "likely_high_m", "integrated_m"):
                setattr(level, name, getattr(level, name) + shift)
    for standard in degradation:
        standard.level_m += shift


def build_surge_report(
    record: GaugeRecord, sea_level: pd.DataFrame, *, options: SurgeOptions | None = None
) -> SurgeReport:
    """Compute the surge report of one gauge (no I/O).

    Parameters
    ----------
    record : GaugeRecord
        Annual maxima in m on ``record.datum``.
    sea_level : pandas.DataFrame
        Sea-level-rise table (``resilience.tide_io.read_sea_level_projections``), with the
        median and a likely range; ``attrs["source"]`` names it in the report.
    options : SurgeOptions, optional
        Scenarios, horizons, return periods, standards and methods.

    Returns
    -------
    SurgeReport
        Levels in m on ``options.output_datum`` (default the record's datum).

    Raises
    ------
    SchemaError
        A failed fit, an unknown datum, a sea-level table without a scenario or horizon.
    """
    options = options or SurgeOptions()
    given = (options.subsidence_mm_per_year, record.subsidence_mm_per_year)
    subsidence = next((v for v in given if v is not None), DEFAULT_SUBSIDENCE_MM_PER_YEAR)
    datum, shift = _output_datum(record, options)
    gev, (referred, slope) = _fit(record, options)
    projections = _projections(gev, sea_level, options=options, subsidence=subsidence)
    degradation = _degradation(
        gev, _standards(gev, record, options), sea_level, options=options, subsidence=subsidence
    )
    _shift_levels(projections, degradation, shift)
    periods = np.asarray(options.return_periods, dtype=float)
    sea_level_source = str(sea_level.attrs.get("source", "a user table"))
    return SurgeReport(
        station=record.station,
        station_name=record.station_name,
        datum=datum,
        source=record.source,
        synthetic=record.synthetic,
        years=record.years,
        maxima_m=(referred + shift).tolist(),
        fit={
            "method": options.method,
            "loc_m": gev[0] + shift,
            "scale_m": gev[1],
            "shape": gev[2],
            "detrend": options.detrend,
            "trend_removed_mm_per_year": slope * 1000.0,
        },
        baseline={
            f"{t:g}": float(z + shift) for t, z in zip(periods, _levels(gev, periods), strict=True)
        },
        subsidence_mm_per_year=subsidence,
        sea_level_source=sea_level_source,
        rise_shape=options.rise_shape,
        averaging=options.averaging,
        amplification_return_period=options.amplification_return_period,
        projections=projections,
        degradation=degradation,
        notes=_notes(record, options, sea_level_source, output_datum=datum),
    )


def to_json(report: SurgeReport) -> str:
    """Return the report as indented JSON (NaN-free: missing years are null)."""
    return report.model_dump_json(indent=2)
