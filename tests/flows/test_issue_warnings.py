"""The issue-warnings flow under Prefect: new forecast files -> CAP messages -> delivery.

Two SYNTHETIC forecasts arrive in one directory: the sample (issued 08:00 on 20 July) and a
later run of the same generator issued six hours on (so its typhoon and heat wave come six
hours later). The flow issues both, oldest first, then delivers once; a second run finds
nothing new and sends nothing.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from resilience.sample.forecast import write_sample_forecast
from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import AlertRecord

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def arrived(tmp_path_factory):
    root = tmp_path_factory.mktemp("warnings_flow")
    inbox = root / "inbox"
    later = write_sample_forecast(root / "later", issued="2026-07-20T14:00:00+08:00")
    inbox.mkdir()
    later.rename(inbox / "b_forecast_1400.nc")  # named so that the name order is the wrong one
    write_sample_forecast(root / "first").rename(inbox / "c_forecast_0800.nc")
    delivery = root / "delivery.yaml"
    delivery.write_text(f"agencies:\n  health:\n    file_drop: {root / 'drop'}\n")
    return root, inbox, delivery


def test_flow_issues_each_new_forecast_once_then_delivers(arrived, prefect_harness):
    from flows.issue_warnings import run_issue_warnings

    root, inbox, delivery = arrived
    url = f"sqlite:///{root / 'alerts.db'}"
    kwargs = {"database_url": url, "delivery_config": delivery}
    kwargs["replay_from"] = "2026-07-20T15:00:00+08:00"
    first = run_issue_warnings(inbox, root / "cap", **kwargs)
    assert [f.path.name for f in first.forecasts] == ["c_forecast_0800.nc", "b_forecast_1400.nc"]
    older, newer = first.forecasts
    assert older.new_messages > 100 and older.withdrawn == 0
    # the 14:00 forecast replaces the not-yet-due messages of the 08:00 one
    assert newer.withdrawn > 0 and newer.new_messages > 0
    # health takes its heat alerts as files: those due by 15:00 (the 08:00 heat Alerts)
    assert first.delivery is not None and first.delivery.delivered > 0
    assert first.delivery.failed == 0
    assert len(list((root / "drop").glob("*.xml"))) == first.delivery.delivered

    # one pass sends each agency's first due message of an episode; the Updates behind them
    # go on the next pass, never before their Alert and never twice
    again = run_issue_warnings(inbox, root / "cap", **kwargs)
    assert again.forecasts == []  # both files are known by their SHA-256
    delivered = first.delivery.delivered + again.delivery.delivered
    assert len(list((root / "drop").glob("*.xml"))) == delivered
    while again.delivery.attempted:
        again = run_issue_warnings(inbox, root / "cap", **kwargs)
        delivered += again.delivery.delivered
    assert len(list((root / "drop").glob("*.xml"))) == delivered  # no file was sent twice

    with session_scope(make_engine(url)) as session:
        records = list(session.scalars(select(AlertRecord)))
    by_identifier = {r.identifier for r in records}
    alerts = Counter((r.hazard, r.area, r.alert_key.split("|")[2]) for r in records
                     if r.msg_type == "Alert")  # fmt: skip
    assert max(alerts.values()) == 1  # never two Alerts for one episode
    for record in records:  # every reference resolves: the chains survived the withdrawals
        for triplet in record.references.split():
            assert triplet.split(",")[1] in by_identifier


def test_plain_run_of_the_same_sequence_is_idempotent(arrived, tmp_path):
    """``use_prefect=False`` runs the same steps as plain calls (settings ``use_prefect``)."""
    from flows.issue_warnings import run_issue_warnings

    _, inbox, _ = arrived
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    one = run_issue_warnings(inbox, tmp_path / "cap", database_url=url, use_prefect=False)
    two = run_issue_warnings(inbox, tmp_path / "cap", database_url=url, use_prefect=False)
    assert len(one.forecasts) == 2 and one.delivery is None
    assert two.forecasts == []
