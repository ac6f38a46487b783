"""Storm-surge (still water level) hazard layer at tide gauges, with relative sea-level rise.

Method (sources in ``docs/science.md``, "Surge"):

1. Refer each station's annual maxima to the baseline sea level: remove a linear trend
   estimated robustly by the Theil-Sen slope of the annual maxima (Sen 1968), pivoting at
   the baseline centre 2004.5, so that the maxima describe the 1995-2014 sea level. This is
   the simplest form of the non-stationary GEV with a linear trend in location (Coles 2001,
   ch. 6), with the trend estimated separately and robustly. ``detrend="none"`` skips it
   for series that are already referred to a fixed sea level.
2. Fit a stationary GEV to the referred maxima of each station; that fit is the baseline.
3. For each future scenario and horizon, shift the distribution by the relative sea-level
   rise: the sea-level-rise quantile interpolated linearly to the horizon's mid year plus
   subsidence x (mid year - 2004.5). A shift moves every return level by the same amount
   (the GEV is a location family; Coles 2001, eq. 3.4).
4. Integrate the uncertainty of the rise: fit a distribution to the rise quantiles of each
   scenario, horizon and station (:func:`hazard_models.coast.sea_level.rise_distribution`) and
   solve for the level whose expected number of exceedances a year, averaged over the rise,
   is today's (Hunter 2012; :func:`hazard_models.coast.allowance.future_return_level`).

The layer keeps the sea-level-rise quantiles on its ``quantile`` dim (``docs/decisions.md``
D2) and adds the integrated levels without that dim. Allowances, amplification factors and
degradation years are in :mod:`hazard_models.coast.allowance`; the sea-level table helpers
(:func:`sea_level_at`, :func:`relative_sea_level_rise`) live in :mod:`hazard_models.coast.sea_level`
and the record helpers (:func:`theil_sen_slope`, :func:`refer_to_baseline`) in
:mod:`hazard_models.coast.gauge_extremes`; all are re-exported here. See ``docs/surge.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import xarray as xr

from hazard_models.coast.allowance import Averaging, integrated_return_levels
from hazard_models.coast.gauge_extremes import Detrend, refer_to_baseline, theil_sen_slope
from hazard_models.coast.sea_level import (
    BASELINE_MID_YEAR,
    RiseShape,
    relative_sea_level_rise,
    sea_level_at,
)
from hazard_models.extremes.gev import return_levels
from hazard_models.extremes.gev_fit import FitMethod, fit_gev
from hazard_models.horizon import AR6_HORIZONS, FUTURE_SCENARIOS, Horizon
from hazard_models.horizon_stats import finish_layer, with_attrs
from hazard_models.layer import SchemaError, append_history, horizon_coords

__all__ = [
    "BASELINE_MID_YEAR",
    "build_surge_layer",
    "refer_to_baseline",
    "relative_sea_level_rise",
    "sea_level_at",
    "shift_for_sea_level",
    "theil_sen_slope",
]

MAXIMA_COLUMNS = ("station", "year", "annual_max_m")
STATION_COLUMNS = ("station", "station_name", "lat", "lon", "datum", "subsidence_mm_per_year")


def _require_columns(table: pd.DataFrame, table_name: str, columns: Sequence[str]) -> None:
    """Raise SchemaError naming the table and the columns it lacks."""
    if not isinstance(table, pd.DataFrame):
        raise SchemaError(
            f"{table_name}: expected a pandas.DataFrame, found {type(table).__name__}"
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SchemaError(
            f"{table_name}: expected columns {list(columns)}, missing {missing} "
            f"(found {list(table.columns)})"
        )


def shift_for_sea_level(levels_m: xr.DataArray, rise_m: xr.DataArray) -> xr.DataArray:
    """Return water levels raised by a sea-level rise (a GEV location shift).

    Parameters
    ----------
    levels_m : xarray.DataArray
        Return levels or GEV locations, m.
    rise_m : xarray.DataArray
        Relative sea-level rise, m; broadcast against ``levels_m``.

    Notes
    -----
    If X ~ GEV(mu, sigma, xi) then X + d ~ GEV(mu + d, sigma, xi), so every return level
    z_T (Coles 2001, eq. 3.4) rises by exactly d.
    """
    shifted = levels_m + rise_m
    attrs = dict(levels_m.attrs)
    return shifted.assign_attrs(append_history(attrs, "shift_for_sea_level: + relative rise"))


def _check_stations(stations: pd.DataFrame) -> pd.DataFrame:
    """Return the stations table after checking columns, unique ids, one datum, numbers."""
    _require_columns(stations, "stations", STATION_COLUMNS)
    duplicated = stations["station"][stations["station"].duplicated()].tolist()
    if duplicated:
        raise SchemaError(f"stations: station: expected unique ids, found duplicates {duplicated}")
    datums = sorted(set(stations["datum"].astype(str)))
    if len(datums) != 1:
        raise SchemaError(f"stations: datum: expected one datum for all stations, found {datums}")
    for column in ("lat", "lon", "subsidence_mm_per_year"):
        values = pd.to_numeric(stations[column], errors="coerce")
        if values.isna().any():
            bad = stations["station"][values.isna()].tolist()
            raise SchemaError(f"stations: {column}: expected numbers, found blanks at {bad}")
    return stations.reset_index(drop=True)


def _check_maxima(annual_maxima: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    """Check the annual maxima against the stations table; return the stations with maxima.

    Stations of the table without any row of maxima (a catalogue may list more gauges than
    have records) are left out; every other mismatch raises SchemaError.
    """
    _require_columns(annual_maxima, "annual_maxima", MAXIMA_COLUMNS)
    if annual_maxima.empty:
        raise SchemaError("annual_maxima: expected rows of annual maxima, found none")
    values = pd.to_numeric(annual_maxima["annual_max_m"], errors="coerce")
    if values.isna().any():
        bad = annual_maxima[values.isna().to_numpy()].iloc[0]
        raise SchemaError(
            f"annual_maxima: station {bad['station']!r}, year {bad['year']}: annual_max_m: "
            f"expected a number in m, found {bad['annual_max_m']!r}"
        )
    if annual_maxima.duplicated(["station", "year"]).any():
        first = annual_maxima[annual_maxima.duplicated(["station", "year"])].iloc[0]
        raise SchemaError(
            f"annual_maxima: expected one row per station and year, found {first['station']!r} "
            f"{first['year']} twice"
        )
    known, present = set(stations["station"]), set(annual_maxima["station"])
    if present - known:
        raise SchemaError(f"annual_maxima: station: unknown stations {sorted(present - known)}")
    if "datum" in annual_maxima.columns:
        datum = str(stations["datum"].iloc[0])
        mixed = sorted(set(annual_maxima["datum"].astype(str)) - {datum})
        if mixed:
            raise SchemaError(
                f"annual_maxima: datum: expected {datum!r} as in stations, found {mixed}"
            )
    return stations[stations["station"].isin(present)].reset_index(drop=True)


def _fit_stations(
    referred: pd.DataFrame, stations: pd.DataFrame, method: FitMethod, min_years: int
) -> xr.Dataset:
    """Fit a GEV to each station's referred maxima; raise naming any station that fails."""
    table = referred.pivot(index="station", columns="year", values="annual_max_m")
    matrix = table.reindex(stations["station"]).to_numpy(dtype=float)
    fit = fit_gev(matrix, method=method, min_samples=min_years)
    failed = {
        s: str(v) for s, v in zip(stations["station"], fit["status"], strict=True) if v != "ok"
    }
    if failed:
        raise SchemaError(
            f"annual_maxima: expected at least {min_years} distinct annual maxima per station, "
            f"found unfit stations {failed}"
        )
    dims = ("station",)
    params = xr.Dataset(
        {
            p: (dims, fit[p], {"units": "m" if p != "shape" else "1"})
            for p in ("loc", "scale", "shape")
        }
    )
    flags = zip(stations["station"], fit["shape_at_bound"], strict=True)
    at_bound = [str(station) for station, flag in flags if flag]
    params.attrs["shape_at_bound_stations"] = at_bound
    return params


