"""Checks of a forecast before any rule runs: impossible values are refused, gaps reported.

Two jobs, both called by :func:`~resilience.early_warning.run.run_warnings` as it reads a
forecast file:

* :func:`validate_forecast` raises :class:`ForecastError` (naming the file, the variable and
  what was expected) for a forecast no alert may come from: an hour repeated or out of order,
  hours not one hour apart, latitudes or longitudes out of range, a grid that misses the
  districts, values outside the physically possible range of their variable and units (a
  temperature in K labelled degC, 1e6 mm of rain) and a missing or unreadable ``issued``
  attribute (which would stamp the alerts with the current time).
* :func:`forecast_gaps` says what missing values (NaN) do to each rule. The gap policy:

  - a rolling sum (``pr``) and a daily maximum (``tas``) are taken over the hours present, a
    lower bound of the true value, so any level they reach is certainly reached; a window (or
    day) without any hour present gives no level;
  - an instantaneous value (winds, water level) missing at an hour gives no level at that hour
    (the rule's ``hold_h`` bridges a one-hour gap in an episode);
  - a rule that reads a variable missing at more than :data:`MAX_MISSING_FRACTION` of the
    forecast's hours (all-NaN included) is **held**: not evaluated, so it neither issues
    alerts on what is left nor cancels the alerts in force from an earlier forecast.

  Every gap, held or not, is a data-quality line of the run (with, per rule, how many hours
  its windows miss at most): ``resilience warn`` prints them and exits non-zero, so a run
  with a gap never looks like a clean one.

References
----------
WMO World Weather and Climate Extremes Archive (https://wmo.asu.edu): highest temperature
56.7 degC (Furnace Creek, 10 July 1913), lowest -89.2 degC (Vostok, 21 July 1983), greatest
60-min rainfall 305 mm (Holt, Missouri, 22 June 1947), highest gust 113.3 m/s (Barrow
Island, 10 April 1996).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from resilience.early_warning.rule_models import Criterion, RuleSet

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "MAX_MISSING_FRACTION",
    "PLAUSIBLE_RANGES",
    "ForecastError",
    "GapReport",
    "forecast_gaps",
    "validate_forecast",
]

#: Physically possible range per (variable, units): beyond it a value is an error, not weather.
#: tas: the WMO world records (module References); pr: 400 mm in an hour, above the 305 mm
#: 60-min record with a margin, never negative beyond 0.01 mm/h of packing noise; winds: 0 to
#: the 113.3 m/s record gust; water_level: +/- 20 m of a local datum (the largest tidal range
#: on Earth, Bay of Fundy, is about 16 m; project bound).
PLAUSIBLE_RANGES: Mapping[tuple[str, str], tuple[float, float]] = {
    ("tas", "degC"): (-89.2, 56.7),
    ("pr", "mm/h"): (-0.01, 400.0),
    ("sfcWind", "m/s"): (0.0, 113.3),
    ("wind_gust", "m/s"): (0.0, 113.3),
    ("water_level", "m"): (-20.0, 20.0),
}

#: A rule is held when a variable it reads is missing at more than this fraction of the
#: forecast's hours (project choice: a quarter, 18 of 72 hours; beyond it a lower bound says
#: too little to cancel or issue alerts on).
MAX_MISSING_FRACTION = 0.25

_FMT = "%m-%d %H:%M"


class ForecastError(ValueError):
    """A forecast no alert may be issued from; the message names file, variable, expectation."""


@dataclass(frozen=True)
class GapReport:
    """Missing values of a forecast and what they do to the rules.

    ``held`` maps a rule id to why it is not evaluated; ``notes`` are the data-quality lines
    (one per variable with gaps, then one per held rule).
    """

    held: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _hours(values: np.ndarray) -> str:
    """Short Beijing-time list of hour ends (UTC, naive datetime64)."""
    ends = pd.DatetimeIndex(values).tz_localize("UTC").tz_convert("Asia/Shanghai")
    shown = ", ".join(t.strftime(_FMT) for t in ends[:6])
    return shown + (f" and {len(ends) - 6} more" if len(ends) > 6 else "")


def _check_time(forecast: xr.Dataset, source: str) -> None:
    if "time" not in forecast.dims or forecast.sizes["time"] == 0:
        raise ForecastError(f"{source}: time: expected at least one forecast hour, found none")
    times = pd.DatetimeIndex(forecast["time"].values)
    duplicated = times[times.duplicated()].unique()
    if len(duplicated):
        raise ForecastError(
            f"{source}: time: expected each hour once, found hours repeated "
            f"(hour ends, Beijing): {_hours(duplicated.values)}"
        )
    steps = np.diff(times.values)
    bad = np.flatnonzero(steps != np.timedelta64(1, "h"))
    if bad.size:
        order = "out of order" if (steps[bad] <= np.timedelta64(0)).any() else "not 1 h apart"
        pairs = ", ".join(
            f"{_hours(times.values[[i]])} -> {_hours(times.values[[i + 1]])}" for i in bad[:4]
        )
        raise ForecastError(
            f"{source}: time: expected hour ends increasing by 1 h, found hours {order}: {pairs}"
        )


def _check_grid(forecast: xr.Dataset, source: str, districts: gpd.GeoDataFrame) -> None:
    lat, lon = forecast["lat"].values, forecast["lon"].values
    if not ((lat >= -90) & (lat <= 90)).all():
        raise ForecastError(
            f"{source}: lat: expected degrees north in -90..90, found {lat.min():g}..{lat.max():g}"
            " (are lat and lon swapped?)"
        )
    if not ((lon >= -180) & (lon <= 360)).all():
        raise ForecastError(
            f"{source}: lon: expected degrees east in -180..360, found {lon.min():g}..{lon.max():g}"
        )
    half_lat = float(np.abs(np.diff(lat)).max()) / 2 if lat.size > 1 else 0.0
    half_lon = float(np.abs(np.diff(lon)).max()) / 2 if lon.size > 1 else 0.0
    west, south, east, north = (float(v) for v in districts.total_bounds)
    overlaps = (
        lat.min() - half_lat <= north
        and lat.max() + half_lat >= south
        and lon.min() - half_lon <= east
        and lon.max() + half_lon >= west
    )
    if not overlaps:
        raise ForecastError(
            f"{source}: grid lat {lat.min():g}..{lat.max():g}, lon {lon.min():g}..{lon.max():g}:"
            f" expected it to overlap the districts (lat {south:.2f}..{north:.2f}, "
            f"lon {west:.2f}..{east:.2f})"
        )


def _check_ranges(forecast: xr.Dataset, source: str) -> None:
    for name in sorted({n for n, _ in PLAUSIBLE_RANGES} & set(forecast.data_vars)):
        if not forecast[name].attrs.get("units"):
            expected = sorted(u for n, u in PLAUSIBLE_RANGES if n == name)
            raise ForecastError(
                f"{source}: {name}: no 'units' attribute; expected one of {expected}"
            )
    for (name, units), (low, high) in PLAUSIBLE_RANGES.items():
        if name not in forecast or forecast[name].attrs.get("units") != units:
            continue  # absent, or other units: the rule engine names the units it expects
        values = forecast[name].values
        if np.isnan(values).all():
            continue  # a gap, not an impossible value: forecast_gaps reports it
        found = (float(np.nanmin(values)), float(np.nanmax(values)))
        if found[0] < low or found[1] > high:
            raise ForecastError(
                f"{source}: {name}: expected {units} within {low:g}..{high:g} (physically "
                f"possible), found {found[0]:g}..{found[1]:g}"
                + (" (K labelled degC?)" if name == "tas" and found[1] > 173 else "")
            )


def validate_forecast(
    forecast: xr.Dataset,
    *,
    source: str | Path,
    districts: gpd.GeoDataFrame,
    issued: datetime | None = None,
) -> xr.Dataset:
    """Raise if no alert may be issued from a forecast; return it otherwise.

    Parameters
    ----------
    forecast : xarray.Dataset
        The forecast as read (``time`` = end of each hour, UTC; ``lat``, ``lon`` degrees).
    source : str or Path
        Where it came from, named in every error.
    districts : geopandas.GeoDataFrame
        The districts in EPSG:4326; the grid must overlap their bounds.
    issued : datetime, optional
        An explicit issue time that stands in for a missing ``issued`` attribute.

    Returns
    -------
    xarray.Dataset
        ``forecast``, unchanged.

    Raises
    ------
    ForecastError
        For a repeated, out-of-order or non-hourly time axis; lat outside -90..90 or lon
        outside -180..360; a grid that misses the districts; a value outside
        :data:`PLAUSIBLE_RANGES`; a missing (without ``issued``) or unreadable ``issued``.
    """
    source = str(source)
    _check_time(forecast, source)
    _check_grid(forecast, source, districts)
    _check_ranges(forecast, source)
    stamp = forecast.attrs.get("issued")
    if not stamp and issued is None:
        raise ForecastError(
            f"{source}: attribute 'issued': expected the forecast's issue time (ISO 8601 with "
            "an offset), found none; alerts would carry the wrong time (pass now= to override)"
        )
    if stamp:
        try:
            when = pd.Timestamp(stamp)
        except ValueError as error:
            raise ForecastError(
                f"{source}: attribute 'issued': expected ISO 8601, found {stamp!r}"
            ) from error
        if when.tz is None:
            raise ForecastError(
                f"{source}: attribute 'issued': expected a UTC offset (e.g. +08:00), "
                f"found {stamp!r}"
            )
    return forecast


def forecast_gaps(forecast: xr.Dataset, rules: RuleSet) -> GapReport:
    """Report the missing values of the variables the rules read and the rules to hold.

    Parameters
    ----------
    forecast : xarray.Dataset
        A validated forecast (:func:`validate_forecast`).
    rules : RuleSet
        The rules about to run.

    Returns
    -------
    GapReport
        Rules to hold (a variable missing at more than :data:`MAX_MISSING_FRACTION` of the
        hours); notes: one per variable with missing values (the hours, Beijing time), one
        per rule evaluated despite gaps (how many hours its windows miss), one per held rule.
    """
    hours = forecast.sizes["time"]
    missing: dict[str, np.ndarray] = {}
    notes = []
    read = {c.variable for rule in rules.rules for c in rule.criteria}
    used = sorted(read & set(forecast.data_vars))
    for name in used:
        var = forecast[name]
        other = [d for d in var.dims if d != "time"]
        gap = np.isnan(var.values).any(axis=tuple(var.dims.index(d) for d in other))
        if gap.any():
            missing[name] = gap
            notes.append(
                f"{name}: missing at {int(gap.sum())} of {hours} hours (hour ends, Beijing): "
                f"{_hours(forecast['time'].values[gap])}; sums and daily maxima use the hours "
                "present (a lower bound), instantaneous criteria give no level at those hours"
            )
    held, affected = {}, []
    for rule in rules.rules:
        names = {c.variable for c in rule.criteria} & set(missing)
        over = [n for n in sorted(names) if missing[n].mean() > MAX_MISSING_FRACTION]
        if over:
            held[rule.id] = (
                f"rule {rule.id} held: {', '.join(over)} missing at more than "
                f"{MAX_MISSING_FRACTION:.0%} of the hours; no alert issued or cancelled by it"
            )
        elif names:
            windows = [
                _window_gap(c, missing[c.variable])
                for c in rule.criteria
                if c.variable in missing  # a rule may read complete variables beside it
            ]
            affected.append(
                f"rule {rule.id} evaluated on the hours present: "
                + "; ".join(w for w in windows if w)
                + "; a level the missing hours would have reached is not ruled out"
            )
    return GapReport(held=held, notes=notes + affected + list(held.values()))


def _window_gap(crit: Criterion, gap: np.ndarray) -> str:
    """Say how many hours a criterion's windows miss at most ("" if none)."""
    if not gap.any():
        return ""
    if crit.aggregation == "sum":
        window = crit.window_h
        worst = int(np.convolve(gap.astype(int), np.ones(window, dtype=int))[: gap.size].max())
        return f"{crit.id} windows miss up to {worst} of {window} h"
    if crit.aggregation == "daily_max":
        return f"{crit.id} daily maxima over the hours present"
    return f"{crit.id} gives no level at {int(gap.sum())} hours"
