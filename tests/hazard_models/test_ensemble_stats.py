"""Tests of the per-horizon ensemble statistics: quantiles, change and robustness by hand."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr

from hazard_models.ensemble_stats import Indicator, summarise_indicators
from hazard_models.horizon import AR6_HORIZONS, Horizon
from hazard_models.horizon_stats import HorizonRequest, reduce_by_year

BASELINE, FAR = AR6_HORIZONS[0], AR6_HORIZONS[3]
#: Per-model constant values: baseline (historical) and far (ssp585).
BASE_VALUES = [20.0, 21.0, 22.0]
FAR_VALUES = [21.0, 20.0, 25.0]


def _projections() -> xr.Dataset:
    """Three models, one value per model and period, on a 1 x 2 grid (noleap days)."""
    time = xr.date_range("1995-01-01", "2100-12-31", freq="D", calendar="noleap", use_cftime=True)
    years = np.asarray(time.year)
    data = np.full((3, 2, time.size, 1, 2), np.nan)
    for m in range(3):
        data[m, 0, years <= 2014] = BASE_VALUES[m]
        data[m, 1, years >= 2015] = FAR_VALUES[m]
    return xr.Dataset(
        {"x": (("model", "scenario", "time", "lat", "lon"), data, {"units": "1"})},
        coords={
            "model": ["a", "b", "c"],
            "scenario": ["historical", "ssp585"],
            "time": time,
            "lat": [31.0],
            "lon": [121.0, 121.5],
        },
    )


def _mean_indicator(change: str) -> Indicator:
    return Indicator(
        name="x_mean",
        compute=lambda d: reduce_by_year(d["x"], "sum") / 365.0,
        units="1",
        long_name="mean of x",
        method="test",
        change=change,  # type: ignore[arg-type]
    )


def _request(**kwargs) -> HorizonRequest:
    options = {
        "horizons": (BASELINE, FAR),
        "scenarios": ("ssp585",),
        "return_periods": (10.0,),
        "quantiles": (0.5,),
    }
    return HorizonRequest(**{**options, **kwargs})


def test_absolute_change_and_robustness_by_hand():
    stats = summarise_indicators(_projections(), [_mean_indicator("absolute")], request=_request())
    far = {k: v.sel(scenario="ssp585", horizon="far").isel(lat=0, lon=0) for k, v in stats.items()}
    # Per-model changes +1, -1, +3: median +1 (not median(far) - median(base) = 21 - 21 = 0).
    assert float(far["x_mean"].sel(quantile=0.5)) == pytest.approx(21.0)
    assert float(far["x_mean_change"].sel(quantile=0.5)) == pytest.approx(1.0)
    # Two of three models rise.
    assert float(far["x_mean_robustness"]) == pytest.approx(2 / 3)
    base = stats["x_mean_change"].sel(horizon="baseline")
    assert (base == 0).all() and stats["x_mean_robustness"].sel(horizon="baseline").isnull().all()
    assert stats["x_mean_change"].attrs["units"] == "1"
    assert "model agreement" in stats["x_mean_robustness"].attrs["long_name"]


def test_relative_change_by_hand():
    stats = summarise_indicators(_projections(), [_mean_indicator("relative")], request=_request())
    change = stats["x_mean_change"].sel(scenario="ssp585", horizon="far", quantile=0.5)
    # 100 (21/20 - 1) = 5 %, 100 (20/21 - 1) = -4.76 %, 100 (25/22 - 1) = 13.6 %: median 5 %.
    np.testing.assert_allclose(change.values, 5.0, rtol=1e-12)
    assert stats["x_mean_change"].attrs["units"] == "%"


def test_unanimous_change_is_fully_robust():
    ds = _projections()
    ds["x"] = ds["x"].where(ds["scenario"] == "historical", ds["x"] + 10.0)
    stats = summarise_indicators(ds, [_mean_indicator("absolute")], request=_request())
    assert (stats["x_mean_robustness"].sel(horizon="far") == 1.0).all()


def test_without_baseline_no_change_is_reported():
    request = _request(horizons=(FAR,))
    stats = summarise_indicators(_projections(), [_mean_indicator("absolute")], request=request)
    assert set(stats) == {"x_mean"}


def test_dask_input_gives_the_same_numbers():
    ds = _projections()
    eager = summarise_indicators(ds, [_mean_indicator("relative")], request=_request())
    with dask.config.set(scheduler="synchronous"):
        lazy = summarise_indicators(
            ds.chunk({"time": 365}), [_mean_indicator("relative")], request=_request()
        )
        assert all(v.chunks is not None for v in lazy.values())
        for name, value in lazy.items():
            xr.testing.assert_allclose(value.compute(), eager[name])


def test_horizon_outside_the_data_is_named():
    from hazard_models.layer import SchemaError

    with pytest.raises(SchemaError, match="expected years 2101-2120"):
        summarise_indicators(
            _projections(),
            [_mean_indicator("absolute")],
            request=_request(horizons=(BASELINE, Horizon("late", 2101, 2120))),
        )


@pytest.mark.parametrize("n_models", [1, 2, 3, 7, 20])
def test_vectorised_quantiles_match_numpy(n_models):
    """The vectorised NaN-skipping quantile equals numpy.nanquantile (type 7) exactly."""
    import warnings

    from hazard_models.ensemble_stats import _nanquantile_last

    rng = np.random.default_rng(n_models)
    values = rng.normal(size=(4, 50, n_models))
    values[rng.random(values.shape) < 0.3] = np.nan
    values[0, 0] = np.nan  # one all-NaN slice
    quantiles = [0.0, 0.1, 0.5, 0.9, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.moveaxis(np.nanquantile(values, quantiles, axis=-1), 0, -1)
    np.testing.assert_allclose(_nanquantile_last(values, quantiles), expected, rtol=1e-12)
