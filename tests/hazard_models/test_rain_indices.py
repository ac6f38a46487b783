"""Tests of the yearly rainstorm indicators: hand-computed values, then xclim agreement."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr

from hazard_models.rain_indices import (
    HEAVY_RAINSTORM_THRESHOLD_MM,
    RAINSTORM_THRESHOLD_MM,
    days_over,
    max_n_day_precipitation,
    r95ptot,
    sdii,
    wet_day_percentile,
)


def _raising_scheduler(*args, **kwargs):
    raise AssertionError("a dask computation ran while building an index")


def _daily(values: np.ndarray, calendar: str = "noleap", start: str = "2010-01-01") -> xr.DataArray:
    """Wrap (lat, time) values as daily pr in mm/day."""
    time = xr.date_range(
        start, periods=values.shape[-1], freq="D", calendar=calendar, use_cftime=True
    )
    return xr.DataArray(
        values,
        dims=("lat", "time"),
        coords={"lat": [31.0, 31.2][: values.shape[0]], "time": time},
        attrs={"units": "mm/day"},
    )


def _tiny_pr() -> xr.DataArray:
    """Two noleap years on two cells: hand-placed storms and one missing stretch."""
    values = np.zeros((2, 730))
    values[0, [5, 100, 101, 102]] = [50.0, 49.9, 120.0, 30.0]  # year 1
    values[0, [362, 363, 364, 365, 366]] = 40.0  # a window across new year
    values[0, [400, 600]] = [10.0, 100.0]  # year 2
    values[1, :365] = [0.5 if d % 2 else 3.0 for d in range(365)]  # 183 wet days of 3 mm
    values[1, 365:] = np.nan
    values[1, 500] = 55.0  # year 2: one valid day only
    return _daily(values)


def test_rx5day_hand_computed_windows_stay_within_the_year():
    rx5 = max_n_day_precipitation(_tiny_pr(), 5)
    # cell 0, year 1: 49.9 + 120 + 30 = 199.9 (days 100-102) beats 3 x 40 at year end;
    # year 2: 40 + 40 (days 365-366) would be 80 only with the days of the old year, so
    # the maximum is the 100 mm day. Cell 1, year 1: 3 + 0.5 + 3 + 0.5 + 3 = 10 mm;
    # year 2: every window holds a missing day -> NaN.
    expected = np.array([[199.9, 100.0], [10.0, np.nan]])
    np.testing.assert_allclose(rx5.values, expected, rtol=1e-12)  # sums of 5 floats
    assert rx5.dims == ("lat", "year")
    assert list(rx5["year"].values) == [2010, 2011]
    assert rx5.attrs["units"] == "mm"
    assert "Rx5day" in rx5.attrs["method"] and "history" in rx5.attrs


def test_rx1day_is_the_yearly_maximum():
    rx1 = max_n_day_precipitation(_tiny_pr(), 1)
    np.testing.assert_array_equal(rx1.values, [[120.0, 100.0], [3.0, 55.0]])


def test_rx5day_in_a_360_day_calendar_and_short_years():
    values = np.zeros((1, 363))
    values[0, 358:363] = 10.0  # 2 days in year 1 (days 358-359), 3 in year 2
    rx5 = max_n_day_precipitation(_daily(values, calendar="360_day"), 5)
    # year 1 (360 days): window ending day 359 holds 20 mm; year 2 has only 3 days -> NaN
    np.testing.assert_array_equal(rx5.values, [[20.0, np.nan]])


def test_days_over_50_and_100_mm():
    pr = _tiny_pr()
    storms = days_over(pr, RAINSTORM_THRESHOLD_MM)
    heavy = days_over(pr, HEAVY_RAINSTORM_THRESHOLD_MM)
    # 50 counts (>=), 49.9 does not; 100 counts for the heavy threshold
    np.testing.assert_array_equal(storms.values, [[2.0, 1.0], [0.0, 1.0]])
    np.testing.assert_array_equal(heavy.values, [[1.0, 1.0], [0.0, 0.0]])
    assert storms.attrs["units"] == "days" and "GB/T 28592-2012" in storms.attrs["method"]


def test_sdii_hand_computed():
    intensity = sdii(_tiny_pr())
    # cell 0, year 1: (50 + 49.9 + 120 + 30 + 3 x 40) / 7; year 2: (2 x 40 + 10 + 100) / 4
    # cell 1, year 1: 183 wet days of 3 mm -> 3; year 2: only 55 mm -> 55
    expected = [[369.9 / 7, 190.0 / 4], [3.0, 55.0]]
    np.testing.assert_allclose(intensity.values, expected, rtol=1e-12)
    assert intensity.attrs["units"] == "mm/day"


def test_sdii_without_wet_days_is_nan():
    intensity = sdii(_daily(np.full((1, 365), 0.5)))
    assert np.isnan(intensity.values).all()


def test_wet_day_percentile_ignores_dry_days():
    values = np.zeros((1, 365))
    values[0, :5] = [1.0, 2.0, 3.0, 4.0, 5.0]
    values[0, 5:100] = 0.9  # dry: below the 1 mm wet-day threshold
    pr = _daily(values)
    linear = wet_day_percentile(pr, 0.5, method="linear")
    np.testing.assert_allclose(linear.values, [3.0])
    # type 7 on (1..5) at q = 0.95: 4 + 0.8 x 1 = 4.8; type 8: h = (n + 1/3) q + 1/3 = 5.4
    # lies past the last order statistic, so it is clamped to 5.
    np.testing.assert_allclose(wet_day_percentile(pr, method="linear").values, [4.8])
    np.testing.assert_allclose(wet_day_percentile(pr).values, [5.0])
    assert linear.dims == ("lat",) and linear.attrs["units"] == "mm/day"


def test_r95ptot_hand_computed():
    pr = _tiny_pr()
    p95 = xr.DataArray([45.0, 10.0], dims="lat", coords={"lat": pr["lat"]})
    amount = r95ptot(pr, p95, output="amount")
    fraction = r95ptot(pr, p95)
    # cell 0 over 45: year 1 50 + 49.9 + 120 = 219.9 of 369.9; year 2 100 of 190
    # cell 1 over 10: year 1 none of 549 mm; year 2 55 of 55
    np.testing.assert_allclose(amount.values, [[219.9, 100.0], [0.0, 55.0]], rtol=1e-12)
    expected = [[219.9 / 369.9, 100.0 / 190.0], [0.0, 1.0]]
    np.testing.assert_allclose(fraction.values, expected, rtol=1e-12)
    assert fraction.attrs["units"] == "1" and amount.attrs["units"] == "mm"


def test_bad_input_names_the_field():
    pr = _tiny_pr()
    with pytest.raises(ValueError, match="window_days"):
        max_n_day_precipitation(pr, 0)
    with pytest.raises(ValueError, match="reference_p95"):
        r95ptot(pr, pr)
    with pytest.raises(ValueError, match="q: expected"):
        wet_day_percentile(pr, 1.5)
    with pytest.raises(ValueError, match="pr: expected"):
        sdii(pr.isel(time=0))


def _synthetic_pr() -> xr.DataArray:
    """Six noleap years of gamma-distributed rain on 2 x 3 cells, about 40 % wet days.

    The first and last 4 days of each year are dry, so xclim's Rx5day windows that cross new
    year add nothing and both definitions must agree exactly.
    """
    rng = np.random.default_rng(20240605)
    time = xr.date_range("2000-01-01", periods=6 * 365, freq="D", calendar="noleap")
    shape = (2, 3, time.size)
    values = np.where(rng.random(shape) < 0.4, rng.gamma(0.8, 14.0, shape), 0.0)
    day = np.arange(time.size) % 365
    values[..., (day < 4) | (day > 360)] = 0.0
    return xr.DataArray(
        values,
        dims=("lat", "lon", "time"),
        coords={"lat": [31.0, 31.2], "lon": [121.2, 121.4, 121.6], "time": time},
        attrs={"units": "mm/day", "standard_name": "precipitation_flux"},
    )


def test_indices_agree_with_xclim():
    xclim_indices = pytest.importorskip("xclim.indices")
    pr = _synthetic_pr()

    def ours_vs(theirs: xr.DataArray, ours: xr.DataArray) -> None:
        # same arithmetic up to summation order: 1e-10 relative covers float64 round-off
        np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-10)

    ours_vs(
        xclim_indices.max_n_day_precipitation_amount(pr, window=5, freq="YS"),
        max_n_day_precipitation(pr, 5),
    )
    for threshold in (RAINSTORM_THRESHOLD_MM, HEAVY_RAINSTORM_THRESHOLD_MM):
        theirs = xclim_indices.wetdays(pr, thresh=f"{threshold} mm/day", freq="YS", op=">=")
        ours_vs(theirs, days_over(pr, threshold))
    ours_vs(xclim_indices.daily_pr_intensity(pr, freq="YS"), sdii(pr))
    p95 = wet_day_percentile(pr.sel(time=slice("2000", "2002")))
    p95_xclim = p95.assign_attrs(units="mm/day")
    # gamma rain never equals 1 mm or the percentile, so xclim's ">" and ETCCDI's ">= 1 mm"
    # select the same days
    theirs = xclim_indices.fraction_over_precip_thresh(pr, p95_xclim, freq="YS")
    ours_vs(theirs, r95ptot(pr, p95))


def test_dask_input_stays_lazy():
    pr = _synthetic_pr().chunk({"lat": 1, "time": 365})
    with dask.config.set(scheduler=_raising_scheduler):
        p95 = wet_day_percentile(pr)
        lazy = [
            max_n_day_precipitation(pr, 5),
            days_over(pr, 50.0),
            sdii(pr),
            r95ptot(pr, p95),
        ]
    eager = _synthetic_pr()
    expected = [
        max_n_day_precipitation(eager, 5),
        days_over(eager, 50.0),
        sdii(eager),
        r95ptot(eager, wet_day_percentile(eager)),
    ]
    for got, want in zip(lazy, expected, strict=True):
        assert got.chunks is not None
        xr.testing.assert_allclose(got.compute(), want)
