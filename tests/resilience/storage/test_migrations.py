"""Schema migrations: release 0.1.0's databases upgrade in place, fresh ones reach the head.

On SQLite files and on a private PostgreSQL cluster the test starts on 127.0.0.1 (skipped
only when the PostgreSQL binaries are missing outside CI; in CI it must run). The release
database is built from the DDL of release 0.1.0 frozen in ``tests/data/migrations``.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

import resilience.early_warning.intake  # noqa: F401 - registers forecast_runs on Base
import resilience.early_warning.supersede  # noqa: F401 - registers alert_withdrawals on Base
from resilience.storage.database import make_engine, upgrade_schema
from resilience.storage.migrations.migration import head_revision, upgrade_database
from resilience.storage.migrations.versions import r0001_initial
from resilience.storage.tables import Base

DATA = Path(__file__).resolve().parents[2] / "data" / "migrations"
RELEASE_TABLES = sorted(r0001_initial.schema().tables)
T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def release_ddl(dialect: str) -> str:
    return (DATA / f"release-0.1.0.{dialect}.sql").read_text(encoding="utf-8")


def _alert(row_id: int, key: str) -> dict:
    return {
        "id": row_id,
        "identifier": f"urn:oid:2.49.0.1.156.0.2026.{row_id}",
        "alert_key": key,
        "hazard": "heat",
        "level": "yellow",
        "msg_type": "Alert",
        "area": "Pudong",
        "sent": T0,
        "onset": T0,
        "expires": T0,
        "references": "",
        "agencies": ["smb"],
        "cap_xml": "<alert/>",
        "created": T0,
    }


def release_rows() -> dict[str, list[dict]]:
    """A few rows in every table of release 0.1.0, two alerts sharing one alert_key."""
    key = "heat|Pudong|20260701T0800|20260701T060000:0"
    return {
        "submissions": [
            {"id": i, "project_name": f"p{i}", "asset_type": "school", "lon": 121.5,
             "lat": 31.2, "payload": {"n": i}, "created": T0}
            for i in (1, 2)
        ],
        "check_results": [
            {"id": 1, "submission_id": 1, "verdict": "feasible", "score": 3.0,
             "layer_versions": {"heat": "v1"}, "payload": {}, "created": T0}
        ],
        "alerts": [_alert(1, key), _alert(2, key), _alert(3, key.replace(":0", ":1"))],
        "alert_withdrawals": [
            {"id": 1, "identifier": "w1", "alert_key": key, "hazard": "heat", "area": "Pudong",
             "msg_type": "Alert", "level": "yellow", "sent": T0, "withdrawn_at": T0,
             "by_forecast": "20260701T070000", "cap_xml": "<alert/>"}
        ],
        "forecast_runs": [
            {"id": 1, "sha256": "ab" * 32, "path": "/f.nc", "issued": "2026-07-01T06:00",
             "messages": 3, "new_messages": 3, "withdrawn": 1, "processed_at": T0}
        ],
        "outbox_messages": [
            {"id": i, "alert_id": i, "identifier": f"m{i}", "agency": "smb",
             "episode": "heat|Pudong|20260701T0800", "due_at": T0, "expires": T0,
             "planned": False, "created": T0}
            for i in (1, 2)
        ],
        "outbox_deliveries": [
            {"id": 1, "outbox_id": 1, "channel": "file", "target": "/out", "state": "pending",
             "attempts": 1, "next_attempt_at": T0, "lease_until": None, "lease_owner": None,
             "last_status": None, "last_error": "", "delivered_at": None}
        ],
        "outbox_attempts": [
            {"id": 1, "delivery_id": 1, "number": 1, "worker": "w", "started": T0,
             "finished": None, "outcome": "in_flight", "http_status": None, "error": "",
             "duration_ms": None}
        ],
    }  # fmt: skip


def write_release_database(engine: Engine, dialect: str) -> None:
    """Make the database as release 0.1.0 left it: its DDL, then rows in every table."""
    with engine.begin() as connection:
        if dialect == "sqlite":
            connection.connection.driver_connection.executescript(release_ddl(dialect))
        else:
            connection.exec_driver_sql(release_ddl(dialect))
    tables = r0001_initial.schema().tables
    with engine.begin() as connection:
        for name, rows in release_rows().items():  # parents first: dict order
            connection.execute(insert(tables[name]), rows)


def snapshot(engine: Engine) -> dict[str, list[dict]]:
    """Every row of every table of 0.1.0, ordered by id."""
    metadata = MetaData()
    metadata.reflect(engine, only=RELEASE_TABLES)
    with engine.connect() as connection:
        return {
            name: [dict(r._mapping) for r in connection.execute(select(table).order_by(table.c.id))]
            for name, table in metadata.tables.items()
            if name in RELEASE_TABLES  # not api_keys, reflected as check_results' referent
        }


def model_differences(engine: Engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def revision_of(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def assert_upgraded_in_place(before: dict, engine: Engine, caplog: pytest.LogCaptureFixture):
    after = snapshot(engine)
    # Every row kept: same ids, same values, except the later duplicate's key.
    assert {t: len(r) for t, r in after.items()} == {t: len(r) for t, r in before.items()}
    renamed = dict(before["alerts"][1], alert_key=before["alerts"][1]["alert_key"] + "#duplicate-2")
    checks = [dict(r, owner_key_id=None, result_hash=None) for r in before["check_results"]]
    alerts = [before["alerts"][0], renamed, before["alerts"][2]]
    expected = dict(before, alerts=alerts, check_results=checks)  # 0003 adds two columns
    assert after == expected
    with engine.connect() as connection:
        reports = connection.execute(
            text("SELECT revision, table_name, row_id, old_value, new_value FROM migration_reports")
        ).all()
    key = before["alerts"][0]["alert_key"]
    assert [tuple(r) for r in reports] == [("0002", "alerts", 2, key, f"{key}#duplicate-2")]
    assert "1 alert_key value(s) held by more than one alerts row" in caplog.text
    assert key in caplog.text
    assert revision_of(engine) == head_revision() == "0003"
    assert model_differences(engine) == []


def test_revision_0001_emits_the_ddl_of_release_0_1_0(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'r1.db'}")
    with engine.begin() as connection:
        assert upgrade_database(connection, "0001").after == "0001"
    with engine.connect() as connection:
        made = {
            sql + ";"
            for (sql,) in connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name != 'alembic_version'"
                " AND name NOT LIKE 'sqlite_%'"
            )
        }
    frozen = {
        s.strip() + ";"
        for s in "\n".join(
            line for line in release_ddl("sqlite").splitlines() if not line.startswith("--")
        ).split(";")
        if s.strip()
    }
    assert made == frozen


def test_release_database_upgrades_in_place_on_sqlite(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'resilience.db'}"
    write_release_database(create_engine(url), "sqlite")
    before = snapshot(create_engine(url))
    with caplog.at_level(logging.WARNING, logger="resilience.storage.migrations"):
        engine = make_engine(url)
    assert_upgraded_in_place(before, engine, caplog)
    assert upgrade_schema(engine) is None  # at the head: the next make_engine does nothing


def test_fresh_database_is_at_head_and_matches_the_models(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert revision_of(engine) == head_revision()
    assert model_differences(engine) == []


def test_in_memory_database_is_at_head():
    engine = make_engine("sqlite://")
    assert revision_of(engine) == head_revision()


def test_alert_key_is_unique_after_the_upgrade(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'u.db'}")
    alerts = r0001_initial.schema().tables["alerts"]
    with engine.begin() as connection:
        connection.execute(insert(alerts), [_alert(1, "k")])
    with pytest.raises(IntegrityError, match="alert_key"), engine.begin() as connection:
        connection.execute(insert(alerts), [_alert(2, "k")])


# --- PostgreSQL: a private cluster on 127.0.0.1 ---------------------------------------


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[Callable[[], str]]:
    """Start a throwaway PostgreSQL cluster; yield a factory of new, empty database URLs.

    initdb refuses root, so as root the cluster runs as the ``postgres`` user. Skipped only
    when the binaries are absent and ``CI`` is unset; in CI a missing server fails the test.
    """
    binaries = _postgres_bin()
    if binaries is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries missing in CI: .ci/run installs them (apt)")
        pytest.skip("PostgreSQL binaries not installed (/usr/lib/postgresql/*/bin)")
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="resilience-pg-"))  # short: a socket path limit
    if run_as:
        shutil.chown(folder, "postgres")
    port = _free_port()
    subprocess.run(
        [*run_as, binaries / "initdb", "-D", folder / "data", "-A", "trust", "-U", "resilience",
         "--no-sync", "-E", "UTF8"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-k {folder} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*run_as, binaries / "pg_ctl", "-D", folder / "data", "-l", folder / "log", "-w",
         "-o", options, "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    admin = create_engine(
        f"postgresql+psycopg://resilience@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT"
    )

    def new_database() -> str:
        name = f"db_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://resilience@127.0.0.1:{port}/{name}"

    try:
        yield new_database
    finally:
        admin.dispose()
        subprocess.run(
            [*run_as, binaries / "pg_ctl", "-D", folder / "data", "-m", "immediate", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def test_release_database_upgrades_in_place_on_postgresql(postgres, caplog):
    url = postgres()
    old = create_engine(url)
    write_release_database(old, "postgresql")
    before = snapshot(old)
    old.dispose()
    with caplog.at_level(logging.WARNING, logger="resilience.storage.migrations"):
        engine = make_engine(url)
    try:
        assert_upgraded_in_place(before, engine, caplog)
    finally:
        engine.dispose()


def test_fresh_postgresql_database_is_at_head_and_unique(postgres):
    engine = make_engine(postgres())
    try:
        assert revision_of(engine) == head_revision()
        assert model_differences(engine) == []
        alerts = r0001_initial.schema().tables["alerts"]
        with engine.begin() as connection:
            connection.execute(insert(alerts), [_alert(1, "k")])
        with pytest.raises(IntegrityError, match="uq_alerts_alert_key"), engine.begin() as c:
            c.execute(insert(alerts), [_alert(2, "k")])
    finally:
        engine.dispose()


def test_db_commands_read_and_upgrade_a_release_database(tmp_path):
    from typer.testing import CliRunner

    from resilience.cli.db import db_app

    url = f"sqlite:///{tmp_path / 'resilience.db'}"
    write_release_database(create_engine(url), "sqlite")
    runner = CliRunner()
    current = runner.invoke(db_app, ["current", "--database-url", url])
    assert current.exit_code == 0, current.output
    assert "revision none" in current.output
    assert revision_of(create_engine(url)) is None  # `current` changed nothing
    upgraded = runner.invoke(db_app, ["upgrade", "--database-url", url])
    assert upgraded.exit_code == 0, upgraded.output
    assert "database at revision 0003" in upgraded.output
    assert "alerts.id 2" in upgraded.output and "#duplicate-2" in upgraded.output


def test_concurrent_first_opens_on_postgresql_upgrade_once(postgres):
    url = postgres()
    old = create_engine(url)
    write_release_database(old, "postgresql")
    old.dispose()
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            make_engine(url).dispose()
        except BaseException as error:  # reported below, with the others
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    engine = create_engine(url)
    with engine.connect() as connection:
        reports = connection.execute(text("SELECT row_id FROM migration_reports")).all()
    engine.dispose()
    assert [tuple(r) for r in reports] == [(2,)]


def test_downgrade_to_0001_gives_back_the_release_schema(tmp_path):
    from alembic.runtime.environment import EnvironmentContext

    from resilience.storage.migrations import migration

    engine = make_engine(f"sqlite:///{tmp_path / 'down.db'}")
    script = migration._script()
    with engine.begin() as connection:
        steps = lambda revision, _context: script._downgrade_revs("0001", revision)  # noqa: E731
        with EnvironmentContext(migration._config(), script, fn=steps) as env:
            env.configure(connection=connection, render_as_batch=True)
            env.run_migrations()
    assert revision_of(engine) == "0001"
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, r0001_initial.schema()) == []


# --- revision 0003: keys, check owners and hashes, decisions ---------------------------


def _upgrade_0002_database_with_checks(url: str) -> Engine:
    """A database at 0002 with two checks (one whose payload has a result_hash), upgraded."""
    old = create_engine(url)
    with old.begin() as connection:
        upgrade_database(connection, "0002")
    tables = r0001_initial.schema().tables
    rows = release_rows()
    digest = "ab" * 32
    checks = [
        dict(rows["check_results"][0], payload={"result_hash": digest}),
        dict(rows["check_results"][0], id=2, submission_id=2),
    ]
    with old.begin() as connection:
        connection.execute(insert(tables["submissions"]), rows["submissions"])
        connection.execute(insert(tables["check_results"]), checks)
    old.dispose()
    return make_engine(url)


def _assert_0003_applied(engine: Engine) -> None:
    assert revision_of(engine) == "0003" and model_differences(engine) == []
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT id, owner_key_id, result_hash FROM check_results ORDER BY id")
        ).all()
    assert [tuple(r) for r in found] == [(1, None, "ab" * 32), (2, None, None)]


def test_revision_0003_fills_result_hashes_on_sqlite(tmp_path):
    engine = _upgrade_0002_database_with_checks(f"sqlite:///{tmp_path / 'r3.db'}")
    _assert_0003_applied(engine)


def test_revision_0003_fills_result_hashes_on_postgresql(postgres):
    engine = _upgrade_0002_database_with_checks(postgres())
    try:
        _assert_0003_applied(engine)
    finally:
        engine.dispose()
