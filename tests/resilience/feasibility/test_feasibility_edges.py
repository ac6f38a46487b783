"""Clear edges of a feasibility check (issue 14, item 3): outside a layer, past the horizons,
tiny probabilities."""

import json

import pytest
from typer.testing import CliRunner

from resilience.cli.main import app
from resilience.feasibility.check import FeasibilityError, run_check
from resilience.feasibility.report import _pct, format_table, render_html
from resilience.storage.layer_store import LayerStore

# Inside the accepted Shanghai box and the test grids, but about 80 km from both tide stations.
EAST_CORNER = {"lon": 122.05, "lat": 30.65}


def test_site_outside_the_surge_layer_names_the_layer_and_its_extent(hot_layers, submission):
    site = submission.model_copy(update=EAST_CORNER)
    with pytest.raises(FeasibilityError) as caught:
        run_check(site, hot_layers)
    message = str(caught.value)
    assert "site (122.050 E, 30.650 N) is outside the surge layer" in message
    assert "within 50 km of a station: wusong (121.500 E, 31.390 N)" in message
    assert "huangpu (121.490 E, 31.240 N)" in message


def test_site_outside_a_grid_gives_the_grid_extent(hot_layers, submission):
    hot_layers["heat"] = hot_layers["heat"].isel(lat=slice(0, 2), lon=slice(0, 2))
    with pytest.raises(
        FeasibilityError,
        match=r"outside the heat layer: expected a site "
        r"within one grid spacing \(0.25 x 0.25 deg\) of the grid, cell centres "
        r"120.875-121.125 E, 30.625-30.875 N",
    ):
        run_check(submission, hot_layers)


def _publish(layers, root):
    store = LayerStore(root)
    for name, layer in layers.items():
        store.publish(name, layer)
    return store


def test_cli_check_outside_a_layer_exits_2_with_the_message(
    hot_layers, submission, tmp_path, monkeypatch
):
    _publish(hot_layers, tmp_path / "data" / "layers")
    monkeypatch.setenv("RESILIENCE_DATA_DIR", str(tmp_path / "data"))
    file = tmp_path / "site.json"
    payload = submission.model_dump(mode="json") | EAST_CORNER
    file.write_text(json.dumps(payload), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(file)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert "outside the surge layer: expected a site within 50 km of a station" in text


def test_design_life_past_the_last_horizon_is_flagged(hot_layers, submission):
    late = submission.model_copy(update={"start_year": 2090, "design_life_years": 120})
    result = run_check(late, hot_layers)
    assert result.extrapolation == (
        "design life 2090-2209 runs 109 years past the last horizon (far, 2081-2100): "
        "probabilities after 2100 held at the far horizon's (no projection beyond it)"
    )
    assert "<strong>Extrapolated.</strong>" in render_html(result)
    assert "probabilities after 2100 held at the far horizon&#39;s" in render_html(result)
    assert "probabilities after 2100" in str(format_table(result).caption)


def test_design_life_within_the_horizons_is_not_flagged(hot_layers, submission):
    result = run_check(submission, hot_layers)  # 2025 + the catalogue's life, within 2100
    assert result.extrapolation is None
    assert "Extrapolated" not in render_html(result)
    assert format_table(result).caption is None


def test_cli_check_prints_the_extrapolation(hot_layers, submission, tmp_path, monkeypatch):
    _publish(hot_layers, tmp_path / "data" / "layers")
    monkeypatch.setenv("RESILIENCE_DATA_DIR", str(tmp_path / "data"))
    file = tmp_path / "late.json"
    payload = submission.model_dump(mode="json") | {"start_year": 2090, "design_life_years": 120}
    file.write_text(json.dumps(payload), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(file)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # the caption wraps with the terminal width
    assert "extrapolated: design life 2090-2209 runs 109 years past the last horizon" in text
    assert "probabilities after 2100 held at the far horizon's" in text


@pytest.mark.parametrize(
    ("probability", "shown"),
    [
        (0.0, "0 %"),
        (3.07e-7, "<0.01 %"),  # printed "3.07e-05 %" before
        (9.99e-5, "<0.01 %"),
        (1e-4, "0.01 %"),
        (5.28e-3, "0.528 %"),
        (0.977, "97.7 %"),
        (1.0, "100.00 %"),
        (None, "n/a"),
    ],
)
def test_probabilities_print_without_exponents(probability, shown):
    assert _pct(probability) == shown


def test_no_row_of_a_check_prints_an_exponent(layer_factory, submission):
    cool = layer_factory(heat_loc=30.0, surge_loc=3.0)  # p of a 40 degC day ~ 1e-5
    result = run_check(submission, cool)
    cells = [c for column in format_table(result).columns for c in column._cells]
    assert not [c for c in cells if "e-" in c], cells
    assert any(c == "<0.01 %" for c in cells)
