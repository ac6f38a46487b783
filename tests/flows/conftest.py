"""Fixtures shared by the flow tests: Prefect's test harness (about 12 s) and one run of
``resilience demo`` on the bundled sample that several modules read: once per session, and
once in all, since the modules that read it are scheduled as one unit (tests/conftest.py,
DEMO_FILES; 90 s alone, about 2.5 min when two workers each built it at once)."""

import os
import shutil
from pathlib import Path

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
    link_copy(out, out.with_name(out.name + "-pristine"))  # as `make demo` left it
    return out, result.output


def link_copy(source: Path, target: Path) -> Path:
    """Copy a demo output folder by hard links, but the SQLite databases by value.

    The commands replace files by rename (a new inode), never in place, except SQLite,
    so the copy keeps the state it was taken in while tests write into ``source``.
    """
    shutil.copytree(source, target, copy_function=os.link)
    for db in target.rglob("*.db"):
        db.unlink()
        shutil.copy2(source / db.relative_to(target), db)
    return target


@pytest.fixture(scope="session")
def demo_pristine(demo_run) -> Path:
    """The demo's output folder as the demo left it (before any test wrote into it)."""
    out, _ = demo_run
    return out.with_name(out.name + "-pristine")
