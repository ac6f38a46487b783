"""Fixtures of the hazard-building tests: a small seeded daily Projections Dataset and store."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import cftime
import numpy as np
import pytest
import xarray as xr

from hazard_models.horizon import Horizon

#: A 10-year baseline and a 10-year future horizon: the fewest years a GEV fit takes (dask
#: tasks scale with years, and each costs milliseconds on a cluster).
BASELINE, NEAR = Horizon("baseline", 1995, 2004), Horizon("near", 2021, 2030)
HISTORICAL_YEARS = range(BASELINE.start, BASELINE.end + 1)
FUTURE_YEARS = range(NEAR.start, NEAR.end + 1)
DIMS = ("model", "scenario", "time", "lat", "lon")


def small_projections(seed: int = 16) -> xr.Dataset:
    """Return seeded CF-correct daily Projections (noleap) of tasmax, tasmin (degC) and pr.

    2 models x (historical, ssp245) x the years of BASELINE and NEAR x 3 x 4 cells; NaN
    outside each scenario's years, as in a projections store.
    """
    years = [*HISTORICAL_YEARS, *FUTURE_YEARS]
    days = [
        cftime.DatetimeNoLeap(year, 1, 1, 12) + datetime.timedelta(days=day)
        for year in years
        for day in range(365)
    ]
    rng = np.random.default_rng(seed)
    shape = (2, 2, len(days), 3, 4)
    day_of_year = np.tile(np.arange(365), len(years))
    year = np.repeat(years, 365)
    cycle = 25.0 + 8.0 * np.sin(2 * np.pi * (day_of_year - 100) / 365) + 0.03 * (year - 1995)
    tasmax = cycle[None, None, :, None, None] + 3.0 * rng.standard_normal(shape)
    tasmin = tasmax - 7.0 - rng.random(shape)
    pr = np.where(rng.random(shape) < 0.3, rng.gamma(0.7, 15.0, shape), 0.0)
    historical = np.isin(year, list(HISTORICAL_YEARS))
    for values in (tasmax, tasmin, pr):
        values[:, 0, ~historical] = np.nan
        values[:, 1, historical] = np.nan
    coords = {
        "model": ["MODEL-A", "MODEL-B"],
        "scenario": ["historical", "ssp245"],
        "time": days,
        "lat": 31.0 + 0.25 * np.arange(3),
        "lon": 121.0 + 0.25 * np.arange(4),
    }
    data = {
        "tasmax": (DIMS, tasmax.astype("float32"), {"units": "degC"}),
        "tasmin": (DIMS, tasmin.astype("float32"), {"units": "degC"}),
        "pr": (DIMS, pr.astype("float32"), {"units": "mm/day"}),
    }
    return xr.Dataset(data, coords=coords, attrs={"synthetic": "yes"})


@pytest.fixture
def horizons() -> tuple[Horizon, Horizon]:
    """The baseline and future horizon that :func:`small_projections` covers."""
    return BASELINE, NEAR


@pytest.fixture
def daily_projections() -> Callable[..., xr.Dataset]:
    """Return :func:`small_projections` (seeded, CF-correct, noleap; tasmax, tasmin, pr)."""
    return small_projections


@pytest.fixture(scope="module")
def projection_store(tmp_path_factory) -> Path:
    """A projections store of :func:`small_projections`, written once per module."""
    from resilience.climate.store_write import InputFile, write_projection_store

    path = tmp_path_factory.mktemp("store") / "projections.zarr"
    write_projection_store(
        small_projections(), path, inputs=[InputFile("synthetic://test", None)], request={}
    )
    return path
