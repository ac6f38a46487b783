"""The demo: the three user paths end to end on the bundled Shanghai sample.

1. write the sample and its city profile; 2. refresh from the profile (layers and risk), as
any city's refresh runs; 3. one feasibility check of the example submission; 4. warnings
from the 72-hour sample forecast, as CAP 1.2 files, with the profile's rules and districts;
5. the shipped real observations compared with the layers, one line each.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from prefect import flow, task
from pydantic import BaseModel

from flows import steps
from flows.refresh import PLAIN as REFRESH_PLAIN
from flows.refresh import TASKS as REFRESH_TASKS
from flows.refresh import RefreshResult, refresh_sequence
from resilience.profile import find_profile, load_profile

TASKS = SimpleNamespace(
    write_sample=task(name="write-sample", retries=1)(steps.write_sample),
    compare_observed=task(name="compare-observed")(steps.compare_observed),
    check_feasibility=task(name="check-feasibility")(steps.check_feasibility),
    issue_warnings=task(name="issue-warnings")(steps.issue_warnings),
)
PLAIN = SimpleNamespace(**{name: getattr(steps, name) for name in vars(TASKS)})


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


@flow(name="demo", log_prints=True)
def demo_flow(out_dir: Path, database_url: str, target_probability: float = 0.10) -> DemoResult:
    """Run the whole demo under Prefect."""
    return demo_sequence(
        TASKS,
        REFRESH_TASKS,
        out_dir,
        database_url=database_url,
        target_probability=target_probability,
    )


def run_demo(
    out_dir: Path, *, database_url: str, target_probability: float = 0.10, use_prefect: bool = True
) -> DemoResult:
    """Run the demo under Prefect, or as plain function calls."""
    if use_prefect:
        return demo_flow(out_dir, database_url, target_probability)
    return demo_sequence(
        PLAIN,
        REFRESH_PLAIN,
        out_dir,
        database_url=database_url,
        target_probability=target_probability,
    )
