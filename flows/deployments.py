"""Schedules live here and only here (style.md).

``python -m flows.deployments`` serves the refresh flow on its schedule against whatever
Prefect API the environment names (``PREFECT_API_URL``); with none, Prefect's local mode.
"""

from __future__ import annotations

from pathlib import Path

from prefect.schedules import Cron

from flows.issue_warnings import issue_warnings_flow
from flows.refresh import refresh_flow

#: Monthly refresh at 02:00 Shanghai time on the 1st: projections change rarely, and a
#: monthly run picks up new model data and inventory edits without wasting compute.
REFRESH_CRON = "0 2 1 * *"
REFRESH_TIMEZONE = "Asia/Shanghai"


def refresh_schedule():  # noqa: ANN201 - prefect's Cron is a factory function, not a type
    """Return the refresh schedule in Shanghai time."""
    return Cron(REFRESH_CRON, timezone=REFRESH_TIMEZONE)


#: Warnings every 10 minutes: new forecast files are picked up within one cycle, and a file
#: already issued is skipped (flows/issue_warnings.py), so a short period costs little.
WARNINGS_CRON = "*/10 * * * *"


def warnings_schedule():  # noqa: ANN201 - prefect's Cron is a factory function
    """Return the warnings schedule in Shanghai time."""
    return Cron(WARNINGS_CRON, timezone=REFRESH_TIMEZONE)


def serve_warnings(forecast_dir: Path, out_dir: Path, database_url: str) -> None:
    """Serve the warnings flow on its schedule (blocks until interrupted)."""
    issue_warnings_flow.serve(
        name="warnings-every-10-min",
        schedule=warnings_schedule(),
        parameters={
            "forecast_dir": str(forecast_dir),
            "out_dir": str(out_dir),
            "database_url": database_url,
        },
    )


def serve_refresh(profile_path: Path, store_root: Path, out_dir: Path) -> None:
    """Serve the refresh of one city profile on its schedule (blocks until interrupted)."""
    refresh_flow.serve(
        name="monthly-refresh",
        schedule=refresh_schedule(),
        parameters={
            "profile_path": str(profile_path),
            "store_root": str(store_root),
            "out_dir": str(out_dir),
        },
    )


if __name__ == "__main__":  # pragma: no cover - a long-running service
    import sys

    serve_refresh(*(Path(a) for a in sys.argv[1:4]))
