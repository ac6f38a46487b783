"""Overlay of 1 M point assets on 50 layer slices, against the numpy floor and references.

Workload (issue 16, item 4): a gridded layer over Shanghai (lat 30.70-32.10, lon 120.85-122.35,
cell centres every 0.1 deg: 15 x 16 cells, and every 0.01 deg: 150 x 160 cells) with one
float64 variable on 2 scenarios x 5 horizons x 5 return periods = 50 slices; 1 M random points
inside the grid (string ids); 100 k lines (up to 0.05 deg, a road segment) and 100 k boxes
(up to 0.02 deg, a site or a district block). Data are drawn with a fixed seed.

Methods, each on the same points:

* ``ours``: ``assets.overlay.sample_layer(layer, GeoDataFrame)``, the whole Exposure;
* ``floor``: the numpy gather by hand from coordinate arrays -- ``searchsorted`` on the
  mid-points between centres, then ``values[..., iy, ix]``: no checks, no geometry, no xarray;
* ``xarray``: ``DataArray.sel(lat=..., lon=..., method="nearest")`` with vectorised indexers;
* ``sjoin``: ``geopandas.sjoin`` of the points with the cell polygons (``within``), then the
  gather by the joined cell; for lines and polygons ``intersects`` and a ``max`` per asset
  (pandas ``groupby``), the reference of ``ours`` there;
* ``climada``: ``Exposures.assign_centroids`` and the gather, if ``climada`` imports here
  (it is not a dependency: install it in a throwaway environment to include it);
* ``--compare-module FILE``: ``sample_layer`` of another copy of the overlay module (e.g. the
  previous version, ``git show REV:assets/overlay.py > /tmp/overlay_old.py``).

Agreement: each method's values, as (slice, asset) float64, are hashed (sha256 of the bytes)
and sampled at 500 fixed assets; the table says ``same`` where a method's values equal the
reference's (the floor for points, sjoin for lines and polygons) bit for bit, or else the
largest difference and the number of sampled assets that differ.

Each (workload, method) runs in a fresh interpreter. Time: the fastest of ``--repeats`` calls
(wall and CPU seconds; CPU is less sensitive to other work on a shared machine), stopping
early after 20 s. Memory: peak RSS during the first call above the RSS before it (Linux:
``VmHWM`` reset through ``/proc/self/clear_refs``), so C allocations (GEOS) count. Goals of the
issue for 1 M points x 50 slices: ours under 1 s, within 3x the floor, under 1 GiB extra; they
are reported, not enforced: the exit code is non-zero only on errors.
"""

import argparse
import hashlib
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SLICES = {"scenario": 2, "horizon": 5, "return_period": 5}
LAT0, LON0, LAT_SPAN, LON_SPAN = 30.70, 120.85, 1.5, 1.6
POINT_METHODS = ("ours", "floor", "xarray", "sjoin", "climada")
SHAPE_METHODS = ("ours", "sjoin")
GOAL_S, GOAL_RATIO, GOAL_MIB = 1.0, 3.0, 1024.0
SAMPLED_ASSETS = 500  # assets whose values every method reports, for the agreement column
_TIME_BUDGET_S = 20.0


def make_layer(step):
    """Return a valid HazardLayer with ``txx`` on 50 slices and a ``step``-deg grid."""
    import xarray as xr

    from hazard_models.horizon import AR6_HORIZONS, Horizon
    from hazard_models.layer import horizon_coords, validate_hazard_layer

    lat = np.round(LAT0 + step * np.arange(round(LAT_SPAN / step)), 6)
    lon = np.round(LON0 + step * np.arange(round(LON_SPAN / step)), 6)
    horizons = (*AR6_HORIZONS[:3], Horizon("late", 2061, 2080), AR6_HORIZONS[3])
    rng = np.random.default_rng(20261207)
    values = rng.normal(35.0, 2.0, (*SLICES.values(), lat.size, lon.size))
    values[1, 0] = values[0, 0]  # the baseline is shared by the scenarios
    txx = {"units": "degC", "long_name": "annual maximum of Tmax", "method": "synthetic"}
    layer = xr.Dataset(
        {"txx": (("scenario", "horizon", "return_period", "lat", "lon"), values, txx)},
        coords={
            "scenario": ["ssp245", "ssp585"],
            "return_period": [5.0, 10.0, 20.0, 50.0, 100.0],
            "lat": lat,
            "lon": lon,
            **horizon_coords(horizons),
        },
        attrs={"hazard": "heat", "layer_version": "1", "inputs_sha256": "-", "code_version": "0"},
    )
    return validate_hazard_layer(layer)


