"""The engineers' pages (``/checks``) on real small published layers and a real database.

The layers and keys are those of the API tests (``tests/resilience/api/conftest.py``,
loaded by path); the pages are mounted with a :class:`CheckBackend` of the real
feasibility functions, as a composition root would.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from resilience.api.auth import caller_dependency
from resilience.feasibility.models import Submission
from resilience.feasibility.report import ReportContext, render_html, render_pdf
from resilience.feasibility.service import check_submission
from resilience.feasibility.store import list_checks, load_stored_check, store_check
from resilience.storage.tables import CheckRecord
from resilience.web import CheckBackend, mount_web

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


@pytest.fixture(scope="module")
def world(tmp_path_factory):  # noqa: ANN201
    world = api.make_world(tmp_path_factory.mktemp("engineer"))
    engine, settings = world["engine"], world["settings"]
    context = ReportContext()
    backend = CheckBackend(
        submission_model=Submission,
        check=lambda submission: check_submission(submission, settings),
        store=lambda submission, result, owner_key_id: store_check(
            engine, submission, result, owner_key_id=owner_key_id
        ),
        load=lambda check_id: load_stored_check(engine, check_id),
        list_checks=lambda owner_key_id: list_checks(engine, owner_key_id=owner_key_id),
        render_html=lambda result: render_html(result, context=context),
        render_pdf=lambda result: render_pdf(result, context=context),
    )
    app = FastAPI()
    caller = caller_dependency(engine, settings.data_dir / "api_keys.toml")
    mount_web(
        app,
        engine=engine,
        agencies={},
        clock=lambda: datetime.fromisoformat("2026-12-07T12:00:00+08:00"),
        caller=caller,
        checks=backend,
    )
    world["pages"] = app
    return world


def client_of(world, name):  # noqa: ANN001, ANN201 - TestClient signed in as ``name``
    client = api.open_client(world["pages"])
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


def test_submit_shows_the_verdict_and_reports(world) -> None:  # noqa: ANN001
    alice = client_of(world, "alice")
    form = alice.get("/checks/new")
    assert form.status_code == 200 and "substation" in form.text
    answer = alice.post("/checks/new", data=FORM, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = alice.get(answer.headers["location"])
    check_id = int(answer.headers["location"].rsplit("/", 1)[1])
    stored, _ = load_stored_check(world["engine"], check_id)
    assert page.status_code == 200
    assert f'<strong id="verdict">{stored.result.verdict}</strong>' in page.text
    assert f"/checks/{check_id}/report.pdf" in page.text
    report = alice.get(f"/checks/{check_id}/report.html")
    assert report.status_code == 200 and "Pudong substation" in report.text


def test_a_bad_latitude_is_shown_on_the_field_and_stores_nothing(world) -> None:  # noqa: ANN001
    alice = client_of(world, "alice")
    before = stored_count(world)
    answer = alice.post("/checks/new", data={**FORM, "lat": "95"})
    assert answer.status_code == 422
    assert 'id="error-lat"' in answer.text and 'id="error-lon"' not in answer.text
    assert stored_count(world) == before


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


def test_serve_app_carries_the_engineer_pages(tmp_path):
    """create_app (what `resilience serve` runs) mounts the pages with the check service."""
    from fastapi.testclient import TestClient

    from resilience.api.app import create_app
    from resilience.settings import Settings

    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    answer = client.get("/checks/new", follow_redirects=False)
    assert answer.status_code in (302, 303, 307) and "/checks/signin" in answer.headers["location"]
    assert client.get("/checks/signin").status_code == 200
