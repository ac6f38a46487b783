"""Tests of the yearly heat indicators: hand-computed values, then xclim on a synthetic series."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr

from hazard_models.heat_indices import (
    cooling_degree_days,
    heat_index,
    heat_wave_events,
    longest_heat_wave,
    tn_max,
    tropical_nights,
    tx_days_above,
)


def _daily(values: np.ndarray, calendar: str = "noleap", start: str = "2003-01-01") -> xr.DataArray:
    time = xr.date_range(start, periods=values.size, freq="D", calendar=calendar, use_cftime=True)
    return xr.DataArray(values, dims="time", coords={"time": time}, attrs={"units": "degC"})


def _two_years(calendar: str) -> xr.DataArray:
    """Two years of 30 degC with hand-placed hot spells, one gap and a spell across New Year."""
    n_days = 730 if calendar == "noleap" else 731
    values = np.full(n_days, 30.0)
    values[[10, 11, 12]] = 35.0  # 3-day wave (counts)
    values[[100, 101]] = [36.0, 37.0]  # 2 days: too short
    values[200:205] = [35.0, 38.0, 40.0, 35.5, 34.9]  # 4-day wave, last day 34.9 not hot
    values[300:304] = 36.0
    values[302] = np.nan  # a gap breaks the run: 2 + 1 days, no wave
    year_end = 364  # index of 31 Dec 2003 (2003 is not leap in any of these calendars)
    values[year_end - 1 : year_end + 3] = 36.0  # 2 days in 2003, 2 days in 2004: cut, no wave
    values[400:407] = 37.5  # 7-day wave in 2004
    return _daily(values, calendar)


@pytest.mark.parametrize("calendar", ["noleap", "standard", "360_day"])
def test_threshold_counts_and_runs_by_hand(calendar):
    tasmax = _two_years(calendar)
    if calendar == "360_day":  # 360-day years: the New-Year spell sits elsewhere; check 2003 only
        tasmax = tasmax.isel(time=slice(0, 360))
    days35 = tx_days_above(tasmax, 35.0)
    assert days35.attrs["units"] == "days" and "method" in days35.attrs
    if calendar != "360_day":
        # 2003: 3 + 2 + 4 + 3 (gap not counted) + 2 = 14; 2004: 2 + 7 = 9
        assert days35.values.tolist() == [14.0, 9.0]
        assert tx_days_above(tasmax, 37.0).values.tolist() == [3.0, 7.0]  # 37, 38, 40 | 7 x 37.5
        assert tx_days_above(tasmax, 37.0, op=">").values.tolist() == [2.0, 7.0]
        assert tx_days_above(tasmax, 40.0).values.tolist() == [1.0, 0.0]
        assert heat_wave_events(tasmax).values.tolist() == [2.0, 1.0]
        assert longest_heat_wave(tasmax).values.tolist() == [4.0, 7.0]
        assert longest_heat_wave(tasmax, min_days=8).values.tolist() == [0.0, 0.0]
        assert heat_wave_events(tasmax, min_days=2).values.tolist() == [5.0, 2.0]
        assert heat_wave_events(tasmax).dims == ("year",)
        assert heat_wave_events(tasmax)["year"].values.tolist() == [2003, 2004]
    else:
        # 360-day 2003 holds the spells at 10, 100, 200 and 300 (no New-Year spell)
        assert days35.values.tolist() == [12.0]
        assert heat_wave_events(tasmax).values.tolist() == [2.0]


def test_min_and_night_indices_by_hand():
    tasmin = _daily(np.r_[np.full(365, 20.0), np.full(365, 22.0)])
    tasmin[[5, 6, 7]] = [25.0, 24.9, 28.2]
    tasmin[400] = 26.0
    assert tn_max(tasmin).values.tolist() == [28.2, 26.0]
    assert tropical_nights(tasmin).values.tolist() == [2.0, 1.0]  # 25.0 counts with >=
    assert tropical_nights(tasmin, op=">").values.tolist() == [1.0, 1.0]
    etccdi_tr = tropical_nights(tasmin, 20.0, op=">")  # 25.0, 24.9, 28.2 > 20; all of 2004
    assert etccdi_tr.values.tolist() == [3.0, 365.0]


def test_cooling_degree_days_by_hand():
    tas = _daily(np.full(730, 20.0))
    tas[[0, 1, 2]] = [26.0, 27.5, 30.0]  # 0 + 1.5 + 4
    tas[500] = 28.25  # 2.25
    cdd = cooling_degree_days(tas)
    assert cdd.attrs["units"] == "K d"
    np.testing.assert_allclose(cdd.values, [5.5, 2.25], rtol=0, atol=1e-12)  # float sums
    np.testing.assert_allclose(
        cooling_degree_days(tas, 18.0).values, [730 - 3 * 2 + (8 + 9.5 + 12), 730 - 2 + 10.25]
    )


def test_missing_year_is_nan_and_bad_time_raises():
    tasmax = _two_years("noleap")
    tasmax[365:] = np.nan
    for index in (tx_days_above, heat_wave_events, longest_heat_wave, tn_max):
        assert np.isnan(index(tasmax).values[1]) and not np.isnan(index(tasmax).values[0])
    with pytest.raises(ValueError, match="ascending"):
        heat_wave_events(tasmax.isel(time=slice(None, None, -1)))
    with pytest.raises(ValueError, match="min_days"):
        heat_wave_events(tasmax, min_days=0)


def test_heat_index_against_nws_chart():
    # NWS heat-index chart values (degF, rounded to 1 degF): 90F/50% -> 95, 100F/40% -> 109,
    # 86F/90% -> 105 (high-humidity adjustment), 80F/40% -> 80 (simple formula branch),
    # 110F/10% -> 104 (dry adjustment). Tolerance 0.6 degF covers the chart's rounding.
    temp_f = np.array([90.0, 100.0, 86.0, 80.0, 110.0])
    rh = np.array([50.0, 40.0, 90.0, 40.0, 10.0])
    chart_f = np.array([95.0, 109.0, 105.0, 80.0, 104.0])
    tas = xr.DataArray((temp_f - 32) * 5 / 9, dims="site", attrs={"units": "degC"})
    result = heat_index(tas, xr.DataArray(rh, dims="site"))
    assert result.attrs["units"] == "degC" and "Rothfusz" in result.attrs["method"]
    np.testing.assert_allclose(result.values * 9 / 5 + 32, chart_f, atol=0.6)


def test_grid_and_dask_give_the_same_answer():
    rng = np.random.default_rng(5)
    values = 30 + 6 * rng.standard_normal((4, 3, 730))
    grid = xr.DataArray(values, dims=("lat", "lon", "time"))
    grid = grid.assign_coords(time=_two_years("noleap")["time"]).assign_attrs(units="degC")
    eager = longest_heat_wave(grid, min_days=1)
    with dask.config.set(scheduler="sync"):
        lazy = longest_heat_wave(grid.chunk({"lat": 2}), min_days=1)
        assert lazy.chunks is not None
        np.testing.assert_array_equal(lazy.values, eager.values)
    for i, j in [(0, 0), (3, 2)]:  # a cell of the grid equals the series on its own
        single = longest_heat_wave(grid.isel(lat=i, lon=j), min_days=1)
        np.testing.assert_array_equal(single.values, eager.isel(lat=i, lon=j).values)


@pytest.fixture(scope="module")
def synthetic():
    """Six noleap years, 2 x 2 cells, of a seasonal cycle plus noise (CF attributes)."""
    rng = np.random.default_rng(42)
    time = xr.date_range(
        "2001-01-01", periods=6 * 365, freq="D", calendar="noleap", use_cftime=True
    )
    season = 17 - 12 * np.cos(2 * np.pi * (np.arange(time.size) % 365 - 15) / 365)
    tas = season + 3 * rng.standard_normal((2, 2, time.size))
    coords = {"lat": [31.0, 31.2], "lon": [121.3, 121.5], "time": time}

    def make(values, name):
        return xr.DataArray(
            values,
            dims=("lat", "lon", "time"),
            coords=coords,
            name=name,
            attrs={"units": "degC", "standard_name": "air_temperature"},
        )

    return make(tas + 6, "tasmax"), make(tas - 4, "tasmin"), make(tas, "tas")


def test_against_xclim(synthetic):
    xi = pytest.importorskip("xclim.indices")
    tasmax, tasmin, tas = synthetic

    def check(ours, theirs):
        # Same integer counts; degree days differ only by float summation order (1e-9 K d).
        np.testing.assert_allclose(ours.values, theirs.values, rtol=0, atol=1e-9)
        assert ours["year"].values.tolist() == theirs["time"].dt.year.values.tolist()

    check(tx_days_above(tasmax, 35.0), xi.tx_days_above(tasmax, "35 degC", op=">="))
    check(tn_max(tasmin), xi.tn_max(tasmin))
    check(tropical_nights(tasmin, 20.0, op=">"), xi.tn_days_above(tasmin, "20 degC", op=">"))
    check(tropical_nights(tasmin), xi.tn_days_above(tasmin, "25 degC", op=">="))
    check(cooling_degree_days(tas), xi.cooling_degree_days(tas, "26 degC"))
    check(
        longest_heat_wave(tasmax, 33.0, min_days=1, op=">"),
        xi.hot_spell_max_length(tasmax, "33 degC", window=1, op=">"),
    )
    check(
        longest_heat_wave(tasmax, 33.0),
        xi.hot_spell_max_length(tasmax, "33 degC", window=3, op=">="),
    )
    check(heat_wave_events(tasmax, 33.0), xi.hot_spell_frequency(tasmax, "33 degC", op=">="))
    assert heat_wave_events(tasmax, 33.0).sum() > 5  # the comparison is not all zeros
