"""Tests of the heat indices and the heat HazardLayer builder."""

from __future__ import annotations

import dask
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hazard_models.extremes.gev import return_level
from hazard_models.extremes.gev_fit import fit_gev
from hazard_models.heat.indices import tx_days_above as days_above
from hazard_models.heat.indices import tx_max as annual_max
from hazard_models.heat.layer import build_heat_layer
from hazard_models.horizon import AR6_HORIZONS, Horizon
from hazard_models.layer import SchemaError, validate_hazard_layer

#: Indicators from tasmax alone (the factory has no tasmin); D2 and D17 in docs/decisions.md.
INDICATORS = (
    "txx",
    "tx_days_above_35",
    "tx_days_above_37",
    "tx_days_above_40",
    "hot_spell_frequency",
    "hot_spell_max_length",
)
GEV = {"txx_gev_loc", "txx_gev_scale", "txx_gev_shape"}
D2_VARIABLES = {
    *GEV,
    *INDICATORS,
    *(f"{n}_change" for n in INDICATORS),
    *(f"{n}_robustness" for n in INDICATORS),
}


def _raising_scheduler(*args, **kwargs):
    raise AssertionError("a dask computation ran while building the layer")


def _tiny_tasmax(calendar: str) -> xr.DataArray:
    """Two years (2004 is leap in the standard calendar) of 30 degC, a few hot days, one gap."""
    time = xr.date_range(
        "2003-01-01", periods=730 if calendar == "noleap" else 731, freq="D", calendar=calendar
    )
    values = np.full(time.size, 30.0)
    values[[10, 11, 200]] = [35.0, 34.9, 38.5]  # year 1: two days >= 35, maximum 38.5
    values[[400, 500]] = [36.0, 41.0]  # year 2: two days >= 35, maximum 41
    values[450] = np.nan  # a missing day neither counts nor breaks the maximum
    return xr.DataArray(values, dims="time", coords={"time": time}, attrs={"units": "degC"})


@pytest.mark.parametrize("calendar", ["noleap", "standard"])
def test_indices_by_hand(calendar):
    tasmax = _tiny_tasmax(calendar)
    hot = days_above(tasmax)
    assert hot.attrs["units"] == "days" and hot["year"].values.tolist() == [2003, 2004]
    assert hot.values.tolist() == [2.0, 2.0]
    assert days_above(tasmax, 34.9).values.tolist() == [3.0, 2.0]
    tx = annual_max(tasmax)
    assert tx.values.tolist() == [38.5, 41.0] and tx.attrs["units"] == "degC"
    assert "tx_max" in tx.attrs["history"]


def test_year_without_data_is_nan():
    tasmax = _tiny_tasmax("noleap")
    tasmax[365:] = np.nan
    assert np.isnan(annual_max(tasmax).values[1]) and np.isnan(days_above(tasmax).values[1])


@pytest.fixture(scope="module")
def heat_layer(projections):
    return build_heat_layer(projections, inputs_sha256="abc", code_version="test")


def test_layer_follows_the_contract(heat_layer):
    assert validate_hazard_layer(heat_layer) is heat_layer
    assert set(heat_layer.data_vars) == D2_VARIABLES
    assert heat_layer["txx"].dims == (
        "scenario",
        "horizon",
        "return_period",
        "quantile",
        "lat",
        "lon",
    )
    assert heat_layer["tx_days_above_35"].dims == ("scenario", "horizon", "quantile", "lat", "lon")
    assert heat_layer["txx_gev_shape"].dims == ("scenario", "horizon", "lat", "lon")
    assert heat_layer["scenario"].values.tolist() == ["ssp126", "ssp585"]
    assert heat_layer["horizon"].values.tolist() == ["baseline", "near", "mid", "far"]
    assert heat_layer["start"].values.tolist() == [1995, 2021, 2041, 2081]
    assert heat_layer["quantile"].values.tolist() == [0.1, 0.5, 0.9]
    units = {name: var.attrs["units"] for name, var in heat_layer.data_vars.items()}
    assert {k: units[k] for k in ("tx_days_above_35", "txx", "txx_change", "txx_gev_shape")} == {
        "tx_days_above_35": "days",
        "txx": "degC",
        "txx_change": "K",
        "txx_gev_shape": "1",
    }
    assert units["txx_robustness"] == "1" and units["hot_spell_max_length"] == "days"
    # heat waves are a rate (events per year), not a bare count "1" (issue 19)
    assert units["hot_spell_frequency"] == units["hot_spell_frequency_change"] == "yr-1"
    assert heat_layer["txx_change"].dims == heat_layer["txx"].dims
    assert heat_layer["txx_robustness"].dims == (
        "scenario",
        "horizon",
        "return_period",
        "lat",
        "lon",
    )
    assert "Hosking" in heat_layer["txx"].attrs["method"]
    assert heat_layer.attrs["hazard"] == "heat" and heat_layer.attrs["inputs_sha256"] == "abc"
    assert "build_heat_layer" in heat_layer.attrs["history"]
    assert np.isfinite(heat_layer["txx"]).all()


