"""Refresh reruns: a cold refresh of the bundled sample against reruns that reuse its work.

Workload: the bundled Shanghai sample (``resilience.sample.bundle.write_sample``: 2 models x
4 experiments of daily tasmax, tasmin, pr on 14 x 14 cells, the ERA5-Land reference for
QDM, tide gauges, 1,000-odd assets), refreshed as plain calls (``use_prefect = false``) in
one process, three times more after the cold run:

* **cold**: nothing stored yet: verify and scan the projections, bias-adjust them (QDM),
  build heat, rain, IDF, surge and coastal flood, compute the risk table;
* **rerun**: the same again with nothing changed (goal: under 10 % of cold);
* **inventory**: after editing one asset of the inventory (only risk is recomputed);
* **tide file**: after editing one annual maximum of the tide-gauge file (surge, coastal
  flood and risk are recomputed).

The reference figure of each row is the cold run (ratio = row / cold). Peak memory is the
process's peak RSS after each row (it only grows). ``--out DIR`` keeps the files.

Run: ``.venv/bin/python bench/bench_refresh_rerun.py``
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 0.10


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def edit_inventory(path: Path) -> None:
    """Raise one asset's protection level by 0.5 m in the inventory GeoPackage."""
    import geopandas as gpd

    assets = gpd.read_file(path)
    assets.loc[0, "protection_level_m"] = float(assets.loc[0, "protection_level_m"]) + 0.5
    assets.to_file(path, driver="GPKG")


def edit_tide_file(path: Path) -> None:
    """Raise the first annual maximum of the tide-gauge file by 0.10 m."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    station, year, value, rest = lines[1].split(",", 3)
    lines[1] = ",".join([station, year, f"{float(value) + 0.10:.2f}", rest])
    path.write_text("".join(lines), encoding="utf-8")


def main() -> None:
    """Run the four refreshes and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="keep the files here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(args.out or scratch)
        run_all(root)


def run_all(root: Path) -> None:
    """Write the sample under ``root`` and time the refreshes."""
    from flows.refresh import run_refresh
    from resilience.profile import find_profile, load_profile
    from resilience.sample.bundle import write_sample

    sample = write_sample(root / "sample").root
    profile_path = find_profile(sample)
    profile = load_profile(profile_path)
    store_root = root / "data" / "layers"
    edits = {
        "cold": lambda: None,
        "rerun": lambda: None,
        "inventory": lambda: edit_inventory(Path(profile.assets)),
        "tide file": lambda: edit_tide_file(Path(profile.tide_gauges.annual_maxima)),
    }
    rows = []
    for label, edit in edits.items():
        edit()
        start = time.perf_counter()
        result = run_refresh(profile_path, store_root, root / "out", use_prefect=False)
        elapsed = time.perf_counter() - start
        ran = [s for s, done in result.step_outcomes.items() if not done.startswith("reused")]
        rows.append((label, elapsed, _peak_mb(), ran))
    cold = rows[0][1]
    print(f"{'workload':<12} {'seconds':>8} {'cold':>8} {'ratio':>6} {'peak MB':>8}  steps run")
    for label, elapsed, peak, ran in rows:
        print(
            f"{label:<12} {elapsed:8.2f} {cold:8.2f} {elapsed / cold:6.3f} {peak:8.0f}  "
            f"{', '.join(ran) or 'none'}"
        )
    ratio = rows[1][1] / cold
    verdict = "meets" if ratio < TARGET_RATIO else "MISSES"
    print(f"rerun / cold = {ratio:.3f}: {verdict} the goal of < {TARGET_RATIO:.2f}")


if __name__ == "__main__":
    main()
