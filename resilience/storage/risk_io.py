"""Write and read the RiskTable: GeoParquet always, GeoPackage and CSV exports up to a size.

The table of record is ``{stem}.parquet`` (GeoParquet 1.0: the RiskTable columns plus the
asset's geometry as WKB), which the risk pages, the feasibility checks' supplier section and
``resilience cascade`` read (:func:`read_risk_table`). Beside it go two exports for people:
``{stem}.gpkg`` (for desktop GIS) and ``{stem}.csv`` (for spreadsheets), written when the
table has at most ``export_max_rows`` rows (default :data:`EXPORT_MAX_ROWS`, the rows an
Excel sheet holds under its header). A larger table is written as GeoParquet only and the
returned :class:`RiskFiles` (and so the refresh's summary and provenance) says so, and why:
a 2.4 M-row table of 100 k assets took 13-18 s as GeoPackage (600 MB) and 50 s as CSV
against 2 s as GeoParquet (11 MB), and a spreadsheet opening that CSV would drop every row
past the limit (docs/decisions.md D42).

Text cells of the CSV that a spreadsheet would run as formulas (an asset named
``=HYPERLINK(...)``) are quoted by :mod:`.csv_safe`; the GeoPackage and the GeoParquet keep
values as they are.

A ``.provenance.json`` beside them says what the table came from (layers, inventory, hashes).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resilience.storage.atomic import atomic_path, write_text_atomic
from resilience.storage.csv_safe import neutralise_frame

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "EXPORTS",
    "EXPORT_MAX_ROWS",
    "RiskFiles",
    "read_risk_table",
    "write_risk_blocks",
    "write_risk_table",
]

#: Largest table written as the GeoPackage and CSV exports by default: an Excel sheet holds
#: 1,048,576 rows, the header being one (Microsoft, "Excel specifications and limits").
EXPORT_MAX_ROWS = 1_048_575
#: The exports written beside the GeoParquet table, by suffix.
EXPORTS: tuple[str, ...] = ("gpkg", "csv")


@dataclass(frozen=True)
class RiskFiles:
    """The files of one written RiskTable.

    Attributes
    ----------
    parquet : Path
        The GeoParquet table of record.
    gpkg, csv : Path or None
        The exports; None when the table was over the export limit.
    provenance : Path or None
        ``{stem}.provenance.json``, when provenance was given.
    exports_skipped : str
        Empty when the exports were written; else why not (rows against the limit).
    """

    parquet: Path
    gpkg: Path | None
    csv: Path | None
    provenance: Path | None
    exports_skipped: str = ""

    @property
    def paths(self) -> list[Path]:
        """Every file written, provenance first (the order they are written in)."""
        files = (self.provenance, self.parquet, self.gpkg, self.csv)
        return [path for path in files if path is not None]


def write_risk_table(
    table: pd.DataFrame,
    assets: gpd.GeoDataFrame,
    out_dir: Path,
    *,
    stem: str = "risk_table",
    provenance: Mapping[str, Any] | None = None,
    export_max_rows: int | None = EXPORT_MAX_ROWS,
) -> RiskFiles:
    """Write ``table`` to ``out_dir/{stem}.parquet``, with the GPKG and CSV exports if small.

    With ``provenance`` (what the table was computed from: layers with versions and hashes,
    the inventory and its hash, whether any input was synthetic), it is also written as
    ``out_dir/{stem}.provenance.json`` beside them, before them, so a table is never
    without its provenance. Each file is written to a temporary name and renamed.

    Parameters
    ----------
    table : pandas.DataFrame
        RiskTable (one row per asset x hazard x scenario x horizon, with ``asset_id``).
    assets : geopandas.GeoDataFrame
        The inventory, whose geometry is joined on ``asset_id``.
    out_dir : Path
        Output directory, created if needed.
    export_max_rows : int or None
        Most rows written as the GeoPackage and CSV exports (default
        :data:`EXPORT_MAX_ROWS`); None: always written; 0: never.

    Returns
    -------
    RiskFiles
        The files written. In the CSV, text cells starting with ``=``, ``+``, ``-``, ``@``, tab
        or carriage return are prefixed with ``'`` (:mod:`resilience.storage.csv_safe`).

    Raises
    ------
    ValueError
        If the table names an ``asset_id`` the inventory does not have.
    """
    import numpy as np

    covered = assets.iloc[np.unique(_positions(table, assets))]  # the geo metadata's assets
    return write_risk_blocks(
        [table], covered, out_dir, stem=stem, provenance=provenance, export_max_rows=export_max_rows
    )


def write_risk_blocks(
    blocks: Iterable[pd.DataFrame],
    assets: gpd.GeoDataFrame,
    out_dir: Path,
    *,
    stem: str = "risk_table",
    provenance: Mapping[str, Any] | None = None,
    export_max_rows: int | None = EXPORT_MAX_ROWS,
) -> RiskFiles:
    """Write a RiskTable given as consecutive blocks of rows, holding one block at a time.

    What :func:`write_risk_table` writes, for a table too large to hold whole: each block
    (the same columns and dtypes, rows in the table's order) becomes a row group of the
    GeoParquet file. The GeoPackage and CSV exports, when the table has at most
    ``export_max_rows`` rows, are made from the GeoParquet file once it is complete.

    ``assets`` are the assets the table covers (each has rows): the file's ``geo`` metadata
    (bounding box, geometry types) is theirs, written with the schema before the first row.

    Raises
    ------
    ValueError
        If a block names an ``asset_id`` that ``assets`` lacks, its columns differ from the
        first block's, there is no block, or an asset of ``assets`` has no row.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: out_dir / f"{stem}.{kind}" for kind in ("parquet", *EXPORTS)}
    # first: an older table's exports must never sit beside this one, not even when this run
    # is killed before its own exports are written
    for kind in EXPORTS:
        paths[kind].unlink(missing_ok=True)
    json_path = None
    if provenance is not None:
        json_path = out_dir / f"{stem}.provenance.json"
        text = json.dumps(dict(provenance), indent=2, sort_keys=True, default=str)
        write_text_atomic(json_path, text + "\n")
    with atomic_path(paths["parquet"]) as temporary:
        rows = _write_geoparquet(blocks, assets, temporary)
    if export_max_rows is not None and rows > export_max_rows:
        skipped = (
            f"{rows:,} rows, over the export limit of {export_max_rows:,} (settings "
            f"risk_export_max_rows): GeoPackage and CSV not written, read {paths['parquet'].name}"
        )
        return RiskFiles(paths["parquet"], None, None, json_path, skipped)
    table = read_risk_table(paths["parquet"])  # the exports are what the table of record holds
    position = _positions(table, assets)
    _write_gpkg(table, assets, position, paths["gpkg"])
    with atomic_path(paths["csv"]) as temporary:
        _write_csv(table, temporary)
    return RiskFiles(paths["parquet"], paths["gpkg"], paths["csv"], json_path)


def _positions(table: pd.DataFrame, assets: gpd.GeoDataFrame, ids: Any = None) -> Any:  # noqa: ANN401
    """Return each row's position in ``assets`` (by ``asset_id``); name ids it lacks."""
    ids = pd.Index(assets["asset_id"].astype(str)) if ids is None else ids
    position = ids.get_indexer(table["asset_id"].astype(str))
    if (position < 0).any():
        missing = sorted(set(table["asset_id"].astype(str)[position < 0]))
        raise ValueError(f"risk table names asset_ids not in the inventory: {missing[:5]}")
    return position


def _geometry_wkb(assets: gpd.GeoDataFrame, position: Sequence[int] | Any) -> Any:  # noqa: ANN401
    """Return the assets' geometries as a pyarrow binary array of WKB, one per table row.

    Each asset's WKB is encoded once and repeated by position (a table has 24 rows per asset).
    """
    import numpy as np
    import pyarrow as pa
    import shapely

    wkb = pa.array(shapely.to_wkb(assets.geometry.to_numpy()), type=pa.binary())
    return wkb.take(pa.array(np.asarray(position, dtype=np.int64)))


def _geo_metadata(assets: gpd.GeoDataFrame, position: Any) -> dict:  # noqa: ANN401
    """Return the GeoParquet 1.0.0 ``geo`` metadata of the rows' geometries.

    Keys as the GeoParquet specification (https://geoparquet.org/releases/v1.0.0/): WKB
    encoding, the geometry types present, the CRS as PROJJSON and the bounding box.
    """
    import numpy as np

    used = assets.geometry.iloc[np.unique(position)] if len(position) else assets.geometry[:0]
    bounds = [float(v) for v in used.total_bounds] if len(used) else []
    column: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": sorted({str(t) for t in used.geom_type.dropna()}),
    }
    if assets.crs is not None:
        column["crs"] = assets.crs.to_json_dict()
    if bounds and all(np.isfinite(bounds)):
        column["bbox"] = bounds
    return {"version": "1.0.0", "primary_column": "geometry", "columns": {"geometry": column}}


