"""Pull-and-normalise throughput and memory, against a plain xarray read of the same files.

Workload: CF NetCDF files of daily tasmax in K on a 0-360, descending-latitude grid (so every
normalisation step has work to do), written here. Two sizes are run in separate processes:
1x and 4x a memory budget (``--budget-mb``, default 500 MB of input values); the largest
is at least 2 GB. For each: seconds and MB/s to pull (local glob), normalise (K -> degC,
lon wrap, lat flip, bbox with buffer), assemble and write NetCDF, against ``xr.open_mfdataset``
plus ``.mean().compute()`` on the same files (the read floor); and the peak RSS of the
process, which must stay flat as the input grows 4x (dask streams chunk by chunk).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NX, NY = 360, 180  # 1 degree global-ish grid in 0-360 longitudes
DAYS = 365


def write_files(directory, n_files):
    import netCDF4

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lat = np.linspace(89.5, -89.5, NY)  # descending, as many models write it
    lon = np.arange(NX) + 0.5
    for k in range(n_files):
        year = 1995 + k % 20 if k < 20 else 2081 + (k - 20) % 20
        experiment = "historical" if k < 20 else "ssp585"
        model = f"BENCH-{k // 40}"
        path = directory / f"tasmax_day_{model}_{experiment}_r1i1p1f1_gn_{year}.nc"
        with netCDF4.Dataset(path, "w") as nc:
            nc.createDimension("time", DAYS)
            nc.createDimension("lat", NY)
            nc.createDimension("lon", NX)
            t = nc.createVariable("time", "f8", ("time",))
            t.units, t.calendar, t.axis = "days since 1850-01-01", "noleap", "T"
            t[:] = (year - 1850) * 365 + np.arange(DAYS) + 0.5
            for name, values, std in (("lat", lat, "latitude"), ("lon", lon, "longitude")):
                v = nc.createVariable(name, "f8", (name,))
                v.standard_name, v.units = std, f"degrees_{'north' if name == 'lat' else 'east'}"
                v[:] = values
            v = nc.createVariable("tasmax", "f4", ("time", "lat", "lon"), chunksizes=(DAYS, 45, 90))
            v.standard_name, v.units, v.cell_methods = "air_temperature", "K", "time: maximum"
            v[:] = (290 + 5 * rng.standard_normal((DAYS, NY, NX))).astype("f4")


def child(directory, out, mode):
    """Run one measurement in a fresh process so that ru_maxrss belongs to it alone."""
    import xarray as xr

    from resilience.climate.pull import (
        catalog_from_source,
        pull_projections,
        write_projections,
    )

    files = sorted(Path(directory).glob("*.nc"))
    start = time.perf_counter()
    if mode == "read":
        with xr.open_mfdataset(files, combine="by_coords", use_cftime=True) as ds:
            float(ds["tasmax"].mean().compute())
    else:
        ds = pull_projections(
            catalog_from_source(f"{directory}/*.nc"),
            variables=["tasmax"],
            horizons=["baseline", "far"],
            cache_dir=Path(out) / "cache",
            region=(-180.0, -90.0, 179.9, 90.0),
        )
        write_projections(ds, Path(out))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"mb": sum(f.stat().st_size for f in files) / 1e6, "s": seconds, "peak_mib": peak}
        )
    )


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
    per_file_mb = DAYS * NY * NX * 4 / 1e6
    root = Path(tempfile.mkdtemp(prefix="bench-pull-"))
    rows = []
    for factor in (1, 4):
        n = max(2, round(factor * args.budget_mb / per_file_mb))
        directory = root / f"x{factor}"
        write_files(directory, n)
        read = measure(directory, root / f"read{factor}", "read")
        pulled = measure(directory, root / f"out{factor}", "pull")
        rows.append((factor, n, read, pulled))
    print(f"budget {args.budget_mb:.0f} MB of input values; {per_file_mb:.0f} MB per file")
    print(
        f"{'input':>8}{'files':>7}{'MB':>8}{'read s':>9}{'pull s':>9}{'pull/read':>11}"
        f"{'read MiB':>10}{'pull MiB':>10}"
    )
    for factor, n, read, pulled in rows:
        print(
            f"{factor:>7}x{n:>7}{pulled['mb']:>8.0f}{read['s']:>9.1f}{pulled['s']:>9.1f}"
            f"{pulled['s'] / read['s']:>11.2f}{read['peak_mib']:>10.0f}{pulled['peak_mib']:>10.0f}"
        )
    growth = rows[1][3]["peak_mib"] / rows[0][3]["peak_mib"]
    print(
        f"pull peak memory growth for 4x input: {growth:.2f}x -> "
        f"{'FLAT' if growth < 1.25 else 'GROWS'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
