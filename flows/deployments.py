"""Deployment entry points: the flows that ``prefect.yaml`` deploys to a process work pool.

``prefect deploy --all`` (run in the repository root) reads ``prefect.yaml``, which names
these three flows, their schedules (refresh monthly, warnings every 10 minutes, pull on
demand) and their parameters; a ``prefect worker start --pool resilience-process`` runs
them (docs/operations.md). Each entry point takes only JSON parameters (paths as strings)
and works in a fresh process: it reads the engine settings of the worker
(``resilience.toml`` in its working directory and ``RESILIENCE_*`` variables: ``data_dir``,
``database_url``, ``dask_address``, ``rain_uplift_method``), the city from its profile,
then sequences the same steps as the CLI. Outputs go under ``data_dir``: ``layers/`` (the
versioned layer store), ``risk/`` (risk table), ``projections/<city>/``, ``cache/`` and
``cap/`` (CAP messages); alerts and issued forecasts go to ``database_url``.

Schedules live in ``prefect.yaml`` only (they were ``.serve()`` calls here, which needed a
process left running per flow). ``python -m flows.deployments`` says so and exits.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import flow

from flows import refresh
from flows.issue_warnings import (
    TASKS as WARNING_TASKS,
)
from flows.issue_warnings import (
    WarningsFlowResult,
    issue_warnings_sequence,
    raise_on_gaps,
)
from flows.projection_steps import ProjectionsRef
from resilience.compute import dask_scheduler
from resilience.profile import load_profile
from resilience.settings import Settings, get_settings

__all__ = ["issue_city_warnings", "pull_city_projections", "refresh_city"]


def _settings(config: str | None) -> Settings:
    """Return the worker's settings, from ``config`` if given (a TOML file)."""
    return get_settings(Path(config) if config else None)


@flow(name="city-refresh", log_prints=True)
def refresh_city(
    profile: str, out_dir: str | None = None, config: str | None = None
) -> refresh.RefreshResult:
    """Refresh a city's hazard layers and risk table from its profile (scheduled monthly).

    Parameters
    ----------
    profile : str
        The city profile (YAML or TOML, docs/profile.md).
    out_dir : str, optional
        Where ``risk/`` is written; default the settings' ``data_dir``.
    config : str, optional
        Settings TOML file; default ``resilience.toml`` in the working directory, if any.

    Returns
    -------
    flows.refresh.RefreshResult
        Layer files and versions (published in ``<data_dir>/layers``) and the risk table.

    Raises
    ------
    resilience.profile.ProfileError
        Before any work, naming the file and the field, if the profile cannot be used.
    """
    settings = _settings(config)
    load_profile(Path(profile))  # fail fast, before the scheduler starts
    out = Path(out_dir) if out_dir else settings.data_dir
    with dask_scheduler(settings.dask_address):  # the same sequence as `resilience refresh`
        return refresh.refresh_and_publish(
            Path(profile),
            settings.layer_store_dir.resolve(),
            out.resolve(),
            idf_method=settings.rain_uplift_method,
            risk_export_max_rows=settings.risk_export_max_rows,
        )


@flow(name="city-warnings", log_prints=True)
def issue_city_warnings(
    forecast_dir: str,
    profile: str | None = None,
    out_dir: str | None = None,
    delivery_config: str | None = None,
    config: str | None = None,
) -> WarningsFlowResult:
    """Issue every forecast not yet issued in ``forecast_dir``, then deliver once (every 10 min).

    Parameters
    ----------
    forecast_dir : str
        Folder where forecast NetCDF files arrive; each file is issued once (by its SHA-256).
    profile : str, optional
        City profile whose ``warning_rules``, ``districts`` and ``assets`` are used; default
        the shipped rules and districts, without asset rules.
    out_dir : str, optional
        Folder for the CAP files; default ``<data_dir>/cap``.
    delivery_config : str, optional
        Delivery configuration YAML; without it nothing is delivered.
    config : str, optional
        Settings TOML file; default ``resilience.toml`` in the working directory, if any.

    Returns
    -------
    flows.issue_warnings.WarningsFlowResult

    Raises
    ------
    flows.issue_warnings.DataQualityError
        After issuing and delivering, if a forecast had gaps (the run ends failed).
    """
    settings = _settings(config)
    inputs: dict[str, Path | None] = {"layer_store": settings.layer_store_dir.resolve()}
    if profile:
        city = load_profile(Path(profile))
        inputs |= {
            "rules_path": city.warning_rules,
            "districts_path": city.districts,
            "assets_path": city.assets,
        }
    result = issue_warnings_sequence(
        WARNING_TASKS,
        Path(forecast_dir),
        Path(out_dir) if out_dir else settings.data_dir.resolve() / "cap",
        database_url=settings.resolved_database_url,
        delivery_config=Path(delivery_config) if delivery_config else None,
        inputs=inputs,
    )
    return raise_on_gaps(result)


@flow(name="city-pull", log_prints=True)
def pull_city_projections(profile: str, config: str | None = None) -> ProjectionsRef:
    """Pull and bias-adjust a city's projections ahead of its refresh (on demand).

    The stores land where the refresh looks for them (``<data_dir>/projections/<city>/``),
    and a refresh with the same inputs and request leaves them as they are.

    Parameters
    ----------
    profile : str
        The city profile (its ``projections`` and ``observed_reference``).
    config : str, optional
        Settings TOML file; default ``resilience.toml`` in the working directory, if any.

    Returns
    -------
    flows.projection_steps.ProjectionsRef
        The projections store (or verified folder) the refresh will read.
    """
    settings = _settings(config)
    city = load_profile(Path(profile))
    tasks = refresh.prefect_tasks()
    work_dir, cache_dir = refresh.projection_dirs(city, settings.layer_store_dir.resolve())
    with dask_scheduler(settings.dask_address):
        ref = tasks.pull_projections(city, work_dir, cache_dir)
        return tasks.adjust_projections(ref, city, work_dir)


if __name__ == "__main__":  # pragma: no cover - the old `.serve()` entry, now a pointer
    sys.exit(
        "flows.deployments holds the deployment entry points; deploy them with "
        "`prefect deploy --all` from the repository root (prefect.yaml) and run them with "
        "`prefect worker start --pool resilience-process` (docs/operations.md)."
    )
