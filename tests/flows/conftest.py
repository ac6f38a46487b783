"""Fixtures shared by the flow tests: Prefect's test harness (about 12 s) and one run of
``resilience demo`` on the bundled sample (about 90 s) that several modules read."""

import pytest


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, prefect_harness):
    """``resilience demo --out DIR`` under Prefect, once per session: (DIR, printed output).

    Modules that read it must not depend on each other's writes: the demo tests run more
    commands on DIR, the feasibility-flow tests store more checks in its database.
    """
    from typer.testing import CliRunner

    from resilience.cli.main import app

    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out, result.output
