"""Run the README's runnable command blocks and compare what they print with what it shows.

A block is runnable when the line before its opening fence is ``<!-- runnable -->``. In it,
``$ resilience ...`` lines (with ``\\`` continuations) are commands; the lines up to the next
command are what the README says it prints. Each command must exit 0, and each shown line
must be found in the real output:

* a line saying ``abridged`` is the README's own note and is skipped;
* a plain line (no table borders, no ``...``) must equal a printed line, spaces collapsed,
  after the volatile parts of both are masked (times, check ids, elapsed seconds, the
  working folder, which the README writes as ``/work/main``);
* a table row must match a printed row of as many cells, each shown cell the start of the
  printed one (rich may cut a cell short with ``…`` or wrap it onto a row of its own at
  the width the README was captured at; a row of wrapped remainders, with empty cells, is
  checked by words);
* an abridged line (``...`` marks text left out) must have every word among the printed
  words (a word cut short with ``…`` matches its start), and every number among the
  printed numbers to the precision shown (``7.44`` matches 7.4436).

So the README may abridge, but what it shows must be what the commands print.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

MARKER = "<!-- runnable -->"
BOX = "│┃┏┓┗┛┡┩└┘┳┻╇━─┣┫╋"
_VOLATILE = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?"), "<time>"),
    (re.compile(r"check_[0-9a-f]{12}"), "check_<id>"),
    (re.compile(r"finished in \d+(?:\.\d+)? s"), "finished in <n> s"),
]
_WORD = re.compile(r"[A-Za-z_][\w\-./…]*")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w])")


@dataclass
class Command:
    """One ``$`` command of a block and the lines the README shows it printing."""

    line: int  #: README line of the ``$``
    argv: list[str]
    shown: list[str] = field(default_factory=list)


def runnable_commands(readme: Path) -> list[Command]:
    """Return the commands of the README's runnable blocks, in order."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    commands: list[Command] = []
    inside, pending = False, ""
    for number, text in enumerate(lines, start=1):
        if not inside:
            inside = text.startswith("```") and number > 1 and lines[number - 2] == MARKER
            continue
        if text.startswith("```"):
            inside = False
            continue
        if pending or text.startswith("$ "):
            command = (pending + " " + text.removeprefix("$ ").strip()).strip()
            if command.endswith("\\"):
                pending = command[:-1]
                continue
            pending = ""
            argv = shlex.split(command, comments=True)
            commands.append(Command(number, argv))
        elif commands:
            commands[-1].shown.append(text)
    return commands


def _mask(text: str, workdir: Path) -> str:
    text = text.replace(str(workdir), "/work/main")
    for pattern, token in _VOLATILE:
        text = pattern.sub(token, text)
    return text


def _plain(text: str) -> str:
    return " ".join(text.split())


def _decimals(number: str) -> int:
    return len(number.split(".")[1]) if "." in number else 0


def _cells(line: str) -> list[str] | None:
    """Return the cells of a table row (``│ a │ b │``), or None for another line."""
    text = line.strip()
    if len(text) < 2 or text[0] not in "│┃" or text[-1] not in "│┃":
        return None
    return [cell.strip() for cell in re.split("[│┃]", text[1:-1])]


def _row_found(cells: list[str], rows: list[list[str]]) -> bool:
    def starts(shown: str, printed: str) -> bool:
        return printed.startswith(shown.removesuffix("…"))

    return any(
        len(row) == len(cells) and all(starts(c, p) for c, p in zip(cells, row, strict=True))
        for row in rows
    )


def unmatched(shown: list[str], printed: str, workdir: Path) -> list[str]:
    """Return the shown lines that the printed output does not bear out."""
    printed = _mask(printed, workdir)
    plain_lines = {_plain(x) for x in printed.splitlines()}
    rows = [cells for x in printed.splitlines() if (cells := _cells(x)) is not None]
    words = set(_WORD.findall(printed))
    numbers = [float(x) for x in _NUMBER.findall(printed)]
    missing = []
    for text in shown:
        line = _mask(text, Path("/nonexistent"))
        if not line.strip() or not any(ch.isalnum() for ch in line) or "abridged" in line:
            continue  # a rule of a table, or the README's own note that rows are left out
        cells = _cells(line)
        if cells is not None and "..." not in line and all(cells):
            if not _row_found(cells, rows):
                missing.append(text)
            continue
        abridged = "..." in line or any(ch in BOX for ch in line)
        if not abridged:
            if _plain(line) not in plain_lines:
                missing.append(text)
            continue
        body = line.replace("...", " ")
        for word in _WORD.findall(body):
            found = (
                any(w.startswith(word[:-1]) for w in words) if word.endswith("…") else word in words
            )
            if not found:
                missing.append(f"{text}  [word {word!r}]")
                break
        else:
            for token in _NUMBER.findall(body):
                value, tolerance = float(token), 0.5 * 10 ** -_decimals(token) + 1e-12
                if not any(abs(value - n) <= tolerance for n in numbers):
                    missing.append(f"{text}  [number {token}]")
                    break
    return missing
