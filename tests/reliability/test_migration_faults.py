"""Issue 13 item 16: a schema upgrade loses nothing, even when it fails or runs twice at once.

Each database is built as release 0.1.0 wrote it (the frozen DDL of
``tests/data/migrations``) with rows in it, two alerts sharing one ``alert_key``.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from resilience.storage.database import make_engine
from resilience.storage.migrations.migration import DatabaseSchemaError

DDL = Path(__file__).resolve().parents[1] / "data" / "migrations" / "release-0.1.0.sqlite.sql"
KEY = "heat|Pudong|20260701T0800|20260701T060000:0"
ROWS = [
    "INSERT INTO submissions VALUES (1, 'p', 'school', 121.5, 31.2, '{}', '2026-07-01 08:00')",
    "INSERT INTO check_results VALUES (1, 1, 'feasible', 3.0, '{}', '{}', '2026-07-01 08:00')",
    *(
        f"INSERT INTO alerts VALUES ({i}, 'id{i}', '{KEY}', 'heat', 'yellow', 'Alert', 'Pudong',"
        " '2026-07-01 08:00', '2026-07-01 08:00', '2026-07-01 20:00', '', '[]', '<alert/>',"
        " '2026-07-01 08:00')"
        for i in (1, 2)
    ),
    "INSERT INTO outbox_messages VALUES (1, 2, 'id2', 'smb', 'heat|Pudong|20260701T0800',"
    " '2026-07-01 08:00', '2026-07-01 20:00', 0, '2026-07-01 08:00')",
]


def release_database(path: Path, edit: tuple[str, str] = ("", "")) -> str:
    """Write the database as release 0.1.0 did; ``edit`` replaces a text in its DDL."""
    with sqlite3.connect(path) as connection:
        connection.executescript(DDL.read_text(encoding="utf-8").replace(*edit))
        for row in ROWS:
            connection.execute(row)
    return f"sqlite:///{path}"


def dump(path: Path) -> list[str]:
    """The whole file as SQL (schema and rows): equal dumps, nothing changed."""
    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {n for (n,) in connection.execute("SELECT name FROM sqlite_master")}


@pytest.mark.fault("13.16", "revision 0002 fails halfway (a leftover batch table is in the way)")
def test_a_failed_upgrade_leaves_the_database_as_it_was(tmp_path):
    path = tmp_path / "resilience.db"
    url = release_database(path)
    with sqlite3.connect(path) as connection:  # what a killed batch copy of old tools leaves
        connection.execute("CREATE TABLE _alembic_tmp_alerts (id INTEGER)")
    before = dump(path)
    with pytest.raises(Exception, match="_alembic_tmp_alerts"):
        make_engine(url)
    # One transaction: no stamp, no report table, no renamed key, every row as it was.
    assert dump(path) == before
    assert "alembic_version" not in tables(path)
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE _alembic_tmp_alerts")
    make_engine(url).dispose()  # once the obstacle is gone, the upgrade completes
    with sqlite3.connect(path) as connection:
        keys = [k for (k,) in connection.execute("SELECT alert_key FROM alerts ORDER BY id")]
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("0003",)
        ]
    assert keys == [KEY, f"{KEY}#duplicate-2"]


@pytest.mark.fault("13.16", "tables of release 0.1.0 edited by hand (a column dropped)")
def test_a_release_database_that_differs_from_0001_is_refused_unchanged(tmp_path):
    path = tmp_path / "resilience.db"
    url = release_database(path)
    with sqlite3.connect(path) as connection:
        connection.execute("ALTER TABLE submissions DROP COLUMN lat")
    before = dump(path)
    with pytest.raises(DatabaseSchemaError, match="add_column submissions lat"):
        make_engine(url)
    assert dump(path) == before


@pytest.mark.fault("13.16", "tables of release 0.1.0 edited by hand (a column's type changed)")
def test_a_release_database_with_another_column_type_is_refused_unchanged(tmp_path):
    path = tmp_path / "resilience.db"
    url = release_database(path, ("project_name VARCHAR(200)", "project_name VARCHAR(100)"))
    before = dump(path)
    with pytest.raises(
        DatabaseSchemaError,
        match=r"modify_type submissions.project_name: VARCHAR\(length=100\) in the database",
    ):
        make_engine(url)
    assert dump(path) == before


@pytest.mark.fault("13.16", "a database stamped by a newer release (revision 0099)")
def test_a_database_from_a_newer_release_is_refused_unchanged(tmp_path):
    path = tmp_path / "resilience.db"
    make_engine(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    before = dump(path)
    with pytest.raises(DatabaseSchemaError, match="revision '0099'.*newer release"):
        make_engine(f"sqlite:///{path}")
    assert dump(path) == before


@pytest.mark.fault("13.16", "four processes open a release-0.1.0 database at the same moment")
def test_concurrent_first_opens_upgrade_once(tmp_path):
    path = tmp_path / "resilience.db"
    url = release_database(path)
    code = f"from resilience.storage.database import make_engine; make_engine({url!r})"
    workers = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [(w.wait(timeout=120), w.stderr.read() if w.stderr else "") for w in workers]
    assert [code for code, _ in errors] == [0] * 4, errors
    # Exactly one upgrade ran: one warning among the four, one report row, one rename.
    assert sum("held by more than one alerts row" in err for _, err in errors) == 1
    with sqlite3.connect(path) as connection:
        reports = connection.execute("SELECT row_id, old_value FROM migration_reports").fetchall()
        keys = [k for (k,) in connection.execute("SELECT alert_key FROM alerts ORDER BY id")]
        outbox = connection.execute("SELECT alert_id FROM outbox_messages").fetchall()
    assert reports == [(2, KEY)]
    assert keys == [KEY, f"{KEY}#duplicate-2"]
    assert outbox == [(2,)]  # the outbox still points at the renamed row, by id
