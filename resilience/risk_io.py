"""Write the RiskTable as a GeoPackage (for maps) and a CSV (for spreadsheets), atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["write_risk_table"]


def _atomic_target(path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    Path(tmp).unlink()  # GDAL refuses to create a GeoPackage over an existing empty file
    return Path(tmp)


def write_risk_table(
    table: pd.DataFrame, assets: gpd.GeoDataFrame, out_dir: Path, *, stem: str = "risk_table"
) -> tuple[Path, Path]:
    """Write ``table`` to ``out_dir/{stem}.gpkg`` and ``out_dir/{stem}.csv``.

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
        The GeoPackage and the CSV.
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
    tmp_gpkg = _atomic_target(gpkg)
    try:
        frame.to_file(tmp_gpkg, layer="risk", driver="GPKG")
        os.replace(tmp_gpkg, gpkg)
    finally:
        tmp_gpkg.unlink(missing_ok=True)
    tmp_csv = _atomic_target(csv)
    try:
        table.to_csv(tmp_csv, index=False, float_format="%.6g")
        os.replace(tmp_csv, csv)
    finally:
        tmp_csv.unlink(missing_ok=True)
    return gpkg, csv
