"""Heat and rain hazard layers against the time to read their input, and against xclim.

Workload (issue 5): one model on a SIZE x SIZE grid (default 100 x 100) for YEARS years of
daily data (default 106: ``historical`` 1995-2014, ``ssp585`` 2015-2100); float32 tasmax,
tasmin and pr as NEX-GDDP-CMIP6-style yearly files (``{var}_day_{model}_{experiment}_
r1i1p1f1_gn_{year}.nc``, K and kg m-2 s-1, zlib level 1 with shuffle and one chunk per year,
the encoding of the bundled sample). The fields are drawn with numpy: Shanghai's monthly
normals (``resilience.sample.weather``), an AR(1) daily anomaly shared by the grid, a
heat-island bump, local noise, the SSP5-8.5-like warming of the sample, and gamma rain on
about 120 days a year (about 100 of them >= 1 mm; 1,100 mm a year) growing by 7 %/K. They
are written once into ``--data`` (default ``bench/.data/hazards``) and reused.

Each stage runs in a fresh process (its peak RSS is ``ru_maxrss``), with dask's default
threaded scheduler, and is timed from opening the files to the last result:

* read: ``open_projections`` and a sum of every variable (every file decoded once);
* ours: ``build_heat_layer`` and ``build_rain_layer`` on the AR6 horizons (baseline, near,
  mid, far), each computed and written to NetCDF (``resilience.hazards.build.write_layer``);
* xclim: the same yearly indicators with ``xclim.indices`` per horizon (the daily data
  chunked like ours: whole horizon by blocks of cells), their horizon means, and GEV return
  levels of TXx, Rx1day and Rx5day with ``xclim.indices.stats.fit(dist=lmoments3 gev,
  method="PWM")`` + ``parametric_quantile`` (PWM = L-moments, the estimator of our layers,
  so the comparison is like for like), all computed in one ``dask.compute``.

Ours also computes what xclim has no function for (ensemble quantiles, changes, robustness,
pooled regional fits); with one model these are cheap. The targets (ours <= 1.5 x read,
ours faster than xclim) are reported, not enforced: the exit code is non-zero only on errors.
"""

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODEL = "BENCH-ESM"
FIRST_YEAR, LAST_HISTORICAL = 1995, 2014
VARIABLES = ("tasmax", "tasmin", "pr")
DAYS = 365  # noleap, as the sample (docs/decisions.md D4)
GENERATOR = "1"  # change to rebuild cached data
#: SSP5-8.5-like warming (degC vs 1995-2014) at the horizon mid-years, as the sample uses
#: (``resilience.sample.weather.WARMING_DEGC``), linear in between and beyond.
WARMING_YEARS = (1995.0, 2004.5, 2030.5, 2050.5, 2090.5, 2100.5)
WARMING_DEGC = (-0.24, 0.0, 1.0, 2.0, 4.3, 4.88)
_RSS_KIB = 1024  # ru_maxrss is in KiB on Linux


def _experiment(year):
    return "historical" if year <= LAST_HISTORICAL else "ssp585"


def _climatology():
    """Return daily Tmax, Tmin normals (degC), wet-day probability and mean wet-day rain (mm)."""
    from resilience.sample.weather import (
        RAIN_MONTHLY_MM,
        TMAX_NORMALS_DEGC,
        TMIN_NORMALS_DEGC,
        WET_DAY_FRACTION,
    )

    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    middle = np.cumsum(month_days) - month_days / 2.0
    day = np.arange(DAYS) + 0.5

    def cycle(monthly):
        values = np.asarray(monthly, dtype=float)
        return np.interp(
            day,
            np.r_[middle[-1] - 365, middle, middle[0] + 365],
            np.r_[values[-1], values, values[0]],
        )

    p_wet = 0.9 * np.asarray(WET_DAY_FRACTION)  # about 120 rain days a year
    wet_mean = np.asarray(RAIN_MONTHLY_MM) / (month_days * p_wet)
    month = np.repeat(np.arange(12), month_days)
    return cycle(TMAX_NORMALS_DEGC), cycle(TMIN_NORMALS_DEGC), p_wet[month], wet_mean[month]


