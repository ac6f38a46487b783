"""Delivery configuration: targets per agency, retry policy, and the back-off schedule.

The rule set declares each agency's channels (``webhook``, ``file``, ``feed``, ``api``); this
configuration, a YAML file of the deployment (:func:`load_delivery_config`), gives the targets
of the push channels (URLs, directories, the names of secret variables) and must not add a
channel an agency did not declare::

    retry: {max_attempts: 8, base_delay_s: 2, factor: 2, max_delay_s: 900, jitter: 0.2}
    concurrency: 4            # parallel sends per agency and channel
    attempt_deadline_s: 30    # one attempt, connect to last byte of the answer
    agencies:
      transport:
        webhook: {url: "https://ops.example/cap", bearer_token_env: TRANSPORT_TOKEN}

**Secrets** stay out of the database and the logs: a webhook URL with userinfo
(``https://user:pass@host/path``) or a secret-looking query parameter (``?token=...``) is
stored in ``outbox_deliveries.target`` as :func:`redact_url` gives it
(``https://***@host/path?token=***``); the worker sends to the URL of this configuration,
read at send time.

**Retries**: exponential back-off with jitter, ``base_delay_s * factor**(n - 1)`` capped at
``max_delay_s``, multiplied by a uniform factor in ``[1 - jitter, 1 + jitter]`` (M. Brooker,
"Exponential Backoff And Jitter", AWS Architecture Blog, 2015); a ``Retry-After`` in seconds
(RFC 9110 section 10.2.3) lengthens the wait, up to ``max_delay_s``.

**Deadlines**: ``attempt_deadline_s`` (default 30 s) bounds the whole of one webhook attempt
(connect, send, response headers and body); ``webhook.timeout_s`` (default 10 s) bounds each
single network operation inside it. The lease must outlast an attempt (``lease_s >
attempt_deadline_s``), or a second worker could take a delivery that is still being sent.
"""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from resilience.early_warning.outbox import Channel
from resilience.early_warning.rule_models import RuleSet
from resilience.validation_text import describe

__all__ = [
    "AgencyTargets",
    "DeliveryConfig",
    "DeliveryConfigError",
    "RetryPolicy",
    "WebhookTarget",
    "backoff_delay",
    "load_delivery_config",
    "missing_targets",
    "redact_httpx_log",
    "redact_text",
    "redact_url",
]


#: Query parameters whose values are secrets (matched in their lower-cased names).
_SECRET_PARAM = re.compile(r"token|secret|key|pass|pwd|auth|sig|credential|session")
_REDACTED = "***"


def _query_secrets(query: str) -> list[tuple[str, str]]:
    """Return the (name, value) pairs of a raw query whose values are secret."""
    pairs = [part.partition("=") for part in query.split("&") if part]
    return [(name, value) for name, _, value in pairs if _SECRET_PARAM.search(name.lower())]


def redact_url(url: str) -> str:
    """Return ``url`` without its secrets: userinfo and secret query values become ``***``.

    Parameters
    ----------
    url : str
        A webhook URL, e.g. ``https://user:pass@host/cap?token=abc&region=sh``.

    Returns
    -------
    str
        E.g. ``https://***@host/cap?token=***&region=sh``; a URL without secrets unchanged.
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{_REDACTED}@{netloc.rpartition('@')[2]}"
    secret = {name for name, _ in _query_secrets(parts.query)}
    query = "&".join(
        f"{part.partition('=')[0]}={_REDACTED}" if part.partition("=")[0] in secret else part
        for part in parts.query.split("&")
        if part
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, url: str) -> str:
    """Return ``text`` (an error or a log line) with the secrets of ``url`` replaced by ``***``.

    The URL itself becomes :func:`redact_url`'s form; its password, userinfo and secret query
    values (raw and percent-decoded) are replaced wherever else they appear.
    """
    text = text.replace(url, redact_url(url))
    parts = urlsplit(url)
    found = [value for _, value in _query_secrets(parts.query)]
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        found += [userinfo, userinfo.partition(":")[2]]
    for value in sorted({v for raw in found for v in (raw, unquote(raw)) if v}, key=len)[::-1]:
        text = text.replace(value, _REDACTED)
    return text


class _RedactUrls(logging.Filter):
    """Log filter: httpx logs each request's full URL at INFO; log it without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(str(a)) if "://" in str(a) else a for a in record.args)
        return True


