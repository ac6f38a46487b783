"""The RiskTable of an inventory computed block by block, so that memory does not grow with it.

At 100 k assets the RiskTable has 2.4 M rows: built whole (every Exposure, the table, its
service-loss copy and its Arrow copy at once) the risk step peaked at 2.3 GB above the
refresh's other memory, and at 1 M assets it would not fit on a small machine. Here the
assets are taken in blocks of :data:`RISK_BLOCK_ASSETS`, in ``asset_id`` order (the table's
row order), in two passes:

1. each block's layers are sampled (:func:`assets.overlay.sample_layer`) and its rows built
   (:func:`assets.risk.build_risk_table`); the rows go to a temporary Arrow file and their
   direct probabilities to the ``(asset, slice)`` array of the cascade (8 bytes an entry);
2. once every asset's direct probability is known, the cascade runs over the whole
   dependency graph (:mod:`assets.service_loss`) and each block is read back with its
   service-loss columns added, for :func:`resilience.storage.risk_io.write_risk_blocks`.

The rows are those of ``add_service_loss(build_risk_table(...))`` on the whole inventory,
in the same order (``tests/resilience/geodata/test_risk_blocks.py`` compares them).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from resilience.compute import release_memory

if TYPE_CHECKING:
    import geopandas as gpd
    import xarray as xr

    from assets.cascade import CascadeGraph, CascadeResult
    from assets.service_loss import Basis, Rule

__all__ = [
    "RISK_BLOCK_ASSETS",
    "RiskTally",
    "SpooledRisk",
    "spooled_risk_table",
    "very_high_counts",
]

#: Assets per block: 240 k rows of the table (24 per asset), about 70 MB as pandas.
RISK_BLOCK_ASSETS = 10_000


@dataclass(frozen=True)
class _Block:
    """One block of rows in the spool: its file and each row's node and slice."""

    path: Path
    rows: NDArray  #: node of each row in the cascade graph
    slices: NDArray  #: slice (hazard, scenario, horizon) of each row


@dataclass(frozen=True)
class SpooledRisk:
    """The first pass of a blocked RiskTable: its rows spooled, its cascade computed.

    Attributes
    ----------
    rows : int
        Rows of the table.
    service_loss : dict
        What ``add_service_loss`` records in ``attrs["service_loss"]``: rule, basis and
        whether the upper bound is exact.
    """

    rows: int
    service_loss: dict[str, Any]
    _blocks: tuple[_Block, ...]
    _result: CascadeResult
    _prepared: CascadeGraph
    _rule: Rule

    def blocks(self) -> Iterator[pd.DataFrame]:
        """Yield the table's blocks of rows, in order, with their service-loss columns."""
        import pyarrow as pa

        from assets.service_loss import loss_columns

        for block in self._blocks:
            release_memory()  # the last block and its Arrow copies, freed by now
            with pa.memory_map(str(block.path)) as source:
                frame = pa.ipc.open_file(source).read_all().to_pandas()
            columns = loss_columns(
                block.rows, block.slices, self._result, self._prepared, rule=self._rule
            )
            for name, values in columns.items():
                frame[name] = values
            yield frame
            del frame, columns  # before the next block is read


