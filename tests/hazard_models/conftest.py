"""Seeded factory fixtures that build small CF-correct Projections and surge inputs.

``make_projections`` returns a Projections Dataset (dims model, scenario, time, lat, lon;
cftime ``noleap`` daily time; ``tasmax`` in degC, ``pr`` in mm/day) in which ``historical``
is NaN after 2014 and every SSP is NaN before 2015, as the contract describes. Warming is a
linear trend after 2014 whose rate grows with the scenario, so a test can check that it shows
up in the layer. ``make_surge_inputs`` returns the three tables of the surge builder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import genextreme

#: Warming rate after 2014 (degC per year) used by the factory; ssp585 warms fastest.
WARMING_DEGC_PER_YEAR = {"historical": 0.0, "ssp126": 0.01, "ssp245": 0.025, "ssp585": 0.05}
LAST_HISTORICAL_YEAR = 2014


def _noleap_days(first_year: int, last_year: int) -> xr.CFTimeIndex:
    """Return daily noon time stamps of the cftime ``noleap`` calendar (CMIP6 common)."""
    return xr.date_range(
        f"{first_year:04d}-01-01 12:00",
        f"{last_year:04d}-12-31 12:00",
        freq="D",
        calendar="noleap",
        use_cftime=True,
    )


def _coords(n_lat: int, n_lon: int) -> dict[str, xr.DataArray]:
    lat = xr.DataArray(
        np.linspace(30.9, 31.5, n_lat),
        dims="lat",
        attrs={"units": "degrees_north", "standard_name": "latitude", "axis": "Y"},
    )
    lon = xr.DataArray(
        np.linspace(121.1, 121.9, n_lon),
        dims="lon",
        attrs={"units": "degrees_east", "standard_name": "longitude", "axis": "X"},
    )
    return {"lat": lat, "lon": lon}


def _warming(scenarios: Sequence[str], years: np.ndarray) -> np.ndarray:
    """Return (scenario, time) warming in degC: linear after 2014, by scenario."""
    after = np.maximum(years - LAST_HISTORICAL_YEAR, 0)
    return np.array([WARMING_DEGC_PER_YEAR[s] * after for s in scenarios])


def _mask_scenarios(data: np.ndarray, scenarios: Sequence[str], years: np.ndarray) -> None:
    """Set historical to NaN after 2014 and the SSPs to NaN before 2015, in place."""
    for i, scenario in enumerate(scenarios):
        outside = years > LAST_HISTORICAL_YEAR
        if scenario != "historical":
            outside = ~outside
        data[:, i, outside] = np.nan


def build_projections(
    *,
    models: Sequence[str] = ("model-a", "model-b"),
    scenarios: Sequence[str] = ("historical", "ssp126", "ssp585"),
    first_year: int = 1995,
    last_year: int = 2100,
    n_lat: int = 2,
    n_lon: int = 3,
    seed: int = 0,
) -> xr.Dataset:
    """Return synthetic Projections with seasonal Tmax, warming and gamma-distributed rain."""
    rng = np.random.default_rng(seed)
    time = _noleap_days(first_year, last_year)
    years = np.asarray(time.year)
    day = np.arange(time.size) % 365
    shape = (len(models), len(scenarios), time.size, n_lat, n_lon)
    # Seasonal cycle peaking in late July (day 205) at 31 degC, daily noise sd 2.5 degC.
    season = 21.0 + 10.0 * np.cos(2 * np.pi * (day - 205) / 365.0)
    tasmax = season[None, None, :, None, None] + rng.normal(0.0, 2.5, shape)
    tasmax += _warming(scenarios, years)[None, :, :, None, None]
    # Rain on 35 % of days, gamma amounts with mean 8.4 mm: a few days per year above 50 mm.
    wet = rng.random(shape) < 0.35
    pr = np.where(wet, rng.gamma(0.7, 12.0, shape), 0.0)
    for data in (tasmax, pr):
        _mask_scenarios(data, scenarios, years)
    dims = ("model", "scenario", "time", "lat", "lon")
    time_coord = xr.DataArray(time, dims="time", attrs={"standard_name": "time", "axis": "T"})
    coords = {"model": list(models), "scenario": list(scenarios), "time": time_coord}
    coords.update(_coords(n_lat, n_lon))
    tasmax_attrs = {
        "units": "degC",
        "standard_name": "air_temperature",
        "long_name": "Daily Maximum Near-Surface Air Temperature",
        "original_units": "K",
    }
    pr_attrs = {
        "units": "mm/day",
        "standard_name": "lwe_precipitation_rate",
        "long_name": "Precipitation",
        "original_units": "kg m-2 s-1",
    }
    return xr.Dataset(
        {
            "tasmax": (dims, tasmax.astype("float32"), tasmax_attrs),
            "pr": (dims, pr.astype("float32"), pr_attrs),
        },
        coords=coords,
        attrs={"Conventions": "CF-1.8", "source": "tests/hazard_models/conftest.py (synthetic)"},
    )


@pytest.fixture(scope="session")
def make_projections() -> Callable[..., xr.Dataset]:
    """Return the :func:`build_projections` factory (seeded, CF-correct, noleap calendar)."""
    return build_projections


@pytest.fixture(scope="session")
def projections() -> xr.Dataset:
    """Return the default synthetic Projections (2 models, historical + 2 SSPs, 2x3 cells)."""
    return build_projections()


def build_surge_inputs(
    *,
    stations: Sequence[str] = ("wusongkou", "huangpu_park"),
    first_year: int = 1961,
    last_year: int = 2020,
    trend_m_per_year: float = 0.0,
    rise_m: float = 0.5,
    subsidence_mm_per_year: float = 0.0,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (annual_maxima, stations, sea_level) tables for the surge builder.

    Maxima are GEV(loc 4.2 m, scale 0.3 m, xi 0.1) plus ``trend_m_per_year`` x (year - 2004.5).
    Sea-level rise is ``rise_m`` at every quantile and every year from 2020 to 2100, so every
    future horizon gets the same rise.
    """
    rng = np.random.default_rng(seed)
    years = np.arange(first_year, last_year + 1)
    rows = []
    for station in stations:
        values = genextreme.rvs(-0.1, loc=4.2, scale=0.3, size=years.size, random_state=rng)
        values = values + trend_m_per_year * (years - 2004.5)
        rows += [
            {"station": station, "year": int(y), "annual_max_m": float(v), "datum": "Wusong"}
            for y, v in zip(years, values, strict=True)
        ]
    station_table = pd.DataFrame(
        {
            "station": list(stations),
            "station_name": [s.replace("_", " ").title() for s in stations],
            "lat": np.linspace(31.2, 31.4, len(stations)),
            "lon": np.linspace(121.4, 121.5, len(stations)),
            "datum": "Wusong",
            "subsidence_mm_per_year": subsidence_mm_per_year,
        }
    )
    sea_level = pd.DataFrame(
        [
            {"scenario": s, "year": y, "quantile": q, "sea_level_rise_m": rise_m}
            for s in ("ssp126", "ssp245", "ssp585")
            for y in range(2020, 2101, 10)
            for q in (0.17, 0.5, 0.83)
        ]
    )
    return pd.DataFrame(rows), station_table, sea_level


@pytest.fixture(scope="session")
def make_surge_inputs() -> Callable[..., tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    """Return the :func:`build_surge_inputs` factory (seeded)."""
    return build_surge_inputs
