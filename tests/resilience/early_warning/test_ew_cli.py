"""``resilience warn [verify|deliver]``, ``resilience serve`` and ``resilience keys add``."""

from __future__ import annotations

import warnings

import pytest
from typer.testing import CliRunner

from resilience.api.app import load_api_keys
from resilience.cli.main import app

runner = CliRunner(env={"COLUMNS": "200"})  # wide enough that rich does not fold the tables


@pytest.fixture(scope="module")
def issued(tmp_path_factory, sample_forecast_path):
    """``resilience warn`` on the sample forecast, with the settings of a fresh data dir."""
    root = tmp_path_factory.mktemp("cli")
    config = root / "resilience.toml"
    config.write_text(f'data_dir = "{root / "data"}"\nuse_prefect = false\n')
    args = ["warn", "--forecast", str(sample_forecast_path), "--out", str(root / "cap")]
    result = runner.invoke(app, [*args, "--config", str(config)])
    return root, config, args, result


def test_warn_prints_the_bulletin_sequence(issued):
    root, _, _, result = issued
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Warnings from" in text and "high_temperature" in text and "rainstorm" in text
    assert "131 new" not in text  # without --assets and layers the impact rules are skipped
    assert "rule metro_entrance_flooding skipped: needs an asset inventory" in text
    assert "give --assets FILE" in text and "give --layers DIR" in text
    assert len(list((root / "cap").glob("*.xml"))) > 100


def test_warn_again_issues_nothing_new(issued):
    root, config, args, _ = issued
    before = sorted(p.name for p in (root / "cap").glob("*.xml"))
    again = runner.invoke(app, [*args, "--config", str(config)])
    assert again.exit_code == 0, again.output
    assert " 0 new" in again.output
    assert sorted(p.name for p in (root / "cap").glob("*.xml")) == before


def test_warn_needs_forecast_and_out(issued, tmp_path):
    _, config, _, _ = issued
    bare = runner.invoke(app, ["warn", "--config", str(config)])
    assert bare.exit_code == 2 and "give --forecast FILE and --out DIR" in bare.output
    missing = runner.invoke(app, ["warn", "--forecast", str(tmp_path / "x.nc"), "--out", "o"])
    assert missing.exit_code == 2 and "x.nc: no such file" in missing.output
    bad_rules = tmp_path / "rules.yaml"
    bad_rules.write_text("rules: [", encoding="utf-8")
    result = runner.invoke(
        app, ["warn", "--forecast", str(bad_rules), "--out", "o", "--rules", str(bad_rules)]
    )
    assert result.exit_code == 2 and "rules.yaml: not valid YAML" in result.output


def test_warn_verify_scores_the_cap_files(issued, tmp_path):
    root, _, _, _ = issued
    observed = tmp_path / "observed.csv"
    observed.write_text(
        "hazard,area,level,start,end\n"
        "rainstorm,310115,orange,2026-07-20T20:00:00+08:00,2026-07-20T22:00:00+08:00\n"
        "rainstorm,310104,blue,2026-07-20T12:00:00+08:00,2026-07-20T13:00:00+08:00\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        app,
        ["warn", "verify", "--alerts", str(root / "cap"), "--observed", str(observed)],
    )
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip() + "/" + line.split("│")[2].strip(): line
            for line in result.output.splitlines() if line.count("│") > 10}  # fmt: skip
    # Pudong's orange event was warned (orange Update from 20:00), Xuhui's 12:00 blue was not
    orange = [c.strip() for c in rows["rainstorm/orange"].split("│")[1:-1]]
    assert orange[:7] == ["rainstorm", "orange", "1", "1", "0", "2", "1"]
    blue = [c.strip() for c in rows["rainstorm/blue"].split("│")[1:-1]]
    assert blue[2:5] == ["2", "1", "1"]  # two events, one hit, one miss
    late = runner.invoke(
        app,
        ["warn", "verify", "--alerts", str(root / "cap"), "--observed", str(observed),
         "--tolerance-h", "-1"],
    )  # fmt: skip
    assert late.exit_code == 2 and "tolerance_h" in late.output


def test_warn_deliver_once_drops_files_for_the_configured_agency(issued, tmp_path):
    root, config, _, _ = issued
    drop = tmp_path / "health"
    delivery = tmp_path / "delivery.yaml"
    delivery.write_text(f"agencies:\n  health:\n    file_drop: {drop}\n", encoding="utf-8")
    args = ["warn", "deliver", "--config", str(delivery), "--settings", str(config), "--once"]
    result = runner.invoke(app, [*args, "--replay-from", "2026-07-21T12:00:00+08:00"])
    assert result.exit_code == 0, result.output
    # the heat wave's Alerts and orange Updates to health, due by noon on the 21st
    files = sorted(drop.glob("*.xml"))
    assert files and all(b"<event>High Temperature</event>" in f.read_bytes() for f in files)
    assert f"delivered {len(files)}" in result.output
    assert "note: water_authority takes webhook but has no target here" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("agencies:\n  health:\n    webhook: {url: 'https://h.example'}\n")
    refused = runner.invoke(app, ["warn", "deliver", "--config", str(bad), "--once"])
    assert refused.exit_code == 2 and "agency 'health' does not take 'webhook'" in refused.output


def test_keys_add_stores_only_the_hash(issued, tmp_path):
    _, config, _, _ = issued
    keys = tmp_path / "keys.toml"
    result = runner.invoke(app, ["keys", "add", "transport", "--keys", str(keys), "--label", "ops"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key not in keys.read_text() and list(load_api_keys(keys).values()) == ["transport"]
    unknown = runner.invoke(app, ["keys", "add", "police", "--keys", str(keys)])
    assert unknown.exit_code == 2 and "unknown agency 'police'" in unknown.output


def test_serve_runs_uvicorn_on_the_api(issued, monkeypatch, tmp_path):
    """``serve`` hands the real app to uvicorn; the app answers with the issued alerts."""
    import uvicorn

    _, config, _, _ = issued
    keys = tmp_path / "keys.toml"
    key = runner.invoke(app, ["keys", "add", "health", "--keys", str(keys)]).output.split()[-1]
    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    result = runner.invoke(
        app,
        ["serve", "--host", "127.0.0.1", "--port", "8765", "--keys", str(keys), "--config",
         str(config)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (served["host"], served["port"]) == ("127.0.0.1", 8765)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    with TestClient(served["app"]) as client:
        listed = client.get(
            "/v1/alerts",
            params={"at": "2026-07-21T12:00:00+08:00", "hazard": "high_temperature"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert listed.status_code == 200 and len(listed.json()) == 16  # every district is hot


def test_warn_with_inventory_and_layer_store_runs_every_rule(
    sample_forecast_path, inventory, idf_layer, tmp_path
):
    from resilience.geodata.inventory_io import write_inventory
    from resilience.storage.layer_store import LayerStore

    assets = write_inventory(inventory, tmp_path / "assets.gpkg")
    LayerStore(tmp_path / "layers").publish("idf", idf_layer)
    config = tmp_path / "resilience.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    args = ["warn", "--forecast", str(sample_forecast_path), "--out", str(tmp_path / "cap")]
    args += ["--assets", str(assets), "--layers", str(tmp_path / "layers")]
    result = runner.invoke(app, [*args, "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "substation_heat" in result.output and "local_extreme_rain" in result.output
    assert "skipped" not in result.output
    assert "55 episodes; 131 new" in result.output  # the documented scenario
