"""Tests of quantile delta mapping (resilience.climate.bias) and the sample reference."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from resilience.climate.bias import BiasAdjustmentError, adjust_qdm
from resilience.sample.reference import (
    REFERENCE_RAIN_FACTOR,
    reference_fields,
    write_sample_reference,
)
from resilience.schema import validate_projections

BASELINE = (1995, 2014)
FUTURE = range(2041, 2061)
LAT, LON = np.array([31.0, 31.1]), np.array([121.3, 121.4])
WARMING_DEGC = 3.0
RAIN_CHANGE = 1.2
PROBABILITIES = np.linspace(0.1, 0.9, 9)


def _time(years: range) -> xr.CFTimeIndex:
    return xr.date_range(
        f"{years[0]}-01-01T12",
        periods=365 * len(years),
        freq="D",
        calendar="noleap",
        use_cftime=True,
    )


def _weather(
    rng: np.random.Generator, n_days: int, *, shift: float, spread: float, wet: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return tasmax (degC) and pr (mm/day), dims (time, lat, lon), for 2 x 2 cells."""
    doy = np.arange(n_days) % 365
    cycle = 20 + 10 * np.sin(2 * np.pi * (doy - 100) / 365)
    tasmax = cycle[:, None, None] + shift + spread * rng.standard_normal((n_days, 2, 2))
    amounts = rng.gamma(0.7, 10.0, (n_days, 2, 2)) * wet
    pr = np.where(rng.random((n_days, 2, 2)) < 0.4, amounts, 0.0)
    return tasmax, pr


@pytest.fixture(scope="module")
def reference() -> xr.Dataset:
    """Observed-like gridded reference 1995-2014 (seeded)."""
    rng = np.random.default_rng(1)
    time = _time(range(*BASELINE[:1], BASELINE[1] + 1))
    tasmax, pr = _weather(rng, time.size, shift=0.0, spread=3.0, wet=1.0)
    coords = {"time": time, "lat": LAT, "lon": LON}
    return xr.Dataset(
        {
            "tasmax": (("time", "lat", "lon"), tasmax.astype("f4"), {"units": "degC"}),
            "pr": (("time", "lat", "lon"), pr.astype("f4"), {"units": "mm/day"}),
        },
        coords=coords,
        attrs={"title": "test reference", "synthetic": "yes"},
    )


@pytest.fixture(scope="module")
def projections() -> xr.Dataset:
    """Two biased models; historical 1995-2014 and ssp585 2041-2060, NaN-padded (seeded)."""
    rng = np.random.default_rng(2)
    years = [*range(BASELINE[0], BASELINE[1] + 1), *FUTURE]
    time = xr.CFTimeIndex(
        np.concatenate([_time(range(BASELINE[0], BASELINE[1] + 1)), _time(FUTURE)])
    )
    shape = (2, 2, time.size, 2, 2)
    tasmax, pr = np.full(shape, np.nan, "f4"), np.full(shape, np.nan, "f4")
    n_base = 365 * 20
    for m, (bias, spread, wet) in enumerate(((1.5, 4.0, 0.7), (-0.8, 2.5, 1.4))):
        t, p = _weather(rng, n_base, shift=bias, spread=spread, wet=wet)
        tasmax[m, 0, :n_base], pr[m, 0, :n_base] = t, p
        t, p = _weather(rng, n_base, shift=bias + WARMING_DEGC, spread=spread, wet=wet)
        tasmax[m, 1, n_base:], pr[m, 1, n_base:] = t, p * RAIN_CHANGE
    dims = ("model", "scenario", "time", "lat", "lon")
    assert len(years) * 365 == time.size
    ds = xr.Dataset(
        {
            "tasmax": (dims, tasmax, {"units": "degC", "history": "made by the test"}),
            "pr": (dims, pr, {"units": "mm/day"}),
        },
        coords={
            "model": ["M1", "M2"],
            "scenario": ["historical", "ssp585"],
            "time": time,
            "lat": LAT,
            "lon": LON,
        },
        attrs={"history": "test projections"},
    )
    return validate_projections(ds)


@pytest.fixture(scope="module")
def adjusted(projections: xr.Dataset, reference: xr.Dataset) -> xr.Dataset:
    """The projections adjusted on dask input (chunked per model).

    The default 50 nodes: more nodes make the correction c(tau) noisier (it is the
    difference or ratio of two empirical quantile functions), which reorders values and
    blurs the change signal; 250 nodes doubled the worst ratio error on this data.
    """
    return adjust_qdm(
        projections.chunk({"model": 1}), reference, variables=["tasmax", "pr"], n_quantiles=50
    ).compute()


def _monthly_quantiles(values: xr.DataArray, probabilities: np.ndarray) -> xr.DataArray:
    return values.groupby("time.month").quantile(probabilities, dim="time", skipna=True)


