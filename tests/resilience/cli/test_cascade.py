"""``resilience cascade`` on a small published risk table: tables, figure and errors."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely import Point
from typer.testing import CliRunner

from resilience.cli.main import app
from resilience.geodata.inventory_io import write_inventory
from resilience.storage.risk_io import write_risk_table

runner = CliRunner()
#: sub-a feeds two stations (one stretch: they name each other) and a hospital; sub-b feeds
#: the water plant the hospital also needs.
_ASSETS = [
    ("sub-a", "substation", []),
    ("sub-b", "substation", []),
    ("stn-1", "metro_station", ["sub-a", "stn-2"]),
    ("stn-2", "metro_station", ["sub-a", "stn-1"]),
    ("water-1", "water_plant", ["sub-b"]),
    ("hosp-1", "hospital", ["sub-a", "water-1"]),
]
#: Annual exceedance probability of each asset in (ssp126 far, ssp585 far).
_P = {
    "sub-a": (0.1, 0.5),
    "sub-b": (0.02, 0.2),
    "stn-1": (0.2, 0.1),
    "stn-2": (0.0, 0.3),
    "water-1": (0.05, 0.1),
    "hosp-1": (0.01, 0.0),
}


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """Write an inventory, its risk table and provenance the way the refresh publishes them."""
    inventory = gpd.GeoDataFrame(
        {
            "asset_id": [a[0] for a in _ASSETS],
            "name": [a[0].title() for a in _ASSETS],
            "asset_type": [a[1] for a in _ASSETS],
            "owner_agency": "x",
            "criticality": 4,
            "ground_elevation_m": 4.0,
            "protection_level_m": 5.86,
            "design_life_years": 50,
            "replacement_value": 1e9,
            "depends_on": [a[2] for a in _ASSETS],
        },
        geometry=[Point(121.4 + 0.01 * k, 31.2 + 0.005 * k) for k in range(len(_ASSETS))],
        crs=4326,
    )
    path = write_inventory(inventory, tmp_path / "assets.gpkg")
    rows = [
        {
            "asset_id": asset,
            "asset_type": dict((a[0], a[1]) for a in _ASSETS)[asset],
            "hazard": "surge",
            "scenario": scenario,
            "horizon": "far",
            "annual_exceedance_probability": p[k],
            "design_life_exceedance_probability": 1 - (1 - p[k]) ** 50,
        }
        for asset, p in _P.items()
        for k, scenario in enumerate(("ssp126", "ssp585"))
    ]
    risk = tmp_path / "risk"
    provenance = {"inventory": {"path": str(path)}}
    write_risk_table(pd.DataFrame(rows), inventory, risk, provenance=provenance)
    return risk


def _row(output: str, first: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if line.split()[:1] == [first])


def test_cascade_prints_critical_nodes_and_service_at_risk(published: Path) -> None:
    figure = published.parent / "network.png"
    result = runner.invoke(app, ["cascade", "--risk-dir", str(published), "--figure", str(figure)])
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 80 for line in result.output.splitlines())
    assert "6 assets, 7 dependencies, 1 cycles (each fails as one), 0 of unknown supply" in (
        result.output
    )
    # critical nodes in ssp585 far (the default climate): sub-a feeds 3, p 0.5
    sub_a = ["sub-a", "substation", "3", "2", "1", "0", "0.500", "1.5"]
    assert _row(result.output, "sub-a") == sub_a
    assert _row(result.output, "sub-b")[2:] == ["2", "0", "1", "1", "0.200", "0.4"]
    # service at risk, by hand (ssp585 far): stations direct 0.1 + 0.3 = 0.4; dependent
    # 0.5 + 0.5 = 1.0 (sub-a drives both); independent 2 x (1 - 0.5 x 0.9 x 0.7) = 1.37
    # hospital: direct 0, dependent max(0, 0.5, 0.1, 0.2) = 0.5, independent
    # 1 - 0.5 x 0.9 x 0.8 = 0.64; water: 0.1, 0.2, 1 - 0.9 x 0.8 = 0.28
    expected = ["0.4", "1.0-1.4", "0.0", "0.5-0.6", "0.1", "0.2-0.3"]
    assert _row(result.output, "ssp585")[2:] == expected
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_independent_rule_is_named_in_the_header(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app,
        ["cascade", "--risk-dir", str(published), "--rule", "independent", "--no-figure"],
    )
    assert result.exit_code == 0, result.output
    assert "Rule: independent; bounds dependent-independent; basis annual" in result.output
    assert not list(tmp_path.glob("*.png"))  # --no-figure: not even the default cascade.png


def test_missing_table_and_bad_options_fail_clearly(tmp_path: Path, published: Path) -> None:
    result = runner.invoke(app, ["cascade", "--risk-dir", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "no published risk table" in result.output
    result = runner.invoke(app, ["cascade", "--risk-dir", str(published), "--horizon", "mid"])
    assert result.exit_code == 2
    assert "--horizon 'mid' is not in the risk table" in result.output
    result = runner.invoke(app, ["cascade", "--risk-dir", str(published), "--rule", "max"])
    assert result.exit_code == 2


def test_unknown_supply_is_noted(published: Path) -> None:
    from resilience.geodata.inventory_io import read_inventory

    path = published.parent / "assets.gpkg"
    inventory = read_inventory(path)
    inventory.at[5, "depends_on"] = ["sub-a"]  # the hospital loses its water plant
    write_inventory(inventory, path)
    result = runner.invoke(app, ["cascade", "--risk-dir", str(published), "--no-figure"])
    assert result.exit_code == 0, result.output
    assert "6 dependencies, 1 cycles (each fails as one), 1 of unknown supply" in result.output
    assert "note: hosp-1: supply unknown (no water_plant in depends_on)" in result.output
    # without the water plant the hospital follows sub-a alone: 0.5 both ways in ssp585
    assert _row(result.output, "ssp585")[4:6] == ["0.0", "0.5-0.5"]
