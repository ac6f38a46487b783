"""Warning rule evaluation: the full rule set over 16 districts and every sample asset.

Workload (issue 7, section 9): the shipped Shanghai rule set (9 rules: heat, rainstorm on
1/3/6/12-h sums, Huangpu tide, typhoon and gale winds, waterlogging, metro entrances against
the river, substations against the heat, 3-h rain against today's IDF curve) on a 72-hour
hourly ensemble forecast on the 14 x 14 sample grid, with the 16 districts and the 375 assets
of the real inventory (301 metro stations, 11 substations, ...). The forecast is the SYNTHETIC
sample at 5, 20 and 51 members (51: the size of the ECMWF ensemble). Timed: ``evaluate_rules``
(median of REPEAT runs, after one warm-up); peak memory is tracemalloc's peak of one more
call. For information, the same forecast end to end through ``run_warnings`` (SQLite file
database, one transaction per message, CAP XSD validation of each). Target: under 1 s.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import xarray as xr

from hazard_models.layer import horizon_coords
from hazard_models.rain.idf_layer import build_idf_layer
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.rules import load_rules
from resilience.early_warning.run import run_warnings
from resilience.geodata.geography import open_districts
from resilience.sample.forecast import SAMPLE_LAT, SAMPLE_LON, write_sample_forecast
from resilience.sample.inventory import build_inventory

MEMBERS = (5, 20, 51)
REPEAT = 5
TARGET_S = 1.0


def today_idf() -> xr.Dataset:
    """The IDF layer on the sample grid; its baseline is the DB31/T 1043 formula."""
    zero = np.zeros((1, 4, 1, SAMPLE_LAT.size, SAMPLE_LON.size))
    heat = xr.Dataset(
        {"tg_mean_change": (("scenario", "horizon", "quantile", "lat", "lon"), zero)},
        coords={
            "scenario": ["ssp245"],
            **horizon_coords(),
            "quantile": [0.5],
            "lat": SAMPLE_LAT,
            "lon": SAMPLE_LON,
        },
    )
    heat["tg_mean_change"].attrs["units"] = "K"
    return build_idf_layer(heat_layer=heat, method="clausius_clapeyron")


def timed(function) -> tuple[float, float, object]:
    """Return (median seconds of REPEAT runs after a warm-up, peak MiB, last result)."""
    result = function()
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), peak, result


def main() -> None:
    rules, districts, assets = load_rules(), open_districts(), build_inventory()
    layers = {"idf": today_idf()}
    print(
        f"workload: {len(rules.rules)} rules, {len(districts)} districts, {len(assets)} assets, "
        f"72 hourly steps on {SAMPLE_LAT.size} x {SAMPLE_LON.size} cells"
    )
    print(f"{'workload':<34}{'seconds':>9}{'target s':>10}{'x target':>10}{'peak MiB':>10}")
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        for members in MEMBERS:
            path = write_sample_forecast(Path(tmp) / f"m{members}", members=members)
            with xr.open_dataset(path) as forecast:
                forecast.load()
            seconds, peak, decisions = timed(
                lambda f=forecast: evaluate_rules(f, rules, districts, assets=assets, layers=layers)
            )
            verdicts.append(seconds < TARGET_S)
            name = f"evaluate_rules, {members} members"
            ratio = seconds / TARGET_S
            print(f"{name:<34}{seconds:>9.3f}{TARGET_S:>10.1f}{ratio:>10.2f}{peak:>10.1f}")
            print(f"{'':<4}-> {len(decisions)} alert episodes")
        start = time.perf_counter()
        run = run_warnings(
            Path(tmp) / "m5" / "forecast_72h.nc",
            rules_path=None,
            districts=districts,
            database_url=f"sqlite:///{Path(tmp) / 'alerts.db'}",
            out_dir=Path(tmp) / "cap",
            assets=assets,
            layers=layers,
        )
        seconds = time.perf_counter() - start
        name = "run_warnings end to end, 5 members"
        print(f"{name:<34}{seconds:>9.3f}{'-':>10}{'-':>10}{'-':>10}")
        print(f"{'':<4}-> {run.new_messages} CAP messages written, validated and stored")
    verdict = "PASS" if all(verdicts) else "FAIL"
    print(f"target: evaluate_rules under {TARGET_S:g} s for every ensemble size -> {verdict}")


if __name__ == "__main__":
    main()
