"""Rule metrics over a forecast: rolling sums, local daily maxima and district maxima.

Conventions of the forecast (see ``resilience.sample.forecast``): ``time`` labels the END of
each hour in UTC; accumulations (``pr``, mm/h) are totals over that hour. A rolling sum over
``w`` hours at hour ``t`` is the total of hours ``t-w+1 .. t`` (fewer at the start of the
forecast: a lower bound, as the hours before the issue time are not in the file). The daily
maximum is taken over the Beijing calendar day of the hour and applies to every hour of that
day. Missing values (NaN) are left out of sums and daily maxima (the hours present give a
lower bound; :mod:`~resilience.early_warning.forecast_checks` reports the gaps and holds rules
with too many) and give no level where nothing is left. Metrics are computed per grid cell
first and then reduced to the district maximum, so that a district's 6-h total is the largest
6-h total of any of its cells (not the sum of hourly maxima of different cells). A
``layer_level`` criterion turns each cell's value into its local return period
(:func:`~resilience.early_warning.impact.to_return_period`) before the district maximum; an
``asset_level`` criterion reads the value at each asset (its station, or its
nearest cell) and compares it with the asset's own level.
"""

from __future__ import annotations

from datetime import timedelta, timezone

import numpy as np
import pandas as pd
import xarray as xr

from resilience.early_warning.impact import AssetTargets, to_return_period
from resilience.early_warning.rule_models import LEVELS, Criterion

__all__ = [
    "BEIJING",
    "asset_metric",
    "criterion_levels",
    "criterion_metric",
    "hour_ends",
    "missing_hours",
]

#: Beijing time, fixed offset +08:00 (GB/T 35965.1 practice, domain.md 6.3; no DST in China).
BEIJING = timezone(timedelta(hours=8))
_UNITS = {"tas": "degC", "pr": "mm/h", "sfcWind": "m/s", "wind_gust": "m/s", "water_level": "m"}


def hour_ends(forecast: xr.Dataset) -> pd.DatetimeIndex:
    """Return the end of each forecast hour as Beijing-time timestamps."""
    times = pd.DatetimeIndex(forecast["time"].values)
    if times.tz is None:
        times = times.tz_localize("UTC")
    return times.tz_convert(BEIJING)


def _check_variable(forecast: xr.Dataset, crit: Criterion) -> xr.DataArray:
    if crit.variable not in forecast:
        raise ValueError(f"forecast: criterion {crit.id!r} needs variable {crit.variable!r}")
    var = forecast[crit.variable]
    units = var.attrs.get("units")
    if units != _UNITS[crit.variable]:
        raise ValueError(
            f"forecast: variable {crit.variable!r}: expected units {_UNITS[crit.variable]!r}, "
            f"found {units!r}"
        )
    return var


