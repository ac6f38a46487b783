"""Deliver the outbox: webhook POSTs with retries and back-off, and file drops, per agency.

A worker pass (:func:`deliver_due`) sweeps stored messages into the outbox
(:func:`~resilience.early_warning.outbox.enqueue_pending`), creates deliveries for the
configured channels, leases the due ones and sends them, recording every attempt.

* **Webhook**: ``POST`` of the CAP XML (``Content-Type: application/cap+xml``, the type named
  in the WMO Register of Alerting Authorities' CAP feeds) with an ``Idempotency-Key`` header
  ``"<identifier>:<agency>"``, sent as a quoted structured-field string
  (draft-ietf-httpapi-idempotency-key-header-07, section 2). A retry repeats the same key and
  body, so a receiver that keeps the keys it has seen drops the duplicate a crash can cause.
  2xx is delivered; 408, 409 (the key is still being processed, draft section 2.7), 425, 429,
  5xx and transport errors are retried; other 4xx fail for good (``requeue_failed`` after
  the receiver is fixed).
* **Retries**: exponential back-off with jitter
  (:func:`~resilience.early_warning.delivery_config.backoff_delay`); the next attempt time is
  stored, so a restarted worker keeps the schedule. After ``max_attempts`` the delivery fails.
* **File drop**: ``<directory>/<identifier>.xml``, written atomically (one file per message per
  agency; rewriting it is harmless).

Targets and the retry policy come from
:mod:`resilience.early_warning.delivery_config`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from resilience.early_warning.delivery_config import (
    DeliveryConfig,
    RetryPolicy,
    WebhookTarget,
    backoff_delay,
    redact_text,
    redact_url,
)
from resilience.early_warning.dispatch import (
    AttemptResult,
    DeliveryJob,
    claim_due,
    next_due,
    record_results,
    redact_stored_targets,
)
from resilience.early_warning.outbox import (
    Outcome,
    enqueue_pending,
    ensure_outbox_tables,
    plan_deliveries,
)
from resilience.storage.atomic import write_bytes_atomic

__all__ = [
    "RETRY_STATUSES",
    "Clock",
    "DeliveryReport",
    "deliver_due",
    "idempotency_key",
    "replay_clock",
    "run_delivery",
]

Clock = Callable[[], datetime]


def _system_clock() -> datetime:
    return datetime.now(UTC)


def replay_clock(start: str | None = None) -> Clock:
    """Return a clock that reads ``start`` now and runs at real speed (system clock if None).

    Exercises are dated (the sample forecast is issued on 2026-07-20 08:00 +08:00); replaying
    one delivers its messages when they fall due on the shifted clock.

    Raises
    ------
    ValueError
        If ``start`` is not an ISO 8601 time with a UTC offset.
    """
    if start is None:
        return _system_clock
    try:
        at = datetime.fromisoformat(start)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise ValueError(f"replay start {start!r}: expected an ISO 8601 time with offset")
    offset = datetime.now(UTC) - at
    return lambda: datetime.now(UTC) - offset


#: HTTP statuses worth retrying (RFC 9110 section 15; 409 per the Idempotency-Key draft).
RETRY_STATUSES = frozenset({408, 409, 425, 429})


def idempotency_key(identifier: str, agency: str) -> str:
    """Return the ``Idempotency-Key`` value: the CAP identifier and agency, quoted."""
    return f'"{identifier}:{agency}"'


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


_Answer = tuple[int | None, str, float | None]  # HTTP status, error text, Retry-After (s)


def _post(client: httpx.Client, job: DeliveryJob, target: WebhookTarget, agent: str) -> _Answer:
    """POST one message; return (status or None, error text, Retry-After seconds)."""
    headers = {
        "Content-Type": target.content_type,
        "Idempotency-Key": idempotency_key(job.identifier, job.agency),
        "User-Agent": agent,
        "X-CAP-Identifier": job.identifier,
        "X-Delivery-Attempt": str(job.attempt),
    }
    if target.bearer_token_env:
        token = os.environ.get(target.bearer_token_env)
        if not token:
            return None, f"environment variable {target.bearer_token_env} is not set", None
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = client.post(
            target.url, content=job.cap_xml, headers=headers, timeout=target.timeout_s
        )
    except httpx.HTTPError as exc:  # stored and shown: without the URL's secrets
        return None, redact_text(f"{type(exc).__name__}: {exc}", target.url), None
    error = "" if response.is_success else f"HTTP {response.status_code}: {response.text[:200]}"
    return response.status_code, redact_text(error, target.url), _retry_after(response)


class _RedactUrls(logging.Filter):
    """Log filter: httpx logs each request's full URL at INFO; log it without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(str(a)) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