def make_year(year, size, climatology):
    """Return one year of float32 fields in CMIP units (K, kg m-2 s-1), dims (time, lat, lon)."""
    from scipy.signal import lfilter

    tmax_clim, tmin_clim, p_wet, wet_mean = climatology
    rng = np.random.default_rng([20260105, year, size])
    shape = (DAYS, size, size)
    warming = np.interp(year + 0.5, WARMING_YEARS, WARMING_DEGC)
    anomaly = lfilter([1.0], [1.0, -0.7], rng.normal(0.0, 3.0 * np.sqrt(1 - 0.49), DAYS))
    axis = np.linspace(-1.0, 1.0, size)
    island = 1.2 * np.exp(-(axis[:, None] ** 2 + axis[None, :] ** 2) / 0.2)  # heat island
    tasmax = (tmax_clim + warming + anomaly)[:, None, None] + island + rng.normal(0, 0.8, shape)
    dtr = (tmax_clim - tmin_clim)[:, None, None] + rng.normal(0.0, 1.0, shape)
    tasmin = tasmax - np.maximum(dtr, 0.5)
    wet = rng.random(shape) < p_wet[:, None, None]
    amount = rng.gamma(0.7, 1.0, shape) * (wet_mean / 0.7)[:, None, None] * 1.07**warming
    pr = np.where(wet, amount, 0.0)
    return {
        "tasmax": (tasmax + 273.15).astype(np.float32),
        "tasmin": (tasmin + 273.15).astype(np.float32),
        "pr": (pr / 86400.0).astype(np.float32),
    }


def _write(path, variable, values, year):
    """Write one file like ``resilience.sample.projections`` (temporary name, then rename)."""
    import netCDF4

    size = values.shape[1]
    tmp = path.with_suffix(".tmp")
    with netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
        nc.setncatts({"Conventions": "CF-1.8", "synthetic": "yes", "source_id": MODEL})
        for name, n in (("time", DAYS), ("lat", size), ("lon", size)):
            nc.createDimension(name, n)
        time = nc.createVariable("time", "f8", ("time",))
        time.setncatts({"units": "days since 1850-01-01", "calendar": "noleap", "axis": "T"})
        time[:] = (year - 1850) * DAYS + np.arange(DAYS) + 0.5
        for name, start, unit in (("lat", 30.0, "degrees_north"), ("lon", 120.5, "degrees_east")):
            coord = nc.createVariable(name, "f8", (name,))
            coord.units = unit
            coord[:] = start + 0.01 * np.arange(size)
        var = nc.createVariable(
            variable,
            "f4",
            ("time", "lat", "lon"),
            zlib=True,
            complevel=1,
            shuffle=True,
            chunksizes=(DAYS, size, size),
            fill_value=np.float32(1e20),
        )
        var.units = "kg m-2 s-1" if variable == "pr" else "K"
        var[:] = values
    tmp.replace(path)


def ensure_data(root, size, years):
    """Return the cache directory of this workload, writing the files if they are missing."""
    directory = Path(root) / f"{size}x{size}x{years}y"
    stamp = directory / "bench_hazards.json"
    wanted = {"generator": GENERATOR, "size": size, "years": years, "model": MODEL}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    climatology = _climatology()
    start = time.perf_counter()
    for year in range(FIRST_YEAR, FIRST_YEAR + years):
        fields = make_year(year, size, climatology)
        for variable in VARIABLES:
            name = f"{variable}_day_{MODEL}_{_experiment(year)}_r1i1p1f1_gn_{year}.nc"
            _write(directory / name, variable, fields[variable], year)
    stamp.write_text(json.dumps(wanted))
    print(f"wrote {3 * years} files to {directory} in {time.perf_counter() - start:.0f} s")
    return directory


