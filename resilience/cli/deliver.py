"""``resilience warn deliver``: say what the outbox worker will do, requeue, run it, report.

Before anything changes, the command prints its plan (:func:`plan_delivery`): per agency and
channel, the deliveries due now, those that would be marked expired (their CAP ``expires``
has passed on the clock in use) and those scheduled later, and what it will do with each.
``--dry-run`` stops there. ``--requeue`` puts expired or failed deliveries back in the queue
first. While the worker runs it prints a progress line at most every second; the first Ctrl-C
stops it cleanly (attempts in flight finish and are recorded, deliveries not yet sent are
released), prints the summary and exits 130. Registered on ``warn_app`` by
:mod:`resilience.cli.warn`; imports stay inside the command (style.md rule 4).
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console

from resilience.cli.failure import fail, read_rules, read_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from resilience.early_warning.delivery_plan import DeliveryPlan, DeliveryReport

__all__ = ["INTERRUPTED_EXIT", "deliver_command"]

#: Exit code after Ctrl-C (128 + SIGINT, the shell's convention).
INTERRUPTED_EXIT = 130

RequeueOption = Literal["expired", "failed", "all"]
_REQUEUE_STATES: dict[str, tuple[Literal["expired", "failed"], ...]] = {
    "expired": ("expired",),
    "failed": ("failed",),
    "all": ("expired", "failed"),
}


console = Console()
error_console = Console(stderr=True, soft_wrap=True)


_fail = fail  # the names the commands below use
_settings = read_settings
_rules = read_rules


def _local(when: datetime) -> str:
    from resilience.early_warning.metric import BEIJING

    return when.astimezone(BEIJING).isoformat(timespec="minutes")


def _print_plan(console: Console, plan: DeliveryPlan, options: dict[str, Any]) -> None:
    """Print the plan table and one line per thing the run will do."""
    from rich.table import Table

    replay = options["replay_from"]
    clock = f"replay clock from {replay}" if replay else "system clock"
    console.print(f"Delivery plan at {_local(plan.now)} ({clock})", soft_wrap=True)
    table = Table()
    for column in ("agency", "channel", "due now", "would expire", "later"):
        table.add_column(column, justify="left" if column in {"agency", "channel"} else "right")
    for agency, channel in plan.lanes():
        counts = [
            plan.counts.get((agency, channel, kind), 0) for kind in ("due", "expire", "later")
        ]
        table.add_row(agency, channel, *(str(n) for n in counts))
    console.print(table)
    due, expire, later = (plan.total(k) for k in ("due", "expire", "later"))
    lines = [f"requeue {plan.requeue} {options['requeue']} deliveries (counted above)"]
    lines = lines if plan.requeue else []
    lines.append(f"send {due} due now (an Update waits for its Alert to the same agency)")
    if expire:
        lines.append(f"mark {expire} expired: their CAP expires passed before delivery")
        if plan.first_expiring is not None and not replay:
            lines.append(
                "  to deliver them as in the exercise instead: --replay-from "
                f"{_local(plan.first_expiring)} (after a run: add --requeue expired)"
            )
    once = "left queued for a later run (--once)" if options["once"] else "sent when due"
    lines.append(f"{later} scheduled later: {once}")
    if plan.unconfigured:
        waiting = ", ".join(f"{a} {n}" for a, n in sorted(plan.unconfigured.items()))
        lines.append(f"left unplanned, no target here (feed and API only): {waiting}")
    for line in lines:
        console.print(f"  {line}", soft_wrap=True, highlight=False)


class _Progress:
    """Print delivered/retry/failed/remaining at most once per ``every_s``."""

    def __init__(self, console: Console, engine: Engine, every_s: float = 1.0) -> None:
        self.console, self.engine, self.every_s, self.last = console, engine, every_s, 0.0

    def __call__(self, report: DeliveryReport) -> None:
        now = time.monotonic()
        if now - self.last < self.every_s:
            return
        from resilience.early_warning.dispatch import outbox_counts

        self.last = now
        remaining = outbox_counts(self.engine).get("pending", 0)
        self.console.print(
            f"  ... delivered {report.delivered}, retry {report.retried}, "
            f"failed {report.failed}, remaining {remaining}",
            highlight=False,
        )


def _on_interrupt(console: Console, stop: threading.Event) -> None:
    """Make the first Ctrl-C set ``stop``; a second one raises KeyboardInterrupt as usual."""

    def handler(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        console.print("stopping: finishing attempts in flight (Ctrl-C again to abandon them)")

    signal.signal(signal.SIGINT, handler)


def _summary(console: Console, report: DeliveryReport, engine: Engine) -> None:
    from resilience.early_warning.dispatch import outbox_counts

    timed_out = f" ({report.timed_out} timed out)" if report.timed_out else ""
    released = f", released unsent {report.released}" if report.released else ""
    console.print(
        f"queued {report.queued}, planned {report.planned}, attempted {report.attempted}: "
        f"delivered {report.delivered}, retry {report.retried}{timed_out}, "
        f"failed {report.failed}{released} in {report.seconds:.2f} s",
        highlight=False,
        soft_wrap=True,
    )
    counts = ", ".join(f"{k} {v}" for k, v in sorted(outbox_counts(engine).items()))
    console.print(f"outbox: {counts}", highlight=False, soft_wrap=True)


def deliver_command(
    delivery: Annotated[Path, typer.Option("--config", help="Delivery configuration YAML.")],
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="One worker pass, then exit (else run until Ctrl-C); each webhook attempt "
            "ends within the configuration's attempt_deadline_s.",
        ),
    ] = False,
    replay_from: Annotated[
        str | None,
        typer.Option("--replay-from", help="Start the clock at this ISO time (exercises)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and stop; change nothing.")
    ] = False,
    requeue: Annotated[
        RequeueOption | None,
        typer.Option(
            "--requeue",
            help="First put expired, failed or all (both) deliveries back in the queue, due "
            "now on the clock in use (with --replay-from: the replay time, or when the "
            "message falls due if later).",
        ),
    ] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="Rule set YAML.")] = None,
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="Settings TOML file.")
    ] = None,
) -> None:
    """Deliver queued CAP messages (webhooks with retries, file drops); print the plan first."""
    from resilience.early_warning.delivery import deliver_due, run_delivery
    from resilience.early_warning.delivery_config import (
        DeliveryConfigError,
        load_delivery_config,
        missing_targets,
    )
    from resilience.early_warning.delivery_plan import (
        plan_delivery,
        replay_clock,
        requeue_deliveries,
    )
    from resilience.storage.database import make_engine

    rule_set = _rules(rules)
    try:
        config = load_delivery_config(delivery, rules=rule_set)
    except DeliveryConfigError as error:
        _fail(str(error))
    for agency, channels in sorted(missing_targets(config, rule_set).items()):
        console.print(f"  note: {agency} takes {', '.join(channels)} but has no target here")
    engine = make_engine(_settings(settings_file).resolved_database_url)
    try:
        clock = replay_clock(replay_from)
    except ValueError as error:
        _fail(f"--replay-from: {error}")
    states = _REQUEUE_STATES[requeue] if requeue else ()
    options = {"replay_from": replay_from, "once": once, "requeue": requeue}
    _print_plan(
        console, plan_delivery(engine, config.channels(), now=clock(), requeue=states), options
    )
    if dry_run:
        console.print("dry run: nothing changed")
        return
    if states:
        count = requeue_deliveries(engine, states, now=clock())
        console.print(f"requeued {count} {requeue} deliveries (one transaction)")
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)
    _on_interrupt(console, stop)
    progress = _Progress(console, engine)
    try:
        if once:
            report = deliver_due(engine, config, clock=clock, stop=stop, progress=progress)
        else:
            report = run_delivery(
                engine, config, until_idle=False, stop=stop, clock=clock, progress=progress
            )
    finally:
        signal.signal(signal.SIGINT, previous)
    _summary(console, report, engine)
    if stop.is_set():
        console.print("stopped by Ctrl-C")
        raise typer.Exit(code=INTERRUPTED_EXIT)
