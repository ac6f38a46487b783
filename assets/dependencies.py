"""The dependency graph of an inventory: who needs whom to operate, and its checks.

:func:`build_dependency_graph` turns the inventory's ``depends_on`` lists into a
``networkx.DiGraph`` whose edges run **from a supplier to the asset that needs it** (the
direction in which a failure travels), so that ``nx.descendants(graph, "sub-x")`` are the
assets that lose service when ``sub-x`` fails. :func:`check_dependencies` reports what a
user must know before trusting a cascade: ids that name nothing, cycles, and assets whose
supply is unknown. Pure: no I/O (style.md rule 3).

Rules (``docs/cascade.md``)
---------------------------
* ``depends_on`` means *needs all*: an asset loses service when any asset it names does
  (no redundant feeds are known in the data; a redundant pair should be modelled as one
  node).
* **Metro lines.** A line's operation is modelled stretch by stretch, in the data: the
  interior stations of a stretch (between transfer, terminal or branch stations, where trains
  are ASSUMED to turn back) name their neighbours in ``depends_on`` both ways, so each
  stretch is a cycle: a flooded station, or its lost supply, closes its stretch, and the
  transfer and terminal stations at its ends keep their service. A station flooded without
  water on the track closes itself only (skip-stop: "station closure/skip-stop when water
  enters", domain.md 5.2, m.shzx.org/a/15-55634-0.html); the stretch rule takes the worse
  case, water over the rail top ("trains prohibited when water exceeds rail top", same).
* **Cycles.** The members of one strongly connected component fail together: the component
  is one node of the condensed graph (``networkx.condensation``), whose direct failure
  probability combines its members' (``assets.cascade``).
* **Supply.** :data:`SUPPLY_NEEDS` lists, per asset type, the types an asset is expected to
  depend on; an asset without one is reported as having an unknown supply (its cascade
  risk then misses that path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd

from hazard_models.layer import SchemaError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "DEFAULT_SUPPLY_NEEDS",
    "SUPPLY_NEEDS",
    "SERVICE_TYPES",
    "DependencyReport",
    "build_dependency_graph",
    "check_dependencies",
    "rank_critical_nodes",
    "supply_needs",
]

#: Asset types each type needs to operate (design assumption, docs/cascade.md): everything
#: but substations and bridges draws grid power; hospitals also need treated water. Every
#: catalogue type is listed (a test checks it): the inventory check, the sample's assumed
#: links (``resilience.sample.supply``) and a checked project's suppliers
#: (``resilience.feasibility.dependencies``) all read this one rule (:func:`supply_needs`).
SUPPLY_NEEDS: dict[str, tuple[str, ...]] = {
    "metro_station": ("substation",),
    "railway_station": ("substation",),
    "airport": ("substation",),
    "hospital": ("substation", "water_plant"),
    "water_plant": ("substation",),
    "tunnel": ("substation",),
    "seawall": ("substation",),  # its pumps and gates
    "substation": (),  # its own supply, the grid above 500 kV, is not in the data
    "bridge": (),  # a bridge's needs are not in the data
}
#: Needs of a type :data:`SUPPLY_NEEDS` does not list: grid power.
DEFAULT_SUPPLY_NEEDS: tuple[str, ...] = ("substation",)


def supply_needs(asset_type: str) -> tuple[str, ...]:
    """Return the asset types an asset of ``asset_type`` needs to operate (may be empty)."""
    return SUPPLY_NEEDS.get(asset_type, DEFAULT_SUPPLY_NEEDS)


#: Services counted on their own by :func:`rank_critical_nodes`.
SERVICE_TYPES: tuple[str, ...] = ("metro_station", "hospital", "water_plant")


@dataclass(frozen=True)
class DependencyReport:
    """What :func:`check_dependencies` found.

    Attributes
    ----------
    unknown : tuple of (str, str)
        ``(asset_id, named_id)`` for every ``depends_on`` entry that names no asset.
    cycles : tuple of tuple of str
        The members (sorted) of every strongly connected component with more than one
        asset, or of an asset that depends on itself; each fails as one.
    unsupplied : tuple of (str, tuple of str)
        ``(asset_id, missing types)`` for assets that depend on no asset of a type that
        :data:`SUPPLY_NEEDS` expects.
    """

    unknown: tuple[tuple[str, str], ...]
    cycles: tuple[tuple[str, ...], ...]
    unsupplied: tuple[tuple[str, tuple[str, ...]], ...]

    def messages(self) -> list[str]:
        """Return one readable line per finding (empty when the graph is clean)."""
        lines = [f"{a}: depends_on names unknown asset_id {b!r}" for a, b in self.unknown]
        lines += [
            f"cycle of {len(c)} assets (they fail together): {', '.join(c)}" for c in self.cycles
        ]
        lines += [
            f"{a}: supply unknown (no {', '.join(t)} in depends_on)" for a, t in self.unsupplied
        ]
        return lines


def _as_list(value: object, asset_id: str) -> list[str]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return []
    raise SchemaError(f"inventory: asset {asset_id!r}: depends_on {value!r} is not a list")


def build_dependency_graph(assets: pd.DataFrame | gpd.GeoDataFrame) -> nx.DiGraph:
    """Build the dependency graph of an inventory (edges from supplier to dependant).

    Parameters
    ----------
    assets : pandas.DataFrame or geopandas.GeoDataFrame
        Inventory with ``asset_id``, ``asset_type`` and ``depends_on`` (lists of asset_ids);
        optional ``name``.

    Returns
    -------
    networkx.DiGraph
        One node per asset (attributes ``asset_type`` and ``name``); an edge ``u -> v`` when
        ``v`` needs ``u``. ``graph.graph["cycles"]`` lists the strongly connected components
        of more than one asset (module rules); ``graph.graph["report"]`` is the
        :func:`check_dependencies` report of the inventory.

    Raises
    ------
    SchemaError
        If a column is missing, an asset_id repeats, or ``depends_on`` names unknown ids.
    """
    missing = [c for c in ("asset_id", "asset_type", "depends_on") if c not in assets.columns]
    if missing:
        raise SchemaError(f"inventory: dependency graph needs columns {missing}")
    frame = pd.DataFrame(assets.drop(columns="geometry", errors="ignore"))
    frame["asset_id"] = frame["asset_id"].astype(str)
    repeated = frame["asset_id"][frame["asset_id"].duplicated()].tolist()
    if repeated:
        raise SchemaError(f"inventory: asset_id not unique: {repeated[:10]}")
    report = check_dependencies(frame)
    if report.unknown:
        shown = "; ".join(f"{a} -> {b!r}" for a, b in report.unknown[:10])
        raise SchemaError(f"inventory: depends_on names unknown asset_ids: {shown}")
    needs = {a: _as_list(d, a) for a, d in zip(frame["asset_id"], frame["depends_on"], strict=True)}
    names = frame["name"] if "name" in frame.columns else frame["asset_id"]
    graph = nx.DiGraph()
    graph.add_nodes_from(  # all at once: one call per asset took 2 s at 100 k assets
        (a, {"asset_type": str(t), "name": str(n)})
        for a, t, n in zip(frame["asset_id"], frame["asset_type"], names, strict=True)
    )
    graph.add_edges_from((s, a) for a, suppliers in needs.items() for s in suppliers)
    graph.graph["cycles"] = list(report.cycles)
    graph.graph["report"] = report  # the whole check, so callers need not run it again
    return graph


def _cycles(needs: Mapping[str, list[str]]) -> tuple[tuple[str, ...], ...]:
    """Return the strongly connected components of more than one asset, or with a self-loop.

    By scipy's strongly connected components (Pearce's algorithm) on the sparse adjacency
    matrix: networkx's took 1.9 s at 100 k assets, most of it building the graph.
    """
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    ids = list(needs)
    position = {asset: k for k, asset in enumerate(ids)}
    edges = [(position[s], position[a]) for a, ss in needs.items() for s in ss if s in position]
    if not edges:
        return ()
    rows, cols = np.asarray(edges, dtype=np.int64).T
    matrix = coo_array((np.ones(rows.size), (rows, cols)), shape=(len(ids), len(ids))).tocsr()
    _, labels = connected_components(matrix, directed=True, connection="strong")
    sizes = np.bincount(labels)
    looped = np.zeros(sizes.size, dtype=bool)
    looped[labels[rows[rows == cols]]] = True
    cyclic = np.flatnonzero((sizes > 1) | looped)
    members = np.flatnonzero(np.isin(labels, cyclic))
    found: dict[int, list[str]] = {}
    for k in members:
        found.setdefault(int(labels[k]), []).append(ids[k])
    return tuple(sorted(tuple(sorted(component)) for component in found.values()))


def check_dependencies(
    assets: pd.DataFrame | gpd.GeoDataFrame,
    *,
    supply_needs: Mapping[str, tuple[str, ...]] = SUPPLY_NEEDS,
) -> DependencyReport:
    """Report unknown ids, cycles and assets of unknown supply in ``depends_on``.

    Parameters
    ----------
    assets : pandas.DataFrame or geopandas.GeoDataFrame
        Inventory with ``asset_id``, ``asset_type`` and ``depends_on``.
    supply_needs : mapping, optional
        Types each asset type should depend on (default :data:`SUPPLY_NEEDS`).

    Returns
    -------
    DependencyReport
        The findings; :meth:`DependencyReport.messages` gives them as text.
    """
    ids = assets["asset_id"].astype(str).tolist()
    needs = {a: _as_list(d, a) for a, d in zip(ids, assets["depends_on"], strict=True)}
    types = dict(zip(ids, assets["asset_type"].astype(str), strict=True))
    unknown = tuple((a, s) for a, suppliers in needs.items() for s in suppliers if s not in types)
    unsupplied = []
    for asset_id, suppliers in needs.items():
        have = {types.get(s) for s in suppliers}
        lacking = tuple(t for t in supply_needs.get(types[asset_id], ()) if t not in have)
        if lacking:
            unsupplied.append((asset_id, lacking))
    return DependencyReport(unknown=unknown, cycles=_cycles(needs), unsupplied=tuple(unsupplied))


def rank_critical_nodes(
    graph: nx.DiGraph, *, service_types: tuple[str, ...] = SERVICE_TYPES
) -> pd.DataFrame:
    """Rank the assets by the service that depends on them (their downstream assets).

    Parameters
    ----------
    graph : networkx.DiGraph
        From :func:`build_dependency_graph`.
    service_types : tuple of str
        Asset types counted in their own columns (default metro stations, hospitals, water
        plants: the services the inventory holds; it has no ridership or bed figures, so
        services are counted, one per asset).

    Returns
    -------
    pandas.DataFrame
        One row per asset that some other asset needs: ``asset_id``, ``name``,
        ``asset_type``, ``downstream_assets`` (all assets that lose service when it fails)
        and ``downstream_<type>`` per service type; most downstream assets first.

    Notes
    -----
    One ``networkx.descendants`` walk per supplying asset, O(suppliers x edges): fine for
    inventories of thousands of assets; the cascade itself (``assets.cascade``) is
    vectorised.
    """
    rows = []
    for node in (n for n in graph if graph.out_degree(n) > 0):
        below = nx.descendants(graph, node) - {node}
        types = [graph.nodes[d].get("asset_type") for d in below]
        row = {
            "asset_id": node,
            "name": graph.nodes[node].get("name", node),
            "asset_type": graph.nodes[node].get("asset_type", ""),
            "downstream_assets": len(below),
        }
        row |= {f"downstream_{t}": types.count(t) for t in service_types}
        rows.append(row)
    columns = ["asset_id", "name", "asset_type", "downstream_assets"]
    columns += [f"downstream_{t}" for t in service_types]
    frame = pd.DataFrame(rows, columns=columns)
    order = frame.sort_values(["downstream_assets", "asset_id"], ascending=[False, True])
    return order.reset_index(drop=True)
