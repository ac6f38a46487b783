"""Tests of the rain indices and the rain HazardLayer builder."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr

from hazard_models.extremes.gev_fit import fit_gev
from hazard_models.horizon import AR6_HORIZONS
from hazard_models.layer import SchemaError, validate_hazard_layer
from hazard_models.rain.layer import (
    annual_max_daily,
    annual_total,
    build_rain_layer,
    rainstorm_days,
)

#: Indicators of the rain layer (docs/decisions.md D2 and D17).
INDICATORS = (
    "rx1day",
    "rx5day",
    "rainstorm_days",
    "heavy_rainstorm_days",
    "prcptot",
    "sdii",
    "r95ptot",
)
D2_VARIABLES = {
    *INDICATORS,
    *(f"{n}_change" for n in INDICATORS),
    *(f"{n}_robustness" for n in INDICATORS),
    *(f"{m}_gev_{p}" for m in ("rx1day", "rx5day") for p in ("loc", "scale", "shape")),
}


def _raising_scheduler(*args, **kwargs):
    raise AssertionError("a dask computation ran while building the layer")


def _tiny_pr() -> xr.DataArray:
    """Two noleap years of rain on two cells: hand-placed storms, one missing day."""
    time = xr.date_range("2010-01-01", periods=730, freq="D", calendar="noleap", use_cftime=True)
    values = np.zeros((2, time.size))
    values[0, [5, 100, 101]] = [50.0, 49.9, 120.0]  # year 1: 2 rainstorm days, max 120
    values[0, [400, 600]] = [10.0, 60.0]  # year 2: 1 rainstorm day, max 60
    values[1, :365] = 2.0  # year 1: 730 mm, no storm
    values[1, 365:] = np.nan
    values[1, 500] = 55.0  # year 2: one valid day only
    return xr.DataArray(
        values,
        dims=("lat", "time"),
        coords={"lat": [31.0, 31.5], "time": time},
        attrs={"units": "mm/day"},
    )


def test_indices_by_hand():
    pr = _tiny_pr()
    storms = rainstorm_days(pr)
    assert storms.dims == ("lat", "year") and storms.attrs["units"] == "days"
    np.testing.assert_array_equal(storms.values, [[2.0, 1.0], [0.0, 1.0]])
    np.testing.assert_array_equal(rainstorm_days(pr, 100.0).values, [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(annual_max_daily(pr).values, [[120.0, 60.0], [2.0, 55.0]])
    totals = annual_total(pr)
    assert totals.attrs["units"] == "mm"
    # 1e-9: float sums of 365 terms.
    np.testing.assert_allclose(totals.values, [[219.9, 70.0], [730.0, 55.0]], rtol=1e-9)


@pytest.fixture(scope="module")
def rain_layer(projections):
    return build_rain_layer(projections, inputs_sha256="abc", code_version="test")


def test_layer_follows_the_contract(rain_layer):
    assert validate_hazard_layer(rain_layer) is rain_layer
    assert set(rain_layer.data_vars) == D2_VARIABLES
    dims = ("scenario", "horizon", "return_period", "quantile", "lat", "lon")
    assert rain_layer["rx1day"].dims == dims
    assert rain_layer["prcptot"].dims == ("scenario", "horizon", "quantile", "lat", "lon")
    assert rain_layer["rx1day_gev_loc"].dims == ("scenario", "horizon", "lat", "lon")
    units = {name: var.attrs["units"] for name, var in rain_layer.data_vars.items()}
    assert units["rx1day"] == "mm/day" and units["prcptot"] == "mm"
    assert units["rainstorm_days"] == "days" and units["rx1day_gev_shape"] == "1"
    assert "GB/T 28592-2012" in rain_layer["rainstorm_days"].attrs["method"]
    assert rain_layer.attrs["hazard"] == "rain"
    # Return levels grow with the return period.
    assert (rain_layer["rx1day"].diff("return_period") > 0).all()


def test_baseline_identical_and_plausible(projections, rain_layer):
    base = rain_layer.sel(horizon="baseline")
    for name in D2_VARIABLES:
        xr.testing.assert_identical(
            base[name].sel(scenario="ssp126", drop=True),
            base[name].sel(scenario="ssp585", drop=True),
        )
    # The factory rains on 35 % of days with gamma(0.7, 12) amounts: 365 x 0.35 x 8.4 = 1073 mm
    # a year, sd 137 mm; the median of 2 models is a mean of 40 years, sd 22 mm (2 %). 48
    # values are checked, so allow 4.5 sd = 9 %.
    np.testing.assert_allclose(rain_layer["prcptot"].sel(quantile=0.5), 1073.1, rtol=0.09)


def test_pooled_fit_matches_direct_computation(projections):
    rain_layer = build_rain_layer(projections, shape_pooling="site")
    cell = projections["pr"].sel(scenario="historical").isel(lat=0, lon=1)
    years = cell["time"].dt.year
    base = cell.where((years >= 1995) & (years <= 2014), drop=True)
    maxima = np.concatenate(
        [base.sel(model=m).groupby("time.year").max().values for m in cell["model"].values]
    )
    pooled = fit_gev(maxima)
    got = rain_layer.sel(scenario="ssp585", horizon="baseline").isel(lat=0, lon=1)
    # 1e-9: same estimator on the same 40 values (float32 input promoted to float64).
    assert float(got["rx1day_gev_loc"]) == pytest.approx(pooled["loc"], rel=1e-9)
    assert float(got["rx1day_gev_scale"]) == pytest.approx(pooled["scale"], rel=1e-9)


def test_lazy_until_computed(projections, rain_layer):
    chunked = projections.chunk({"lat": 1, "lon": 2})
    with dask.config.set(scheduler=_raising_scheduler):
        lazy = build_rain_layer(chunked, inputs_sha256="abc", code_version="test")
    assert all(var.chunks is not None for var in lazy.data_vars.values())
    with dask.config.set(scheduler="synchronous"):
        xr.testing.assert_allclose(lazy.compute(), rain_layer)


def test_rainstorm_threshold_option(projections):
    layer = build_rain_layer(projections, horizons=AR6_HORIZONS[:1], rainstorm_threshold_mm=1000.0)
    assert (layer["rainstorm_days"] == 0).all()
    assert "1000" in layer["rainstorm_days"].attrs["long_name"]


def test_errors_name_the_problem(projections):
    with pytest.raises(SchemaError, match="expected variable 'pr'"):
        build_rain_layer(projections[["tasmax"]])
    flux = projections.assign(pr=projections["pr"].assign_attrs(units="kg m-2 s-1"))
    with pytest.raises(SchemaError, match="expected units 'mm/day', found 'kg m-2 s-1'"):
        build_rain_layer(flux)
    with pytest.raises(SchemaError, match="scenarios: expected values from"):
        build_rain_layer(projections, scenarios=["historical"])
