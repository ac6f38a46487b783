"""Tests of the yearly-kernel engine's fusion: every reduction of a block in one task."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

from hazard_models.yearly import (
    apply_year_kernel,
    count_days,
    one_task_per_block,
    shared,
    yearly_max,
    yearly_mean,
    yearly_sum,
)


def _daily(chunks: int | None) -> xr.DataArray:
    """Three noleap years x 2 x 3 cells of random values with a few gaps."""
    rng = np.random.default_rng(1)
    time = xr.date_range("2001-01-01", periods=3 * 365, freq="D", calendar="noleap")
    values = rng.normal(30.0, 4.0, (time.size, 2, 3))
    values[[5, 400, 401], 1, 2] = np.nan
    daily = xr.DataArray(values, dims=("time", "lat", "lon"), coords={"time": time})
    return daily.chunk({"time": chunks}) if chunks else daily


def _indices(daily: xr.DataArray) -> dict[str, xr.DataArray]:
    return {
        "max": yearly_max(daily),
        "sum": yearly_sum(daily),
        "mean": yearly_mean(daily),
        "hot": count_days(daily, 35.0),
        "hot_of_other": count_days(daily - 1.0, 33.0),  # a second array, same blocks
    }


def test_fused_values_equal_the_plain_calls():
    plain = _indices(_daily(None))
    fused = one_task_per_block(lambda: _indices(_daily(365)))
    for name, values in plain.items():
        assert fused[name].chunks is not None
        xr.testing.assert_identical(fused[name].compute(), values)


def test_one_task_per_block_and_array_group():
    fused = one_task_per_block(lambda: _indices(_daily(365)))
    graph = dict(xr.Dataset(fused).__dask_graph__())
    tasks = [k for k in graph if isinstance(k, tuple) and k[0].startswith("_fused_blocks")]
    # one task per block of days (3 yearly blocks x 1 cell block): five reductions of two
    # arrays with the same blocks share it
    assert len(tasks) == 3


def test_blocks_that_differ_are_not_fused_together():
    def build():
        return {"a": yearly_max(_daily(365)), "b": yearly_max(_daily(730).isel(lat=[0]))}

    fused = one_task_per_block(build)
    keys = [k for v in fused.values() for k in dict(v.__dask_graph__())]
    names = {k[0] for k in keys if isinstance(k, tuple) and k[0].startswith("_fused")}
    assert len(names) == 2
    xr.testing.assert_identical(fused["a"].compute(), yearly_max(_daily(None)))


def test_numpy_input_runs_once():
    calls = []

    def build():
        calls.append(1)
        return yearly_max(_daily(None))

    one_task_per_block(build)
    assert len(calls) == 1


def test_a_build_that_changes_between_passes_is_refused():
    state = {"n": 0}

    def changing():
        state["n"] += 1
        return yearly_max(_daily(365) if state["n"] == 1 else _daily(365) * 2.0)

    with pytest.raises(RuntimeError, match="second pass"):
        one_task_per_block(changing)


def test_plain_calls_outside_are_not_fused():
    values = yearly_max(_daily(365))
    graph = dict(values.data.__dask_graph__())
    assert not any(isinstance(k, tuple) and k[0].startswith("_fused") for k in graph)
    assert isinstance(values.data, da.Array)


def test_shared_arrays_are_made_once_per_fused_block():
    made = []

    def make(slabs):
        made.append(slabs.shape)
        return slabs.max(axis=1)

    def first(slabs):
        return shared(slabs, "max", make).astype(np.float64)

    def second(slabs):
        return 2.0 * shared(slabs, "max", make)

    def other(slabs):  # not the task's slabs object: made again, never cached
        return shared(slabs + 0.0, "max", make).astype(np.float64)

    daily = _daily(365)
    fused = one_task_per_block(
        lambda: [apply_year_kernel(daily, k) for k in (first, second, other)]
    )
    with dask.config.set(scheduler="sync"):
        values = dask.compute(*fused)
    assert len(made) == 3 * 2  # 3 blocks: one make for "first" and "second", one for "other"
    plain = [apply_year_kernel(_daily(None), k) for k in (first, second, other)]
    assert len(made) == 3 * 2 + 3  # outside a fused task nothing is shared
    for got, expected in zip(values, plain, strict=True):
        xr.testing.assert_identical(got, expected)


def test_heat_waves_and_day_counts_share_one_mask_per_fused_block(monkeypatch):
    """Count, events and longest run at 35 degC: one comparison a block, the plain values."""
    import hazard_models.yearly as yearly
    from hazard_models.heat import indices as hi

    compared = []
    original = yearly._exceeds

    def counting(slabs, *, threshold, op):
        compared.append(threshold)
        return original(slabs, threshold=threshold, op=op)

    monkeypatch.setattr(yearly, "_exceeds", counting)

    def build(daily):
        return [
            count_days(daily, 35.0),
            hi.heat_wave_events(daily, 35.0, 3),
            hi.longest_heat_wave(daily, 35.0, 3),
        ]

    fused = one_task_per_block(lambda: build(_daily(365)))
    with dask.config.set(scheduler="sync"):
        values = dask.compute(*fused)
    assert compared == [35.0] * 3  # 3 blocks, one mask each
    for got, expected in zip(values, build(_daily(None)), strict=True):
        np.testing.assert_array_equal(got.values, expected.values)
