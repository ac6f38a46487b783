"""Fixtures for the early-warning tests: real districts, the shipped rules, forecasts, the real
asset inventory and a today's-IDF layer on the sample grid."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from resilience.early_warning.availability import runnable_rules
from resilience.early_warning.rule_models import RuleSet
from resilience.early_warning.rules import load_rules
from resilience.sample.forecast import SAMPLE_LAT, SAMPLE_LON, STATIONS, write_sample_forecast


@pytest.fixture(scope="session")
def districts() -> gpd.GeoDataFrame:
    from resilience.geodata.geography import open_districts

    return open_districts()  # the shipped copy: district_code, name_zh, name_en, geometry


@pytest.fixture(scope="session")
def all_rules() -> RuleSet:
    return load_rules()


@pytest.fixture(scope="session")
def rules(all_rules) -> RuleSet:
    """The shipped hazard rules: the impact rules need an inventory and layers (below)."""
    hazard_rules, skipped = runnable_rules(all_rules)
    assert set(skipped) == {"metro_entrance_flooding", "substation_heat", "rain_above_local_design"}
    return hazard_rules


@pytest.fixture(scope="session")
def inventory():
    """The real Shanghai inventory built from the shipped files (375 assets)."""
    from resilience.sample.inventory import build_inventory

    return build_inventory()


@pytest.fixture(scope="session")
def idf_layer() -> xr.Dataset:
    """The IDF layer on the sample grid; today's (baseline) curve is DB31/T 1043 everywhere.

    The uplift comes from a stand-in heat layer (+1 K near, +2 K far; Clausius-Clapeyron), so
    only the future horizons differ from the formula.
    """
    from hazard_models.layer import horizon_coords
    from hazard_models.rain.idf_layer import build_idf_layer

    warming = np.array([0.0, 1.0, 1.5, 2.0])[None, :, None, None, None] * np.ones(
        (3, 4, 3, SAMPLE_LAT.size, SAMPLE_LON.size)
    )
    heat = xr.Dataset(
        {
            "tg_mean_change": (
                ("scenario", "horizon", "quantile", "lat", "lon"),
                warming,
                {"units": "K"},
            )
        },
        coords={
            "scenario": ["ssp126", "ssp245", "ssp585"],
            **horizon_coords(),
            "quantile": [0.1, 0.5, 0.9],
            "lat": SAMPLE_LAT,
            "lon": SAMPLE_LON,
        },
    )
    return build_idf_layer(heat_layer=heat, method="clausius_clapeyron")


@pytest.fixture(scope="session")
def sample_forecast_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_forecast(tmp_path_factory.mktemp("forecast"))


@pytest.fixture(scope="session")
def sample_forecast(sample_forecast_path: Path) -> xr.Dataset:
    with xr.open_dataset(sample_forecast_path) as ds:
        return ds.load()


def _benign(members: int, hours: int, issued_at: str) -> xr.Dataset:
    """A quiet forecast on the sample grid: 20 degC, no rain, calm, low water (float32)."""
    shape = (members, hours, SAMPLE_LAT.size, SAMPLE_LON.size)
    grid = ("member", "time", "lat", "lon")
    issued = pd.Timestamp(issued_at)
    ends = issued.tz_convert("UTC").tz_localize(None) + pd.to_timedelta(
        np.arange(1, hours + 1), unit="h"
    )

    def full(value: float) -> np.ndarray:
        return np.full(shape, value, dtype="float32")

    return xr.Dataset(
        {
            "tas": (grid, full(20.0), {"units": "degC"}),
            "pr": (grid, full(0.0), {"units": "mm/h"}),
            "sfcWind": (grid, full(2.0), {"units": "m/s"}),
            "wind_gust": (grid, full(3.0), {"units": "m/s"}),
            "water_level": (
                ("member", "time", "station"),
                np.full((members, hours, len(STATIONS)), 2.0, dtype="float32"),
                {"units": "m"},
            ),
            "tropical_cyclone_influence": (("time",), np.zeros(hours, dtype="int8")),
        },
        coords={
            "member": np.arange(members),
            "time": ends,
            "lat": SAMPLE_LAT,
            "lon": SAMPLE_LON,
            "station": list(STATIONS),
        },
        attrs={"issued": issued.isoformat(), "product": "forecast", "synthetic": "yes"},
    )


@pytest.fixture
def make_forecast() -> Callable[..., xr.Dataset]:
    """Factory: ``make_forecast(members=1, hours=24, issued=...)``, a quiet forecast to edit.

    Hour index ``i`` covers ``issued + i`` to ``issued + i + 1`` h (its ``time`` is the end).
    """

    def make(
        members: int = 1, hours: int = 24, issued: str = "2026-07-20T08:00:00+08:00"
    ) -> xr.Dataset:
        return _benign(members, hours, issued)

    return make
