"""Tests of the connected-component bathtub, defence lines and the coastal-flood layer."""

from __future__ import annotations

import time

import numpy as np
import pytest
import xarray as xr

from hazard_models.coast.inundation import (
    DefenceLine,
    build_inundation_layer,
    cell_area_km2,
    coastal_ring,
    edge_water,
    flood_depth,
    flood_extent,
    rasterise_defences,
)
from hazard_models.horizon import AR6_HORIZONS
from hazard_models.layer import SchemaError, horizon_coords, validate_hazard_layer

NAN = np.nan


def basins() -> np.ndarray:
    """Sea (NaN) in column 0; land at 2 m; an open basin (0.5 m) reached by a 0.5 m channel
    in row 1; a closed basin (0.5 m) ringed by 3 m ground."""
    ground = np.full((7, 9), 2.0)
    ground[:, 0] = NAN
    ground[1, 1:4] = 0.5  # channel from the sea ...
    ground[1:3, 4:6] = 0.5  # ... into the open basin
    ground[4:7, 5:9] = 3.0  # ring
    ground[5, 6:8] = 0.5  # closed basin inside the ring
    return ground


def test_connected_basin_floods_and_disconnected_basin_stays_dry():
    ground = basins()
    sea = edge_water(ground)
    depth = flood_depth(ground, sea, 1.0)
    # Open basin and channel: 1.0 - 0.5 = 0.5 m; closed basin: 0 (same height, no path);
    # land at 2 m: 0; the sea: NaN.
    assert np.all(depth[1, 1:4] == 0.5) and np.all(depth[1:3, 4:6] == 0.5)
    assert np.all(depth[5, 6:8] == 0.0)
    assert depth[3, 3] == 0.0 and np.all(np.isnan(depth[:, 0]))
    # A plain "level > ground" bathtub would flood the closed basin too.
    assert np.all(ground[5, 6:8] < 1.0)
    # Once the water tops the 3 m ring everything floods, the closed basin 3.5 - 0.5 deep.
    assert np.all(flood_depth(ground, sea, 3.5)[5, 6:8] == 3.0)


def test_wall_just_above_and_just_below_the_water():
    ground = np.full((5, 6), 1.0)
    ground[:, 0] = NAN
    crest = np.full(ground.shape, NAN)
    crest[:, 2] = 2.0  # a wall along column 2, crest 2.0 m
    sea = edge_water(ground)
    below = flood_extent(ground, sea, 1.99, crest_m=crest)  # crest 1 cm above the water
    above = flood_extent(ground, sea, 2.01, crest_m=crest)  # crest 1 cm below the water
    assert below[:, 1].all() and not below[:, 2:].any()  # seaward strip only
    assert above[:, 1:].all()  # overtopped: the whole hinterland
    depth = flood_depth(ground, sea, 2.01, crest_m=crest)
    np.testing.assert_allclose(depth[:, 3:], 1.01, rtol=1e-12)  # level - ground, static
    held = flood_extent(ground, sea, 2.01, crest_m=crest, overtopping="none")
    assert not held[:, 2:].any()
    with pytest.raises(ValueError, match="'allow' or 'none'"):
        flood_extent(ground, sea, 2.0, crest_m=crest, overtopping="sometimes")


def test_rasterised_diagonal_wall_is_watertight_and_a_breach_opens_it():
    lat = np.arange(30.0, 30.0 + 12 * 0.01, 0.01)[:12]
    lon = np.arange(121.0, 121.0 + 12 * 0.01, 0.01)[:12]
    ground = np.full((12, 12), 1.0)
    ground[:, 0] = NAN  # sea to the west
    # A 45-degree wall on cells (row r, col r + 1) from the south edge to the east edge.
    lines = [
        DefenceLine("south", lon=(121.01, 121.06), lat=(30.0, 30.05), crest_m=3.0),
        DefenceLine("north", lon=(121.06, 121.12), lat=(30.05, 30.11), crest_m=3.0),
    ]
    defences = rasterise_defences(lines, lat, lon)
    assert set(np.unique(defences["segment"].values)) == {"", "north", "south"}
    crest = defences["crest_m"].values
    sea = edge_water(ground)
    flooded = flood_extent(ground, sea, 2.0, crest_m=crest)
    # Cells of a diagonal line touch only by corners, yet 4-neighbour water cannot pass.
    rows, cols = np.indices(ground.shape)
    np.testing.assert_array_equal(np.isfinite(crest), cols == rows + 1)
    behind = cols >= rows + 2
    assert flooded[~behind & (cols > 0) & np.isnan(crest)].all() and not flooded[behind].any()
    layer_levels = _levels([2.0])
    open_north = build_inundation_layer(
        xr.DataArray(ground, dims=("lat", "lon"), coords={"lat": lat, "lon": lon}),
        layer_levels,
        defences=defences,
        breached=["north"],
    )
    depth = open_north["flood_depth"].isel(scenario=0, horizon=0, return_period=0).values
    assert (depth[behind] == 1.0).all()  # through the gap, 2.0 - 1.0 m