def _station_coords(stations: pd.DataFrame) -> dict[str, tuple]:
    """Return the station coordinate with name, lat, lon and datum on the station dim."""
    return {
        "station": ("station", stations["station"].astype(str).to_numpy()),
        "station_name": ("station", stations["station_name"].astype(str).to_numpy()),
        "lat": ("station", stations["lat"].to_numpy(dtype=float)),
        "lon": ("station", stations["lon"].to_numpy(dtype=float)),
        "datum": ("station", stations["datum"].astype(str).to_numpy()),
    }


def _relative_rise(
    sea_level: pd.DataFrame,
    stations: pd.DataFrame,
    scenarios: tuple[str, ...],
    horizons: tuple[Horizon, ...],
) -> xr.DataArray:
    """Return relative sea-level rise (scenario, horizon, quantile, station), 0 at baseline."""
    rise = sea_level_at(sea_level, scenarios, horizons)
    subsidence = xr.DataArray(
        stations["subsidence_mm_per_year"].to_numpy(dtype=float), dims="station"
    )
    mids = xr.DataArray([h.mid_year for h in horizons], dims="horizon")
    relative = relative_sea_level_rise(rise, subsidence, mids)
    baseline = xr.DataArray([h.is_baseline for h in horizons], dims="horizon")
    relative = relative.where(~baseline, 0.0)  # the baseline is the fit itself, by definition
    return relative.transpose("scenario", "horizon", "quantile", "station")


