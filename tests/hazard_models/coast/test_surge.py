"""Tests of the surge helpers and the surge HazardLayer builder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hazard_models.coast import gauge_extremes, sea_level
from hazard_models.coast.surge import (
    build_surge_layer,
    refer_to_baseline,
    relative_sea_level_rise,
    sea_level_at,
    shift_for_sea_level,
    theil_sen_slope,
)
from hazard_models.extremes.gev import gev_nllh, return_level
from hazard_models.extremes.gev_fit import fit_gev
from hazard_models.horizon import AR6_HORIZONS
from hazard_models.layer import SchemaError, validate_hazard_layer

DATA = Path(__file__).resolve().parents[2] / "data" / "sea_level"
D2_VARIABLES = {
    "still_water_level",
    "relative_sea_level_rise",
    "still_water_level_gev_loc",
    "still_water_level_gev_scale",
    "still_water_level_gev_shape",
}
INTEGRATED = "still_water_level_integrated"


# --- helpers against hand computation ---------------------------------------------------------


def test_theil_sen_by_hand_with_gaps():
    # Pair slopes: (0,0)-(1,1) = 1, (0,0)-(2,10) = 5, (1,1)-(2,10) = 9; median 5.
    assert theil_sen_slope(np.array([0, 1, 2]), np.array([0.0, 1.0, 10.0])) == 5.0
    # A missing year is left out, not averaged: (0,0),(2,10),(3,3) -> slopes 5, 1, -7; median 1.
    with_gap = np.array([0.0, np.nan, 10.0, 3.0])
    assert theil_sen_slope(np.array([0, 1, 2, 3]), with_gap) == 1.0
    # Two values in one year form no slope: (2000,1)/(2000,2) out; (2000,*)-(2002,5) = 2, 1.5.
    assert theil_sen_slope(np.array([2000, 2000, 2002]), np.array([1.0, 2.0, 5.0])) == 1.75
    with pytest.raises(ValueError, match="at least two distinct years"):
        theil_sen_slope(np.array([2000, 2000]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="at least two distinct years"):
        theil_sen_slope(np.array([2000, 2001]), np.array([1.0, np.nan]))


def test_refer_to_baseline_removes_a_linear_trend():
    table = pd.DataFrame(
        {"station": "a", "year": [1990, 2000, 2010], "annual_max_m": [4.0, 4.1, 4.2]}
    )
    referred, slopes = refer_to_baseline(table)
    # Slope 0.01 m/yr; each value moves to 2004.5: 4.0 + 0.01 x 14.5 = 4.145 for all.
    assert slopes["a"] == pytest.approx(0.01)
    np.testing.assert_allclose(referred["annual_max_m"], 4.145, rtol=1e-12)
    unchanged, zero = refer_to_baseline(table, detrend="none")
    pd.testing.assert_frame_equal(unchanged, table)
    assert zero["a"] == 0.0


def test_shift_by_hand_and_sea_level_helpers_are_re_exported():
    assert relative_sea_level_rise is sea_level.relative_sea_level_rise
    assert sea_level_at is sea_level.sea_level_at
    assert theil_sen_slope is gauge_extremes.theil_sen_slope
    levels = xr.DataArray([4.0, 5.0], dims="return_period", attrs={"units": "m"})
    shifted = shift_for_sea_level(levels, xr.DataArray(0.25))
    np.testing.assert_allclose(shifted, [4.25, 5.25], rtol=1e-12)
    assert shifted.attrs["units"] == "m" and "shift_for_sea_level" in shifted.attrs["history"]


# --- the layer ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def surge_inputs(make_surge_inputs):
    return make_surge_inputs()


@pytest.fixture(scope="module")
def surge_layer(surge_inputs):
    return build_surge_layer(*surge_inputs, inputs_sha256="abc", code_version="test")


def test_layer_follows_the_contract(surge_layer):
    assert validate_hazard_layer(surge_layer) is surge_layer
    assert set(surge_layer.data_vars) == D2_VARIABLES | {INTEGRATED}
    assert surge_layer[INTEGRATED].dims == ("scenario", "horizon", "return_period", "station")
    assert "Hunter 2012" in surge_layer[INTEGRATED].attrs["method"]
    assert surge_layer["still_water_level"].dims == (
        "scenario",
        "horizon",
        "return_period",
        "quantile",
        "station",
    )
    assert surge_layer["relative_sea_level_rise"].dims == (
        "scenario",
        "horizon",
        "quantile",
        "station",
    )
    assert surge_layer["still_water_level_gev_loc"].dims == ("scenario", "horizon", "station")
    assert surge_layer["quantile"].values.tolist() == [0.17, 0.5, 0.83]
    assert surge_layer["return_period"].values.tolist() == [10, 20, 50, 100, 200, 1000]
    assert surge_layer["station_name"].values.tolist() == ["Wusongkou", "Huangpu Park"]
    assert surge_layer["datum"].values.tolist() == ["Wusong", "Wusong"]
    assert surge_layer["lat"].dims == ("station",)
    assert "Wusong datum" in surge_layer["still_water_level"].attrs["long_name"]
    assert all(v.attrs["units"] in ("m", "1") for v in surge_layer.data_vars.values())
    assert surge_layer.attrs["hazard"] == "surge" and surge_layer.attrs["code_version"] == "test"


def test_half_metre_rise_moves_every_level_by_half_a_metre(surge_layer):
    swl = surge_layer["still_water_level"].sel(quantile=0.5)
    for horizon in ("near", "mid", "far"):
        # Exact arithmetic (a location shift); 1e-12 allows for rounding only.
        np.testing.assert_allclose(
            swl.sel(horizon=horizon) - swl.sel(horizon="baseline"), 0.5, atol=1e-12
        )
    loc = surge_layer["still_water_level_gev_loc"]
    np.testing.assert_allclose(
        loc.sel(horizon="far") - loc.sel(horizon="baseline"), 0.5, atol=1e-12
    )
    scale = surge_layer["still_water_level_gev_scale"]
    np.testing.assert_array_equal(scale.sel(horizon="far"), scale.sel(horizon="baseline"))


def test_certain_rise_integrates_to_the_shifted_level(surge_layer):
    """The shared fixture has the same rise at every quantile: a certain rise of 0.5 m, so
    integrating over it changes nothing (Coles eq. 3.4 + shift; bisection exact to ~1e-12)."""
    median = surge_layer["still_water_level"].sel(quantile=0.5, drop=True)
    xr.testing.assert_allclose(surge_layer[INTEGRATED], median, atol=1e-9)


def test_integrated_levels_by_hand_on_one_station(make_surge_inputs):
    """A skewed rise (0.17/0.5/0.83 = 0.4/0.5/0.7 m) at one station, checked against
    hazard_models.coast.allowance.future_return_level on the layer's own GEV parameters."""
    maxima, stations, table = make_surge_inputs()
    spread = {0.17: -0.1, 0.5: 0.0, 0.83: 0.2}
    table = table.assign(sea_level_rise_m=table["sea_level_rise_m"] + table["quantile"].map(spread))
    layer = build_surge_layer(maxima, stations, table, scenarios=["ssp245", "ssp585"])
    assert validate_hazard_layer(layer) is layer  # includes: baseline equal under every scenario
    pick = {"station": "huangpu_park", "scenario": "ssp245", "horizon": "far"}
    gev = tuple(float(layer[f"still_water_level_gev_{p}"].sel(pick)) for p in ("loc", "scale"))
    gev = (gev[0] - 0.5, gev[1], float(layer["still_water_level_gev_shape"].sel(pick)))
    periods = layer["return_period"].values
    got = layer[INTEGRATED].sel(pick).values
    # Independently of the layer's quadrature and bisection: N(z) = E_S[-log F(z - S)]
    # (Hunter 2012) by adaptive quadrature over the split-normal density of S whose 17th,
    # 50th and 83rd percentiles are 0.4, 0.5 and 0.7 m (z = 0.954: sd 0.1/0.954 below,
    # 0.2/0.954 above), -log F = (1 + xi (x - mu) / sigma)^(-1/xi) (Coles 2001, eq. 3.2),
    # solved for N = -log(1 - 1/T) by Brent's method.
    import math

    from scipy import integrate, optimize
    from scipy.special import ndtri

    z83 = float(ndtri(0.83))
    below, above = 0.1 / z83, 0.2 / z83
    mu, sigma, xi = gev

    def integrand(s: float, level: float) -> float:
        t = 1.0 + xi * (level - s - mu) / sigma
        minus_log_f = t ** (-1.0 / xi) if t > 0 else (math.inf if xi > 0 else 0.0)
        sd = below if s < 0.5 else above
        return minus_log_f * math.exp(-0.5 * ((s - 0.5) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))

    def rate(level: float) -> float:
        options = {"args": (level,), "epsabs": 1e-13, "epsrel": 1e-11}
        low = integrate.quad(integrand, 0.5 - 12 * below, 0.5, **options)[0]
        return low + integrate.quad(integrand, 0.5, 0.5 + 12 * above, **options)[0]

    expected = [
        optimize.brentq(
            lambda z, t=t: rate(z) + math.log1p(-1.0 / t), 0.0, 20.0, xtol=1e-12, rtol=1e-12
        )
        for t in periods
    ]
    # 1e-6 m: the two integrations agree far below any level that matters (mm)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # The rise is skewed up: more than the median shift, less than the upper likely level.
    swl = layer["still_water_level"].sel(pick)
    assert np.all(got > swl.sel(quantile=0.5).values)
    assert np.all(got < swl.sel(quantile=0.83).values)
    baseline = layer[INTEGRATED].sel(horizon="baseline", station="huangpu_park")
    np.testing.assert_allclose(baseline.values[0], swl.sel(quantile=0.5).values - 0.5, atol=1e-9)
    normal = build_surge_layer(maxima, stations, table, scenarios=["ssp245"], rise_shape="normal")
    assert "normal distribution fitted" in normal[INTEGRATED].attrs["method"]


