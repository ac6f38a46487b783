"""The RiskTable built in blocks of assets equals the table built whole, row for row."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from assets.cascade import prepare_cascade
from assets.dependencies import build_dependency_graph
from assets.overlay import sample_layer
from assets.risk import build_risk_table
from assets.service_loss import add_service_loss
from hazard_models.extremes.gev import return_level
from hazard_models.layer import SchemaError, horizon_coords, validate_hazard_layer
from resilience.geodata.risk_blocks import RiskTally, spooled_risk_table, very_high_counts
from resilience.sample.inventory import build_inventory

LAT = np.linspace(30.65, 31.85, 9)  # the sample's box, coarse
LON = np.linspace(120.85, 122.05, 9)
QUANTILES = [0.1, 0.5, 0.9]
PERIODS = [10.0, 20.0, 50.0, 100.0, 200.0]
ATTRS = {"long_name": "test field", "method": "test_risk_blocks"}


def _gev_layer(hazard, metric, units, loc, scale, shape, dims, coords):
    """A layer whose GEV varies by place and climate, so each block sees other values."""
    gev_dims = ("scenario", "horizon", *dims)
    levels = return_level(
        loc[:, :, None],
        scale[:, :, None],
        shape,
        np.reshape(PERIODS, (1, 1, -1) + (1,) * len(dims)),
    )
    spread = np.array([0.97, 1.0, 1.04]).reshape((1, 1, 1, 3) + (1,) * len(dims))
    data = {
        metric: (
            ("scenario", "horizon", "return_period", "quantile", *dims),
            levels[:, :, :, None] * spread,
            ATTRS | {"units": units},
        ),
        f"{metric}_gev_loc": (gev_dims, loc, ATTRS | {"units": units}),
        f"{metric}_gev_scale": (gev_dims, scale, ATTRS | {"units": units}),
        f"{metric}_gev_shape": (gev_dims, np.full(loc.shape, shape), ATTRS | {"units": "1"}),
    }
    attrs = {"hazard": hazard, "layer_version": "1", "inputs_sha256": "ab", "code_version": "t"}
    coords = {"scenario": ["ssp245", "ssp585"], "return_period": PERIODS, **coords}
    return validate_hazard_layer(xr.Dataset(data, coords=horizon_coords() | coords, attrs=attrs))


def _layers():
    rng = np.random.default_rng(5)
    climate = np.array([[0.0, 0.6, 1.1, 2.0], [0.0, 0.9, 1.8, 3.9]])[:, :, None, None]
    climate[:, 0] = 0.0  # the baseline is the same under every scenario
    grid = {"lat": LAT, "lon": LON, "quantile": QUANTILES}
    field = rng.normal(0.0, 1.0, (1, 1, LAT.size, LON.size))
    heat_loc = 35.5 + field + climate
    rain_loc = 110.0 + 8 * field + 6 * climate
    ones = np.ones((2, 4, LAT.size, LON.size))
    stations = {
        "station": ["wusong", "luchaogang"],
        "station_name": ("station", ["Wusongkou", "Luchaogang"]),
        "lat": ("station", [31.39, 30.85]),
        "lon": ("station", [121.50, 121.85]),
        "datum": ("station", ["wusong", "wusong"]),
        "quantile": [0.17, 0.5, 0.83],
    }
    surge_loc = 4.6 + np.array([0.0, -0.3])[None, None, :] + 0.1 * climate[..., 0]
    heat = _gev_layer("heat", "txx", "degC", heat_loc, 1.1 * ones, -0.1, ("lat", "lon"), grid)
    days = np.clip(8.0 + 4 * field + 5 * climate, 0, None)[:, :, None]  # (s, h, q, lat, lon)
    heat["tx_days_above_35"] = (  # hospitals' standard is a count of hot days
        ("scenario", "horizon", "quantile", "lat", "lon"),
        days * np.array([0.6, 1.0, 1.5])[:, None, None],
        ATTRS | {"units": "days"},
    )
    return {
        "heat": heat,
        "rain": _gev_layer(
            "rain", "rx1day", "mm/day", rain_loc, 24.0 * ones, 0.1, ("lat", "lon"), grid
        ),
        "surge": _gev_layer(
            "surge",
            "still_water_level",
            "m",
            surge_loc,
            np.full((2, 4, 2), 0.3),
            0.0,
            ("station",),
            stations,
        ),  # fmt: skip
    }


@pytest.fixture(scope="module")
def city():
    inventory = build_inventory()
    graph = build_dependency_graph(inventory)
    return _layers(), inventory, graph, prepare_cascade(graph)


COLUMNS = {"layer_version": {"heat": "v0003", "rain": "v0002", "surge": "v0001"}}


def test_blocks_of_assets_give_the_whole_table_row_for_row(city):
    layers, inventory, graph, cascade = city
    exposures = {name: sample_layer(layer, inventory) for name, layer in layers.items()}
    whole = build_risk_table(exposures, inventory, start_year=2030)
    whole["layer_version"] = whole["hazard"].map(COLUMNS["layer_version"])
    whole = add_service_loss(whole, graph)
    with spooled_risk_table(
        layers, inventory, cascade, start_year=2030, hazard_columns=COLUMNS, block_assets=37
    ) as spooled:
        blocks = list(spooled.blocks())
        assert spooled.rows == len(whole)
        assert spooled.service_loss == whole.attrs["service_loss"]
    assert len(blocks) == -(-len(inventory) // 37)
    assert max(block["asset_id"].nunique() for block in blocks) == 37
    blocked = pd.concat(blocks, ignore_index=True)
    tally = RiskTally()
    assert len(list(tally.count(iter(blocks)))) == len(blocks)  # blocks pass through unchanged
    assert (tally.rows, tally.assets) == (len(whole), len(inventory))
    assert tally.very_high == very_high_counts(whole) != {}  # summed over disjoint blocks
    pd.testing.assert_frame_equal(blocked, whole.reset_index(drop=True), check_exact=True)
    # the cascade crosses blocks: some asset loses service through a supplier of another block
    block_of = {a: k for k, b in enumerate(blocks) for a in b["asset_id"].unique()}
    drivers = blocked[blocked["upstream_driver"] != ""]
    crossing = [
        a
        for a, d in zip(drivers["asset_id"], drivers["upstream_driver"], strict=True)
        if block_of[a] != block_of[d]
    ]
    assert crossing, "no row has an upstream driver in another block: the test shows nothing"


def test_the_variables_named_are_the_ones_sampled(city):
    layers, inventory, graph, cascade = city
    wanted = {"heat": ["txx", "tx_days_above_35"]}  # heat's GEV left out; the others whole
    with pytest.raises(SchemaError, match=r"exposure 'heat': missing \['txx_gev_loc'"):
        with spooled_risk_table(layers, inventory, cascade, start_year=2030, variables=wanted):
            pass


def test_a_block_size_below_one_is_refused(city):
    layers, inventory, graph, cascade = city
    with pytest.raises(ValueError, match="block_assets: expected a positive number, found 0"):
        with spooled_risk_table(layers, inventory, cascade, start_year=2030, block_assets=0):
            pass


def test_very_high_counts_assets_once_per_column():
    table = pd.DataFrame(
        {
            "asset_id": ["a", "a", "b", "b", "c"],
            "hazard": ["heat", "heat", "heat", "surge", "surge"],
            "scenario": ["ssp245", "ssp585", "ssp585", "ssp585", "ssp245"],
            "horizon": ["baseline", "far", "far", "far", "near"],
            "risk_class": ["very high", "very high", "very high", "very high", "very high"],
        }
    )
    assert very_high_counts(table) == {
        "heat": {"baseline": 1, "ssp245 far": 0, "ssp585 far": 2},
        "surge": {"baseline": 0, "ssp245 far": 0, "ssp585 far": 1},
    }