def _rolling_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing sum over ``window`` steps of axis 1 (time); partial at the start.

    Missing hours (NaN) are left out: the sum is over the hours present, a lower bound of the
    true total (as at the start of the forecast); a window with no hour present is NaN.
    """
    present = ~np.isnan(values)
    total = np.cumsum(np.where(present, values, 0), axis=1, dtype="float64")
    count = np.cumsum(present, axis=1, dtype="int64")
    shifted = np.zeros_like(total)
    shifted[:, window:] = total[:, :-window]
    counted = count.copy()
    counted[:, window:] -= count[:, :-window]
    return np.where(counted > 0, total - shifted, np.nan).astype(values.dtype)


def _daily_max(values: np.ndarray, ends: pd.DatetimeIndex) -> np.ndarray:
    """Maximum over the Beijing day of each hour's start, broadcast back to the hours.

    Missing hours (NaN) are left out (``np.fmax``): the maximum of the hours present, a lower
    bound; a day with no hour present is NaN.
    """
    day = np.asarray((ends - pd.Timedelta(hours=1)).normalize().asi8)
    out = np.empty_like(values)
    for value in np.unique(day):
        sel = day == value
        out[:, sel] = np.fmax.reduce(values[:, sel], axis=1, keepdims=True)
    return out


def missing_hours(forecast: xr.Dataset, crit: Criterion) -> np.ndarray:
    """Return, per hour, how many missing hours the criterion's value there was taken without.

    Parameters
    ----------
    forecast : xarray.Dataset
        The forecast; an hour is missing when any value of ``crit.variable`` at it is NaN.
    crit : Criterion
        The criterion: a ``sum`` counts the missing hours of its window, a ``daily_max`` those
        of the Beijing day, any other aggregation the hour itself (0 or 1).

    Returns
    -------
    numpy.ndarray
        (time,) int, 0 where nothing was missing.
    """
    var = forecast[crit.variable]
    if crit.station is not None:
        var = var.sel(station=crit.station)
    other = tuple(i for i, d in enumerate(var.dims) if d != "time")
    gap = np.isnan(var.values).any(axis=other).astype("int64")
    if crit.aggregation == "sum":
        return np.convolve(gap, np.ones(crit.window_h, dtype="int64"))[: gap.size]
    if crit.aggregation == "daily_max":
        day = np.asarray((hour_ends(forecast) - pd.Timedelta(hours=1)).normalize().asi8)
        return np.array([gap[day == d].sum() for d in day], dtype="int64")
    return gap


def _condition_mask(forecast: xr.Dataset, crit: Criterion) -> np.ndarray | None:
    if crit.condition is None:
        return None
    if "tropical_cyclone_influence" in forecast:
        flag = forecast["tropical_cyclone_influence"].values.astype(bool)
    else:  # no flag in the file: no tropical cyclone is forecast
        flag = np.zeros(forecast.sizes["time"], dtype=bool)
    return flag if crit.condition == "tropical_cyclone" else ~flag


def _values(forecast: xr.Dataset, crit: Criterion) -> np.ndarray:
    """Return (member, time, cell) values after the aggregation; (member, time, 1) at a station."""
    var = _check_variable(forecast, crit)
    if crit.station is not None:
        if crit.station not in var["station"].values.tolist():
            raise ValueError(f"forecast: criterion {crit.id!r}: no station {crit.station!r}")
        values = var.sel(station=crit.station).transpose("member", "time").values[:, :, None]
    else:
        grid = var.transpose("member", "time", "lat", "lon").values
        values = grid.reshape(grid.shape[0], grid.shape[1], -1)
    if crit.aggregation == "sum":
        values = _rolling_sum(values, crit.window_h)
    elif crit.aggregation == "daily_max":
        values = _daily_max(values, hour_ends(forecast))
    return values


def _masked(forecast: xr.Dataset, crit: Criterion, values: np.ndarray) -> np.ndarray:
    """NaN (never reaching a level) becomes -inf; hours failing the condition become -inf."""
    values = np.where(np.isnan(values), -np.inf, values)
    mask = _condition_mask(forecast, crit)
    if mask is not None:
        values = np.where(mask[None, :, None], values, -np.inf)
    return values


def criterion_metric(
    forecast: xr.Dataset,
    crit: Criterion,
    cells: list[np.ndarray],
    *,
    return_levels: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Return a criterion's metric per member, hour and area.

    Parameters
    ----------
    forecast : xarray.Dataset
        Forecast with ``member`` and ``time`` dims (see the module docstring).
    crit : Criterion
        The criterion; station criteria read ``water_level`` at ``crit.station``.
    cells : list of numpy.ndarray
        Per area, the flat grid-cell indices that represent it (ignored for station criteria,
        which give the same series to every area).
    return_levels : (numpy.ndarray, numpy.ndarray), optional
        For a ``layer_level`` criterion: return periods (period,) and levels (period, cell)
        from :func:`~resilience.early_warning.impact.layer_return_levels`.

    Returns
    -------
    numpy.ndarray
        (member, time, area), in the variable's units (summed over the window for ``sum``),
        or the local return period in years for a ``layer_level`` criterion (the largest of
        the area's cells). Hours failing the criterion's condition are ``-inf``.
    """
    values = _values(forecast, crit)
    if crit.layer_level is not None:
        if return_levels is None:
            raise ValueError(f"criterion {crit.id!r}: needs layer {crit.layer_level.layer!r}")
        values = to_return_period(values, return_levels[1], return_levels[0])
    values = np.where(np.isnan(values), -np.inf, values)
    if crit.station is not None:
        values = np.repeat(values, len(cells), axis=2)
    else:
        values = np.stack([values[:, :, idx].max(axis=2) for idx in cells], axis=2)
    return _masked(forecast, crit, values)


def asset_metric(forecast: xr.Dataset, crit: Criterion, targets: AssetTargets) -> np.ndarray:
    """Return a criterion's value at each asset, per member and hour.

    Parameters
    ----------
    forecast : xarray.Dataset
        The forecast.
    crit : Criterion
        An ``asset_level`` criterion: a station series (the same for every asset) or a grid
        variable read at each asset's nearest cell, after the criterion's aggregation.
    targets : AssetTargets
        The rule's assets (:func:`~resilience.early_warning.impact.select_assets`).

    Returns
    -------
    numpy.ndarray
        (member, time, asset) in the variable's units; ``-inf`` where the condition fails.
        Compare with the assets' levels through ``criterion_levels(..., base=levels)``.
    """
    values = _values(forecast, crit)
    cells = np.zeros(len(targets), dtype=int) if crit.station is not None else targets.cell
    return _masked(forecast, crit, values[:, :, cells])


def _persisting(levels: np.ndarray, hours: int) -> np.ndarray:
    """Lowest level over the trailing ``hours`` hours (axis 1); 0 until a full window exists."""
    out = levels.copy()
    for lag in range(1, hours):
        out[:, lag:] = np.minimum(out[:, lag:], levels[:, :-lag])
    out[:, : hours - 1] = 0
    return out


def criterion_levels(
    metric: np.ndarray, crit: Criterion, *, base: np.ndarray | None = None
) -> np.ndarray:
    """Return the level index reached (0 none, 1 blue .. 4 red) per member, hour and unit.

    Thresholds are cast to the metric's dtype before comparing, so a float32 value equal to a
    threshold written in YAML counts as reaching it (4.91 is not exact in binary). For asset
    criteria, ``base`` (unit,) holds each asset's level and the edge is ``base + threshold``
    (summed in float64, then cast), so a water level of 5.56 m is within 0.3 m of 5.86 m. With
    ``duration_h`` > 1 a level counts at an hour only if it was met in each of the last
    ``duration_h`` hours of the forecast (the hours before the forecast are unknown).
    """
    reached = np.zeros(metric.shape, dtype="int8")
    for threshold in crit.thresholds:
        offset = threshold.value if base is None else base + threshold.value
        edge = np.asarray(offset, dtype=metric.dtype)
        hit = metric > edge if crit.operator == ">" else metric >= edge
        reached = np.where(hit, np.int8(LEVELS.index(threshold.level) + 1), reached)
    if crit.duration_h > 1:
        reached = _persisting(reached, crit.duration_h)
    return reached
