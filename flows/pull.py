"""Prefect flow ``pull_projections``: catalogue -> verified cache -> normalised Projections.

Coarse tasks (style.md): one fetches every selected file (retried; downloads run
``concurrency`` at a time inside it, so the limit holds however many flows run), one opens,
normalises, assembles and writes. Fetching is cached on the catalogue's checksums and the
request, so a re-run with unchanged sources skips straight to the cache.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from prefect import flow, task

from resilience.climate.catalog import load_catalog
from resilience.climate.pull import pull_projections, resolve_region, write_projections
from resilience.climate.selection import pull, select


def _request_key(context: Any, parameters: dict[str, Any]) -> str:
    """Cache key: the catalogue file's bytes (checksums included) and the request."""
    catalog = Path(parameters["catalog_path"])
    digest = hashlib.sha256(catalog.read_bytes())
    for name in ("variables", "horizons"):
        digest.update(repr(parameters[name]).encode())
    return digest.hexdigest()


@task(name="fetch-sources", retries=3, retry_delay_seconds=5, cache_key_fn=_request_key)
def fetch_sources(
    catalog_path: Path, variables: list[str], horizons: list[str], cache_dir: Path, concurrency: int
) -> list[str]:
    """Make every selected file available in the cache (verified); return their locations."""
    from hazard_models.horizon import horizon_by_name

    specs = select(
        load_catalog(catalog_path),
        variables=variables,
        horizons=[horizon_by_name(h) for h in horizons],
    )
    return [str(p) for p in pull(specs, cache_dir, concurrency=concurrency)]


@task(name="normalise-and-write", retries=1)
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
) -> Path:
    """Pull, verify, normalise and write projections for a request."""
    variables = variables or ["tasmax", "pr"]
    horizons = horizons or ["baseline", "mid", "far"]
    fetch_sources(catalog_path, variables, horizons, cache_dir, concurrency)
    return normalise_and_write(catalog_path, variables, horizons, region, cache_dir, out_dir)