def make_assets(kind, count, layer):
    """Return a GeoDataFrame of ``count`` points, lines or boxes inside the layer's grid."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    lat, lon = layer["lat"].values, layer["lon"].values
    rng = np.random.default_rng([20261207, count])
    x = rng.uniform(lon[0], lon[-1], count)
    y = rng.uniform(lat[0], lat[-1], count)
    if kind == "points":
        geoms = shapely.points(x, y)
    elif kind == "lines":
        angle, length = rng.uniform(0, 2 * np.pi, count), rng.uniform(0.005, 0.05, count)
        ends = np.stack([x + length * np.cos(angle), y + length * np.sin(angle)], axis=1)
        geoms = shapely.linestrings(np.stack([np.stack([x, y], axis=1), ends], axis=1))
    else:
        width, height = rng.uniform(0.001, 0.02, count), rng.uniform(0.001, 0.02, count)
        geoms = shapely.box(x, y, x + width, y + height)
    ids = pd.Series(np.arange(count)).map("A{:07d}".format).astype("str")
    return gpd.GeoDataFrame({"asset_id": ids}, geometry=geoms, crs="EPSG:4326")


def floor_gather(values, lat, lon, x, y):
    """Gather by hand (the floor): searchsorted on the mid-points, then fancy indexing."""
    iy = np.searchsorted((lat[1:] + lat[:-1]) / 2, y)
    ix = np.searchsorted((lon[1:] + lon[:-1]) / 2, x)
    return values[..., iy, ix]


def cell_polygons(layer):
    """Return a GeoDataFrame of the cell boxes (edges half-way between centres), row-major."""
    import geopandas as gpd
    import shapely

    def edges(centres):
        step = centres[1] - centres[0]  # the bench grids are regular
        return centres - step / 2, centres + step / 2

    (lat_lo, lat_hi), (lon_lo, lon_hi) = edges(layer["lat"].values), edges(layer["lon"].values)
    boxes = shapely.box(
        np.tile(lon_lo, lat_lo.size),
        np.repeat(lat_lo, lon_lo.size),
        np.tile(lon_hi, lat_lo.size),
        np.repeat(lat_hi, lon_lo.size),
    )
    return gpd.GeoDataFrame({"cell": np.arange(boxes.size)}, geometry=boxes, crs="EPSG:4326")


def _climada_gather(layer, assets):
    """CLIMADA: assign centroids (its nearest-centroid match) and gather; ImportError if absent."""
    import scipy.sparse
    from climada.entity import Exposures
    from climada.hazard import Centroids, Hazard

    lat, lon = layer["lat"].values, layer["lon"].values
    grid_lon, grid_lat = np.meshgrid(lon, lat)
    values = layer["txx"].values.reshape(-1, lat.size * lon.size)
    centroids = Centroids(lat=grid_lat.ravel(), lon=grid_lon.ravel())
    hazard = Hazard(
        "HW",
        centroids=centroids,
        intensity=scipy.sparse.csr_matrix(values),
        event_id=np.arange(1, values.shape[0] + 1),
        frequency=np.ones(values.shape[0]),
    )

    def run():
        exposures = Exposures(assets.assign(value=1.0))
        exposures.assign_centroids(hazard)
        return values[:, exposures.gdf["centr_HW"].to_numpy()]

    return run


def method_call(method, kind, layer, assets, compare_module):
    """Return a no-argument function that runs ``method`` on the workload."""
    import geopandas as gpd
    import pandas as pd
    import shapely
    import xarray as xr

    from assets.overlay import sample_layer

    values = layer["txx"].values
    lat, lon = layer["lat"].values, layer["lon"].values
    if method == "ours":
        return lambda: sample_layer(layer, assets)
    if method == "compare":
        spec = importlib.util.spec_from_file_location("overlay_compared", compare_module)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return lambda: module.sample_layer(layer, assets)
    if method == "floor":
        x, y = shapely.get_x(assets.geometry.values), shapely.get_y(assets.geometry.values)
        return lambda: floor_gather(values, lat, lon, x, y)
    if method == "xarray":
        x, y = shapely.get_x(assets.geometry.values), shapely.get_y(assets.geometry.values)
        at_lat, at_lon = xr.DataArray(y, dims="asset"), xr.DataArray(x, dims="asset")
        return lambda: layer["txx"].sel(lat=at_lat, lon=at_lon, method="nearest").values
    if method == "climada":
        return _climada_gather(layer, assets)
    cells = cell_polygons(layer)
    plane = values.reshape(-1, lat.size * lon.size)
    if kind == "points":

        def sjoin_points():
            joined = gpd.sjoin(assets, cells, predicate="within", how="left")
            joined = joined[~joined.index.duplicated()]
            return plane[:, joined["cell"].fillna(0).to_numpy(dtype=int)]

        return sjoin_points

    def sjoin_shapes():
        joined = gpd.sjoin(assets[["geometry"]], cells, predicate="intersects")
        gathered = plane[:, joined["cell"].to_numpy()].T
        return pd.DataFrame(gathered, index=joined.index).groupby(level=0).max()

    return sjoin_shapes


def as_slices(method, kind, result, count):
    """Return a method's result as a C-ordered (slice, asset) float64 array."""
    if method in ("ours", "compare"):
        var = result["txx"]
        lead = [d for d in var.dims if d != "asset_id"]
        values = var.transpose(*lead, "asset_id").values
    elif method == "sjoin" and kind != "points":
        values = result.sort_index().to_numpy().T  # (asset, slice) frame from the groupby
    else:
        values = np.asarray(result)
    return np.ascontiguousarray(values, dtype=np.float64).reshape(-1, count)


