"""Pull into a projections store: throughput against a plain xarray read, and peak memory.

Workload: CF NetCDF files of daily tasmax in K on a 0-360, descending-latitude, 1-degree
global grid, noleap calendar, CMIP6 DRS names with date ranges (so every normalisation step
has work to do), written here. Two sizes run, each measurement in its own process (peak RSS
is the process's own): 1x and 4x a memory budget (``--budget-mb``, default 500 MB of input
values); the largest is about 2 GB. For each size:

* **read**: ``xr.open_mfdataset(...)["tasmax"].mean().compute()``, the read floor;
* **store**: ``pull_to_store`` of the same files (identify by name, hash every file, open,
  normalise: K -> degC, lon wrap, lat flip; assemble; write the Zarr store chunk by chunk
  into a temporary sibling and rename it into place), whole grid;
* **again**: the same pull a second time (the store is current: hashes only, nothing written);
* **store read**: ``open_projection_store(...)["tasmax"].mean().compute()``.

The pull is expected within 1.5x of the read, and its peak memory flat as the input grows 4x.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NX, NY = 360, 180  # 1 degree global grid in 0-360 longitudes
DAYS = 365
PER_FILE_MB = DAYS * NY * NX * 4 / 1e6
TARGET_RATIO = 1.5


def write_files(directory, n_files):
    """Write ``n_files`` one-year files: historical 1995-2014, then ssp585 from 2081."""
    import netCDF4

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lat = np.linspace(89.5, -89.5, NY)  # descending, as many models write it
    lon = np.arange(NX) + 0.5
    for k in range(n_files):
        year = 1995 + k % 20 if k < 20 else 2081 + (k - 20) % 20
        experiment = "historical" if k < 20 else "ssp585"
        model = f"BENCH-{k // 40}"
        name = f"tasmax_day_{model}_{experiment}_r1i1p1f1_gn_{year}0101-{year}1231.nc"
        with netCDF4.Dataset(directory / name, "w") as nc:
            nc.createDimension("time", DAYS)
            nc.createDimension("lat", NY)
            nc.createDimension("lon", NX)
            t = nc.createVariable("time", "f8", ("time",))
            t.units, t.calendar, t.axis = "days since 1850-01-01", "noleap", "T"
            t[:] = (year - 1850) * 365 + np.arange(DAYS) + 0.5
            for name_, values, std in (("lat", lat, "latitude"), ("lon", lon, "longitude")):
                v = nc.createVariable(name_, "f8", (name_,))
                v.standard_name = std
                v.units = f"degrees_{'north' if name_ == 'lat' else 'east'}"
                v[:] = values
            v = nc.createVariable("tasmax", "f4", ("time", "lat", "lon"), chunksizes=(DAYS, 45, 90))
            v.standard_name, v.units, v.cell_methods = "air_temperature", "K", "time: maximum"
            v[:] = (290 + 5 * rng.standard_normal((DAYS, NY, NX))).astype("f4")


def child(directory, out, mode):
    """Run one measurement in a fresh process so that ru_maxrss belongs to it alone."""
    import xarray as xr

    from resilience.climate.pull import catalog_from_source
    from resilience.climate.store import open_projection_store, pull_to_store

    files = sorted(Path(directory).glob("*.nc"))
    store = Path(out) / "projections.zarr"
    start = time.perf_counter()
    status = ""
    if mode == "read":
        with xr.open_mfdataset(files, combine="by_coords", use_cftime=True) as ds:
            float(ds["tasmax"].mean().compute())
    elif mode == "store-read":
        float(open_projection_store(store)["tasmax"].mean().compute())
    else:  # "store" (first pull) or "again" (the store is current)
        status = pull_to_store(
            catalog_from_source(f"{directory}/*.nc"),
            store,
            variables=["tasmax"],
            horizons=["baseline", "far"],
            cache_dir=Path(out) / "cache",
        ).status
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mb = sum(f.stat().st_size for f in files) / 1e6
    print(json.dumps({"mb": mb, "s": seconds, "peak_mib": peak, "status": status}))


def measure(directory, out, mode):
    result = subprocess.run(
        [sys.executable, __file__, "--child", str(directory), str(out), mode],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget-mb", type=float, default=500.0)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    root = Path(tempfile.mkdtemp(prefix="bench-pull-"))
    rows = []
    try:
        for factor in (1, 4):
            n = max(2, round(factor * args.budget_mb / PER_FILE_MB))
            directory, out = root / f"x{factor}", root / f"out{factor}"
            write_files(directory, n)
            row = {mode: measure(directory, out, mode) for mode in ("read", "store", "again")}
            row["store-read"] = measure(directory, out, "store-read")
            assert row["again"]["status"] == "unchanged", row["again"]
            rows.append((factor, n, row))
    finally:
        shutil.rmtree(root, ignore_errors=True)  # about 4 GB of inputs and stores
    print(f"budget {args.budget_mb:.0f} MB of input values; {PER_FILE_MB:.0f} MB per file")
    header = (
        f"{'input':>6}{'files':>6}{'MB':>7}{'read s':>8}{'store s':>9}{'store/read':>11}"
        f"{'again s':>9}{'store read s':>13}{'read MiB':>10}{'store MiB':>10}"
    )
    print(header)
    for factor, n, r in rows:
        print(
            f"{factor:>5}x{n:>6}{r['store']['mb']:>7.0f}{r['read']['s']:>8.1f}"
            f"{r['store']['s']:>9.1f}{r['store']['s'] / r['read']['s']:>11.2f}"
            f"{r['again']['s']:>9.1f}{r['store-read']['s']:>13.1f}"
            f"{r['read']['peak_mib']:>10.0f}{r['store']['peak_mib']:>10.0f}"
        )
    worst = max(r["store"]["s"] / r["read"]["s"] for _, _, r in rows)
    growth = rows[1][2]["store"]["peak_mib"] / rows[0][2]["store"]["peak_mib"]
    print(
        f"pull into store / plain read, worst: {worst:.2f}x -> "
        f"{'PASS' if worst <= TARGET_RATIO else 'FAIL'} (target {TARGET_RATIO}x)"
    )
    print(
        f"store pull peak memory growth for 4x input: {growth:.2f}x -> "
        f"{'FLAT' if growth < 1.25 else 'GROWS'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
