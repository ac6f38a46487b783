"""Fixtures of the warnings pages' tests: the sample forecast's warnings in a database.

The real warnings run (:func:`resilience.early_warning.run.run_warnings`) on the bundled
sample forecast, with the real inventory so that the Restricted substation alert is there
too; agency keys in a legacy keys file; the API app with the pages mounted on it.
"""

from __future__ import annotations

import importlib.util
import warnings
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

from resilience.api.app import create_app, issue_api_key
from resilience.api.auth import caller_dependency
from resilience.early_warning.rules import load_rules
from resilience.early_warning.run import run_warnings
from resilience.geodata.geography import open_districts
from resilience.sample.forecast import write_sample_forecast
from resilience.settings import Settings
from resilience.storage.database import make_engine
from resilience.web import mount_web


def _load_browser_support() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "_browser_support", Path(__file__).with_name("browser_support.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The browser tests' helpers (browser_support.py): chromium_or_skip, serve, requested_urls,
#: outside_loopback, non_white_share. Test files take them through the fixtures below.
BROWSER = _load_browser_support()


@pytest.fixture(scope="session")
def browser() -> ModuleType:
    """The module of browser helpers (``browser.serve(app)``, ``browser.non_white_share``...)."""
    return BROWSER


@pytest.fixture
def chromium():
    """A headless chromium WebDriver (skips when the browser is missing), quit afterwards."""
    driver = BROWSER.chromium_or_skip()
    try:
        yield driver
    finally:
        driver.quit()


#: The sample's typhoon evening (docs/warnings.md): rain, typhoon, tide and waterlogging
#: alerts in force, and the heat-wave alerts announced for the next two days.
AT = "2026-07-20T20:30:00+08:00"
#: A "now" long after the exercise: nothing is active.
NOW = "2026-12-07T12:00:00+08:00"


def build_app(folder: Path, url: str, now: str):
    """Return the API app with the warnings pages mounted, its clock fixed at ``now``."""
    settings = Settings(data_dir=folder, database_url=url)
    clock = lambda: datetime.fromisoformat(now)  # noqa: E731
    app = create_app(settings, clock=clock)
    if any(getattr(route, "path", None) == "/" for route in app.routes):
        return app  # create_app mounts the pages itself (same database, clock and keys)
    engine = make_engine(url)
    mount_web(
        app,
        engine=engine,
        agencies={a.id: a for a in load_rules(None).agencies},
        clock=clock,
        caller=caller_dependency(engine, folder / "api_keys.toml"),
    )
    return app


@pytest.fixture(scope="session")
def web_service(tmp_path_factory):
    from resilience.sample.inventory import build_inventory

    folder = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{folder / 'alerts.db'}"
    run_warnings(
        write_sample_forecast(folder),
        rules_path=None,
        districts=open_districts(),
        database_url=url,
        out_dir=folder / "cap",
        assets=build_inventory(),
    )
    agencies = ("transport", "power", "water_authority")
    keys = {a: issue_api_key(folder / "api_keys.toml", a) for a in agencies}
    return {"folder": folder, "url": url, "keys": keys}


@pytest.fixture(scope="session")
def web_app(web_service):
    """Return ``make(now)``: the app on the sample's database with its clock at ``now``."""
    return lambda now: build_app(web_service["folder"], web_service["url"], now)


@pytest.fixture(scope="session")
def web_client(web_service):
    with warnings.catch_warnings():  # starlette deprecates its httpx-based client; still works
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    app = build_app(web_service["folder"], web_service["url"], NOW)
    with TestClient(app) as client:
        yield client
