"""Where the risk map's data lives, and its readers: the published risk table and the layers.

:class:`RiskSource` names the folders (``<data_dir>/risk`` and ``<data_dir>/layers``).
:func:`load_risk_table` reads the published table (``risk_table.parquet``, written by
``flows.steps.assess_risk``) with its provenance, cached by the files' state (path, mtime_ns,
size): a refresh that replaces them is picked up by the next request, without a restart.
:func:`read_current_layer` reads the layer store's current version of a layer, opened once
per process (netCDF4 crashes when one process opens a file it already holds open) and kept.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import xarray as xr

from resilience.storage.layer_store import LayerStore, LayerVersion

__all__ = [
    "RISK_TABLE_FILE",
    "RiskSource",
    "RiskTable",
    "load_risk_table",
    "read_current_layer",
]

RISK_TABLE_FILE = "risk_table.parquet"
_PROVENANCE_FILE = "risk_table.provenance.json"
T = TypeVar("T")


@dataclass(frozen=True)
class RiskSource:
    """The risk map's inputs.

    Attributes
    ----------
    risk_dir : Path
        The published risk table's folder (``<data_dir>/risk``: ``risk_table.parquet`` and
        ``risk_table.provenance.json``, written by the refresh); may not exist yet.
    layer_store_dir : Path
        The versioned layer store (``<data_dir>/layers``); its current layers are mapped.
    """

    risk_dir: Path
    layer_store_dir: Path


@dataclass(frozen=True)
class RiskTable:
    """A published risk table as the pages use it.

    Attributes
    ----------
    path : Path
        The GeoParquet file read.
    rows : pandas.DataFrame
        One row per asset x hazard x scenario x horizon (the RiskTable columns of
        ``assets.risk``), plus ``lon`` and ``lat`` (degrees east / north, EPSG:4326): the
        asset's point, or a representative point of a line or polygon (always inside it).
    provenance : dict
        ``risk_table.provenance.json`` (layers with versions, ``synthetic``, inventory);
        empty when the file is missing, with :attr:`problems` saying so.
    names_zh : dict of str to str
        Chinese name by ``asset_id``, from the inventory named in the provenance (empty if
        the inventory has no ``name_zh`` column or cannot be read).
    problems : tuple of str
        What could not be read beside the table (shown on the pages, never hidden).
    """

    path: Path
    rows: pd.DataFrame
    provenance: dict[str, Any]
    names_zh: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


_TABLE_LOCK = threading.Lock()
_TABLES: dict[Path, tuple[tuple[Any, ...], RiskTable]] = {}
_LAYER_LOCK = threading.Lock()
_LAYERS: dict[tuple[str, str, str], xr.Dataset] = {}


def _state(path: Path) -> tuple[str, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (str(path), stat.st_mtime_ns, stat.st_size)


def _read_rows(path: Path) -> pd.DataFrame:
    from resilience.storage.risk_io import read_risk_table

    return read_risk_table(path, points=True)  # with lon, lat: each asset decoded once


def _read_names_zh(inventory: Path) -> dict[str, str]:
    if inventory.suffix.lower() == ".csv":
        frame = pd.read_csv(inventory, dtype=str, keep_default_na=False)
    else:
        import pyogrio

        frame = pyogrio.read_dataframe(inventory, read_geometry=False)
    if "name_zh" not in frame.columns:
        return {}
    names = frame[["asset_id", "name_zh"]].dropna()
    return {str(a): str(n) for a, n in zip(names["asset_id"], names["name_zh"], strict=True) if n}


def _read_table(path: Path) -> RiskTable:
    rows = _read_rows(path)
    problems: list[str] = []
    provenance: dict[str, Any] = {}
    provenance_path = path.with_name(_PROVENANCE_FILE)
    try:
        provenance = json.loads(provenance_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        problems.append(f"{provenance_path}: expected the table's provenance JSON: {error}")
    names: dict[str, str] = {}
    inventory = (provenance.get("inventory") or {}).get("path")
    if inventory:
        try:
            names = _read_names_zh(Path(inventory))
        except Exception as error:  # noqa: BLE001 - any unreadable inventory: say so, go on
            problems.append(f"inventory {inventory}: Chinese names not read: {error}")
    return RiskTable(path, rows, provenance, names, tuple(problems))


def load_risk_table(risk_dir: Path) -> RiskTable | None:
    """Return the risk table published in ``risk_dir``, or ``None`` if there is none yet.

    Parameters
    ----------
    risk_dir : Path
        The folder holding ``risk_table.parquet`` and ``risk_table.provenance.json``.

    Returns
    -------
    RiskTable or None
        Cached while the GeoParquet table and its provenance keep their path, mtime_ns and size.

    Raises
    ------
    ValueError
        If the table cannot be read or lacks the RiskTable columns (names the file).
    """
    path = Path(risk_dir) / RISK_TABLE_FILE
    key = (_state(path), _state(path.with_name(_PROVENANCE_FILE)))
    if key[0] is None:
        return None
    with _TABLE_LOCK:
        cached = _TABLES.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            table = _read_table(path)
        except Exception as error:
            raise ValueError(f"{path}: expected a risk table: {error}") from error
        missing = {"asset_id", "hazard", "scenario", "horizon", "score", "risk_class"} - set(
            table.rows.columns
        )
        if missing:
            raise ValueError(f"{path}: expected RiskTable columns, missing {sorted(missing)}")
        _TABLES[path] = (key, table)
        return table


def read_current_layer(
    store_dir: Path, name: str, read: Callable[[LayerVersion, xr.Dataset], T]
) -> T:
    """Return ``read(entry, dataset)`` for the current version of layer ``name``.

    Each layer version is opened once per process (keyed by store, name and version: netCDF4
    crashes when a process opens a file it already holds open) and kept open until a newer
    version of the layer becomes current; ``read`` runs under one lock, as netCDF4 is not
    thread-safe, so it should load only what it needs.

    Parameters
    ----------
    store_dir : Path
        The layer store's root.
    name : str
        A layer name of the store.
    read : callable
        Called with the :class:`LayerVersion` and its (shared, never closed) Dataset.

    Returns
    -------
    object
        What ``read`` returns.

    Raises
    ------
    KeyError
        If the store has no current version of ``name``.
    """
    store = LayerStore(store_dir)
    entry = store.current(name)
    key = (str(store_dir), name, entry.version)
    with _LAYER_LOCK:
        if key not in _LAYERS:
            for old in [k for k in _LAYERS if k[:2] == key[:2]]:  # superseded by a refresh
                _LAYERS.pop(old).close()  # safe: every read holds this lock
            _LAYERS[key] = store.open(name, entry.version)
        return read(entry, _LAYERS[key])
