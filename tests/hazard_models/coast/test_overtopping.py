"""Tests of :mod:`hazard_models.coast.overtopping`: weir overflow stored behind the walls.

Known answers: the weir coefficient (2/3)^(3/2) g^(1/2) (Henderson 1966, sect. 6.6); the
overflow volume of the synthetic storm tide against scipy.integrate.quad of the same formula
written out independently (tolerance 1e-3: the trapezoid on 2-minute steps); the depth in a
flat basin behind a wall = stored volume / basin area; volume in = volume stored to 1e-9
relative (exact up to rounding: the 1e-6 of issue 17 with room to spare).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.integrate import quad

from hazard_models.coast.inundation import (
    DefenceLine,
    build_inundation_layer,
    cell_area_km2,
    edge_water,
    flood_depth,
    rasterise_defences,
)
from hazard_models.coast.overtopping import (
    WEIR_COEFFICIENT,
    overflow_volume_per_metre,
    overtopping_flood,
    weir_discharge,
)
from hazard_models.coast.storm_tide import M2_PERIOD_H, SyntheticStormTide, storm_tide
from hazard_models.horizon import AR6_HORIZONS
from hazard_models.layer import horizon_coords, validate_hazard_layer

LAT = 31.0 + 0.01 * np.arange(6)
LON = 121.0 + 0.01 * np.arange(10)
CREST_M = 3.0
BASIN_M = 0.5
SHAPE = SyntheticStormTide(tide_range_m=3.0, surge_peak_m=1.5, surge_duration_h=18.0)


def walled_basin(*, ridge: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sea in column 0, seaward land at 1 m in column 1, a wall (crest 3 m on 1 m ground) in
    column 2, a flat basin at 0.5 m behind; with ``ridge``, a 20 m ridge along row 3 (wall
    cell included) splits the basin into rows 0-2 and rows 4-5."""
    ground = np.full((6, 10), BASIN_M)
    ground[:, 0] = np.nan
    ground[:, 1:3] = 1.0
    crest = np.full(ground.shape, np.nan)
    crest[:, 2] = CREST_M
    if ridge:
        ground[3, 2:] = 20.0
    return ground, crest


def exact_volume_per_metre(peak_m: float, crest_m: float, shape: SyntheticStormTide) -> float:
    """Integral of C (level(t) - crest)^1.5 dt (s), the formula written out, by quad."""

    def level(t: float) -> float:
        tide = shape.tide_range_m / 2 * (1 - np.cos(2 * np.pi * t / M2_PERIOD_H))
        surge = shape.surge_peak_m * (1 - np.cos(np.pi * t / shape.surge_duration_h) ** 2)
        return peak_m - tide - surge

    def q(t: float) -> float:
        return WEIR_COEFFICIENT * max(level(t) - crest_m, 0.0) ** 1.5

    half = shape.surge_duration_h / 2
    value, _ = quad(q, -half, half, points=[0.0], limit=200, epsabs=1e-12)
    return value * 3600.0


def test_weir_discharge_known_values():
    # C = (2/3)^1.5 sqrt(9.80665) = 1.7046 m^0.5/s (Henderson 1966; "C ~ 1.7" in SI)
    assert WEIR_COEFFICIENT == pytest.approx(1.7046, abs=1e-4)
    np.testing.assert_allclose(
        weir_discharge(np.array([-1.0, 0.0, 1.0, 0.25, np.nan])),
        [0.0, 0.0, WEIR_COEFFICIENT, WEIR_COEFFICIENT * 0.125, 0.0],
        rtol=1e-12,
    )


def test_overflow_volume_against_quad():
    time, level = storm_tide(3.4, SHAPE)
    got = overflow_volume_per_metre(time, level, np.array([3.0, 3.2, 3.4, np.nan]))
    for crest, value in zip((3.0, 3.2), got[:2], strict=True):
        assert value == pytest.approx(exact_volume_per_metre(3.4, crest, SHAPE), rel=1e-3)
    assert got[2] == 0.0 and got[3] == 0.0  # crest at the peak, and no wall
    # constant head of 0.5 m for 2 h: C 0.5^1.5 x 7200 s, exact for the trapezoid
    flat = overflow_volume_per_metre(np.array([0.0, 2.0]), np.array([4.0, 4.0]), 3.5)
    assert float(flat) == pytest.approx(WEIR_COEFFICIENT * 0.5**1.5 * 7200.0, rel=1e-12)


