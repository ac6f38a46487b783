"""Steps as plain calls or as Prefect tasks, from one table of (function, task name, retries).

:func:`plain_steps` needs no Prefect; :func:`prefect_steps` imports it when first called, so
that runs with ``use_prefect = false`` and commands that run no flow never load it
(tests/resilience/cli/test_no_prefect.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

__all__ = ["StepTable", "plain_steps", "prefect_steps"]

#: Step name -> (function, Prefect task name, retries).
StepTable = Mapping[str, tuple[Callable[..., Any], str, int]]


def plain_steps(table: StepTable) -> SimpleNamespace:
    """Return the steps as plain function calls, under their step names."""
    return SimpleNamespace(**{name: function for name, (function, _, _) in table.items()})


def prefect_steps(table: StepTable) -> SimpleNamespace:
    """Return the steps as Prefect tasks (named and retried as the table says)."""
    from prefect import task

    return SimpleNamespace(
        **{
            name: task(name=task_name, retries=retries)(function)
            for name, (function, task_name, retries) in table.items()
        }
    )
