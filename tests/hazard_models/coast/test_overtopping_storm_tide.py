"""Tests of :mod:`hazard_models.coast.storm_tide`: hydrographs that peak at a return level."""

from __future__ import annotations

import numpy as np
import pytest

from hazard_models.coast.storm_tide import (
    M2_PERIOD_H,
    StormTideSeries,
    SyntheticStormTide,
    storm_tide,
)


def test_synthetic_shape_peaks_at_the_level_and_follows_the_formula():
    shape = SyntheticStormTide(tide_range_m=3.0, surge_peak_m=2.0, surge_duration_h=24.0)
    time, level = storm_tide(6.5, shape)
    assert time[0] == -12.0 and time[-1] == 12.0  # the event is the surge, centred on 0
    assert level.max() == 6.5 and time[np.argmax(level)] == 0.0
    # At t = +-12 h the surge is over (cos^2(pi/2) = 0) and the M2 tide is 12/12.42 of a cycle
    # from high water: 6.5 - 1.5 (1 - cos(2 pi 12 / 12.42)) - 2.0.
    edge = 6.5 - 1.5 * (1 - np.cos(2 * np.pi * 12.0 / M2_PERIOD_H)) - 2.0
    assert level[-1] == pytest.approx(edge, abs=1e-12) and level[0] == pytest.approx(edge)
    # At t = 6.21 h (half an M2 period) the tide is at low water: 3.0 m below, surge half.
    mid = np.argmin(np.abs(time - 6.0))
    expected = 6.5 - 1.5 * (1 - np.cos(2 * np.pi * time[mid] / M2_PERIOD_H))
    expected -= 2.0 * (1 - np.cos(np.pi * time[mid] / 24.0) ** 2)
    assert level[mid] == pytest.approx(expected, abs=1e-12)
    assert np.diff(time).max() == pytest.approx(2.0 / 60.0)  # 2-minute steps


def test_user_series_is_shifted_to_each_peak():
    series = StormTideSeries((0.0, 1.0, 2.0, 3.0), (3.0, 4.5, 5.0, 4.0), name="Winnie.csv")
    time, level = storm_tide(6.0, series)
    np.testing.assert_array_equal(time, [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(level, [4.0, 5.5, 6.0, 5.0])
    assert "Winnie.csv (4 points over 3 h)" in series.describe()


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="surge_duration_h = 0"):
        SyntheticStormTide(surge_duration_h=0.0)
    with pytest.raises(ValueError, match="tide_range_m = -1"):
        SyntheticStormTide(tide_range_m=-1.0)
    with pytest.raises(ValueError, match="x.csv: expected strictly increasing time_h"):
        StormTideSeries((0.0, 0.0), (1.0, 2.0), name="x.csv")
    with pytest.raises(ValueError, match="equal length"):
        StormTideSeries((0.0, 1.0), (1.0,))
    with pytest.raises(ValueError, match="finite"):
        StormTideSeries((0.0, 1.0), (1.0, np.nan))
    with pytest.raises(ValueError, match="peak_level_m"):
        storm_tide(float("nan"), SyntheticStormTide())
