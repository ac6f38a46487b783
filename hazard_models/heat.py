"""Extreme-heat hazard layer: hot-day counts and return levels of the annual maximum Tmax.

Pure index functions (:func:`annual_max`, and ``tx_days_above`` in
:mod:`hazard_models.heat_indices`) are kept apart from the layer
builder (:func:`build_heat_layer`), which adds metadata and the per-horizon statistics of
``hazard_models._horizon_stats``. Variables and dims follow ``docs/decisions.md`` D2; the
sources of every threshold and formula are listed in ``docs/science.md`` ("Heat").
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
from hazard_models.heat_indices import tx_days_above
from hazard_models.horizon import AR6_HORIZONS, Horizon
from hazard_models.layer import append_history

__all__ = ["HOT_DAY_THRESHOLD_DEGC", "annual_max", "build_heat_layer"]

#: A "high-temperature day" (高温日) of the China Meteorological Administration: daily maximum
#: temperature >= 35 degC. It is the national climatological count and the base of the CMA
#: high-temperature warning signal (domain.md 1.2, 4.4); Shanghai issues its yellow signal
#: when the day's maximum is expected to exceed 35 degC (domain.md 1.3).
HOT_DAY_THRESHOLD_DEGC = 35.0

_TXX_METHOD = (
    "GEV by L-moments (Hosking 1990; Hosking & Wallis 1997) fitted per model to annual maxima "
    "of daily Tmax over the horizon; return levels per Coles (2001, eq. 3.4); quantiles across "
    "models"
)
_POOLED_METHOD = (
    "GEV by L-moments (Hosking 1990) fitted to annual maxima of daily Tmax of all models "
    "pooled over the horizon (docs/decisions.md D2); shape climate convention xi > 0 heavy tail"
)
_DAYS_METHOD = (
    "mean over the horizon of yearly counts of days with Tmax >= 35 degC (CMA high-temperature "
    "day, see docs/science.md); quantiles across models of per-model means"
)


def annual_max(tasmax: xr.DataArray) -> xr.DataArray:
    """Return the maximum daily Tmax of each calendar year (ETCCDI TXx).

    Parameters
    ----------
    tasmax : xarray.DataArray
        Daily maximum near-surface air temperature, dims (..., time, ...), degC. Any
        calendar (cftime ``noleap`` included).

    Returns
    -------
    xarray.DataArray
        Dims with ``time`` replaced by ``year``; degC. A year with no valid day is NaN.

    References
    ----------
    ETCCDI climate change indices, TXx (Zhang et al. 2011, WIREs Clim. Change 2, 851-870).
    """
    result = reduce_by_year(tasmax, "max")
    attrs = {"units": tasmax.attrs.get("units", "degC"), "long_name": "annual maximum of Tmax"}
    return result.assign_attrs(append_history(attrs, "annual_max: yearly maximum of tasmax"))


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
) -> xr.Dataset:
    """Build the heat HazardLayer from daily Tmax projections.

    Parameters
    ----------
    projections : xarray.Dataset
        Projections contract: ``tasmax`` (degC), dims (model, scenario, time, lat, lon);
        ``historical`` covers the baseline years and the SSPs the future ones. May be lazy.
    horizons : sequence of Horizon
        Windows of years; ``baseline`` is computed from ``historical`` and repeated under
        every scenario.
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
        horizon (regional L-moments, Hosking & Wallis 1997 ch. 6; ``hazard_models.regional``);
        "site" fits a shape per cell.

    Returns
    -------
    xarray.Dataset
        HazardLayer with ``tx_days_above_35`` (days), ``txx`` (degC) and ``txx_gev_loc``,
        ``txx_gev_scale`` (degC), ``txx_gev_shape`` (1), as in ``docs/decisions.md`` D2.
        Lazy (dask) when the input is.

    Raises
    ------
    SchemaError
        If ``tasmax`` is missing or has the wrong dims or units, a scenario is missing, or the
        data does not cover a horizon.
    """
    tasmax = check_projection_variable(projections, "tasmax", "degC")
    request = HorizonRequest(
        horizons=tuple(horizons),
        scenarios=default_scenarios(tasmax, scenarios),
        return_periods=tuple(float(p) for p in return_periods),
        quantiles=tuple(float(q) for q in quantiles),
        shape_pooling=shape_pooling,
    )
    stats = summarise_horizons(tasmax, annual_max, {"days": tx_days_above}, request=request)
    layer = xr.Dataset(
        {
            "tx_days_above_35": with_attrs(
                stats["days"], "days", "mean annual days with Tmax >= 35 degC", _DAYS_METHOD
            ),
            "txx": with_attrs(
                stats["return_level"],
                "degC",
                "return level of annual maximum Tmax",
                _TXX_METHOD + _pooling_note(shape_pooling),
            ),
        }
    )
    for param, units in (("loc", "degC"), ("scale", "degC"), ("shape", "1")):
        layer[f"txx_gev_{param}"] = with_attrs(
            stats[f"gev_{param}"],
            units,
            f"GEV {param} of annual maximum Tmax",
            _POOLED_METHOD + _pooling_note(shape_pooling),
        )
    names = ", ".join(h.name for h in request.horizons)
    history = f"build_heat_layer: horizons {names}; L-moment GEV fits"
    return finish_layer(layer, "heat", history, provenance=(inputs_sha256, code_version))