def horizons_covered(years):
    """Return the AR6 horizons inside the data (a short future window if none is)."""
    from hazard_models.horizon import AR6_HORIZONS, Horizon

    last = FIRST_YEAR + years - 1
    inside = tuple(h for h in AR6_HORIZONS if h.end <= last)
    if not any(not h.is_baseline for h in inside):
        inside += (Horizon("future", LAST_HISTORICAL + 1, last),)
    return inside


def _xclim_horizon(daily, p95):
    """Return xclim's yearly indicators of one horizon (dims year, lat, lon), lazily."""
    import xclim.indices as xi

    tx, tn, pr = daily["tasmax"], daily["tasmin"], daily["pr"]
    tas = ((tx + tn) / 2).assign_attrs(units="degC")
    yearly = {
        "txx": xi.tx_max(tx),
        "tnx": xi.tn_max(tn),
        "tropical_nights": xi.tn_days_above(tn, "25 degC", op=">="),
        "hot_spell_frequency": xi.hot_spell_frequency(tx, "35 degC", window=3, op=">="),
        "hot_spell_max_length": xi.hot_spell_max_length(tx, "35 degC", window=3, op=">="),
        "cooling_degree_days": xi.cooling_degree_days(tas, "26 degC"),
        "tg_mean": xi.tg_mean(tas),
        "rx1day": xi.max_1day_precipitation_amount(pr),
        "rx5day": xi.max_n_day_precipitation_amount(pr, window=5),
        "prcptot": xi.prcptot(pr, thresh="0 mm/d"),
        "sdii": xi.daily_pr_intensity(pr),
        "r95ptot": xi.fraction_over_precip_thresh(pr, p95),
    }
    for threshold in (35, 37, 40):
        yearly[f"tx_days_above_{threshold}"] = xi.tx_days_above(tx, f"{threshold} degC", op=">=")
    for threshold in (50, 100):
        yearly[f"wetdays_{threshold}"] = xi.wetdays(pr, f"{threshold} mm/d", op=">=")
    return yearly


def run_xclim(directory, years):
    """xclim's yearly indicators, horizon means and PWM GEV return levels, one compute."""
    import dask
    from lmoments3 import distr
    from xclim.indices.stats import fit, parametric_quantile

    from resilience.climate.projections import horizon_slice, open_projections

    ds = open_projections(directory, variables=VARIABLES)
    results = []
    p95 = None
    for horizon in horizons_covered(years):
        scenario = "historical" if horizon.is_baseline else "ssp585"
        daily = horizon_slice(ds, horizon).sel(model=MODEL, scenario=scenario)
        side = max(1, int(np.sqrt(96 * 2**20 / (8 * daily.sizes["time"]))))  # as our layers
        daily = daily.chunk({"time": -1, "lat": side, "lon": side})
        if p95 is None:  # wet-day 95th percentile of the baseline, as xarray users compute it
            pr = daily["pr"]
            p95 = pr.where(pr >= 1).quantile(0.95, dim="time", method="median_unbiased")
            p95 = p95.drop_vars("quantile").assign_attrs(units="mm/d")
        for name, values in _xclim_horizon(daily, p95).items():
            if name in ("txx", "rx1day", "rx5day"):
                values = values.chunk({"time": -1})
                params = fit(values, dist=distr.gev, method="PWM", dim="time")
                levels = [1 - 1 / t for t in (2, 5, 10, 20, 50, 100)]
                results.append(parametric_quantile(params, q=levels))
            else:
                results.append(values.mean("time"))
    dask.compute(*results)


def run_ours(directory, years, out):
    """Our heat and rain layers, computed and written to NetCDF."""
    from hazard_models.heat.layer import build_heat_layer
    from hazard_models.rain.layer import build_rain_layer
    from resilience.climate.projections import open_projections
    from resilience.hazards.build import write_layer

    ds = open_projections(directory, variables=VARIABLES)
    horizons = horizons_covered(years)
    write_layer(build_heat_layer(ds, horizons=horizons), Path(out) / "heat.nc")
    write_layer(build_rain_layer(ds, horizons=horizons), Path(out) / "rain.nc")


