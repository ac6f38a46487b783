"""Prefect flow ``pull_projections``: catalogue -> verified cache -> normalised Projections.

Coarse tasks (style.md): one fetches and verifies every selected file (retried; downloads run
``concurrency`` at a time inside it, so the limit holds however many flows run), one opens,
normalises, assembles and writes.

Nothing here is cached by Prefect (``NO_CACHE``, no result stored under ``PREFECT_HOME``):
a cached result keyed on the catalogue's bytes skipped verification of changed files and
handed one folder's paths to another. Repeated runs are cheap because of the verification
manifest in ``cache_dir`` (:mod:`resilience.climate.verified_cache`), which is keyed on the
files' own size, modification time and sha256: an unchanged file is not hashed again, any other
is, and a mismatch fails the task at once (retrying cannot fix a file on disk).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from resilience.climate.catalog import load_catalog
from resilience.climate.pull import pull_projections, resolve_region, write_projections
from resilience.climate.selection import PullError, select
from resilience.climate.verified_cache import ChecksumError, pull_verified


def _retry_unless_corrupt(task: Any, task_run: Any, state: Any) -> bool:
    """Retry transient failures; not files whose bytes fail their checksum."""
    error = state.result(raise_on_failure=False)
    if isinstance(error, PullError):
        return not all(isinstance(e, ChecksumError) for _, e in error.failures)
    return True


@task(
    name="fetch-sources",
    retries=3,
    retry_delay_seconds=5,
    retry_condition_fn=_retry_unless_corrupt,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def fetch_sources(
    catalog_path: Path,
    variables: list[str],
    horizons: list[str],
    cache_dir: Path,
    concurrency: int,
    rehash: bool = False,
) -> list[str]:
    """Make every selected file available in the cache, verified; return their locations."""
    from hazard_models.horizon import horizon_by_name

    specs = select(
        load_catalog(catalog_path),
        variables=variables,
        horizons=[horizon_by_name(h) for h in horizons],
    )
    located = pull_verified(specs, cache_dir, concurrency=concurrency, rehash=rehash)
    return [str(p) for p in located]


@task(name="normalise-and-write", retries=1, cache_policy=NO_CACHE, persist_result=False)
def normalise_and_write(
    catalog_path: Path,
    variables: list[str],
    horizons: list[str],
    region: str | None,
    cache_dir: Path,
    out_dir: Path,
) -> Path:
    """Open the cached files, normalise, assemble the ensemble and write it; return the file."""
    ds = pull_projections(
        load_catalog(catalog_path),
        variables=variables,
        horizons=horizons,
        cache_dir=cache_dir,
        region=resolve_region(region),
    )
    return write_projections(ds, out_dir)


@flow(name="pull-projections", log_prints=True)
def pull_projections_flow(
    catalog_path: Path,
    out_dir: Path,
    cache_dir: Path,
    variables: list[str] | None = None,
    horizons: list[str] | None = None,
    region: str | None = "shanghai",
    concurrency: int = 4,
    rehash: bool = False,
) -> Path:
    """Pull, verify, normalise and write projections for a request.

    ``rehash`` hashes every local file even if its size and modification time are the ones
    last verified (verified_cache's limits).
    """
    variables = variables or ["tasmax", "pr"]
    horizons = horizons or ["baseline", "mid", "far"]
    fetch_sources(catalog_path, variables, horizons, cache_dir, concurrency, rehash)
    return normalise_and_write(catalog_path, variables, horizons, region, cache_dir, out_dir)
