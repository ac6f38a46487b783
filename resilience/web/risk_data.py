"""Where the risk map's data lives: the published risk table and the layer store.

Placeholder contract (issue 15 item 3): :class:`RiskSource` names the folders; the
functions that read them are added beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["RiskSource"]


@dataclass(frozen=True)
class RiskSource:
    """The risk map's inputs.

    Attributes
    ----------
    risk_dir : Path
        The published risk table's folder (``<data_dir>/risk``: ``risk_table.gpkg`` and
        ``risk_table.provenance.json``, written by the refresh); may not exist yet.
    layer_store_dir : Path
        The versioned layer store (``<data_dir>/layers``); its current layers are mapped.
    """

    risk_dir: Path
    layer_store_dir: Path
