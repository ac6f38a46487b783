"""The steps of the pipelines as plain functions: a few library calls each.

Each step takes and returns paths and small pydantic models, never Datasets, so that Prefect
can cache and log them (style.md, "Layers"). ``flows.refresh`` and ``flows.demo`` wrap these
as Prefect tasks, or call them directly when settings say ``use_prefect = false``.

The ``build_*`` steps return a :class:`StagedLayer` (name, version, file). Called with
``make_current=False`` they only stage their version; the steps that read earlier layers
(``build_idf``, ``build_coastal_flood``, ``assess_risk``) then take ``versions`` (layer name
-> version) and read those staged versions, and ``promote_layers`` makes the whole set
current at once (D27): the refresh does this, so that a killed run changes nothing current.
The coastal steps (surge and coastal flood) are in :mod:`flows.coast_steps`.

Each step first computes its key (:mod:`flows.step_keys`: its inputs by content, its
parameters and the code). When a layer version or the risk table was made by the same key,
the step returns it, marked ``reused``, instead of computing an equal one
(docs/operations.md, "Reruns and caching").
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import xarray as xr
from pydantic import BaseModel

import resilience
from flows.projection_steps import ProjectionsRef, open_region
from resilience.profile import CityProfile
from resilience.storage.atomic import folder_lock
from resilience.storage.layer_store import LayerStore
from resilience.storage.risk_io import EXPORT_MAX_ROWS

CODE_VERSION = f"resilience {resilience.__version__}"


class StagedLayer(BaseModel):
    """One published layer version: current, or staged until its run promotes its set."""

    name: str
    version: str
    path: Path
    #: True when an existing version built from the same inputs was reused, not rebuilt.
    reused: bool = False


def publish_layer(
    store_root: Path,
    name: str,
    layer: xr.Dataset,
    *,
    inputs: dict[str, str],
    make_current: bool,
    key: str = "",
) -> StagedLayer:
    """Compute ``layer`` and publish it as a new version of ``name`` (staged unless current).

    ``key`` is the step's sha256 (:mod:`flows.step_keys`), recorded in the manifest so that
    a later run with the same key can reuse this version (:func:`reuse_layer`).
    """
    from resilience.compute import compute_layer

    # computed in one pass on the active scheduler, then written by this process alone: on a
    # dask.distributed cluster a lazy to_netcdf reopens the file on every worker (D34)
    entry = LayerStore(store_root).publish(
        name, compute_layer(layer), inputs=inputs, make_current=make_current, step_sha256=key
    )
    return StagedLayer(name=name, version=entry.version, path=entry.path)


def reuse_layer(store_root: Path, name: str, key: str, *, make_current: bool) -> StagedLayer | None:
    """Return the version of ``name`` built by ``key`` (made current if asked), or None."""
    store = LayerStore(store_root)
    entry = store.find(name, key)
    if entry is None:
        return None
    if make_current:
        store.promote({name: entry.version})
    return StagedLayer(name=name, version=entry.version, path=entry.path, reused=True)


def promote_layers(store_root: Path, versions: dict[str, str]) -> dict[str, Path]:
    """Make the layer versions of one run current together (D27); return their files."""
    entries = LayerStore(store_root).promote(versions)
    return {name: entry.path for name, entry in entries.items()}


class RiskOutputs(BaseModel):
    """Where the risk table went and a short summary of it.

    ``parquet`` is the table of record (GeoParquet); ``gpkg`` and ``csv`` are its exports,
    None when the table was over the export limit (``exports_skipped`` then says so).
    """

    parquet: Path
    gpkg: Path | None
    csv: Path | None
    exports_skipped: str = ""
    rows: int
    assets: int
    very_high: dict[str, dict[str, int]]
    synthetic: str = "unknown"
    provenance: Path | None = None
    #: True when the table written by the same inputs was reused, not recomputed.
    reused: bool = False


class CheckOutputs(BaseModel):
    """A stored feasibility check and its report files."""

    check_id: int
    verdict: str
    score: float | None
    html: Path
    json_path: Path
    pdf: Path | None = None


class WarningOutputs(BaseModel):
    """CAP messages issued for one forecast, with a per-hazard digest."""

    out_dir: Path
    messages: int
    by_type: dict[str, int]
    digest: list[str]


def write_sample(out_dir: Path) -> Path:
    """Write the bundled Shanghai sample into ``out_dir`` and return it."""
    from resilience.sample.bundle import write_sample as write

    return write(out_dir).root


def profile_horizons(profile: CityProfile) -> list:  # noqa: ANN401 - list of Horizon
    """Return the profile's horizons as ``hazard_models.horizon.Horizon`` objects."""
    from hazard_models.horizon import horizon_by_name

    return [horizon_by_name(name) for name in profile.horizons]


