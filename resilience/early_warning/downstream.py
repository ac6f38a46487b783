"""Downstream assets of an impact alert: who loses service with the warned assets, who runs them.

The inventory's ``depends_on`` gives the dependency graph (:func:`assets.dependencies.
build_dependency_graph`, edges from a supplier to the asset that needs it). When an impact
rule warns about assets (a substation in a heat or flood warning area), the assets that
lose service if they fail are their **descendants** in that graph (docs/cascade.md,
"needs all": a metro station fed by the substation, the stations of its stretch, a
hospital). :func:`downstream_refs` lists them, without the warned assets themselves, in
the order a message names them:

1. criticality (inventory's ``criticality``, 5 first);
2. hops from the nearest warned asset (direct dependants first);
3. inventory order.

:func:`downstream_agencies` maps their types to the agencies responsible for them
(the rule set's ``asset_agencies``), so that power warns transport when a substation
feeding metro stations is in a warning area.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from resilience.early_warning.decision import DownstreamRef
from resilience.early_warning.wording import asset_name_zh

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

__all__ = ["AssetIndex", "build_asset_index", "downstream_agencies", "downstream_refs"]


@dataclass(frozen=True)
class AssetIndex:
    """The dependency graph of an inventory with what a message needs of each asset.

    Attributes
    ----------
    graph : networkx.DiGraph
        From :func:`assets.dependencies.build_dependency_graph`.
    rows : mapping of str to (int, int, str, str, str)
        Per asset_id: (inventory position, criticality, name, Chinese name, asset type).
    """

    graph: nx.DiGraph
    rows: Mapping[str, tuple[int, int, str, str, str]]


def build_asset_index(assets: gpd.GeoDataFrame) -> AssetIndex | None:
    """Return the dependency graph of an inventory, or ``None`` when it records none.

    Parameters
    ----------
    assets : geopandas.GeoDataFrame
        Inventory (Assets contract): ``asset_id``, ``name``, ``asset_type``,
        ``criticality``, ``depends_on`` (lists of asset_ids); optional ``name_zh``.

    Returns
    -------
    AssetIndex or None
        ``None`` when the inventory has no ``depends_on`` column or no dependency in it.

    Raises
    ------
    hazard_models.layer.SchemaError
        If ``depends_on`` names an asset_id that is not in the inventory, or an asset_id
        repeats (the message names them).
    """
    from assets.dependencies import build_dependency_graph

    if "depends_on" not in assets.columns:
        return None
    graph = build_dependency_graph(assets)
    if graph.number_of_edges() == 0:
        return None
    names = assets["name"].astype(str).tolist()
    given = assets["name_zh"].tolist() if "name_zh" in assets.columns else [None] * len(names)
    kinds = assets["asset_type"].astype(str).tolist()
    if "criticality" in assets.columns:
        critical = assets["criticality"].fillna(0).astype(int).tolist()
    else:
        critical = [0] * len(names)
    rows = {
        str(a): (i, c, n, asset_name_zh(z, n, k), k)
        for i, (a, c, n, z, k) in enumerate(
            zip(assets["asset_id"], critical, names, given, kinds, strict=True)
        )
    }
    return AssetIndex(graph, rows)


def downstream_refs(
    index: AssetIndex, warned: Sequence[str], *, agencies: Mapping[str, str]
) -> list[DownstreamRef]:
    """Return the assets that lose service when any warned asset fails, most critical first.

    Parameters
    ----------
    index : AssetIndex
        From :func:`build_asset_index`.
    warned : sequence of str
        asset_ids the alert warns about.
    agencies : mapping of str to str
        Asset type -> agency id (the rule set's ``asset_agencies``).

    Returns
    -------
    list of DownstreamRef
        The warned assets' descendants minus the warned assets, ordered by criticality
        (descending), hops from the nearest warned asset, inventory order (module
        docstring). Empty when no asset depends on them.
    """
    import networkx as nx

    hops: dict[str, int] = {}
    for asset_id in warned:
        if asset_id not in index.graph:
            continue
        for node, distance in nx.single_source_shortest_path_length(index.graph, asset_id).items():
            hops[node] = min(distance, hops.get(node, distance))
    below = set(hops) - set(warned)
    order = sorted(below, key=lambda a: (-index.rows[a][1], hops[a], index.rows[a][0]))
    return [
        DownstreamRef(
            asset_id=a,
            name=index.rows[a][2],
            name_zh=index.rows[a][3],
            asset_type=index.rows[a][4],
            agency=agencies.get(index.rows[a][4], ""),
        )
        for a in order
    ]


def downstream_agencies(refs: Iterable[DownstreamRef], addressed: Sequence[str]) -> list[str]:
    """Return ``addressed`` followed by the downstream assets' agencies not yet in it.

    Parameters
    ----------
    refs : iterable of DownstreamRef
        From :func:`downstream_refs`.
    addressed : sequence of str
        Agency ids already addressed (the issuer and the subscribers), kept first.

    Returns
    -------
    list of str
        Agency ids without duplicates, in order of first appearance.
    """
    return list(dict.fromkeys([*addressed, *(r.agency for r in refs if r.agency)]))