def _gev_variables(
    params: xr.Dataset, median_rise: xr.DataArray, *, datum: str, method: str
) -> dict[str, xr.DataArray]:
    """Return ``still_water_level_gev_loc``/``_scale``/``_shape`` (scenario, horizon, station).

    The location moves with the median rise; scale and shape do not change with a shift.
    """
    spread = xr.broadcast(params, median_rise)[0]
    out = {}
    for name, value in (
        ("loc", params["loc"] + median_rise),
        ("scale", spread["scale"]),
        ("shape", spread["shape"]),
    ):
        out[f"still_water_level_gev_{name}"] = with_attrs(
            value.transpose("scenario", "horizon", "station"),
            "1" if name == "shape" else "m",
            f"GEV {name} of annual maximum still water level (median rise), {datum} datum",
            method,
        )
    return out


_SWL_METHOD = (
    "stationary GEV ({fit}) fitted to annual maxima referred to the 1995-2014 sea level "
    "({detrend}), shifted by relative sea-level rise (sea-level-rise quantile interpolated to "
    "the horizon mid year + subsidence since 2004.5); Coles (2001) eq. 3.4 and ch. 6"
)

_INTEGRATED_METHOD = (
    "{fit}; the relative rise is a {shape} distribution fitted to its median and likely range "
    "(hazard_models.coast.sea_level.rise_distribution) and the level solves E_S[N(z - S)] = "
    "-log(1 - 1/T) with N = -log F ({averaging} averaged over S by Gauss-Legendre quadrature; "
    "Hunter 2012, Climatic Change 113, 239-252; hazard_models.coast.allowance.future_return_level)"
)


