"""Extreme-rain hazard layer: rainstorm days, annual totals and return levels of Rx1day.

Pure index functions (:func:`annual_max_daily`, :func:`rainstorm_days`,
:func:`annual_total`) are kept apart from the layer builder (:func:`build_rain_layer`),
which adds metadata and the per-horizon statistics shared with the heat layer. Variables and
dims follow ``docs/decisions.md`` D2; sources are listed in ``docs/science.md`` ("Rain").
"""

from __future__ import annotations

from collections.abc import Sequence

import xarray as xr

from hazard_models._horizon_stats import (
    HorizonRequest,
    ShapePooling,
    check_projection_variable,
    default_scenarios,
    finish_layer,
    reduce_by_year,
    summarise_horizons,
    with_attrs,
)
from hazard_models._horizon_stats import (
    pooling_note as _pooling_note,
)
from hazard_models.horizon import AR6_HORIZONS, Horizon
from hazard_models.layer import append_history

__all__ = [
    "RAINSTORM_THRESHOLD_MM",
    "annual_max_daily",
    "annual_total",
    "build_rain_layer",
    "rainstorm_days",
]

#: A rainstorm day (暴雨日) of the China Meteorological Administration: 24-h precipitation
#: >= 50 mm (precipitation grades of GB/T 28592-2012; the same 50 mm amount anchors the CMA
#: rainstorm warning signals, domain.md 1.2). Daily model totals stand in for 24-h totals.
RAINSTORM_THRESHOLD_MM = 50.0

_RX1DAY_METHOD = (
    "GEV by L-moments (Hosking 1990; Hosking & Wallis 1997) fitted per model to annual maxima "
    "of daily precipitation (ETCCDI Rx1day) over the horizon; return levels per Coles (2001, "
    "eq. 3.4); quantiles across models"
)
_POOLED_METHOD = (
    "GEV by L-moments (Hosking 1990) fitted to annual maxima of daily precipitation of all "
    "models pooled over the horizon (docs/decisions.md D2); shape climate convention xi > 0 "
    "heavy tail"
)


def annual_max_daily(pr: xr.DataArray) -> xr.DataArray:
    """Return the largest daily precipitation of each calendar year (ETCCDI Rx1day).

    Parameters
    ----------
    pr : xarray.DataArray
        Daily precipitation, dims (..., time, ...), mm/day, any calendar.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; mm/day. NaN for a year with no valid day.

    References
    ----------
    ETCCDI climate change indices, Rx1day (Zhang et al. 2011, WIREs Clim. Change 2, 851-870).
    """
    attrs = {"units": "mm/day", "long_name": "annual maximum of daily precipitation"}
    history = "annual_max_daily: yearly maximum of pr (Rx1day)"
    return reduce_by_year(pr, "max").assign_attrs(append_history(attrs, history))


def rainstorm_days(pr: xr.DataArray, threshold_mm: float = RAINSTORM_THRESHOLD_MM) -> xr.DataArray:
    """Return the number of days per calendar year with precipitation at or above a threshold.

    Parameters
    ----------
    pr : xarray.DataArray
        Daily precipitation, dims (..., time, ...), mm/day.
    threshold_mm : float
        Daily amount in mm; default 50 (CMA rainstorm day, :data:`RAINSTORM_THRESHOLD_MM`).

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; units "days". NaN for a year with no valid
        day; missing days otherwise count as dry.
    """
    stormy = reduce_by_year((pr >= threshold_mm).where(pr.notnull()), "sum")
    attrs = {
        "units": "days",
        "long_name": f"days with precipitation >= {threshold_mm:g} mm",
        "threshold_mm": threshold_mm,
    }
    history = f"rainstorm_days: yearly count of pr >= {threshold_mm:g} mm/day"
    return stormy.assign_attrs(append_history(attrs, history))


def annual_total(pr: xr.DataArray) -> xr.DataArray:
    """Return the total precipitation of each calendar year.

    Parameters
    ----------
    pr : xarray.DataArray
        Daily precipitation, dims (..., time, ...), mm/day.

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; mm. Missing days add nothing (a year with no
        valid day is NaN).

    Notes
    -----
    Sum of the daily amounts (mm/day x 1 day) over all days, as ``docs/decisions.md`` D2
    defines ``prcptot``. ETCCDI's PRCPTOT sums wet days (>= 1 mm) only; the days below 1 mm
    add at most 365 mm a year and usually far less.
    """
    attrs = {"units": "mm", "long_name": "annual total precipitation"}
    history = "annual_total: yearly sum of pr x 1 day"
    return reduce_by_year(pr, "sum").assign_attrs(append_history(attrs, history))


