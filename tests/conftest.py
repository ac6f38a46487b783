"""Test-wide set-up: private Prefect home, no telemetry, single-threaded dask, and the
summary of the fault catalogue (tests/reliability, issue 13)."""

import os
import tempfile
from collections import defaultdict

if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs pytest-xdist workers
    # Each worker gets its own Prefect home (its own SQLite database for temporary servers).
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-home-")
    # execnet gives workers COLUMNS=80 and LINES=24; rich then fixes every Console's size at
    # import and ignores the COLUMNS a test's CliRunner sets, so tables fold differently
    # from a serial run.
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
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


# The fault catalogue (tests/reliability/conftest.py): each ``@pytest.mark.fault("13.N",
# "what goes wrong")`` test is counted as handled (passed) or not. The worker that runs a
# test puts its marker in ``user_properties``; the process that prints the summary (the
# only one under pytest-xdist) counts the reports it receives.
_FAULTS: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"handled": [], "not": []})


#: The test files that read the one ``resilience demo`` run (tests/flows/conftest.py). Under
#: ``--dist loadfile`` they are scheduled as one unit, so the 90 s demo is built by one
#: worker instead of by each (``xdist_group`` markers with ``--dist loadgroup`` were not
#: honoured by this pytest/xdist pair).
DEMO_FILES = frozenset(
    {
        "tests/flows/test_demo_flow.py",
        "tests/flows/test_feasibility_flow.py",
        "tests/flows/test_refresh_rerun.py",
    }
)
_DEMO_FIXTURES = {"demo_run", "demo_pristine"}
_DEMO_UNIT = "demo-files"


def pytest_xdist_make_scheduler(config: pytest.Config, log):  # noqa: ANN201 - xdist's
    """Schedule by file (``--dist loadfile``), with the demo-reading files as one unit."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class DemoOnce(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return _DEMO_UNIT if scope in DEMO_FILES else scope

        def _assign_work_unit(self, node) -> None:  # noqa: ANN001 - xdist's WorkerController
            # the demo unit (about 4 min, one after another) first, beside everything else
            if _DEMO_UNIT in self.workqueue:
                self.workqueue.move_to_end(_DEMO_UNIT, last=False)
            super()._assign_work_unit(node)

    return DemoOnce(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a demo-reading test file missing from :data:`DEMO_FILES` (it would build the
    demo again on another worker)."""
    stray = {
        item.nodeid.split("::")[0] for item in items if _DEMO_FIXTURES & set(item.fixturenames)
    } - DEMO_FILES
    if stray:
        raise pytest.UsageError(f"tests/conftest.py DEMO_FILES: add {sorted(stray)}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fault(item, description): a reproduced fault of issue 13 and its item"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("fault")
    if marker is not None and report.when == "call":
        number, description = (list(marker.args) + ["?", item.name])[:2]
        report.user_properties.append(("fault", (str(number), str(description))))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == "fault":
            number, description = value
            _FAULTS[number]["handled" if report.passed else "not"].append(description)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _FAULTS:
        return
    handled = sum(len(r["handled"]) for r in _FAULTS.values())
    tried = handled + sum(len(r["not"]) for r in _FAULTS.values())
    write = terminalreporter.write_line
    terminalreporter.section("fault catalogue (issue 13)")
    for number in sorted(_FAULTS, key=lambda n: [int(p) for p in n.split(".") if p.isdigit()]):
        result = _FAULTS[number]
        write(f"  {number}: {len(result['handled'])} handled, {len(result['not'])} not")
        for description in result["not"]:
            write(f"      NOT HANDLED: {description}")
    write(f"faults tried: {tried}, handled: {handled}")