def _baseline(values: xr.DataArray) -> xr.DataArray:
    return values.sel(time=values["time"].dt.year <= BASELINE[1])


def _future(values: xr.DataArray) -> xr.DataArray:
    return values.sel(time=values["time"].dt.year >= FUTURE[0])


def test_adjusted_baseline_reproduces_reference_monthly_quantiles(
    adjusted: xr.Dataset, reference: xr.Dataset
) -> None:
    for variable, probabilities, tolerance in (
        # between two of the 50 nodes (2 % apart) QDM interpolates linearly, so a value can be
        # off by up to one node step: 4 degC x 0.02 / 0.175 (normal pdf at p = 0.1) = 0.46
        # degC in the tails, 0.2 degC at the median; 0.3 degC is about half a tail step
        ("tasmax", PROBABILITIES, 0.3),
        # rain: wet quantiles only (60 % of days dry); at p = 0.9 one node step of the
        # skewed gamma is about 1-1.5 mm on 10 mm, so allow 1.5 mm
        ("pr", np.array([0.8, 0.9]), 1.5),
    ):
        expected = _monthly_quantiles(reference[variable], probabilities)
        for model in ("M1", "M2"):
            hist = _baseline(adjusted[variable].sel(model=model, scenario="historical"))
            found = _monthly_quantiles(hist, probabilities)
            np.testing.assert_allclose(found, expected, atol=tolerance, err_msg=variable)


def test_raw_models_are_biased_so_the_test_means_something(
    projections: xr.Dataset, reference: xr.Dataset
) -> None:
    observed = float(reference["tasmax"].mean())
    for model, bias in (("M1", 1.5), ("M2", -0.8)):
        raw = _baseline(projections["tasmax"].sel(model=model, scenario="historical"))
        assert float(raw.mean()) - observed == pytest.approx(bias, abs=0.1)  # 29,200 values


def test_projected_change_signal_is_preserved(
    adjusted: xr.Dataset, projections: xr.Dataset
) -> None:
    for model in ("M1", "M2"):
        raw = projections.sel(model=model)
        new = adjusted.sel(model=model)
        # temperature: absolute change per month and quantile; both windows hold 620 values
        # a month; the correction c(tau) is the difference of two empirical quantile
        # functions of 620 values, whose standard error at p = 0.9 is about
        # 4 degC x sqrt(0.09 / 620) / 0.175 = 0.27 degC, so c wiggles by that much between
        # neighbouring tau: allow 0.3 degC on a 3 degC change
        change_raw = _monthly_quantiles(
            _future(raw["tasmax"].sel(scenario="ssp585")), PROBABILITIES
        ) - _monthly_quantiles(_baseline(raw["tasmax"].sel(scenario="historical")), PROBABILITIES)
        change_new = _monthly_quantiles(
            _future(new["tasmax"].sel(scenario="ssp585")), PROBABILITIES
        ) - _monthly_quantiles(_baseline(new["tasmax"].sel(scenario="historical")), PROBABILITIES)
        np.testing.assert_allclose(change_new, change_raw, atol=0.3)
        # rain: relative change of wet quantiles (light rain near the dry/wet boundary, where
        # the factor jumps from jitter ratios to rain ratios, is left out), within 25 %: the
        # ratio c(tau) of two empirical quantile functions of ~250 wet days each has a
        # relative standard error of about 10 % at the wet median (gamma shape 0.7), and
        # its wiggles reorder values; measured worst case 24 % (2 of 96 month-quantiles),
        # median error < 1 %
        wet = np.array([0.8, 0.9])
        ratio_raw = _monthly_quantiles(
            _future(raw["pr"].sel(scenario="ssp585")), wet
        ) / _monthly_quantiles(_baseline(raw["pr"].sel(scenario="historical")), wet)
        ratio_new = _monthly_quantiles(
            _future(new["pr"].sel(scenario="ssp585")), wet
        ) / _monthly_quantiles(_baseline(new["pr"].sel(scenario="historical")), wet)
        np.testing.assert_allclose(ratio_new, ratio_raw, rtol=0.25)
        assert float(np.median(np.abs(ratio_new / ratio_raw - 1))) < 0.02


def test_dims_units_attrs_and_nan_padding_are_kept(
    adjusted: xr.Dataset, projections: xr.Dataset
) -> None:
    validate_projections(adjusted)
    assert adjusted["tasmax"].dims == projections["tasmax"].dims
    assert adjusted["tasmax"].dtype == np.float32
    assert adjusted["pr"].attrs["units"] == "mm/day"
    assert "Cannon" in adjusted["pr"].attrs["bias_adjustment"]
    assert adjusted["tasmax"].attrs["history"].startswith("made by the test\nadjust_qdm")
    assert "adjust_qdm" in adjusted.attrs["history"]
    assert adjusted.attrs["synthetic"] == "yes"
    for variable in ("tasmax", "pr"):
        np.testing.assert_array_equal(
            adjusted[variable].isnull().values, projections[variable].isnull().values
        )
    assert float(adjusted["pr"].min()) == 0.0  # dry days stay dry, no negative rain