def build_heat(
    ref: ProjectionsRef, store_root: Path, profile: CityProfile, *, make_current: bool = True
) -> StagedLayer:
    """Build the heat layer from the projections and publish (or stage) it."""
    from flows.step_keys import layer_key
    from hazard_models.heat.layer import build_heat_layer

    key = layer_key("heat", ref.step_sha256, profile)
    if (reused := reuse_layer(store_root, "heat", key, make_current=make_current)) is not None:
        return reused
    ds = open_region(ref.directory, ("tasmax", "tasmin"), ref.bbox)
    layer = build_heat_layer(
        ds,
        horizons=profile_horizons(profile),
        scenarios=list(profile.scenarios),
        inputs_sha256=ref.inputs_sha256,
        code_version=CODE_VERSION,
    )
    inputs = {"projections": str(ref.directory)}
    return publish_layer(
        store_root, "heat", layer, inputs=inputs, make_current=make_current, key=key
    )


def build_rain(
    ref: ProjectionsRef, store_root: Path, profile: CityProfile, *, make_current: bool = True
) -> StagedLayer:
    """Build the rainstorm layer from the projections and publish (or stage) it."""
    from flows.step_keys import layer_key
    from hazard_models.rain.layer import build_rain_layer

    key = layer_key("rain", ref.step_sha256, profile)
    if (reused := reuse_layer(store_root, "rain", key, make_current=make_current)) is not None:
        return reused
    ds = open_region(ref.directory, ("pr",), ref.bbox)
    layer = build_rain_layer(
        ds,
        horizons=profile_horizons(profile),
        scenarios=list(profile.scenarios),
        inputs_sha256=ref.inputs_sha256,
        code_version=CODE_VERSION,
    )
    inputs = {"projections": str(ref.directory)}
    return publish_layer(
        store_root, "rain", layer, inputs=inputs, make_current=make_current, key=key
    )


def build_idf(
    store_root: Path,
    method: str = "daily_change",
    *,
    versions: dict[str, str] | None = None,
    make_current: bool = True,
) -> StagedLayer:
    """Build the future IDF layer from the rain and heat layers; publish (or stage) it.

    ``versions`` names the rain and heat versions to read (this run's staged ones); the
    current versions are read for a layer it does not name.
    """
    from flows.step_keys import idf_key
    from hazard_models.rain.idf_layer import build_idf_layer

    store = LayerStore(store_root)
    chosen = versions or {}
    key = idf_key(
        store.entry("rain", chosen.get("rain")), store.entry("heat", chosen.get("heat")), method
    )
    if (reused := reuse_layer(store_root, "idf", key, make_current=make_current)) is not None:
        return reused
    rain, heat = store.open("rain", chosen.get("rain")), store.open("heat", chosen.get("heat"))
    layer = build_idf_layer(
        rain,
        heat,
        method=method,  # type: ignore[arg-type]  # checked by Settings and build_idf_layer
        inputs_sha256=str(rain.attrs.get("inputs_sha256", "")),
        code_version=CODE_VERSION,
    )
    inputs = {name: str(store.entry(name, chosen.get(name)).path) for name in ("rain", "heat")}
    return publish_layer(
        store_root, "idf", layer, inputs=inputs, make_current=make_current, key=key
    )