def redact_httpx_log() -> None:
    """Install a filter on the ``httpx`` logger (once) that logs URLs as :func:`redact_url`."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactUrls) for f in logger.filters):
        logger.addFilter(_RedactUrls())


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
    """An agency's webhook: URL, optional bearer token (named environment variable).

    ``timeout_s`` bounds each network operation (connect, one write, one read); the whole
    attempt is bounded by :attr:`DeliveryConfig.attempt_deadline_s`.
    """

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
    """Delivery settings: targets per agency, retry policy, concurrency, deadlines and leases.

    ``concurrency`` is the number of parallel sends per agency and channel (agencies are sent
    side by side, each with its own connection pool); ``attempt_deadline_s`` bounds one
    attempt from connect to the last byte of the answer (s); ``lease_s`` must exceed it.
    """

    agencies: dict[str, AgencyTargets] = Field(default_factory=dict)
    retry: RetryPolicy = RetryPolicy()
    concurrency: int = Field(default=4, ge=1, le=64)
    batch_size: int = Field(default=200, ge=1)
    attempt_deadline_s: float = Field(default=30.0, gt=0.0, le=3600.0)
    lease_s: float = Field(default=120.0, gt=0.0)
    record_every: int = Field(default=20, ge=1)
    user_agent: str = "resilience-early-warning/0.1"

    @field_validator("lease_s")
    @classmethod
    def _outlasts_an_attempt(cls, value: float, info: ValidationInfo) -> float:
        deadline = info.data.get("attempt_deadline_s")
        if deadline is not None and value <= deadline:
            raise ValueError(
                f"expected more than attempt_deadline_s ({deadline:g} s), found {value:g} s: "
                "a lease that ends before its attempt lets another worker send it again"
            )
        return value

    def channels(self) -> dict[str, list[tuple[Channel, str]]]:
        """Return (channel, target) pairs per configured agency, to store in the outbox.

        A webhook target is its URL without secrets (:func:`redact_url`); the worker reads the
        real URL from this configuration when it sends.
        """
        out: dict[str, list[tuple[Channel, str]]] = {}
        for agency, targets in self.agencies.items():
            pairs: list[tuple[Channel, str]] = []
            if targets.webhook is not None:
                pairs.append(("webhook", redact_url(targets.webhook.url)))
            if targets.file_drop is not None:
                pairs.append(("file", str(targets.file_drop)))
            out[agency] = pairs
        return out


_PUSH = {"webhook": "webhook", "file_drop": "file"}


def _check_channels(config: DeliveryConfig, rules: RuleSet, path: Path) -> None:
    """Each configured target must be a channel its agency declares in the rule set."""
    declared = {a.id: a.channels for a in rules.agencies}
    for agency, targets in config.agencies.items():
        for field, channel in _PUSH.items():
            if getattr(targets, field) is not None and channel not in declared[agency]:
                raise DeliveryConfigError(
                    f"{path}: field agencies.{agency}.{field}: agency {agency!r} does not take "
                    f"{channel!r}; its channels in the rule set are {declared[agency]}"
                )


def missing_targets(config: DeliveryConfig, rules: RuleSet) -> dict[str, list[str]]:
    """Return, per agency, the push channels it declares but the configuration gives no target.

    Messages to such an agency wait in the outbox (unplanned) and stay readable through its
    feed and the API; the CLI warns about them.
    """
    out: dict[str, list[str]] = {}
    for agency in rules.agencies:
        targets = config.agencies.get(agency.id, AgencyTargets())
        missing: list[str] = [
            channel
            for field, channel in _PUSH.items()
            if channel in agency.channels and getattr(targets, field) is None
        ]
        if missing:
            out[agency.id] = missing
    return out


def load_delivery_config(
    path: Path, *, known_agencies: set[str] | None = None, rules: RuleSet | None = None
) -> DeliveryConfig:
    """Read and validate a delivery configuration (YAML).

    The rule set says *how* each agency takes its messages (``channels``: webhook, file,
    feed, api); this file says *where* (URLs, directories, the names of secret variables),
    which belongs to a deployment, not to the rules.

    Parameters
    ----------
    path : Path
        The file.
    known_agencies : set of str, optional
        Agency ids; an agency not in it is an error (default: those of ``rules``).
    rules : RuleSet, optional
        The rule set: a target for a channel its agency does not declare is an error.

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
        raise DeliveryConfigError(describe(str(path), exc, prefix="field ")) from exc
    if known_agencies is None and rules is not None:
        known_agencies = {a.id for a in rules.agencies}
    unknown = sorted(set(config.agencies) - known_agencies) if known_agencies else []
    if unknown:
        raise DeliveryConfigError(
            f"{path}: field agencies: unknown agency {unknown}; expected one of "
            f"{sorted(known_agencies or [])}"
        )
    if rules is not None:
        _check_channels(config, rules, path)
    return config


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
