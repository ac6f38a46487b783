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
* **Deadline**: an attempt (connect, send, headers, body) ends after ``attempt_deadline_s``
  however the receiver paces its bytes (httpx's ``timeout`` bounds each read only). A socket
  deadline: each agency's pool has streams (:class:`_DeadlineStream`) that cut every connect,
  TLS handshake, write and read to the time left (set in a context variable per request), so
  the blocked ``recv`` itself times out: nothing is cancelled from outside, no thread is left
  behind. The attempt is recorded as ``timeout after N s`` and retried per the retry policy.
* **Isolation**: one connection pool per agency and one lane of ``concurrency`` threads per
  (agency, channel); results are recorded within :data:`_RECORD_WITHIN_S` of finishing, so a
  slow agency delays neither the sending nor the recording of another's messages.

Targets and the retry policy come from
:mod:`resilience.early_warning.delivery_config`.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextvars import ContextVar
from datetime import timedelta
from functools import partial
from typing import Any

import httpcore
import httpx
from sqlalchemy.engine import Engine

from resilience.early_warning.delivery_config import (
    DeliveryConfig,
    RetryPolicy,
    WebhookTarget,
    backoff_delay,
    redact_httpx_log,
    redact_text,
)
from resilience.early_warning.delivery_plan import (
    Clock,
    DeliveryReport,
    replay_clock,
    system_clock,
)
from resilience.early_warning.dispatch import (
    AttemptResult,
    DeliveryJob,
    claim_due,
    next_due,
    record_results,
    redact_stored_targets,
    release_jobs,
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
    "Progress",
    "DeliveryReport",
    "deliver_due",
    "idempotency_key",
    "replay_clock",
    "run_delivery",
]

#: HTTP statuses worth retrying (RFC 9110 section 15; 409 per the Idempotency-Key draft).
RETRY_STATUSES = frozenset({408, 409, 425, 429})


def idempotency_key(identifier: str, agency: str) -> str:
    """Return the ``Idempotency-Key`` value: the CAP identifier and agency, quoted."""
    return f'"{identifier}:{agency}"'


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


#: Monotonic time at which the current thread's attempt must end (None: no deadline).
_DEADLINE: ContextVar[float | None] = ContextVar("delivery_deadline", default=None)


def _time_left(timeout: float | None, error: type[Exception]) -> float | None:
    """Return ``timeout`` cut to the time left before the attempt's deadline (s)."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0.0:
        raise error("attempt deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the attempt's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting within the deadline and giving deadline streams."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(super().connect_tcp(host, port, left, local_address, socket_options))


class _DeadlineTransport(httpx.BaseTransport):
    """httpx transport on a :class:`_DeadlineBackend` pool (no proxies); reads the whole answer.

    The body is read here, within the deadline; httpcore's errors become httpx's of that name.
    """

    def __init__(self, connections: int) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=connections,  # one per thread of the lane: no wait for one
            network_backend=_DeadlineBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,  # type: ignore[arg-type]  # a sync byte stream
            extensions=request.extensions,
        )
        try:
            answer = self._pool.handle_request(core)
            try:
                content = answer.read()
            finally:
                answer.close()
        except httpcore.UnsupportedProtocol as exc:
            raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
            same = getattr(httpx, type(exc).__name__, httpx.TransportError)
            raise same(str(exc), request=request) from exc
        return httpx.Response(
            answer.status, headers=answer.headers, content=content, extensions=answer.extensions
        )

    def close(self) -> None:
        self._pool.close()


def _webhook_client(config: DeliveryConfig) -> httpx.Client:
    """Return a client with its own deadline-bounded connection pool (one per agency)."""
    transport = _DeadlineTransport(connections=config.concurrency)
    return httpx.Client(transport=transport, follow_redirects=False)


_Answer = tuple[int | None, str, float | None]  # HTTP status, error text, Retry-After (s)


def _post(
    client: httpx.Client, job: DeliveryJob, target: WebhookTarget, config: DeliveryConfig
) -> _Answer:
    """POST one message within the attempt deadline; return (status, error, Retry-After s)."""
    headers = {
        "Content-Type": target.content_type,
        "Idempotency-Key": idempotency_key(job.identifier, job.agency),
        "User-Agent": config.user_agent,
        "X-CAP-Identifier": job.identifier,
        "X-Delivery-Attempt": str(job.attempt),
    }
    if target.bearer_token_env:
        token = os.environ.get(target.bearer_token_env)
        if not token:
            return None, f"environment variable {target.bearer_token_env} is not set", None
        headers["Authorization"] = f"Bearer {token}"
    start = time.monotonic()
    deadline = _DEADLINE.set(start + config.attempt_deadline_s)
    try:
        response = client.post(
            target.url, content=job.cap_xml, headers=headers, timeout=target.timeout_s
        )
    except httpx.TimeoutException as exc:  # the attempt's deadline, or one operation's
        took, limit = time.monotonic() - start, config.attempt_deadline_s
        shown = f"{limit:g} s (attempt deadline)" if took >= limit - 0.05 else f"{took:.1f} s"
        text = f"timeout after {shown}: {type(exc).__name__}: {exc}"
        return None, redact_text(text, target.url), None
    except httpx.HTTPError as exc:  # stored and shown: without the URL's secrets
        return None, redact_text(f"{type(exc).__name__}: {exc}", target.url), None
    finally:
        _DEADLINE.reset(deadline)
    error = "" if response.is_success else f"HTTP {response.status_code}: {response.text[:200]}"
    return response.status_code, redact_text(error, target.url), _retry_after(response)


def _outcome(status: int | None, error: str, job: DeliveryJob, policy: RetryPolicy) -> Outcome:
    if status is not None and 200 <= status < 300:
        return "delivered"
    if status is None and error.startswith("environment variable"):
        return "failed"
    retryable = status is None or status in RETRY_STATUSES or status >= 500
    return "retry" if retryable and job.attempt < policy.max_attempts else "failed"


def _send(
    job: DeliveryJob, config: DeliveryConfig, client: httpx.Client | None, clock: Clock
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
    elif job.channel == "webhook" and client is not None and targets and targets.webhook:
        status, error, retry_after = _post(client, job, targets.webhook, config)
    else:
        return AttemptResult("failed", error=f"{job.channel} no longer configured for {job.agency}")
    outcome = _outcome(status, error, job, config.retry)
    took = (time.perf_counter() - start) * 1000.0
    delay = backoff_delay(config.retry, job.attempt, retry_after_s=retry_after)
    retry_at = clock() + timedelta(seconds=delay) if outcome == "retry" else None
    shown = status if job.channel == "webhook" else None
    return AttemptResult(outcome, shown, error, took, retry_at)


def _record(
    engine: Engine,
    done: list[tuple[DeliveryJob, AttemptResult]],
    report: DeliveryReport,
    clock: Clock,
    progress: Progress | None = None,
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
        report.timed_out += result.error.startswith("timeout after")
    done.clear()
    if progress is not None:
        progress(report)


#: Longest a finished attempt waits to be recorded while its batch fills (s).
_RECORD_WITHIN_S = 0.25
#: Longest the sender waits before looking at its stop event again (s).
_STOP_POLL_S = 0.2

#: Called with a pass's counts each time results are recorded.
Progress = Callable[[DeliveryReport], object]

Clients = httpx.Client | Mapping[str, httpx.Client]


def _clients_for(
    config: DeliveryConfig, given: Clients | None
) -> tuple[dict[str, httpx.Client], list[httpx.Client]]:
    """Return a client per agency with a webhook, and those made here (to close)."""
    webhooks = [a for a, targets in config.agencies.items() if targets.webhook is not None]
    if isinstance(given, httpx.Client):
        return {agency: given for agency in webhooks}, []
    made = {a: _webhook_client(config) for a in webhooks if a not in (given or {})}
    return {**(given or {}), **made}, list(made.values())


def _send_all(
    engine: Engine,
    jobs: list[DeliveryJob],
    clients: Mapping[str, httpx.Client],
    args: tuple[DeliveryConfig, Clock, DeliveryReport],
    *,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> None:
    """Send ``jobs`` in one lane per (agency, channel); record results as they finish.

    Once ``stop`` is set, jobs not started are released (:func:`release_jobs`) and the
    attempts in flight finish (each within the attempt deadline) and are recorded.
    """
    config, clock, report = args
    lanes: dict[tuple[str, str], list[DeliveryJob]] = defaultdict(list)
    for job in jobs:
        lanes[(job.agency, job.channel)].append(job)
    pools = [
        ThreadPoolExecutor(min(config.concurrency, len(lane)), f"deliver-{agency}-{channel}")
        for (agency, channel), lane in lanes.items()
    ]
    futures: dict[Future[AttemptResult], DeliveryJob] = {}
    done: list[tuple[DeliveryJob, AttemptResult]] = []
    try:
        for pool, lane in zip(pools, lanes.values(), strict=True):
            for job in lane:
                client = clients.get(job.agency)
                futures[pool.submit(_send, job, config, client, clock)] = job
        pending, flush_at = set(futures), 0.0
        while pending:
            timeout = max(0.0, flush_at - time.monotonic()) if done else _STOP_POLL_S
            ready, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in ready:
                if not done:
                    flush_at = time.monotonic() + _RECORD_WITHIN_S
                done.append((futures[future], future.result()))  # a crash: `done` unrecorded
            if stop is not None and stop.is_set():
                unsent = {f for f in pending if f.cancel()}
                report.released += release_jobs(engine, [futures[f] for f in unsent])
                pending -= unsent
            if len(done) >= config.record_every or (done and time.monotonic() >= flush_at):
                _record(engine, done, report, clock, progress)
        _record(engine, done, report, clock, progress)
    finally:
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)


def deliver_due(
    engine: Engine,
    config: DeliveryConfig,
    *,
    clock: Clock = system_clock,
    client: Clients | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> DeliveryReport:
    """Run one worker pass: queue, plan, lease the due deliveries, send them and record.

    Each (agency, channel) has its own lane of ``concurrency`` threads and each webhook
    attempt ends within ``attempt_deadline_s``, so a pass returns within ``ceil(due deliveries
    of the longest lane / concurrency) * attempt_deadline_s`` plus database time.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The alert database (outbox tables are created if missing).
    config : DeliveryConfig
        Targets, retry policy and concurrency.
    clock : callable
        Returns the current time (aware): selects due deliveries and dates retries. Default
        the system clock; a shifted clock replays an old exercise.
    client : httpx.Client or mapping of str to httpx.Client, optional
        Clients per agency, reused across passes (:func:`run_delivery`); missing ones are made
        for this pass. One ``httpx.Client`` serves every agency as given (tests inject faults
        so): its transport, not the attempt deadline, then decides when an attempt ends.
    stop : threading.Event, optional
        Once set, no new delivery is claimed or started; attempts in flight finish and are
        recorded, and leased deliveries not yet sent are released.
    progress : callable, optional
        Called with the pass's counts whenever results are recorded.

    Returns
    -------
    DeliveryReport
    """
    start = time.perf_counter()
    redact_httpx_log()
    ensure_outbox_tables(engine)
    redact_stored_targets(engine)  # rows planned before targets were stored redacted
    report = DeliveryReport(queued=enqueue_pending(engine))
    report.planned = plan_deliveries(engine, config.channels())
    if stop is not None and stop.is_set():
        return report
    jobs = claim_due(engine, now=clock(), limit=config.batch_size, lease_s=config.lease_s)
    clients, made = _clients_for(config, client)
    try:
        _send_all(engine, jobs, clients, (config, clock, report), stop=stop, progress=progress)
    finally:
        for each in made:
            each.close()
    report.seconds = time.perf_counter() - start
    return report


def _summed(progress: Progress, before: DeliveryReport, report: DeliveryReport) -> object:
    return progress(before.add(report))


def run_delivery(
    engine: Engine,
    config: DeliveryConfig,
    *,
    until_idle: bool = True,
    stop: threading.Event | None = None,
    poll_s: float = 5.0,
    clock: Clock = system_clock,
    sleep: Callable[[float], object] | None = None,
    progress: Progress | None = None,
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
    sleep : callable, optional
        Sleep function (s), replaceable in tests; default waits on ``stop`` (or sleeps).
    progress : callable, optional
        Called with the counts so far (every pass summed) whenever results are recorded.

    Returns
    -------
    DeliveryReport
        Sum over the passes.
    """
    total = DeliveryReport()
    if sleep is None:
        sleep = time.sleep if stop is None else stop.wait
    clients, made = _clients_for(config, None)  # one pool per agency, kept across passes
    try:
        while stop is None or not stop.is_set():
            summed = None if progress is None else partial(_summed, progress, total)
            report = deliver_due(
                engine, config, clock=clock, client=clients, stop=stop, progress=summed
            )
            total = total.add(report)
            if stop is not None and stop.is_set():
                break
            upcoming = next_due(engine)
            now = clock()
            horizon = now + timedelta(seconds=config.retry.max_delay_s)
            if until_idle and (upcoming is None or upcoming > horizon):
                break
            pause = poll_s if upcoming is None else (upcoming - now).total_seconds()
            sleep(min(poll_s, max(pause, 0.0)))
    finally:
        for each in made:
            each.close()
    return total
