"""Extreme-heat hazard layer: yearly heat indicators, TXx return levels and their change.

Pure index functions (in :mod:`hazard_models.heat.indices` and
:mod:`hazard_models.heat.humid_heat`) are kept apart from the layer builder
(:func:`build_heat_layer`), which declares the indicators (:func:`heat_indicators`) and
leaves the per-horizon ensemble statistics to :mod:`hazard_models.ensemble_stats`.
Variables and dims follow ``docs/decisions.md`` D2 and D17; the sources of every threshold
and formula are listed in ``docs/science.md`` ("Heat") and ``docs/hazard_indices.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import xarray as xr

from hazard_models.ensemble_stats import Indicator, summarise_indicators
from hazard_models.heat import indices as hi
from hazard_models.heat.humid_heat import heat_index_max
from hazard_models.horizon import AR6_HORIZONS, Horizon
from hazard_models.horizon_stats import (
    HorizonRequest,
    ShapePooling,
    check_projection_variable,
    default_scenarios,
    finish_layer,
    reduce_by_year,
)
from hazard_models.horizon_stats import pooling_note as _pooling_note
from hazard_models.layer import synthetic_flag

__all__ = [
    "HOT_DAY_THRESHOLDS_DEGC",
    "HOT_DAY_THRESHOLD_DEGC",
    "build_heat_layer",
    "daily_mean_temperature",
    "heat_indicators",
]

#: A "high-temperature day" (高温日) of the China Meteorological Administration: daily maximum
#: temperature >= 35 degC. It is the national climatological count and the base of the CMA
#: high-temperature warning signal (domain.md 1.2, 4.4); Shanghai issues its yellow signal
#: when the day's maximum is expected to exceed 35 degC (domain.md 1.3).
HOT_DAY_THRESHOLD_DEGC = 35.0
#: Hot-day thresholds counted by the layer: 35 degC (CMA high-temperature day and yellow
#: signal), 37 degC (orange signal: maximum >= 37 degC within 24 h) and 40 degC (red signal:
#: maximum >= 40 degC within 24 h); CMA high-temperature warning criteria, domain.md 1.2.
HOT_DAY_THRESHOLDS_DEGC: tuple[float, ...] = (35.0, 37.0, 40.0)

_ACROSS = "mean over the horizon's years per model; quantiles across models"
_TXX_METHOD = (
    "GEV by L-moments (Hosking 1990; Hosking & Wallis 1997) fitted per model to annual maxima "
    "of daily Tmax over the horizon; return levels per Coles (2001, eq. 3.4); quantiles across "
    "models"
)
_POOLED_METHOD = (
    "GEV by L-moments (Hosking 1990) fitted to annual maxima of daily Tmax of all models "
    "pooled over the horizon (docs/decisions.md D2); shape climate convention xi > 0 heavy tail"
)
_TAS_METHOD = (
    "daily mean temperature tas, or (tasmax + tasmin) / 2 where tas is absent (the "
    "approximation WMO-No. 1203, Guidelines on the Calculation of Climate Normals, 2017, "
    "accepts for daily means)"
)


def daily_mean_temperature(daily: xr.Dataset) -> xr.DataArray:
    """Return daily mean temperature: ``tas``, else (tasmax + tasmin) / 2, degC.

    Raises
    ------
    KeyError
        If neither ``tas`` nor both ``tasmax`` and ``tasmin`` are present.
    """
    if "tas" in daily.data_vars:
        return daily["tas"]
    return (daily["tasmax"] + daily["tasmin"]) / 2.0


def _annual_mean(daily: xr.DataArray) -> xr.DataArray:
    """Return the mean of the valid days of each calendar year."""
    return reduce_by_year(daily, "mean")


def _hot_days(threshold: float) -> Callable[[xr.Dataset], xr.DataArray]:
    def compute(daily: xr.Dataset) -> xr.DataArray:
        return hi.tx_days_above(daily["tasmax"], threshold)

    return compute


def _hot_day_indicators(thresholds: Sequence[float]) -> list[Indicator]:
    out = []
    for threshold in thresholds:
        out.append(
            Indicator(
                name=f"tx_days_above_{threshold:g}",
                compute=_hot_days(threshold),
                units="days",
                long_name=f"mean annual days with Tmax >= {threshold:g} degC",
                method=f"yearly count of days with Tmax >= {threshold:g} degC (CMA high-"
                f"temperature criteria, docs/hazard_indices.md); {_ACROSS}",
            )
        )
    return out


def _tasmax_indicators(thresholds: Sequence[float]) -> list[Indicator]:
    return [
        Indicator(
            name="txx",
            compute=lambda d: hi.tx_max(d["tasmax"]),
            units="degC",
            long_name="return level of annual maximum Tmax",
            method=_TXX_METHOD,
            change_units="K",
            extreme=True,
            subject="annual maximum of daily Tmax",
        ),
        *_hot_day_indicators(thresholds),
        Indicator(
            name="hot_spell_frequency",
            compute=lambda d: hi.heat_wave_events(d["tasmax"]),
            units="yr-1",  # events per year (UDUNITS); a plain count would be "1"
            long_name="mean annual number of heat waves (>= 3 consecutive days Tmax >= 35 degC)",
            method="yearly count of runs of >= 3 consecutive days with Tmax >= 35 degC (CMA "
            f"high-temperature criterion, domain.md 1.2; xclim hot_spell_frequency); {_ACROSS}",
        ),
        Indicator(
            name="hot_spell_max_length",
            compute=lambda d: hi.longest_heat_wave(d["tasmax"]),
            units="days",
            long_name="mean annual length of the longest heat wave",
            method="yearly longest run of >= 3 consecutive days with Tmax >= 35 degC (0 without "
            f"a heat wave; xclim hot_spell_max_length); {_ACROSS}",
        ),
    ]


def _night_and_mean_indicators(hot_night_degc: float, cooling_base_degc: float) -> list:
    return [
        Indicator(
            name="tnx",
            compute=lambda d: hi.tn_max(d["tasmin"]),
            units="degC",
            long_name="mean annual maximum of Tmin",
            method=f"ETCCDI TNx, yearly maximum of daily Tmin (Zhang et al. 2011); {_ACROSS}",
            change_units="K",
        ),
        Indicator(
            name="tropical_nights",
            compute=lambda d: hi.tropical_nights(d["tasmin"], hot_night_degc),
            units="days",
            long_name=f"mean annual hot nights (Tmin >= {hot_night_degc:g} degC)",
            method=f"yearly count of days with Tmin >= {hot_night_degc:g} degC (threshold "
            f"UNCONFIRMED, configurable; docs/hazard_indices.md); {_ACROSS}",
        ),
        Indicator(
            name="cooling_degree_days",
            compute=lambda d: hi.cooling_degree_days(daily_mean_temperature(d), cooling_base_degc),
            units="K d",
            long_name=f"mean annual cooling degree days above {cooling_base_degc:g} degC",
            method=f"yearly sum of max(0, tas - {cooling_base_degc:g} degC) (base UNCONFIRMED, "
            f"configurable); {_TAS_METHOD}; {_ACROSS}",
        ),
        Indicator(
            name="tg_mean",
            compute=lambda d: _annual_mean(daily_mean_temperature(d)),
            units="degC",
            long_name="mean annual temperature",
            method=f"yearly mean of {_TAS_METHOD}; {_ACROSS}; its change is the local warming "
            "used by the Clausius-Clapeyron IDF uplift",
            change_units="K",
        ),
    ]


def heat_indicators(
    variables: Sequence[str],
    *,
    hot_day_thresholds_degc: Sequence[float] = HOT_DAY_THRESHOLDS_DEGC,
    hot_night_degc: float = hi.HOT_NIGHT_THRESHOLD_DEGC,
    cooling_base_degc: float = hi.COOLING_BASE_DEGC,
) -> list[Indicator]:
    """Return the heat indicators that the available daily variables allow.

    Parameters
    ----------
    variables : sequence of str
        Daily variables present: ``tasmax`` is required; ``tasmin`` (or ``tas``) adds TNx,
        hot nights, cooling degree days and the mean temperature; ``hurs`` adds the humid
        heat index.
    hot_day_thresholds_degc : sequence of float
        Tmax thresholds of the hot-day counts, degC.
    hot_night_degc, cooling_base_degc : float
        Hot-night threshold and cooling-degree-day base, degC (both UNCONFIRMED).

    Returns
    -------
    list of Indicator
    """
    present = set(variables)
    indicators = _tasmax_indicators(hot_day_thresholds_degc)
    if "tasmin" in present or "tas" in present:
        night = _night_and_mean_indicators(hot_night_degc, cooling_base_degc)
        needs_tasmin = {"tnx", "tropical_nights"}
        indicators += [i for i in night if "tasmin" in present or i.name not in needs_tasmin]
    if "hurs" in present:
        indicators.append(
            Indicator(
                name="heat_index_max",
                compute=lambda d: heat_index_max(d["tasmax"], d["hurs"]),
                units="degC",
                long_name="mean annual maximum of the daily heat index",
                method="yearly maximum of the US NWS heat index (Rothfusz 1990) from daily Tmax "
                f"and daily-mean relative humidity (conservative pairing); {_ACROSS}",
                change_units="K",
            )
        )
    return indicators


def build_heat_layer(
    projections: xr.Dataset,
    *,
    horizons: Sequence[Horizon] = AR6_HORIZONS,
    scenarios: Sequence[str] | None = None,
    return_periods: Sequence[float] = (10, 20, 50, 100),
    quantiles: Sequence[float] = (0.1, 0.5, 0.9),
    inputs_sha256: str = "",
    code_version: str = "",
    shape_pooling: ShapePooling = "regional",
    hot_night_degc: float = hi.HOT_NIGHT_THRESHOLD_DEGC,
    cooling_base_degc: float = hi.COOLING_BASE_DEGC,
) -> xr.Dataset:
    """Build the heat HazardLayer from daily temperature projections.

    Parameters
    ----------
    projections : xarray.Dataset
        Projections contract: ``tasmax`` (degC) required; ``tasmin``, ``tas`` (degC) and
        ``hurs`` (%) used when present; dims (model, scenario, time, lat, lon);
        ``historical`` covers the baseline years and the SSPs the future ones. May be lazy.
    horizons : sequence of Horizon
        Windows of years; ``baseline`` is computed from ``historical`` and repeated under
        every scenario. Changes need the baseline among them.
    scenarios : sequence of str, optional
        Output SSPs; default: the SSPs present in ``projections``.
    return_periods : sequence of float
        Return periods of ``txx``, years (> 1).
    quantiles : sequence of float
        Quantiles across models, in [0, 1].
    inputs_sha256, code_version : str
        Provenance, copied to the global attributes.
    shape_pooling : {"regional", "site"} (or "index_flood", meaningless for degC)
        "regional" (default) shares one GEV shape over the grid per model, scenario and
        horizon (regional L-moments, Hosking & Wallis 1997 ch. 6;
        ``hazard_models.extremes.regional``);
        "site" fits a shape per cell.
    hot_night_degc, cooling_base_degc : float
        Hot-night threshold and cooling-degree-day base, degC (UNCONFIRMED, configurable).

    Returns
    -------
    xarray.Dataset
        HazardLayer (``docs/decisions.md`` D2, D17): ``txx`` return levels (degC) with
        ``txx_gev_loc``, ``_scale`` (degC), ``_shape`` (1); mean yearly
        ``tx_days_above_35``, ``_37``, ``_40`` (days), ``hot_spell_frequency`` (1),
        ``hot_spell_max_length`` (days) and, with tasmin, ``tnx``, ``tropical_nights``,
        ``cooling_degree_days``, ``tg_mean``; with hurs ``heat_index_max``. Every indicator
        has ``{name}_change`` and ``{name}_robustness``. Lazy (dask) when the input is.

    Raises
    ------
    SchemaError
        If ``tasmax`` is missing or a variable has the wrong dims or units, a scenario is
        missing, or the data does not cover a horizon.
    """
    tasmax = check_projection_variable(projections, "tasmax", "degC")
    names = ["tasmax"]
    for name, units in (("tasmin", "degC"), ("tas", "degC"), ("hurs", "%")):
        if name in projections.data_vars:
            check_projection_variable(projections, name, units)
            names.append(name)
    request = HorizonRequest(
        horizons=tuple(horizons),
        scenarios=default_scenarios(tasmax, scenarios),
        return_periods=tuple(float(p) for p in return_periods),
        quantiles=tuple(float(q) for q in quantiles),
        shape_pooling=shape_pooling,
    )
    indicators = heat_indicators(
        names, hot_night_degc=hot_night_degc, cooling_base_degc=cooling_base_degc
    )
    stats = summarise_indicators(
        projections[names],
        indicators,
        request=request,
        gev_method=_POOLED_METHOD + _pooling_note(shape_pooling),
    )
    stats["txx"].attrs["method"] += _pooling_note(shape_pooling)
    layer = xr.Dataset(stats)
    horizon_names = ", ".join(h.name for h in request.horizons)
    history = (
        f"build_heat_layer: horizons {horizon_names}; variables {', '.join(names)}; "
        f"{len(indicators)} indicators; L-moment GEV fits"
    )
    return finish_layer(
        layer,
        "heat",
        history,
        provenance=(inputs_sha256, code_version),
        synthetic=synthetic_flag(projections.attrs),
    )
