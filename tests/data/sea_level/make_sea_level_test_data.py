"""Regenerate the tide-gauge test files of this folder (see README.md).

Run from the repository root::

    .venv/bin/python tests/data/sea_level/make_sea_level_test_data.py

Copies five annual-maximum series verbatim from the shared data folder and writes the
published stationary GEV fits of the same series, transcribed below with their source.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = Path("/work/shared/data/sea_level/tide_gauge_annual_maxima_us")
STATIONS = ("NewYorkNY", "BostonMA", "PortlandME", "CharlestonSC", "CapeMayNJ")
SOURCE = (
    "tonyewong/surge_comparison@838bce372b7980bd3cc6418ff32fb74aca7d292a "
    "csv/parameters/nll/gev/time/model1.csv (stationary GEV, maximum likelihood)"
)
#: station -> (mu mm, sigma mm, xi), copied digit for digit from SOURCE.
PUBLISHED = {
    "NewYorkNY": (1430.02331730951, 140.296211630945, 0.276627283843935),
    "BostonMA": (2279.96897964355, 125.617395676478, 0.0693495231299094),
    "PortlandME": (2212.78163512416, 101.576969046965, -0.0901551114952142),
    "CharlestonSC": (1394.46427137781, 94.6317393185896, 0.218201294841395),
    "CapeMayNJ": (1501.36255593974, 114.853961839003, -0.0755776511280098),
}


def main() -> None:
    """Copy the series and write ``wong_published_gev_fits.csv``."""
    for station in STATIONS:
        shutil.copyfile(SHARED / f"{station}_annmax.csv", HERE / f"{station}_annmax.csv")
    with (HERE / "wong_published_gev_fits.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["station", "loc_mm", "scale_mm", "shape", "source"])
        for station in STATIONS:
            writer.writerow([station, *PUBLISHED[station], SOURCE])


if __name__ == "__main__":
    main()