def run_read(directory):
    """The read floor: every variable decoded once (dask's default scheduler)."""
    import dask

    from resilience.climate.projections import open_projections

    ds = open_projections(directory, variables=VARIABLES)
    dask.compute(*(ds[v].sum() for v in VARIABLES))


def _cpu_seconds():
    """User + system CPU seconds of this process, all threads (less sensitive than wall time
    to other work on a shared machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(stage, directory, years, out):
    """Run one stage in this (fresh) process and print seconds and peak RSS as JSON."""
    import warnings

    warnings.simplefilter("ignore")
    if stage == "xclim":
        import xclim.indices  # noqa: F401  (its ~5 s import is not part of the timing)
    import hazard_models.heat.layer  # noqa: F401
    import resilience.climate.projections  # noqa: F401

    imported = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _RSS_KIB
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    if stage == "read":
        run_read(directory)
    elif stage == "ours":
        run_ours(directory, years, out)
    else:
        run_xclim(directory, years)
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _RSS_KIB
    print(json.dumps({"s": seconds, "cpu_s": cpu, "peak_mib": peak, "import_mib": imported}))


def measure(stage, directory, years, out):
    """Run ``stage`` in a fresh interpreter; return its JSON report."""
    command = [sys.executable, __file__, "--child", stage, str(directory), str(years), str(out)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"stage {stage} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(rows, directory, size, years):
    """Print the workload, the stage table and the two targets."""
    horizons = ", ".join(h.name for h in horizons_covered(years))
    gb = sum(p.stat().st_size for p in directory.glob("*.nc")) / 1e9
    values_gb = 3 * years * DAYS * size**2 * 4 / 1e9
    print(
        f"workload: 1 model, {size} x {size} cells, {years} years "
        f"({FIRST_YEAR}-{FIRST_YEAR + years - 1}), tasmax/tasmin/pr float32: "
        f"{values_gb:.2f} GB of values in {gb:.2f} GB of zlib files; horizons {horizons}"
    )
    read = rows.get("read", {}).get("s")
    print(f"{'stage':<8}{'seconds':>9}{'cpu s':>8}{'peak MiB':>10}{'import MiB':>12}{'x read':>8}")
    for stage, row in rows.items():
        ratio = f"{row['s'] / read:8.2f}" if read else f"{'':>8}"
        print(
            f"{stage:<8}{row['s']:>9.1f}{row['cpu_s']:>8.1f}{row['peak_mib']:>10.0f}"
            f"{row['import_mib']:>12.0f}{ratio}"
        )
    if "ours" in rows and read:
        verdict = "MET" if rows["ours"]["s"] <= 1.5 * read else "MISSED"
        print(f"target ours <= 1.5 x read: {rows['ours']['s'] / read:.2f} x -> {verdict}")
    if "ours" in rows and "xclim" in rows:
        ratio = rows["ours"]["s"] / rows["xclim"]["s"]
        print(f"ours / xclim: {ratio:.2f} -> {'FASTER' if ratio < 1 else 'SLOWER'} than xclim")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / ".data" / "hazards")
    parser.add_argument("--size", type=int, default=100, help="grid cells per side")
    parser.add_argument("--years", type=int, default=106, help="years from 1995 (>= 21)")
    parser.add_argument("--stages", default="read,ours,xclim", help="comma-separated subset")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        stage, directory, years, out = args.child
        return child(stage, Path(directory), int(years), Path(out))
    if args.years < LAST_HISTORICAL - FIRST_YEAR + 2:
        parser.error("--years: expected at least 21 (the baseline and one ssp585 year)")
    directory = ensure_data(args.data, args.size, args.years)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="bench-hazards-") as out:
        for stage in args.stages.split(","):
            rows[stage] = measure(stage, directory, args.years, out)
    report(rows, directory, args.size, args.years)
    return 0


if __name__ == "__main__":
    sys.exit(main())
