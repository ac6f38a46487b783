"""Tests of the yearly heat indicators: hand-computed values, then xclim on a synthetic series."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr

from hazard_models.heat.humid_heat import heat_index, heat_index_max
from hazard_models.heat.indices import (
    apply_year_kernel,
    cooling_degree_days,
    heat_wave_events,
    longest_heat_wave,
    tn_max,
    tropical_nights,
    tx_days_above,
    yearly_mean,
    yearly_sum,
)
from hazard_models.heat.indices import tx_max as hi_tx_max


def tx_max_values(tasmax: xr.DataArray) -> list:
    """Yearly TXx as a list, None for NaN."""
    return [None if np.isnan(v) else float(v) for v in hi_tx_max(tasmax).values]


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


#: The NWS heat index chart (degF; rows: air temperature degF, then the heat index at 40, 45,
#: ... % relative humidity), https://www.weather.gov/safety/heat-index, as transcribed at
#: https://rfcafe.com/references/general/heat-index.htm ("derived from NOAA").
NWS_CHART_F = """
80: 80 80 81 81 82 82 83 84 84 85 86 86 87
82: 81 82 83 84 84 85 86 88 89 90 91 93 95
84: 83 84 85 86 88 89 90 92 94 96 98 100 103
86: 85 87 88 89 91 93 95 97 100 102 105 108 112
88: 88 89 91 93 95 98 100 103 106 110 113 117 121
90: 91 93 95 97 100 103 106 109 113 117 122 127 132
92: 94 96 99 101 105 108 112 116 121 126 131
94: 97 100 102 106 110 114 119 124 129 136
96: 101 104 108 112 116 121 126 132
98: 105 109 113 117 123 128 134
100: 109 114 118 124 129 136
102: 114 119 124 130 137
104: 119 124 131 137
106: 124 130 137
108: 130 137
110: 136
"""


def _nws_chart() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(temperature degF, RH %, chart heat index degF) of every cell of the NWS chart."""
    cells = []
    for line in NWS_CHART_F.strip().splitlines():
        temp, values = line.split(":")
        cells += [(float(temp), 40.0 + 5 * k, float(v)) for k, v in enumerate(values.split())]
    return tuple(np.array(column) for column in zip(*cells, strict=True))  # type: ignore[return-value]


def _heat_index_f(temp_f: np.ndarray, rh: np.ndarray) -> np.ndarray:
    tas = xr.DataArray((temp_f - 32) * 5 / 9, dims="site", attrs={"units": "degC"})
    result = heat_index(tas, xr.DataArray(rh, dims="site", attrs={"units": "%"}))
    assert result.attrs["units"] == "degC" and "Rothfusz" in result.attrs["method"]
    return result.values * 9 / 5 + 32


def test_heat_index_against_the_whole_nws_chart():
    temp_f, rh, chart_f = _nws_chart()
    assert temp_f.size == 135
    error = np.abs(_heat_index_f(temp_f, rh) - chart_f)
    # The chart is rounded to 1 degF, and the Rothfusz regression fits Steadman's table to
    # +-1.3 degF (NWS WPC): every cell within 1 degF but 82 degF / 100 %, within 1.3 degF
    # (1.04 degF, measured). With the humid adjustment applied at exactly 80 degF (closed
    # bounds), 80 degF / 95 and 100 % would be off by 1.8 and 2.3 degF.
    beyond = [(t, r) for t, r, e in zip(temp_f, rh, error, strict=True) if e > 1.0]
    assert beyond == [(82.0, 100.0)], beyond
    assert error.max() < 1.3


