"""Faults of webhook delivery: a receiver that trickles its answer (issue 13, item 4).

A receiver that sent one byte every 2 s held a ``resilience warn deliver --once`` pass
forever: httpx's timeout bounds each read, not the request, so every byte restarted it, and
one thread pool and one connection pool served every agency, so the others waited too. Here
two real receivers run on 127.0.0.1: one trickles a byte a second (in its headers or in its
body), the other answers at once. Each attempt now has a total deadline
(``attempt_deadline_s``, 3 s here), agencies are sent side by side, and the pass returns.

Every wait is bounded (thread joins, subprocess timeouts, the trickler's own byte limit and
``pytest-timeout``), so on the old code these tests fail instead of hanging.
"""

from __future__ import annotations

import os
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
from typing import Literal

import pytest
import xarray as xr
from sqlalchemy import select

DEADLINE_S = 3.0
TRICKLE_EVERY_S = 1.0  # well under the per-read timeout (10 s): each byte restarts it
TRICKLE_LIMIT = 90  # bytes: even the old code gets its answer eventually (after 90 s)
MARKER = pytest.mark.fault("13.4", "a receiver trickling one byte every 2 s holds --once forever")


@dataclass
class Receiver:
    """A webhook on 127.0.0.1: answers at once, or trickles its answer one byte at a time."""

    trickle: Literal["headers", "body"] | None = None
    url: str = ""
    seen: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, key)
    stop: threading.Event = field(default_factory=threading.Event)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        self.seen.append((time.monotonic(), handler.headers.get("Idempotency-Key", "")))
        assert body.startswith(b"<?xml")
        if self.trickle is None:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            return
        # headers: a header line that never ends; body: a promised body that never comes
        head = b"HTTP/1.1 200 OK\r\nX-Slow: " if self.trickle == "headers" else b""
        if self.trickle == "body":
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {TRICKLE_LIMIT + 10}\r\n\r\n".encode()
        handler.wfile.write(head)
        for _ in range(TRICKLE_LIMIT):
            if self.stop.wait(TRICKLE_EVERY_S):
                break
            handler.wfile.write(b"a")


