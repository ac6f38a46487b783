"""Test-wide set-up: private Prefect home, no telemetry, single-threaded dask."""

import os
import tempfile

# Before anything imports prefect (DEVELOPERS.md, "Tools and machine facts").
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-home-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
for name in list(os.environ):
    if name.startswith("RESILIENCE_"):
        del os.environ[name]  # tests must not pick up a developer's settings

import dask  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_dask():
    """Unit tests run dask synchronously (style.md): deterministic and debuggable."""
    with dask.config.set(scheduler="synchronous"):
        yield
