import dask.array as da
import distributed  # a declared dependency: the test fails, not skips, without it
import pytest

from resilience.compute import dask_scheduler


def test_local_scheduler_when_no_address():
    with dask_scheduler(None) as client:
        assert client is None
        assert int(da.ones(10, chunks=5).sum().compute()) == 10


def test_distributed_cluster_through_settings_alone():
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with dask_scheduler(cluster.scheduler_address) as client:
            assert client is not None
            from dask.base import get_scheduler

            assert get_scheduler() == client.get  # computations go to the cluster
            with distributed.get_task_stream(client) as stream:
                assert int(da.ones(100, chunks=10).sum().compute()) == 100
            assert len(stream.data) > 0


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(OSError, match=r"tcp://127.0.0.1:1 within 0.5 s \(settings dask_address\)"):
        with dask_scheduler("tcp://127.0.0.1:1", timeout_s=0.5):
            pass
