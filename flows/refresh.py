"""Scheduled risk refresh: projections -> hazard layers -> layer store -> risk table.

Reads like a table of contents; every step is a function in ``flows.steps``. Run it as a
Prefect flow (``refresh_flow``) or, with settings ``use_prefect = false``, as plain calls
(``run_refresh``): the sequence is written once, in ``refresh_sequence``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from prefect import flow, task
from pydantic import BaseModel

from flows import steps
from flows.pull import fetch_sources
from hazard_models.horizon import AR6_HORIZONS

# Retries go on the steps that touch the disk or the network (style.md).
TASKS = SimpleNamespace(
    fetch_sources=fetch_sources,
    pull_projections=task(name="pull-projections", retries=2)(steps.pull_projections),
    build_heat=task(name="build-heat-layer", retries=1)(steps.build_heat),
    build_rain=task(name="build-rain-layer", retries=1)(steps.build_rain),
    build_idf=task(name="build-idf-layer", retries=1)(steps.build_idf),
    build_surge=task(name="build-surge-layer", retries=1)(steps.build_surge),
    build_coastal_flood=task(name="build-coastal-flood-layer", retries=1)(
        steps.build_coastal_flood
    ),
    assess_risk=task(name="assess-risk", retries=1)(steps.assess_risk),
)
PLAIN = SimpleNamespace(
    fetch_sources=fetch_sources.fn,
    **{name: getattr(steps, name) for name in vars(TASKS) if name != "fetch_sources"},
)


class RefreshResult(BaseModel):
    """Paths of the published layers and of the risk table."""

    layers: dict[str, Path]
    risk: steps.RiskOutputs
    projections: steps.ProjectionsRef


def refresh_sequence(
    run: SimpleNamespace,
    sample_dir: Path,
    store_root: Path,
    *,
    out_dir: Path,
    start_year: int,
    idf_method: str = "daily_change",
) -> RefreshResult:
    """Sequence the refresh steps with ``run`` (Prefect tasks or plain functions).

    ``idf_method`` is the uplift of sub-daily design rainfall (``Settings.rain_uplift_method``).
    """
    sample_dir = Path(sample_dir)
    catalog = sample_dir / "projections" / "catalog.yaml"
    if catalog.is_file():  # verify every file against its catalogue checksum (flows/pull.py)
        horizons = [h.name for h in AR6_HORIZONS]
        variables = list(steps.PROJECTION_VARIABLES)
        run.fetch_sources(catalog, variables, horizons, sample_dir / ".cache", 4)
    ref = run.pull_projections(sample_dir / "projections")
    layers = {
        "heat": run.build_heat(ref, store_root),
        "rain": run.build_rain(ref, store_root),
    }
    layers["idf"] = run.build_idf(store_root, idf_method)  # built from heat and rain
    tide_maxima = sample_dir / "tide_gauges" / "tide_gauge_annual_maxima.csv"
    layers["surge"] = run.build_surge(tide_maxima, store_root)
    layers["coastal_flood"] = run.build_coastal_flood(store_root)  # from surge and the DEM
    risk = run.assess_risk(
        store_root,
        sample_dir / "assets" / "shanghai_assets.gpkg",
        Path(out_dir) / "risk",
        start_year,
    )
    return RefreshResult(layers=layers, risk=risk, projections=ref)


@flow(name="refresh", log_prints=True)
def refresh_flow(
    sample_dir: Path,
    store_root: Path,
    out_dir: Path,
    start_year: int = 2025,
    idf_method: str = "daily_change",
) -> RefreshResult:
    """Refresh hazard layers and risk from the inputs in ``sample_dir``."""
    return refresh_sequence(
        TASKS, sample_dir, store_root, out_dir=out_dir, start_year=start_year, idf_method=idf_method
    )


def run_refresh(
    sample_dir: Path,
    store_root: Path,
    out_dir: Path,
    *,
    start_year: int = 2025,
    use_prefect: bool = True,
    idf_method: str = "daily_change",
) -> RefreshResult:
    """Run the refresh under Prefect, or as plain function calls."""
    if use_prefect:
        return refresh_flow(sample_dir, store_root, out_dir, start_year, idf_method)
    return refresh_sequence(
        PLAIN, sample_dir, store_root, out_dir=out_dir, start_year=start_year, idf_method=idf_method
    )
