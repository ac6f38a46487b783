"""Our yearly heat and rain indices against xclim's on the real sample files (issue 5).

The module fixture writes a small part of the bundled synthetic sample (one model, the
historical experiment, 5 years, 14 x 14 cells, float32 NetCDF in K and kg m-2 s-1) with
``resilience.sample.projections`` and opens it with
``resilience.climate.projections.open_projections``,
so both libraries see exactly what the layers see: float32 degC and mm/day, noleap calendar,
dask chunks of one year. Counts and maxima must agree exactly. Sums differ only by xclim's
float32 summation (ours sums float32 days exactly in float64): a sequential float32 sum of n
non-negative terms is within (n - 1) u of the exact sum (u = 2**-24; Higham 2002, eq. 4.4),
hence the 365 u tolerance of the sums. Where a definition differs (Rx5day windows across New
Year, R95pTOT's wet-day comparison, the heat-index adjustments) the difference is tested
explicitly instead of loosening a tolerance; ``docs/hazard_indices.md`` lists them.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hazard_models.heat import indices as hi
from hazard_models.heat.humid_heat import heat_index, heat_index_max
from hazard_models.rain import indices as ri
from resilience.climate.projections import open_projections
from resilience.sample.projections import write_sample_projections

xi = pytest.importorskip("xclim.indices")

MODEL = "SYNTH-ESM-A"
YEARS = tuple(range(2010, 2015))
#: Relative bound of a float32 sum of a year of non-negative days against the exact sum.
SUM_RTOL = 365 * 2.0**-24


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    """Daily tasmax, tasmin (degC) and pr (mm/day), dims (time, lat, lon), dask-backed."""
    directory = tmp_path_factory.mktemp("sample")
    write_sample_projections(directory, models=(MODEL,), experiments={"historical": YEARS})
    ds = open_projections(directory, variables=("tasmax", "tasmin", "pr"))
    return ds.sel(model=MODEL, scenario="historical")


def _same(ours: xr.DataArray, theirs: xr.DataArray, rtol: float = 0.0) -> None:
    """Assert equal values per (year, cell); xclim labels years by their first day."""
    theirs = theirs.compute()
    assert ours["year"].values.tolist() == theirs["time"].dt.year.values.tolist()
    theirs = theirs.rename(time="year").assign_coords(year=ours["year"].values)
    theirs = theirs.transpose(*ours.dims)
    np.testing.assert_allclose(ours.values, theirs.values, rtol=rtol, atol=0)


def test_maxima_and_threshold_counts_agree_exactly(sample: xr.Dataset) -> None:
    tasmax, tasmin, pr = sample["tasmax"], sample["tasmin"], sample["pr"]
    assert tasmax.dtype == np.float32  # the float32 path of our kernels is the one tested
    _same(hi.tx_max(tasmax), xi.tx_max(tasmax))
    _same(hi.tn_max(tasmin), xi.tn_max(tasmin))
    for threshold in (35.0, 37.0, 40.0):
        theirs = xi.tx_days_above(tasmax, f"{threshold} degC", op=">=")
        _same(hi.tx_days_above(tasmax, threshold), theirs)
    # xclim's tropical_nights indicator wraps tn_days_above; thresh 25 degC with ">="
    _same(hi.tropical_nights(tasmin), xi.tn_days_above(tasmin, "25 degC", op=">="))
    _same(ri.max_n_day_precipitation(pr, 1), xi.max_1day_precipitation_amount(pr))
    for threshold in (50.0, 100.0):
        _same(ri.days_over(pr, threshold), xi.wetdays(pr, f"{threshold} mm/day", op=">="))
    # the comparison is not vacuous: the sample has hot days, hot nights and rainstorms
    assert float(hi.tx_days_above(tasmax, 35.0).sum()) > 100
    assert float(hi.tropical_nights(tasmin).sum()) > 100
    assert float(ri.days_over(pr, 50.0).sum()) > 50


def test_heat_waves_agree_exactly(sample: xr.Dataset) -> None:
    # about 5 s: xclim's first run-length call (its numba kernels), not the data
    tasmax = sample["tasmax"]
    theirs = xi.hot_spell_frequency(tasmax, "35 degC", window=3, op=">=")
    _same(hi.heat_wave_events(tasmax), theirs)
    theirs = xi.hot_spell_max_length(tasmax, "35 degC", window=3, op=">=")
    _same(hi.longest_heat_wave(tasmax), theirs)
    assert float(hi.heat_wave_events(tasmax).sum()) > 20
    assert float(hi.longest_heat_wave(tasmax).max()) >= 5


def test_sums_agree_to_float32_summation(sample: xr.Dataset) -> None:
    tas = ((sample["tasmax"] + sample["tasmin"]) / 2).assign_attrs(units="degC")
    _same(hi.cooling_degree_days(tas), xi.cooling_degree_days(tas, "26 degC"), SUM_RTOL)
    _same(ri.sdii(sample["pr"]), xi.daily_pr_intensity(sample["pr"]), SUM_RTOL)


def test_r95ptot_agrees_with_the_same_baseline_percentile(sample: xr.Dataset) -> None:
    pr = sample["pr"]
    p95 = ri.wet_day_percentile(pr).compute()
    # our vectorised percentile is numpy's median-unbiased nanquantile (float64), bit for bit
    wet = pr.where(pr >= 1.0).transpose("time", ...).values.astype(np.float64)
    reference = np.nanquantile(wet, 0.95, axis=0, method="median_unbiased")
    np.testing.assert_array_equal(p95.values, reference)
    # no day of the sample is exactly 1 mm, so xclim's wet day (> 1 mm) selects our days
    assert not (pr == 1.0).any()
    theirs = xi.fraction_over_precip_thresh(pr, p95.assign_attrs(units="mm/day"))
    # a ratio of two float32 sums: twice the sum bound
    _same(ri.r95ptot(pr, p95), theirs, 2 * SUM_RTOL)


def _crossing_window_max(pr: xr.DataArray, window: int) -> np.ndarray:
    """Largest sum of the windows that end in the first days of a year but start before it."""
    values = pr.transpose("time", ...).values.astype(np.float64)
    years = pr["time"].dt.year.values
    out = np.full((len(YEARS), *values.shape[1:]), np.nan)
    for k, year in enumerate(YEARS[1:], start=1):
        first = int(np.flatnonzero(years == year)[0])
        sums = [values[end - window + 1 : end + 1].sum(axis=0) for end in range(first, first + 4)]
        out[k] = np.max(sums, axis=0)
    return out


def test_rx5day_differs_only_by_windows_across_new_year(sample: xr.Dataset) -> None:
    pr = sample["pr"]
    ours = ri.max_n_day_precipitation(pr, 5).transpose("year", ...)
    theirs = xi.max_n_day_precipitation_amount(pr, window=5).compute()
    crossing = _crossing_window_max(pr, 5)
    # xclim labels a rolling window by its last day, so a window of 29 Dec - 2 Jan counts in
    # the new year; ours keeps windows inside the year (the first year has no such window)
    expected = np.fmax(ours.values, crossing)
    # xclim's float32 rolling sums against our exact float64 sums: a 5-term float32 sum is
    # within 4 u (2.4e-7) of the exact one; bottleneck's running sum (add the new day,
    # subtract the old) can drift a little more; measured 1.2e-7
    np.testing.assert_allclose(theirs.values, expected, rtol=1e-6, atol=0)
    # on the sample the difference is real: some years' largest 5 days span New Year
    assert (crossing > ours.values).sum() >= 1


def test_rx5day_window_across_new_year_is_the_documented_difference() -> None:
    time = xr.date_range("2001-01-01", periods=730, freq="D", calendar="noleap", use_cftime=True)
    values = np.zeros(730, dtype=np.float32)
    values[362:367] = 30.0  # 29 Dec - 2 Jan: 90 mm in 2001, 60 mm in 2002, 150 mm across
    values[100] = 70.0
    pr = xr.DataArray(values, dims="time", coords={"time": time}, attrs={"units": "mm/day"})
    ours = ri.max_n_day_precipitation(pr, 5).values
    theirs = xi.max_n_day_precipitation_amount(pr, window=5).values
    np.testing.assert_array_equal(ours, [90.0, 60.0])
    np.testing.assert_array_equal(theirs, [90.0, 150.0])


def test_r95ptot_wet_day_boundary_is_the_documented_difference() -> None:
    time = xr.date_range("2001-01-01", periods=365, freq="D", calendar="noleap", use_cftime=True)
    values = np.zeros(365, dtype=np.float32)
    values[:4] = [1.0, 4.0, 10.0, 20.0]  # a day of exactly 1 mm is wet for ETCCDI (>= 1 mm)
    pr = xr.DataArray(values, dims="time", coords={"time": time}, attrs={"units": "mm/day"})
    p95 = xr.DataArray(10.0, attrs={"units": "mm/day"})
    np.testing.assert_allclose(ri.r95ptot(pr, p95).values, [20.0 / 35.0])
    # xclim's default op ">" treats the wet day as pr > 1 mm: 20 / 34
    theirs = xi.fraction_over_precip_thresh(pr, p95)
    np.testing.assert_allclose(theirs.values, [20.0 / 34.0], rtol=1e-6)
    # with op=">=" xclim counts the wet day, but then also a day equal to the percentile
    theirs = xi.fraction_over_precip_thresh(pr, p95, op=">=")
    np.testing.assert_allclose(theirs.values, [30.0 / 35.0], rtol=1e-6)


def test_heat_index_max_agrees_where_the_regressions_coincide(sample: xr.Dataset) -> None:
    tasmax = sample["tasmax"]
    rng = np.random.default_rng(7)  # synthetic humidity (the sample has none) in 40-80 %
    hurs = xr.DataArray(
        rng.uniform(40.0, 80.0, tasmax.shape).astype(np.float32),
        dims=tasmax.dims,
        coords=tasmax.coords,
        attrs={"units": "%"},
    )
    ours = heat_index_max(tasmax, hurs)
    theirs = xi.heat_index(tasmax, hurs).resample(time="YS").max()
    # Every yearly maximum lies on a day above 27 degC with RH in 40-80 %, where the NWS
    # index is the Rothfusz regression without adjustments, i.e. xclim's formula. The
    # coefficients differ only by their conversion to degC; float32 evaluation of ~50 degC
    # values (ulp 4e-6) over ~30 operations: measured within 2e-4 degC.
    assert float(ours.min()) > 30.0
    theirs = theirs.rename(time="year").assign_coords(year=ours["year"].values)
    np.testing.assert_allclose(ours.values, theirs.transpose(*ours.dims).values, atol=5e-4)


def test_heat_index_definitions_differ_below_80_degf_and_in_dry_heat() -> None:
    # NWS: below 80 degF the simple formula; xclim: NaN at or below 20 degC. Dry heat
    # (RH < 13 %, 80-112 degF): NWS subtracts an adjustment that xclim does not.
    tas = xr.DataArray([15.0, 40.0], dims="site", attrs={"units": "degC"})
    hurs = xr.DataArray([50.0, 10.0], dims="site", attrs={"units": "%"})
    ours = heat_index(tas, hurs).values
    theirs = xi.heat_index(tas, hurs).values
    simple_f = 0.5 * (59.0 + 61.0 + (59.0 - 68.0) * 1.2 + 50.0 * 0.094)  # 15 degC = 59 degF
    np.testing.assert_allclose(ours[0], (simple_f - 32) * 5 / 9, rtol=1e-12)  # applied once
    assert np.isnan(theirs[0])
    temp_f = 104.0  # 40 degC
    adjustment_f = (13 - 10) / 4 * np.sqrt((17 - abs(temp_f - 95)) / 17)
    np.testing.assert_allclose(theirs[1] - ours[1], adjustment_f * 5 / 9, atol=1e-6)