def test_median_only_table_gives_a_certain_rise(make_surge_inputs):
    maxima, stations, table = make_surge_inputs(rise_m=0.3)
    median_only = table[table["quantile"] == 0.5]
    layer = build_surge_layer(maxima, stations, median_only, scenarios=["ssp126"])
    median = layer["still_water_level"].sel(quantile=0.5, drop=True)
    xr.testing.assert_allclose(layer[INTEGRATED], median, atol=1e-9)


def test_baseline_is_the_stationary_fit(surge_inputs, surge_layer):
    maxima, stations, _ = surge_inputs
    rise = surge_layer["relative_sea_level_rise"].sel(horizon="baseline")
    assert (rise == 0).all()
    base = surge_layer["still_water_level"].sel(horizon="baseline")
    assert (base == base.isel(scenario=0)).all()
    referred, _ = refer_to_baseline(maxima)
    series = referred[referred["station"] == "huangpu_park"]["annual_max_m"].to_numpy()
    fit = fit_gev(series)
    expected = return_level(fit["loc"], fit["scale"], fit["shape"], 100.0)
    got = base.sel(scenario="ssp245", return_period=100, quantile=0.83, station="huangpu_park")
    assert float(got) == pytest.approx(float(expected), rel=1e-12)


def test_subsidence_adds_to_the_rise(make_surge_inputs):
    layer = build_surge_layer(*make_surge_inputs(rise_m=0.2, subsidence_mm_per_year=3.0))
    rise = layer["relative_sea_level_rise"].sel(scenario="ssp585", quantile=0.5)
    # 0.2 m + 3 mm/yr x (mid year - 2004.5): near 2030.5 -> 0.278, far 2090.5 -> 0.458 m.
    np.testing.assert_allclose(rise.sel(horizon="near"), 0.278, rtol=1e-12)
    np.testing.assert_allclose(rise.sel(horizon="far"), 0.458, rtol=1e-12)


