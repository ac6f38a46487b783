"""Cascade propagation on a 100 k-asset synthetic network x 50 slices, beside networkx walks.

Workload (issue 18, item 4): a layered DAG of ``--assets`` nodes (default 100 000) in
``--layers`` layers (default 10; the first one supplies, like substations); every node of
layer k > 0 needs up to ``--parents`` (default 3) random nodes of layer k - 1. Direct
annual probabilities are drawn uniform on [0, 0.05) for ``--slices`` slices (default 50),
seed 18.

Methods:

* ``ours``: ``assets.cascade.prepare_cascade`` (condensation, generations, CSR arrays; the
  exact ancestor matrix is given up past its entry budget) and
  ``assets.cascade.propagate_service_loss`` (both bounds and the driver, every slice);
* ``per-node loop``: the dependent bound node by node in topological order, one numpy
  ``max`` over the parents' rows per node (all slices at once: a generous reference);
* ``nx.descendants``: per slice, the assets that lose service when the common event passes
  level u (the slice's 99th percentile of p): the union of ``nx.descendants`` of the nodes
  with p >= u. Under full dependence that set is exactly {lower >= u}; the bench checks it.
  Timed on as many slices as fit in ``--budget-s`` seconds, then scaled to all slices.

Printed: each method's wall and CPU seconds (CPU is steadier on a shared machine), its CPU
ratio to ours (prepare + propagate) and the peak resident memory of the process after it
(``ru_maxrss``). Goal of the issue: a few seconds
for ours. Run: ``.venv/bin/python bench/bench_cascade.py``.
"""

from __future__ import annotations

import argparse
import resource
import time

import networkx as nx
import numpy as np

from assets.cascade import prepare_cascade, propagate_service_loss


def peak_mib() -> float:
    """Return the peak resident memory of this process so far, MiB (Linux ru_maxrss, KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_network(assets: int, layers: int, parents: int, seed: int = 18) -> nx.DiGraph:
    """Return the layered DAG (edges from supplier to dependant, node ids 0..assets-1)."""
    rng = np.random.default_rng(seed)
    size = assets // layers
    graph = nx.DiGraph()
    graph.add_nodes_from(range(size * layers))
    for layer in range(1, layers):
        below = np.arange((layer - 1) * size, layer * size)
        nodes = np.arange(layer * size, (layer + 1) * size)
        picks = rng.integers(0, size, (size, parents))  # repeats collapse: up to `parents`
        suppliers = below[picks].ravel().tolist()
        graph.add_edges_from(zip(suppliers, np.repeat(nodes, parents).tolist(), strict=True))
    return graph


def per_node_loop(graph: nx.DiGraph, direct: np.ndarray) -> np.ndarray:
    """Return the dependent bound by a Python loop over nodes in topological order."""
    lower = direct.copy()
    for node in nx.topological_sort(graph):
        parents = list(graph.predecessors(node))
        if parents:
            lower[node] = np.maximum(direct[node], lower[parents].max(axis=0))
    return lower


def descendants_walk(
    graph: nx.DiGraph, direct: np.ndarray, budget_s: float
) -> tuple[float, int, list]:
    """Return seconds per slice, slices walked and the lost sets of the walked slices."""
    sets, start = [], time.perf_counter()
    for k in range(direct.shape[1]):
        level = np.quantile(direct[:, k], 0.99)
        failed = np.flatnonzero(direct[:, k] >= level).tolist()
        lost = set(failed).union(*(nx.descendants(graph, f) for f in failed))
        sets.append((level, lost))
        if time.perf_counter() - start > budget_s:
            break
    return (time.perf_counter() - start) / len(sets), len(sets), sets


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--parents", type=int, default=3)
    parser.add_argument("--slices", type=int, default=50)
    parser.add_argument("--budget-s", type=float, default=20.0)
    args = parser.parse_args()
    start = time.perf_counter()
    graph = make_network(args.assets, args.layers, args.parents)
    built = time.perf_counter() - start
    rng = np.random.default_rng(18)
    direct = rng.uniform(0.0, 0.05, size=(graph.number_of_nodes(), args.slices))
    base = peak_mib()
    rows = []
    start, cpu = time.perf_counter(), time.process_time()
    prepared = prepare_cascade(graph)
    prepare_s = (time.perf_counter() - start, time.process_time() - cpu)
    rows.append(("ours: prepare_cascade", *prepare_s, peak_mib()))
    start, cpu = time.perf_counter(), time.process_time()
    result = propagate_service_loss(direct[prepared.nodes.astype(int)], prepared)
    propagate_s = (time.perf_counter() - start, time.process_time() - cpu)
    rows.append(("ours: propagate (2 bounds)", *propagate_s, peak_mib()))
    ours = prepare_s[0] + propagate_s[0]
    ours_cpu = prepare_s[1] + propagate_s[1]
    lower = np.empty_like(result.lower)
    lower[prepared.nodes.astype(int)] = result.lower
    start, cpu = time.perf_counter(), time.process_time()
    reference = per_node_loop(graph, direct)
    loop = (time.perf_counter() - start, time.process_time() - cpu)
    rows.append(("per-node loop (dependent)", *loop, peak_mib()))
    np.testing.assert_array_equal(reference, lower)
    cpu = time.process_time()
    per_slice, walked, sets = descendants_walk(graph, direct, args.budget_s)
    walk_cpu = (time.process_time() - cpu) / len(sets) * args.slices
    for k, (level, lost) in enumerate(sets):
        assert lost == set(np.flatnonzero(lower[:, k] >= level).tolist()), f"slice {k} differs"
    label = f"nx.descendants ({walked} slices x{args.slices / walked:.0f})"
    rows.append((label, per_slice * args.slices, walk_cpu, peak_mib()))
    print(
        f"{graph.number_of_nodes()} assets, {graph.number_of_edges()} dependencies, "
        f"{args.layers} layers, {args.slices} slices (graph built in {built:.1f} s; "
        f"upper bound exact: {result.upper_exact}; memory before: {base:.0f} MiB)"
    )
    print(f"{'method':<34}{'wall s':>8}{'cpu s':>8}{'x ours':>8}{'peak MiB':>10}")
    for name, seconds, cpu_s, peak in rows:
        ratio = cpu_s / ours_cpu
        print(f"{name:<34}{seconds:>8.2f}{cpu_s:>8.2f}{ratio:>8.2f}{peak:>10.0f}")
    print(f"{'ours: total':<34}{ours:>8.2f}{ours_cpu:>8.2f}{1.0:>8.2f}")
    print("results: per-node loop identical; nx.descendants sets equal {lower >= u}")


if __name__ == "__main__":
    main()
