"""Projection steps of the refresh: a city's projections made ready for the hazard layers.

Pull the profile's projections into a store (or verify a local catalogue in place), cut
them to the profile's region, and bias-adjust them against its observed reference by
quantile delta mapping; each step takes and returns paths and small pydantic models
(:class:`ProjectionsRef`), never Datasets (style.md, "Layers"). The other steps are in
:mod:`flows.steps`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from resilience.profile import CityProfile


class ProjectionsRef(BaseModel):
    """A validated projections store or folder of files, by reference."""

    directory: Path
    inputs_sha256: str
    models: list[str]
    scenarios: list[str]
    missing_combinations: str = ""
    synthetic: str = "unknown"
    bias_adjustment: str = ""
    #: Region cut applied when opening (lon_min, lat_min, lon_max, lat_max); None: whole grid.
    bbox: tuple[float, float, float, float] | None = None
    #: Key of the data by content (``flows.step_keys``); empty: unknown, nothing reused.
    step_sha256: str = ""
    #: True when this run reused the step's earlier output (nothing was read or written).
    reused: bool = False


def pull_projections(profile: CityProfile, work_dir: Path, cache_dir: Path) -> ProjectionsRef:
    """Make the profile's projections a store or folder, check the contract, return a reference.

    A store or a folder of files is used where it is. A catalogue or a glob is pulled into
    ``work_dir/projections.zarr`` (verified against checksums, limited to the profile's
    region and to its horizons plus the observed reference's years, which QDM trains on; a
    pull with the same inputs and request leaves the store as it is).

    A verified catalogue folder whose files (names, sizes, modification times), catalogue
    and request are those of the previous run is not scanned again: the reference recorded
    in ``work_dir/pull_projections.step.json`` is returned, marked ``reused``.
    """
    from resilience.climate.catalog import load_catalog
    from resilience.climate.pull import catalog_from_source
    from resilience.climate.store import pull_to_store

    spec = profile.projections
    path = spec.store or spec.directory
    periods = [*profile.horizons, *_reference_period(profile)]
    if path is None:
        catalog = (
            load_catalog(spec.catalog)
            if spec.catalog is not None
            else catalog_from_source(str(spec.glob), variables=spec.variables)
        )
        if spec.catalog is not None and profile.region.bbox is not None:
            path = _local_folder(catalog, spec.variables, periods, Path(cache_dir))
            if path is not None:
                return _folder_reference(profile, path, periods, Path(work_dir))
    if path is None:
        written = pull_to_store(
            catalog,
            Path(work_dir) / "projections.zarr",
            variables=spec.variables,
            horizons=periods,
            cache_dir=Path(cache_dir),
            region=_region(profile),
        )
        return _keyed(_reference(written.path, spec.variables))  # cut to the region by the pull
    return _keyed(_reference(path, spec.variables, bbox=_bbox(profile)))


def _keyed(ref: ProjectionsRef) -> ProjectionsRef:
    """Return ``ref`` with its content key (``flows.step_keys.projections_key``) set."""
    from flows.step_keys import projections_key

    return ref.model_copy(update={"step_sha256": projections_key(ref.inputs_sha256, ref.bbox)})


def _folder_reference(
    profile: CityProfile,
    folder: Path,
    periods: list,  # noqa: ANN401 - horizon names and Horizon objects
    work_dir: Path,
) -> ProjectionsRef:
    """Return the reference of a verified folder; reuse the last one if nothing changed."""
    from resilience.storage.provenance import read_step_record, step_sha256, write_step_record

    spec = profile.projections
    listing = sorted(
        (p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
        for p in Path(folder).rglob("*.nc")
    )
    key = step_sha256(
        "pull_projections",
        {
            "folder": str(folder),
            "files": listing,
            "catalog": _sha256_of(spec.catalog),
            "variables": list(spec.variables),
            "periods": [str(p) for p in periods],
            "bbox": list(_bbox(profile)),
        },
    )
    record = Path(work_dir) / "pull_projections.step.json"
    payload = read_step_record(record, key)
    if payload is not None:
        return ProjectionsRef.model_validate(payload | {"reused": True})
    ref = _keyed(_reference(folder, spec.variables, bbox=_bbox(profile)))
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    write_step_record(record, key, payload=ref.model_dump(mode="json"))
    return ref


def _sha256_of(path: Path | None) -> str:
    """Return the sha256 of one file, or ``"none"`` for no file."""
    from resilience.storage.provenance import sha256_files

    return sha256_files([Path(path)]) if path is not None else "none"


def _local_folder(
    catalog,  # noqa: ANN001 - a resilience.climate.catalog.Catalog
    variables: tuple[str, ...],
    periods: list,  # noqa: ANN401 - horizon names and Horizon objects
    cache_dir: Path,
) -> Path | None:
    """Verify a catalogue of local files in place; return their one folder, else None.

    Every selected file is checked against its catalogue checksum (a manifest in
    ``cache_dir`` skips files unchanged since they were hashed). When the files lie in one
    folder of NEX-GDDP-named files, that folder is opened where it is (one file per chunk),
    which costs a small fraction of copying it into a store; anything else is pulled.
    """
    from resilience.climate.selection import select
    from resilience.climate.verified_cache import pull_verified

    if any(source.driver != "local" for source in catalog.sources):
        return None
    paths = pull_verified(select(catalog, variables=variables, horizons=periods), cache_dir)
    folders = {Path(p).parent for p in paths}
    return folders.pop() if len(folders) == 1 else None


def _reference(
    path: Path,
    variables: tuple[str, ...] | list[str],
    *,
    bbox: tuple[float, float, float, float] | None = None,
) -> ProjectionsRef:
    ds = open_region(Path(path), variables, bbox)
    return ProjectionsRef(
        directory=Path(path),
        bbox=bbox,
        inputs_sha256=str(ds.attrs.get("inputs_sha256", "")),
        models=[str(m) for m in ds["model"].values],
        scenarios=[str(s) for s in ds["scenario"].values],
        missing_combinations=str(ds.attrs.get("missing_combinations", "")),
        synthetic=str(ds.attrs.get("synthetic", "unknown")),
        bias_adjustment=str(ds.attrs.get("bias_adjustment", "")),
    )


def open_region(
    path: Path,
    variables: tuple[str, ...] | list[str],
    bbox: tuple[float, float, float, float] | None,
):  # noqa: ANN201 - an xarray Dataset
    """Open a projections store or folder, cut to ``bbox`` (see ``open_projections_source``)."""
    from resilience.climate.store import open_projections_source

    return open_projections_source(Path(path), variables=variables, bbox=bbox)


def _bbox(profile: CityProfile) -> tuple[float, float, float, float]:
    """Return the profile's region as a bbox: its own, or its polygon's bounds."""
    if profile.region.bbox is not None:
        return profile.region.bbox
    bounds = _region(profile).bounds
    return (bounds[0], bounds[1], bounds[2], bounds[3])


def _reference_period(profile: CityProfile) -> list:  # noqa: ANN401 - list of Horizon
    """Return the observed reference's years as a pull period, so the store overlaps it."""
    if profile.observed_reference is None:
        return []
    import xarray as xr

    from hazard_models.horizon import Horizon

    with xr.open_dataset(profile.observed_reference.path, decode_times=True) as ds:
        years = ds["time"].dt.year
        return [Horizon("observed_reference", int(years.min()), int(years.max()))]


