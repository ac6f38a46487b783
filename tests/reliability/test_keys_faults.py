"""Faults of the API keys file and of stored webhook targets (issue 13, item 14).

* ``resilience keys add --label $'ops\\x7f'`` replaced the keys file before checking it, so
  every API call then answered 500;
* eight concurrent ``keys add`` returned eight keys and stored two;
* the keys file was ``rw-r--r--`` while it was written;
* a corrupt keys file gave a 500 on every request instead of an error naming file and line;
* webhook URLs with credentials were stored in plain text in ``outbox_deliveries.target``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import stat
import threading
import warnings
from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import xarray as xr
from sqlalchemy import select
from typer.testing import CliRunner

from resilience.api.app import ApiKeyError, create_app, hash_api_key, issue_api_key, load_api_keys
from resilience.cli.main import app as cli
from resilience.settings import Settings

AT = "2026-07-20T20:30:00+08:00"
runner = CliRunner(env={"COLUMNS": "200"})


def _client(app):  # noqa: ANN202 - TestClient
    with warnings.catch_warnings():  # starlette deprecates its httpx-based client; still works
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    return TestClient(app, raise_server_exceptions=False)


def _app(folder: Path):  # noqa: ANN202 - FastAPI
    settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'alerts.db'}")
    return create_app(settings, clock=lambda: datetime.fromisoformat(AT))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --------------------------------------------------------------------------- labels


@pytest.mark.fault("13.14", "keys add with a control character in the label breaks the API")
@pytest.mark.parametrize("label", ["ops\x7f", "ops\ncentre", "ops\x00", "ops\u2028", "x" * 201])
def test_bad_label_is_refused_before_the_keys_file_is_touched(tmp_path, label):
    keys = tmp_path / "api_keys.toml"
    good = issue_api_key(keys, "transport", label="ops centre")
    before = keys.read_bytes()
    result = runner.invoke(cli, ["keys", "add", "health", "--keys", str(keys), "--label", label])
    assert result.exit_code == 2
    assert "label: expected" in result.output  # names the field and what it expects
    assert keys.read_bytes() == before  # nothing written
    with _client(_app(tmp_path)) as client:
        answer = client.get("/v1/alerts", headers={"Authorization": f"Bearer {good}"})
    assert answer.status_code == 200, answer.text


@pytest.mark.fault("13.14", "keys add with a control character in the agency id")
def test_bad_agency_id_is_refused_before_writing(tmp_path):
    keys = tmp_path / "api_keys.toml"
    issue_api_key(keys, "transport")
    before = keys.read_bytes()
    for agency, expected in [
        ("trans\x7fport", "agency: expected printable characters only"),
        ("", "agency: expected a non-empty agency id"),
        ("a" * 65, "agency: expected at most 64 characters, found 65"),
    ]:
        with pytest.raises(ApiKeyError, match=expected):
            issue_api_key(keys, agency)
        assert keys.read_bytes() == before
    # printable non-ASCII labels are fine and round-trip
    issue_api_key(keys, "transport", label='运营 "ops" \\ centre')
    assert list(load_api_keys(keys).values()) == ["transport", "transport"]


# --------------------------------------------------------------------------- concurrency


def _issue_after(barrier, path: str, agency: str, out) -> None:  # noqa: ANN001
    barrier.wait()
    out.put(issue_api_key(Path(path), agency, label=f"worker {agency}"))


@pytest.mark.fault("13.14", "eight concurrent keys add store two keys (threads)")
def test_eight_concurrent_adds_in_threads_store_eight_keys(tmp_path):
    keys, barrier, issued = tmp_path / "api_keys.toml", threading.Barrier(8), []

    def add(n: int) -> None:
        barrier.wait()  # all eight read-modify-write at the same moment
        issued.append(issue_api_key(keys, "transport", label=f"worker {n}"))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(set(issued)) == 8
    assert set(load_api_keys(keys)) == {hash_api_key(k) for k in issued}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api_keys.toml", "api_keys.toml.lock"]


@pytest.mark.fault("13.14", "eight concurrent keys add store two keys (processes)")
def test_eight_concurrent_adds_in_processes_store_eight_keys(tmp_path):
    # separate processes, as eight CLI runs; fork (Linux) spares eight imports of the app
    context = multiprocessing.get_context("fork")
    barrier, out = context.Barrier(8), context.Queue()
    keys = tmp_path / "api_keys.toml"
    workers = [
        context.Process(target=_issue_after, args=(barrier, str(keys), agency, out))
        for agency in ("transport", "health", "power", "water_authority") * 2
    ]
    for worker in workers:
        worker.start()
    issued = [out.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert [w.exitcode for w in workers] == [0] * 8
    stored = load_api_keys(keys)
    assert set(stored) == {hash_api_key(k) for k in issued}
    assert sorted(stored.values()) == sorted(
        ["transport", "health", "power", "water_authority"] * 2
    )


# --------------------------------------------------------------------------- file mode


@contextmanager
def _modes_seen() -> Iterator[list[tuple[str, int]]]:
    """Record the mode of every file at each ``os.fsync`` and ``os.replace`` (real calls)."""
    seen: list[tuple[str, int]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            seen.append(("fsync", stat.S_IMODE(os.fstat(fd).st_mode)))
        real_fsync(fd)

    def replace(src, dst) -> None:  # noqa: ANN001
        seen.append(("replace", stat.S_IMODE(os.stat(src).st_mode)))
        real_replace(src, dst)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "fsync", fsync)
        patch.setattr(os, "replace", replace)
        yield seen


@pytest.mark.fault("13.14", "keys file is 0644 while it is written")
@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_keys_file_is_0600_from_creation(tmp_path, umask):
    keys = tmp_path / "api_keys.toml"
    old = os.umask(umask)
    try:
        with _modes_seen() as seen:
            issue_api_key(keys, "transport")  # creates the file
            issue_api_key(keys, "health")  # replaces it
    finally:
        os.umask(old)
    assert [kind for kind, _ in seen].count("replace") == 2
    assert {mode for _, mode in seen} == {0o600}  # with its bytes, and when it is renamed
    assert _mode(keys) == 0o600 and _mode(tmp_path / "api_keys.toml.lock") == 0o600


# --------------------------------------------------------------------------- corrupt file


@pytest.mark.fault("13.14", "a corrupt keys file gives 500 on every request")
def test_corrupt_keys_file_names_file_and_line_and_api_fails_closed(tmp_path, caplog):
    keys = tmp_path / "api_keys.toml"
    good = issue_api_key(keys, "transport", label="ops")
    app = _app(tmp_path)
    text = keys.read_text(encoding="utf-8")
    keys.write_text(text + '\n[[keys]]\nagency = "health"\nlabel = "ops\x7f"\n', encoding="utf-8")
    line = len(text.splitlines()) + 4
    with pytest.raises(ApiKeyError, match=rf"api_keys.toml: line {line}: expected valid TOML"):
        load_api_keys(keys)
    with caplog.at_level(logging.ERROR, logger="resilience.api.app"), _client(app) as client:
        answer = client.get("/v1/alerts", headers={"Authorization": f"Bearer {good}"})
    assert answer.status_code == 503, answer.text
    assert answer.json()["detail"] == "API keys unavailable: the keys file is invalid"
    assert f"api_keys.toml: line {line}" in caplog.text  # the operator learns what to repair
    with pytest.raises(ApiKeyError, match=rf"line {line}"):
        _app(tmp_path)  # a server does not start on it
    before = keys.read_bytes()
    with pytest.raises(ApiKeyError, match=rf"line {line}"):
        issue_api_key(keys, "power")  # nor is it overwritten
    assert keys.read_bytes() == before
    keys.write_bytes(b'# keys\n[[keys]]\nagency = "h\xffealth"\n')
    with pytest.raises(ApiKeyError, match=r"api_keys.toml: line 3: expected UTF-8"):
        load_api_keys(keys)
    keys.write_text("keys = 3\n")
    with pytest.raises(ApiKeyError, match=r"api_keys.toml: keys: expected \[\[keys\]\] tables"):
        load_api_keys(keys)


# --------------------------------------------------------------------------- webhook secrets


class _Receiver(BaseHTTPRequestHandler):
    """Webhook that records path and Authorization; fails once echoing the URL it was given."""

    seen: list[tuple[str, str]] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet."""

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.seen.append((self.path, self.headers.get("Authorization", "")))
        first = len(self.seen) == 1
        body = f"try again: {self.path}".encode() if first else b""
        self.send_response(503 if first else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _one_alert(folder: Path):  # noqa: ANN202 - Engine
    """The sample forecast's Huangpu rainstorm messages, stored with their outbox rows."""
    from resilience.early_warning.availability import runnable_rules
    from resilience.early_warning.engine import evaluate_rules
    from resilience.early_warning.lifecycle import issue_alerts
    from resilience.early_warning.outbox import ensure_outbox_tables
    from resilience.early_warning.rules import load_rules
    from resilience.geodata.geography import open_districts
    from resilience.sample.forecast import write_sample_forecast
    from resilience.storage.database import make_engine

    rules, _ = runnable_rules(load_rules())
    with xr.open_dataset(write_sample_forecast(folder)) as forecast:
        decisions = evaluate_rules(forecast.load(), rules, open_districts())
    chosen = [d for d in decisions if d.hazard == "rainstorm"][:1]
    assert chosen, "the sample forecast has a rainstorm episode"
    engine = make_engine(f"sqlite:///{folder / 'alerts.db'}")
    ensure_outbox_tables(engine)
    issue_alerts(chosen, engine=engine, out_dir=folder / "cap", sender="t@x")
    return engine


@pytest.mark.fault("13.14", "webhook credentials stored in plain text in the outbox target")
def test_webhook_secrets_stay_out_of_stored_targets_errors_and_logs(tmp_path, receiver, caplog):
    from resilience.early_warning.delivery import deliver_due
    from resilience.early_warning.delivery_config import DeliveryConfig
    from resilience.early_warning.outbox import utc
    from resilience.storage.database import session_scope
    from resilience.storage.tables import DeliveryAttempt, DeliveryRecord, OutboxMessage

    engine = _one_alert(tmp_path)
    with session_scope(engine) as session:
        agency, due = session.execute(select(OutboxMessage.agency, OutboxMessage.due_at)).first()
    clock = lambda: utc(due) + timedelta(minutes=1)  # noqa: E731 - the first message is due
    url = f"http://ops:s3cr3t-pw@{receiver}/cap?token=t0ken-value&region=sh"
    config = DeliveryConfig.model_validate(
        {
            "agencies": {agency: {"webhook": {"url": url}}},
            "retry": {"base_delay_s": 0.0, "jitter": 0.0},
            "record_every": 1,
        }
    )
    with caplog.at_level(logging.INFO):
        reports = [deliver_due(engine, config, clock=clock) for _ in range(3)]
    assert sum(r.delivered for r in reports) >= 1 and sum(r.retried for r in reports) == 1
    # delivery works: the receiver got the token and the credentials, from the configuration
    basic = "Basic " + b64encode(b"ops:s3cr3t-pw").decode()
    assert {(path, auth) for path, auth in _Receiver.seen} == {
        ("/cap?token=t0ken-value&region=sh", basic)
    }
    with session_scope(engine) as session:
        targets = set(session.scalars(select(DeliveryRecord.target)))
        errors = [e for e in session.scalars(select(DeliveryAttempt.error)) if e]
        errors += [e for e in session.scalars(select(DeliveryRecord.last_error)) if e]
    assert targets == {f"http://***@{receiver}/cap?token=***&region=sh"}
    assert errors and all("t0ken-value" not in e for e in errors), errors
    for secret in ("s3cr3t-pw", "t0ken-value"):
        assert secret not in caplog.text, caplog.text
    assert "HTTP Request: POST http://***@" in caplog.text  # httpx's log line, redacted


@pytest.mark.fault("13.14", "targets stored in plain text before the fix stay there")
def test_plain_targets_of_old_rows_are_redacted_and_still_delivered(tmp_path, receiver):
    from resilience.early_warning.delivery import deliver_due
    from resilience.early_warning.delivery_config import DeliveryConfig
    from resilience.early_warning.outbox import plan_deliveries, utc
    from resilience.storage.database import session_scope
    from resilience.storage.tables import DeliveryRecord, OutboxMessage

    engine = _one_alert(tmp_path)
    with session_scope(engine) as session:
        agency, due = session.execute(select(OutboxMessage.agency, OutboxMessage.due_at)).first()
    clock = lambda: utc(due) + timedelta(minutes=1)  # noqa: E731 - the first message is due
    url = f"http://ops:s3cr3t-pw@{receiver}/cap?access_token=t0ken-value"
    plan_deliveries(engine, {agency: [("webhook", url)]})  # as the old code stored it
    config = DeliveryConfig.model_validate(
        {"agencies": {agency: {"webhook": {"url": url}}}, "retry": {"base_delay_s": 0.0}}
    )
    for _ in range(3):
        deliver_due(engine, config, clock=clock)
    with session_scope(engine) as session:
        rows = session.execute(select(DeliveryRecord.target, DeliveryRecord.state)).all()
    assert {target for target, _ in rows} == {f"http://***@{receiver}/cap?access_token=***"}
    assert "delivered" in {state for _, state in rows}