def test_edge_water_and_coastal_ring():
    ground = np.full((6, 6), 1.0)
    ground[:, 0] = NAN
    ground[3, 3] = NAN  # an inland lake: not a source
    sea = edge_water(ground)
    assert sea[:, 0].all() and not sea[3, 3]
    ring = coastal_ring(sea)
    assert ring[:, 1].all() and ring.sum() == 6


def _levels(values, *, quantiles=None) -> xr.DataArray:
    """Water levels on (scenario, horizon, return_period[, quantile]) with horizon coords."""
    periods = [10.0, 100.0, 200.0, 1000.0][: len(values)]
    data = np.asarray(values, dtype=float).reshape(1, 1, len(values))
    dims = ("scenario", "horizon", "return_period")
    coords = {"scenario": ["ssp585"], "return_period": periods}
    if quantiles is not None:
        data = data[..., None] + np.asarray(quantiles)
        dims, coords = (*dims, "quantile"), {**coords, "quantile": [0.17, 0.5, 0.83]}
    levels = xr.DataArray(data, dims=dims, coords=coords)
    return levels.assign_coords(horizon_coords(AR6_HORIZONS[3:]))


def test_layer_on_the_shipped_dem_follows_the_contract_and_is_fast():
    from resilience.geodata.geography import open_dem

    dem = open_dem()
    levels = _levels([4.5, 5.0, 5.5, 6.3])  # one scenario x horizon x 4 return periods
    build_inundation_layer(dem, levels.isel(return_period=[0]))  # import scipy.ndimage once
    start = time.perf_counter()
    layer = build_inundation_layer(dem, levels, inputs_sha256="x", code_version="test")
    elapsed = time.perf_counter() - start
    assert validate_hazard_layer(layer) is layer
    assert layer["flood_depth"].dims == ("scenario", "horizon", "return_period", "lat", "lon")
    assert layer.attrs["hazard"] == "coastal_flood"
    area = layer["flooded_area"].values.ravel()
    assert np.all(np.diff(area) >= 0) and area[-1] > 1000  # km2; more water, more land
    # Measured ~15 ms on 2 cores (180 x 192 cells, 4 labels); 2 s leaves room for slow CI.
    assert elapsed < 2.0
    sea = edge_water(dem.values)
    ring = coastal_ring(sea)
    wall = xr.Dataset(
        {
            "crest_m": (("lat", "lon"), np.where(ring, 6.0, NAN)),
            "segment": (("lat", "lon"), np.where(ring, "coast", "")),
        }
    )
    walled = build_inundation_layer(dem, levels, defences=wall)
    # A notional 6 m coastal wall keeps out 4.5-5.5 m; 6.3 m overtops it.
    np.testing.assert_array_equal(walled["flooded_area"].values.ravel()[:3], 0.0)
    assert walled["flooded_area"].values.ravel()[3] == pytest.approx(area[3])


