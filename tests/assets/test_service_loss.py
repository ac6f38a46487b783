"""Service-loss columns of a hand-made RiskTable, and the expected service at risk."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from assets.service_loss import SERVICE_LOSS_COLUMNS, add_service_loss, service_at_risk
from hazard_models.layer import SchemaError


def _table() -> pd.DataFrame:
    """Two climates of one hazard for sub -> stn-1 -> stn-2 and sub -> hosp."""
    p = {"sub": (0.1, 0.4), "stn-1": (0.2, 0.1), "stn-2": (0.05, 0.3), "hosp": (0.0, 0.0)}
    types = {"sub": "substation", "stn-1": "metro_station", "stn-2": "metro_station"}
    rows = [
        {
            "asset_id": asset,
            "asset_type": types.get(asset, "hospital"),
            "hazard": "surge",
            "scenario": scenario,
            "horizon": "far",
            "annual_exceedance_probability": values[k],
            "design_life_exceedance_probability": 1 - (1 - values[k]) ** 50,
            "score": 7,
        }
        for asset, values in p.items()
        for k, scenario in enumerate(("ssp126", "ssp585"))
    ]
    return pd.DataFrame(rows)


def _graph() -> nx.DiGraph:
    return nx.DiGraph([("sub", "stn-1"), ("stn-1", "stn-2"), ("sub", "hosp")])


def test_service_loss_columns_are_added_without_touching_the_table() -> None:
    table = _table()
    out = add_service_loss(table, _graph())
    pd.testing.assert_frame_equal(out[table.columns], table)
    assert list(out.columns) == [*table.columns, *SERVICE_LOSS_COLUMNS]
    one = out.set_index(["asset_id", "scenario"])
    # by hand, ssp126: stn-2 = max(0.1, 0.2, 0.05) = 0.2, driven by stn-1
    assert one.loc[("stn-2", "ssp126"), "service_loss_probability"] == pytest.approx(0.2)
    assert one.loc[("stn-2", "ssp126"), "upstream_driver"] == "stn-1"
    assert one.loc[("stn-2", "ssp126"), "service_loss_probability_upper"] == pytest.approx(
        1 - 0.9 * 0.8 * 0.95
    )
    # ssp585: stn-2's own 0.3 < the substation's 0.4
    assert one.loc[("stn-2", "ssp585"), "upstream_driver"] == "sub"
    assert one.loc[("sub", "ssp585"), "upstream_driver"] == ""
    assert one.loc[("hosp", "ssp585"), "service_loss_probability"] == pytest.approx(0.4)
    assert out.attrs["service_loss"] == {
        "rule": "dependent",
        "basis": "annual",
        "upper_exact": True,
    }


def test_independent_rule_and_design_life_basis() -> None:
    out = add_service_loss(_table(), _graph(), rule="independent", basis="design_life")
    np.testing.assert_array_equal(
        out["service_loss_probability"], out["service_loss_probability_upper"]
    )
    hosp = out[(out["asset_id"] == "hosp") & (out["scenario"] == "ssp126")].iloc[0]
    assert hosp["service_loss_probability"] == pytest.approx(1 - 0.9**50)


def test_table_assets_must_be_in_the_graph() -> None:
    with pytest.raises(SchemaError, match=r"\['hosp'\] are not in the dependency graph"):
        add_service_loss(_table(), nx.DiGraph([("sub", "stn-1"), ("stn-1", "stn-2")]))
    with pytest.raises(SchemaError, match="expected columns"):
        add_service_loss(_table().drop(columns="horizon"), _graph())


def test_service_at_risk_sums_the_probabilities() -> None:
    summary = service_at_risk(add_service_loss(_table(), _graph()))
    stations = summary[(summary["asset_type"] == "metro_station")].set_index("scenario")
    assert stations.loc["ssp126", "assets"] == 2
    assert stations.loc["ssp126", "direct"] == pytest.approx(0.25)
    assert stations.loc["ssp126", "lower"] == pytest.approx(0.2 + 0.2)
    upper = (1 - 0.9 * 0.8) + (1 - 0.9 * 0.8 * 0.95)
    assert stations.loc["ssp126", "upper"] == pytest.approx(upper)
    assert stations.loc["ssp126", "unknown"] == 0


def test_unknown_probabilities_are_counted_not_summed_as_zero() -> None:
    """A substation outside the layer (NaN) makes its dependants' service loss unknown: the
    summary counts them as unknown instead of quietly adding nothing."""
    table = _table()
    table.loc[table["asset_id"] == "sub", "annual_exceedance_probability"] = np.nan
    summary = service_at_risk(add_service_loss(table, _graph()))
    stations = summary[(summary["asset_type"] == "metro_station")].set_index("scenario")
    assert stations.loc["ssp126", "unknown"] == 2  # both stations hang off the substation
    assert stations.loc["ssp126", "lower"] == 0.0  # the sum over known assets: none
    assert stations.loc["ssp126", "direct"] == pytest.approx(0.25)  # own hazards are known


def test_the_command_marks_sums_that_leave_unknown_assets_out() -> None:
    from rich.console import Console

    from resilience.cli.cascade import format_service_at_risk

    table = _table()
    table.loc[table["asset_id"] == "sub", "annual_exceedance_probability"] = np.nan
    console = Console(width=80, record=True)
    console.print(
        format_service_at_risk(service_at_risk(add_service_loss(table, _graph())), "surge")
    )
    text = " ".join(console.export_text().split())
    assert "0.0-0.0*" in text and "up to 2 assets of unknown probability" in text
    known = Console(width=80, record=True)
    known.print(
        format_service_at_risk(service_at_risk(add_service_loss(_table(), _graph())), "surge")
    )
    assert "*" not in known.export_text()