def test_heat_index_below_80_degf_is_the_simple_formula_once():
    # NWS WPC: HI = 0.5 (T + 61 + 1.2 (T - 68) + 0.094 RH); if that is >= 80 degF the
    # regression replaces it. The 0.5 (T + ...) is the average with T; averaging it with T
    # again (the old bug, issue 17) gave 22.83 degC at 23 degC / 50 %.
    temp_f = np.array([73.4, 59.0, 80.0, 70.0])  # 23 degC, 15 degC; 80 degF / 40 %: 79.58
    rh = np.array([50.0, 50.0, 40.0, 95.0])
    by_hand_f = 0.5 * (temp_f + 61.0 + (temp_f - 68.0) * 1.2 + 0.094 * rh)
    assert by_hand_f.max() < 80.0
    np.testing.assert_allclose(_heat_index_f(temp_f, rh), by_hand_f, rtol=1e-12)
    at_23 = heat_index(xr.DataArray([23.0], dims="site"), xr.DataArray([50.0], dims="site"))
    assert abs(at_23.item() - 22.6611) < 1e-4  # (72.79 degF - 32) * 5 / 9


def test_heat_index_switches_to_the_regression_at_80_degf():
    # 82 degF / 40 %: simple 81.13 degF >= 80, so the regression (no adjustment) applies
    temp_f, rh = np.array([82.0]), np.array([40.0])
    regression = (
        -42.379 + 2.04901523 * 82 + 10.14333127 * 40 - 0.22475541 * 82 * 40
        - 6.83783e-3 * 82**2 - 5.481717e-2 * 40**2 + 1.22874e-3 * 82**2 * 40
        + 8.5282e-4 * 82 * 40**2 - 1.99e-6 * 82**2 * 40**2
    )  # fmt: skip
    np.testing.assert_allclose(_heat_index_f(temp_f, rh), [regression], rtol=1e-12)


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


# --- the vectorised kernels against a plain per-year, per-cell reference -----------------


def _reference_runs(hot: np.ndarray, min_days: int) -> tuple[int, int]:
    """Return (events, longest) of runs of >= min_days True values in one year, by looping."""
    events, longest, run = 0, 0, 0
    for flag in [*hot.tolist(), False]:
        if flag:
            run += 1
            continue
        if run >= min_days:
            events, longest = events + 1, max(longest, run)
        run = 0
    return events, longest


def _reference_year(days: np.ndarray, name: str) -> float:
    """One index of one cell-year (float64 days; NaN is missing), computed the obvious way."""
    hot = days >= 35.0  # NaN compares False: a missing day breaks a run
    if name == "tx_max":
        return float(np.nanmax(days))
    if name == "tx_days_above":
        return float(hot.sum())
    if name == "cooling_degree_days":
        return float(np.nansum(np.maximum(days - 26.0, 0.0)))
    if name == "yearly_mean":
        return float(np.nanmean(days))
    min_days = 1 if name == "longest_run" else 3
    return float(_reference_runs(hot, min_days)[0 if name == "heat_wave_events" else 1])


def _reference(values: np.ndarray, years: np.ndarray, name: str) -> np.ndarray:
    """Yearly index of (time, cell) values computed one year and one cell at a time."""
    out = np.full((np.unique(years).size, values.shape[1]), np.nan)
    for i, year in enumerate(np.unique(years)):
        for cell in range(values.shape[1]):
            days = values[years == year, cell].astype(np.float64)
            if not np.isnan(days).all():
                out[i, cell] = _reference_year(days, name)
    return out


_INDICES = {
    "tx_max": hi_tx_max,
    "tx_days_above": lambda d: tx_days_above(d, 35.0),
    "heat_wave_events": heat_wave_events,
    "longest_heat_wave": longest_heat_wave,
    "longest_run": lambda d: longest_heat_wave(d, 35.0, 1),
    "cooling_degree_days": cooling_degree_days,
    "yearly_mean": yearly_mean,
}


