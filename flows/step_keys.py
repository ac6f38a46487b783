"""The key of each refresh step: a sha256 over what its output depends on.

A step whose key equals the key recorded with an existing output reuses that output
instead of computing it again (docs/operations.md, "Reruns and caching"). Each key is
:func:`resilience.storage.provenance.step_sha256` over the step's inputs *by content*
(file sha256s, the key of the projections it reads), its parameters and the code, so that:

- the inventory changes only the risk key;
- a tide-gauge file changes the surge key, hence the coastal-flood key (it reads the surge
  file's sha256), hence the risk key; heat, rain and IDF keep theirs;
- a projection file changes the pull key and everything downstream of it.

An input of unknown content (an empty ``inputs_sha256``) gives an empty key: nothing is
reused on its account.
"""

from __future__ import annotations

from pathlib import Path

from resilience.profile import CityProfile
from resilience.storage.layer_store import LayerVersion
from resilience.storage.provenance import sha256_files, step_sha256


def projections_key(inputs_sha256: str, bbox: tuple[float, float, float, float] | None) -> str:
    """Return the key of projections as read: their files' sha256 and the region cut."""
    return step_sha256(
        "projections",
        {"inputs_sha256": inputs_sha256, "bbox": list(bbox) if bbox else "whole grid"},
    )


def adjust_key(projections_sha256: str, profile: CityProfile) -> str:
    """Return the key of the bias adjustment of projections (by their key) for ``profile``.

    Called only for a profile with an observed reference (without one there is nothing to
    adjust and no step to key).
    """
    spec = profile.observed_reference
    if spec is None:
        raise ValueError(f"adjust_key: profile {profile.name!r} has no observed reference")
    return step_sha256(
        "adjust_projections",
        {
            "projections": projections_sha256,
            "reference": sha256_files([Path(spec.path)]),
            "reference_variables": list(spec.variables),
            "variables": list(profile.projections.variables),
            "horizons": list(profile.horizons),
        },
    )


def layer_key(name: str, projections_sha256: str, profile: CityProfile) -> str:
    """Return the key of a layer built from projections (heat, rain), given their key."""
    return step_sha256(
        name,
        {
            "projections": projections_sha256,
            "horizons": list(profile.horizons),
            "scenarios": list(profile.scenarios),
        },
    )


def idf_key(rain: LayerVersion, heat: LayerVersion, method: str) -> str:
    """Return the key of the IDF layer: the rain and heat files it reads, and the method."""
    return step_sha256(
        "idf",
        {
            "rain": rain.manifest.get("file_sha256"),
            "heat": heat.manifest.get("file_sha256"),
            "method": method,
        },
    )


def surge_key(profile: CityProfile) -> str:
    """Return the key of the surge layer: tide-gauge files, sea-level table, horizons."""
    from resilience.coast.tide_io import SEA_LEVEL_PROJECTIONS_FILE, shipped_sea_level_file
    from resilience.storage.provenance import sha256_bytes

    gauges = profile.tide_gauges
    sea_level = shipped_sea_level_file(SEA_LEVEL_PROJECTIONS_FILE).read_bytes()
    return step_sha256(
        "surge",
        {
            "tide_gauges": sha256_files([gauges.annual_maxima, gauges.stations]),
            "sea_level": sha256_bytes(sea_level),
            "horizons": list(profile.horizons),
            "scenarios": list(profile.scenarios),
        },
    )


def coastal_flood_key(profile: CityProfile, surge: LayerVersion) -> str:
    """Return the key of the coastal-flood layer: the surge file, DEM, defences, station."""
    lines = profile.defence_lines
    return step_sha256(
        "coastal_flood",
        {
            "surge": surge.manifest.get("file_sha256"),
            "dem": sha256_files([Path(profile.dem)]),
            "defence_lines": sha256_files([Path(lines)]) if lines is not None else "notional",
            "station": profile.tide_gauges.coastal_station,
            "flood": profile.coastal_flood.model_dump(),
        },
    )


def risk_key(
    entries: dict[str, LayerVersion],
    inventory: Path,
    start_year: int,
    export_max_rows: int | None = None,
) -> str:
    """Return the key of the risk table: the layer files, the inventory, the start year.

    Layer and inventory paths are part of the key as well as their sha256: the table's
    provenance names them, so a table read from elsewhere is rebuilt, not copied. The
    export limit (``Settings.risk_export_max_rows``) decides which files are written, and
    ``files`` names the set of files of this code (GeoParquet with exports).
    """
    return step_sha256(
        "risk",
        {
            "layers": {
                name: [str(v.path), v.version, v.manifest.get("file_sha256")]
                for name, v in sorted(entries.items())
            },
            "inventory": [str(inventory), sha256_files([Path(inventory)])],
            "start_year": start_year,
            "files": "parquet+exports",
            "export_max_rows": export_max_rows,
        },
    )
