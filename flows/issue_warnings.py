"""Warnings flow: each new forecast file in a directory -> CAP messages -> one delivery pass.

Reads like a table of contents; every step is a function in
``resilience.early_warning.intake``. A file already issued (same bytes) is skipped, and
re-issuing the same forecast changes nothing, so the flow can run as often as forecasts
arrive. Forecasts are issued oldest first, so a newer one supersedes an older one. Run it as
a Prefect flow (``issue_warnings_flow``) or as plain calls (``run_issue_warnings`` with
``use_prefect=False``): the sequence is written once, in ``issue_warnings_sequence``. The
deployed run every 10 minutes is ``flows.deployments.issue_city_warnings`` (prefect.yaml).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from prefect import flow, task
from pydantic import BaseModel

from resilience.early_warning import intake
from resilience.early_warning.delivery import DeliveryReport

# Retries on the steps that touch the disk, the database or the network (style.md).
TASKS = SimpleNamespace(
    pending_forecasts=task(name="find-new-forecasts", retries=1)(intake.pending_forecasts),
    issue_forecast=task(name="issue-warnings", retries=1)(intake.issue_forecast),
    deliver_once=task(name="deliver-alerts", retries=2)(intake.deliver_once),
)
PLAIN = SimpleNamespace(
    pending_forecasts=intake.pending_forecasts,
    issue_forecast=intake.issue_forecast,
    deliver_once=intake.deliver_once,
)


class WarningsFlowResult(BaseModel):
    """The forecasts issued by one run and its delivery pass (None without a configuration)."""

    forecasts: list[intake.ForecastOutcome]
    delivery: DeliveryReport | None

    @property
    def data_quality(self) -> list[str]:
        """Every data-quality problem of the forecasts issued, prefixed by the file name."""
        return [f"{o.path.name}: {line}" for o in self.forecasts for line in o.data_quality]


class DataQualityError(RuntimeError):
    """A forecast was issued on what it holds, but it had gaps: the run must not look clean."""


def issue_warnings_sequence(
    run: SimpleNamespace,
    forecast_dir: Path,
    out_dir: Path,
    *,
    database_url: str,
    delivery_config: Path | None = None,
    inputs: dict[str, Path | None] | None = None,
    replay_from: str | None = None,
) -> WarningsFlowResult:
    """Sequence the steps with ``run`` (Prefect tasks or plain functions).

    ``inputs`` may give ``rules_path``, ``districts_path``, ``assets_path`` and
    ``layer_store``; ``replay_from`` starts the delivery clock at a past time (exercises).
    """
    inputs = inputs or {}
    outcomes = [
        run.issue_forecast(path, database_url, out_dir, **inputs)
        for path in run.pending_forecasts(forecast_dir, database_url)
    ]
    delivery = None
    if delivery_config is not None:
        delivery = run.deliver_once(
            database_url,
            delivery_config,
            rules_path=inputs.get("rules_path"),
            replay_from=replay_from,
        )
    result = WarningsFlowResult(forecasts=outcomes, delivery=delivery)
    for line in result.data_quality:
        print(f"DATA QUALITY: {line}")
    return result


def raise_on_gaps(result: WarningsFlowResult) -> WarningsFlowResult:
    """Fail the run (after issuing and delivering) when a forecast had data gaps.

    Parameters
    ----------
    result : WarningsFlowResult
        What one run issued and delivered.

    Returns
    -------
    WarningsFlowResult
        ``result`` itself, when no forecast had gaps.

    Raises
    ------
    DataQualityError
        Naming every data-quality problem, prefixed by its forecast file.
    """
    if result.data_quality:
        raise DataQualityError(
            f"{len(result.data_quality)} data-quality problem(s); the messages were issued "
            "from what the forecasts hold:\n" + "\n".join(result.data_quality)
        )
    return result


@flow(name="issue-warnings", log_prints=True)
def issue_warnings_flow(
    forecast_dir: Path,
    out_dir: Path,
    database_url: str,
    delivery_config: Path | None = None,
    inputs: dict[str, Path | None] | None = None,
    replay_from: str | None = None,
) -> WarningsFlowResult:
    """Issue every new forecast in ``forecast_dir``, then run one delivery pass.

    Raises
    ------
    DataQualityError
        After issuing and delivering, if a forecast had gaps: the flow run ends failed, so a
        schedule never shows a gap as a clean run (issue 13, item 1).
    """
    return raise_on_gaps(
        issue_warnings_sequence(
            TASKS,
            forecast_dir,
            out_dir,
            database_url=database_url,
            delivery_config=delivery_config,
            inputs=inputs,
            replay_from=replay_from,
        )
    )


def run_issue_warnings(
    forecast_dir: Path,
    out_dir: Path,
    *,
    database_url: str,
    delivery_config: Path | None = None,
    inputs: dict[str, Path | None] | None = None,
    replay_from: str | None = None,
    use_prefect: bool = True,
) -> WarningsFlowResult:
    """Run the warnings flow under Prefect, or as plain function calls."""
    if use_prefect:
        return issue_warnings_flow(
            forecast_dir, out_dir, database_url, delivery_config, inputs, replay_from
        )
    return raise_on_gaps(
        issue_warnings_sequence(
            PLAIN,
            forecast_dir,
            out_dir,
            database_url=database_url,
            delivery_config=delivery_config,
            inputs=inputs,
            replay_from=replay_from,
        )
    )
