"""Tests of :mod:`hazard_models.coast.basin_fill`: the level that stores a volume.

Known answers: a flat basin (depth = V / area), a sloping plane worked by hand, and a
random DEM checked against an independent root finder (scipy's brentq on the volume
function written out directly). Volume in equals volume stored to 1e-9 relative (the
solution is exact up to floating-point rounding, far inside the 1e-6 asked for).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from hazard_models.coast.basin_fill import fill_level, stored_volume


def test_flat_basin_depth_is_volume_over_area():
    ground = np.full((4, 5), 1.25)
    area = np.full((4, 5), 2500.0)  # 50 m x 50 m cells: 50,000 m2 in all
    result = fill_level(ground, area, 12_345.0, max_level_m=10.0)
    assert result.level_m - 1.25 == pytest.approx(12_345.0 / 50_000.0, rel=1e-12)
    assert result.stored_m3 == 12_345.0 and not result.capped
    assert stored_volume(ground, area, result.level_m) == pytest.approx(12_345.0, rel=1e-12)


def test_sloping_plane_by_hand():
    """Cells at 0, 1, 2, 3 m, 100 m2 each. Filling 250 m3: to 1 m holds 100 m3 (one cell 1
    m deep), to 2 m holds 100 x 2 + 100 x 1 = 300 m3, so L lies in [1, 2]: 200 L - 100 = 250
    -> L = 1.75 m; the 0 m cell holds 1.75 m, the 1 m cell 0.75 m."""
    ground = np.array([3.0, 0.0, 2.0, 1.0])  # unsorted on purpose
    area = np.full(4, 100.0)
    result = fill_level(ground, area, 250.0)
    assert result.level_m == pytest.approx(1.75, rel=1e-12)
    depth = np.clip(result.level_m - ground, 0, None)
    np.testing.assert_allclose(depth, [0.0, 1.75, 0.0, 0.75], atol=1e-12)
    # Exactly at a breakpoint: 100 m3 -> L = 1 m.
    assert fill_level(ground, area, 100.0).level_m == pytest.approx(1.0, rel=1e-12)


def test_random_dem_matches_an_independent_root_and_conserves_volume():
    rng = np.random.default_rng(7)
    ground = rng.normal(2.0, 0.8, size=(30, 40))
    area = rng.uniform(0.8e6, 1.0e6, size=(30, 40))  # ~1 km2 cells of unequal area
    for volume in (1.0, 3.7e5, 2.2e8, 1.1e9):
        result = fill_level(ground, area, volume, max_level_m=50.0)

        def excess(level: float, target: float = volume) -> float:
            return float(np.sum(np.maximum(level - ground, 0) * area)) - target

        reference = brentq(excess, ground.min(), 50.0, xtol=1e-13, rtol=1e-15)
        assert result.level_m == pytest.approx(reference, abs=1e-9)
        stored = stored_volume(ground, area, result.level_m)
        assert stored == pytest.approx(volume, rel=1e-9)  # volume in = volume stored


def test_cap_at_the_bathtub_level_is_reported():
    ground = np.array([0.0, 1.0])
    area = np.array([10.0, 10.0])
    capacity = stored_volume(ground, area, 2.0)  # 20 + 10 = 30 m3 below the cap
    exact = fill_level(ground, area, capacity, max_level_m=2.0)
    assert exact.level_m == 2.0 and exact.stored_m3 == capacity and not exact.capped
    over = fill_level(ground, area, 45.0, max_level_m=2.0)
    assert over.level_m == 2.0 and over.stored_m3 == pytest.approx(30.0) and over.capped
    empty = fill_level(ground, area, 0.0)
    assert np.isnan(empty.level_m) and empty.stored_m3 == 0.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="volume_m3: expected a finite volume >= 0"):
        fill_level(np.zeros(2), np.ones(2), -1.0)
    with pytest.raises(ValueError, match="all finite"):
        fill_level(np.array([0.0, np.nan]), np.ones(2), 1.0)
    with pytest.raises(ValueError, match="areas > 0"):
        fill_level(np.zeros(2), np.array([1.0, 0.0]), 1.0)
