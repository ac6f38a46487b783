"""Progress of long pulls and computations, as lines a person can follow.

:func:`task_progress` reports a dask computation in tenths of its tasks (local schedulers);
:func:`drivers_text` and :func:`bytes_text` describe the files of a pull. Used by
:func:`resilience.climate.store.pull_to_store` and the ``hazards`` commands, so that no step
that can take minutes is silent (issue 19).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["bytes_text", "drivers_text", "task_progress"]


def drivers_text(specs: Sequence[Any]) -> str:
    """Return how many files each driver serves, e.g. ``"320 local"``."""
    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec.driver] = counts.get(spec.driver, 0) + 1
    return ", ".join(f"{n} {driver}" for driver, n in sorted(counts.items()))


def bytes_text(locations: Sequence[Path | str]) -> str:
    """Return the size of the local files among ``locations`` (remote ones are not counted)."""
    total, remote = 0, 0
    for location in locations:
        path = Path(location) if not str(location).startswith(("http:", "https:")) else None
        if path is not None and path.is_file():
            total += path.stat().st_size
        else:
            remote += 1
    text = f"{total / 1e6:,.1f} MB on disk"
    return text + (f" ({remote} read remotely)" if remote else "")


@contextmanager
def task_progress(say: Callable[[str], None], what: str, *, step: float = 0.1) -> Iterator[None]:
    """Report a dask computation's progress in tenths, as lines (local schedulers only).

    Parameters
    ----------
    say : callable
        Called with ``"{what}: 30 % of 1200 tasks"`` each time another ``step`` of the
        tasks of a computation inside the block has finished.
    what : str
        The phase's name.
    step : float
        Fraction of the tasks between two lines.
    """
    from dask.callbacks import Callback

    class _Report(Callback):  # type: ignore[misc]  # dask's callbacks are untyped
        total, reported = 0, 0

        def _start_state(self, dsk: Any, state: Any) -> None:  # noqa: ANN401
            self.total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
            self.reported = 0

        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker: Any) -> None:  # noqa: ANN401
            if not self.total:
                return
            steps = int(len(state["finished"]) / self.total / step + 1e-9)  # whole steps done
            if steps > self.reported and steps * step < 1.0:
                self.reported = steps
                say(f"{what}: {steps * step:.0%} of {self.total} tasks")

    with _Report():
        yield