def _write_geoparquet(blocks: Iterable[pd.DataFrame], assets: gpd.GeoDataFrame, path: Path) -> int:
    """Write the blocks with their assets' geometry as GeoParquet (zstd); return the rows.

    The ``geo`` metadata describes every asset of ``assets``; each must have rows.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids = pd.Index(assets["asset_id"].astype(str))
    used = np.zeros(len(assets), dtype=bool)
    writer, rows = None, 0
    try:
        for block in blocks:
            position = _positions(block, assets, ids)
            arrow = pa.Table.from_pandas(block.reset_index(drop=True), preserve_index=False)
            arrow = arrow.append_column("geometry", _geometry_wkb(assets, position))
            if writer is None:
                metadata = dict(arrow.schema.metadata or {})
                geo = _geo_metadata(assets, np.arange(len(assets)))
                metadata[b"geo"] = json.dumps(geo).encode("utf-8")
                schema = arrow.schema.with_metadata(metadata)
                writer = pq.ParquetWriter(path, schema, compression="zstd")
            elif arrow.schema.names != writer.schema.names:
                raise ValueError(
                    f"risk table block: expected columns {writer.schema.names}, found "
                    f"{arrow.schema.names}"
                )
            writer.write_table(arrow.cast(writer.schema))
            used[position] = True
            rows += len(block)
            del block, arrow  # before the next block is made: one block in memory, not two
        if writer is None:
            raise ValueError("risk table: no block of rows to write")
        if not used.all():
            absent = assets["asset_id"].astype(str)[~used].tolist()
            raise ValueError(f"risk table: assets without rows {absent[:5]} (pass those covered)")
    finally:
        if writer is not None:
            writer.close()
    return rows


def _write_gpkg(table: pd.DataFrame, assets: gpd.GeoDataFrame, position: Any, path: Path) -> None:  # noqa: ANN401
    """Write ``table`` with its assets' geometry as the GeoPackage layer ``risk``."""
    import geopandas as gpd

    frame = gpd.GeoDataFrame(table, geometry=assets.geometry.to_numpy()[position], crs=assets.crs)
    with atomic_path(path) as temporary:  # through Arrow: 4.6 -> 1.6 s at 10 k assets
        frame.to_file(temporary, layer="risk", driver="GPKG", engine="pyogrio", use_arrow=True)


