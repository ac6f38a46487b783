"""Heat and rain layers on a 2-worker dask.distributed cluster: memory per worker as the grid grows.

Workload (issue 16, item 3): one model, ``historical`` 1995-2014 and ``ssp585`` 2021-2040 (the
AR6 baseline and near horizons), float32 tasmax, tasmin and pr drawn as in
``bench_hazards.py`` (Shanghai normals, AR(1) anomalies, heat island, gamma rain), written as
a projections store (``resilience.climate.store_write.write_projection_store``) on a SIZE x
SIZE grid and on a 2 SIZE x 2 SIZE grid (4x the cells). The store's spatial chunk is set to
``--chunk`` cells a side (default 32; real stores use 128, ``SPATIAL_CHUNK_CELLS``) so that
both grids fit a 2-core machine in a few minutes while the larger one spans 4 chunks: memory
per worker should depend on the chunk, not on the grid.

For each grid a fresh ``distributed.LocalCluster(n_workers=2, threads_per_worker=1,
processes=True, memory_limit=--memory-limit)`` on 127.0.0.1 builds both layers through
``resilience.compute.dask_scheduler`` (the ``dask_address`` path) and writes them with
``resilience.hazards.build.write_layer``. Each worker's peak resident memory
(``client.run``; ``VmHWM``, see ``_peak_mib``) is set against its resident memory after
importing the hazard code (the idle worker). Printed: wall time, peak and extra memory per
worker, the client's peak, the ratios large / small (goals: memory ~1, time ~4), and the same
layers built by dask's threaded scheduler in one process for reference.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import bench_hazards  # noqa: E402  (the data generator of the hazards benchmark)

YEARS = {"historical": range(1995, 2015), "ssp585": range(2021, 2041)}
_KIB = 1024  # ru_maxrss is in KiB on Linux


def write_store(path: Path, size: int, chunk: int) -> float:
    """Write the synthetic projections store at ``size`` x ``size`` cells; return GB of values."""
    import cftime
    import xarray as xr

    from resilience.climate import store_write

    if store_write.is_projection_store(path):  # written by an earlier run
        return 3 * 40 * 365 * size**2 * 4 / 1e9
    store_write.SPATIAL_CHUNK_CELLS = chunk  # the benchmark's scaled-down store layout
    climatology = bench_hazards._climatology()
    years = [y for run in YEARS.values() for y in run]
    shape = (1, len(YEARS), len(years) * 365, size, size)
    fields = {v: np.full(shape, np.nan, dtype=np.float32) for v in ("tasmax", "tasmin", "pr")}
    for index, year in enumerate(years):
        drawn = bench_hazards.make_year(year, size, climatology)
        scenario = 0 if year in YEARS["historical"] else 1
        days = slice(index * 365, (index + 1) * 365)
        fields["tasmax"][0, scenario, days] = drawn["tasmax"] - np.float32(273.15)
        fields["tasmin"][0, scenario, days] = drawn["tasmin"] - np.float32(273.15)
        fields["pr"][0, scenario, days] = drawn["pr"] * np.float32(86400.0)
    times = [cftime.DatetimeNoLeap(y, 1, 1) for y in years]
    time_axis = [t + np.timedelta64(d, "D").item() for t in times for d in range(365)]
    dims = ("model", "scenario", "time", "lat", "lon")
    units = {"tasmax": "degC", "tasmin": "degC", "pr": "mm/day"}
    ds = xr.Dataset(
        {v: (dims, values, {"units": units[v]}) for v, values in fields.items()},
        coords={
            "model": ["BENCH-ESM"],
            "scenario": list(YEARS),
            "time": time_axis,
            "lat": 30.0 + 0.01 * np.arange(size),
            "lon": 120.5 + 0.01 * np.arange(size),
        },
        attrs={"synthetic": "yes"},
    )
    inputs = [store_write.InputFile(f"synthetic://bench_distributed/{size}", None)]
    store_write.write_projection_store(ds, path, inputs=inputs, request={"size": size})
    return 3 * len(years) * 365 * size**2 * 4 / 1e9


def _layers(store: Path, out: Path) -> None:
    from hazard_models.heat.layer import build_heat_layer
    from hazard_models.horizon import horizon_by_name
    from hazard_models.rain.layer import build_rain_layer
    from resilience.hazards.build import open_hazard_projections, write_layer

    horizons = (horizon_by_name("baseline"), horizon_by_name("near"))
    heat = open_hazard_projections(store, "heat")
    write_layer(build_heat_layer(heat, horizons=horizons), out / "heat.nc")
    rain = open_hazard_projections(store, "rain")
    write_layer(build_rain_layer(rain, horizons=horizons), out / "rain.nc")


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_mib() -> float:
    """Return this process's peak resident memory (MiB) since it started.

    ``VmHWM`` of /proc (Linux), not ``ru_maxrss``: a process started by fork and exec keeps
    its parent's ``ru_maxrss`` when that was larger, and the parent here holds the data it
    wrote.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / _KIB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _KIB


