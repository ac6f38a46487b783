"""Scheduled risk refresh of one city: profile -> projections -> hazard layers -> risk table.

Reads like a table of contents; every step is a function in ``flows.steps``. The city is a
profile file (``resilience.profile``, docs/profile.md): the bundled sample is one instance,
``resilience sample`` writes its ``profile.yaml``. Run it as a Prefect flow
(``refresh_flow``) or, with settings ``use_prefect = false``, as plain calls
(``run_refresh``): the sequence is written once, in ``refresh_sequence``. The deployed,
scheduled refresh is ``flows.deployments.refresh_city`` (prefect.yaml).

A refresh publishes its layers as one set (D27): each build step only stages its version,
later steps read this run's staged versions, and ``promote-layers`` makes them all current
at the end. A run that fails or is killed before then leaves the previous set current.

A rerun skips what has not changed (docs/operations.md, "Reruns and caching"): each step
compares the key of its inputs with the one recorded beside its earlier output and reuses
that output ("reused v0001") instead of recomputing it; ``RefreshResult.step_outcomes``
says, step by step, what was built and what was reused. Under Prefect the run also leaves
a markdown artifact of that summary (:mod:`flows.refresh_artifacts`).

Prefect is imported only when a Prefect run asks for it (``TASKS``, ``refresh_flow``, both
built on first use): importing it takes 2-7 s, which a plain run (``use_prefect = false``)
does not pay (issue 16, item 1).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel

from flows import coast_steps, projection_steps, steps
from flows.step_tasks import plain_steps, prefect_steps
from resilience.profile import CityProfile, load_profile
from resilience.storage.risk_io import EXPORT_MAX_ROWS

#: Each step of the refresh: its function, Prefect task name and retries. Retries go on the
#: steps that touch the disk or the network (style.md).
_STEPS: dict[str, tuple[Callable[..., Any], str, int]] = {
    "pull_projections": (projection_steps.pull_projections, "pull-projections", 2),
    "adjust_projections": (projection_steps.adjust_projections, "bias-adjust-projections", 1),
    "build_heat": (steps.build_heat, "build-heat-layer", 1),
    "build_rain": (steps.build_rain, "build-rain-layer", 1),
    "build_idf": (steps.build_idf, "build-idf-layer", 1),
    "build_surge": (coast_steps.build_surge, "build-surge-layer", 1),
    "build_coastal_flood": (coast_steps.build_coastal_flood, "build-coastal-flood-layer", 1),
    "assess_risk": (steps.assess_risk, "assess-risk", 1),
    "promote_layers": (steps.promote_layers, "promote-layers", 1),
}
#: The refresh steps as plain calls (settings ``use_prefect = false``).
PLAIN = plain_steps(_STEPS)


@functools.cache
def prefect_tasks() -> SimpleNamespace:
    """Return the refresh steps as Prefect tasks, built (and Prefect imported) on first use.

    Returns
    -------
    types.SimpleNamespace
        One ``prefect.Task`` per step, under the names of :data:`PLAIN`.
    """
    return prefect_steps(_STEPS)


def __getattr__(name: str) -> Any:  # noqa: ANN401 - a module attribute (PEP 562)
    """Build ``TASKS`` and ``refresh_flow`` on first access, importing Prefect then."""
    if name == "TASKS":
        return prefect_tasks()
    if name == "refresh_flow":
        return _refresh_flow()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class RefreshResult(BaseModel):
    """Paths and versions of the published layers and of the risk table."""

    profile: Path | None  #: the profile file; None for a profile built in code
    layers: dict[str, Path]
    versions: dict[str, str] = {}
    risk: steps.RiskOutputs
    projections: projection_steps.ProjectionsRef
    #: Step -> "built v0002" / "reused v0001" (layers), "computed" / "reused" (the others).
    step_outcomes: dict[str, str] = {}


def refresh_sequence(
    run: SimpleNamespace,
    profile: CityProfile,
    store_root: Path,
    *,
    out_dir: Path,
    cache_dir: Path | None = None,
    idf_method: str = "daily_change",
    risk_export_max_rows: int | None = EXPORT_MAX_ROWS,
) -> RefreshResult:
    """Sequence the refresh steps of ``profile`` with ``run`` (Prefect tasks or plain calls).

    ``cache_dir`` holds verified downloads (default: ``cache`` beside ``store_root``); pulled
    and bias-adjusted projection stores go to ``projections/<profile name>/`` beside it;
    ``idf_method`` is the uplift of sub-daily design rainfall (``Settings.rain_uplift_method``);
    ``risk_export_max_rows`` the largest risk table also written as GeoPackage and CSV
    (``Settings.risk_export_max_rows``).
    """
    work_dir, default_cache = projection_dirs(profile, store_root)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache
    pulled = run.pull_projections(profile, work_dir, cache_dir)  # verified, in a store
    ref = run.adjust_projections(pulled, profile, work_dir)  # QDM when the profile has one
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
        store_root,
        profile.assets,
        Path(out_dir) / "risk",
        profile.start_year,
        versions=versions,
        export_max_rows=risk_export_max_rows,
    )
    run.promote_layers(store_root, versions)  # the whole set becomes current at once
    return RefreshResult(
        profile=profile.source,
        layers={layer.name: layer.path for layer in staged},
        versions=versions,
        risk=risk,
        projections=ref,
        step_outcomes=_step_summary(pulled, ref, staged, risk),
    )


def _step_summary(
    pulled: projection_steps.ProjectionsRef,
    adjusted: projection_steps.ProjectionsRef,
    staged: list[steps.StagedLayer],
    risk: steps.RiskOutputs,
) -> dict[str, str]:
    """Return step -> what it did this run: built or reused (which version)."""
    done = {"pull_projections": "reused" if pulled.reused else "computed"}
    if adjusted != pulled:
        done["adjust_projections"] = "reused" if adjusted.reused else "computed"
    for layer in staged:
        done[layer.name] = f"{'reused' if layer.reused else 'built'} {layer.version}"
    done["risk"] = "reused" if risk.reused else "computed"
    return done


def projection_dirs(profile: CityProfile, store_root: Path) -> tuple[Path, Path]:
    """Return where a refresh keeps the profile's projection stores, and its download cache.

    Parameters
    ----------
    profile : CityProfile
        The city (its name names the folder).
    store_root : Path
        The layer store; its parent is the data directory (settings ``data_dir``).

    Returns
    -------
    tuple of Path
        ``<data_dir>/projections/<profile name as a slug>`` and ``<data_dir>/cache``.
    """
    data_dir = Path(store_root).parent
    return data_dir / "projections" / _slug(profile.name), data_dir / "cache"


def refresh_and_publish(
    profile_path: Path,
    store_root: Path,
    out_dir: Path,
    idf_method: str = "daily_change",
    risk_export_max_rows: int | None = EXPORT_MAX_ROWS,
) -> RefreshResult:
    """Refresh hazard layers and risk of the city described by the profile file, as tasks.

    The body of the ``refresh`` flow (``resilience refresh``) and of the ``city-refresh``
    deployment (:func:`flows.deployments.refresh_city`): the steps run as Prefect tasks, and
    the run's artifacts (the markdown summary, the layers table) are published.
    """
    from flows.refresh_artifacts import publish_refresh_artifacts

    result = refresh_sequence(
        prefect_tasks(),
        load_profile(Path(profile_path)),
        Path(store_root),
        out_dir=Path(out_dir),
        idf_method=idf_method,
        risk_export_max_rows=risk_export_max_rows,
    )
    publish_refresh_artifacts(result)  # a markdown table in the Prefect UI; prints the steps
    return result


@functools.cache
def _refresh_flow() -> Any:  # noqa: ANN401 - a prefect.Flow
    """Return :func:`refresh_and_publish` as the Prefect flow ``refresh`` (Prefect imported now)."""
    from prefect import flow

    return flow(name="refresh", log_prints=True)(refresh_and_publish)


def run_refresh(
    profile_path: Path,
    store_root: Path,
    out_dir: Path,
    *,
    use_prefect: bool = True,
    idf_method: str = "daily_change",
    risk_export_max_rows: int | None = EXPORT_MAX_ROWS,
    progress: Callable[[str], None] | None = None,
) -> RefreshResult:
    """Run the refresh of a profile under Prefect, or as plain function calls.

    ``progress`` (plain calls only; Prefect logs each task itself) is called with a line as
    each step starts and ends, with its time, so that a refresh of minutes is never silent.

    Raises
    ------
    resilience.profile.ProfileError
        Before any work, if the profile is malformed or names a missing file.
    """
    profile = load_profile(profile_path)  # fail fast, outside Prefect, with a clear message
    if use_prefect:
        flow = _refresh_flow()
        return flow(Path(profile_path), store_root, out_dir, idf_method, risk_export_max_rows)
    run = PLAIN if progress is None else _announced(PLAIN, progress)
    return refresh_sequence(
        run,
        profile,
        store_root,
        out_dir=out_dir,
        idf_method=idf_method,
        risk_export_max_rows=risk_export_max_rows,
    )


def _announced(steps_: SimpleNamespace, say: Callable[[str], None]) -> SimpleNamespace:
    """Return ``steps_`` with each call announced: ``"<task name> ..."`` then its time."""
    import time

    def wrap(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        label = _STEPS[name][1]

        def announced(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - the step's own
            say(f"{label} ...")
            start = time.perf_counter()
            result = function(*args, **kwargs)
            reused = " (reused)" if getattr(result, "reused", False) else ""
            say(f"{label} done in {time.perf_counter() - start:.1f} s{reused}")
            return result

        return announced

    return SimpleNamespace(**{name: wrap(name, f) for name, f in vars(steps_).items()})


def _slug(name: str) -> str:
    """Return a folder name for a profile name: lower case, letters, digits and dashes."""
    import re

    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "city"