def build_rain_layer(
    projections: xr.Dataset,
    *,
    horizons: Sequence[Horizon] = AR6_HORIZONS,
    scenarios: Sequence[str] | None = None,
    return_periods: Sequence[float] = (10, 20, 50, 100),
    quantiles: Sequence[float] = (0.1, 0.5, 0.9),
    rainstorm_threshold_mm: float = RAINSTORM_THRESHOLD_MM,
    inputs_sha256: str = "",
    code_version: str = "",
    shape_pooling: ShapePooling = "index_flood",
) -> xr.Dataset:
    """Build the rain HazardLayer from daily precipitation projections.

    Parameters
    ----------
    projections : xarray.Dataset
        Projections contract: ``pr`` (mm/day), dims (model, scenario, time, lat, lon);
        ``historical`` covers the baseline years and the SSPs the future ones. May be lazy.
    horizons : sequence of Horizon
        Windows of years; ``baseline`` is computed from ``historical`` and repeated under
        every scenario.
    scenarios : sequence of str, optional
        Output SSPs; default: the SSPs present in ``projections``.
    return_periods : sequence of float
        Return periods of ``rx1day``, years (> 1).
    quantiles : sequence of float
        Quantiles across models, in [0, 1].
    rainstorm_threshold_mm : float
        Daily amount that makes a rainstorm day, mm; default 50 (CMA).
    inputs_sha256, code_version : str
        Provenance, copied to the global attributes.
    shape_pooling : {"index_flood", "regional", "site"}
        "index_flood" (default) shares the L-CV and L-skewness over the grid per model,
        scenario and horizon and scales them by each cell's mean annual maximum (regional
        L-moment algorithm, Hosking & Wallis 1997 ch. 6; ``hazard_models.regional``);
        "regional" shares only the shape; "site" fits every cell on its own.

    Returns
    -------
    xarray.Dataset
        HazardLayer with ``rx1day`` (mm/day), ``rainstorm_days`` (days), ``prcptot`` (mm) and
        ``rx1day_gev_loc``, ``rx1day_gev_scale`` (mm/day), ``rx1day_gev_shape`` (1), as in
        ``docs/decisions.md`` D2. Lazy (dask) when the input is.

    Raises
    ------
    SchemaError
        If ``pr`` is missing or has the wrong dims or units, a scenario is missing, or the
        data does not cover a horizon.
    """
    pr = check_projection_variable(projections, "pr", "mm/day")
    request = HorizonRequest(
        horizons=tuple(horizons),
        scenarios=default_scenarios(pr, scenarios),
        return_periods=tuple(float(p) for p in return_periods),
        quantiles=tuple(float(q) for q in quantiles),
        shape_pooling=shape_pooling,
    )
    means = {
        "rainstorm_days": lambda daily: rainstorm_days(daily, rainstorm_threshold_mm),
        "prcptot": annual_total,
    }
    stats = summarise_horizons(pr, annual_max_daily, means, request=request)
    storm_method = (
        f"mean over the horizon of yearly counts of days with pr >= {rainstorm_threshold_mm:g} "
        "mm (CMA rainstorm day, GB/T 28592-2012; see docs/science.md); quantiles across models"
    )
    layer = xr.Dataset(
        {
            "rx1day": with_attrs(
                stats["return_level"],
                "mm/day",
                "return level of annual maximum daily precipitation",
                _RX1DAY_METHOD + _pooling_note(shape_pooling),
            ),
            "rainstorm_days": with_attrs(
                stats["rainstorm_days"],
                "days",
                f"mean annual days with precipitation >= {rainstorm_threshold_mm:g} mm",
                storm_method,
            ),
            "prcptot": with_attrs(
                stats["prcptot"],
                "mm",
                "mean annual precipitation",
                "mean over the horizon of yearly sums of daily precipitation (docs/decisions.md "
                "D2; ETCCDI PRCPTOT without the wet-day filter); quantiles across models",
            ),
        }
    )
    for param, units in (("loc", "mm/day"), ("scale", "mm/day"), ("shape", "1")):
        layer[f"rx1day_gev_{param}"] = with_attrs(
            stats[f"gev_{param}"],
            units,
            f"GEV {param} of annual maximum daily precipitation",
            _POOLED_METHOD + _pooling_note(shape_pooling),
        )
    names = ", ".join(h.name for h in request.horizons)
    history = f"build_rain_layer: horizons {names}; L-moment GEV fits"
    return finish_layer(layer, "rain", history, provenance=(inputs_sha256, code_version))