def test_layer_with_quantiles_and_errors():
    ground = basins()
    lat, lon = np.linspace(31.0, 31.06, 7), np.linspace(121.0, 121.08, 9)
    dem = xr.DataArray(ground, dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
    layer = build_inundation_layer(dem, _levels([1.0, 2.5], quantiles=[-0.1, 0.0, 0.1]))
    assert layer["flood_depth"].dims[3] == "quantile"
    depth = layer["flood_depth"].sel(return_period=10.0).isel(scenario=0, horizon=0)
    np.testing.assert_allclose(depth.sel(quantile=0.83).values[1, 1], 0.6, rtol=1e-6)
    # Area: 3 channel + 4 basin cells of ~1.11 x 0.95 km each.
    cells = cell_area_km2(lat, lon)
    expected = cells[1, 1:4].sum() + cells[1:3, 4:6].sum()
    got = layer["flooded_area"].sel(return_period=10.0, quantile=0.5).item()
    assert got == pytest.approx(expected, rel=1e-6)
    with pytest.raises(SchemaError, match="expected dims \\('lat', 'lon'\\)"):
        build_inundation_layer(dem.T, _levels([1.0]))
    with pytest.raises(SchemaError, match="expected dims \\(scenario, horizon"):
        build_inundation_layer(dem, _levels([1.0]).isel(return_period=0))
    with pytest.raises(SchemaError, match="'start' coordinate"):
        build_inundation_layer(dem, _levels([1.0]).drop_vars("start"))
    with pytest.raises(SchemaError, match="but no defences"):
        build_inundation_layer(dem, _levels([1.0]), breached=["north"])
    wall = rasterise_defences([DefenceLine("a", (121.0, 121.08), (31.03, 31.03), 3.0)], lat, lon)
    with pytest.raises(SchemaError, match=r"unknown segments \['b'\]; expected some of \['a'\]"):
        build_inundation_layer(dem, _levels([1.0]), defences=wall, breached=["b"])
    with pytest.raises(SchemaError, match="unique names"):
        rasterise_defences([DefenceLine("a", (121.0, 121.1), (31.0, 31.0), 3.0)] * 2, lat, lon)
    with pytest.raises(ValueError, match=">= 2"):
        DefenceLine("a", (121.0,), (31.0,), 3.0)


def test_layer_from_the_surge_layer_of_a_station(make_surge_inputs):
    from hazard_models.coast.surge import build_surge_layer

    surge = build_surge_layer(*make_surge_inputs(), return_periods=[10, 100])
    levels = surge["still_water_level"].sel(station="wusongkou")  # carries lat/lon/datum coords
    ground = basins() + 3.5  # the open basin at 4.0 m, land at 5.5 m, ring at 6.5 m
    lat, lon = np.linspace(31.0, 31.06, 7), np.linspace(121.0, 121.08, 9)
    dem = xr.DataArray(ground, dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
    layer = build_inundation_layer(dem, levels)
    assert validate_hazard_layer(layer) is layer  # includes: baseline equal under every scenario
    assert layer["flood_depth"].dims == (
        "scenario",
        "horizon",
        "return_period",
        "quantile",
        "lat",
        "lon",
    )
    depth = layer["flood_depth"].sel(scenario="ssp585", horizon="far", return_period=100.0)
    level = levels.sel(scenario="ssp585", horizon="far", return_period=100.0)
    expected = level.values[:, None] - 4.0  # the open basin, per quantile
    np.testing.assert_allclose(depth.values[:, 1, 4], np.maximum(expected[:, 0], 0), rtol=1e-6)


def test_crest_length_of_each_segment_adds_up_to_its_line():
    """Each rasterised line shares its length (equirectangular, R = 6371 km) among its cells;
    where two segments meet, a cell keeps the samples of the segment that owns it."""
    lat = np.arange(30.0, 30.0 + 12 * 0.01, 0.01)[:12]
    lon = np.arange(121.0, 121.0 + 12 * 0.01, 0.01)[:12]
    lines = [
        DefenceLine("low", lon=(121.01, 121.06), lat=(30.0, 30.05), crest_m=3.0),
        DefenceLine("east", lon=(121.02, 121.10), lat=(30.08, 30.08), crest_m=4.0),
    ]
    defences = rasterise_defences(lines, lat, lon)
    length = defences["crest_length_m"]
    radius_m = 6371e3
    diagonal = radius_m * np.deg2rad(np.hypot(0.05 * np.cos(np.deg2rad(30.025)), 0.05))
    along = radius_m * np.deg2rad(0.08) * np.cos(np.deg2rad(30.08))
    owned = defences["segment"].values
    assert float(length.where(owned == "low").sum()) == pytest.approx(diagonal, rel=1e-9)
    assert float(length.where(owned == "east").sum()) == pytest.approx(along, rel=1e-9)
    assert bool(np.isnan(length.values[owned == ""]).all())