def assess_risk(
    store_root: Path,
    inventory: Path,
    out_dir: Path,
    start_year: int,
    *,
    versions: dict[str, str] | None = None,
    export_max_rows: int | None = EXPORT_MAX_ROWS,
) -> RiskOutputs:
    """Overlay the layers on the inventory and write the risk table.

    The table is written as GeoParquet, with GeoPackage and CSV exports when it has at most
    ``export_max_rows`` rows (``Settings.risk_export_max_rows``; None: always;
    :func:`resilience.storage.risk_io.write_risk_table`).

    The layers are the current ones, with ``versions`` (layer name -> version; this run's
    staged layers) taking their place where given.

    Each row says whether its hazard layer had a synthetic input (``synthetic_input``) and
    which layer version it came from (``layer_version``); ``risk_table.provenance.json``
    beside the table lists the layers and the inventory with their hashes.

    The same files are also published, atomically, to ``<data_dir>/risk`` (``data_dir`` =
    ``store_root``'s parent, :attr:`resilience.settings.Settings.risk_dir`), where the risk
    map pages (``/risk``, docs/web.md) read them.

    When the table in ``out_dir`` or in ``<data_dir>/risk`` was made from the same layer
    files, inventory and start year (``flows.step_keys.risk_key``, recorded in
    ``risk_table.step.json`` with the sha256 of the three files), it is reused (copied where
    it is missing) instead of being computed again.
    """
    from assets.risk import HAZARDS
    from flows.risk_reuse import reuse_risk
    from flows.step_keys import risk_key

    store = LayerStore(store_root)
    chosen = {name: store.current(name).version for name in store.names()} | dict(versions or {})
    hazards = [name for name in sorted(chosen) if name in HAZARDS]  # IDF layer has no risk row
    entries = {name: store.entry(name, chosen[name]) for name in hazards}
    key = risk_key(entries, Path(inventory), start_year, export_max_rows)
    published = Path(store_root).parent / "risk"  # <data_dir>/risk: what the risk map reads
    # two refreshes sharing a data dir (a CLI run beside a deployment) take turns here: each
    # file is replaced atomically, the lock keeps the table, its provenance and its record
    # from being a mix of two runs
    with _folder_locks(Path(out_dir), published):
        if (summary := reuse_risk(key, Path(out_dir), published)) is not None:
            return RiskOutputs.model_validate(
                risk_paths(Path(out_dir), summary["files"]) | summary | {"reused": True}
            )
        return _compute_risk(store, chosen, hazards, entries, inventory, start_year, key,
                             Path(out_dir), published, export_max_rows)  # fmt: skip


def risk_paths(folder: Path, files: list[str]) -> dict[str, Path | None]:
    """Return the RiskOutputs paths of the table files ``files`` (names) in ``folder``."""
    found = {Path(name).suffix.lstrip("."): folder / name for name in files}
    return {
        "parquet": found["parquet"],
        "gpkg": found.get("gpkg"),
        "csv": found.get("csv"),
        "provenance": found.get("json"),
    }


def _folder_locks(*folders: Path) -> ExitStack:
    """Lock each distinct folder (in the order given, so two runs cannot deadlock)."""
    stack, seen = ExitStack(), set()
    for folder in folders:
        if folder.resolve() not in seen:
            seen.add(folder.resolve())
            stack.enter_context(folder_lock(folder, ".risk.lock"))
    return stack