@pytest.fixture(scope="module")
def ragged() -> xr.DataArray:
    """Float32 Tmax over 3.3 standard-calendar years (a leap year, a partial first year),
    dims (time, cell), with heat waves, scattered missing days and one all-missing year."""
    rng = np.random.default_rng(11)
    time = xr.date_range("2003-09-20", "2006-12-31", freq="D", calendar="standard", use_cftime=True)
    anomaly = np.convolve(rng.normal(0, 3.0, time.size + 4), np.ones(5) / 2.2, "valid")
    season = 22 + 11 * np.cos(2 * np.pi * (np.asarray(time.dayofyear) - 200) / 365.25)
    values = (season + anomaly)[:, None] + rng.normal(0, 1.0, (time.size, 7))
    values[rng.random(values.shape) < 0.03] = np.nan
    values[np.asarray(time.year) == 2005, 6] = np.nan  # cell 6 has no data in 2005
    values[:, 5] = 36.0  # every day hot: the longest run is the whole (partial) year
    return xr.DataArray(
        values.astype(np.float32),
        dims=("time", "cell"),
        coords={"time": time},
        attrs={"units": "degC"},
    )


@pytest.mark.parametrize("name", sorted(_INDICES))
@pytest.mark.parametrize("layout", ["numpy", "numpy time last", "dask by year", "dask 100 days"])
def test_indices_equal_a_per_year_reference(ragged, name, layout):
    data = ragged
    if layout == "numpy time last":
        data = ragged.transpose("cell", "time").copy()  # cell-major memory
    elif layout == "dask by year":
        data = ragged.chunk(
            {"time": tuple(np.unique(ragged["time"].dt.year, return_counts=True)[1])}
        )
    elif layout == "dask 100 days":  # chunks that split years are re-cut at year starts
        data = ragged.chunk({"time": 100, "cell": 3})
    with dask.config.set(scheduler="sync"):
        result = _INDICES[name](data).transpose("year", "cell").values
    expected = _reference(ragged.values, ragged["time"].dt.year.values, name)
    if name in ("cooling_degree_days", "yearly_mean"):
        # float64 sums of float32 days: exact for CDD; the mean divides once (1 ulp)
        np.testing.assert_allclose(result, expected, rtol=1e-15, atol=0)
    else:
        np.testing.assert_array_equal(result, expected)
    assert np.isnan(result[2, 6]) and not np.isnan(result[1, 6])  # the all-missing year
    if name == "longest_run":
        assert result[:, 5].tolist() == [103.0, 366.0, 365.0, 365.0]  # 2004 is a leap year


def test_year_aligned_dask_input_is_used_as_is(ragged):
    counts = tuple(np.unique(ragged["time"].dt.year, return_counts=True)[1])
    aligned = longest_heat_wave(ragged.chunk({"time": counts}))
    assert not any("rechunk" in name for name in aligned.data.dask.layers)
    assert aligned.chunks[-1] == (1, 1, 1, 1)  # one block of one year each
    split = longest_heat_wave(ragged.chunk({"time": 100}))
    assert any("rechunk" in name for name in split.data.dask.layers)


def test_float32_thresholds_compare_exactly():
    # float32(35.01) = 35.00999832 < 35.01: not >= 35.01, as in exact arithmetic; the next
    # float32 up (35.0100021) is. float32(33.3) = 33.2999992 < 33.3 is not > 33.3 either.
    just_below = np.float32(35.01)
    values = np.array([just_below, np.nextafter(just_below, np.float32(99)), 33.3], np.float32)
    tasmax = _daily(np.tile(values, 122)[:365])
    assert tx_days_above(tasmax, 35.01).values.tolist() == [122.0]
    assert tx_days_above(tasmax, 33.3, op=">").values.tolist() == [122.0 + 122.0]
    as64 = tasmax.astype(np.float64)
    assert tx_days_above(as64, 35.01).values.tolist() == [122.0]


def test_tx_max_yearly_sum_and_mean_by_hand():
    tasmax = _daily(np.r_[np.full(365, 20.0), np.full(365, np.nan)])
    tasmax[[3, 4]] = [31.5, np.nan]
    assert tx_max_values(tasmax) == [31.5, None]
    np.testing.assert_allclose(yearly_sum(tasmax).values, [20.0 * 363 + 31.5, np.nan])
    np.testing.assert_allclose(yearly_mean(tasmax).values, [(20.0 * 363 + 31.5) / 364, np.nan])
    assert hi_tx_max(tasmax).attrs["units"] == "degC" and "TXx" in hi_tx_max(tasmax).attrs["method"]


