"""Fixtures of the API tests: a small published layer store, keys of each role, PostgreSQL.

The layers are the synthetic Gumbel worlds of ``tests/resilience/feasibility/conftest.py``
(``make_layers``), published into a real :class:`LayerStore`; the private PostgreSQL cluster
is the ``postgres`` fixture of ``tests/resilience/storage/test_migrations.py``. Both modules
are loaded by path (the test folders are not packages).
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import uvicorn

from resilience.api.app import create_app
from resilience.api.keys import add_api_key
from resilience.settings import Settings
from resilience.storage.database import make_engine
from resilience.storage.layer_store import LayerStore

TESTS = Path(__file__).resolve().parents[2]


def _load(relative: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TESTS / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_layers = _load("resilience/feasibility/conftest.py", "_feasibility_factories").make_layers
postgres = _load("resilience/storage/test_migrations.py", "_migration_fixtures").postgres

#: A substation inside the synthetic layers (as the feasibility tests' ``submission``).
SUBMISSION = {
    "project_name": "Pudong substation",
    "asset_type": "substation",
    "lon": 121.45,
    "lat": 31.30,
    "ground_elevation_m": 4.2,
    "protection_level_m": 6.0,
    "replacement_value": 2.0e8,
    "criticality": 4,
}


def publish_layers(data_dir: Path) -> None:
    """Publish heat, rain and surge layers into ``<data_dir>/layers``."""
    store = LayerStore(data_dir / "layers")
    for name, layer in make_layers().items():
        store.publish(name, layer)


def make_world(folder: Path, database_url: str | None = None) -> dict:
    """Layers, a database, keys of two engineers, a reviewer and an agency, and the app."""
    publish_layers(folder)
    settings = Settings(data_dir=folder, database_url=database_url)
    engine = make_engine(settings.resolved_database_url)
    roles = {"alice": "engineer", "bob": "engineer", "rita": "reviewer", "tran": "agency"}
    keys = {
        name: add_api_key(
            engine, name, role=role, agency="transport" if role == "agency" else None
        )[1]
        for name, role in roles.items()
    }
    return {
        "app": create_app(settings),
        "keys": keys,
        "engine": engine,
        "settings": settings,
        "submission": SUBMISSION,
        "auth": lambda name: {"Authorization": f"Bearer {keys[name]}"},
    }


def bearer(world: dict, name: str) -> dict[str, str]:
    """Return the Authorization header of a key of ``world``."""
    return {"Authorization": f"Bearer {world['keys'][name]}"}


def open_client(app):  # noqa: ANN001, ANN201 - FastAPI app, TestClient
    """Return a TestClient (imported quietly: starlette deprecates its httpx client)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    return TestClient(app)


@contextmanager
def serve(app) -> Iterator[str]:  # noqa: ANN001 - FastAPI app
    """Run ``app`` under uvicorn on 127.0.0.1 (a free port); yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """A SQLite world shared by a module's tests."""
    return make_world(tmp_path_factory.mktemp("checks"))


@pytest.fixture(scope="module")
def client(world):  # noqa: ANN201 - TestClient
    with open_client(world["app"]) as http:
        yield http


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers above, for test modules (conftest cannot be imported in importlib mode)."""
    return SimpleNamespace(
        SUBMISSION=SUBMISSION,
        bearer=bearer,
        make_world=make_world,
        open_client=open_client,
        publish_layers=publish_layers,
        serve=serve,
    )
