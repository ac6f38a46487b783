"""Read what the dependencies section of a check needs: the inventory and the risk table.

The published risk table (``<data_dir>/risk/risk_table.parquet``, written by the refresh) names
its inventory in ``risk_table.provenance.json``. :func:`open_supply_data` reads both and
says, instead of raising, why they cannot be used (no table, no inventory, an unreadable
file), so that the check reports the section as "not assessed" with that reason. Files are
read once per state (path, modification time, size) and kept for this process.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RISK_COLUMNS", "SupplyData", "open_supply_data"]

#: RiskTable columns the dependencies section reads (``assets.risk``).
RISK_COLUMNS: tuple[str, ...] = (
    "asset_id",
    "hazard",
    "scenario",
    "horizon",
    "annual_exceedance_probability",
)
_TABLE = "risk_table.parquet"
_PROVENANCE = "risk_table.provenance.json"
_LOCK = threading.Lock()
_CACHE: dict[tuple[object, ...], tuple[SupplyData, object]] = {}


@dataclass(frozen=True)
class SupplyData:
    """The inventory and risk rows a check's dependencies section draws on.

    Attributes
    ----------
    assets : pandas.DataFrame or None
        Inventory rows: ``asset_id``, ``name``, ``asset_type``, ``depends_on`` (lists),
        ``lon``/``lat`` (degrees, WGS 84; a representative point of a line or polygon) and
        the inventory's other columns. None when no inventory could be read.
    inventory : str
        The inventory file.
    inventory_sha256 : str
        sha256 of the inventory file (``resilience.storage.provenance.sha256_files``).
    risk : pandas.DataFrame or None
        :data:`RISK_COLUMNS` of the published risk table, sorted by ``asset_id`` (object
        strings); None when none is published.
    provenance_sha256 : str
        sha256 of ``risk_table.provenance.json`` when ``risk`` is set.
    problem : str
        Why the section cannot be assessed (empty when ``assets`` is set).
    notes : tuple of str
        What the reader should know (e.g. the table was made from another inventory).
    """

    assets: pd.DataFrame | None
    inventory: str = ""
    inventory_sha256: str = ""
    risk: pd.DataFrame | None = None
    provenance_sha256: str = ""
    problem: str = ""
    notes: tuple[str, ...] = ()


def _state(path: Path) -> tuple[str, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path), stat.st_mtime_ns, stat.st_size)


def _read_assets(path: Path) -> pd.DataFrame:
    """Return the inventory with lon/lat columns (validated by ``read_inventory``)."""
    import pandas as pd

    from resilience.geodata.inventory_io import read_inventory

    frame = read_inventory(path)
    geometry = frame.geometry
    points = geometry.where(geometry.geom_type == "Point", geometry.representative_point())
    assets = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    assets["asset_id"] = assets["asset_id"].astype(str)
    assets["lon"], assets["lat"] = points.x.to_numpy(), points.y.to_numpy()
    return assets


def _read_risk(path: Path) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    from resilience.storage.risk_io import read_risk_table

    risk = read_risk_table(path, columns=RISK_COLUMNS)  # names the file and what is missing
    for column in RISK_COLUMNS[:4]:  # plain object strings: fast row filters per check
        risk[column] = np.asarray(risk[column].astype(str), dtype=object)
    risk["annual_exceedance_probability"] = pd.to_numeric(
        risk["annual_exceedance_probability"], errors="coerce"
    )
    return risk.sort_values("asset_id", kind="stable").reset_index(drop=True)


def _load(risk_dir: Path, inventory: Path | None) -> SupplyData:
    from resilience.storage.provenance import sha256_files

    table, provenance = risk_dir / _TABLE, risk_dir / _PROVENANCE
    published = table.is_file() and provenance.is_file()
    recorded: dict = {}
    provenance_bytes = b""  # read once: what is parsed is what is hashed, whatever a refresh does
    if published:
        try:
            provenance_bytes = provenance.read_bytes()
            recorded = json.loads(provenance_bytes.decode("utf-8")).get("inventory") or {}
        except (OSError, ValueError, AttributeError) as error:
            return SupplyData(None, problem=f"{provenance}: cannot read ({error})")
    if inventory is None:
        if not recorded.get("path"):
            why = "names no inventory" if published else "no published risk table"
            return SupplyData(
                None,
                problem=f"{risk_dir}: {why} (risk_table.parquet with risk_table.provenance.json, "
                "written by `resilience refresh` or `resilience demo`), so there is no "
                "inventory to find the project's suppliers in",
            )
        inventory = Path(recorded["path"])
    if not inventory.is_file():
        return SupplyData(None, problem=f"{inventory}: inventory not found")
    try:
        assets = _read_assets(inventory)
        digest = sha256_files([inventory])
        risk = _read_risk(table) if published else None
    except (OSError, ValueError) as error:  # SchemaError is a ValueError
        return SupplyData(None, inventory=str(inventory), problem=f"cannot read: {error}")
    notes = []
    if risk is not None and recorded.get("sha256") and recorded["sha256"] != digest:
        notes.append(
            f"the risk table was computed from another version of {inventory} (sha256 "
            f"{str(recorded['sha256'])[:12]}, now {digest[:12]})"
        )
    return SupplyData(
        assets,
        inventory=str(inventory),
        inventory_sha256=digest,
        risk=risk,
        provenance_sha256=hashlib.sha256(provenance_bytes).hexdigest() if published else "",
        notes=tuple(notes),
    )


def open_supply_data(risk_dir: Path, *, inventory: Path | None = None) -> SupplyData:
    """Return the inventory and risk rows for a check's dependencies section.

    Parameters
    ----------
    risk_dir : Path
        The published risk table's folder (``Settings.risk_dir``: ``risk_table.parquet`` and
        ``risk_table.provenance.json``); may not exist.
    inventory : Path, optional
        The inventory file; default: the one named in the table's provenance.

    Returns
    -------
    SupplyData
        With ``problem`` set (and ``assets`` None) when no inventory can be read; ``risk``
        None when no table is published (the check then runs at each supplier's site).
    """
    risk_dir = Path(risk_dir)
    key = (
        _state(risk_dir / _TABLE),
        _state(risk_dir / _PROVENANCE),
        None if inventory is None else _state(Path(inventory)),
        str(risk_dir),
        str(inventory),
    )
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None and _state(Path(cached[0].inventory)) == cached[1]:
        return cached[0]  # the same table, provenance and inventory file as last time
    data = _load(risk_dir, None if inventory is None else Path(inventory))
    with _LOCK:
        _CACHE.clear()  # one state per process is enough: a refresh replaces the files
        _CACHE[key] = (data, _state(Path(data.inventory)))
    return data
