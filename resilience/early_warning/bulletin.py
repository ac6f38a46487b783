"""Format a warnings run for people: a rich table for the CLI, or plain lines.

Messages are listed in the order they go out (``sent``, then hazard and district), so a run
reads as the bulletin sequence of its forecast; messages withdrawn by the run come first,
marked ``withdrawn``. A run with data-quality problems (missing hours, held rules) says so
in its counts and ends with one ``data quality:`` line per problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.table import Table

    from resilience.early_warning.run import WarningRun

__all__ = ["bulletin_lines", "data_quality_lines", "digest_lines", "format_bulletins"]

_STYLE = {
    "blue": "bold blue",
    "yellow": "bold yellow",
    "orange": "bold dark_orange",
    "red": "bold red",
}
_FMT = "%m-%d %H:%M"


def _ordered(run: WarningRun) -> list:
    return sorted(run.messages, key=lambda m: (not m.withdrawn, m.sent, m.hazard, m.area))


def _state(message: object) -> str:
    if getattr(message, "withdrawn", False):
        return "withdrawn"
    return "yes" if getattr(message, "new", False) else "no"


def _counts(run: WarningRun) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in sorted(run.by_type.items()))
    text = (
        f"{run.episodes} episodes; {run.new_messages} new, {run.already_issued} already issued"
        f" ({counts})"
    )
    if run.withdrawn:
        text += f"; {run.withdrawn} withdrawn (replaced by this forecast)"
    if run.skipped_rules:
        text += f"; rules skipped: {', '.join(sorted(run.skipped_rules))}"
    if run.data_quality:
        text += f"; DATA QUALITY: {len(run.data_quality)} problem(s), see below"
    return text


def data_quality_lines(run: WarningRun) -> list[str]:
    """Return one ``data quality:`` line per problem of the run's forecast (none if clean)."""
    return [f"data quality: {problem}" for problem in run.data_quality]


def format_bulletins(run: WarningRun) -> Table:
    """Return a rich table of the run's messages (one row each) with the counts as caption."""
    from rich.table import Table

    table = Table(title=f"Warnings from {run.forecast}", show_lines=False)
    for column in ("sent", "type", "hazard", "level", "area", "onset", "expires", "new"):
        table.add_column(column)
    for m in _ordered(run):
        table.add_row(
            m.sent.strftime(_FMT),
            m.msg_type,
            m.hazard,
            f"[{_STYLE.get(m.level, '')}]{m.level}[/]",
            m.area_name,
            m.onset.strftime(_FMT),
            m.expires.strftime(_FMT),
            _state(m),
        )
    table.caption = _counts(run)
    return table


def bulletin_lines(run: WarningRun) -> list[str]:
    """Return one plain-text line per message, a counts line, then data-quality lines."""
    lines = [
        f"{m.sent.strftime(_FMT)} {m.msg_type:<6} {m.hazard:<18} {m.level:<6} "
        f"{m.area_name:<16} {m.onset.strftime(_FMT)} -> {m.expires.strftime(_FMT)} {m.identifier}"
        + (" withdrawn" if m.withdrawn else "")
        for m in _ordered(run)
    ]
    lines.append(_counts(run))
    return lines + data_quality_lines(run)


_LEVEL_ORDER = ("notice", "blue", "yellow", "orange", "red")


def digest_lines(run: WarningRun) -> list[str]:
    """Return one line per hazard: highest level, districts reached and the time span.

    A 72-hour run can issue a hundred messages; the digest is what a duty officer reads first.
    """
    by_hazard: dict[str, list] = {}
    for message in (m for m in run.messages if not m.withdrawn):
        by_hazard.setdefault(message.hazard, []).append(message)
    lines = []
    for hazard, messages in sorted(by_hazard.items()):
        levels = {m.level for m in messages if m.msg_type != "Cancel"}
        top = max(levels, key=lambda lv: _LEVEL_ORDER.index(lv) if lv in _LEVEL_ORDER else -1)
        areas = {m.area_name for m in messages if m.level == top and m.msg_type != "Cancel"}
        onset = min(m.onset for m in messages).strftime(_FMT)
        expires = max(m.expires for m in messages if m.msg_type != "Cancel").strftime(_FMT)
        lines.append(
            f"{hazard:<18} up to {top:<6} in {len(areas):>2} districts, {onset} -> {expires}, "
            f"{len(messages)} messages"
        )
    return lines