def read_risk_table(
    path: Path, *, columns: Sequence[str] | None = None, points: bool = False
) -> pd.DataFrame:
    """Read a RiskTable written by :func:`write_risk_table` (its GeoParquet file).

    Parameters
    ----------
    path : Path
        ``risk_table.parquet``.
    columns : sequence of str, optional
        Columns to read (default: all but the geometry).
    points : bool
        Add ``lon`` and ``lat`` (degrees, the table's CRS): the asset's point, or a
        representative point of a line or polygon (always inside it), each asset decoded
        once.

    Returns
    -------
    pandas.DataFrame
        The rows, ``asset_id`` as text.

    Raises
    ------
    ValueError
        If the file is not a Parquet file or lacks a column asked for (names the file).
    """
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        schema = pq.read_schema(path)
        names = [n for n in schema.names if n != "geometry"] if columns is None else list(columns)
        missing = [n for n in names if n not in schema.names]
        if missing or (points and "geometry" not in schema.names):
            needed = missing or ["geometry"]
            raise ValueError(f"expected RiskTable columns, missing {needed}")
        arrow = pq.read_table(path, columns=[*names, *(["geometry"] if points else [])])
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise ValueError(f"{path}: expected a RiskTable in GeoParquet: {error}") from error
    rows = arrow.select(names).to_pandas()
    if "asset_id" in rows.columns:
        rows["asset_id"] = rows["asset_id"].astype(str)
    if points:
        import shapely

        first = _first_rows(rows["asset_id"])  # asset_id -> its first row
        wkb = arrow.column("geometry").take(first.to_numpy()).to_numpy(zero_copy_only=False)
        shapes = shapely.point_on_surface(shapely.from_wkb(wkb))  # a point is its own
        where = first.index.get_indexer(rows["asset_id"])
        rows["lon"], rows["lat"] = shapely.get_x(shapes)[where], shapely.get_y(shapes)[where]
    return rows


def _first_rows(ids: pd.Series) -> pd.Series:
    """Return, by asset_id, the position of its first row."""
    import numpy as np

    first = ~ids.duplicated().to_numpy()
    return pd.Series(np.flatnonzero(first), index=pd.Index(ids[first]))


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
