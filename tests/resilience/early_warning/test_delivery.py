"""Outbox delivery to a real webhook on 127.0.0.1: retries, back-off, idempotency, crashes."""

from __future__ import annotations

import random
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from resilience.early_warning.delivery import deliver_due, idempotency_key, run_delivery
from resilience.early_warning.delivery_config import (
    DeliveryConfig,
    DeliveryConfigError,
    RetryPolicy,
    backoff_delay,
    load_delivery_config,
    missing_targets,
)
from resilience.early_warning.dispatch import outbox_counts, requeue_failed
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.lifecycle import issue_alerts
from resilience.early_warning.outbox import ensure_outbox_tables
from resilience.early_warning.run import run_warnings
from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import AlertRecord, DeliveryAttempt, DeliveryRecord, OutboxMessage

ISSUED = datetime.fromisoformat("2026-07-20T08:00:00+08:00")


def replay_clock(at: datetime):
    """A clock that reads ``at`` now and runs at real speed (replays an old exercise)."""
    offset = datetime.now(UTC) - at
    return lambda: datetime.now(UTC) - offset


# --------------------------------------------------------------------------- the receiver


@dataclass
class Receiver:
    """State of the webhook: fails each key's first N requests; remembers keys it accepted."""

    fail_first: int = 0
    fail_status: int = 503
    retry_after: str | None = None
    requests: list[dict] = field(default_factory=list)
    accepted: dict[str, bytes] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        key = headers.get("Idempotency-Key", "")
        with self.lock:
            seen = sum(r["key"] == key for r in self.requests)
            self.requests.append(
                {"key": key, "path": path, "body": body, "time": time.monotonic(), **headers}
            )
            if seen < self.fail_first:
                extra = {"Retry-After": self.retry_after} if self.retry_after else {}
                return self.fail_status, extra
            if key in self.accepted:  # a repeat of a delivered message: acknowledge, drop
                assert self.accepted[key] == body, "same key, different body"
                self.duplicates.append(key)
            else:
                self.accepted[key] = body
            return 200, {}


