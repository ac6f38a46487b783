"""Tests of the future IDF layer and the drainage check, against the formula by hand."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hazard_models.horizon import AR6_HORIZONS
from hazard_models.layer import SchemaError, horizon_coords, validate_hazard_layer
from hazard_models.rain.idf import SHANGHAI_DB31_T1043, StormFormula, effective_return_period
from hazard_models.rain.idf_layer import (
    DRAINAGE_STANDARDS,
    IDF_DURATIONS_MIN,
    IDF_RETURN_PERIODS,
    build_idf_layer,
    drainage_check,
    drainage_standard,
    idf_uplift,
)

SCENARIOS = ["ssp126", "ssp585"]
HORIZONS = [h.name for h in AR6_HORIZONS]


def _field(
    values: np.ndarray, name: str, units: str, dims: tuple[str, ...], **coords
) -> xr.Dataset:
    base = {
        "scenario": SCENARIOS,
        "quantile": [0.1, 0.5, 0.9],
        "lat": [31.0, 31.2],
        "lon": [121.0, 121.3, 121.6],
        **coords,
    }
    da = xr.DataArray(values, dims=dims, coords={d: base[d] for d in dims if d in base})
    ds = xr.Dataset({name: da.assign_attrs(units=units, long_name=name, method="test")})
    return ds.assign_coords(horizon_coords(AR6_HORIZONS))


def _heat_layer(warming_k: float) -> xr.Dataset:
    """tg_mean_change: 0 in the baseline, ``warming_k`` x (0.5, 1, 1.5) by horizon."""
    per_horizon = np.array([0.0, 0.5, 1.0, 1.5]) * warming_k
    values = np.broadcast_to(per_horizon[None, :, None, None, None], (2, 4, 3, 2, 3)).copy()
    return _field(values, "tg_mean_change", "K", ("scenario", "horizon", "quantile", "lat", "lon"))


def _rain_layer(change_pct: tuple[float, float]) -> xr.Dataset:
    """rx1day_change: linear in log10(P) from change_pct[0] at 2 yr to change_pct[1] at 100 yr."""
    periods = np.array([2.0, 10.0, 100.0])
    pct = np.interp(np.log10(periods), [np.log10(2), 2.0], change_pct)
    per_horizon = np.array([0.0, 0.5, 1.0, 1.5])
    values = per_horizon[None, :, None] * pct[None, None, :]
    values = np.broadcast_to(values[:, :, :, None, None, None], (2, 4, 3, 3, 2, 3)).copy()
    dims = ("scenario", "horizon", "return_period", "quantile", "lat", "lon")
    return _field(values, "rx1day_change", "%", dims, return_period=periods)


def _finish(layer: xr.Dataset) -> xr.Dataset:
    return layer.assign_attrs(hazard="x", layer_version="1", inputs_sha256="", code_version="")


def test_clausius_clapeyron_layer_matches_the_formula_by_hand():
    layer = build_idf_layer(heat_layer=_heat_layer(2.0), method="clausius_clapeyron")
    validate_hazard_layer(layer)
    assert layer["idf_intensity"].dims == (
        "scenario",
        "horizon",
        "return_period",
        "duration",
        "quantile",
        "lat",
        "lon",
    )
    assert layer["return_period"].values.tolist() == list(IDF_RETURN_PERIODS)
    assert layer["duration"].values.tolist() == list(IDF_DURATIONS_MIN)
    cell = layer["idf_intensity"].isel(scenario=1, quantile=1, lat=0, lon=0)
    for period, minutes in [(1, 5), (3, 60), (5, 120), (50, 1440), (100, 30)]:
        # DB31/T 1043-2017 by hand: q = 1600 (1 + 0.846 lg P) / (t + 7)^0.656 L/(s ha), / 166.7
        # to mm/min, x 60 to mm/h.
        by_hand = 1600 * (1 + 0.846 * np.log10(period)) / (minutes + 7) ** 0.656 / 166.7 * 60
        base = float(cell.sel(horizon="baseline", return_period=period, duration=minutes))
        assert base == pytest.approx(by_hand, rel=1e-12)
        far = float(cell.sel(horizon="far", return_period=period, duration=minutes))
        assert far == pytest.approx(by_hand * 1.07**3.0, rel=1e-12)  # 1.5 x 2 K in the far


def test_daily_change_uplift_interpolates_in_log_period_and_clamps():
    rain = _finish(_rain_layer((10.0, 20.0)))
    uplift = idf_uplift("daily_change", [1, 2, np.sqrt(2 * 100), 100, 200], rain_layer=rain)
    far = uplift.sel(scenario="ssp585", horizon="far", quantile=0.5).isel(lat=0, lon=0)
    # Far = 1.5 x the change: 15 % at 2 yr, 30 % at 100 yr, 22.5 % half-way in log P; constant
    # beyond the ends (1 yr -> 2 yr value, 200 yr -> 100 yr value).
    np.testing.assert_allclose(far.values, [1.15, 1.15, 1.225, 1.30, 1.30], rtol=1e-12)
    base = uplift.sel(horizon="baseline")
    assert (base == 1.0).all()


def test_missing_source_variable_is_named():
    with pytest.raises(SchemaError, match="expected variable 'rx1day_change'"):
        build_idf_layer(_heat_layer(1.0), method="daily_change")
    with pytest.raises(SchemaError, match="expected variable 'tg_mean_change'"):
        build_idf_layer(None, None, method="clausius_clapeyron")
    with pytest.raises(ValueError, match="expected 'daily_change' or 'clausius_clapeyron'"):
        idf_uplift("doubling", [2.0])  # type: ignore[arg-type]


def test_drainage_check_matches_the_closed_form_for_uniform_uplift():
    layer = build_idf_layer(heat_layer=_heat_layer(2.0), method="clausius_clapeyron")
    for design in (3.0, 5.0, 30.0, 100.0):
        effective = drainage_check(layer, design, lat=31.0, lon=121.0)
        assert effective.dims == ("scenario", "horizon", "quantile")
        factor = 1.07 ** (np.array([0.0, 0.5, 1.0, 1.5]) * 2.0)
        expected = effective_return_period(design, factor, SHANGHAI_DB31_T1043)
        # 2401-point grid over 6 decades: linear interpolation in log P on the capacity curve.
        np.testing.assert_allclose(
            effective.sel(scenario="ssp585", quantile=0.5).values, expected, rtol=1e-4
        )
    assert float(drainage_check(layer, 5.0, lat=31, lon=121).sel(horizon="baseline").max()) == (
        pytest.approx(5.0, rel=1e-6)
    )


def test_drainage_check_with_period_dependent_uplift():
    """u(P) grows with P: solve (1 + C lg P*) u(P*) = 1 + C lg P_d by bisection as a check."""
    rain = _finish(_rain_layer((10.0, 30.0)))
    layer = build_idf_layer(rain, method="daily_change")
    got = float(
        drainage_check(layer, 5.0, lat=31.0, lon=121.0).sel(
            scenario="ssp585", horizon="far", quantile=0.5
        )
    )
    c = SHANGHAI_DB31_T1043.c

    def u(p: float) -> float:
        x = np.clip(np.log10(p), np.log10(2), 2.0)
        return 1 + 1.5 * np.interp(x, [np.log10(2), 2.0], [10.0, 30.0]) / 100

    low, high = 0.01, 5.0
    for _ in range(80):
        mid = np.sqrt(low * high)
        if (1 + c * np.log10(mid)) * u(mid) < 1 + c * np.log10(5.0):
            low = mid
        else:
            high = mid
    assert got == pytest.approx(low, rel=1e-3)
    assert got < 5.0


def test_drainage_standards_and_formula_options():
    # domain.md 2.3: pipes 3-5 yr, underpasses >= 30 yr, waterlogging prevention 50-100 yr.
    assert set(DRAINAGE_STANDARDS) == {"pipe", "underpass", "waterlogging"}
    assert drainage_standard(2.0) is None
    assert drainage_standard(3.0) == ("pipe", 3.0) and drainage_standard(5.0) == ("pipe", 3.0)
    assert drainage_standard(30.0) == ("underpass", 30.0)
    assert drainage_standard(100.0) == ("waterlogging", 50.0)
    steeper = StormFormula(a1=1600.0, c=0.846, b=7.0, n=0.630, peak_ratio=0.405)
    layer = build_idf_layer(
        heat_layer=_heat_layer(1.0), method="clausius_clapeyron", formula=steeper
    )
    value = float(
        layer["idf_intensity"]
        .sel(horizon="baseline", return_period=2, duration=60)
        .isel(scenario=0, quantile=0, lat=0, lon=0)
    )
    assert value == pytest.approx(1600 * (1 + 0.846 * np.log10(2)) / 67**0.630 / 166.7 * 60)
    assert "UNCONFIRMED" in layer["idf_intensity"].attrs["method"]
