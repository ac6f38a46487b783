"""Cascade risk: the probability that an asset loses service, directly or through a supplier.

An asset loses service in a year when its own hazard standard is exceeded (its RiskTable
probability, the *direct* probability) or when any asset upstream of it in the dependency
graph (:mod:`assets.dependencies`) does. For the union of those events this module gives
both bounds (docs/cascade.md):

* **dependent** (lower bound, the default): full dependence within one event footprint:
  the same storm, the same hot summer or the same surge floods every site, each site failing
  when the common event passes its own standard, so the failure events are nested and
  ``P = max p`` over the asset and its ancestors. It is exact for the surge rows of assets
  read from one tide station (one annual-maximum level, comonotone exceedances) and close
  for a city-wide heat or rain year; it is the default for that reason.
* **independent** (upper bound under positive association): ``P = 1 - prod(1 - p)`` over
  the asset and its ancestors, each counted once (an ancestor reached by two paths counts
  once). Positively associated hazards (one climate, one city) give less than this
  (Esary, Proschan & Walkup 1967, "Association of random variables", Ann. Math. Stat. 38).

:mod:`assets.service_loss` applies it to the RiskTable. Both bounds run over ``(node, slice)``
arrays in topological generations of the condensed graph (strongly connected components
fail together), with one vectorised gather-and-reduce per generation and no per-asset
Python loop. The independent bound is exact through the sparse ancestor matrix when that
matrix has at most ``max_closure_entries`` entries; otherwise it is propagated parent by
parent, which counts a shared ancestor once per path and so stays an upper bound (the
result says ``upper_exact=False``).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse import csgraph

__all__ = ["CascadeGraph", "CascadeResult", "prepare_cascade", "propagate_service_loss"]

_BIG = np.iinfo(np.int64).max


@dataclass(frozen=True)
class CascadeGraph:
    """A dependency graph prepared for vectorised propagation.

    Attributes
    ----------
    nodes : numpy.ndarray of str
        Node ids in the order of the rows of the arrays passed to the propagation.
    component : numpy.ndarray of int
        Component (condensed node, in generation order) of each node.
    generation_starts : numpy.ndarray of int
        First component of each topological generation, then the component count.
    parent_indptr, parent_indices : numpy.ndarray of int
        CSR lists of each component's parent components (its suppliers).
    closure : scipy.sparse.csr_matrix or None
        Ancestor matrix of the components (``closure[c, a] = 1`` when ``a`` is ``c`` or an
        ancestor of ``c``); None when it would exceed the entry budget.
    """

    nodes: NDArray
    component: NDArray
    generation_starts: NDArray
    parent_indptr: NDArray
    parent_indices: NDArray
    closure: sp.csr_matrix | None


@dataclass(frozen=True)
class CascadeResult:
    """Service-loss probabilities of each node in each slice.

    Attributes
    ----------
    lower, upper : numpy.ndarray
        ``(node, slice)`` probabilities under full dependence and under independence.
    driver : numpy.ndarray of int
        ``(node, slice)`` row index of the node (the node itself or an ancestor) whose
        direct probability sets ``lower``; -1 where it is NaN.
    upper_exact : bool
        False when ``upper`` was propagated parent by parent (an upper bound on the
        independence value, see the module notes) because the ancestor matrix was too big.
    """

    lower: NDArray
    upper: NDArray
    driver: NDArray
    upper_exact: bool


def _closure(
    starts: NDArray, indptr: NDArray, indices: NDArray, budget: int
) -> sp.csr_matrix | None:
    """Return the ancestor matrix built generation by generation, or None past ``budget``.

    Gives up before a generation whose entries, counted with repeats (the sum of its
    parents' row sizes), would take the matrix past ``budget``.
    """
    n = int(starts[-1])
    parents = sp.csr_matrix((np.ones(indices.size), indices, indptr), shape=(n, n))

    def identity_rows(lo: int, hi: int) -> sp.csr_matrix:
        rows = np.arange(hi - lo)
        return sp.csr_matrix((np.ones(hi - lo), (rows, rows + lo)), shape=(hi - lo, n))

    done = identity_rows(0, int(starts[1]))
    for lo, hi in zip(starts[1:-1].tolist(), starts[2:].tolist(), strict=True):
        block = parents[lo:hi, :lo]
        bound = block @ np.diff(done.indptr).astype(float)  # row sizes before de-duplication
        if done.nnz + bound.sum() + (hi - lo) > budget:
            return None
        reach = (block @ done + identity_rows(lo, hi)).tocsr()
        reach.data[:] = 1.0
        done = sp.csr_matrix(sp.vstack([done, reach]))
    return done


def _edge_arrays(graph: nx.DiGraph) -> tuple[NDArray, NDArray, NDArray]:
    """Return the node ids and the (supplier, dependant) row indices of every edge."""
    nodes = np.asarray(list(graph), dtype=object)
    index = {node: i for i, node in enumerate(nodes)}
    flat = np.fromiter(
        (index[n] for edge in graph.edges() for n in edge),
        dtype=np.int64,
        count=2 * graph.number_of_edges(),
    )
    return nodes, flat[0::2], flat[1::2]


def _ranges(indptr: NDArray, rows: NDArray) -> NDArray:
    """Return the concatenated CSR positions ``indptr[r]:indptr[r + 1]`` of ``rows``."""
    counts = indptr[rows + 1] - indptr[rows]
    shift = np.repeat(indptr[rows] - np.cumsum(counts) + counts, counts)
    return shift + np.arange(int(counts.sum()))


def _generations(count: int, source: NDArray, target: NDArray) -> NDArray:
    """Return the topological generation of each node of a DAG (Kahn, one frontier a step)."""
    order = np.argsort(source, kind="stable")
    children = target[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(source, minlength=count))])
    waiting = np.bincount(target, minlength=count)
    generation = np.full(count, -1, dtype=np.int64)
    frontier, step = np.flatnonzero(waiting == 0), 0
    while frontier.size:
        generation[frontier] = step
        reached = children[_ranges(indptr, frontier)]
        waiting -= np.bincount(reached, minlength=count)
        frontier = np.unique(reached[waiting[reached] == 0])
        step += 1
    return generation


def prepare_cascade(graph: nx.DiGraph, *, max_closure_entries: int = 5_000_000) -> CascadeGraph:
    """Condense a dependency graph and order it for :func:`propagate_service_loss`.

    Parameters
    ----------
    graph : networkx.DiGraph
        Edges from supplier to dependant (``assets.dependencies.build_dependency_graph``).
    max_closure_entries : int, optional
        Largest ancestor matrix (non-zero entries) built for the exact independent bound.

    Returns
    -------
    CascadeGraph
        Arrays over ``graph``'s nodes in ``list(graph)`` order.

    Notes
    -----
    Strongly connected components by ``scipy.sparse.csgraph.connected_components``
    (``connection="strong"``) and generations by Kahn's algorithm one frontier at a time
    (Kahn 1962, "Topological sorting of large networks", CACM 5(11)), all on arrays.
    """
    nodes, source, target = _edge_arrays(graph)
    n = nodes.size
    adjacency = sp.csr_matrix((np.ones(source.size), (source, target)), shape=(n, n))
    count, labels = csgraph.connected_components(adjacency, directed=True, connection="strong")
    labels = labels.astype(np.int64)  # int32 from scipy: the pair code below needs 64 bits
    pairs = np.unique(labels[source] * count + labels[target])
    up, down = pairs // count, pairs % count
    up, down = up[up != down], down[up != down]
    generation = _generations(count, up, down)
    order = np.lexsort((np.arange(count), generation))
    rank = np.empty(count, dtype=np.int64)
    rank[order] = np.arange(count)
    starts = np.searchsorted(generation[order], np.arange(int(generation.max(initial=-1)) + 2))
    by_child = np.lexsort((rank[up], rank[down]))
    indices = rank[up][by_child]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rank[down], minlength=count))])
    closure = _closure(starts, indptr, indices, max_closure_entries) if count else None
    return CascadeGraph(nodes, rank[labels], starts, indptr, indices, closure)


def _segment_first_max(values: NDArray, cuts: NDArray) -> tuple[NDArray, NDArray]:
    """Return each segment's max (NaN if any NaN) and the position of its first maximum.

    ``values`` is ``(slice, entries)``; segments start at ``cuts`` (none empty). Positions
    are ``_BIG`` where the max is NaN.
    """
    high = np.maximum.reduceat(values, cuts, axis=1)
    counts = np.diff(np.append(cuts, values.shape[1]))
    hit = values == np.repeat(high, counts, axis=1)
    where = np.where(hit, np.arange(values.shape[1]), _BIG)
    return high, np.minimum.reduceat(where, cuts, axis=1)


def _component_direct(direct: NDArray, component: NDArray, n: int) -> tuple[NDArray, ...]:
    """Return per-component max p, its member row (-1 if NaN) and the members' log-survival.

    ``direct`` is ``(slice, node)``; the results are ``(slice, component)``.
    """
    order = np.argsort(component, kind="stable")
    values = direct[:, order]
    if n == component.size:  # no cycles: one node per component
        member = np.where(np.isnan(values), -1, order)
        with np.errstate(divide="ignore"):
            return values, member, np.log1p(-values)
    cuts = np.searchsorted(component[order], np.arange(n))
    high, first = _segment_first_max(values, cuts)
    with np.errstate(divide="ignore"):
        log_survival = np.add.reduceat(np.log1p(-values), cuts, axis=1)
    member = np.where(first == _BIG, -1, order[np.minimum(first, values.shape[1] - 1)])
    return high, member, log_survival


def _parent_table(parents: NDArray, offsets: NDArray, counts: NDArray) -> tuple[NDArray, ...]:
    """Return the (row, width) parent table, short rows padded with their first parent."""
    width = int(counts.max())
    row = np.repeat(np.arange(counts.size), counts)
    position = np.arange(parents.size) - np.repeat(offsets, counts)
    table = np.repeat(parents[offsets], width).reshape(counts.size, width)
    table[row, position] = parents
    valid = np.zeros(table.shape, dtype=bool)
    valid[row, position] = True
    return table, valid


def _propagate_generation(
    prepared: CascadeGraph, lo: int, hi: int, state: tuple[NDArray, NDArray, NDArray | None]
) -> None:
    """Update components ``lo:hi`` (one generation) from their parents, in place.

    The state arrays are ``(slice, component)``. Parents are gathered into a padded
    ``(slice, row, width)`` block (max and argmax along the last axis) when the rows have
    similar numbers of parents, else reduced by ``reduceat`` over the ragged lists.
    """
    high, driver, log_survival = state
    a, b = prepared.parent_indptr[lo], prepared.parent_indptr[hi]
    parents = prepared.parent_indices[a:b]
    offsets = prepared.parent_indptr[lo:hi] - a
    counts = np.diff(prepared.parent_indptr[lo : hi + 1])
    slices = np.arange(high.shape[0])[:, None]
    if int(counts.max()) * (hi - lo) <= 4 * (b - a):
        table, valid = _parent_table(parents, offsets, counts)
        gathered = high[:, table]
        first = np.argmax(gathered, axis=2)  # the first NaN when there is one
        best = np.take_along_axis(gathered, first[..., None], axis=2)[..., 0]
        pick = table[np.arange(hi - lo), first]
        if log_survival is not None:
            upstream = np.where(valid, log_survival[:, table], 0.0).sum(axis=2)
    else:
        best, first = _segment_first_max(high[:, parents], offsets)
        pick = parents[np.minimum(first, b - a - 1)]
        if log_survival is not None:
            upstream = np.add.reduceat(log_survival[:, parents], offsets, axis=1)
    own = high[:, lo:hi]
    chosen = np.where(best > own, driver[slices, pick], driver[:, lo:hi])
    driver[:, lo:hi] = np.where(np.isnan(best) | np.isnan(own), -1, chosen)
    high[:, lo:hi] = np.maximum(own, best)
    if log_survival is not None:
        log_survival[:, lo:hi] += upstream


def propagate_service_loss(direct: NDArray, prepared: CascadeGraph) -> CascadeResult:
    """Return each node's probability of losing service, directly or through its ancestors.

    Parameters
    ----------
    direct : numpy.ndarray
        ``(node, slice)`` probability (0-1) that each node fails by its own hazard in a
        slice (a hazard, scenario, horizon, return period...), rows in
        ``prepared.nodes`` order; NaN where unknown (NaN then reaches every dependant).
    prepared : CascadeGraph
        From :func:`prepare_cascade`.

    Returns
    -------
    CascadeResult
        ``lower`` = max p over the node, its component and its ancestors (full
        dependence); ``upper`` = 1 - prod(1 - p) over the same set (independence); the
        driver of ``lower``.

    Raises
    ------
    ValueError
        If ``direct`` has the wrong number of rows or values outside [0, 1].

    Notes
    -----
    Components (cycles) fail as one: their direct probability is the max (dependent) or
    1 - prod(1 - p) (independent) of their members. Generation ``k`` of the condensed graph
    is updated from generation ``< k`` by one gather of its parents' rows and one
    reduction (max and argmax, and the sum of log-survival when the ancestor matrix is not
    used).
    """
    direct = np.asarray(direct, dtype=float)
    if direct.ndim == 1:
        direct = direct[:, None]
    if direct.shape[0] != prepared.nodes.size:
        raise ValueError(
            f"direct: expected {prepared.nodes.size} rows (nodes), found {direct.shape[0]}"
        )
    if np.any((direct < 0) | (direct > 1)):
        raise ValueError("direct: probabilities must lie in [0, 1]")
    starts = prepared.generation_starts
    n = int(starts[-1])
    if n == 0:
        empty = np.zeros(direct.shape)
        return CascadeResult(empty, empty, empty.astype(np.int64), True)
    high, driver, own_log = _component_direct(np.ascontiguousarray(direct.T), prepared.component, n)
    exact = prepared.closure is not None
    log_survival = None if exact else own_log.copy()
    for lo, hi in zip(starts[1:-1].tolist(), starts[2:].tolist(), strict=True):
        _propagate_generation(prepared, lo, hi, (high, driver, log_survival))
    if prepared.closure is not None:
        log_survival = (prepared.closure @ own_log.T).T
    upper = np.clip(-np.expm1(np.asarray(log_survival)), 0.0, 1.0)
    rows = prepared.component
    return CascadeResult(high[:, rows].T, upper[:, rows].T, driver[:, rows].T, exact)
