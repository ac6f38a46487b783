"""Rule metrics over a forecast: rolling sums, local daily maxima and district maxima.

Conventions of the forecast (see ``resilience.sample.forecast``): ``time`` labels the END of
each hour in UTC; accumulations (``pr``, mm/h) are totals over that hour. A rolling sum over
``w`` hours at hour ``t`` is the total of hours ``t-w+1 .. t`` (fewer at the start of the
forecast: a lower bound, as the hours before the issue time are not in the file). The daily
maximum is taken over the Beijing calendar day of the hour and applies to every hour of that
day. Metrics are computed per grid cell first and then reduced to the district maximum, so that
a district's 6-h total is the largest 6-h total of any of its cells (not the sum of hourly
maxima of different cells).
"""

from __future__ import annotations

from datetime import timedelta, timezone

import numpy as np
import pandas as pd
import xarray as xr

from resilience.early_warning.rules import LEVELS, Criterion

__all__ = ["BEIJING", "criterion_levels", "criterion_metric", "hour_ends"]

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
    """Trailing sum over ``window`` steps of axis 1 (time); partial at the start."""
    total = np.cumsum(values, axis=1, dtype="float64")
    shifted = np.zeros_like(total)
    shifted[:, window:] = total[:, :-window]
    return (total - shifted).astype(values.dtype)


def _daily_max(values: np.ndarray, ends: pd.DatetimeIndex) -> np.ndarray:
    """Maximum over the Beijing day of each hour's start, broadcast back to the hours."""
    day = np.asarray((ends - pd.Timedelta(hours=1)).normalize().asi8)
    out = np.empty_like(values)
    for value in np.unique(day):
        sel = day == value
        out[:, sel] = values[:, sel].max(axis=1, keepdims=True)
    return out


def _condition_mask(forecast: xr.Dataset, crit: Criterion) -> np.ndarray | None:
    if crit.condition is None:
        return None
    if "tropical_cyclone_influence" in forecast:
        flag = forecast["tropical_cyclone_influence"].values.astype(bool)
    else:  # no flag in the file: no tropical cyclone is forecast
        flag = np.zeros(forecast.sizes["time"], dtype=bool)
    return flag if crit.condition == "tropical_cyclone" else ~flag


def criterion_metric(
    forecast: xr.Dataset,
    crit: Criterion,
    cells: list[np.ndarray],
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

    Returns
    -------
    numpy.ndarray
        (member, time, area), in the variable's units (summed over the window for ``sum``).
        Hours failing the criterion's condition are ``-inf``.
    """
    var = _check_variable(forecast, crit)
    if crit.station is not None:
        if crit.station not in var["station"].values.tolist():
            raise ValueError(f"forecast: criterion {crit.id!r}: no station {crit.station!r}")
        series = var.sel(station=crit.station).transpose("member", "time").values
        values = np.repeat(series[:, :, None], len(cells), axis=2)
    else:
        grid = var.transpose("member", "time", "lat", "lon").values
        values = grid.reshape(grid.shape[0], grid.shape[1], -1)
    if crit.aggregation == "sum":
        values = _rolling_sum(values, crit.window_h)
    elif crit.aggregation == "daily_max":
        values = _daily_max(values, hour_ends(forecast))
    if crit.station is None:
        values = np.stack([values[:, :, idx].max(axis=2) for idx in cells], axis=2)
    mask = _condition_mask(forecast, crit)
    if mask is not None:
        values = np.where(mask[None, :, None], values, -np.inf)
    return values


def criterion_levels(metric: np.ndarray, crit: Criterion) -> np.ndarray:
    """Return the level index reached (0 none, 1 blue .. 4 red) per member, hour and area.

    Thresholds are cast to the metric's dtype before comparing, so a float32 value equal to a
    threshold written in YAML counts as reaching it (4.91 is not exact in binary).
    """
    reached = np.zeros(metric.shape, dtype="int8")
    for threshold in crit.thresholds:
        edge = np.asarray(threshold.value, dtype=metric.dtype)
        hit = metric > edge if crit.operator == ">" else metric >= edge
        reached = np.where(hit, np.int8(LEVELS.index(threshold.level) + 1), reached)
    return reached