def test_trend_is_removed_before_fitting(make_surge_inputs):
    """A 1 cm/yr trend in the record must not inflate the baseline return levels much."""
    flat = build_surge_layer(*make_surge_inputs(trend_m_per_year=0.0))
    trended = build_surge_layer(*make_surge_inputs(trend_m_per_year=0.01))
    raw = build_surge_layer(*make_surge_inputs(trend_m_per_year=0.01), detrend="none")
    level = "still_water_level"
    pick = {"horizon": "baseline", "scenario": "ssp126", "quantile": 0.5, "return_period": 100}
    detrended_error = np.abs(trended[level].sel(pick) - flat[level].sel(pick))
    raw_error = np.abs(raw[level].sel(pick) - flat[level].sel(pick))
    # The trend spreads the maxima over +-0.3 m; Theil-Sen recovers it to within a few mm/yr
    # (sd ~ 0.3 m x sqrt(12 / 60^3) = 2 mm/yr), so the detrended fit stays closer to the flat one.
    assert (detrended_error < raw_error).all()
    assert "theil_sen trend removed" in trended.attrs["history"]


def test_options_and_mle(surge_inputs):
    layer = build_surge_layer(
        *surge_inputs,
        scenarios=["ssp585"],
        return_periods=[2, 100],
        method="mle",
        horizons=AR6_HORIZONS[:2],
    )
    assert layer["scenario"].values.tolist() == ["ssp585"]
    assert layer["horizon"].values.tolist() == ["baseline", "near"]
    assert "mle" in layer["still_water_level"].attrs["method"]


