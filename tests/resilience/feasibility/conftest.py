"""Synthetic HazardLayers (docs/decisions.md D2) over Shanghai for feasibility tests.

Every layer is a Gumbel (shape 0) world whose location rises by a fixed step per horizon, so
probabilities can be reasoned about by hand; ``validate_hazard_layer`` passes on each.
"""

import numpy as np
import pytest
import xarray as xr

from hazard_models.extremes.gev import return_level
from hazard_models.layer import horizon_coords, validate_hazard_layer
from resilience.feasibility.models import Submission

SCENARIOS = ["ssp126", "ssp585"]
PERIODS = [10.0, 20.0, 50.0, 100.0, 200.0]
LAT = np.arange(30.625, 31.9, 0.25)
LON = np.arange(120.875, 122.1, 0.25)
STEP = np.array([0.0, 1.0, 2.0, 4.0])  # loc increase per horizon (baseline, near, mid, far)


def _attrs(units):
    return {"units": units, "long_name": "synthetic test variable", "method": "conftest factory"}


def _layer(hazard, metric, units, loc, scale, warming, spatial):
    dims, shape = (
        (("lat", "lon"), (LAT.size, LON.size)) if spatial == "grid" else (("station",), (2,))
    )
    loc_h = loc + warming * STEP[:, None] * np.array([0.5, 1.0])[None, :]  # ssp585 warms twice
    locs = np.broadcast_to(
        loc_h.T[:, :, None, None] if spatial == "grid" else loc_h.T[:, :, None], (2, 4, *shape)
    ).copy()
    gev = ("scenario", "horizon", *dims)
    levels = return_level(
        locs[:, :, None], scale, 0.0, np.reshape(PERIODS, (1, 1, -1) + (1,) * len(shape))
    )
    levels = np.repeat(levels[:, :, :, None], 3, axis=3)
    data = {
        metric: (
            ("scenario", "horizon", "return_period", "quantile", *dims),
            levels,
            _attrs(units),
        ),
        f"{metric}_gev_loc": (gev, locs, _attrs(units)),
        f"{metric}_gev_scale": (gev, np.full(locs.shape, scale), _attrs(units)),
        f"{metric}_gev_shape": (gev, np.zeros(locs.shape), _attrs("1")),
    }
    coords = {"scenario": SCENARIOS, "return_period": PERIODS, **horizon_coords()}
    if spatial == "grid":
        coords.update(lat=LAT, lon=LON, quantile=[0.1, 0.5, 0.9])
    else:
        coords.update(
            station=["wusong", "huangpu"],
            station_name=("station", ["Wusongkou", "Huangpu Park"]),
            lat=("station", [31.39, 31.24]),
            lon=("station", [121.50, 121.49]),
            datum=("station", ["wusong", "wusong"]),
            quantile=[0.17, 0.5, 0.83],
        )
    attrs = {
        "hazard": hazard,
        "layer_version": "1",
        "inputs_sha256": "0123456789abcdef",
        "code_version": "test",
        "synthetic": "true",
    }
    return validate_hazard_layer(xr.Dataset(data, coords=coords, attrs=attrs))


def make_layers(heat_loc=36.0, rain_loc=120.0, surge_loc=4.6, warming=1.0):
    return {
        "heat": _layer("heat", "txx", "degC", heat_loc, 1.0, warming, "grid"),
        "rain": _layer("rain", "rx1day", "mm/day", rain_loc, 25.0, 5.0 * warming, "grid"),
        "surge": _layer(
            "surge", "still_water_level", "m", surge_loc, 0.25, 0.1 * warming, "stations"
        ),
    }


@pytest.fixture
def hot_layers():
    """Standards clearly exceeded: TXx loc 39 degC vs a 40 degC limit, surge near the wall."""
    return make_layers(heat_loc=39.0, surge_loc=5.2)


@pytest.fixture
def mild_layers():
    """Standards far above the climate: nothing is exceeded in any scenario."""
    return make_layers(heat_loc=28.0, rain_loc=60.0, surge_loc=3.0, warming=0.0)


@pytest.fixture
def submission():
    return Submission(
        project_name="Pudong substation",
        asset_type="substation",
        lon=121.45,
        lat=31.30,
        ground_elevation_m=4.2,
        protection_level_m=6.0,
        replacement_value=2.0e8,
        criticality=4,
    )


@pytest.fixture
def layer_factory():
    """The ``make_layers`` factory, for tests that need their own climate."""
    return make_layers