def test_flat_basin_stores_the_overflow_volume():
    ground, crest = walled_basin()
    sea = edge_water(ground)
    area = cell_area_km2(LAT, LON) * 1e6
    length = np.where(np.isfinite(crest), 1000.0, np.nan)  # 1 km of wall per cell
    peak = 3.4
    flood = overtopping_flood(
        ground,
        sea,
        storm_tide(peak, SHAPE),
        crest_m=crest,
        crest_length_m=length,
        cell_area_m2=area,
    )
    expected = 6 * 1000.0 * exact_volume_per_metre(peak, CREST_M, SHAPE)
    assert flood.inflow_m3 == pytest.approx(expected, rel=1e-3)
    assert flood.stored_m3 == pytest.approx(flood.inflow_m3, rel=1e-9)  # conserved
    assert flood.capped_m3 == 0 and flood.unrouted_m3 == 0 and not flood.capped
    basin = area[:, 3:].sum()
    depth = flood.depth_m
    np.testing.assert_allclose(depth[:, 3:], flood.inflow_m3 / basin, rtol=1e-9)
    assert np.sum(depth[:, 3:] * area[:, 3:]) == pytest.approx(flood.inflow_m3, rel=1e-9)
    np.testing.assert_allclose(depth[:, 1], peak - 1.0)  # seaward land: open to the sea
    assert np.all(depth[:, 2] == 0) and np.all(np.isnan(depth[:, 0]))
    # the bathtub fills the same basin to the peak: 2.9 m instead of centimetres
    bathtub = flood_depth(ground, sea, peak, crest_m=crest)
    np.testing.assert_allclose(bathtub[:, 3:], peak - BASIN_M)
    assert depth[0, 3] < 0.15 * bathtub[0, 3]  # 0.32 m: a 1.5 m surge over 18 h


def test_two_compartments_each_store_their_own_walls_overflow():
    ground, crest = walled_basin(ridge=True)
    sea = edge_water(ground)
    area = cell_area_km2(LAT, LON) * 1e6
    length = np.where(np.isfinite(crest), 1000.0, np.nan)
    north_half = np.broadcast_to(np.arange(6)[:, None] < 3, crest.shape)
    segment = np.where(np.isfinite(crest), np.where(north_half, "north", "south"), "")
    flood = overtopping_flood(
        ground,
        sea,
        storm_tide(3.4, SHAPE),
        crest_m=crest,
        crest_length_m=length,
        cell_area_m2=area,
        segment=segment,
    )
    per_cell = 1000.0 * overflow_volume_per_metre(*storm_tide(3.4, SHAPE), CREST_M)
    # the ridge's wall cell stands on 20 m ground: not overtopped
    assert flood.segment_inflow_m3["north"] == pytest.approx(3 * per_cell, rel=1e-12)
    assert flood.segment_inflow_m3["south"] == pytest.approx(2 * per_cell, rel=1e-12)
    north = flood.depth_m[0:3, 3:]
    south = flood.depth_m[4:6, 3:]
    np.testing.assert_allclose(north, 3 * per_cell / area[0:3, 3:].sum(), rtol=1e-9)
    np.testing.assert_allclose(south, 2 * per_cell / area[4:6, 3:].sum(), rtol=1e-9)
    assert flood.stored_m3 == pytest.approx(flood.inflow_m3, rel=1e-9)


def test_a_long_high_storm_fills_to_the_bathtub_bound_and_says_so():
    ground, crest = walled_basin()
    sea = edge_water(ground)
    area = cell_area_km2(LAT, LON) * 1e6
    length = np.where(np.isfinite(crest), 1000.0, np.nan)
    long_storm = SyntheticStormTide(tide_range_m=0.0, surge_peak_m=0.5, surge_duration_h=72.0)
    flood = overtopping_flood(
        ground,
        sea,
        storm_tide(6.0, long_storm),
        crest_m=crest,
        crest_length_m=length,
        cell_area_m2=area,
    )
    assert flood.capped and flood.capped_m3 > 0
    capacity = np.sum((6.0 - BASIN_M) * area[:, 3:])
    assert flood.stored_m3 == pytest.approx(capacity, rel=1e-9)
    assert flood.stored_m3 + flood.capped_m3 == pytest.approx(flood.inflow_m3, rel=1e-9)
    bathtub = flood_depth(ground, sea, 6.0, crest_m=crest)
    np.testing.assert_allclose(flood.depth_m[:, 3:], bathtub[:, 3:], rtol=1e-12)


def _levels(values: list[float]) -> xr.DataArray:
    data = np.asarray(values, dtype=float).reshape(1, 1, len(values))
    coords = {"scenario": ["ssp585"], "return_period": [10.0, 100.0, 1000.0][: len(values)]}
    levels = xr.DataArray(data, dims=("scenario", "horizon", "return_period"), coords=coords)
    return levels.assign_coords(horizon_coords(AR6_HORIZONS[3:]))