def _compute_risk(
    store: LayerStore,
    chosen: dict[str, str],
    hazards: list[str],
    entries: dict,
    inventory: Path,
    start_year: int,
    key: str,
    out_dir: Path,
    published: Path,
    export_max_rows: int | None,
) -> RiskOutputs:
    """Compute the risk table and write it (and its record) to ``out_dir`` and ``published``.

    The table is built in blocks of assets (:mod:`resilience.geodata.risk_blocks`): at
    100 k assets (2.4 M rows) the whole table and its copies took 2.3 GB.
    """
    from assets.cascade import prepare_cascade
    from assets.dependencies import build_dependency_graph
    from assets.risk import risk_variables
    from flows.risk_reuse import copy_risk, record_risk
    from resilience.geodata.inventory_io import read_inventory
    from resilience.geodata.risk_blocks import RiskTally, spooled_risk_table
    from resilience.storage.provenance import sha256_files
    from resilience.storage.risk_io import write_risk_blocks

    assets = read_inventory(inventory)
    opened = {name: store.open(name, chosen[name]) for name in hazards}
    variables = {  # only what the table reads: all variables were 1.5 GB at 100 k assets
        name: risk_variables(name, [str(v) for v in layer.data_vars])
        for name, layer in opened.items()
    }
    layers = {
        name: {
            "version": v.version,
            "file": str(v.path),
            "file_sha256": v.manifest.get("file_sha256"),
            "inputs_sha256": v.manifest.get("inputs_sha256"),
            "inputs": v.manifest.get("inputs", {}),
            "synthetic": v.manifest.get("synthetic", "unknown"),
        }
        for name, v in entries.items()
    }
    by_hazard = {
        "synthetic_input": {n: p["synthetic"] for n, p in layers.items()},
        "layer_version": {n: p["version"] for n, p in layers.items()},
    }
    # service lost through dependencies (docs/cascade.md): columns added, none renamed
    graph = build_dependency_graph(assets)
    findings = graph.graph["report"]  # check_dependencies, run once by the graph's builder
    cascade = prepare_cascade(graph)
    del graph  # the cascade's arrays are all the table needs
    flags = {p["synthetic"] for p in layers.values()}
    synthetic = "yes" if "yes" in flags else ("unknown" if "unknown" in flags else "no")
    tally = RiskTally()
    with ExitStack() as stack:  # the layer files closed once the table is written (were left open)
        for layer in opened.values():
            stack.callback(layer.close)
        spooled = stack.enter_context(
            spooled_risk_table(
                opened,
                assets,
                cascade,
                start_year=start_year,
                variables=variables,
                hazard_columns=by_hazard,
            )
        )
        provenance = {
            "synthetic": synthetic,
            "layers": layers,
            "inventory": {"path": str(inventory), "sha256": sha256_files([inventory])},
            "start_year": start_year,
            "code_version": CODE_VERSION,
            "service_loss": {**spooled.service_loss, "findings": findings.messages()},
        }
        files = write_risk_blocks(
            tally.count(spooled.blocks()),
            assets,
            Path(out_dir),
            provenance=provenance,
            export_max_rows=export_max_rows,
        )
    risk = RiskOutputs(
        parquet=files.parquet,
        gpkg=files.gpkg,
        csv=files.csv,
        exports_skipped=files.exports_skipped,
        rows=tally.rows,
        assets=tally.assets,
        very_high=tally.very_high,
        synthetic=synthetic,
        provenance=files.provenance,
    )
    summary = risk.model_dump(
        mode="json", include={"rows", "assets", "very_high", "synthetic", "exports_skipped"}
    ) | {"files": [path.name for path in files.paths]}
    record_risk(Path(out_dir), key, summary)
    # the published folder gets a copy of the files just written, not a second serialisation
    if published.resolve() != Path(out_dir).resolve():
        copy_risk(Path(out_dir), published, key, summary)
    return risk


def compare_observed(store_root: Path) -> list[str]:
    """Return one line per comparison of the shipped observations with the current layers."""
    from resilience.observed.summary_lines import observed_comparison_lines

    store = LayerStore(store_root)
    names = set(store.names())
    heat = store.open("heat") if "heat" in names else None
    rain = store.open("rain") if "rain" in names else None
    return observed_comparison_lines(heat, rain)


def check_feasibility(
    submission: Path, store_root: Path, out_dir: Path, database_url: str, target: float
) -> CheckOutputs:
    """Run one feasibility check against the current layers, store it and write its report."""
    from resilience.feasibility.layer_cache import shared_layer_cache
    from resilience.feasibility.models import Submission
    from resilience.feasibility.report import write_report
    from resilience.feasibility.service import check_submission
    from resilience.feasibility.store import save_check
    from resilience.settings import Settings
    from resilience.storage.database import make_engine

    request = Submission.model_validate_json(Path(submission).read_text(encoding="utf-8"))
    settings = Settings(  # the data dir holding this layer store (its risk table, inventory)
        data_dir=Path(store_root).parent,
        database_url=database_url,
        design_life_target_probability=target,
    )
    cache = shared_layer_cache(Path(store_root))  # layers opened once per version
    result = check_submission(request, settings, cache=cache)  # as the CLI and the API
    check_id = save_check(make_engine(database_url), request, result)
    files = write_report(result, Path(out_dir))
    return CheckOutputs(
        check_id=check_id,
        verdict=result.verdict,
        score=result.overall_score,
        html=files["html"],
        json_path=files["json"],
        pdf=files.get("pdf"),
    )


def issue_warnings(
    forecast: Path, districts: Path, out_dir: Path, database_url: str, rules: Path | None = None
) -> WarningOutputs:
    """Evaluate the warning rules on a forecast and issue CAP 1.2 messages."""
    from resilience.early_warning import run_warnings
    from resilience.geodata.geography import open_districts

    run = run_warnings(
        Path(forecast),
        rules_path=rules,
        districts=open_districts(Path(districts)),
        database_url=database_url,
        out_dir=Path(out_dir),
    )
    from resilience.early_warning.bulletin import digest_lines

    return WarningOutputs(
        out_dir=Path(out_dir),
        messages=len(run.messages),
        by_type=run.by_type,
        digest=digest_lines(run),
    )
