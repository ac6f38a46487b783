"""The dependency graph: direction, unknown ids, cycles, unknown supply, critical nodes."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely import Point

from assets.dependencies import build_dependency_graph, check_dependencies, rank_critical_nodes
from assets.inventory import validate_inventory
from hazard_models.layer import SchemaError


def _frame(rows: list[tuple[str, str, list[str]]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "asset_id": [r[0] for r in rows],
            "name": [r[0].upper() for r in rows],
            "asset_type": [r[1] for r in rows],
            "depends_on": [r[2] for r in rows],
        }
    )


def _city() -> pd.DataFrame:
    """A substation feeding a water plant, two stations and a hospital that needs both."""
    return _frame(
        [
            ("sub", "substation", []),
            ("water", "water_plant", ["sub"]),
            ("stn-1", "metro_station", ["sub"]),
            ("stn-2", "metro_station", ["sub", "stn-1"]),
            ("hosp", "hospital", ["sub", "water"]),
        ]
    )


def test_edges_run_from_supplier_to_dependant() -> None:
    graph = build_dependency_graph(_city())
    assert set(graph.successors("sub")) == {"water", "stn-1", "stn-2", "hosp"}
    assert set(graph.predecessors("hosp")) == {"sub", "water"}
    assert graph.nodes["hosp"]["asset_type"] == "hospital"
    assert graph.nodes["hosp"]["name"] == "HOSP"
    assert graph.graph["cycles"] == []


def test_unknown_ids_are_reported_and_stop_the_graph() -> None:
    frame = _city()
    frame.at[4, "depends_on"] = ["sub", "water-zz"]
    report = check_dependencies(frame)
    assert report.unknown == (("hosp", "water-zz"),)
    assert "hosp: depends_on names unknown asset_id 'water-zz'" in report.messages()
    with pytest.raises(SchemaError, match=r"unknown asset_ids: hosp -> 'water-zz'"):
        build_dependency_graph(frame)


def test_cycles_are_reported_as_components() -> None:
    frame = _city()
    frame.at[2, "depends_on"] = ["sub", "stn-2"]  # stn-1 <-> stn-2: one stretch
    report = check_dependencies(frame)
    assert report.cycles == (("stn-1", "stn-2"),)
    assert "cycle of 2 assets (they fail together): stn-1, stn-2" in report.messages()
    assert build_dependency_graph(frame).graph["cycles"] == [("stn-1", "stn-2")]
    # the graph carries the whole check (the refresh reads its findings there)
    assert build_dependency_graph(frame).graph["report"] == report


def test_self_dependence_is_a_cycle() -> None:
    frame = _city()
    frame.at[1, "depends_on"] = ["sub", "water"]
    assert check_dependencies(frame).cycles == (("water",),)


def test_unknown_supply_is_reported_per_missing_type() -> None:
    frame = _city()
    frame.at[4, "depends_on"] = ["sub"]  # a hospital without water
    frame.at[2, "depends_on"] = []  # a station without power
    report = check_dependencies(frame)
    assert report.unsupplied == (("stn-1", ("substation",)), ("hosp", ("water_plant",)))
    assert check_dependencies(_city()).unsupplied == ()


def test_repeated_ids_are_rejected() -> None:
    frame = pd.concat([_city(), _city().iloc[[0]]], ignore_index=True)
    with pytest.raises(SchemaError, match="asset_id not unique: \\['sub'\\]"):
        build_dependency_graph(frame)


def test_critical_nodes_count_the_service_downstream() -> None:
    ranked = rank_critical_nodes(build_dependency_graph(_city())).set_index("asset_id")
    # by hand: sub feeds everything (4); water feeds the hospital; stn-1 feeds stn-2
    assert list(ranked.index) == ["sub", "stn-1", "water"]
    assert ranked.loc["sub", "downstream_assets"] == 4
    assert ranked.loc["sub", "downstream_metro_station"] == 2
    assert ranked.loc["sub", "downstream_hospital"] == 1
    assert ranked.loc["sub", "downstream_water_plant"] == 1
    assert ranked.loc["water", "downstream_hospital"] == 1
    assert ranked.loc["stn-1", "downstream_assets"] == 1


def _inventory(source: object) -> gpd.GeoDataFrame:
    frame = _frame([("sub-a", "substation", []), ("hosp-b", "hospital", ["sub-a"])])
    return gpd.GeoDataFrame(
        frame.assign(
            owner_agency="x",
            criticality=4,
            ground_elevation_m=4.0,
            protection_level_m=5.86,
            design_life_years=50,
            replacement_value=1e9,
            depends_on_source=["", source],
        ),
        geometry=[Point(121.46, 31.24), Point(121.47, 31.21)],
        crs=4326,
    )


def test_inventory_requires_a_source_for_each_dependency() -> None:
    validate_inventory(_inventory("assumed: nearest substation"))
    with pytest.raises(SchemaError, match=r"row 2 .*depends_on_source '' is blank"):
        validate_inventory(_inventory(""))


def test_cycles_equal_networkx_components_on_random_graphs() -> None:
    """scipy's strong components (what the check uses) against networkx's, 200 graphs."""
    import random

    import networkx as nx

    from assets.dependencies import _cycles

    rng = random.Random(3)
    for _ in range(200):
        ids = [f"a{i}" for i in range(rng.randint(1, 30))]
        needs = {a: [rng.choice([*ids, "ghost"]) for _ in range(rng.randint(0, 3))] for a in ids}
        graph = nx.DiGraph()
        graph.add_nodes_from(needs)
        graph.add_edges_from((s, a) for a, ss in needs.items() for s in ss if s in needs)
        expected = sorted(
            tuple(sorted(c))
            for c in nx.strongly_connected_components(graph)
            if len(c) > 1 or graph.has_edge(next(iter(c)), next(iter(c)))
        )
        assert _cycles(needs) == tuple(expected), needs


def test_the_supply_rule_covers_every_asset_type_once_for_all_its_users():
    from assets.catalogue import ASSET_TYPES
    from assets.dependencies import SUPPLY_NEEDS, supply_needs
    from resilience.feasibility import dependencies as feasibility

    assert set(SUPPLY_NEEDS) == set(ASSET_TYPES)  # no type falls to a default by omission
    assert feasibility.supply_needs is supply_needs  # a checked project: the same rule
    assert supply_needs("seawall") == ("substation",)  # its pumps and gates
    assert supply_needs("bridge") == supply_needs("substation") == ()
    assert supply_needs("hospital") == ("substation", "water_plant")