@contextmanager
def webhook(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet."""

        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, extra = receiver.handle(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
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


def config_for(receiver: Receiver, *agencies: str, **retry) -> DeliveryConfig:
    policy = {"base_delay_s": 0.05, "factor": 2.0, "max_delay_s": 1.0, "jitter": 0.0} | retry
    return DeliveryConfig.model_validate(
        {
            "agencies": {a: {"webhook": {"url": f"{receiver.url}/cap/{a}"}} for a in agencies},
            "retry": policy,
            "concurrency": 4,
        }
    )


# --------------------------------------------------------------------------- alerts


_TEMPLATE: dict = {}


@pytest.fixture
def rain_db(make_forecast, rules, districts, tmp_path, tmp_path_factory):
    """Huangpu rainstorm episode: Alert blue 08:00, Update yellow 08:00, blue 10:00, Cancel."""
    if not _TEMPLATE:
        ds = make_forecast()
        ds["pr"][:, 5] = np.float32(36.0)
        ds["pr"][:, 6] = np.float32(51.0)
        decisions = [
            d
            for d in evaluate_rules(ds, rules, districts)
            if d.hazard == "rainstorm" and d.area.code in ("310101", "310104")
        ]
        folder = tmp_path_factory.mktemp("rain_delivery")
        engine = make_engine(f"sqlite:///{folder / 'alerts.db'}")
        ensure_outbox_tables(engine)
        issue_alerts(decisions, engine=engine, out_dir=folder / "cap", sender="t@x", now=ISSUED)
        engine.dispose()
        _TEMPLATE["db"] = folder / "alerts.db"
    shutil.copy(_TEMPLATE["db"], tmp_path / "alerts.db")
    return make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")


def _records(engine) -> dict[str, AlertRecord]:
    with session_scope(engine) as session:
        return {r.identifier: r for r in session.scalars(select(AlertRecord))}


# --------------------------------------------------------------------------- tests


def test_backoff_grows_caps_and_honours_retry_after():
    policy = RetryPolicy(base_delay_s=2, factor=3, max_delay_s=60, jitter=0)
    assert [backoff_delay(policy, n) for n in (1, 2, 3, 4, 5)] == [2, 6, 18, 54, 60]
    assert backoff_delay(policy, 1, retry_after_s=30) == 30
    assert backoff_delay(policy, 1, retry_after_s=3600) == 60  # never past max_delay_s
    jittered = RetryPolicy(base_delay_s=10, jitter=0.2)
    draws = [backoff_delay(jittered, 1, rng=random.Random(seed)) for seed in range(200)]
    assert 8.0 <= min(draws) < 8.5 and 11.5 < max(draws) <= 12.0  # uniform in [8, 12]


def test_retries_with_backoff_then_delivers_once_with_the_key(rain_db):
    clock = replay_clock(datetime.fromisoformat("2026-07-20T08:30:00+08:00"))
    with webhook(Receiver(fail_first=2)) as receiver:
        report = run_delivery(rain_db, config_for(receiver, "transport"), poll_s=0.01, clock=clock)
    records = _records(rain_db)
    # due at 08:30: Alert and yellow Update of 2 districts (the 10:00 Update is not due yet)
    assert report.delivered == 4 and report.retried == 8 and report.failed == 0
    assert len(receiver.accepted) == 4 and receiver.duplicates == []
    for key, body in receiver.accepted.items():
        identifier, agency = key.strip('"').split(":")
        assert key == idempotency_key(identifier, agency) == f'"{identifier}:transport"'
        assert body == records[identifier].cap_xml.encode("utf-8")
        tries = [r for r in receiver.requests if r["key"] == key]
        assert [r["X-Delivery-Attempt"] for r in tries] == ["1", "2", "3"]
        assert {r["Content-Type"] for r in tries} == {"application/cap+xml"}
        gaps = np.diff([r["time"] for r in tries])
        # back-off 0.05 s then 0.1 s (jitter 0); sleeping may overshoot, never undershoot
        # (1 ms allowed for the clocks' resolution); 2 s bounds a stuck loop
        assert gaps[0] >= 0.049 and gaps[1] >= 0.099 and gaps.max() < 2.0
    with session_scope(rain_db) as session:
        outcomes = session.execute(
            select(DeliveryAttempt.number, DeliveryAttempt.outcome, DeliveryAttempt.http_status)
        ).all()
    assert sorted(outcomes) == sorted(
        [(1, "retry", 503), (2, "retry", 503), (3, "delivered", 200)] * 4
    )


def test_alert_goes_before_its_update_even_when_it_needs_retries(rain_db):
    clock = replay_clock(datetime.fromisoformat("2026-07-20T08:30:00+08:00"))
    with webhook(Receiver(fail_first=2)) as receiver:
        run_delivery(rain_db, config_for(receiver, "transport"), poll_s=0.01, clock=clock)
    records = _records(rain_db)
    first_seen: dict[str, float] = {}
    for request in receiver.requests:
        first_seen.setdefault(request["key"].strip('"').split(":")[0], request["time"])
    updates = [i for i in first_seen if records[i].msg_type == "Update"]
    assert len(updates) == 2, first_seen  # the yellow Updates of the two districts
    for identifier, when in first_seen.items():
        record = records[identifier]
        if record.msg_type == "Update":
            (alert,) = [
                r for r in records.values() if r.area == record.area and r.msg_type == "Alert"
            ]
            delivered_alert = max(
                r["time"] for r in receiver.requests if alert.identifier in r["key"]
            )
            assert when > delivered_alert  # the Update's first try follows the Alert's success


def test_permanent_error_fails_then_requeue_delivers(rain_db):
    clock = replay_clock(datetime.fromisoformat("2026-07-20T08:30:00+08:00"))
    with webhook(Receiver(fail_first=1, fail_status=400)) as receiver:
        config = config_for(receiver, "water_authority")
        report = run_delivery(rain_db, config, poll_s=0.01, clock=clock)
        # each key's first request gets 400: the Alerts fail for good, which frees their
        # Updates, whose first requests fail too; nothing is retried
        assert report.failed == 4 and report.delivered == 0 and report.retried == 0
        assert outbox_counts(rain_db)["failed"] == 4
        assert requeue_failed(rain_db, agency="water_authority", now=clock()) == 4
        again = run_delivery(rain_db, config, poll_s=0.01, clock=clock)
    assert again.delivered == 4 and len(receiver.accepted) == 4
    with session_scope(rain_db) as session:
        errors = set(session.scalars(select(DeliveryAttempt.http_status)))
    assert errors == {400, 200}


def test_retry_after_header_lengthens_the_wait(rain_db):
    clock = replay_clock(datetime.fromisoformat("2026-07-20T08:30:00+08:00"))
    with webhook(Receiver(fail_first=1, fail_status=429, retry_after="1")) as receiver:
        run_delivery(
            rain_db, config_for(receiver, "transport", max_delay_s=5.0), poll_s=0.05, clock=clock
        )
    assert len(receiver.accepted) == 4  # the loop below checks every delivered message
    for key in receiver.accepted:
        tries = [r["time"] for r in receiver.requests if r["key"] == key]
        assert len(tries) == 2 and tries[1] - tries[0] >= 0.99  # Retry-After: 1 s, not 0.05 s


class SimulatedCrash(BaseException):
    """The worker process dies (not an Exception: nothing may catch it)."""


class CrashAfterSending(httpx.HTTPTransport):
    """Send the request for real, then die before the result can be recorded."""

    def __init__(self, survive: int):
        super().__init__()
        self.survive, self.sent, self.lock = survive, 0, threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        with self.lock:
            self.sent += 1
            if self.sent > self.survive:
                raise SimulatedCrash
        return response


class ManualClock:
    """A clock that stands still until told to move (``advance``, also used as ``sleep``)."""

    def __init__(self, at: datetime):
        self.now = at.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=max(seconds, 0.001))


def test_crash_after_sending_resends_with_the_same_key_only(rain_db):
    clock = ManualClock(datetime.fromisoformat("2026-07-20T08:30:00+08:00"))
    with webhook(Receiver()) as receiver:
        config = config_for(receiver, "transport").model_copy(
            update={"concurrency": 1, "lease_s": 120.0, "record_every": 1}
        )
        with httpx.Client(transport=CrashAfterSending(survive=1)) as dying:
            with pytest.raises(SimulatedCrash):
                deliver_due(rain_db, config, clock=clock, client=dying)
        # Only the two Alerts were due and unblocked (each Update waits for its Alert); both
        # reached the receiver, the second killed the worker. Whether the first result was
        # recorded first depends on thread scheduling (both futures may be done before the
        # worker looks), so the test counts what the database says rather than assuming it.
        assert len(receiver.requests) == 2
        with session_scope(rain_db) as session:
            recorded = len(
                session.scalars(
                    select(DeliveryAttempt).where(DeliveryAttempt.outcome == "delivered")
                ).all()
            )
        assert recorded in (0, 1)
        restarted = make_engine(str(rain_db.url))  # a new process: new engine, same file
        early = deliver_due(restarted, config, clock=clock)
        # the dead worker's leases still hold: only an Update freed by a recorded Alert goes
        assert early.attempted == early.delivered == recorded
        clock.advance(config.lease_s + 1)  # ... until they run out (injected clock, no sleep)
        report = run_delivery(restarted, config, poll_s=0.01, clock=clock, sleep=clock.advance)
    unrecorded = 2 - recorded  # sent before the crash, result lost: sent again
    # ... and the two Updates, never sent before
    assert early.delivered + report.delivered == unrecorded + 2
    assert len(receiver.accepted) == 4
    assert len(receiver.duplicates) == unrecorded  # the receiver saw each repeat by its key...
    assert set(receiver.duplicates) <= set(receiver.accepted)  # ...and dropped it
    with session_scope(restarted) as session:
        outcomes = sorted(session.scalars(select(DeliveryAttempt.outcome)))
    assert outcomes == ["abandoned"] * unrecorded + ["delivered"] * 4


def test_crash_between_evaluation_and_delivery_loses_and_repeats_nothing(
    sample_forecast_path, districts, tmp_path
):
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    run = run_warnings(
        sample_forecast_path,
        rules_path=None,
        districts=districts,
        database_url=url,
        out_dir=tmp_path / "cap",
    )
    # ... the process dies here, before any delivery. A new one starts the worker:
    clock = replay_clock(datetime.fromisoformat("2026-07-20T08:30:00+08:00"))
    agencies = ("water_authority", "transport")
    with webhook(Receiver(fail_first=1)) as receiver:
        engine = make_engine(url)
        config = config_for(receiver, *agencies)
        first = run_delivery(engine, config, poll_s=0.01, clock=clock)
        count = len(receiver.requests)
        second = run_delivery(make_engine(url), config, poll_s=0.01, clock=clock)
        assert second.attempted == 0 and len(receiver.requests) == count  # nothing sent twice
    with session_scope(engine) as session:
        due = session.execute(
            select(OutboxMessage.identifier, OutboxMessage.agency).where(
                OutboxMessage.agency.in_(agencies),
                OutboxMessage.due_at <= clock().astimezone(UTC),
            )
        ).all()
    expected = {idempotency_key(i, a) for i, a in due}
    assert len(expected) > 50  # the sample's typhoon and tide Alerts and tide Updates, 08:00
    assert set(receiver.accepted) == expected and receiver.duplicates == []
    assert first.delivered == len(expected) and run.new_messages == len(run.messages)


def test_file_drop_one_file_per_message_and_agency(rain_db, tmp_path):
    clock = replay_clock(datetime.fromisoformat("2026-07-20T08:30:00+08:00"))
    drops = {a: tmp_path / "drop" / a for a in ("transport", "water_authority")}
    config = DeliveryConfig.model_validate(
        {"agencies": {a: {"file_drop": str(d)} for a, d in drops.items()}}
    )
    report = run_delivery(rain_db, config, poll_s=0.01, clock=clock)
    records = _records(rain_db)
    assert report.delivered == 8
    for folder in drops.values():
        files = sorted(folder.iterdir())
        assert len(files) == 4 and all(not f.name.startswith(".") for f in files)  # no temp
        for path in files:
            assert path.read_bytes() == records[path.stem].cap_xml.encode("utf-8")
    assert run_delivery(rain_db, config, poll_s=0.01, clock=clock).attempted == 0


def test_config_errors_name_the_file_and_field(tmp_path):
    bad_url = tmp_path / "delivery.yaml"
    bad_url.write_text("agencies:\n  transport:\n    webhook: {url: ftp://x}\n")
    with pytest.raises(
        DeliveryConfigError, match=r"delivery.yaml: field agencies.transport.webhook.url"
    ):
        load_delivery_config(bad_url)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("agencies:\n  police: {file_drop: /tmp/x}\n")
    with pytest.raises(
        DeliveryConfigError, match=r"unknown.yaml: field agencies: unknown agency \['police'\]"
    ):
        load_delivery_config(unknown, known_agencies={"transport"})
    typo = tmp_path / "typo.yaml"
    typo.write_text("retry: {max_atempts: 3}\n")
    with pytest.raises(DeliveryConfigError, match=r"field retry.max_atempts"):
        load_delivery_config(typo)
    good = tmp_path / "good.yaml"
    good.write_text(
        "retry: {max_attempts: 3, base_delay_s: 1}\nagencies:\n"
        "  transport:\n    webhook: {url: 'https://ops.example/cap', bearer_token_env: TOKEN}\n"
    )
    config = load_delivery_config(good, known_agencies={"transport"})
    assert config.retry.max_attempts == 3
    assert config.channels() == {"transport": [("webhook", "https://ops.example/cap")]}


def test_config_targets_only_channels_the_rule_set_declares(tmp_path, all_rules):
    # health takes files and its feed; a webhook for it is a configuration error
    bad = tmp_path / "delivery.yaml"
    bad.write_text("agencies:\n  health:\n    webhook: {url: 'https://h.example/cap'}\n")
    with pytest.raises(
        DeliveryConfigError,
        match=r"delivery.yaml: field agencies.health.webhook: agency 'health' does not take "
        r"'webhook'; its channels in the rule set are \['file', 'feed'\]",
    ):
        load_delivery_config(bad, rules=all_rules)
    police = tmp_path / "police.yaml"
    police.write_text("agencies:\n  police: {file_drop: /tmp/x}\n")
    with pytest.raises(DeliveryConfigError, match=r"unknown agency \['police'\]"):
        load_delivery_config(police, rules=all_rules)
    good = tmp_path / "good.yaml"
    good.write_text(
        "agencies:\n  health: {file_drop: /srv/cap/health}\n"
        "  transport:\n    webhook: {url: 'https://t.example/cap'}\n"
    )
    config = load_delivery_config(good, rules=all_rules)
    # declared push channels still without a target: reported, not an error
    assert missing_targets(config, all_rules) == {
        "water_authority": ["webhook"],
        "emergency_management": ["webhook", "file"],
        "power": ["webhook"],
    }


def test_bearer_token_from_environment(rain_db, monkeypatch):
    clock = replay_clock(datetime.fromisoformat("2026-07-20T08:30:00+08:00"))
    with webhook(Receiver()) as receiver:
        config = DeliveryConfig.model_validate(
            {
                "agencies": {
                    "transport": {"webhook": {"url": receiver.url, "bearer_token_env": "EW_TOKEN"}}
                }
            }
        )
        monkeypatch.delenv("EW_TOKEN", raising=False)
        missing = deliver_due(rain_db, config, clock=clock)
        assert missing.failed == 2 and receiver.requests == []  # nothing sent without it
        with session_scope(rain_db) as session:
            errors = set(session.scalars(select(DeliveryRecord.last_error)))
        assert any("EW_TOKEN is not set" in e for e in errors)
        monkeypatch.setenv("EW_TOKEN", "s3cret")
        requeue_failed(rain_db, now=clock())  # due now on the replayed clock
        run_delivery(rain_db, config, poll_s=0.01, clock=clock)
    assert {r["Authorization"] for r in receiver.requests} == {"Bearer s3cret"}
    assert len(receiver.accepted) == 4
