"""One line per observed comparison, for the demo's summary (docs/observed.md has the detail).

Each line is computed here from the shipped observations and the layers just built, never
copied from the docs: ERA5-Land against the hourly station, Baoshan's 20-year TXx and Rx1day
against the layers' baseline, the hourly record's 1-h maxima against the storm formula, and
the PSMSL trends beside the engine's relative sea-level rise, and the trends of Baoshan's
annual maxima. Trends are OLS with the plain and the Newey-West (HAC) standard error, both
shown (:mod:`resilience.observed.trend`).
"""

from __future__ import annotations

from collections.abc import Callable

import xarray as xr

from resilience.observed.comparisons import (
    compare_daily_tmax,
    compare_return_level,
    layer_centre_value,
)
from resilience.observed.era5land import era5land_at_points, open_era5land
from resilience.observed.ghcn import annual_maxima, read_ghcn_monthly
from resilience.observed.hourly import (
    annual_max_hourly_rain,
    daily_max_temperature,
    read_hourly_station,
)
from resilience.observed.psmsl import annual_means, read_psmsl_monthly, sea_level_trend
from resilience.observed.shipped import GHCN_STATIONS, PSMSL_STATIONS, observed_file
from resilience.observed.trend import fit_linear_trend
from resilience.observed.water_comparisons import compare_hourly_rain_idf

__all__ = ["BAOSHAN", "CENTRE", "observed_comparison_lines"]

#: People's Square, the demo's "centre" cell (degrees N, E).
CENTRE = (31.23, 121.47)
#: The Shanghai GHCN station with complete recent years (WMO 58362).
BAOSHAN = "58362"


def _tmax_line(reference: xr.Dataset | None) -> str:
    era5 = reference if reference is not None else open_era5land()
    cell = era5land_at_points(era5, {"centre": CENTRE})["tasmax"].isel(station=0).to_series()
    return compare_daily_tmax(cell, daily_max_temperature(read_hourly_station())).summary()


def _station_lines(heat: xr.Dataset | None, rain: xr.Dataset | None) -> list[str]:
    station = GHCN_STATIONS[BAOSHAN]
    maxima = annual_maxima(read_ghcn_monthly(observed_file(station.monthly_file)))
    lines = []
    for layer, variable, column, label, units in (
        (heat, "txx", "tmax_degc", "TXx", "degC"),
        (rain, "rx1day", "prcp_mm", "Rx1day", "mm"),
    ):
        if layer is None:
            continue
        level = layer_centre_value(layer, variable, return_period=20.0)
        result = compare_return_level(maxima[column], level, variable=label, units=units)
        lines.append(f"{station.name}: {result.summary()}")
    return lines


def _rain_line() -> str:
    return compare_hourly_rain_idf(annual_max_hourly_rain(read_hourly_station())).summary()


def _sea_level_line() -> str:
    parts = []
    for name, path in PSMSL_STATIONS.values():
        trend = sea_level_trend(annual_means(read_psmsl_monthly(observed_file(path))))
        parts.append(
            f"{name} {trend.rate_mm_per_year:.2f} +- {trend.standard_error_mm_per_year:.2f} / "
            f"{trend.standard_error_hac_mm_per_year:.2f} mm/yr ({trend.first_year}-"
            f"{trend.last_year}, {trend.years} yr)"
        )
    return "PSMSL relative sea-level trends (OLS +- SE plain / Newey-West HAC): " + ", ".join(parts)


def _maxima_trend_line() -> str:
    station = GHCN_STATIONS[BAOSHAN]
    maxima = annual_maxima(read_ghcn_monthly(observed_file(station.monthly_file)))
    parts = []
    for column, label, units in (("tmax_degc", "TXx", "degC"), ("prcp_mm", "Rx1day", "mm")):
        series = maxima[column].dropna()  # complete years only (RClimDex rule)
        trend = fit_linear_trend(series.index.to_numpy(float), series.to_numpy(float))
        parts.append(
            f"{label} {10 * trend.slope:+.2f} +- {10 * trend.standard_error:.2f} / "
            f"{10 * trend.standard_error_hac:.2f} {units}/decade (HAC p {trend.p_value_hac:.2f}; "
            f"{trend.count} yr {series.index.min()}-{series.index.max()})"
        )
    return f"{station.name} annual-maximum trends (OLS +- SE plain / Newey-West HAC): " + ", ".join(
        parts
    )


def observed_comparison_lines(
    heat: xr.Dataset | None = None,
    rain: xr.Dataset | None = None,
    *,
    reference: xr.Dataset | None = None,
) -> list[str]:
    """Return one line per comparison of the shipped observations with the engine.

    Parameters
    ----------
    heat, rain : xarray.Dataset, optional
        The heat and rain layers whose baseline 20-year TXx and Rx1day (centre cell, median)
        are compared with Baoshan's; a missing layer skips its line.
    reference : xarray.Dataset, optional
        ERA5-Land as opened by :func:`resilience.observed.era5land.open_era5land`; default
        the shipped file.

    Returns
    -------
    list of str
        A comparison that cannot be made says why on its line instead of raising, so that
        the demo's summary is never lost to one comparison.
    """
    makers: list[Callable[[], list[str]]] = [
        lambda: [_tmax_line(reference)],
        lambda: _station_lines(heat, rain),
        lambda: [_rain_line()],
        lambda: [_sea_level_line()],
        lambda: [_maxima_trend_line()],
    ]
    lines: list[str] = []
    for make in makers:
        try:
            lines.extend(make())
        except (ValueError, KeyError, OSError) as error:
            lines.append(f"comparison not made: {type(error).__name__}: {error}")
    return lines
