"""The coastal steps of the refresh: the storm-surge layer and the coastal-flood layer.

Plain functions like those of :mod:`flows.steps` (same keys, reuse and staging rules): each
takes and returns paths and small models, and is wrapped as a Prefect task by
:mod:`flows.refresh`.
"""

from __future__ import annotations

from pathlib import Path

from flows.steps import CODE_VERSION, StagedLayer, profile_horizons, publish_layer, reuse_layer
from resilience.profile import CityProfile
from resilience.storage.layer_store import LayerStore


def build_coastal_flood(
    profile: CityProfile,
    store_root: Path,
    *,
    versions: dict[str, str] | None = None,
    make_current: bool = True,
) -> StagedLayer:
    """Build the coastal-flood layer of the profile's station; publish (or stage) it.

    The still-water levels of the profile's ``tide_gauges.coastal_station`` (surge layer,
    quantiles across models) flood the profile's DEM behind its ``defence_lines`` or, without
    them, behind a notional wall on the coastline with its crest at today's 200-year median
    level at the station, so the maps show where that standard is overtopped in future
    horizons. ``coastal_flood.method`` "overtopping" (default) spreads only the volume that
    crosses the crests during the profile's synthetic storm tide (its shape UNCONFIRMED,
    docs/surge.md); "bathtub" is the static upper bound. ``versions`` may name the surge
    version to read (this run's).
    """
    from flows.step_keys import coastal_flood_key
    from resilience.coast.flood_map import FloodOptions, build_flood_layer, read_defence_lines
    from resilience.geodata.geography import open_dem

    station = profile.tide_gauges.coastal_station
    store = LayerStore(store_root)
    surge_version = (versions or {}).get("surge")
    key = coastal_flood_key(profile, store.entry("surge", surge_version))
    if (
        reused := reuse_layer(store_root, "coastal_flood", key, make_current=make_current)
    ) is not None:
        return reused
    surge = store.open("surge", surge_version)
    surge_path = str(store.entry("surge", surge_version).path)
    if station not in surge["station"].values:
        raise ValueError(
            f"{profile.source}: field tide_gauges.coastal_station: {station!r} is not a station "
            f"of the surge layer; expected one of {[str(s) for s in surge['station'].values]}"
        )
    lines = profile.defence_lines
    options = FloodOptions(
        station=station,
        levels="quantiles",
        defences="file" if lines is not None else "notional",
        **profile.coastal_flood.model_dump(),
    )
    layer = build_flood_layer(
        surge,
        open_dem(profile.dem),
        read_defence_lines(lines) if lines is not None else (),
        options=options,
        inputs_sha256=str(surge.attrs.get("inputs_sha256", "")),
        code_version=CODE_VERSION,
    )
    inputs = {"surge": surge_path, "dem": str(profile.dem)}
    if lines is not None:
        inputs["defence_lines"] = str(lines)
    return publish_layer(
        store_root, "coastal_flood", layer, inputs=inputs, make_current=make_current, key=key
    )


def build_surge(
    profile: CityProfile, store_root: Path, *, make_current: bool = True
) -> StagedLayer:
    """Build the storm-surge layer from the profile's tide gauges; publish (or stage) it."""
    from flows.step_keys import surge_key
    from hazard_models.coast.surge import build_surge_layer
    from resilience.coast.tide_io import (
        read_annual_maxima,
        read_sea_level_projections,
        read_tide_stations,
    )
    from resilience.storage.provenance import sha256_files

    key = surge_key(profile)
    if (reused := reuse_layer(store_root, "surge", key, make_current=make_current)) is not None:
        return reused
    gauges = profile.tide_gauges
    tide_maxima = gauges.annual_maxima
    layer = build_surge_layer(
        read_annual_maxima(tide_maxima),
        read_tide_stations(gauges.stations),
        read_sea_level_projections(),
        horizons=profile_horizons(profile),
        scenarios=list(profile.scenarios),
        inputs_sha256=sha256_files([tide_maxima, gauges.stations]),
        code_version=CODE_VERSION,
    )
    inputs = {"tide_maxima": str(tide_maxima)}
    return publish_layer(
        store_root, "surge", layer, inputs=inputs, make_current=make_current, key=key
    )
