"""``resilience warn deliver``: the plan, --dry-run, --requeue, progress and a clean Ctrl-C.

The receiver is a real HTTP server on 127.0.0.1; the Ctrl-C test runs the command in a
subprocess and sends it SIGINT while the receiver holds a delivery.
"""

from __future__ import annotations

import hashlib
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from resilience.cli.main import app
from resilience.early_warning.delivery import idempotency_key
from resilience.early_warning.delivery_plan import plan_delivery, requeue_deliveries
from resilience.early_warning.dispatch import outbox_counts
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.lifecycle import issue_alerts
from resilience.early_warning.outbox import alert_time, ensure_outbox_tables
from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import AlertRecord, DeliveryAttempt, DeliveryRecord, OutboxMessage

ISSUED = datetime.fromisoformat("2026-07-20T08:00:00+08:00")


@dataclass
class Receiver:
    """A webhook that holds each request ``delay_s`` and counts every key it was sent."""

    delay_s: float = 0.0
    keys: list[str] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""


@contextmanager
def webhook(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet."""

        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.started.set()
            time.sleep(receiver.delay_s)
            with receiver.lock:
                receiver.keys.append(self.headers.get("Idempotency-Key", ""))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    receiver.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield receiver
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


_TEMPLATE: dict = {}


@pytest.fixture
def alert_db(make_forecast, rules, districts, tmp_path, tmp_path_factory) -> Path:
    """Rainstorm episodes in Huangpu and Xuhui (Alert, Updates, Cancel), dated July 2026."""
    if not _TEMPLATE:
        ds = make_forecast()
        ds["pr"][:, 5] = np.float32(36.0)
        ds["pr"][:, 6] = np.float32(51.0)
        decisions = [
            d
            for d in evaluate_rules(ds, rules, districts)
            if d.hazard == "rainstorm" and d.area.code in ("310101", "310104")
        ]
        folder = tmp_path_factory.mktemp("deliver_command")
        engine = make_engine(f"sqlite:///{folder / 'alerts.db'}")
        ensure_outbox_tables(engine)
        issue_alerts(decisions, engine=engine, out_dir=folder / "cap", sender="t@x", now=ISSUED)
        engine.dispose()
        _TEMPLATE["db"] = folder / "alerts.db"
    shutil.copy(_TEMPLATE["db"], tmp_path / "alerts.db")
    return tmp_path / "alerts.db"


def _files(folder: Path, url: str, *, concurrency: int = 4) -> tuple[Path, Path]:
    """Write the settings TOML and a delivery YAML (transport's webhook at ``url``)."""
    settings = folder / "settings.toml"
    settings.write_text(f'database_url = "sqlite:///{folder / "alerts.db"}"\n')
    delivery = folder / "delivery.yaml"
    delivery.write_text(
        "retry: {base_delay_s: 0.05, max_delay_s: 1, jitter: 0}\n"
        f"concurrency: {concurrency}\nattempt_deadline_s: 10\nrecord_every: 1\n"
        f"agencies:\n  transport:\n    webhook: {{url: '{url}/cap/transport'}}\n"
    )
    return settings, delivery


def _deliver(settings: Path, delivery: Path, *extra: str) -> str:
    args = ["warn", "deliver", "--config", str(delivery), "--settings", str(settings), *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def _window(db: Path) -> tuple[datetime, datetime]:
    """Return the last ``sent`` and the first ``expires`` of the stored messages."""
    engine = make_engine(f"sqlite:///{db}")
    with session_scope(engine) as session:
        records = list(session.scalars(select(AlertRecord)))
        window = (
            max(alert_time(r.sent) for r in records),
            min(alert_time(r.expires) for r in records),
        )
    engine.dispose()
    return window


def test_dry_run_prints_the_plan_and_changes_nothing(alert_db: Path):
    settings, delivery = _files(alert_db.parent, "http://127.0.0.1:9")
    before = hashlib.sha256(alert_db.read_bytes()).hexdigest()
    output = _deliver(settings, delivery, "--dry-run")
    assert hashlib.sha256(alert_db.read_bytes()).hexdigest() == before
    assert "Delivery plan at" in output and "system clock" in output
    assert "send 0 due now" in output
    assert "expired: their CAP expires passed" in output
    assert "--replay-from 2026-07-20T08:00+08:00" in output  # the first message's time
    assert "dry run: nothing changed" in output
    replayed = _deliver(settings, delivery, "--dry-run", "--replay-from", "2026-07-20T08:30+08:00")
    assert "replay clock from 2026-07-20T08:30+08:00" in replayed
    assert "would expire" in replayed and "  mark " not in replayed  # nothing expires then
    assert hashlib.sha256(alert_db.read_bytes()).hexdigest() == before


def test_plan_counts_due_expiring_and_later(alert_db: Path):
    engine = make_engine(f"sqlite:///{alert_db}")
    channels = {"transport": [("webhook", "http://x/cap")]}
    at = ISSUED + timedelta(minutes=30)
    plan = plan_delivery(engine, channels, now=at)  # nothing queued yet: counted all the same
    with session_scope(engine) as session:
        messages = [r for r in session.scalars(select(AlertRecord)) if "transport" in r.agencies]
    due = sum(alert_time(r.sent) <= at for r in messages)
    assert (plan.total("due"), plan.total("later"), plan.total("expire")) == (
        due,
        len(messages) - due,
        0,
    )
    assert outbox_counts(engine).get("pending", 0) == 0  # planning wrote nothing
    late = plan_delivery(engine, channels, now=ISSUED + timedelta(days=365))
    assert late.total("expire") == len(messages) and late.first_expiring == ISSUED


def _sent_times(db: Path) -> list[datetime]:
    engine = make_engine(f"sqlite:///{db}")
    with session_scope(engine) as session:
        times = sorted({alert_time(r.sent) for r in session.scalars(select(AlertRecord))})
    engine.dispose()
    return times


def test_requeue_expired_then_replay_delivers_each_message_once(alert_db: Path):
    channels = {"transport": [("webhook", "http://x/cap")]}
    with webhook(Receiver()) as receiver:
        settings, delivery = _files(alert_db.parent, receiver.url)
        first = _deliver(settings, delivery, "--once")  # the system clock: all past expiry
        assert "failed 0" in first and receiver.keys == []
        engine = make_engine(f"sqlite:///{alert_db}")
        expired = outbox_counts(engine)["expired"]
        assert expired > 0 and outbox_counts(engine).get("pending", 0) == 0
        times = _sent_times(alert_db)  # replay the exercise at each time a message falls due
        again = _deliver(
            settings,
            delivery,
            "--once",
            "--requeue",
            "expired",
            "--replay-from",
            times[0].isoformat(),
        )
        assert f"requeued {expired} expired deliveries" in again
        for at in times:
            for _ in range(4):  # an Update waits for its Alert: one more pass per step
                if plan_delivery(engine, channels, now=at).total("due") == 0:
                    break
                _deliver(settings, delivery, "--once", "--replay-from", at.isoformat())
        counts = outbox_counts(engine)
        assert counts["delivered"] == expired and counts.get("pending", 0) == 0
        with session_scope(engine) as session:
            sent = session.execute(
                select(OutboxMessage.identifier, OutboxMessage.agency).where(
                    OutboxMessage.agency == "transport"
                )
            ).all()
        expected = sorted(idempotency_key(identifier, agency) for identifier, agency in sent)
        assert sorted(receiver.keys) == expected  # each message exactly once, keys unchanged
        assert requeue_deliveries(engine, ["expired", "failed"]) == 0


def test_ctrl_c_finishes_in_flight_releases_the_rest_and_exits_130(alert_db: Path):
    last_sent, _ = _window(alert_db)
    with webhook(Receiver(delay_s=1.5)) as receiver:
        settings, delivery = _files(alert_db.parent, receiver.url, concurrency=1)
        command = [
            str(Path(sys.executable).parent / "resilience"),
            "warn",
            "deliver",
            "--config",
            str(delivery),
            "--settings",
            str(settings),
            "--replay-from",
            last_sent.isoformat(),
        ]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert receiver.started.wait(60), "no delivery reached the receiver"
            process.send_signal(signal.SIGINT)  # while the receiver holds the first one
            output, _ = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    text = output.decode()
    assert process.returncode == 130, text
    assert "Delivery plan at" in text and "stopping: finishing attempts in flight" in text
    assert "stopped by Ctrl-C" in text and "released unsent" in text
    engine = make_engine(f"sqlite:///{alert_db}")
    with session_scope(engine) as session:
        leased = session.scalars(
            select(DeliveryRecord.id).where(DeliveryRecord.lease_until.is_not(None))
        ).all()
        open_attempts = session.scalars(
            select(DeliveryAttempt.id).where(DeliveryAttempt.outcome == "in_flight")
        ).all()
        delivered = session.scalars(
            select(DeliveryRecord.attempts).where(DeliveryRecord.state == "delivered")
        ).all()
        pending = session.scalars(
            select(DeliveryRecord.attempts).where(DeliveryRecord.state == "pending")
        ).all()
    assert leased == [] and open_attempts == []  # nothing left half-written
    assert delivered == [1] and len(receiver.keys) == 1  # the held attempt finished, recorded
    assert pending and set(pending) == {0}  # the released ones are as if never claimed
