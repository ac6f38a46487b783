"""The Assets contract: columns of an infrastructure inventory and its validator.

An inventory is a ``geopandas.GeoDataFrame`` in EPSG:4326 with the columns below
(``docs/design.md``). Loaders that read files live in ``resilience.geodata.inventory_io``; this
module
only checks and normalises frames, so that it stays free of I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from assets.catalogue import ASSET_TYPES, AssetType
from hazard_models.layer import SchemaError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["INVENTORY_COLUMNS", "OPTIONAL_INVENTORY_COLUMNS", "validate_inventory"]

#: Required columns and what each holds (units in the name).
INVENTORY_COLUMNS: dict[str, str] = {
    "asset_id": "unique identifier (str)",
    "name": "display name (str)",
    "asset_type": "a key of assets.catalogue.ASSET_TYPES",
    "owner_agency": "agency that operates the asset (str)",
    "criticality": "1 (low) to 5 (critical), int",
    "ground_elevation_m": "ground level, m above the Wusong datum (float)",
    "protection_level_m": (
        "water level the asset is protected to, m Wusong datum (float, NaN = none)"
    ),
    "design_life_years": "design working life, years (int > 0)",
    "replacement_value": "replacement value, CNY (float >= 0)",
    "depends_on": "list of asset_ids this asset needs to operate",
    "geometry": "point, line or polygon in EPSG:4326",
}

#: Optional columns that other modules read when present (checked when present).
OPTIONAL_INVENTORY_COLUMNS: dict[str, str] = {
    "name_zh": (
        "display name in Chinese (str; blank or missing: Chinese texts use ``name``), e.g. "
        "a metro station's 人民广场 or a hospital's 瑞金医院"
    ),
    "depends_on_source": (
        "where the row's depends_on comes from: a source (document, operator's register) "
        "or the word 'assumed' and the rule (str; required when depends_on is not empty)"
    ),
}


def _is_missing(value: object) -> bool:
    """Return True for None and NaN-like scalars (a blank optional field)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-likes are not blank
        return False


def _row_errors(frame: pd.DataFrame, catalogue: Mapping[str, AssetType]) -> list[str]:
    """Return ``row N: reason`` strings for every bad row (N counts data rows from 1)."""
    errors: list[str] = []
    ids = frame["asset_id"].astype(str)
    duplicated = ids.duplicated(keep="first")
    known_ids = set(ids)
    for position, (_, row) in enumerate(frame.iterrows(), start=1):
        reasons = []
        if not str(row["asset_id"]).strip() or pd.isna(row["asset_id"]):
            reasons.append("asset_id is empty")
        elif duplicated.iloc[position - 1]:
            reasons.append(f"asset_id {row['asset_id']!r} is not unique")
        if row["asset_type"] not in catalogue:
            reasons.append(f"asset_type {row['asset_type']!r} is not one of {sorted(catalogue)}")
        crit = pd.to_numeric(row["criticality"], errors="coerce")
        if pd.isna(crit) or crit not in (1, 2, 3, 4, 5):
            reasons.append(f"criticality {row['criticality']!r} is not an integer 1-5")
        for column in ("ground_elevation_m", "protection_level_m", "replacement_value"):
            value = pd.to_numeric(row[column], errors="coerce")
            if pd.isna(value) and not pd.isna(row[column]):
                reasons.append(f"{column} {row[column]!r} is not a number")
        if pd.isna(pd.to_numeric(row["ground_elevation_m"], errors="coerce")):
            reasons.append("ground_elevation_m is missing")
        life = pd.to_numeric(row["design_life_years"], errors="coerce")
        if pd.isna(life) or life <= 0:
            reasons.append(
                f"design_life_years {row['design_life_years']!r} is not a positive number"
            )
        value = pd.to_numeric(row["replacement_value"], errors="coerce")
        if not pd.isna(value) and value < 0:
            reasons.append("replacement_value is negative")
        deps = row["depends_on"]
        if not isinstance(deps, (list, tuple, np.ndarray)):
            reasons.append(f"depends_on {deps!r} is not a list of asset_ids")
        else:
            unknown = [d for d in deps if d not in known_ids]
            if unknown:
                reasons.append(f"depends_on names unknown asset_ids {unknown}")
        listed = isinstance(deps, (list, tuple, np.ndarray)) and len(deps) > 0
        if listed and "depends_on_source" in frame.columns:
            source = row["depends_on_source"]
            if not isinstance(source, str) or not source.strip():
                reasons.append(
                    f"depends_on_source {source!r} is blank; expected a source or 'assumed'"
                )
        if "name_zh" in frame.columns:
            name_zh = row["name_zh"]
            if not isinstance(name_zh, str) and not _is_missing(name_zh):
                reasons.append(f"name_zh {name_zh!r} is not a string")
        geom = row["geometry"]
        if geom is None or getattr(geom, "is_empty", True):
            reasons.append("geometry is missing or empty")
        elif not geom.is_valid:
            reasons.append("geometry is not valid")
        if reasons:
            errors.append(f"row {position} (asset_id {row['asset_id']!r}): " + "; ".join(reasons))
    return errors


def validate_inventory(
    assets: gpd.GeoDataFrame, catalogue: Mapping[str, AssetType] = ASSET_TYPES
) -> gpd.GeoDataFrame:
    """Check an inventory against the Assets contract and return it unchanged.

    Parameters
    ----------
    assets : geopandas.GeoDataFrame
        Inventory in EPSG:4326 with the columns of ``INVENTORY_COLUMNS``.
    catalogue : mapping, optional
        Known asset types (default: ``assets.catalogue.ASSET_TYPES``).

    Returns
    -------
    geopandas.GeoDataFrame
        ``assets`` itself, for chaining.

    Raises
    ------
    SchemaError
        Naming the missing columns, the CRS found, or each bad row with its reasons.
    """
    missing = [c for c in INVENTORY_COLUMNS if c not in assets.columns]
    if missing:
        raise SchemaError(
            f"inventory: expected columns {list(INVENTORY_COLUMNS)}, missing {missing}"
        )
    if assets.crs is None or assets.crs.to_epsg() != 4326:
        raise SchemaError(f"inventory: expected CRS EPSG:4326, found {assets.crs}")
    errors = _row_errors(assets, catalogue)
    if errors:
        shown = "\n  ".join(errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise SchemaError(f"inventory: {len(errors)} bad rows:\n  {shown}{more}")
    return assets
