"""One entry point for the CLI and the flow: forecast file in, CAP bulletins and records out.

:func:`load_inputs` reads what impact rules need besides the forecast (an asset inventory
file, hazard layers from a layer store); :func:`run_warnings` evaluates the rules that those
inputs allow (the others are listed in ``WarningRun.skipped_rules`` with the reason), and
issues the messages of the episodes through the lifecycle. The forecast is checked first
(:mod:`~resilience.early_warning.forecast_checks`): an impossible one raises before any alert
is issued; its gaps become ``WarningRun.data_quality`` lines, and rules with too many missing
hours are held (not evaluated).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr
from pydantic import BaseModel

from hazard_models.layer import synthetic_flag
from resilience.early_warning.availability import rule_inputs, runnable_rules
from resilience.early_warning.cap import Status
from resilience.early_warning.engine import evaluate_rules, rule_scopes
from resilience.early_warning.forecast_checks import forecast_gaps, validate_forecast
from resilience.early_warning.lifecycle import IssuedMessage, issue_alerts
from resilience.early_warning.rule_models import RuleSet
from resilience.early_warning.rules import default_rules_path, load_rules
from resilience.storage.database import make_engine

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["DEFAULT_SENDER", "WarningInputs", "WarningRun", "load_inputs", "run_warnings"]

#: CAP ``<sender>`` used when none is given (project placeholder address).
DEFAULT_SENDER = "warnings@resilience.sh.example"


class WarningRun(BaseModel):
    """What one warnings run produced: every message of the episodes, and counts.

    ``data_quality`` lists the problems of the forecast (missing hours, held rules); a run
    with any is not a clean run (``resilience warn`` exits non-zero).
    """

    forecast: str
    issued_at: datetime
    episodes: int
    messages: list[IssuedMessage]
    new_messages: int
    already_issued: int
    withdrawn: int = 0
    by_type: dict[str, int]
    skipped_rules: dict[str, str] = {}
    data_quality: list[str] = []


class WarningInputs(BaseModel):
    """Inputs of impact rules: an inventory and hazard layers (``None`` / empty if absent)."""

    model_config = {"arbitrary_types_allowed": True}
    assets: object | None = None
    layers: dict[str, xr.Dataset] = {}


def load_inputs(
    rules: RuleSet, *, assets_path: Path | None = None, layer_store: Path | None = None
) -> WarningInputs:
    """Read the inventory and the hazard layers the rule set asks for, where available.

    Parameters
    ----------
    rules : RuleSet
        The rule set (its ``layer_level`` criteria name the layers).
    assets_path : Path, optional
        Inventory file (GeoPackage, GeoJSON, Shapefile or CSV, Assets contract).
    layer_store : Path, optional
        Layer store directory; a named layer without a published version is left out.

    Returns
    -------
    WarningInputs
    """
    from resilience.storage.layer_store import LayerStore

    assets = None
    if assets_path is not None:
        from resilience.geodata.inventory_io import read_inventory

        assets = read_inventory(Path(assets_path))
    wanted = {n[6:] for r in rules.rules for n in rule_inputs(r) if n.startswith("layer:")}
    layers = {}
    if layer_store is not None and Path(layer_store).is_dir():
        store = LayerStore(Path(layer_store))
        for name in sorted(wanted & set(store.names())):
            layers[name] = store.open(name)
    return WarningInputs(assets=assets, layers=layers)


def _issue_time(forecast: xr.Dataset) -> datetime:
    """Return the ``issued`` attribute (:func:`validate_forecast` refuses a file without)."""
    return pd.Timestamp(forecast.attrs["issued"]).to_pydatetime()


def run_warnings(
    forecast_path: Path,
    *,
    rules_path: Path | None,
    districts: gpd.GeoDataFrame,
    database_url: str,
    out_dir: Path,
    sender: str = DEFAULT_SENDER,
    now: datetime | None = None,
    status: Status | None = None,
    assets: gpd.GeoDataFrame | None = None,
    layers: Mapping[str, xr.Dataset] | None = None,
) -> WarningRun:
    """Evaluate the rules on a forecast file and issue its CAP messages (idempotent).

    Parameters
    ----------
    forecast_path : Path
        NetCDF forecast (see :func:`resilience.sample.forecast.write_sample_forecast`).
    rules_path : Path or None
        Rule file; ``None`` uses the shipped Shanghai rules.
    districts : geopandas.GeoDataFrame
        ``district_code``, ``name_zh``, ``name_en`` and EPSG:4326 geometry.
    database_url : str
        SQLAlchemy URL of the alert database.
    out_dir : Path
        Directory for the CAP files.
    sender : str
        CAP ``<sender>``.
    now : datetime, optional
        Issue time; default the forecast's ``issued`` attribute (so a re-run of the same
        forecast is reproducible). A forecast without ``issued`` is refused unless ``now``
        is given, which then stands for its issue time too.
    status : {"Actual", "Exercise", "System", "Test", "Draft"}, optional
        CAP status; default ``Exercise`` for a forecast marked ``synthetic = "yes"``, else
        ``Actual``.
    assets : geopandas.GeoDataFrame, optional
        Asset inventory for impact rules (without it they are skipped).
    layers : mapping of str to xarray.Dataset, optional
        Hazard layers for ``layer_level`` criteria (a rule whose layer is absent is skipped).

    Returns
    -------
    WarningRun
        With ``data_quality`` lines for missing values and held rules.

    Raises
    ------
    ForecastError
        If the forecast is impossible (:func:`~resilience.early_warning.forecast_checks.
        validate_forecast`): nothing is issued.
    """
    with xr.open_dataset(forecast_path) as forecast:
        forecast.load()
    validate_forecast(forecast, source=forecast_path, districts=districts, issued=now)
    if not forecast.attrs.get("issued") and now is not None:
        forecast.attrs["issued"] = now.isoformat()  # the explicit override stands for it
    rules, skipped = runnable_rules(load_rules(rules_path), assets=assets, layers=layers)
    gaps = forecast_gaps(forecast, rules)
    rules = rules.model_copy(update={"rules": [r for r in rules.rules if r.id not in gaps.held]})
    decisions = evaluate_rules(forecast, rules, districts, assets=assets, layers=layers)
    scopes = rule_scopes(forecast, rules, districts, assets=assets)
    synthetic = str(forecast.attrs.get("synthetic", "no")).lower() == "yes"
    provenance = {
        "synthetic": synthetic
        or any(synthetic_flag(layer.attrs) == "yes" for layer in (layers or {}).values()),
        "inputs_sha256": _inputs_sha256(forecast_path, rules_path, layers),
    }
    decisions = [d.model_copy(update=provenance) for d in decisions]
    status = status or ("Exercise" if synthetic else "Actual")
    when = now or _issue_time(forecast)
    engine = make_engine(database_url)
    try:
        messages = issue_alerts(
            decisions,
            engine=engine,
            out_dir=out_dir,
            sender=sender,
            now=when,
            status=status,
            scopes=scopes,
        )
    finally:
        engine.dispose()
    live = [m for m in messages if not m.withdrawn]
    by_type: dict[str, int] = {}
    for message in live:
        by_type[message.msg_type] = by_type.get(message.msg_type, 0) + 1
    new = sum(m.new for m in live)
    return WarningRun(
        forecast=str(forecast_path),
        issued_at=when,
        episodes=len(decisions),
        messages=messages,
        new_messages=new,
        already_issued=len(live) - new,
        withdrawn=len(messages) - len(live),
        by_type=by_type,
        skipped_rules=skipped,
        data_quality=[f"{forecast_path}: {note}" for note in gaps.notes],
    )


def _inputs_sha256(
    forecast_path: Path, rules_path: Path | None, layers: Mapping[str, xr.Dataset] | None
) -> str:
    """One sha256 over the forecast and rule files and the inputs of the layers used."""
    import hashlib

    from resilience.storage.provenance import sha256_files

    files = sha256_files([Path(forecast_path), Path(rules_path or default_rules_path())])
    digest = hashlib.sha256(files.encode())
    for name, layer in sorted((layers or {}).items()):
        digest.update(f"{name}:{layer.attrs.get('inputs_sha256', '')}".encode())
    return digest.hexdigest()