def test_baseline_is_identical_under_every_scenario(heat_layer):
    base = heat_layer.sel(horizon="baseline")
    for name in D2_VARIABLES:
        xr.testing.assert_identical(
            base[name].sel(scenario="ssp126", drop=True),
            base[name].sel(scenario="ssp585", drop=True),
        )


def test_warming_shows_up(heat_layer):
    txx = heat_layer["txx"].sel(quantile=0.5, return_period=20)
    # The factory warms ssp585 by 0.05 degC/yr after 2014: ~3.8 degC at the far mid year 2090.5.
    # Return levels from 20-year samples scatter by ~0.5 degC, so require 2.5 degC.
    warming = txx.sel(scenario="ssp585", horizon="far") - txx.sel(
        scenario="ssp585", horizon="baseline"
    )
    assert (warming > 2.5).all()
    assert (
        txx.sel(scenario="ssp585", horizon="far") > txx.sel(scenario="ssp126", horizon="far")
    ).all()
    days = heat_layer["tx_days_above_35"].sel(quantile=0.5)
    assert (days.sel(scenario="ssp585", horizon="far") > days.sel(horizon="baseline")).all()


def test_values_match_direct_computation(projections):
    """Recompute one cell of the far ssp585 horizon with numpy only (per-cell shapes)."""
    heat_layer = build_heat_layer(projections, shape_pooling="site")
    cell = projections["tasmax"].sel(scenario="ssp585").isel(lat=1, lon=2)
    years = cell["time"].dt.year
    far = cell.where((years >= 2081) & (years <= 2100), drop=True)
    maxima = np.stack(
        [far.sel(model=m).groupby("time.year").max().values for m in cell["model"].values]
    )
    per_model = fit_gev(maxima)
    levels = return_level(per_model["loc"], per_model["scale"], per_model["shape"], 50.0)
    layer_cell = heat_layer.sel(scenario="ssp585", horizon="far").isel(lat=1, lon=2)
    # Two models: the median is their mean (linear quantile interpolation); 1e-9 for float32 input.
    assert float(layer_cell["txx"].sel(return_period=50, quantile=0.5)) == pytest.approx(
        levels.mean(), rel=1e-9
    )
    pooled = fit_gev(maxima.reshape(-1))
    assert float(layer_cell["txx_gev_shape"]) == pytest.approx(pooled["shape"], rel=1e-9)
    counts = [
        (far.sel(model=m) >= 35).groupby("time.year").sum().mean() for m in cell["model"].values
    ]
    assert float(layer_cell["tx_days_above_35"].sel(quantile=0.9)) == pytest.approx(
        np.quantile([float(c) for c in counts], 0.9), rel=1e-12
    )


def test_regional_shape_is_shared_over_the_grid(heat_layer):
    shape = heat_layer["txx_gev_shape"]
    spread = shape.max(["lat", "lon"]) - shape.min(["lat", "lon"])
    assert float(spread.max()) < 1e-12
    assert "regional L-moment" in heat_layer["txx"].attrs["method"]


