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
* **Retries**: exponential back-off with jitter, ``base_delay_s * factor**(n - 1)`` capped at
  ``max_delay_s``, multiplied by a uniform factor in ``[1 - jitter, 1 + jitter]`` (M. Brooker,
  "Exponential Backoff And Jitter", AWS Architecture Blog, 2015); a ``Retry-After`` in seconds
  (RFC 9110 section 10.2.3) lengthens the wait, up to ``max_delay_s``. The next attempt time is
  stored, so a restarted worker keeps the schedule. After ``max_attempts`` the delivery fails.
* **File drop**: ``<directory>/<identifier>.xml``, written atomically (one file per message per
  agency; rewriting it is harmless).

The configuration is a YAML file (:func:`load_delivery_config`)::

    retry: {max_attempts: 8, base_delay_s: 2, factor: 2, max_delay_s: 900, jitter: 0.2}
    concurrency: 4
    agencies:
      transport:
        webhook: {url: "https://ops.example/cap", bearer_token_env: TRANSPORT_TOKEN}
        file_drop: /srv/cap/transport
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.engine import Engine

from resilience.atomic import write_bytes_atomic
from resilience.early_warning.outbox import (
    AttemptResult,
    Channel,
    DeliveryJob,
    Outcome,
    claim_due,
    enqueue_pending,
    ensure_outbox_tables,
    next_due,
    plan_deliveries,
    record_results,
)

__all__ = [
    "AgencyTargets",
    "DeliveryConfig",
    "DeliveryConfigError",
    "DeliveryReport",
    "RetryPolicy",
    "WebhookTarget",
    "backoff_delay",
    "deliver_due",
    "idempotency_key",
    "load_delivery_config",
    "run_delivery",
]

Clock = Callable[[], datetime]


def _system_clock() -> datetime:
    return datetime.now(UTC)


#: HTTP statuses worth retrying (RFC 9110 section 15; 409 per the Idempotency-Key draft).
RETRY_STATUSES = frozenset({408, 409, 425, 429})


class DeliveryConfigError(ValueError):
    """A delivery configuration is invalid; the message names the file and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryPolicy(_Model):
    """Back-off schedule of webhook retries (seconds)."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    base_delay_s: float = Field(default=2.0, ge=0.0)
    factor: float = Field(default=2.0, ge=1.0)
    max_delay_s: float = Field(default=900.0, ge=0.0)
    jitter: float = Field(default=0.2, ge=0.0, le=1.0)


class WebhookTarget(_Model):
    """An agency's webhook: URL, optional bearer token (named environment variable)."""

    url: str
    bearer_token_env: str | None = None
    content_type: str = "application/cap+xml"
    timeout_s: float = Field(default=10.0, gt=0.0)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, found {value!r}")
        return value


class AgencyTargets(_Model):
    """Where one agency receives messages."""

    webhook: WebhookTarget | None = None
    file_drop: Path | None = None


class DeliveryConfig(_Model):
    """Delivery settings: targets per agency, retry policy, concurrency and leases."""

    agencies: dict[str, AgencyTargets] = Field(default_factory=dict)
    retry: RetryPolicy = RetryPolicy()
    concurrency: int = Field(default=4, ge=1, le=64)
    batch_size: int = Field(default=200, ge=1)
    lease_s: float = Field(default=120.0, gt=0.0)
    record_every: int = Field(default=20, ge=1)
    user_agent: str = "resilience-early-warning/0.1"

    def channels(self) -> dict[str, list[tuple[Channel, str]]]:
        """Return (channel, target) pairs per configured agency."""
        out: dict[str, list[tuple[Channel, str]]] = {}
        for agency, targets in self.agencies.items():
            pairs: list[tuple[Channel, str]] = []
            if targets.webhook is not None:
                pairs.append(("webhook", targets.webhook.url))
            if targets.file_drop is not None:
                pairs.append(("file", str(targets.file_drop)))
            out[agency] = pairs
        return out


def load_delivery_config(path: Path, *, known_agencies: set[str] | None = None) -> DeliveryConfig:
    """Read and validate a delivery configuration (YAML).

    Parameters
    ----------
    path : Path
        The file.
    known_agencies : set of str, optional
        Agency ids of the rule set; an agency not in it is an error.

    Returns
    -------
    DeliveryConfig

    Raises
    ------
    DeliveryConfigError
        Naming the file and the field (e.g. ``agencies.transport.webhook.url``).
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DeliveryConfigError(f"{path}: cannot read delivery configuration: {exc}") from exc
    try:
        config = DeliveryConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise DeliveryConfigError(f"{path}: field {field}: {first['msg']}") from exc
    unknown = sorted(set(config.agencies) - known_agencies) if known_agencies else []
    if unknown:
        raise DeliveryConfigError(
            f"{path}: field agencies: unknown agency {unknown}; expected one of "
            f"{sorted(known_agencies or [])}"
        )
    return config


def idempotency_key(identifier: str, agency: str) -> str:
    """Return the ``Idempotency-Key`` value: the CAP identifier and agency, quoted."""
    return f'"{identifier}:{agency}"'


def backoff_delay(
    policy: RetryPolicy,
    attempt: int,
    *,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Return the wait before the attempt after ``attempt`` (s).

    Notes
    -----
    ``min(max_delay_s, base_delay_s * factor ** (attempt - 1)) * U(1 - jitter, 1 + jitter)``,
    then at least ``retry_after_s`` and at most ``max_delay_s``.
    """
    delay = min(policy.max_delay_s, policy.base_delay_s * policy.factor ** (attempt - 1))
    if policy.jitter:
        delay *= (rng or random).uniform(1.0 - policy.jitter, 1.0 + policy.jitter)
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return min(delay, policy.max_delay_s)


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
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}", None
    error = "" if response.is_success else f"HTTP {response.status_code}: {response.text[:200]}"
    return response.status_code, error, _retry_after(response)


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
    ensure_outbox_tables(engine)
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
