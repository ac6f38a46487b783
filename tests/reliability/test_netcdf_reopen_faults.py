"""Issue 13 item 15: no process reopens a NetCDF file it holds open (netCDF4 1.7.5 SIGSEGV).

netCDF4 1.7.5 crashes the interpreter when a process opens a file again while an earlier
handle on it is alive (Unidata/netcdf4-python#1444, pydata/xarray#8289). The engine's two
readers of projection files, the fast per-file reader (netCDF4, opened and closed per
chunk) and xarray's (a cached handle), meet in one long-running process when a refresh, a
pull and a hazards command run in one worker. This runs them interleaved in a fresh
process and requires a clean exit: a segfault is exit code -11, not an exception.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from resilience.sample.projections import write_sample_projections

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import xarray as xr
    from resilience.climate.projections import open_projections
    from resilience.climate.pull import open_projection_files

    folder = Path(sys.argv[1])
    held = [xr.open_dataset(p) for p in sorted(folder.glob("*.nc"))]  # handles kept alive
    for _ in range(3):
        fast = open_projections(folder, variables=("tasmax",))
        float(fast["tasmax"].mean())
        generic = open_projection_files(folder, variables=("tasmax",))
        float(generic["tasmax"].mean())
        for ds in held:
            float(ds["tasmax"].mean())
    print("ok")
    """
)


@pytest.mark.fault("13.15", "a worker reopening projection files it holds open (SIGSEGV)")
def test_interleaved_readers_do_not_crash_the_process(tmp_path):
    write_sample_projections(
        tmp_path,
        models=("SYNTH-ESM-A",),
        variables=("tasmax",),
        experiments={"historical": (1995, 1996)},
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert result.stdout.strip().endswith("ok")