def test_lazy_until_computed(projections, heat_layer):
    chunked = projections.chunk({"time": 3650, "lat": 1})
    with dask.config.set(scheduler=_raising_scheduler):
        lazy = build_heat_layer(chunked, inputs_sha256="abc", code_version="test")
    assert all(var.chunks is not None for var in lazy.data_vars.values())
    with dask.config.set(scheduler="synchronous"):
        computed = lazy.compute()
    xr.testing.assert_allclose(computed, heat_layer)
    validate_hazard_layer(computed)


def test_options(projections):
    horizons = (AR6_HORIZONS[0], Horizon("late", 2071, 2090))
    layer = build_heat_layer(
        projections,
        horizons=horizons,
        scenarios=["ssp585"],
        return_periods=[5, 200],
        quantiles=[0.5],
    )
    assert layer["horizon"].values.tolist() == ["baseline", "late"]
    assert layer["end"].values.tolist() == [2014, 2090]
    assert layer["return_period"].values.tolist() == [5.0, 200.0]
    assert layer.sizes["quantile"] == 1 and layer["scenario"].values.tolist() == ["ssp585"]


def test_errors_name_the_problem(projections):
    with pytest.raises(SchemaError, match="expected variable 'tasmax'"):
        build_heat_layer(projections[["pr"]])
    kelvin = projections.assign(tasmax=projections["tasmax"].assign_attrs(units="K"))
    with pytest.raises(SchemaError, match="expected units 'degC', found 'K'"):
        build_heat_layer(kelvin)
    with pytest.raises(SchemaError, match=r"horizon 'baseline' needs scenarios \['historical'\]"):
        build_heat_layer(projections.sel(scenario=["ssp126", "ssp585"]))
    with pytest.raises(SchemaError, match="expected \\['ssp245'\\] in the data"):
        build_heat_layer(projections, scenarios=["ssp245"])
    short = projections.sel(time=projections["time"].dt.year <= 2060)
    with pytest.raises(SchemaError, match="expected years 2081-2100 for horizon 'far'"):
        build_heat_layer(short)
    with pytest.raises(SchemaError, match="expected dims"):
        build_heat_layer(projections.transpose("time", ...))


def test_standard_calendar_input(make_projections):
    """numpy datetime64 time (standard calendar) gives the same kind of layer."""
    small = make_projections(first_year=1995, last_year=2060, n_lat=1, n_lon=2, seed=3)
    time = pd.date_range("1995-01-01", periods=small.sizes["time"], freq="D")
    layer = build_heat_layer(small.assign_coords(time=time), horizons=AR6_HORIZONS[:2])
    assert np.isfinite(layer["txx"]).all()


def test_each_block_of_daily_data_feeds_one_task(projections):
    """All indicators of a block are computed in one task (docs/scaling.md, memory).

    With one task per indicator a block of daily data waited in memory for the last of
    about ten. The slices and views that carry a block (``getitem``, ``transpose``) lead to
    the fused year-kernel task and, for tasmax and tasmin, to the elementwise daily mean.
    """
    from dask.core import get_deps

    daily = projections.assign(tasmin=projections["tasmax"] - 8.0)
    daily["tasmin"].attrs = projections["tasmax"].attrs
    chunked = daily.chunk({"time": 730, "lat": 1})
    lazy = build_heat_layer(chunked, horizons=AR6_HORIZONS[:2])
    graph = dict(lazy.__dask_graph__())
    _, dependents = get_deps(graph)

    def name(key):
        return (key[0] if isinstance(key, tuple) else key).rsplit("-", 1)[0]

    inputs = {chunked[v].data.name.rsplit("-", 1)[0] for v in ("tasmax", "tasmin")}
    per_block = {}  # input block -> names of the tasks that compute from it
    for block in (k for k in graph if name(k) in inputs):
        carriers, seen, consumers = [block], {block}, []
        while carriers:
            for dep in dependents[carriers.pop()]:
                if name(dep) not in ("getitem", "transpose"):
                    consumers.append(name(dep))
                elif dep not in seen:
                    seen.add(dep)
                    carriers.append(dep)
        if consumers:  # blocks outside the two horizons feed nothing
            per_block[block] = consumers
    assert per_block, "no task reads the daily data"
    found = {tuple(sorted(c)) for c in per_block.values()}
    assert found <= {("_fused_blocks",), ("_fused_blocks", "add")}, found
