"""The fault catalogue of issue 13: every test here reproduces one fault.

Mark each test ``@pytest.mark.fault("13.N", "what goes wrong")`` with the issue item and
the fault; the run ends with a summary of how many faults were tried and how many were
handled (the test passed), per item, so the catalogue reads as the engine's record.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

_RESULTS: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"handled": [], "not": []})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fault(item, description): a reproduced fault of issue 13 and its item"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("fault")
    if marker is None or report.when != "call":
        return
    number, description = (list(marker.args) + ["?", item.name])[:2]
    _RESULTS[str(number)]["handled" if report.passed else "not"].append(str(description))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _RESULTS:
        return
    handled = sum(len(r["handled"]) for r in _RESULTS.values())
    tried = handled + sum(len(r["not"]) for r in _RESULTS.values())
    write = terminalreporter.write_line
    terminalreporter.section("fault catalogue (issue 13)")
    for number in sorted(_RESULTS, key=lambda n: [int(p) for p in n.split(".") if p.isdigit()]):
        result = _RESULTS[number]
        write(f"  {number}: {len(result['handled'])} handled, {len(result['not'])} not")
        for description in result["not"]:
            write(f"      NOT HANDLED: {description}")
    write(f"faults tried: {tried}, handled: {handled}")
