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


def test_freed_memory_goes_back_to_the_system_after_a_threaded_compute():
    import ctypes.util
    import threading

    from resilience.compute import release_memory

    if "libc.so.6" not in (ctypes.util.find_library("c") or ""):
        pytest.skip("not glibc: release_memory is a no-op there")

    def rss_mib() -> float:
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    kept = []

    def churn() -> None:  # a thread's arena: 250 MiB freed below one live block
        blocks = [bytearray(64 * 1024) for _ in range(4000)]
        kept.append(blocks[-1])  # free() cannot trim the arena under a live top block
        del blocks

    before = rss_mib()
    worker = threading.Thread(target=churn)
    worker.start()
    worker.join()
    held = rss_mib() - before
    assert held > 200  # what the refresh's steps left behind (the test shows something)
    assert release_memory() is True
    assert rss_mib() - before < 50  # returned to the system
