"""The steps of the pipelines as plain functions: a few library calls each.

Each step takes and returns paths and small pydantic models, never Datasets, so that Prefect
can cache and log them (style.md, "Layers"). ``flows.refresh`` and ``flows.demo`` wrap these
as Prefect tasks, or call them directly when settings say ``use_prefect = false``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

import resilience
from resilience.profile import CityProfile
from resilience.storage.layer_store import LayerStore

CODE_VERSION = f"resilience {resilience.__version__}"
PROJECTION_VARIABLES = ("tasmax", "tasmin", "pr")


class ProjectionsRef(BaseModel):
    """A validated projections store or folder of files, by reference."""

    directory: Path
    inputs_sha256: str
    models: list[str]
    scenarios: list[str]
    missing_combinations: str = ""
    synthetic: str = "unknown"
    bias_adjustment: str = ""
    #: Region cut applied when opening (lon_min, lat_min, lon_max, lat_max); None: whole grid.
    bbox: tuple[float, float, float, float] | None = None


class RiskOutputs(BaseModel):
    """Where the risk table went and a short summary of it."""

    gpkg: Path
    csv: Path
    rows: int
    assets: int
    very_high: dict[str, dict[str, int]]
    synthetic: str = "unknown"
    provenance: Path | None = None


class CheckOutputs(BaseModel):
    """A stored feasibility check and its report files."""

    check_id: int
    verdict: str
    score: float | None
    html: Path
    json_path: Path


class WarningOutputs(BaseModel):
    """CAP messages issued for one forecast, with a per-hazard digest."""

    out_dir: Path
    messages: int
    by_type: dict[str, int]
    digest: list[str]


def write_sample(out_dir: Path) -> Path:
    """Write the bundled Shanghai sample into ``out_dir`` and return it."""
    from resilience.sample.bundle import write_sample as write

    return write(out_dir).root


def pull_projections(profile: CityProfile, work_dir: Path, cache_dir: Path) -> ProjectionsRef:
    """Make the profile's projections a store or folder, check the contract, return a reference.

    A store or a folder of files is used where it is. A catalogue or a glob is pulled into
    ``work_dir/projections.zarr`` (verified against checksums, limited to the profile's
    region and to its horizons plus the observed reference's years, which QDM trains on; a
    pull with the same inputs and request leaves the store as it is).
    """
    from resilience.climate.catalog import load_catalog
    from resilience.climate.pull import catalog_from_source
    from resilience.climate.store import pull_to_store

    spec = profile.projections
    path = spec.store or spec.directory
    periods = [*profile.horizons, *_reference_period(profile)]
    if path is None:
        catalog = (
            load_catalog(spec.catalog)
            if spec.catalog is not None
            else catalog_from_source(str(spec.glob), variables=spec.variables)
        )
        if spec.catalog is not None and profile.region.bbox is not None:
            path = _local_folder(catalog, spec.variables, periods, Path(cache_dir))
    if path is None:
        written = pull_to_store(
            catalog,
            Path(work_dir) / "projections.zarr",
            variables=spec.variables,
            horizons=periods,
            cache_dir=Path(cache_dir),
            region=_region(profile),
        )
        return _reference(written.path, spec.variables)  # cut to the region by the pull
    return _reference(path, spec.variables, bbox=_bbox(profile))


def _local_folder(
    catalog,  # noqa: ANN001 - a resilience.climate.catalog.Catalog
    variables: tuple[str, ...],
    periods: list,  # noqa: ANN401 - horizon names and Horizon objects
    cache_dir: Path,
) -> Path | None:
    """Verify a catalogue of local files in place; return their one folder, else None.

    Every selected file is checked against its catalogue checksum (a manifest in
    ``cache_dir`` skips files unchanged since they were hashed). When the files lie in one
    folder of NEX-GDDP-named files, that folder is opened where it is (one file per chunk),
    which costs a small fraction of copying it into a store; anything else is pulled.
    """
    from resilience.climate.selection import select
    from resilience.climate.verified_cache import pull_verified

    if any(source.driver != "local" for source in catalog.sources):
        return None
    paths = pull_verified(select(catalog, variables=variables, horizons=periods), cache_dir)
    folders = {Path(p).parent for p in paths}
    return folders.pop() if len(folders) == 1 else None


def _reference(
    path: Path,
    variables: tuple[str, ...] | list[str],
    *,
    bbox: tuple[float, float, float, float] | None = None,
) -> ProjectionsRef:
    ds = open_region(Path(path), variables, bbox)
    return ProjectionsRef(
        directory=Path(path),
        bbox=bbox,
        inputs_sha256=str(ds.attrs.get("inputs_sha256", "")),
        models=[str(m) for m in ds["model"].values],
        scenarios=[str(s) for s in ds["scenario"].values],
        missing_combinations=str(ds.attrs.get("missing_combinations", "")),
        synthetic=str(ds.attrs.get("synthetic", "unknown")),
        bias_adjustment=str(ds.attrs.get("bias_adjustment", "")),
    )


def open_region(
    path: Path,
    variables: tuple[str, ...] | list[str],
    bbox: tuple[float, float, float, float] | None,
):  # noqa: ANN201 - an xarray Dataset
    """Open a projections store or folder, cut to ``bbox`` (cell centres inside, inclusive).

    Raises
    ------
    ValueError
        If no cell centre lies inside ``bbox`` (the message gives the grid's extent).
    """
    from resilience.climate.store import open_projections_source

    ds = open_projections_source(Path(path), variables=variables)
    if bbox is None:
        return ds
    lon0, lat0, lon1, lat1 = (float(v) for v in bbox)
    lon0, lon1 = ((v + 180.0) % 360.0 - 180.0 if v >= 180.0 else v for v in (lon0, lon1))
    eps = 1e-6
    lat, lon = ds["lat"].values, ds["lon"].values
    keep_lat = (lat >= lat0 - eps) & (lat <= lat1 + eps)
    keep_lon = (lon >= lon0 - eps) & (lon <= lon1 + eps)
    if not keep_lat.any() or not keep_lon.any():
        raise ValueError(
            f"{path}: no cell centre inside the region {list(bbox)}; the grid spans lat "
            f"{lat.min():g}..{lat.max():g}, lon {lon.min():g}..{lon.max():g}"
        )
    return ds.isel(lat=keep_lat, lon=keep_lon)


def _bbox(profile: CityProfile) -> tuple[float, float, float, float]:
    """Return the profile's region as a bbox: its own, or its polygon's bounds."""
    if profile.region.bbox is not None:
        return profile.region.bbox
    bounds = _region(profile).bounds
    return (bounds[0], bounds[1], bounds[2], bounds[3])


def _reference_period(profile: CityProfile) -> list:  # noqa: ANN401 - list of Horizon
    """Return the observed reference's years as a pull period, so the store overlaps it."""
    if profile.observed_reference is None:
        return []
    import xarray as xr

    from hazard_models.horizon import Horizon

    with xr.open_dataset(profile.observed_reference.path, decode_times=True) as ds:
        years = ds["time"].dt.year
        return [Horizon("observed_reference", int(years.min()), int(years.max()))]


def _region(profile: CityProfile):  # noqa: ANN202 - a bbox tuple or a shapely geometry
    region = profile.region
    if region.bbox is not None:
        return tuple(region.bbox)
    import geopandas as gpd

    return gpd.read_file(region.polygon).to_crs("EPSG:4326").geometry.union_all()


def adjust_projections(ref: ProjectionsRef, profile: CityProfile, work_dir: Path) -> ProjectionsRef:
    """Bias-adjust the projections against the profile's observed reference (QDM); store it.

    Without an ``observed_reference`` the projections are returned as they are. Otherwise
    the reference (ERA5-Land-like gridded daily NetCDF) is cut to the projection grid, its
    sea cells take the nearest land cell's series, QDM trains on the longest run of whole
    years both cover (historical to 2014, then each scenario; docs/bias_adjustment.md) with
    the profile's horizons as whole windows, and the result is written to
    ``work_dir/projections_qdm.zarr`` (left as it is when inputs and request are unchanged).
    """
    from hazard_models.horizon import horizon_by_name
    from resilience.climate.bias import adjust_qdm, overlap_years
    from resilience.climate.fetch import sha256_file
    from resilience.climate.store_write import InputFile, write_projection_store
    from resilience.observed.era5land import era5land_on_grid, fill_sea_cells, open_era5land

    spec = profile.observed_reference
    if spec is None:
        return ref
    ds = open_region(ref.directory, profile.projections.variables, ref.bbox)
    reference = fill_sea_cells(
        era5land_on_grid(open_era5land(spec.path), ds["lat"].values, ds["lon"].values)
    )
    baseline = overlap_years(ds, reference)
    periods = [(h.start, h.end) for h in (horizon_by_name(n) for n in profile.horizons)]
    adjusted = adjust_qdm(
        ds,
        reference,
        variables=list(spec.variables),
        baseline=baseline,
        window_periods=periods,
    )
    adjusted.attrs["observed_reference"] = spec.description or str(spec.path)
    adjusted.attrs["observed_reference_sea_cells"] = str(
        reference.attrs.get("sea_cells_filled", "")
    )
    inputs = [
        InputFile(f"{ref.directory}#inputs_sha256", ref.inputs_sha256 or None),
        InputFile(str(spec.path), sha256_file(Path(spec.path))),
    ]
    request = {
        "qdm": {
            "variables": list(spec.variables),
            "baseline": list(baseline),
            "window_periods": [list(p) for p in periods],
        }
    }
    written = write_projection_store(
        adjusted, Path(work_dir) / "projections_qdm.zarr", inputs=inputs, request=request
    )
    return _reference(written.path, profile.projections.variables)


def _horizons(profile: CityProfile) -> list:  # noqa: ANN401 - list of Horizon
    from hazard_models.horizon import horizon_by_name

    return [horizon_by_name(name) for name in profile.horizons]


def build_heat(ref: ProjectionsRef, store_root: Path, profile: CityProfile) -> Path:
    """Build the heat layer from the projections and publish it; return the layer file."""
    from hazard_models.heat.layer import build_heat_layer

    ds = open_region(ref.directory, ("tasmax", "tasmin"), ref.bbox)
    layer = build_heat_layer(
        ds,
        horizons=_horizons(profile),
        scenarios=list(profile.scenarios),
        inputs_sha256=ref.inputs_sha256,
        code_version=CODE_VERSION,
    )
    return (
        LayerStore(store_root)
        .publish("heat", layer, inputs={"projections": str(ref.directory)})
        .path
    )


def build_rain(ref: ProjectionsRef, store_root: Path, profile: CityProfile) -> Path:
    """Build the rainstorm layer from the projections and publish it; return the layer file."""
    from hazard_models.rain.layer import build_rain_layer

    ds = open_region(ref.directory, ("pr",), ref.bbox)
    layer = build_rain_layer(
        ds,
        horizons=_horizons(profile),
        scenarios=list(profile.scenarios),
        inputs_sha256=ref.inputs_sha256,
        code_version=CODE_VERSION,
    )
    return (
        LayerStore(store_root)
        .publish("rain", layer, inputs={"projections": str(ref.directory)})
        .path
    )


def build_idf(store_root: Path, method: str = "daily_change") -> Path:
    """Build the future IDF layer from the published rain and heat layers; publish it."""
    from hazard_models.rain.idf_layer import build_idf_layer

    store = LayerStore(store_root)
    rain, heat = store.open("rain"), store.open("heat")
    layer = build_idf_layer(
        rain,
        heat,
        method=method,  # type: ignore[arg-type]  # checked by Settings and build_idf_layer
        inputs_sha256=str(rain.attrs.get("inputs_sha256", "")),
        code_version=CODE_VERSION,
    )
    inputs = {name: str(store.current(name).path) for name in ("rain", "heat")}
    return store.publish("idf", layer, inputs=inputs).path


#: Standard of the notional seawall of the coastal-flood layer: Shanghai's seawalls are
#: built to 100-200-year levels (domain.md 2.1-2.2); no surveyed defence line is shipped.
NOTIONAL_SEAWALL_RETURN_PERIOD = 200.0


def build_coastal_flood(profile: CityProfile, store_root: Path) -> Path:
    """Build the bathtub inundation layer behind a notional seawall; publish it.

    The still-water levels of the profile's ``tide_gauges.coastal_station`` (surge layer)
    flood the profile's DEM from the sea cells; a wall on the coastline ring has its crest
    at today's 200-year median level at the station, so the maps show where that standard
    is overtopped in future horizons (static method, docs/surge.md; DEM taken as the
    gauges' datum, D10).
    """
    import xarray as xr

    from hazard_models.coast.inundation import build_inundation_layer, coastal_ring, edge_water
    from hazard_models.layer import synthetic_flag
    from resilience.geodata.geography import open_dem

    station = profile.tide_gauges.coastal_station
    store = LayerStore(store_root)
    surge = store.open("surge")
    if station not in surge["station"].values:
        raise ValueError(
            f"{profile.source}: field tide_gauges.coastal_station: {station!r} is not a station "
            f"of the surge layer; expected one of {[str(s) for s in surge['station'].values]}"
        )
    level = surge["still_water_level"].sel(station=station)
    crest_m = float(
        level.sel(
            horizon="baseline", return_period=NOTIONAL_SEAWALL_RETURN_PERIOD, quantile=0.5
        ).isel(scenario=0)
    )
    dem = open_dem(profile.dem)
    if profile.defence_lines is not None:  # the city's own defence lines (resilience flood)
        from resilience.coast.flood_map import FloodOptions, build_flood_layer, read_defence_lines

        layer = build_flood_layer(
            surge,
            dem,
            read_defence_lines(profile.defence_lines),
            options=FloodOptions(station=station, defences="file"),
            inputs_sha256=str(surge.attrs.get("inputs_sha256", "")),
            code_version=CODE_VERSION,
        )
        inputs = {
            "surge": str(store.current("surge").path),
            "dem": str(profile.dem),
            "defence_lines": str(profile.defence_lines),
        }
        return store.publish("coastal_flood", layer, inputs=inputs).path
    source = edge_water(dem.values)
    ring = coastal_ring(source)
    defences = xr.Dataset(
        {
            "crest_m": (("lat", "lon"), xr.where(xr.DataArray(ring), crest_m, float("nan")).values),
            "segment": (
                ("lat", "lon"),
                xr.where(xr.DataArray(ring), "notional_seawall", "").values,
            ),
        },
        coords={"lat": dem["lat"], "lon": dem["lon"]},
    )
    layer = build_inundation_layer(
        dem,
        level,
        source=source,
        defences=defences,
        inputs_sha256=str(surge.attrs.get("inputs_sha256", "")),
        code_version=CODE_VERSION,
        synthetic=synthetic_flag(surge.attrs),
    )
    inputs = {"surge": str(store.current("surge").path), "dem": str(profile.dem)}
    return store.publish("coastal_flood", layer, inputs=inputs).path


def build_surge(profile: CityProfile, store_root: Path) -> Path:
    """Build the storm-surge layer from the profile's tide gauges; return the layer file."""
    from hazard_models.coast.surge import build_surge_layer
    from resilience.coast.tide_io import (
        read_annual_maxima,
        read_sea_level_projections,
        read_tide_stations,
    )
    from resilience.storage.provenance import sha256_files

    gauges = profile.tide_gauges
    tide_maxima = gauges.annual_maxima
    layer = build_surge_layer(
        read_annual_maxima(tide_maxima),
        read_tide_stations(gauges.stations),
        read_sea_level_projections(),
        horizons=_horizons(profile),
        scenarios=list(profile.scenarios),
        inputs_sha256=sha256_files([tide_maxima, gauges.stations]),
        code_version=CODE_VERSION,
    )
    return (
        LayerStore(store_root)
        .publish("surge", layer, inputs={"tide_maxima": str(tide_maxima)})
        .path
    )


def assess_risk(store_root: Path, inventory: Path, out_dir: Path, start_year: int) -> RiskOutputs:
    """Overlay the current layers on the inventory and write the risk table (GPKG and CSV).

    Each row says whether its hazard layer had a synthetic input (``synthetic_input``) and
    which layer version it came from (``layer_version``); ``risk_table.provenance.json``
    beside the table lists the layers and the inventory with their hashes.
    """
    from assets.overlay import sample_layer
    from assets.risk import HAZARDS, build_risk_table
    from resilience.geodata.inventory_io import read_inventory
    from resilience.storage.provenance import sha256_files
    from resilience.storage.risk_io import write_risk_table

    assets = read_inventory(inventory)
    store = LayerStore(store_root)
    hazards = [name for name in store.names() if name in HAZARDS]  # the IDF layer has no risk row
    exposures = {name: sample_layer(store.open(name), assets) for name in hazards}
    table = build_risk_table(exposures, assets, start_year=start_year)
    versions = {name: store.current(name) for name in hazards}
    layers = {
        name: {
            "version": v.version,
            "file": str(v.path),
            "file_sha256": v.manifest.get("file_sha256"),
            "inputs_sha256": v.manifest.get("inputs_sha256"),
            "inputs": v.manifest.get("inputs", {}),
            "synthetic": v.manifest.get("synthetic", "unknown"),
        }
        for name, v in versions.items()
    }
    table["synthetic_input"] = table["hazard"].map({n: p["synthetic"] for n, p in layers.items()})
    table["layer_version"] = table["hazard"].map({n: p["version"] for n, p in layers.items()})
    flags = {p["synthetic"] for p in layers.values()}
    synthetic = "yes" if "yes" in flags else ("unknown" if "unknown" in flags else "no")
    provenance = {
        "synthetic": synthetic,
        "layers": layers,
        "inventory": {"path": str(inventory), "sha256": sha256_files([inventory])},
        "start_year": start_year,
        "code_version": CODE_VERSION,
    }
    gpkg, csv = write_risk_table(table, assets, Path(out_dir), provenance=provenance)
    return RiskOutputs(
        gpkg=gpkg,
        csv=csv,
        rows=len(table),
        assets=int(table["asset_id"].nunique()),
        very_high=very_high_counts(table),
        synthetic=synthetic,
        provenance=csv.with_name("risk_table.provenance.json"),
    )


def very_high_counts(table) -> dict[str, dict[str, int]]:  # noqa: ANN001 - a RiskTable
    """Count assets in the very-high class per hazard: baseline, ssp245 far, ssp585 far."""
    columns = {
        "baseline": ("ssp245", "baseline"),
        "ssp245 far": ("ssp245", "far"),
        "ssp585 far": ("ssp585", "far"),
    }
    flagged = table[table["risk_class"] == "very high"]
    return {
        str(hazard): {
            label: int(rows[(rows["scenario"] == s) & (rows["horizon"] == h)]["asset_id"].nunique())
            for label, (s, h) in columns.items()
        }
        for hazard, rows in flagged.groupby("hazard")
    }


def compare_observed(store_root: Path) -> list[str]:
    """Return one line per comparison of the shipped observations with the current layers."""
    from resilience.observed.summary_lines import observed_comparison_lines

    store = LayerStore(store_root)
    names = set(store.names())
    heat = store.open("heat") if "heat" in names else None
    rain = store.open("rain") if "rain" in names else None
    return observed_comparison_lines(heat, rain)


def check_feasibility(
    submission: Path, store_root: Path, out_dir: Path, database_url: str, target: float
) -> CheckOutputs:
    """Run one feasibility check against the current layers, store it and write its report."""
    from resilience.feasibility.check import run_check
    from resilience.feasibility.models import Submission
    from resilience.feasibility.report import write_report
    from resilience.feasibility.store import save_check
    from resilience.storage.database import make_engine

    request = Submission.model_validate_json(Path(submission).read_text(encoding="utf-8"))
    store = LayerStore(store_root)
    layers = {name: store.open(name) for name in store.names()}
    result = run_check(request, layers, target_probability=target)
    check_id = save_check(make_engine(database_url), request, result)
    files = write_report(result, Path(out_dir))
    return CheckOutputs(
        check_id=check_id,
        verdict=result.verdict,
        score=result.overall_score,
        html=files["html"],
        json_path=files["json"],
    )


def issue_warnings(
    forecast: Path, districts: Path, out_dir: Path, database_url: str, rules: Path | None = None
) -> WarningOutputs:
    """Evaluate the warning rules on a forecast and issue CAP 1.2 messages."""
    from resilience.early_warning import run_warnings
    from resilience.geodata.geography import open_districts

    run = run_warnings(
        Path(forecast),
        rules_path=rules,
        districts=open_districts(Path(districts)),
        database_url=database_url,
        out_dir=Path(out_dir),
    )
    from resilience.early_warning.bulletin import digest_lines

    return WarningOutputs(
        out_dir=Path(out_dir),
        messages=len(run.messages),
        by_type=run.by_type,
        digest=digest_lines(run),
    )