@contextmanager
def serving(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet."""

        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            try:
                receiver.answer(self)
            except OSError:  # the client gave up and closed the connection
                self.close_connection = True

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    receiver.url = f"http://127.0.0.1:{httpd.server_address[1]}/cap"
    try:
        yield receiver
    finally:
        receiver.stop.set()  # release a trickle still in progress (the old code's pass)
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


_TEMPLATE: dict[str, bytes] = {}


def _alert_db(folder: Path) -> Path:
    """The sample's first rainstorm episode, stored with its outbox rows (due now).

    Its Alert and Update go to transport and water_authority (both take webhooks); the
    Update waits for the Alert, so a pass sends one Alert to each agency.
    """
    if not _TEMPLATE:
        from resilience.early_warning.availability import runnable_rules
        from resilience.early_warning.engine import evaluate_rules
        from resilience.early_warning.lifecycle import issue_alerts
        from resilience.early_warning.outbox import ensure_outbox_tables
        from resilience.early_warning.rules import load_rules
        from resilience.geodata.geography import open_districts
        from resilience.sample.forecast import write_sample_forecast
        from resilience.storage.database import make_engine

        rules, _ = runnable_rules(load_rules())
        build = folder / "template"
        with xr.open_dataset(write_sample_forecast(build)) as forecast:
            decisions = evaluate_rules(forecast.load(), rules, open_districts())
        chosen = [d for d in decisions if d.hazard == "rainstorm"][:1]
        assert chosen, "the sample forecast has a rainstorm episode"
        engine = make_engine(f"sqlite:///{build / 'alerts.db'}")
        ensure_outbox_tables(engine)
        issue_alerts(chosen, engine=engine, out_dir=build / "cap", sender="t@x")
        engine.dispose()
        _TEMPLATE["db"] = (build / "alerts.db").read_bytes()
    path = folder / "alerts.db"
    path.write_bytes(_TEMPLATE["db"])
    return path


def _states(engine) -> dict[str, tuple]:  # noqa: ANN001 - Engine
    """Per agency: (state, attempts, last_error, next_attempt_at) of its Alert's delivery."""
    from resilience.storage.database import session_scope
    from resilience.storage.tables import DeliveryRecord, OutboxMessage

    with session_scope(engine) as session:
        rows = session.execute(
            select(
                OutboxMessage.agency,
                DeliveryRecord.state,
                DeliveryRecord.attempts,
                DeliveryRecord.last_error,
                DeliveryRecord.next_attempt_at,
            )
            .join(OutboxMessage, OutboxMessage.id == DeliveryRecord.outbox_id)
            .where(DeliveryRecord.attempts > 0)
        ).all()
    return {agency: tuple(rest) for agency, *rest in rows}


@MARKER
@pytest.mark.timeout(60)
@pytest.mark.parametrize("phase", ["headers", "body"])
def test_a_trickling_receiver_times_out_and_the_other_agency_is_delivered(tmp_path, phase):
    from resilience.early_warning.delivery import deliver_due
    from resilience.early_warning.delivery_config import DeliveryConfig
    from resilience.early_warning.outbox import utc
    from resilience.storage.database import make_engine, session_scope
    from resilience.storage.tables import DeliveryAttempt

    engine = make_engine(f"sqlite:///{_alert_db(tmp_path)}")
    with serving(Receiver(trickle=phase)) as slow, serving(Receiver()) as fast:
        config = DeliveryConfig.model_validate(
            {
                "agencies": {
                    "water_authority": {"webhook": {"url": slow.url}},
                    "transport": {"webhook": {"url": fast.url}},
                },
                "retry": {"base_delay_s": 60.0, "jitter": 0.0},
                "attempt_deadline_s": DEADLINE_S,
                "record_every": 20,  # batching must not hold the fast agency's result back
            }
        )
        result: dict = {}
        worker = threading.Thread(
            target=lambda: result.update(report=deliver_due(engine, config)), daemon=True
        )
        started = time.monotonic()
        worker.start()
        # the fast agency is recorded delivered while the slow attempt is still running
        recorded_at = None
        while recorded_at is None and time.monotonic() - started < DEADLINE_S - 0.5:
            if _states(engine).get("transport", ("",))[0] == "delivered":
                recorded_at = time.monotonic() - started
            time.sleep(0.05)
        slow_still_running = worker.is_alive()
        worker.join(timeout=DEADLINE_S + 10.0)
        took = time.monotonic() - started
        assert not worker.is_alive(), f"the pass still runs after {took:.0f} s ({phase})"
    assert recorded_at is not None and slow_still_running, (
        "the fast agency's delivery was not recorded before the slow attempt ended"
    )
    # the slow attempt ran to its deadline, no longer: bounded by the deadline, not the trickle
    assert DEADLINE_S - 0.1 <= took < DEADLINE_S + 4.0, took
    assert fast.seen and fast.seen[0][0] - started < 2.0  # sent at once, not after the slow one
    assert len(slow.seen) == 1  # one attempt, then the back-off (60 s) of the retry policy
    left = [t.name for t in threading.enumerate() if t.name.startswith("deliver-")]
    assert left == []  # the socket deadline ended the attempt: no sending thread outlives it
    report = result["report"]
    assert (report.attempted, report.delivered, report.retried) == (2, 1, 1)
    assert report.timed_out == 1
    states = _states(engine)
    assert states["transport"][:2] == ("delivered", 1)
    state, attempts, error, next_attempt_at = states["water_authority"]
    assert (state, attempts) == ("pending", 1)  # left for a retry ...
    assert error.startswith(f"timeout after {DEADLINE_S:g} s"), error
    assert utc(next_attempt_at) > utc(datetime.now().astimezone()) + timedelta(seconds=50)
    with session_scope(engine) as session:  # ... with the back-off of the retry policy
        outcomes = sorted(session.scalars(select(DeliveryAttempt.outcome)))
    assert outcomes == ["delivered", "retry"]


@MARKER
@pytest.mark.timeout(90)
def test_warn_deliver_once_returns_despite_a_trickling_receiver(tmp_path):
    database = _alert_db(tmp_path)
    settings = tmp_path / "resilience.toml"
    settings.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndatabase_url = "sqlite:///{database}"\n'
        "use_prefect = false\n",
        encoding="utf-8",
    )
    with serving(Receiver(trickle="headers")) as slow, serving(Receiver()) as fast:
        delivery = tmp_path / "delivery.yaml"
        delivery.write_text(
            f"attempt_deadline_s: {DEADLINE_S}\nagencies:\n"
            f"  water_authority:\n    webhook: {{url: '{slow.url}'}}\n"
            f"  transport:\n    webhook: {{url: '{fast.url}'}}\n",
            encoding="utf-8",
        )
        args = ["warn", "deliver", "--config", str(delivery), "--settings", str(settings)]
        started = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, "-c", "from resilience.cli import app; app()", *args, "--once"],
                capture_output=True,
                text=True,
                timeout=45,  # imports take a few seconds on a loaded machine
                env=os.environ | {"COLUMNS": "200"},
            )
        except subprocess.TimeoutExpired:
            pytest.fail("resilience warn deliver --once did not return within 45 s")
        took = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "delivered 1, retry 1 (1 timed out), failed 0" in done.stdout, done.stdout
    assert len(fast.seen) == 1 and len(slow.seen) == 1
    assert took < 45


def test_a_lease_shorter_than_the_attempt_deadline_is_refused(tmp_path):
    from resilience.early_warning.delivery_config import DeliveryConfigError, load_delivery_config

    path = tmp_path / "delivery.yaml"
    path.write_text("attempt_deadline_s: 120\nlease_s: 60\n", encoding="utf-8")
    with pytest.raises(
        DeliveryConfigError,
        match=r"delivery.yaml: field lease_s: .*expected more than attempt_deadline_s "
        r"\(120 s\), found 60 s",
    ):
        load_delivery_config(path)
    path.write_text("lease_s: 60\n", encoding="utf-8")
    assert load_delivery_config(path).attempt_deadline_s == 30.0  # the default