def test_layer_with_the_overtopping_method():
    ground, _ = walled_basin()
    dem = xr.DataArray(ground, dims=("lat", "lon"), coords={"lat": LAT, "lon": LON})
    # a surveyed line along column 2 (lon 121.02) from the south to the north edge
    lines = [DefenceLine("coast", (121.02, 121.02), (31.0, 31.05), CREST_M)]
    defences = rasterise_defences(lines, LAT, LON)
    levels = _levels([2.5, 3.4, 4.0])
    layer = build_inundation_layer(dem, levels, defences=defences, method="overtopping")
    assert validate_hazard_layer(layer) is layer
    for name in ("overtopping_volume", "stored_volume", "bathtub_bound", "bathtub_area"):
        assert layer[name].dims == ("scenario", "horizon", "return_period")
    volume = layer["overtopping_volume"].values.ravel()
    stored = layer["stored_volume"].values.ravel()
    assert volume[0] == 0 and volume[1] > 0 and volume[2] > volume[1]
    np.testing.assert_allclose(stored, volume, rtol=1e-9)  # no cap at these levels
    # the line is 0.05 deg of latitude long: its cells share that length
    line_m = 6371e3 * np.deg2rad(0.05)
    assert float(defences["crest_length_m"].sum()) == pytest.approx(line_m, rel=1e-9)
    per_metre = overflow_volume_per_metre(*storm_tide(3.4, SyntheticStormTide()), CREST_M)
    assert volume[1] == pytest.approx(line_m * float(per_metre), rel=1e-9)
    area = layer["flooded_area"].values.ravel()
    bound = layer["bathtub_area"].values.ravel()
    assert np.all(area <= bound + 1e-9) and area[0] == bound[0]  # seaward strip only at 2.5 m
    assert "broad-crested weir" in layer["flood_depth"].attrs["method"]
    depth = layer["flood_depth"].isel(scenario=0, horizon=0, return_period=1).values
    cells = cell_area_km2(LAT, LON) * 1e6
    assert np.sum(depth[:, 3:] * cells[:, 3:]) == pytest.approx(stored[1], rel=1e-6)  # float32


def test_layer_options_held_open_and_breached():
    ground, _ = walled_basin()
    dem = xr.DataArray(ground, dims=("lat", "lon"), coords={"lat": LAT, "lon": LON})
    lines = [
        DefenceLine("south", (121.02, 121.02), (31.0, 31.02), CREST_M),
        DefenceLine("north", (121.02, 121.02), (31.03, 31.05), CREST_M),
    ]
    defences = rasterise_defences(lines, LAT, LON)
    levels = _levels([3.4])
    held = build_inundation_layer(
        dem, levels, defences=defences, method="overtopping", overtopping="none"
    )
    assert float(held["overtopping_volume"].sum()) == 0
    assert np.all(held["flood_depth"].values[..., 3:] == 0)
    open_land = build_inundation_layer(dem, levels, method="overtopping")
    bathtub = build_inundation_layer(dem, levels)
    xr.testing.assert_equal(open_land["flood_depth"], bathtub["flood_depth"])  # no walls
    breached = build_inundation_layer(
        dem, levels, defences=defences, method="overtopping", breached=["north"]
    )
    intact = build_inundation_layer(dem, levels, defences=defences, method="overtopping")
    # the breach is a weir at the 1 m ground: far more water than over the 3 m crest
    assert float(breached["overtopping_volume"].sum()) > 10 * float(
        intact["overtopping_volume"].sum()
    )
    # walls that hold still let water through a breach, as in the bathtub method
    held_breached = build_inundation_layer(
        dem, levels, defences=defences, method="overtopping", overtopping="none", breached=["north"]
    )
    assert float(held_breached["overtopping_volume"].sum()) > 0
    assert float(held_breached["flood_depth"].values[..., 3:].max()) > 0
    bathtub_breached = build_inundation_layer(
        dem, levels, defences=defences, overtopping="none", breached=["north"]
    )
    assert float(bathtub_breached["flood_depth"].values[..., 3:].max()) > 0
    with pytest.raises(ValueError, match="method: expected 'bathtub' or 'overtopping'"):
        build_inundation_layer(dem, levels, method="dynamic")  # type: ignore[arg-type]


def test_seaward_land_is_the_bathtub_behind_walls_that_hold():
    """The module keeps its own copy of the connected bathtub (no import cycle with
    inundation); on a random DEM with random walls it must agree with flood_extent."""
    from hazard_models.coast.inundation import flood_extent
    from hazard_models.coast.overtopping import _seaward

    rng = np.random.default_rng(3)
    ground = rng.uniform(0.0, 4.0, size=(40, 50))
    ground[:, :3] = np.nan
    crest = np.where(rng.random(ground.shape) < 0.2, 5.0, np.nan)
    sea = edge_water(ground)
    for level in (1.0, 2.5, 3.9):
        expected = flood_extent(ground, sea, level, crest_m=crest, overtopping="none")
        got = _seaward(ground, sea, level, ~np.isnan(crest))
        np.testing.assert_array_equal(got, expected)