def _redact_httpx_log() -> None:
    """Install :class:`_RedactUrls` on the ``httpx`` logger (once)."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactUrls) for f in logger.filters):
        logger.addFilter(_RedactUrls())


def _outcome(status: int | None, error: str, job: DeliveryJob, policy: RetryPolicy) -> Outcome:
    if status is not None and 200 <= status < 300:
        return "delivered"
    if status is None and error.startswith("environment variable"):
        return "failed"
    retryable = status is None or status in RETRY_STATUSES or status >= 500
    return "retry" if retryable and job.attempt < policy.max_attempts else "failed"


def _send(
    job: DeliveryJob, config: DeliveryConfig, client: httpx.Client, clock: Clock
) -> AttemptResult:
    """Make one attempt and classify it; never raises for a receiver's failure."""
    start = time.perf_counter()
    targets = config.agencies.get(job.agency)
    status, error, retry_after = None, "", None
    if job.channel == "file" and targets is not None and targets.file_drop is not None:
        try:
            write_bytes_atomic(targets.file_drop / f"{job.identifier}.xml", job.cap_xml)
            status = 200  # classified like an HTTP success; not stored for files
        except OSError as exc:
            error = f"file drop {targets.file_drop}: {exc}"
    elif job.channel == "webhook" and targets is not None and targets.webhook is not None:
        status, error, retry_after = _post(client, job, targets.webhook, config.user_agent)
    else:
        return AttemptResult("failed", error=f"{job.channel} no longer configured for {job.agency}")
    outcome = _outcome(status, error, job, config.retry)
    took = (time.perf_counter() - start) * 1000.0
    wait = backoff_delay(config.retry, job.attempt, retry_after_s=retry_after)
    retry_at = clock() + timedelta(seconds=wait) if outcome == "retry" else None
    shown = status if job.channel == "webhook" else None
    return AttemptResult(outcome, shown, error, took, retry_at)


class DeliveryReport(BaseModel):
    """Counts of one or more worker passes."""

    queued: int = 0
    planned: int = 0
    attempted: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    seconds: float = 0.0

    def add(self, other: DeliveryReport) -> DeliveryReport:
        """Return the sum of two reports."""
        return DeliveryReport(
            **{k: getattr(self, k) + getattr(other, k) for k in type(self).model_fields}
        )


def _record(
    engine: Engine,
    done: list[tuple[DeliveryJob, AttemptResult]],
    report: DeliveryReport,
    clock: Clock,
) -> None:
    """Record finished attempts in one transaction, count them and empty ``done``."""
    if not done:
        return
    record_results(engine, done, now=clock())
    for _, result in done:
        report.attempted += 1
        report.delivered += result.outcome == "delivered"
        report.retried += result.outcome == "retry"
        report.failed += result.outcome == "failed"
    done.clear()


def deliver_due(
    engine: Engine,
    config: DeliveryConfig,
    *,
    clock: Clock = _system_clock,
    client: httpx.Client | None = None,
) -> DeliveryReport:
    """Run one worker pass: queue, plan, lease the due deliveries, send them and record.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The alert database (outbox tables are created if missing).
    config : DeliveryConfig
        Targets, retry policy and concurrency.
    clock : callable
        Returns the current time (aware): selects due deliveries and dates retries. Default
        the system clock; a shifted clock replays an old exercise.
    client : httpx.Client, optional
        HTTP client to reuse (connection pooling); default a new one for this pass.

    Returns
    -------
    DeliveryReport
    """
    start = time.perf_counter()
    _redact_httpx_log()
    ensure_outbox_tables(engine)
    redact_stored_targets(engine)  # rows planned before targets were stored redacted
    report = DeliveryReport(queued=enqueue_pending(engine))
    report.planned = plan_deliveries(engine, config.channels())
    jobs = claim_due(engine, now=clock(), limit=config.batch_size, lease_s=config.lease_s)
    own = client is None
    client = client or httpx.Client(follow_redirects=False)
    pool = ThreadPoolExecutor(max_workers=config.concurrency)
    done: list[tuple[DeliveryJob, AttemptResult]] = []
    try:
        futures = {pool.submit(_send, job, config, client, clock): job for job in jobs}
        for future in as_completed(futures):
            done.append((futures[future], future.result()))  # a crash leaves `done` unrecorded
            if len(done) >= config.record_every:
                _record(engine, done, report, clock)
        _record(engine, done, report, clock)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if own:
            client.close()
    report.seconds = time.perf_counter() - start
    return report


def run_delivery(
    engine: Engine,
    config: DeliveryConfig,
    *,
    until_idle: bool = True,
    stop: threading.Event | None = None,
    poll_s: float = 5.0,
    clock: Clock = _system_clock,
    sleep: Callable[[float], object] = time.sleep,
) -> DeliveryReport:
    """Run worker passes until stopped, or until nothing is due within the longest back-off.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The alert database.
    config : DeliveryConfig
        Targets, retry policy and concurrency.
    until_idle : bool
        Return when no pending delivery is due within ``retry.max_delay_s`` (messages scheduled
        later stay queued for the next run). If False, run until ``stop`` is set.
    stop : threading.Event, optional
        Set it to stop after the current pass.
    poll_s : float
        Longest sleep between passes (s).
    clock : callable
        Returns the current time (aware); see :func:`deliver_due`.
    sleep : callable
        Sleep function (s), replaceable in tests.

    Returns
    -------
    DeliveryReport
        Sum over the passes.
    """
    total = DeliveryReport()
    with httpx.Client(follow_redirects=False) as client:
        while stop is None or not stop.is_set():
            total = total.add(deliver_due(engine, config, clock=clock, client=client))
            upcoming = next_due(engine)
            now = clock()
            horizon = now + timedelta(seconds=config.retry.max_delay_s)
            if until_idle and (upcoming is None or upcoming > horizon):
                break
            wait = poll_s if upcoming is None else (upcoming - now).total_seconds()
            sleep(min(poll_s, max(wait, 0.0)))
    return total