def test_errors_name_the_problem(surge_inputs):
    maxima, stations, sea_level = surge_inputs
    with pytest.raises(
        SchemaError, match=r"annual_maxima: expected columns .* missing \['annual_max_m'\]"
    ):
        build_surge_layer(maxima.drop(columns="annual_max_m"), stations, sea_level)
    with pytest.raises(SchemaError, match=r"stations: .* missing \['subsidence_mm_per_year'\]"):
        build_surge_layer(maxima, stations.drop(columns="subsidence_mm_per_year"), sea_level)
    mixed = stations.assign(datum=["Wusong", "1985 national"])
    with pytest.raises(SchemaError, match="expected one datum for all stations"):
        build_surge_layer(maxima, mixed, sea_level)
    with pytest.raises(SchemaError, match="datum: expected 'Wusong' as in stations"):
        build_surge_layer(maxima.assign(datum="1985 national"), stations, sea_level)
    with pytest.raises(SchemaError, match="expected rows of annual maxima, found none"):
        build_surge_layer(maxima.iloc[:0], stations, sea_level)
    with pytest.raises(SchemaError, match=r"unknown stations \['wusongkou'\]"):
        build_surge_layer(maxima, stations.iloc[1:], sea_level)
    short = maxima[maxima["year"] > 2015]
    with pytest.raises(
        SchemaError, match="expected at least 10 distinct annual maxima per station"
    ):
        build_surge_layer(short, stations, sea_level)
    with pytest.raises(SchemaError, match="found 'wusongkou' 1961 twice"):
        build_surge_layer(pd.concat([maxima, maxima.iloc[:1]]), stations, sea_level)
    with pytest.raises(SchemaError, match="scenario 'ssp370', quantile 0.17: expected rows"):
        build_surge_layer(maxima, stations, sea_level, scenarios=["ssp370"])
    gap = maxima.copy()
    gap.loc[5, "annual_max_m"] = np.nan
    with pytest.raises(SchemaError, match="station 'wusongkou', year 1966: annual_max_m: expected"):
        build_surge_layer(gap, stations, sea_level)


def test_catalogue_stations_without_maxima_are_left_out(surge_inputs):
    maxima, stations, sea_level = surge_inputs
    only_one = maxima[maxima["station"] == "wusongkou"]
    layer = build_surge_layer(only_one, stations, sea_level)
    assert layer["station"].values.tolist() == ["wusongkou"]
    assert "left out: ['huangpu_park']" in layer.attrs["history"]


# --- EVA of real tide-gauge records against their published fits --------------------------------


@pytest.fixture(scope="module")
def published_fits():
    return pd.read_csv(DATA / "wong_published_gev_fits.csv").set_index("station")


