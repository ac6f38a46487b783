"""Tests of the yearly rainstorm indicators: hand-computed values, then xclim agreement."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import dask
import numpy as np
import pytest
import xarray as xr

from hazard_models.rain.indices import (
    HEAVY_RAINSTORM_THRESHOLD_MM,
    RAINSTORM_THRESHOLD_MM,
    days_over,
    max_n_day_precipitation,
    r95ptot,
    sdii,
    wet_day_percentile,
)
from hazard_models.yearly import one_task_per_block


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


def test_wet_day_percentile_blocks_nest_in_the_input_blocks():
    """Each block of the whole series takes its cells from one input block (memory).

    dask's "auto" chunks would cut this 64 x 64 grid of 32 x 32-cell blocks into 23 x 23-cell
    blocks that straddle them.
    """
    rng = np.random.default_rng(3)
    time = xr.date_range("2001-01-01", periods=2 * 365, freq="D", calendar="noleap")
    pr = xr.DataArray(
        rng.gamma(0.6, 8.0, (time.size, 64, 64)).astype(np.float32),
        dims=("time", "lat", "lon"),
        coords={"time": time},
        attrs={"units": "mm/day"},
    ).chunk({"time": 365, "lat": 32, "lon": 32})
    with dask.config.set({"array.chunk-size": "1.5MiB"}):  # 2,920 B a cell: 538 cells
        percentile = wet_day_percentile(pr)
    for dim in ("lat", "lon"):
        edges = set(np.cumsum((0, *percentile.chunksizes[dim])).tolist())
        assert {0, 32, 64} <= edges, percentile.chunksizes  # the input's edges are kept
    cells = max(percentile.chunksizes["lat"]) * max(percentile.chunksizes["lon"])
    assert 256 < cells * 2 * 365 * 4 / 2920 <= 538
    np.testing.assert_allclose(percentile.values, wet_day_percentile(pr.compute()).values)


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


# --- the vectorised kernels against plain references ---------------------------------------


def _ragged_pr(dtype: str) -> xr.DataArray:
    """Gamma rain over 2.5 standard-calendar years (a leap year), dims (time, cell): cells with
    no wet day, one wet day, ties, missing days and an all-missing year."""
    rng = np.random.default_rng(23)
    time = xr.date_range("2003-07-01", "2005-12-31", freq="D", calendar="standard", use_cftime=True)
    shape = (time.size, 9)
    values = np.where(rng.random(shape) < 0.4, rng.gamma(0.7, 14.0, shape), 0.2)
    values[rng.random(shape) < 0.05] = np.nan
    values[:, 0] = 0.5  # never wet
    values[:, 1] = 0.0
    values[100, 1] = 12.0  # a single wet day
    values[:, 2] = np.round(values[:, 2])  # many ties
    values[np.asarray(time.year) == 2004, 3] = np.nan  # no data in 2004
    values[:, 4] *= 1e-3  # small amounts: a wide dynamic range for the exact sums
    values[np.asarray(time.year) == 2005, 4] *= 1e6
    return xr.DataArray(
        values.astype(dtype),
        dims=("time", "cell"),
        coords={"time": time},
        attrs={"units": "mm/day"},
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("method", ["median_unbiased", "linear"])
@pytest.mark.parametrize("q", [0.95, 0.5, 0.99, 0.001])
def test_wet_day_percentile_is_numpys_nanquantile_bit_for_bit(dtype, method, q):
    # numpy's nanquantile of the float64 values, without its Python loop over cells
    pr = _ragged_pr(dtype)
    ours = wet_day_percentile(pr, q, method=method).values
    wet = np.where(pr.values >= 1.0, pr.values, np.nan).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells: numpy warns
        expected = np.nanquantile(wet, q, axis=0, method=method)
    np.testing.assert_array_equal(ours, expected)
    assert np.isnan(ours[0]) and ours[1] == 12.0


def _reference_rx(values: np.ndarray, years: np.ndarray, window: int) -> np.ndarray:
    """Largest window sum inside each year, with exact rational arithmetic (fractions)."""
    out = np.full((np.unique(years).size, values.shape[1]), np.nan)
    for i, year in enumerate(np.unique(years)):
        days = values[years == year]
        for cell in range(values.shape[1]):
            sums = [
                sum(Fraction(float(v)) for v in days[s : s + window, cell])
                for s in range(days.shape[0] - window + 1)
                if not np.isnan(days[s : s + window, cell]).any()
            ]
            out[i, cell] = float(max(sums)) if sums else np.nan
    return out


@pytest.mark.parametrize("layout", ["numpy", "dask 50 days"])
def test_rx5day_of_float32_is_the_exact_largest_sum(layout):
    pr = _ragged_pr("float32")
    expected = _reference_rx(pr.values, pr["time"].dt.year.values, 5)
    data = pr.chunk({"time": 50, "cell": 4}) if layout != "numpy" else pr
    with dask.config.set(scheduler="sync"):
        result = max_n_day_precipitation(data, 5).transpose("year", "cell").values
    # float32 sums only pick the candidates; the result is the float64 sum, which is exact
    # for five float32 days, so it equals the rational maximum rounded once
    np.testing.assert_array_equal(result, expected)


def test_sdii_r95ptot_and_counts_against_references():
    pr = _ragged_pr("float32")
    values, years = pr.values.astype(np.float64), pr["time"].dt.year.values
    p95 = wet_day_percentile(pr)
    got = {
        "sdii": sdii(pr).transpose("year", "cell").values,
        "r95p": r95ptot(pr, p95, output="amount").transpose("year", "cell").values,
        "r95ptot": r95ptot(pr, p95).transpose("year", "cell").values,
        "r50": days_over(pr, 50.0).transpose("year", "cell").values,
    }
    for i, year in enumerate(np.unique(years)):
        for cell in range(values.shape[1]):
            days = values[years == year, cell]
            wet = days[days >= 1.0]
            very = wet[wet > float(p95[cell])]
            valid = not np.isnan(days).all()
            expected = {
                "sdii": wet.mean() if wet.size else np.nan,
                "r95p": math.fsum(very) if valid else np.nan,
                "r95ptot": math.fsum(very) / math.fsum(wet) if wet.sum() > 0 else np.nan,
                "r50": float((days >= 50.0).sum()) if valid else np.nan,
            }
            for name, value in expected.items():
                # float64 sums of float32 days >= 1 mm are exact; SDII divides once
                np.testing.assert_allclose(got[name][i, cell], value, rtol=1e-15, err_msg=name)
    assert np.isnan(got["r95p"][1, 3]) and np.isnan(got["r95ptot"][1, 3])  # no data in 2004
    assert np.isnan(got["sdii"][0, 0]) and got["r50"][0, 0] == 0.0  # never wet


def test_r95p_compares_float32_days_with_the_float64_percentile_exactly():
    # percentiles on, just below and just above float32 values: x > p as in float64
    day = np.float32(37.3)
    days = np.array([day, np.nextafter(day, np.float32(0)), np.nextafter(day, np.float32(99))])
    pr = _daily(np.tile(days, (2, 365 // 3 + 1))[:, :365].astype(np.float32))
    exact = float(day)
    for p95 in (exact, np.nextafter(exact, 0.0), np.nextafter(exact, 99.0)):
        reference = xr.DataArray([p95, np.nan], dims="lat", coords={"lat": pr["lat"]})
        got = r95ptot(pr, reference, output="amount").values
        values = pr.values.astype(np.float64)
        expected = np.where(values > p95, values, 0.0).sum(axis=-1)
        np.testing.assert_array_equal(got[0], expected[0])
        assert got[1] == 0.0  # a NaN percentile selects no day


def test_sdii_and_r95ptot_share_their_wet_days_in_one_task_with_equal_values():
    pr = _ragged_pr("float32")  # NaN days: the shared amounts take the fmax path
    p95 = wet_day_percentile(pr)
    lazy = pr.chunk({"time": 184, "cell": 4})
    lazy = lazy.isel(time=slice(184, None)).chunk({"time": 365})  # blocks of whole years
    fused = one_task_per_block(lambda: {"sdii": sdii(lazy), "r95ptot": r95ptot(lazy, p95)})
    with dask.config.set(scheduler="sync"):
        got = dask.compute(fused)[0]
    plain = pr.isel(time=slice(184, None))
    xr.testing.assert_identical(got["sdii"], sdii(plain))
    xr.testing.assert_identical(got["r95ptot"], r95ptot(plain, p95))
