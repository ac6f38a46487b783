"""Hazard layers built on a dask.distributed cluster equal the local ones (issue 16, item 3).

The small projections store of ``conftest.py`` (2 models, historical + ssp245, 3 x 4 cells,
daily tasmax, tasmin and pr over a 10-year baseline and a 10-year future horizon) feeds the
heat and rain layers as the refresh builds them (open the store, ``build_heat_layer`` /
``build_rain_layer``, ``write_layer``) twice: with dask's single-threaded scheduler, and
through ``resilience.compute.dask_scheduler(address)`` (the ``Settings.dask_address`` path of
the CLI and the refresh) on a LocalCluster of two worker processes on 127.0.0.1. Worker
processes pickle every task and its inputs, so anything that cannot cross a process boundary
(closures, open file handles) fails here and not in the local run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

from hazard_models.heat.layer import build_heat_layer
from hazard_models.rain.layer import build_rain_layer
from resilience.compute import dask_scheduler
from resilience.hazards.build import open_hazard_projections, write_layer

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as local_cluster:
        yield local_cluster


def _layer(kind: str, store: Path, horizons: tuple) -> xr.Dataset:
    """Open the store and build the lazy layer, as ``flows.steps.build_heat|build_rain`` do."""
    projections = open_hazard_projections(store, kind)  # type: ignore[arg-type]
    builder = build_heat_layer if kind == "heat" else build_rain_layer
    return builder(projections, horizons=horizons, scenarios=["ssp245"])


@pytest.mark.parametrize("kind", ["heat", "rain"])
def test_layers_built_on_a_cluster_equal_the_local_ones(
    kind, projection_store, horizons, cluster, tmp_path
):
    write_layer(_layer(kind, projection_store, horizons), tmp_path / "local.nc")
    local = xr.load_dataset(tmp_path / "local.nc")
    with dask_scheduler(cluster.scheduler_address) as client:
        with distributed.get_task_stream(client) as building:
            layer = _layer(kind, projection_store, horizons)
        with distributed.get_task_stream(client) as writing:
            write_layer(layer, tmp_path / "cluster.nc")
    remote = xr.load_dataset(tmp_path / "cluster.nc")
    assert building.data == []  # building stays lazy: nothing runs before the write
    workers = {task["worker"] for task in writing.data}
    assert len(writing.data) > 100 and len(workers) == 2  # the work ran on both workers
    # ... and no worker wrote to the NetCDF file (a lazy ``to_netcdf`` runs "store-map" tasks)
    assert not [t["key"] for t in writing.data if "store-map" in str(t["key"])]
    # Same numpy kernels on the same blocks; only dask's tree reductions over cells (the
    # regional GEV pooling) may group sums differently on a cluster, hence 1e-12.
    xr.testing.assert_allclose(local, remote, rtol=1e-12, atol=0)
    assert sorted(local.data_vars) == sorted(remote.data_vars)
    assert local.attrs == remote.attrs  # a layer's global attributes hold no timestamp
    for name in local.data_vars:
        assert local[name].attrs == remote[name].attrs, name