def test_mle_reproduces_the_published_fits_of_real_gauges(published_fits):
    """Five US gauges (tests/data/sea_level/README.md): our MLE = Wong et al.'s stationary MLE."""
    for station, published in published_fits.iterrows():
        values = pd.read_csv(DATA / f"{station}_annmax.csv")["lsl_max"].to_numpy()
        fit = fit_gev(values[None], method="mle")
        assert fit["status"][0] == "ok"
        # Both maximise the same likelihood; the published optimum is given to 15 digits and
        # ours stops at a relative gradient of 1e-7, so parameters agree to ~1e-6 relative
        # (measured: <= 3.3e-7). Shape is compared absolutely (it can be near 0).
        assert fit["loc"][0] == pytest.approx(published["loc_mm"], rel=1e-6)
        assert fit["scale"][0] == pytest.approx(published["scale_mm"], rel=1e-5)
        assert fit["shape"][0] == pytest.approx(published["shape"], abs=1e-5)
        ours = gev_nllh(values, fit["loc"][0], fit["scale"][0], fit["shape"][0])
        theirs = gev_nllh(values, published["loc_mm"], published["scale_mm"], published["shape"])
        assert ours <= theirs + 1e-6  # never a worse likelihood than the published optimum


def test_surge_layer_on_a_real_record_uses_the_published_distribution(published_fits):
    """New York (already detrended, mm -> m): the baseline levels are the published GEV's."""
    record = pd.read_csv(DATA / "NewYorkNY_annmax.csv")
    maxima = pd.DataFrame(
        {"station": "new_york", "year": record["year"], "annual_max_m": record["lsl_max"] / 1000}
    )
    stations = pd.DataFrame(
        {
            "station": ["new_york"],
            "station_name": ["New York (The Battery)"],
            "lat": [40.70],
            "lon": [-74.01],
            "datum": ["detrended local"],
            "subsidence_mm_per_year": [0.0],
        }
    )
    rise = pd.DataFrame(
        {"scenario": "ssp245", "year": 2100, "quantile": [0.17, 0.5, 0.83], "sea_level_rise_m": 0.5}
    )
    layer = build_surge_layer(
        maxima, stations, rise, scenarios=["ssp245"], detrend="none", method="mle"
    )
    published = published_fits.loc["NewYorkNY"]
    periods = layer["return_period"].values
    expected = return_level(
        published["loc_mm"] / 1000, published["scale_mm"] / 1000, published["shape"], periods
    )
    got = layer["still_water_level"].sel(horizon="baseline", quantile=0.5).squeeze()
    # Parameters agree to ~1e-6 (previous test); the 1000-yr level of a xi = 0.28 tail
    # amplifies that to well under a millimetre.
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_a_station_whose_shape_sits_on_its_bound_is_named(make_surge_inputs):
    """A heavy-tailed record clips the shape at 0.5: the layer says so (issue 17)."""
    maxima, stations, rise = make_surge_inputs()
    wild = maxima["station"] == "huangpu_park"
    values = np.full(int(wild.sum()), 4.0) + np.linspace(0.0, 0.05, int(wild.sum()))
    values[[3, 20]] = [9.0, 14.0]  # two storms far beyond the rest: xi > 0.5
    maxima.loc[wild, "annual_max_m"] = values
    layer = build_surge_layer(maxima, stations, rise, horizons=AR6_HORIZONS[:2])
    assert layer.attrs["shape_at_bound_stations"] == "huangpu_park"
    shape = layer["still_water_level_gev_shape"].sel(station="huangpu_park")
    assert float(abs(shape).max()) == pytest.approx(0.5)
    assert "at its bound" in layer["still_water_level"].attrs["method"]
    assert "huangpu_park" in layer.attrs["history"]
    ordinary = build_surge_layer(*make_surge_inputs(), horizons=AR6_HORIZONS[:2])
    assert ordinary.attrs["shape_at_bound_stations"] == "none"
    assert "at its bound" not in ordinary["still_water_level"].attrs["method"]