@contextmanager
def spooled_risk_table(
    layers: Mapping[str, xr.Dataset],
    assets: gpd.GeoDataFrame,
    cascade: CascadeGraph,
    *,
    start_year: int,
    variables: Mapping[str, Sequence[str]] | None = None,
    hazard_columns: Mapping[str, Mapping[str, str]] | None = None,
    block_assets: int = RISK_BLOCK_ASSETS,
    rule: Rule = "dependent",
    basis: Basis = "annual",
) -> Iterator[SpooledRisk]:
    """Build the RiskTable of ``assets`` block by block; yield it spooled (first pass done).

    Parameters
    ----------
    layers : mapping of {"heat", "rain", "surge"} to xarray.Dataset
        The hazard layers.
    assets : geopandas.GeoDataFrame
        The inventory (EPSG:4326, ``asset_id`` unique).
    cascade : CascadeGraph
        Its dependency graph prepared for the cascade:
        ``assets.cascade.prepare_cascade(build_dependency_graph(assets))``; the networkx
        graph itself is not needed here.
    start_year : int
        First year of service (design-life probabilities).
    variables : mapping, optional
        Per hazard, the layer variables to sample (default all; see
        ``assets.risk.risk_variables``).
    hazard_columns : mapping, optional
        Columns added to every row by its hazard: ``{column: {hazard: value}}`` (the
        step's ``synthetic_input`` and ``layer_version``), before the service-loss columns.
    block_assets : int
        Assets per block (> 0).
    rule, basis : str
        As ``assets.service_loss.add_service_loss``.

    Yields
    ------
    SpooledRisk
        Whose :meth:`SpooledRisk.blocks` gives the rows; valid inside the ``with`` only
        (the spool is a temporary folder, removed on leaving it).

    Raises
    ------
    SchemaError
        As ``sample_layer``, ``build_risk_table`` and ``add_service_loss``.
    """
    from assets.cascade import propagate_service_loss
    from assets.overlay import sample_layer
    from assets.risk import build_risk_table
    from assets.service_loss import direct_entries, direct_matrix
    from hazard_models.layer import validate_hazard_layer

    if block_assets < 1:
        raise ValueError(f"block_assets: expected a positive number, found {block_assets}")
    nodes = pd.Index(cascade.nodes)  # its hash table is built once, not once a block
    loaded = {}  # read once: a lazily opened layer was read again by every block's sampling
    for name, layer in layers.items():
        validate_hazard_layer(layer)  # the whole layer, once; sampling checks the subset
        wanted = None if variables is None else variables.get(name)
        loaded[name] = (layer if wanted is None else layer[list(wanted)]).load()
    order = np.argsort(assets["asset_id"].astype(str).to_numpy(dtype=object), kind="stable")
    codes: dict[tuple, int] = {}
    blocks, entries, rows = [], [], 0
    with tempfile.TemporaryDirectory(prefix="risk-table-") as folder:
        for number, start in enumerate(range(0, len(order), block_assets) or [0]):
            part = assets.iloc[order[start : start + block_assets]]
            exposures = {name: sample_layer(layer, part) for name, layer in loaded.items()}
            table = build_risk_table(exposures, part, start_year=start_year)
            del exposures
            for column, by_hazard in (hazard_columns or {}).items():
                table[column] = table["hazard"].map(dict(by_hazard))
            at, slices, direct = direct_entries(table, cascade, codes, basis=basis, nodes=nodes)
            path = Path(folder) / f"block{number:06d}.arrow"
            _spool(table, path)
            blocks.append(_Block(path, at, slices))
            entries.append((at, slices, direct))
            rows += len(table)
            del table
            release_memory()  # a block's rows and their copies: returned, not left to pile up
        result = propagate_service_loss(direct_matrix(entries, cascade, len(codes)), cascade)
        del entries
        yield SpooledRisk(
            rows=rows,
            service_loss={"rule": rule, "basis": basis, "upper_exact": result.upper_exact},
            _blocks=tuple(blocks),
            _result=result,
            _prepared=cascade,
            _rule=rule,
        )


class RiskTally:
    """Rows, assets and very-high counts of a RiskTable, tallied as its blocks go by.

    The blocks hold disjoint assets, so each block's distinct assets add up.
    """

    def __init__(self) -> None:
        self.rows = 0
        self.assets = 0
        self.very_high: dict[str, dict[str, int]] = {}

    def count(self, blocks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """Yield ``blocks`` unchanged, tallying each."""
        for block in blocks:
            self.rows += len(block)
            self.assets += int(block["asset_id"].nunique())
            for hazard, counts in very_high_counts(block).items():
                totals = self.very_high.setdefault(hazard, dict.fromkeys(counts, 0))
                for label, count in counts.items():
                    totals[label] = totals.get(label, 0) + count
            yield block
            del block  # not held while the next one is made


def very_high_counts(table: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Count assets in the very-high class per hazard: baseline, ssp245 far, ssp585 far."""
    columns = {
        "baseline": ("ssp245", "baseline"),
        "ssp245 far": ("ssp245", "far"),
        "ssp585 far": ("ssp585", "far"),
    }
    wanted = ["hazard", "scenario", "horizon", "asset_id"]  # not every column of the rows
    flagged = table.loc[table["risk_class"] == "very high", wanted]
    return {
        str(hazard): {
            label: int(rows[(rows["scenario"] == s) & (rows["horizon"] == h)]["asset_id"].nunique())
            for label, (s, h) in columns.items()
        }
        for hazard, rows in flagged.groupby("hazard")
    }


def _spool(table: pd.DataFrame, path: Path) -> None:
    """Write one block of rows as an Arrow IPC file (LZ4: a fraction of its size, fast)."""
    import pyarrow as pa

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with pa.OSFile(str(path), "wb") as sink:
        with pa.ipc.new_file(sink, arrow.schema, options=options) as writer:
            writer.write_table(arrow)