def build_surge_layer(
    annual_maxima: pd.DataFrame,
    stations: pd.DataFrame,
    sea_level: pd.DataFrame,
    *,
    horizons: Sequence[Horizon] = AR6_HORIZONS,
    scenarios: Sequence[str] = ("ssp126", "ssp245", "ssp585"),
    return_periods: Sequence[float] = (10, 20, 50, 100, 200, 1000),
    detrend: Detrend = "theil_sen",
    method: FitMethod = "lmoments",
    min_years: int = 10,
    rise_shape: RiseShape = "piecewise_normal",
    averaging: Averaging = "rate",
    inputs_sha256: str = "",
    code_version: str = "",
) -> xr.Dataset:
    """Build the surge HazardLayer: still-water-level return levels at tide gauges.

    Parameters
    ----------
    annual_maxima : pandas.DataFrame
        Columns ``station``, ``year``, ``annual_max_m`` (m, station datum), optionally
        ``datum`` (must match ``stations``). One row per station and year.
    stations : pandas.DataFrame
        Columns ``station``, ``station_name``, ``lat``, ``lon``, ``datum`` (one for all, e.g.
        "Wusong") and ``subsidence_mm_per_year`` (positive = sinking; UNCONFIRMED for
        Shanghai, domain.md 4.3, so the caller supplies it).
    sea_level : pandas.DataFrame
        Columns ``scenario``, ``year``, ``quantile`` (e.g. 0.17, 0.5, 0.83) and
        ``sea_level_rise_m`` (m vs 1995-2014).
    horizons : sequence of Horizon
        ``baseline`` is the fit itself (no rise).
    scenarios : sequence of str
        Output SSPs; each must be in ``sea_level``.
    return_periods : sequence of float
        Years (> 1).
    detrend : {"theil_sen", "none"}
        How maxima are referred to the baseline sea level (see module docstring).
    method : {"lmoments", "mle"}
        GEV estimator (:func:`hazard_models.extremes.gev_fit.fit_gev`).
    min_years : int
        Fewest annual maxima accepted for a station.
    rise_shape : {"piecewise_normal", "normal"}
        Distribution fitted to the rise quantiles for ``still_water_level_integrated``.
    averaging : {"rate", "probability"}
        What is averaged over the rise (:func:`hazard_models.coast.allowance.expected_exceedances`).
    inputs_sha256, code_version : str
        Provenance, copied to the global attributes.

    Returns
    -------
    xarray.Dataset
        ``still_water_level`` (scenario, horizon, return_period, quantile, station; m),
        ``still_water_level_integrated`` (scenario, horizon, return_period, station; m;
        integrated over the uncertain rise, Hunter 2012), ``relative_sea_level_rise``
        (scenario, horizon, quantile, station; m) and ``still_water_level_gev_loc``/
        ``_scale``/``_shape`` (scenario, horizon, station; loc shifted by the median rise),
        per ``docs/decisions.md`` D2 and D18.

    Raises
    ------
    SchemaError
        Missing columns, mixed datums, unknown stations, a non-numeric maximum, a station
        with fewer than ``min_years`` maxima, sea-level rise missing for a scenario or not
        reaching a horizon.

    Notes
    -----
    The layer covers the stations that have annual maxima; stations of ``stations`` without
    any are left out and named in the ``history`` attribute.
    """
    catalogue = _check_stations(stations)
    stations = _check_maxima(annual_maxima, catalogue)
    left_out = sorted(set(catalogue["station"]) - set(stations["station"]))
    scenarios = tuple(scenarios)
    unknown = [s for s in scenarios if s not in FUTURE_SCENARIOS]
    if unknown:
        raise SchemaError(f"scenarios: expected values from {FUTURE_SCENARIOS}, found {unknown}")
    horizons = tuple(horizons)
    referred, slopes = refer_to_baseline(annual_maxima, detrend=detrend)
    params = _fit_stations(referred, stations, method, min_years)
    rise = _relative_rise(sea_level, stations, scenarios, horizons)
    levels = shift_for_sea_level(return_levels(params, return_periods), rise)
    median_rise = rise.sel(quantile=0.5, drop=True)
    datum = str(stations["datum"].iloc[0])
    text = _SWL_METHOD.format(fit=method, detrend=detrend)
    layer = xr.Dataset(
        {
            "still_water_level": with_attrs(
                levels.transpose("scenario", "horizon", "return_period", "quantile", "station"),
                "m",
                f"return level of annual maximum still water level, {datum} datum",
                text,
            ),
            "relative_sea_level_rise": with_attrs(
                rise,
                "m",
                "relative sea-level rise vs 1995-2014 (sea-level rise + subsidence)",
                "sea-level-rise table interpolated linearly to horizon mid years + "
                "subsidence_mm_per_year x (mid year - 2004.5); 0 for the baseline",
            ),
            "still_water_level_integrated": with_attrs(
                integrated_return_levels(
                    params, rise, return_periods, rise_shape=rise_shape, averaging=averaging
                ),
                "m",
                f"return level of annual maximum still water level integrated over the "
                f"uncertain sea-level rise, {datum} datum",
                _INTEGRATED_METHOD.format(fit=text, shape=rise_shape, averaging=averaging),
            ),
        }
    )
    layer = layer.assign(_gev_variables(params, median_rise, datum=datum, method=text))
    layer = layer.assign_coords(_station_coords(stations)).assign_coords(horizon_coords(horizons))
    trends = ", ".join(f"{s} {v * 1000:.2f}" for s, v in slopes.items())
    history = (
        f"build_surge_layer: {detrend} trend removed (mm/yr: {trends}); {method} GEV fits; "
        f"levels integrated over a {rise_shape} rise ({averaging} averaging)"
    )
    if left_out:
        history += f"; stations without annual maxima left out: {left_out}"
    at_bound = params.attrs["shape_at_bound_stations"]
    if at_bound:  # computed at a limit: said in the layer (issue 17)
        note = (
            f"; GEV shape at its bound +-0.5 for stations {at_bound} (not a likelihood "
            "maximum; their long return levels rest on the bound)"
        )
        history += note
        for name in ("still_water_level", "still_water_level_integrated"):
            layer[name].attrs["method"] += note
    layer.attrs["shape_at_bound_stations"] = ", ".join(at_bound) or "none"
    synthetic = (
        ("yes" if bool(annual_maxima["synthetic"].any()) else "no")
        if "synthetic" in annual_maxima.columns
        else "unknown"
    )
    return finish_layer(
        layer,
        "surge",
        history,
        provenance=(inputs_sha256, code_version),
        synthetic=synthetic,
    )
