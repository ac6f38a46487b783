"""Cascade risk on hand-built graphs (chain, diamond, cycle) and against a plain walk."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from assets.cascade import prepare_cascade, propagate_service_loss


def _run(graph: nx.DiGraph, p: dict[str, list[float]], **kwargs: int):
    prepared = prepare_cascade(graph, **kwargs)
    direct = np.array([p[n] for n in prepared.nodes], dtype=float)
    result = propagate_service_loss(direct, prepared)
    index = {n: i for i, n in enumerate(prepared.nodes)}
    return result, index, prepared


def test_chain_by_hand() -> None:
    # sub -> water -> hosp: each needs the one before it
    graph = nx.DiGraph([("sub", "water"), ("water", "hosp")])
    result, at, prepared = _run(graph, {"sub": [0.1], "water": [0.2], "hosp": [0.05]})
    lower = {n: result.lower[at[n], 0] for n in at}
    upper = {n: result.upper[at[n], 0] for n in at}
    assert lower == pytest.approx({"sub": 0.1, "water": 0.2, "hosp": 0.2})
    # 1 - (1 - 0.1)(1 - 0.2) = 0.28; 1 - 0.9 x 0.8 x 0.95 = 0.316
    assert upper == pytest.approx({"sub": 0.1, "water": 0.28, "hosp": 0.316})
    assert prepared.nodes[result.driver[at["hosp"], 0]] == "water"
    assert prepared.nodes[result.driver[at["sub"], 0]] == "sub"
    assert result.upper_exact


def test_diamond_counts_the_shared_supplier_once() -> None:
    # a feeds b and c; d needs both
    graph = nx.DiGraph([("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])
    p = {"a": [0.1, 0.5], "b": [0.2, 0.0], "c": [0.3, 0.0], "d": [0.0, 0.0]}
    result, at, _ = _run(graph, p)
    # by hand: d fails if a, b, c or d fails; a counted once: 1 - 0.9 x 0.8 x 0.7 = 0.496
    assert result.upper[at["d"]] == pytest.approx([0.496, 0.5])
    assert result.lower[at["d"]] == pytest.approx([0.3, 0.5])
    # without the ancestor matrix the parent-by-parent product counts a twice: an upper
    # bound, 1 - 0.9^2 x 0.8 x 0.7 = 0.5464, and the result says it is not exact
    bounded, at, _ = _run(graph, p, max_closure_entries=1)
    assert not bounded.upper_exact
    assert bounded.upper[at["d"]] == pytest.approx([0.5464, 0.75])
    assert bounded.lower[at["d"]] == pytest.approx([0.3, 0.5])


def test_cycle_fails_together() -> None:
    # x <-> y (one stretch) feeds z
    graph = nx.DiGraph([("x", "y"), ("y", "x"), ("y", "z")])
    result, at, prepared = _run(graph, {"x": [0.1], "y": [0.2], "z": [0.05]})
    assert [result.lower[at[n], 0] for n in "xyz"] == pytest.approx([0.2, 0.2, 0.2])
    # members share 1 - 0.9 x 0.8 = 0.28; z adds its own: 1 - 0.72 x 0.95 = 0.316
    assert [result.upper[at[n], 0] for n in "xyz"] == pytest.approx([0.28, 0.28, 0.316])
    assert {prepared.nodes[result.driver[at[n], 0]] for n in "xyz"} == {"y"}


def test_unknown_probability_reaches_dependants_only() -> None:
    graph = nx.DiGraph([("a", "b"), ("b", "c"), ("d", "e")])
    p = {"a": [np.nan], "b": [0.1], "c": [0.2], "d": [0.3], "e": [0.0]}
    result, at, _ = _run(graph, p)
    assert np.isnan([result.lower[at[n], 0] for n in "abc"]).all()
    assert np.isnan([result.upper[at[n], 0] for n in "abc"]).all()
    assert result.driver[at["c"], 0] == -1
    assert result.lower[at["e"], 0] == pytest.approx(0.3)


def test_bad_input_is_rejected() -> None:
    prepared = prepare_cascade(nx.DiGraph([("a", "b")]))
    with pytest.raises(ValueError, match="expected 2 rows"):
        propagate_service_loss(np.zeros((3, 1)), prepared)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        propagate_service_loss(np.array([[0.5], [1.5]]), prepared)


def _hub_graph() -> nx.DiGraph:
    """Node 30 needs roots 0-29 and nodes 31-60 one root each: ragged parent lists."""
    graph = nx.DiGraph([(k, 30) for k in range(30)])
    graph.add_edges_from((k - 31, k) for k in range(31, 61))
    return graph


@pytest.mark.parametrize(
    "graph",
    [nx.gnp_random_graph(60, 0.06, seed=18, directed=True), _hub_graph()],
    ids=["random-with-cycles", "ragged-parents"],
)
def test_graphs_match_a_plain_ancestor_walk(graph: nx.DiGraph) -> None:
    rng = np.random.default_rng(18)
    p = rng.uniform(0, 0.3, size=(graph.number_of_nodes(), 4))
    prepared = prepare_cascade(graph)
    rows = {n: i for i, n in enumerate(prepared.nodes)}
    result = propagate_service_loss(p[[int(n) for n in prepared.nodes]], prepared)
    for node in graph:
        upstream = [int(a) for a in nx.ancestors(graph, node) | {node}]
        expected_upper = 1 - np.prod(1 - p[upstream], axis=0)
        np.testing.assert_allclose(result.upper[rows[node]], expected_upper, rtol=1e-12)
        np.testing.assert_array_equal(result.lower[rows[node]], p[upstream].max(axis=0))
        drivers = prepared.nodes[result.driver[rows[node]]]
        np.testing.assert_array_equal(p[drivers.astype(int), range(4)], p[upstream].max(axis=0))
    # without the ancestor matrix: the same lower bound, an upper bound at or above exact
    bounded = propagate_service_loss(
        p[[int(n) for n in prepared.nodes]], prepare_cascade(graph, max_closure_entries=0)
    )
    assert not bounded.upper_exact
    np.testing.assert_array_equal(bounded.lower, result.lower)
    assert (bounded.upper >= result.upper - 1e-12).all()