def agreement(count, result_slices):
    """Return the sha256 and the values at the sampled assets of a (slice, asset) array."""
    sampled = np.random.default_rng(11).choice(count, min(SAMPLED_ASSETS, count), replace=False)
    digest = hashlib.sha256(result_slices.tobytes()).hexdigest()
    return {"sha256": digest, "sample": result_slices[:, np.sort(sampled)].tolist()}


def _agrees(row, base):
    """Return ``same``, or the largest difference and the sampled assets that differ."""
    if "sha256" not in row or "sha256" not in base:
        return ""
    if row["sha256"] == base["sha256"]:
        return "same"
    mine, theirs = np.asarray(row["sample"]), np.asarray(base["sample"])
    if mine.shape != theirs.shape:
        return f"shape {mine.shape} vs {theirs.shape}"
    differ = ~((mine == theirs) | (np.isnan(mine) & np.isnan(theirs)))
    gap = np.nanmax(np.abs(mine - theirs)) if differ.any() else 0.0
    return f"max |d| {gap:.3g}, {int(differ.any(axis=0).sum())}/{mine.shape[1]} differ"


def _rss_mib(field):
    """Return ``VmRSS`` or ``VmHWM`` of this process from /proc/self/status, MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def child(kind, count, step, method, repeats, compare_module):
    """Run one (workload, method) in this fresh process; print its figures as JSON."""
    import warnings

    warnings.simplefilter("ignore")
    layer = make_layer(step)
    assets = make_assets(kind, count, layer)
    try:
        call = method_call(method, kind, layer, assets, compare_module)
    except ImportError as error:
        print(json.dumps({"skipped": f"not installed ({error.name})"}))
        return
    walls, cpus, peak, agreed = [], [], None, {}
    started = time.perf_counter()
    for _ in range(repeats):
        if peak is None:
            before = _rss_mib("VmRSS")
            Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS (Linux >= 4.0)
        wall, cpu = time.perf_counter(), time.process_time()
        result = call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        if peak is None:
            peak = _rss_mib("VmHWM") - before
            agreed = agreement(count, as_slices(method, kind, result, count))  # after timing
        del result
        if time.perf_counter() - started > _TIME_BUDGET_S:
            break
    figures = {"s": min(walls), "cpu_s": min(cpus), "extra_mib": peak, "calls": len(walls)}
    print(json.dumps(figures | agreed))


def measure(kind, count, step, method, args):
    """Run one (workload, method) in a fresh interpreter; return its JSON report."""
    command = [sys.executable, __file__, "--child", kind, str(count), str(step), method]
    command += ["--repeats", str(args.repeats)]
    if args.compare_module:
        command += ["--compare-module", str(args.compare_module)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{kind}/{method} at {step} deg failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _verdict(ok):
    return "MET" if ok else "MISSED"


def report(kind, count, step, rows, reference):
    """Print one workload's table: seconds, CPU, extra memory, and ratios to ``reference``."""
    cells = round(LAT_SPAN / step) * round(LON_SPAN / step)
    slices = int(np.prod(list(SLICES.values())))
    print(f"\n{count:,} {kind} x {slices} slices, {step} deg grid ({cells:,} cells)")
    print(
        f"{'method':<10}{'seconds':>9}{'cpu s':>8}{'extra MiB':>11}"
        f"{f'x {reference}':>10}{f'cpu x {reference}':>14}  values vs {reference}"
    )
    base = rows.get(reference, {})
    for method, row in rows.items():
        if "skipped" in row:
            print(f"{method:<10}  {row['skipped']}")
            continue
        ratios = f"{'':>10}{'':>14}"
        if "s" in base:
            ratios = f"{row['s'] / base['s']:10.2f}{row['cpu_s'] / base['cpu_s']:14.2f}"
        print(
            f"{method:<10}{row['s']:>9.3f}{row['cpu_s']:>8.3f}{row['extra_mib']:>11.0f}{ratios}"
            f"  {_agrees(row, base)}"
        )
    ours, floor = rows.get("ours"), rows.get("floor")
    if kind == "points" and ours and floor and count >= 1_000_000:
        print(
            f"goals: under {GOAL_S:.0f} s: wall {ours['s']:.2f} s -> "
            f"{_verdict(ours['s'] < GOAL_S)}, cpu {ours['cpu_s']:.2f} s -> "
            f"{_verdict(ours['cpu_s'] < GOAL_S)}; within {GOAL_RATIO:.0f}x floor: wall "
            f"{ours['s'] / floor['s']:.2f} x -> {_verdict(ours['s'] <= GOAL_RATIO * floor['s'])}, "
            f"cpu {ours['cpu_s'] / floor['cpu_s']:.2f} x -> "
            f"{_verdict(ours['cpu_s'] <= GOAL_RATIO * floor['cpu_s'])}; "
            f"under {GOAL_MIB:.0f} MiB extra: {ours['extra_mib']:.0f} MiB -> "
            f"{_verdict(ours['extra_mib'] < GOAL_MIB)}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--shapes", type=int, default=100_000, help="lines and polygons")
    parser.add_argument("--steps", default="0.1,0.01", help="grid spacings, deg")
    parser.add_argument("--kinds", default="points,lines,polygons")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare-module", type=Path, help="another overlay.py to time")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, count, step, method = args.child
        child(kind, int(count), float(step), method, args.repeats, args.compare_module)
        return 0
    for step in (float(s) for s in args.steps.split(",")):
        for kind in args.kinds.split(","):
            count = args.points if kind == "points" else args.shapes
            methods = POINT_METHODS if kind == "points" else SHAPE_METHODS
            if args.compare_module:
                methods = (*methods, "compare")
            rows = {m: measure(kind, count, step, m, args) for m in methods}
            report(kind, count, step, rows, "floor" if kind == "points" else "sjoin")
    return 0


if __name__ == "__main__":
    sys.exit(main())