def test_heat_index_max_by_hand_and_equal_to_the_daily_maximum():
    # NWS chart: 90 degF / 50 % -> 95 degF; 100 degF / 40 % -> 109 degF (rounded to 1 degF)
    temp_c = np.full(730, 20.0)
    temp_c[[100, 500]] = (np.array([90.0, 100.0]) - 32) * 5 / 9
    hurs = _daily(np.full(730, 50.0))
    hurs[500] = 40.0
    tasmax = _daily(temp_c)
    result = heat_index_max(tasmax, hurs)
    np.testing.assert_allclose(result.values * 9 / 5 + 32, [95.0, 109.0], atol=0.6)
    daily_max = heat_index(tasmax, hurs).groupby("time.year").max()
    np.testing.assert_array_equal(result.values, daily_max.values)
    assert result.attrs["units"] == "degC" and "conservative" in result.attrs["method"]
    hurs[365:] = np.nan  # no valid humidity in the second year -> NaN
    assert np.isnan(heat_index_max(tasmax, hurs).values[1])
    with pytest.raises(ValueError, match="hurs: expected the coordinates of tasmax"):
        heat_index_max(tasmax, hurs.isel(time=slice(0, 700)))


def test_per_cell_input_errors_name_the_problem(ragged):
    with pytest.raises(ValueError, match="per-cell input: expected dims within"):
        apply_year_kernel(ragged, lambda s, c: s[:, 0], ragged)
    other = xr.DataArray(np.zeros(7), dims="cell", coords={"cell": np.arange(7) + 1})
    with pytest.raises(ValueError, match="coordinates differ"):
        apply_year_kernel(ragged.assign_coords(cell=np.arange(7)), lambda s, c: s[:, 0], other)
    with pytest.raises(ValueError, match="expected a DataArray with a 'time' dim"):
        tx_days_above(ragged.isel(time=0))


def test_any_memory_layout_gives_the_same_values(ragged):
    # open_projections' blocks are time-first with lon varying slowest of the cell axes
    # ((time, lon, lat) in memory); cells are merged in memory order, so the result must not
    # depend on it (and the per-cell input must follow the same order)
    values = np.stack([ragged.values, ragged.values[:, ::-1] + 1.0], axis=-1)  # (time, 7, 2)
    swapped = np.swapaxes(np.ascontiguousarray(np.swapaxes(values, 1, 2)), 1, 2)
    assert swapped.strides[1] < swapped.strides[2]  # lat varies fastest
    coords = {"time": ragged["time"], "lat": np.arange(7), "lon": [0, 1]}
    as_c = xr.DataArray(values, dims=("time", "lat", "lon"), coords=coords)
    as_swapped = xr.DataArray(swapped, dims=("time", "lat", "lon"), coords=coords)
    for index in (longest_heat_wave, cooling_degree_days, hi_tx_max):
        np.testing.assert_array_equal(index(as_swapped).values, index(as_c).values)
    cell_coords = {"lat": coords["lat"], "lon": coords["lon"]}
    per_cell = xr.DataArray(20.0 + np.arange(14.0).reshape(7, 2), cell_coords, ("lat", "lon"))

    def kernel(slabs, threshold):  # days above a per-cell threshold
        return (slabs > threshold).sum(axis=1).astype(float)

    for data in (as_c, as_swapped, as_swapped.chunk({"time": 500, "lat": 3})):
        counts = apply_year_kernel(data, kernel, per_cell)
        expected = (as_c > per_cell).groupby("time.year").sum().transpose("lat", "lon", "year")
        np.testing.assert_array_equal(counts.values, expected.values)
