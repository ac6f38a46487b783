"""Issue 13 item 3: the same forecast issued by three processes at once issues each message once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import func, select

from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import AlertRecord


def _issue(forecast: str, database_url: str, out_dir: str) -> tuple[int, str]:
    """Run the warnings on ``forecast`` in this process; return (messages, error or "")."""
    try:
        from resilience.early_warning.run import run_warnings
        from resilience.geodata.geography import open_districts

        run = run_warnings(
            Path(forecast),
            rules_path=None,
            districts=open_districts(),
            database_url=database_url,
            out_dir=Path(out_dir),
        )
        return len(run.messages), ""
    except Exception as error:  # noqa: BLE001 - reported to the parent test
        return -1, f"{type(error).__name__}: {error}"


@pytest.mark.fault("13.3", "three processes issuing one forecast store duplicate messages")
def test_three_processes_issue_each_message_once(tmp_path):
    from resilience.sample.forecast import write_sample_forecast

    forecast = write_sample_forecast(tmp_path / "forecast")
    url = f"sqlite:///{tmp_path / 'db' / 'alerts.db'}"
    make_engine(url).dispose()  # tables first, as a deployment has them
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        results = pool.starmap(
            _issue, [(str(forecast), url, str(tmp_path / f"cap{i}")) for i in range(3)]
        )
    assert [error for _, error in results] == ["", "", ""]
    engine = make_engine(url)
    with session_scope(engine) as session:
        rows = session.scalar(select(func.count()).select_from(AlertRecord))
        keys = session.scalar(select(func.count(func.distinct(AlertRecord.alert_key))))
    assert rows == keys  # one stored message per alert key: no duplicates
    assert {count for count, _ in results} == {rows}  # every run reports the same set