def _warm() -> float:
    """Import the hazard code on a worker; return its resident memory then (MiB)."""
    import hazard_models.heat.layer  # noqa: F401
    import hazard_models.rain.layer  # noqa: F401
    import resilience.climate.store  # noqa: F401

    return _rss_mib()


def run_cluster(store: Path, out: Path, memory_limit: str) -> dict:
    """Build both layers on a fresh 2-worker LocalCluster; return seconds and worker memory."""
    import distributed

    from resilience.compute import dask_scheduler

    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit=memory_limit,
    ) as cluster:
        with dask_scheduler(cluster.scheduler_address) as client:
            idle = client.run(_warm)
            start = time.perf_counter()
            _layers(store, out)
            seconds = time.perf_counter() - start
            peaks = client.run(_peak_mib)
    workers = sorted(peaks)
    return {
        "s": seconds,
        "peak_mib": [peaks[w] for w in workers],
        "idle_mib": [idle[w] for w in workers],
        "client_peak_mib": _peak_mib(),
    }


def run_threads(store: Path, out: Path) -> dict:
    """Build both layers with dask's threaded scheduler in this process (the local path)."""
    import dask

    start = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=2):
        _layers(store, out)
    return {"s": time.perf_counter() - start, "peak_mib": _peak_mib()}


def child(stage: str, store: Path, memory_limit: str) -> None:
    """Run one stage in this fresh process and print its JSON report."""
    import warnings

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as out:
        if stage == "cluster":
            report = run_cluster(store, Path(out), memory_limit)
        else:
            report = run_threads(store, Path(out))
    print(json.dumps(report))


def measure(stage: str, store: Path, memory_limit: str) -> dict:
    command = [sys.executable, __file__, "--child", stage, str(store), memory_limit]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"stage {stage} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(rows: dict, chunk: int, memory_limit: str) -> None:
    print(
        f"workload: 1 model, historical 1995-2014 + ssp585 2021-2040, tasmax/tasmin/pr "
        f"float32; store chunks 365 days x {chunk} x {chunk} cells; heat + rain layers "
        f"(baseline, near); 2 worker processes x 1 thread, memory_limit {memory_limit}"
    )
    header = (
        f"{'grid':<10}{'values GB':>10}{'cluster s':>10}{'worker peak MiB':>17}"
        f"{'worker extra MiB':>18}{'client MiB':>11}{'threads s':>10}{'threads MiB':>12}"
    )
    print(header)
    for grid, row in rows.items():
        c, t = row["cluster"], row["threads"]
        extra = [p - i for p, i in zip(c["peak_mib"], c["idle_mib"], strict=True)]
        print(
            f"{grid:<10}{row['gb']:>10.2f}{c['s']:>10.1f}"
            f"{'/'.join(f'{p:.0f}' for p in c['peak_mib']):>17}"
            f"{'/'.join(f'{e:.0f}' for e in extra):>18}{c['client_peak_mib']:>11.0f}"
            f"{t['s']:>10.1f}{t['peak_mib']:>12.0f}"
        )
    small, large = (rows[k]["cluster"] for k in rows)
    memory = max(large["peak_mib"]) / max(small["peak_mib"])
    extra_small = max(p - i for p, i in zip(small["peak_mib"], small["idle_mib"], strict=True))
    extra_large = max(p - i for p, i in zip(large["peak_mib"], large["idle_mib"], strict=True))
    seconds = large["s"] / small["s"]
    print(
        f"large / small (4x cells): worker peak {memory:.2f}x (extra over idle "
        f"{extra_large / extra_small:.2f}x), time {seconds:.2f}x; goals ~1 and ~4"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="cells a side of the small grid")
    parser.add_argument("--chunk", type=int, default=32, help="store chunk, cells a side")
    parser.add_argument("--memory-limit", default="2GiB", help="per worker")
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / ".data" / "dist")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        stage, store, memory_limit = args.child
        child(stage, Path(store), memory_limit)
        return 0
    rows = {}
    for size in (args.size, 2 * args.size):
        store = args.data / f"{size}x{size}_chunk{args.chunk}.zarr"
        gb = write_store(store, size, args.chunk)
        rows[f"{size}x{size}"] = {
            "gb": gb,
            "cluster": measure("cluster", store, args.memory_limit),
            "threads": measure("threads", store, args.memory_limit),
        }
    report(rows, args.chunk, args.memory_limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
