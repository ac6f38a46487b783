"""The engineers' pages (``/checks``) on real small published layers and a real database.

The layers and keys are those of the API tests (``tests/resilience/api/conftest.py``,
loaded by path); the app is :func:`resilience.api.app.create_app`'s, so the pages run on the
same check queue, report and figures as ``resilience serve``.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assets.catalogue import ASSET_TYPES
from resilience.feasibility.domain import layer_domain
from resilience.feasibility.service import check_submission, layer_cache_for
from resilience.feasibility.store import load_stored_check
from resilience.storage.tables import CheckRecord
from resilience.web.map_svg import load_districts, projection
from resilience.web.site_map import map_frame, site_lonlat

_SPEC = importlib.util.spec_from_file_location(
    "_api_fixtures", Path(__file__).resolve().parents[1] / "api" / "conftest.py"
)
assert _SPEC is not None and _SPEC.loader is not None
api = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(api)

FORM = {
    "project_name": "Pudong substation",
    "asset_type": "substation",
    "lon": "121.45",
    "lat": "31.30",
    "ground_elevation_m": "4.2",
    "protection_level_m": "6.0",
    "criticality": "4",
    "start_year": "2025",
}
_PATHS = re.compile(r' d="([^"]+)"')


@pytest.fixture(scope="module")
def world(tmp_path_factory):  # noqa: ANN201
    return api.make_world(tmp_path_factory.mktemp("engineer"))


def client_of(world, name, app=None):  # noqa: ANN001, ANN201 - TestClient signed in as ``name``
    client = api.open_client(app or world["app"])
    if name is not None:
        answer = client.post(
            "/checks/signin", data={"key": world["keys"][name]}, follow_redirects=False
        )
        assert answer.status_code == 303
    return client


def stored_count(world) -> int:  # noqa: ANN001
    from resilience.storage.database import session_scope

    with session_scope(world["engine"]) as session:
        return int(session.scalar(select(func.count()).select_from(CheckRecord)) or 0)


def submitted(client, form):  # noqa: ANN001, ANN201 - (check id, page) of a form's POST
    answer = client.post("/checks/new", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("/", 1)[1]), client.get(answer.headers["location"])


def test_submit_shows_the_verdict_the_report_figures_and_tables(world) -> None:  # noqa: ANN001
    alice = client_of(world, "alice")
    check_id, page = submitted(alice, FORM)
    result = load_stored_check(world["engine"], check_id)[0].result
    assert page.status_code == 200
    assert f'<strong id="verdict">{result.verdict}</strong>' in page.text
    assert f"/checks/{check_id}/report.pdf" in page.text
    report = alice.get(f"/checks/{check_id}/report.html")
    assert report.status_code == 200 and "Pudong substation" in report.text
    # the page's curves are the report's figures: same count, same drawn paths
    figures = re.findall(r'<svg class="figure".*?</svg>', page.text, re.S)
    assert len(figures) == report.text.count('<svg class="figure"') >= 3
    report_paths = set(_PATHS.findall(report.text))
    for figure in figures:
        assert set(_PATHS.findall(figure)) <= report_paths
        assert "<metadata>" not in figure and "url(http" not in figure
        assert not set(re.findall(r'(?:href|src)="([^"#][^"]*)"', figure))  # nothing fetched
    assert {k for k in ("probability", "return_level") if f'data-kind="{k}"' in page.text} == {
        "probability",
        "return_level",
    }
    # one summary line per hazard; the governing one starred; tipping points and options
    for hazard in {row.hazard for row in result.rows}:
        assert f'<tr data-hazard="{hazard}"' in page.text
    assert f'<tr data-hazard="{result.governing_hazard}" class="governing">' in page.text
    assert page.text.count("<tr><td>", page.text.index('id="tipping"')) >= len(
        result.tipping_points
    )
    assert result.options[0].action in page.text
    # the site's marker where the map's projection puts it
    x, y = map_frame().xy(result.submission.lon, result.submission.lat)
    assert f'id="site-marker" class="site-marker" cx="{x:.1f}" cy="{y:.1f}" r="6">' in page.text


def test_form_has_the_site_map_the_layers_extent_and_the_catalogue(world) -> None:  # noqa: ANN001
    alice = client_of(world, "alice")
    page = alice.get("/checks/new").text
    assert 'class="site-map"' in page and 'data-pick="1"' in page
    assert 'visibility="hidden"' in page  # no site yet: the marker waits for lon and lat
    domain = layer_domain(layer_cache_for(world["settings"]).layers())
    extent = re.search(r'<rect class="layer-domain"[^>]*>', page)
    assert extent is not None
    for name in ("lon_min", "lon_max", "lat_min", "lat_max"):
        attribute = f'data-{name.replace("_", "-")}="{getattr(domain, name):g}"'
        assert attribute in extent.group(0)
    defaults = json.loads(
        re.search(r'id="catalogue-defaults">(.*?)</script>', page, re.S).group(1)  # type: ignore[union-attr]
    )
    assert set(defaults) == set(ASSET_TYPES)
    hospital = defaults["hospital"]
    assert (hospital["heat_standard"], hospital["heat_days_standard"]) == ("hot_days", 30.0)
    assert defaults["seawall"]["hazards"] == ["surge"]
    for name, kind in ASSET_TYPES.items():  # the no-script table: a row per type
        row = re.search(rf'<tr data-asset-type="{name}".*?</tr>', page, re.S)
        assert row is not None and f'<td class="num">{kind.design_life_years}</td>' in row.group(0)
    first = next(iter(ASSET_TYPES.values()))  # placeholders of the selected (first) type
    assert f'id="design_life_years" value="" placeholder="{first.design_life_years}"' in page
    script = alice.get("/web/static/checks.js")
    assert script.status_code == 200 and "http" not in script.text
    assert alice.get("/web/static/checks.css").status_code == 200


def test_typed_standards_override_the_catalogue_and_blank_ones_default(world) -> None:  # noqa: ANN001
    alice = client_of(world, "alice")
    form = {**FORM, "project_name": "hot substation", "heat_threshold_degc": "38"}
    check_id, _ = submitted(alice, form)
    submission = load_stored_check(world["engine"], check_id)[0].result.submission
    assert submission.heat_threshold_degc == 38.0
    substation = ASSET_TYPES["substation"]
    assert submission.drainage_return_period_years == substation.drainage_return_period_years
    assert submission.design_life_years == substation.design_life_years
    before = stored_count(world)
    wrong = alice.post("/checks/new", data={**FORM, "heat_days_standard": "20"})
    assert wrong.status_code == 422 and 'id="error-heat_days_standard"' in wrong.text
    assert stored_count(world) == before


def test_a_bad_latitude_is_shown_on_the_field_and_stores_nothing(world) -> None:  # noqa: ANN001
    alice = client_of(world, "alice")
    before = stored_count(world)
    answer = alice.post("/checks/new", data={**FORM, "lat": "95"})
    assert answer.status_code == 422
    assert 'id="error-lat"' in answer.text and 'id="error-lon"' not in answer.text
    assert stored_count(world) == before


def test_a_site_outside_the_layers_says_so_and_keeps_the_marker(world) -> None:  # noqa: ANN001
    alice = client_of(world, "alice")
    before = stored_count(world)
    answer = alice.post("/checks/new", data={**FORM, "lon": "122.05", "lat": "30.65"})
    assert answer.status_code == 422 and "outside the" in answer.text
    x, y = map_frame().xy(122.05, 30.65)
    assert f'cx="{x:.1f}" cy="{y:.1f}" r="6">' in answer.text  # the typed site is still shown
    assert stored_count(world) == before


def test_the_site_map_inverts_the_warnings_maps_projection() -> None:
    xy, _ = projection(load_districts())
    frame = map_frame()
    for lon, lat in ((121.45, 31.30), (121.0, 30.7), (122.1, 31.8)):
        assert frame.xy(lon, lat) == pytest.approx(xy(lon, lat), abs=1e-9)  # linear: exact
        assert site_lonlat(*frame.xy(lon, lat)) == pytest.approx((lon, lat), abs=1e-9)


def test_another_engineers_check_is_404_and_lists_are_own(world) -> None:  # noqa: ANN001
    alice, bob = client_of(world, "alice"), client_of(world, "bob")
    located = alice.post("/checks/new", data={**FORM, "project_name": "alice only"})
    check_id = int(str(located.url).rsplit("/", 1)[1])
    assert bob.get(f"/checks/{check_id}").status_code == 404
    assert bob.get(f"/checks/{check_id}/report.html").status_code == 404
    assert bob.get(f"/checks/{check_id}/report.pdf").status_code == 404
    bob.post("/checks/new", data={**FORM, "project_name": "bob only"})
    assert "alice only" in alice.get("/checks").text
    listed = bob.get("/checks").text
    assert "bob only" in listed and "alice only" not in listed


def test_not_signed_in_or_agency_key_redirects_to_sign_in(world) -> None:  # noqa: ANN001
    anonymous = client_of(world, None)
    for path in ("/checks", "/checks/new", "/checks/1", "/checks/1/report.html"):
        answer = anonymous.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/checks/signin"
    refused = anonymous.post("/checks/signin", data={"key": world["keys"]["tran"]})
    assert refused.status_code == 401


def test_the_forms_check_runs_in_the_apis_process_pool(tmp_path) -> None:  # noqa: ANN001
    """``check_processes=1``: the form's check runs in the pool; this process opens no layer."""
    from resilience.api.app import create_app
    from resilience.api.keys import add_api_key
    from resilience.settings import Settings
    from resilience.storage.database import make_engine

    api.publish_layers(tmp_path)  # not make_world: its app would open the layers here
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.resolved_database_url)
    key = add_api_key(engine, "alice", role="engineer")[1]
    world = {"settings": settings, "engine": engine}
    app = create_app(settings, check_processes=1)
    with api.open_client(app) as client:  # closing it shuts the pool down
        client.post("/checks/signin", data={"key": key})
        check_id, page = submitted(client, FORM)
        assert page.status_code == 200
        # the check ran elsewhere: the server process never opened a layer (the form's map
        # would: it draws the layers' extent)
        assert layer_cache_for(world["settings"]).opens == 0
        outside = client.post("/checks/new", data={**FORM, "lon": "122.05", "lat": "30.65"})
        assert outside.status_code == 422 and "outside the surge layer" in outside.text
    result = load_stored_check(world["engine"], check_id)[0].result
    here = check_submission(result.submission, world["settings"])  # the same, in this process
    assert result.result_hash == here.result_hash


def test_serve_app_carries_the_engineer_pages(tmp_path):
    """create_app (what `resilience serve` runs) mounts the pages with the check service."""
    from fastapi.testclient import TestClient

    from resilience.api.app import create_app
    from resilience.settings import Settings

    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    answer = client.get("/checks/new", follow_redirects=False)
    assert answer.status_code in (302, 303, 307) and "/checks/signin" in answer.headers["location"]
    assert client.get("/checks/signin").status_code == 200
