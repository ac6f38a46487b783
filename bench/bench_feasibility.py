"""Benchmark warm feasibility checks: 200 checks of the example submission in one process.

Two paths in the same run, against the same layer store:

- uncached (before, issue 14 item 6): every check opens all the store's layers with
  ``LayerStore.open`` and ``run_check`` validates them again;
- cached (after): the layers a check needs come from ``LayerCache`` (opened, verified and
  validated once per version) and ``run_check(validated=True)`` skips re-validation.

Both paths run the whole check (issue 14 item 3: heat semantics, model spread, advice,
adaptation options with their verdicts, tipping points, domain, result hash). Target: p95
under 100 ms per warm check. Uses ``demo-output/data/layers`` when it exists,
otherwise builds a store with ``resilience demo`` in a temporary directory.

Run: ``.venv/bin/python bench/bench_feasibility.py [--checks 200]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from resilience.feasibility.check import run_check
from resilience.feasibility.layer_cache import LayerCache
from resilience.feasibility.models import CheckResult, Submission
from resilience.sample.bundle import EXAMPLE_SUBMISSION
from resilience.storage.layer_store import LayerStore

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 100.0
WARM_UP = 3


def _layer_store(scratch: Path) -> Path:
    existing = ROOT / "demo-output" / "data" / "layers"
    if (existing / "heat").is_dir():
        return existing
    print(f"no {existing}: running `resilience demo --out {scratch}` first", flush=True)
    env = {**os.environ, "RESILIENCE_USE_PREFECT": "false"}
    command = [str(Path(sys.executable).with_name("resilience")), "demo", "--out", str(scratch)]
    subprocess.run(command, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return scratch / "data" / "layers"


def _time(check: Callable[[], CheckResult], n: int) -> tuple[np.ndarray, CheckResult]:
    for _ in range(WARM_UP):
        result = check()
    times = np.empty(n)
    for i in range(n):
        start = time.perf_counter()
        result = check()
        times[i] = (time.perf_counter() - start) * 1000.0
    return times, result


def main() -> int:
    """Run both paths and print the table; return 0 on PASS, 1 on FAIL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200)
    args = parser.parse_args()
    submission = Submission.model_validate(EXAMPLE_SUBMISSION)
    with tempfile.TemporaryDirectory() as scratch:
        root = _layer_store(Path(scratch))
        store = LayerStore(root)

        def uncached() -> CheckResult:
            layers = {name: store.open(name) for name in store.names()}
            return run_check(submission, layers)

        cache = LayerCache(root)

        def cached() -> CheckResult:
            return run_check(submission, cache.layers(), validated=True)

        rows = []
        for label, check in (("uncached (before)", uncached), ("LayerCache (after)", cached)):
            times, result = _time(check, args.checks)
            rows.append((label, times, result))
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"store {root}; {args.checks} warm checks per path, one process")
    print(f"submission: {submission.project_name}; layer files opened by the cache: {cache.opens}")
    header = "| path | p50 ms | p95 ms | p99 ms | checks/s | p95 / target | verdict, score |"
    print(header + "\n|---|---:|---:|---:|---:|---:|---|")
    for label, times, result in rows:
        p50, p95, p99 = np.percentile(times, [50, 95, 99])
        throughput = len(times) / (times.sum() / 1000.0)
        print(
            f"| {label} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {throughput:.1f} | "
            f"{p95 / TARGET_P95_MS:.2f} | {result.verdict}, {result.overall_score} |"
        )
    before, after = (np.percentile(r[1], 95) for r in rows)
    passed = after < TARGET_P95_MS
    same = rows[0][2].rows == rows[1][2].rows
    print(f"speed-up at p95: {before / after:.1f}x; identical rows on both paths: {same}")
    print(f"peak RSS of the process: {peak_mib:.1f} MiB")
    print(f"target p95 < {TARGET_P95_MS:.0f} ms (cached path): {'PASS' if passed else 'FAIL'}")
    return 0 if passed and same else 1


if __name__ == "__main__":
    raise SystemExit(main())
