"""Inputs of warning verification: alerts from CAP files or records, observed events from CSV.

Alerts. :func:`read_cap_alerts` reads CAP 1.2 files (the hazard comes from the ``ruleId``
parameter through the rule set, the level from ``colour``, the area from the ``GB/T 2260``
geocode); :func:`alerts_from_records` reads stored ``AlertRecord`` rows.

Observations. :func:`read_observed` reads a CSV, UTF-8, one row per interval during which the
observed level was *at least* ``level``::

    hazard,area,level,start,end
    rainstorm,310115,yellow,2026-07-21T14:00:00+08:00,2026-07-21T17:00:00+08:00

``area`` is the 6-digit GB/T 2260 code, ``level`` blue/yellow/orange/red, ``start < end`` are
ISO 8601 times with a UTC offset. Lines starting with ``#`` are comments. A row at yellow also
counts as an event at blue. Errors name the file, the line and the column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lxml import etree

from hazard_models.layer import SchemaError
from resilience.early_warning.cap import CAP_NS
from resilience.early_warning.outbox import alert_time
from resilience.early_warning.rule_models import LEVELS, RuleSet
from resilience.early_warning.rules import load_rules
from resilience.storage.tables import AlertRecord

__all__ = [
    "OBSERVED_COLUMNS",
    "AlertMessage",
    "Span",
    "alerts_from_records",
    "read_cap_alerts",
    "read_observed",
]

OBSERVED_COLUMNS = ("hazard", "area", "level", "start", "end")

_NS = {"cap": CAP_NS}


@dataclass(frozen=True)
class AlertMessage:
    """What verification needs from one CAP message."""

    identifier: str
    msg_type: str
    hazard: str
    level: str
    areas: tuple[str, ...]
    sent: datetime
    onset: datetime
    expires: datetime
    references: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Span:
    """An interval ``[start, end)`` at a level in one area; ``issued`` for warned spans."""

    hazard: str
    area: str
    level: str
    start: datetime
    end: datetime
    issued: datetime | None = None


def _referenced(text: str) -> tuple[str, ...]:
    """Return the identifiers of a CAP ``references`` value ("sender,identifier,sent" ...)."""
    return tuple(part.split(",")[1] for part in text.split() if part.count(",") == 2)


def _element(root: etree._Element, path: str, where: str) -> etree._Element:
    found = root.find(path, _NS)
    if found is None or not (found.text or "").strip():
        raise SchemaError(f"{where}: missing or empty <{path.replace('cap:', '')}>")
    return found


def _time(node: etree._Element, where: str) -> datetime:
    try:
        value = datetime.fromisoformat((node.text or "").strip())
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise SchemaError(
            f"{where}: line {node.sourceline}: <{etree.QName(node).localname}>: expected a "
            f"date-time with offset, found {node.text!r}"
        )
    return value


def _parameter(info: etree._Element, name: str) -> str | None:
    for param in info.findall("cap:parameter", _NS):
        if param.findtext("cap:valueName", "", _NS) == name:
            return param.findtext("cap:value", "", _NS)
    return None


def _read_cap(path: Path, rule_hazards: dict[str, str]) -> AlertMessage:
    try:
        root = etree.parse(str(path)).getroot()
    except etree.XMLSyntaxError as exc:
        raise SchemaError(f"{path}: line {exc.lineno}: not well-formed XML: {exc.msg}") from exc
    where = str(path)
    info = root.find("cap:info", _NS)
    if info is None:
        raise SchemaError(f"{where}: missing <info>; expected a CAP 1.2 alert")
    rule_id = _parameter(info, "ruleId")
    if rule_id not in rule_hazards:
        raise SchemaError(
            f"{where}: line {info.sourceline}: parameter ruleId {rule_id!r}: expected a rule "
            f"of the rule set ({', '.join(sorted(rule_hazards))})"
        )
    level = _parameter(info, "colour")
    if level not in LEVELS:
        raise SchemaError(f"{where}: parameter colour {level!r}: expected one of {LEVELS}")
    codes = [v.text or "" for v in info.findall("cap:area/cap:geocode/cap:value", _NS)]
    return AlertMessage(
        identifier=_element(root, "cap:identifier", where).text.strip(),  # type: ignore[union-attr]
        msg_type=_element(root, "cap:msgType", where).text.strip(),  # type: ignore[union-attr]
        hazard=rule_hazards[rule_id],
        level=level,
        areas=tuple(codes),
        sent=_time(_element(root, "cap:sent", where), where),
        onset=_time(_element(info, "cap:onset", where), where),
        expires=_time(_element(info, "cap:expires", where), where),
        references=_referenced(root.findtext("cap:references", "", _NS)),
        source=where,
    )


def read_cap_alerts(paths: Iterable[Path], *, rules: RuleSet | None = None) -> list[AlertMessage]:
    """Read CAP 1.2 messages from files and directories (``*.xml``, sorted).

    Parameters
    ----------
    paths : iterable of Path
        CAP files, or directories of them (e.g. the ``--out`` of ``resilience warn``).
    rules : RuleSet, optional
        Rule set that maps each message's ``ruleId`` parameter to its hazard (default: the
        shipped rules).

    Raises
    ------
    SchemaError
        Naming the file (and line) of a message that is not well-formed or lacks
        identifier, sent, msgType, onset, expires, a known ``ruleId`` or a ``colour``.
    """
    rules = rules or load_rules()
    hazards = {rule.id: rule.hazard for rule in rules.rules}
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise SchemaError(f"{path}: no such file or directory; expected CAP files")
        files.extend(sorted(path.glob("*.xml")) if path.is_dir() else [path])
    if not files:
        raise SchemaError("alerts: expected CAP files, found none")
    return [_read_cap(path, hazards) for path in files]


def alerts_from_records(records: Iterable[AlertRecord]) -> list[AlertMessage]:
    """Return the messages of stored ``AlertRecord`` rows."""
    return [
        AlertMessage(
            identifier=r.identifier,
            msg_type=r.msg_type,
            hazard=r.hazard,
            level=r.level,
            areas=(r.area,),
            sent=alert_time(r.sent),
            onset=alert_time(r.onset),
            expires=alert_time(r.expires),
            references=_referenced(r.references),
            source=f"database alert {r.identifier}",
        )
        for r in records
    ]


def _parse_time(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise SchemaError(f"{where}: expected an ISO 8601 time with offset, found {text!r}")
    return value


def _observed_row(row: dict[str, str], where: str) -> Span:
    for column in OBSERVED_COLUMNS:
        if not row.get(column):
            raise SchemaError(f"{where}, column '{column}': expected a value, found none")
    if not (row["area"].isdigit() and len(row["area"]) == 6):
        raise SchemaError(
            f"{where}, column 'area': expected a 6-digit GB/T 2260 code, found {row['area']!r}"
        )
    if row["level"] not in LEVELS:
        raise SchemaError(
            f"{where}, column 'level': expected one of {', '.join(LEVELS)}, found {row['level']!r}"
        )
    start = _parse_time(row["start"], f"{where}, column 'start'")
    end = _parse_time(row["end"], f"{where}, column 'end'")
    if end <= start:
        raise SchemaError(f"{where}, column 'end': expected a time after start {row['start']}")
    return Span(row["hazard"], row["area"], row["level"], start, end)


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of the non-blank, non-comment rows of a CSV text."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    for cells in reader:
        if any(cell.strip() for cell in cells) and not cells[0].lstrip().startswith("#"):
            rows.append((reader.line_num, cells))
    return rows


def read_observed(path: Path, *, hazards: Iterable[str] | None = None) -> list[Span]:
    """Read observed events from a CSV (format in the module docstring).

    Parameters
    ----------
    path : Path
        The CSV file.
    hazards : iterable of str, optional
        Known hazard ids; another hazard is an error.

    Raises
    ------
    SchemaError
        Naming the file, the line and the column of the first bad value, or the missing
        columns.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{path}: expected UTF-8 text ({exc.reason})") from None
    rows = _csv_rows(text)
    header = [name.strip() for name in rows[0][1]] if rows else []
    missing = [c for c in OBSERVED_COLUMNS if c not in header]
    if missing:
        raise SchemaError(
            f"{path}: header: missing column(s) {', '.join(missing)}; expected "
            f"{', '.join(OBSERVED_COLUMNS)}, found {', '.join(header) or 'none'}"
        )
    known = set(hazards) if hazards is not None else None
    spans = []
    for line, cells in rows[1:]:
        where = f"{path}: line {line}"
        if len(cells) != len(header):
            raise SchemaError(f"{where}: expected {len(header)} fields, found {len(cells)}")
        span = _observed_row(dict(zip(header, (c.strip() for c in cells), strict=True)), where)
        if known is not None and span.hazard not in known:
            raise SchemaError(f"{where}, column 'hazard': unknown hazard {span.hazard!r}")
        spans.append(span)
    return spans
