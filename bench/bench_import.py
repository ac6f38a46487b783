"""Start-up cost of the CLI (style.md rule 4: aim under 1 s), against reference imports.

Each figure is the median wall time of fresh interpreters, measured in this one run:
`python -c pass` (the floor), `import resilience.cli`, `resilience --help`, and the
references `import xarray` and `import xclim` (DEVELOPERS.md: xclim about 4-5 s).
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CASES = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "import resilience.cli": [sys.executable, "-c", "import resilience.cli"],
    "resilience --help": [str(BIN / "resilience"), "--help"],
    "import xarray (reference)": [sys.executable, "-c", "import xarray"],
    "import xclim (reference)": [sys.executable, "-c", "import xclim"],
}


def median_seconds(command, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    results = {name: median_seconds(cmd) for name, cmd in CASES.items()}
    ours = results["resilience --help"]
    print(f"{'workload':<28}{'median s':>10}{'resilience --help / this':>27}")
    for name, seconds in results.items():
        print(f"{name:<28}{seconds:>10.3f}{ours / seconds:>27.2f}")
    print(f"target: resilience --help < 1 s -> {'PASS' if ours < 1.0 else 'FAIL'}")


if __name__ == "__main__":
    main()
