"""Extreme-rain hazard layer: rainstorm indicators, Rx1day/Rx5day return levels, change.

Pure index functions (:func:`annual_max_daily`, :func:`rainstorm_days`,
:func:`annual_total` here, the others in :mod:`hazard_models.rain.indices`) are kept apart
from the layer builder (:func:`build_rain_layer`), which declares the indicators
(:func:`rain_indicators`) and leaves the per-horizon ensemble statistics to
:mod:`hazard_models.ensemble_stats`. Variables and dims follow ``docs/decisions.md`` D2 and
D17; sources are listed in ``docs/science.md`` ("Rain") and ``docs/hazard_indices.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import xarray as xr

from hazard_models.ensemble_stats import Indicator, horizon_daily, summarise_indicators
from hazard_models.horizon import AR6_HORIZONS, HISTORICAL, Horizon
from hazard_models.horizon_stats import (
    HorizonRequest,
    ShapePooling,
    check_projection_variable,
    default_scenarios,
    finish_layer,
    reduce_by_year,
)
from hazard_models.horizon_stats import pooling_note as _pooling_note
from hazard_models.layer import append_history, synthetic_flag
from hazard_models.rain import indices as ri
from hazard_models.yearly import count_days

__all__ = [
    "RAINSTORM_THRESHOLD_MM",
    "annual_max_daily",
    "annual_total",
    "build_rain_layer",
    "rain_indicators",
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
_RX5DAY_METHOD = _RX1DAY_METHOD.replace(
    "daily precipitation (ETCCDI Rx1day)",
    "5-day precipitation totals within the year (ETCCDI Rx5day)",
)
_POOLED_METHOD = (
    "GEV by L-moments (Hosking 1990) fitted to annual maxima of all models pooled over the "
    "horizon (docs/decisions.md D2); shape climate convention xi > 0 heavy tail"
)
_ACROSS = "mean over the horizon's years per model; quantiles across models"


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
    stormy = count_days(pr, threshold_mm, ">=")
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


def _count_indicator(name: str, threshold_mm: float, label: str) -> Indicator:
    return Indicator(
        name=name,
        compute=lambda d: ri.days_over(d["pr"], threshold_mm),
        units="days",
        long_name=f"mean annual days with precipitation >= {threshold_mm:g} mm",
        method=f"yearly count of days with pr >= {threshold_mm:g} mm ({label}, GB/T 28592-2012; "
        f"daily model totals stand in for 24-h totals); {_ACROSS}",
    )


def rain_indicators(
    reference_p95: xr.DataArray | None = None,
    *,
    rainstorm_threshold_mm: float = RAINSTORM_THRESHOLD_MM,
    heavy_threshold_mm: float = ri.HEAVY_RAINSTORM_THRESHOLD_MM,
) -> list[Indicator]:
    """Return the rain indicators of the layer.

    Parameters
    ----------
    reference_p95 : xarray.DataArray, optional
        Baseline 95th percentile of wet-day precipitation per model and cell (mm/day), for
        R95pTOT; without it R95pTOT is left out.
    rainstorm_threshold_mm, heavy_threshold_mm : float
        Daily amounts of a rainstorm day (50 mm) and a heavy-rainstorm day (100 mm).

    Returns
    -------
    list of Indicator
        Changes of rain amounts and intensities are relative (%), as in IPCC AR6 WGI ch. 11;
        changes of day counts and of the R95pTOT fraction are differences (a relative change
        of a count that is often 0 in the baseline is undefined).
    """
    indicators = [
        Indicator(
            name="rx1day",
            compute=lambda d: annual_max_daily(d["pr"]),
            units="mm/day",
            long_name="return level of annual maximum daily precipitation",
            method=_RX1DAY_METHOD,
            change="relative",
            extreme=True,
            subject="annual maximum daily precipitation",
        ),
        Indicator(
            name="rx5day",
            compute=lambda d: ri.max_n_day_precipitation(d["pr"], 5),
            units="mm",
            long_name="return level of annual maximum 5-day precipitation",
            method=_RX5DAY_METHOD,
            change="relative",
            extreme=True,
            subject="annual maximum 5-day precipitation",
        ),
        _count_indicator("rainstorm_days", rainstorm_threshold_mm, "CMA rainstorm day"),
        _count_indicator("heavy_rainstorm_days", heavy_threshold_mm, "CMA heavy rainstorm"),
        Indicator(
            name="prcptot",
            compute=lambda d: annual_total(d["pr"]),
            units="mm",
            long_name="mean annual precipitation",
            method="yearly sum of daily precipitation (docs/decisions.md D2; ETCCDI PRCPTOT "
            f"without the wet-day filter); {_ACROSS}",
            change="relative",
        ),
        Indicator(
            name="sdii",
            compute=lambda d: ri.sdii(d["pr"]),
            units="mm/day",
            long_name="mean annual simple daily intensity index",
            method=f"ETCCDI SDII: mean pr on wet days (>= 1 mm) of each year; {_ACROSS}",
            change="relative",
        ),
    ]
    if reference_p95 is not None:
        indicators.append(
            Indicator(
                name="r95ptot",
                compute=lambda d: ri.r95ptot(d["pr"], reference_p95),
                units="1",
                long_name="mean annual fraction of wet-day precipitation on very wet days",
                method="ETCCDI R95pTOT (as a fraction): pr on wet days above each model's "
                f"1995-2014 wet-day 95th percentile over PRCPTOT; {_ACROSS}",
            )
        )
    return indicators


def baseline_p95(projections: xr.Dataset, horizon: Horizon = AR6_HORIZONS[0]) -> xr.DataArray:
    """Return each model's baseline 95th percentile of wet-day precipitation, mm/day.

    Dims (model, lat, lon); lazy for dask input. The baseline is ``historical`` over
    ``horizon`` (ETCCDI uses 1961-1990; the layer's baseline keeps changes consistent).
    """
    import dask

    daily = horizon_daily(projections[["pr"]], horizon, ())
    # The percentile needs every baseline day of a cell at once; 16 MiB blocks of cells keep
    # the sort's float64 copies small (128 MiB blocks made it the layer's peak memory).
    with dask.config.set({"array.chunk-size": "16MiB"}):
        percentile = ri.wet_day_percentile(daily["pr"], 0.95)
    return percentile.sel(scenario=HISTORICAL, drop=True)


def build_rain_layer(
    projections: xr.Dataset,
    *,
    horizons: Sequence[Horizon] = AR6_HORIZONS,
    scenarios: Sequence[str] | None = None,
    return_periods: Sequence[float] = (2, 5, 10, 20, 50, 100),
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
        every scenario. Changes and R95pTOT need the baseline among them.
    scenarios : sequence of str, optional
        Output SSPs; default: the SSPs present in ``projections``.
    return_periods : sequence of float
        Return periods of ``rx1day`` and ``rx5day``, years (> 1). The IDF layer interpolates
        the change of ``rx1day`` between them.
    quantiles : sequence of float
        Quantiles across models, in [0, 1].
    rainstorm_threshold_mm : float
        Daily amount that makes a rainstorm day, mm; default 50 (CMA).
    inputs_sha256, code_version : str
        Provenance, copied to the global attributes.
    shape_pooling : {"index_flood", "regional", "site"}
        "index_flood" (default) shares the L-CV and L-skewness over the grid per model,
        scenario and horizon and scales them by each cell's mean annual maximum (regional
        L-moment algorithm, Hosking & Wallis 1997 ch. 6; ``hazard_models.extremes.regional``);
        "regional" shares only the shape; "site" fits every cell on its own.

    Returns
    -------
    xarray.Dataset
        HazardLayer (``docs/decisions.md`` D2, D17): ``rx1day`` (mm/day) and ``rx5day`` (mm)
        return levels with their ``_gev_loc``, ``_gev_scale``, ``_gev_shape``; mean yearly
        ``rainstorm_days``, ``heavy_rainstorm_days`` (days), ``prcptot`` (mm), ``sdii``
        (mm/day) and ``r95ptot`` (1); each with ``{name}_change`` (% for amounts, a
        difference for counts and the fraction) and
        ``{name}_robustness``. Lazy (dask) when the input is.

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
    baseline = [h for h in request.horizons if h.is_baseline]
    reference = baseline_p95(projections, baseline[0]) if baseline else None
    indicators = rain_indicators(reference, rainstorm_threshold_mm=rainstorm_threshold_mm)
    stats = summarise_indicators(
        projections[["pr"]],
        indicators,
        request=request,
        gev_method=_POOLED_METHOD + _pooling_note(shape_pooling),
    )
    for name in ("rx1day", "rx5day"):
        stats[name].attrs["method"] += _pooling_note(shape_pooling)
    layer = xr.Dataset(stats)
    names = ", ".join(h.name for h in request.horizons)
    history = f"build_rain_layer: horizons {names}; {len(indicators)} indicators; L-moment GEV fits"
    return finish_layer(
        layer,
        "rain",
        history,
        provenance=(inputs_sha256, code_version),
        synthetic=synthetic_flag(projections.attrs),
    )
