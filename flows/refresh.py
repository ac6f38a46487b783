"""Scheduled risk refresh of one city: profile -> projections -> hazard layers -> risk table.

Reads like a table of contents; every step is a function in ``flows.steps``. The city is a
profile file (``resilience.profile``, docs/profile.md): the bundled sample is one instance,
``resilience sample`` writes its ``profile.yaml``. Run it as a Prefect flow
(``refresh_flow``) or, with settings ``use_prefect = false``, as plain calls
(``run_refresh``): the sequence is written once, in ``refresh_sequence``.

A refresh publishes its layers as one set (D27): each build step only stages its version,
later steps read this run's staged versions, and ``promote-layers`` makes them all current
at the end. A run that fails or is killed before then leaves the previous set current.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from prefect import flow, task
from pydantic import BaseModel

from flows import projection_steps, steps
from resilience.profile import CityProfile, load_profile

# Retries go on the steps that touch the disk or the network (style.md).
TASKS = SimpleNamespace(
    pull_projections=task(name="pull-projections", retries=2)(projection_steps.pull_projections),
    adjust_projections=task(name="bias-adjust-projections", retries=1)(
        projection_steps.adjust_projections
    ),
    build_heat=task(name="build-heat-layer", retries=1)(steps.build_heat),
    build_rain=task(name="build-rain-layer", retries=1)(steps.build_rain),
    build_idf=task(name="build-idf-layer", retries=1)(steps.build_idf),
    build_surge=task(name="build-surge-layer", retries=1)(steps.build_surge),
    build_coastal_flood=task(name="build-coastal-flood-layer", retries=1)(
        steps.build_coastal_flood
    ),
    assess_risk=task(name="assess-risk", retries=1)(steps.assess_risk),
    promote_layers=task(name="promote-layers", retries=1)(steps.promote_layers),
)
PLAIN = SimpleNamespace(**{name: task.fn for name, task in vars(TASKS).items()})


class RefreshResult(BaseModel):
    """Paths and versions of the published layers and of the risk table."""

    profile: Path | None  #: the profile file; None for a profile built in code
    layers: dict[str, Path]
    versions: dict[str, str] = {}
    risk: steps.RiskOutputs
    projections: projection_steps.ProjectionsRef


def refresh_sequence(
    run: SimpleNamespace,
    profile: CityProfile,
    store_root: Path,
    *,
    out_dir: Path,
    cache_dir: Path | None = None,
    idf_method: str = "daily_change",
) -> RefreshResult:
    """Sequence the refresh steps of ``profile`` with ``run`` (Prefect tasks or plain calls).

    ``cache_dir`` holds verified downloads (default: ``cache`` beside ``store_root``); pulled
    and bias-adjusted projection stores go to ``projections/<profile name>/`` beside it;
    ``idf_method`` is the uplift of sub-daily design rainfall (``Settings.rain_uplift_method``).
    """
    data_dir = Path(store_root).parent
    cache_dir = Path(cache_dir) if cache_dir is not None else data_dir / "cache"
    work_dir = data_dir / "projections" / _slug(profile.name)
    ref = run.pull_projections(profile, work_dir, cache_dir)  # verified, in a store
    ref = run.adjust_projections(ref, profile, work_dir)  # QDM when the profile has a reference
    staged = [  # each build stages its version; later builds read this run's versions
        run.build_heat(ref, store_root, profile, make_current=False),
        run.build_rain(ref, store_root, profile, make_current=False),
    ]
    versions = {layer.name: layer.version for layer in staged}
    staged.append(run.build_idf(store_root, idf_method, versions=versions, make_current=False))
    staged.append(run.build_surge(profile, store_root, make_current=False))
    versions = {layer.name: layer.version for layer in staged}
    staged.append(  # from surge and the DEM
        run.build_coastal_flood(profile, store_root, versions=versions, make_current=False)
    )
    versions = {layer.name: layer.version for layer in staged}
    risk = run.assess_risk(
        store_root, profile.assets, Path(out_dir) / "risk", profile.start_year, versions=versions
    )
    run.promote_layers(store_root, versions)  # the whole set becomes current at once
    return RefreshResult(
        profile=profile.source,
        layers={layer.name: layer.path for layer in staged},
        versions=versions,
        risk=risk,
        projections=ref,
    )


@flow(name="refresh", log_prints=True)
def refresh_flow(
    profile_path: Path,
    store_root: Path,
    out_dir: Path,
    idf_method: str = "daily_change",
) -> RefreshResult:
    """Refresh hazard layers and risk of the city described by the profile file."""
    return refresh_sequence(
        TASKS, load_profile(profile_path), store_root, out_dir=out_dir, idf_method=idf_method
    )


def run_refresh(
    profile_path: Path,
    store_root: Path,
    out_dir: Path,
    *,
    use_prefect: bool = True,
    idf_method: str = "daily_change",
) -> RefreshResult:
    """Run the refresh of a profile under Prefect, or as plain function calls.

    Raises
    ------
    resilience.profile.ProfileError
        Before any work, if the profile is malformed or names a missing file.
    """
    profile = load_profile(profile_path)  # fail fast, outside Prefect, with a clear message
    if use_prefect:
        return refresh_flow(Path(profile_path), store_root, out_dir, idf_method)
    return refresh_sequence(PLAIN, profile, store_root, out_dir=out_dir, idf_method=idf_method)


def _slug(name: str) -> str:
    """Return a folder name for a profile name: lower case, letters, digits and dashes."""
    import re

    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "city"
