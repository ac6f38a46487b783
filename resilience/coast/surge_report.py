"""Station surge report: ``resilience surge --station NAME`` or ``--gauge FILE.csv``.

Fits a GEV to a tide gauge's annual maxima (referred to the 1995-2014 sea level), or takes
the GEV equivalent of a peaks-over-threshold fit of its hourly record
(:mod:`hazard_models.coast.gauge_extremes`), then for each scenario and horizon reports the return
levels under the sea-level-rise quantiles, the levels integrated over the whole uncertain
rise, the allowance (and Hunter's 2012 Gumbel closed form beside it), the amplification
factor of today's 100-year level and the year in which each defence standard degrades
(``docs/surge.md``; rows in :mod:`resilience.coast.surge_projection`). The result is a
:class:`SurgeReport` (pydantic, :mod:`resilience.coast.surge_models`; :func:`to_json`). This module
computes and does no I/O: reading the inputs is in :mod:`resilience.coast.surge_inputs`, tables and
plots in :mod:`resilience.cli.surge`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hazard_models.layer import SchemaError
from resilience.coast.datum import DEFAULT_OFFSETS, DatumOffsets, canonical_datum, datum_shift_m
from resilience.coast.surge_models import (
    DegradationRow,
    FutureLevel,
    GaugeRecord,
    PeaksSummary,
    ProjectionRow,
    SurgeOptions,
    SurgeReport,
)
from resilience.coast.surge_projection import (
    degradation_rows,
    projection_rows,
    return_levels_m,
    standard_levels,
)

__all__ = [
    "DEFAULT_SUBSIDENCE_MM_PER_YEAR",
    "DegradationRow",
    "FutureLevel",
    "GaugeRecord",
    "PeaksSummary",
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
Gev = tuple[float, float, float]


def _fit(record: GaugeRecord, options: SurgeOptions) -> tuple[Gev, np.ndarray, dict]:
    """Return today's GEV, the referred annual maxima (m) and the fit's description.

    Annual maxima: refer them to 1995-2014 and fit the GEV. Hourly record: the GEV
    equivalent of its POT fit (the maxima are already referred).
    """
    peaks = record.peaks
    if peaks is not None:
        gev = (peaks.gev_loc_m, peaks.gev_scale_m, peaks.gev_shape)
        fit: dict[str, float | int | str] = {"method": f"pot_gpd_{peaks.method}"}
        fit |= {"detrend": options.detrend}
        fit |= {"trend_removed_mm_per_year": peaks.trend_m_per_year * 1000.0}
        fit |= {"threshold_m": peaks.threshold_m, "gpd_scale_m": peaks.gpd_scale_m}
        fit |= {"gpd_shape": peaks.gpd_shape, "storm_peaks_per_year": peaks.rate_per_year}
        fit |= {"storm_peaks": peaks.n_clusters, "run_length_hours": peaks.run_length_hours}
        return gev, np.asarray(record.maxima_m, dtype=float), fit
    from hazard_models.coast.gauge_extremes import refer_to_baseline
    from hazard_models.extremes.gev_fit import fit_gev

    table = pd.DataFrame(
        {"station": record.station, "year": record.years, "annual_max_m": record.maxima_m}
    )
    referred, slopes = refer_to_baseline(table, detrend=options.detrend)
    values = referred["annual_max_m"].to_numpy(dtype=float)
    result = fit_gev(values[None], method=options.method, min_samples=_MIN_YEARS)
    if result["status"][0] != "ok":
        raise SchemaError(f"{record.source}: the GEV fit failed ({result['status'][0]})")
    gev = (float(result["loc"][0]), float(result["scale"][0]), float(result["shape"][0]))
    fit = {"method": options.method, "detrend": options.detrend}
    fit |= {"trend_removed_mm_per_year": float(slopes.iloc[0]) * 1000.0}
    fit |= {"shape_at_bound": "yes" if bool(result["shape_at_bound"][0]) else "no"}
    return gev, values, fit


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
    if record.peaks is not None:
        notes.append(
            "hourly record: GEV equivalent of a declustered peaks-over-threshold GPD fit "
            "(Coles 2001, sec. 4.2.2; threshold and 72 h runs after Arns et al. 2013)"
        )
    wusong = "Wusong" in (canonical_datum(record.datum), output_datum)
    if record.datum != output_datum and wusong and options.wusong_below_1985_m is None:
        notes.append(
            "datum conversion uses the UNCONFIRMED Wusong offset "
            f"{DEFAULT_OFFSETS.wusong_below_1985_m} m (resilience.coast.datum)"
        )
    return notes


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


def _shifted_fit(fit: dict, gev: Gev, shift: float) -> dict[str, float | int | str]:
    """Return the fit description with its levels (loc, threshold) on the output datum."""
    out = {"method": fit["method"], "loc_m": gev[0] + shift, "scale_m": gev[1], "shape": gev[2]}
    out |= {k: v for k, v in fit.items() if k != "method"}
    if "threshold_m" in out:
        out["threshold_m"] = float(out["threshold_m"]) + shift
    return out


def build_surge_report(
    record: GaugeRecord, sea_level: pd.DataFrame, *, options: SurgeOptions | None = None
) -> SurgeReport:
    """Compute the surge report of one gauge (no I/O).

    Parameters
    ----------
    record : GaugeRecord
        Annual maxima in m on ``record.datum`` (or the POT fit of an hourly record).
    sea_level : pandas.DataFrame
        Sea-level-rise table (``resilience.coast.tide_io.read_sea_level_projections``), with the
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
    gev, referred, fit = _fit(record, options)
    projections = projection_rows(gev, sea_level, options=options, subsidence=subsidence)
    standards = standard_levels(gev, record, options)
    degradation = degradation_rows(
        gev, standards, sea_level, options=options, subsidence=subsidence
    )
    _shift_levels(projections, degradation, shift)
    periods = np.asarray(options.return_periods, dtype=float)
    today = return_levels_m(gev, periods)
    sea_level_source = str(sea_level.attrs.get("source", "a user table"))
    return SurgeReport(
        station=record.station,
        station_name=record.station_name,
        datum=datum,
        source=record.source,
        synthetic=record.synthetic,
        years=record.years,
        maxima_m=(referred + shift).tolist(),
        fit=_shifted_fit(fit, gev, shift),
        baseline={f"{t:g}": float(z + shift) for t, z in zip(periods, today, strict=True)},
        subsidence_mm_per_year=subsidence,
        sea_level_source=sea_level_source,
        rise_shape=options.rise_shape,
        averaging=options.averaging,
        amplification_return_period=options.amplification_return_period,
        projections=projections,
        degradation=degradation,
        notes=_notes(record, options, sea_level_source, output_datum=datum) + _bound_note(fit),
    )


def _bound_note(fit: dict) -> list[str]:
    """Say when the GEV shape sits on its bound: the levels are then computed at a limit."""
    if fit.get("shape_at_bound") != "yes":
        return []
    return [
        "the GEV shape sits on its bound +-0.5: the fit is not a likelihood maximum and the "
        "long return levels rest on the bound; refit with `resilience fit --shape-bound` "
        "(docs/extremes.md)"
    ]


def to_json(report: SurgeReport) -> str:
    """Return the report as indented JSON (NaN-free: missing years are null)."""
    return report.model_dump_json(indent=2)
