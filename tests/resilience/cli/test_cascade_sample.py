"""The sample inventory's dependencies, and one substation's cascade checked by hand.

The worked example of docs/cascade.md: Tingwei 500 kV substation (the sample's nearest
substation to Songjiang South) feeds Songjiang South railway station and line 9's terminal
of the same name, and nothing else.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from assets.cascade import prepare_cascade, propagate_service_loss
from assets.dependencies import build_dependency_graph, check_dependencies
from resilience.sample.inventory import build_inventory


@pytest.fixture(scope="module")
def inventory():
    return build_inventory()


def test_sample_dependencies_are_complete_and_sourced(inventory) -> None:
    report = check_dependencies(inventory)
    assert report.unknown == () and report.unsupplied == ()
    types = inventory.set_index("asset_id")["asset_type"]
    hospitals = inventory[inventory["asset_type"] == "hospital"]
    for deps in hospitals["depends_on"]:
        assert sorted(types[d] for d in deps) == ["substation", "water_plant"]
    linked = inventory[inventory["depends_on"].map(len) > 0]
    assert linked["depends_on_source"].str.startswith("assumed").all()
    # each cycle is one stretch of metro stations, never a whole line through a transfer
    assert len(report.cycles) >= 20
    for cycle in report.cycles:
        assert {types[a] for a in cycle} == {"metro_station"}
        lines = inventory.set_index("asset_id").loc[list(cycle), "lines"]
        assert not lines.str.contains(";").any()
        assert lines.nunique() == 1


def test_one_substation_cascade_by_hand(inventory) -> None:
    graph = build_dependency_graph(inventory)
    assert nx.descendants(graph, "sub-tingwei") == {"metro-0918", "rail-10619"}
    prepared = prepare_cascade(graph)
    at = {n: i for i, n in enumerate(prepared.nodes)}
    # rain rows of ssp585 far and ssp126 mid in the demo's risk table (docs/cascade.md)
    direct = np.zeros((len(at), 2))
    direct[at["sub-tingwei"]] = [0.068361, 0.051238]
    direct[at["metro-0918"]] = [0.073613, 0.029441]
    direct[at["rail-10619"]] = [0.113453, 0.047217]
    result = propagate_service_loss(direct, prepared)
    metro, rail, sub = at["metro-0918"], at["rail-10619"], at["sub-tingwei"]
    # dependent: the larger of own and the substation's; ssp126 mid: the substation drives
    expected = [[0.073613, 0.051238], [0.113453, 0.051238]]
    np.testing.assert_array_equal(result.lower[[metro, rail]], expected)
    assert list(prepared.nodes[result.driver[metro]]) == ["metro-0918", "sub-tingwei"]
    # independent: 1 - (1 - p_sub)(1 - p_own)
    by_hand = [
        [1 - 0.931639 * 0.926387, 1 - 0.948762 * 0.970559],
        [1 - 0.931639 * 0.886547, 1 - 0.948762 * 0.952783],
    ]
    np.testing.assert_allclose(result.upper[[metro, rail]], by_hand, rtol=1e-12)
    rounded = [[0.136942, 0.079171], [0.174058, 0.096036]]  # the numbers in docs/cascade.md
    np.testing.assert_allclose(result.upper[[metro, rail]], rounded, atol=5e-7)
    others = np.ones(len(at), bool)
    others[[metro, rail, sub]] = False
    assert not result.upper[others].any()
