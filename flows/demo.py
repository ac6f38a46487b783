"""The demo: the three user paths end to end on the bundled Shanghai sample.

1. write the sample and its city profile; 2. refresh from the profile (layers and risk), as
any city's refresh runs; 3. one feasibility check of the example submission; 4. warnings
from the 72-hour sample forecast, as CAP 1.2 files, with the profile's rules and districts;
5. the shipped real observations compared with the layers, one line each.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel

from flows import refresh, steps
from flows.refresh import RefreshResult, refresh_sequence
from flows.step_tasks import plain_steps, prefect_steps
from resilience.profile import find_profile, load_profile

#: Each demo step beside the refresh's: its function and Prefect task name and retries.
_STEPS: dict[str, tuple[Callable[..., Any], str, int]] = {
    "write_sample": (steps.write_sample, "write-sample", 1),
    "compare_observed": (steps.compare_observed, "compare-observed", 0),
    "check_feasibility": (steps.check_feasibility, "check-feasibility", 0),
    "issue_warnings": (steps.issue_warnings, "issue-warnings", 0),
}
#: The demo steps as plain calls (settings ``use_prefect = false``: Prefect is not imported).
PLAIN = plain_steps(_STEPS)


@functools.cache
def prefect_tasks() -> SimpleNamespace:
    """Return the demo steps as Prefect tasks, built (and Prefect imported) on first use."""
    return prefect_steps(_STEPS)


def __getattr__(name: str) -> Any:  # noqa: ANN401 - a module attribute (PEP 562)
    """Build ``TASKS`` and ``demo_flow`` on first access, importing Prefect then."""
    if name == "TASKS":
        return prefect_tasks()
    if name == "demo_flow":
        return _demo_flow()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DemoResult(BaseModel):
    """Everything the demo produced."""

    sample_dir: Path
    refresh: RefreshResult
    check: steps.CheckOutputs
    warnings: steps.WarningOutputs
    observed: list[str] = []


def demo_sequence(
    run: SimpleNamespace,
    refresh_run: SimpleNamespace,
    out_dir: Path,
    *,
    database_url: str,
    target_probability: float,
) -> DemoResult:
    """Sequence the demo steps with ``run`` (Prefect tasks or plain functions)."""
    out_dir = Path(out_dir)
    sample = Path(run.write_sample(out_dir / "sample"))
    profile = load_profile(find_profile(sample))
    store_root = out_dir / "data" / "layers"
    refreshed = refresh_sequence(refresh_run, profile, store_root, out_dir=out_dir)
    check = run.check_feasibility(
        sample / "submissions" / "bund_metro_station.json",
        store_root,
        out_dir / "reports",
        database_url,
        target_probability,
    )
    alerts = run.issue_warnings(
        sample / "forecast" / "forecast_72h.nc",
        profile.districts,
        out_dir / "cap",
        database_url,
        profile.warning_rules,
    )
    observed = run.compare_observed(store_root)
    return DemoResult(
        sample_dir=sample, refresh=refreshed, check=check, warnings=alerts, observed=observed
    )


@functools.cache
def _demo_flow() -> Any:  # noqa: ANN401 - a prefect Flow
    from prefect import flow

    @flow(name="demo", log_prints=True)
    def demo_flow(out_dir: Path, database_url: str, target_probability: float = 0.10) -> DemoResult:
        """Run the whole demo under Prefect; its refresh leaves the refresh's artifacts."""
        from flows.refresh_artifacts import publish_refresh_artifacts

        result = demo_sequence(
            prefect_tasks(),
            refresh.prefect_tasks(),
            out_dir,
            database_url=database_url,
            target_probability=target_probability,
        )
        publish_refresh_artifacts(result.refresh)
        return result

    return demo_flow


def run_demo(
    out_dir: Path, *, database_url: str, target_probability: float = 0.10, use_prefect: bool = True
) -> DemoResult:
    """Run the demo under Prefect, or as plain function calls."""
    if use_prefect:
        return _demo_flow()(out_dir, database_url, target_probability)
    return demo_sequence(
        PLAIN,
        refresh.PLAIN,
        out_dir,
        database_url=database_url,
        target_probability=target_probability,
    )
