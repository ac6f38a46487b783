"""Wall time and peak memory of each demo step, against the 3-minute target of the demo.

Runs the demo's steps as plain calls (settings ``use_prefect = false``) into a temporary
directory, then the same demo under Prefect's local mode, in this one run. Prints per step:
seconds, share of the total and peak resident memory of this process so far. The reference
is the issue's target (the demo, after the install, finishes in under 3 minutes on 2 cores)
and the time to read every input file once with plain netCDF4 (the I/O floor).
"""

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bench-prefect-"))

TARGET_S = 180.0


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_floor_s(directory):
    """Seconds to read every projection file's data once with netCDF4 (no xarray)."""
    import netCDF4

    start = time.perf_counter()
    for path in sorted(Path(directory).glob("*.nc")):
        with netCDF4.Dataset(path) as nc:
            for name in ("tasmax", "tasmin", "pr"):
                if name in nc.variables:
                    nc.variables[name][:]
    return time.perf_counter() - start


def main():
    from flows import coast_steps, projection_steps, steps
    from resilience.profile import find_profile, load_profile
    from resilience.storage.database import make_engine  # noqa: F401 - import cost counted once here

    out = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    store, db = out / "data" / "layers", f"sqlite:///{out / 'data' / 'resilience.db'}"
    timings = []

    def timed(label, func, *args):
        start = time.perf_counter()
        value = func(*args)
        timings.append((label, time.perf_counter() - start, peak_mib()))
        return value

    sample = Path(timed("write sample", steps.write_sample, out / "sample"))
    profile = load_profile(find_profile(sample))
    floor = read_floor_s(sample / "projections")
    work, cache = out / "data" / "projections" / "sample", out / "data" / "cache"
    ref = timed("pull projections", projection_steps.pull_projections, profile, work, cache)
    ref = timed("QDM vs ERA5-Land", projection_steps.adjust_projections, ref, profile, work)
    timed("heat layer", steps.build_heat, ref, store, profile)
    timed("rain layer", steps.build_rain, ref, store, profile)
    timed("surge layer", coast_steps.build_surge, profile, store)
    timed("risk table", steps.assess_risk, store, profile.assets, out / "risk", 2025)
    timed(
        "feasibility check",
        steps.check_feasibility,
        sample / "submissions" / "bund_metro_station.json",
        store,
        out / "reports",
        db,
        0.10,
    )
    timed(
        "warnings (CAP)",
        steps.issue_warnings,
        sample / "forecast" / "forecast_72h.nc",
        profile.districts,
        out / "cap",
        db,
        profile.warning_rules,
    )
    timed("observed comparisons", steps.compare_observed, store)
    plain = sum(t for _, t, _ in timings)

    from flows.demo import run_demo

    start = time.perf_counter()
    run_demo(out / "prefect", database_url=f"sqlite:///{out / 'prefect.db'}", use_prefect=True)
    with_prefect = time.perf_counter() - start

    print(f"{'step':<22}{'seconds':>9}{'share':>8}{'peak MiB':>10}")
    for label, seconds, mib in timings:
        print(f"{label:<22}{seconds:>9.2f}{seconds / plain:>8.0%}{mib:>10.0f}")
    print(f"{'total, plain calls':<22}{plain:>9.2f}")
    print(f"{'total, under Prefect':<22}{with_prefect:>9.2f}   (includes the local server start)")
    print(
        f"read floor: netCDF4 reads all projection data once in {floor:.2f} s; "
        f"heat+rain layers / floor = {(timings[3][1] + timings[4][1]) / floor:.2f}"
    )
    print(
        f"target {TARGET_S:.0f} s: Prefect demo / target = {with_prefect / TARGET_S:.2f} -> "
        f"{'PASS' if with_prefect < TARGET_S else 'FAIL'}"
    )
    return 0 if with_prefect < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
