"""Write the RiskTable as a GeoPackage (for maps) and a CSV (for spreadsheets), atomically.

Text cells of the CSV that a spreadsheet would run as formulas (an asset named ``=HYPERLINK(...)``)
are quoted by :mod:`.csv_safe`; the GeoPackage keeps values as they are.

A ``.provenance.json`` beside them says what the table came from (layers, inventory, hashes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resilience.storage.atomic import atomic_path, write_text_atomic
from resilience.storage.csv_safe import neutralise_frame

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["write_risk_table"]


def write_risk_table(
    table: pd.DataFrame,
    assets: gpd.GeoDataFrame,
    out_dir: Path,
    *,
    stem: str = "risk_table",
    provenance: Mapping[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write ``table`` to ``out_dir/{stem}.gpkg`` and ``out_dir/{stem}.csv``.

    With ``provenance`` (what the table was computed from: layers with versions and hashes,
    the inventory and its hash, whether any input was synthetic), it is also written as
    ``out_dir/{stem}.provenance.json`` beside them, before them, so a table is never
    without its provenance.

    Parameters
    ----------
    table : pandas.DataFrame
        RiskTable (one row per asset x hazard x scenario x horizon, with ``asset_id``).
    assets : geopandas.GeoDataFrame
        The inventory, whose geometry is joined on ``asset_id`` for the GeoPackage.
    out_dir : Path
        Output directory, created if needed.

    Returns
    -------
    tuple of Path
        The GeoPackage and the CSV (text cells starting with ``=``, ``+``, ``-``, ``@``, tab
        or carriage return are prefixed with ``'``, see :mod:`resilience.storage.csv_safe`).
    """
    import geopandas as gpd

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    geometry = assets.set_index("asset_id").geometry
    missing = sorted(set(table["asset_id"]) - set(geometry.index))
    if missing:
        raise ValueError(f"risk table names asset_ids not in the inventory: {missing[:5]}")
    frame = gpd.GeoDataFrame(
        table.reset_index(drop=True),
        geometry=geometry.loc[table["asset_id"]].to_numpy(),
        crs=assets.crs,
    )
    gpkg, csv = out_dir / f"{stem}.gpkg", out_dir / f"{stem}.csv"
    if provenance is not None:
        text = json.dumps(dict(provenance), indent=2, sort_keys=True, default=str)
        write_text_atomic(out_dir / f"{stem}.provenance.json", text + "\n")
    with atomic_path(gpkg) as temporary:  # through Arrow: 4.6 -> 1.6 s at 10 k assets
        frame.to_file(temporary, layer="risk", driver="GPKG", engine="pyogrio", use_arrow=True)
    with atomic_path(csv) as temporary:
        _write_csv(table, temporary)
    return gpkg, csv


#: Rows formatted and written at a time: memory for the text of one block, not the table's
#: (a 2.4 M-row table of 100 k assets took 3.5 GB more as text at once).
CSV_BLOCK_ROWS = 200_000


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` as CSV block by block: neutralised text, floats as ``%.6g``, NaN ''."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for start in range(0, max(len(table), 1), CSV_BLOCK_ROWS):
            block = neutralise_frame(table.iloc[start : start + CSV_BLOCK_ROWS])
            _floats_as_text(block).to_csv(handle, index=False, header=start == 0)


def _floats_as_text(table: pd.DataFrame) -> pd.DataFrame:
    """Return ``table`` with float columns as text of 6 significant digits; NaN as ''.

    What ``to_csv(float_format="%.6g")`` writes, formatted 4-5x faster (pandas formats each
    value through several Python calls); kept as object columns (pandas' Arrow-backed text
    dtype would convert every value again).
    """
    from pandas.api import types

    out = table.copy()
    for column in out.columns:
        if types.is_float_dtype(out[column]):
            values = out[column].tolist()
            text = [f"{v:.6g}" if v == v else "" for v in values]  # v != v: NaN
            out[column] = pd.Series(text, index=out.index, dtype=object)
    return out