def _region(profile: CityProfile):  # noqa: ANN202 - a bbox tuple or a shapely geometry
    region = profile.region
    if region.bbox is not None:
        return tuple(region.bbox)
    import geopandas as gpd

    return gpd.read_file(region.polygon).to_crs("EPSG:4326").geometry.union_all()


def adjust_projections(ref: ProjectionsRef, profile: CityProfile, work_dir: Path) -> ProjectionsRef:
    """Bias-adjust the projections against the profile's observed reference (QDM); store it.

    Without an ``observed_reference`` the projections are returned as they are. Otherwise
    the reference (ERA5-Land-like gridded daily NetCDF) is cut to the projection grid, its
    sea cells take the nearest land cell's series, QDM trains on the longest run of whole
    years both cover (historical to 2014, then each scenario; docs/bias_adjustment.md) with
    the profile's horizons as whole windows, and the result is written to
    ``work_dir/projections_qdm.zarr`` (left as it is when inputs and request are unchanged).

    When the key of this adjustment (``flows.step_keys.adjust_key``: the projections' key,
    the reference file's sha256, variables and horizons, the code) is the one recorded in
    ``work_dir/adjust_projections.step.json`` and the store it names is still the one
    written, nothing is computed: the recorded reference is returned, marked ``reused``.
    """
    from flows.step_keys import adjust_key
    from hazard_models.horizon import horizon_by_name
    from resilience.climate.bias import adjust_qdm, overlap_years
    from resilience.climate.fetch import sha256_file
    from resilience.climate.store_write import InputFile, write_projection_store
    from resilience.observed.era5land import era5land_on_grid, fill_sea_cells, open_era5land
    from resilience.storage.provenance import write_step_record

    spec = profile.observed_reference
    if spec is None:
        return ref
    key = adjust_key(ref.step_sha256, profile)
    record = Path(work_dir) / "adjust_projections.step.json"
    reused = _recorded_store(record, key, Path(work_dir) / "projections_qdm.zarr")
    if reused is not None:
        return reused
    ds = open_region(ref.directory, profile.projections.variables, ref.bbox)
    reference = fill_sea_cells(
        era5land_on_grid(open_era5land(spec.path), ds["lat"].values, ds["lon"].values)
    )
    baseline = overlap_years(ds, reference)
    periods = [(h.start, h.end) for h in (horizon_by_name(n) for n in profile.horizons)]
    adjusted = adjust_qdm(
        ds,
        reference,
        variables=list(spec.variables),
        baseline=baseline,
        window_periods=periods,
    )
    adjusted.attrs["observed_reference"] = spec.description or str(spec.path)
    adjusted.attrs["observed_reference_sea_cells"] = str(
        reference.attrs.get("sea_cells_filled", "")
    )
    inputs = [
        InputFile(f"{ref.directory}#inputs_sha256", ref.inputs_sha256 or None),
        InputFile(str(spec.path), sha256_file(Path(spec.path))),
    ]
    request = {
        "qdm": {
            "variables": list(spec.variables),
            "baseline": list(baseline),
            "window_periods": [list(p) for p in periods],
        }
    }
    written = write_projection_store(
        adjusted, Path(work_dir) / "projections_qdm.zarr", inputs=inputs, request=request
    )
    adjusted_ref = _reference(written.path, profile.projections.variables)
    adjusted_ref = adjusted_ref.model_copy(update={"step_sha256": key})
    write_step_record(record, key, payload=adjusted_ref.model_dump(mode="json"))
    return adjusted_ref


def _recorded_store(record: Path, key: str, store: Path) -> ProjectionsRef | None:
    """Return the recorded reference of ``key`` if ``store`` still holds what was written.

    The store is looked for where this run writes it (``store``), not where the record says
    it was written: a data directory that was copied or moved reuses its own copy.
    """
    from resilience.climate.projection_file import ClimateDataError
    from resilience.climate.store_write import read_store_attrs
    from resilience.storage.provenance import read_step_record

    payload = read_step_record(record, key)
    if payload is None:
        return None
    ref = ProjectionsRef.model_validate(payload | {"directory": str(store)})
    try:
        attrs = read_store_attrs(store)
    except ClimateDataError:
        return None  # the store is gone or not a store any more: adjust again
    if not ref.inputs_sha256 or attrs.get("inputs_sha256") != ref.inputs_sha256:
        return None
    return ref.model_copy(update={"reused": True})
