"""The shipped sample submissions (resilience/data/submissions): valid, placed inside the
sample's layers, with an expected verdict for each that docs/sample_submissions.md explains.

Their verdicts on real sample layers are checked in tests/flows/test_feasibility_flow.py
(which builds the layers once); here only what needs no hazard layer but the cheap surge one.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import yaml
from shapely.geometry import Point

from resilience.feasibility.models import Submission, read_submission
from resilience.geodata.geography import data_path
from resilience.sample.weather import LAT, LON

FOLDER = data_path("submissions")
FILES = sorted(FOLDER.glob("*.json"))
EXPECTED = yaml.safe_load((FOLDER / "expected.yaml").read_text(encoding="utf-8"))
DOC = Path(__file__).resolve().parents[3] / "docs" / "sample_submissions.md"
#: What issue 14 asks samples for, by the asset type each is modelled as.
KINDS = {
    "metro_station.json": "metro_station",
    "hospital.json": "hospital",
    "substation.json": "substation",
    "tunnel.json": "tunnel",
    "seawall_upgrade.json": "seawall",  # judged on surge only (catalogue hazards)
}


def submissions() -> dict[str, Submission]:
    return {path.name: read_submission(path) for path in FILES}


def test_the_five_samples_are_shipped_and_valid():
    found = submissions()
    assert set(found) == set(KINDS)
    for name, submission in found.items():
        assert submission.asset_type == KINDS[name], name
        assert "(sample)" in submission.project_name, name
        # Every sample states its ground and its site, so the surge check has a ground
        # elevation to fall back on (Wusong datum, docs/sample_submissions.md).
        assert submission.ground_elevation_m is not None, name


def test_expected_verdicts_cover_every_file_with_known_values():
    assert set(EXPECTED) == {path.name for path in FILES}
    for name, expected in EXPECTED.items():
        assert set(expected) == {"verdict", "governing_hazard"}, name
        assert expected["verdict"] in {"feasible", "feasible_with_adaptation", "not_feasible"}
        assert expected["governing_hazard"] in {"heat", "rain", "surge"}, name


def test_the_document_states_each_expected_verdict():
    text = DOC.read_text(encoding="utf-8")
    for name, expected in EXPECTED.items():
        section = re.search(rf"^## .*`{re.escape(name)}`.*?(?=\n## |\Z)", text, re.M | re.S)
        assert section is not None, f"docs/sample_submissions.md has no section on {name}"
        assert f"**{expected['verdict']}**" in section.group(), (
            f"{name}: the document does not give the expected verdict {expected['verdict']}"
        )
        assert f"governing hazard **{expected['governing_hazard']}**" in section.group(), name


def test_every_site_lies_inside_the_sample_grid():
    spacing = 0.1  # the sample grid's cell spacing (resilience.sample.weather)
    for name, submission in submissions().items():
        assert LON.min() - spacing / 2 <= submission.lon <= LON.max() + spacing / 2, name
        assert LAT.min() - spacing / 2 <= submission.lat <= LAT.max() + spacing / 2, name


@pytest.fixture(scope="module")
def surge_layer(tmp_path_factory):
    """The sample's real surge layer (tide-gauge maxima -> GEV per station), under a second."""
    from hazard_models.coast.surge import build_surge_layer
    from hazard_models.horizon import horizon_by_name
    from resilience.coast.tide_io import (
        read_annual_maxima,
        read_sea_level_projections,
        read_tide_stations,
    )
    from resilience.sample.tides import write_sample_tide_gauges

    maxima = write_sample_tide_gauges(tmp_path_factory.mktemp("tides"))
    return build_surge_layer(
        read_annual_maxima(maxima),
        read_tide_stations(maxima.parent / "shanghai_tide_stations.csv"),
        read_sea_level_projections(),
        horizons=[horizon_by_name(h) for h in ("baseline", "near", "mid", "far")],
        scenarios=["ssp126", "ssp245", "ssp585"],
        inputs_sha256="test",
        code_version="test",
    )


def test_every_site_is_within_reach_of_a_surge_station(surge_layer):
    from assets.overlay import sample_layer

    found = submissions()
    sites = gpd.GeoDataFrame(
        {"asset_id": list(found)},
        geometry=[Point(s.lon, s.lat) for s in found.values()],
        crs="EPSG:4326",
    )
    exposure = sample_layer(surge_layer, sites, variables=["still_water_level"])
    outside = [str(a) for a in exposure["asset_id"].values[exposure["outside_layer"].values]]
    assert outside == []
    distance = dict(
        zip(
            [str(a) for a in exposure["asset_id"].values],
            np.asarray(exposure["station_distance_km"].values, dtype=float),
            strict=True,
        )
    )
    assert max(distance.values()) < 50.0, distance


def test_provenance_lists_the_samples():
    text = (data_path("PROVENANCE.md")).read_text(encoding="utf-8")
    assert "`submissions/`" in text