def test_station_reference_uses_the_nearest_cell(
    adjusted: xr.Dataset, projections: xr.Dataset, reference: xr.Dataset
) -> None:
    cell = reference.isel(lat=1, lon=0)
    stations = xr.concat([cell.drop_vars(["lat", "lon"])], dim="station").assign_coords(
        station=["58367"], lat=("station", [31.12]), lon=("station", [121.28])
    )
    result = adjust_qdm(projections, stations, variables=["tasmax"], n_quantiles=50)
    assert result["tasmax"].dims == ("model", "scenario", "time", "station")
    assert float(result["station_lat"][0]) == 31.12 and float(result["lat"][0]) == 31.1
    np.testing.assert_allclose(
        result["tasmax"].isel(station=0), adjusted["tasmax"].isel(lat=1, lon=0), atol=1e-4
    )


def test_reference_in_kelvin_is_converted(projections: xr.Dataset, reference: xr.Dataset) -> None:
    kelvin = reference.assign(tasmax=(reference["tasmax"] + 273.15).assign_attrs(units="K"))
    a = adjust_qdm(projections, kelvin, variables=["tasmax"])["tasmax"]
    b = adjust_qdm(projections, reference, variables=["tasmax"])["tasmax"]
    np.testing.assert_allclose(a, b, atol=1e-3)  # float32 rounding of values near 300 K


def test_reference_missing_variable_is_named(
    projections: xr.Dataset, reference: xr.Dataset
) -> None:
    with pytest.raises(BiasAdjustmentError, match="reference: variable 'pr' missing"):
        adjust_qdm(projections, reference[["tasmax"]], variables=["pr"])


def test_reference_not_covering_baseline_is_named(
    projections: xr.Dataset, reference: xr.Dataset
) -> None:
    short = reference.sel(time=reference["time"].dt.year >= 2000)
    with pytest.raises(
        BiasAdjustmentError, match="reference: does not cover the baseline 1995-2014"
    ):
        adjust_qdm(projections, short, variables=["tasmax"])


def test_reference_on_another_grid_is_refused(
    projections: xr.Dataset, reference: xr.Dataset
) -> None:
    shifted = reference.assign_coords(lat=reference["lat"] + 0.05)
    with pytest.raises(BiasAdjustmentError, match="regridding is out of scope"):
        adjust_qdm(projections, shifted, variables=["tasmax"])


def test_sample_reference_file(tmp_path) -> None:  # noqa: ANN001
    path = write_sample_reference(tmp_path, years=(1995, 1996))
    with xr.open_dataset(path, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True)) as ds:
        assert ds.attrs["synthetic"] == "yes"
        assert ds["tasmax"].attrs["units"] == "degC" and ds["pr"].attrs["units"] == "mm/day"
        assert ds["time"].dt.calendar == "noleap" and ds.sizes["time"] == 730
        expected = reference_fields(1996)
        # stored to 0.01 (scale_factor), so values round-trip within half a step
        np.testing.assert_allclose(ds["tasmax"].values[365:], expected["tasmax"], atol=0.006)
        np.testing.assert_allclose(ds["pr"].values[365:], expected["pr"], atol=0.006)
    assert REFERENCE_RAIN_FACTOR == pytest.approx(1.1)


@pytest.mark.slow
def test_kernel_agrees_with_xsdba(projections: xr.Dataset, reference: xr.Dataset) -> None:
    import xsdba  # a dev dependency (pyproject): the test fails, not skips, without it

    hist = _baseline(projections["tasmax"].sel(model="M1", scenario="historical"))
    sim = _future(projections["tasmax"].sel(model="M1", scenario="ssp585"))
    trained = xsdba.QuantileDeltaMapping.train(
        reference["tasmax"], hist, nquantiles=50, group="time.month", kind="+"
    )
    theirs = trained.adjust(sim, interp="linear", extrapolation="constant").transpose(*sim.dims)
    ours = _future(
        adjust_qdm(projections, reference, variables=["tasmax"])["tasmax"].sel(
            model="M1", scenario="ssp585"
        )
    )
    # same nodes; xsdba takes quantiles and ranks with its own plotting positions, so single
    # values can differ by a node step or two, but the monthly distributions agree
    found, expected = (_monthly_quantiles(v, PROBABILITIES) for v in (ours, theirs))
    np.testing.assert_allclose(found, expected, atol=0.3)
    print(
        "max |ours - xsdba| value:",
        float(np.abs(ours - theirs).max()),
        "mean:",
        float(np.abs(ours - theirs).mean()),
        "max quantile gap:",
        float(np.abs(found - expected).max()),
    )
