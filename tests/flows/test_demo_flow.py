"""End to end: `resilience demo` under Prefect on the bundled sample, then the other commands
on what it produced. One demo run (about a minute) serves every test in this module."""

import csv
import json

import pytest
from typer.testing import CliRunner

from resilience.cli.main import app

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def demo_out(demo_run):
    return demo_run  # tests/flows/conftest.py: one demo run per session


@pytest.fixture(scope="module")
def config(demo_out):
    out, _ = demo_out
    path = out / "resilience.toml"
    path.write_text(f'data_dir = "{out / "data"}"\nuse_prefect = false\n')
    return path


def test_demo_prints_summary_and_every_output_path(demo_out):
    out, output = demo_out
    for needle in ("Hazards", "Feasibility check", "CAP 1.2 messages", "risk table (GeoPackage)"):
        assert needle in output
    for name in ("heat", "rain", "surge"):
        assert (out / "data" / "layers" / name / "current").is_file()
    assert (out / "risk" / "risk_table.gpkg").is_file()
    assert list((out / "reports").glob("*.html"))
    assert list((out / "cap").glob("*.xml"))


def test_demo_layers_validate_and_show_warming(demo_out):
    from resilience.storage.layer_store import LayerStore

    out, _ = demo_out
    store = LayerStore(out / "data" / "layers")
    heat = store.open("heat")
    median = heat["txx"].sel(quantile=0.5, return_period=20).mean(["lat", "lon"])
    assert (
        float(median.sel(scenario="ssp585", horizon="far"))
        > float(median.sel(scenario="ssp585", horizon="baseline")) + 2.0
    )  # AR6-like ~4 degC far-future warming under ssp585 is built into the sample
    surge = store.open("surge")
    assert "huangpu_park" in surge["station"].values
    # The IDF layer carries the future uplift; under ssp585 the far horizon is wetter.
    idf = store.open("idf")
    uplift = idf["idf_uplift"].sel(scenario="ssp585", quantile=0.5, return_period=5)
    assert float(uplift.sel(horizon="baseline").max()) == 1.0
    assert float(uplift.sel(horizon="far").mean()) > 1.05
    # Behind a seawall at today's 200-yr level nothing floods today at 100 yr, but the
    # far-future 1000-yr ssp585 level overtops it.
    coastal = store.open("coastal_flood")
    flood = coastal["flooded_area"].sel(quantile=0.5, scenario="ssp585")
    assert float(flood.sel(horizon="baseline", return_period=100)) == 0.0
    assert float(flood.sel(horizon="far", return_period=1000)) > 1000.0
    # The layer spreads the volume over the wall (issue 17): never more than the bathtub, and
    # less where a level barely tops the crest (docs/surge.md: 3,924 vs 13,158 km2).
    assert coastal.attrs["flood_method"] == "overtopping"
    bathtub = coastal["bathtub_area"].sel(quantile=0.5, scenario="ssp585")
    assert bool((coastal["flooded_area"] <= coastal["bathtub_area"] + 1e-9).all())
    far_100 = {"horizon": "far", "return_period": 100}
    assert float(flood.sel(far_100)) < 0.5 * float(bathtub.sel(far_100))


def test_demo_risk_table_covers_assets_hazards_scenarios(demo_out):
    out, _ = demo_out
    with (out / "risk" / "risk_table.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    hazards = {r["hazard"] for r in rows}
    scenarios = {r["scenario"] for r in rows}
    assert hazards == {"heat", "rain", "surge"}
    assert {"ssp126", "ssp245", "ssp585"} <= scenarios
    assert len({r["asset_id"] for r in rows}) > 100
    probabilities = [
        float(r["design_life_exceedance_probability"])
        for r in rows
        if r["design_life_exceedance_probability"]
    ]
    assert all(0.0 <= p <= 1.0 for p in probabilities)


def test_demo_cap_messages_are_valid(demo_out):
    from resilience.early_warning.cap import validate_cap

    out, _ = demo_out
    files = sorted((out / "cap").glob("*.xml"))
    for path in files:
        validate_cap(path.read_bytes())
    assert any(
        b"<msgType>Update</msgType>" in p.read_bytes()
        or b"<msgType>Cancel</msgType>" in p.read_bytes()
        for p in files
    )


def test_check_command_on_demo_layers(demo_out, config, tmp_path):
    out, _ = demo_out
    submission = out / "sample" / "submissions" / "bund_metro_station.json"
    result = runner.invoke(app, ["check", str(submission), "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    # stdout is the JSON alone (the demo checked this file before: the re-submission note
    # goes to stderr, so `resilience check --json | jq` keeps working)
    payload = json.loads(result.stdout)
    assert "re-submission" in result.stderr
    # the same answer as the demo's own check of this file (README: not_feasible, 25/25)
    (stored,) = (out / "reports").glob("check_*.json")
    demo = json.loads(stored.read_text())
    assert payload["verdict"] == demo["verdict"] == "not_feasible"
    assert payload["overall_score"] == demo["overall_score"] == 25
    assert payload["result_hash"] == demo["result_hash"]
    assert payload["governing_hazard"] == demo["governing_hazard"]
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "project_name": "x",
                "asset_type": "spaceport",
                "lon": 121.5,
                "lat": 31.2,
                "design_life_years": 50,
                "start_year": 2030,
            }
        )
    )
    result = runner.invoke(app, ["check", str(bad), "--config", str(config)])
    assert result.exit_code == 2 and "asset_type" in result.output


def test_layers_command_lists_versions(demo_out, config):
    result = runner.invoke(app, ["layers", "--config", str(config)])
    assert result.exit_code == 0
    for name in ("heat", "rain", "surge"):
        assert name in result.output


def test_warn_rerun_on_same_forecast_issues_nothing_new(demo_out, config, tmp_path):
    out, _ = demo_out
    before = sorted(p.name for p in (out / "cap").glob("*.xml"))
    result = runner.invoke(
        app,
        [
            "warn",
            "--forecast",
            str(out / "sample" / "forecast" / "forecast_72h.nc"),
            "--out",
            str(out / "cap"),
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "cap").glob("*.xml")) == before


def test_sample_command_is_deterministic(demo_out, tmp_path):
    """`resilience sample` writes byte-identical files to the demo's own sample run."""
    import hashlib

    out, _ = demo_out
    result = runner.invoke(app, ["sample", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output

    def digests(root):
        # GeoPackage files carry SQLite/GDAL timestamps; their content is checked via the CSV.
        return {
            p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix != ".gpkg" and p.name != "SAMPLE.json"
        }

    ours, demo = digests(tmp_path), digests(out / "sample")
    assert len(ours) > 1200  # 1,200 projection files plus assets, tides, forecast, submission
    assert ours == demo


def test_refresh_without_prefect_reuses_the_unchanged_versions(demo_out, config, tmp_path):
    """`use_prefect = false` runs the same steps as plain calls; with the demo's inputs and
    code unchanged, every layer step reuses the demo's v0001 instead of publishing an equal
    v0002 (docs/operations.md, "Reruns and caching"), and the risk table is the demo's."""
    from resilience.storage.layer_store import LayerStore

    out, _ = demo_out
    result = runner.invoke(
        app,
        [
            "refresh",
            "--sample",
            str(out / "sample"),
            "--out",
            str(tmp_path),
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    # a plain refresh says what it is doing, step by step (issue 19), and what it reused
    for label in ("pull-projections", "build-heat-layer", "assess-risk"):
        assert f"{label} ..." in result.output and f"{label} done in " in result.output
    assert "build-heat-layer done in" in result.output and "(reused)" in result.output
    store = LayerStore(out / "data" / "layers")
    for name in ("heat", "rain", "idf", "surge", "coastal_flood"):
        assert store.versions(name) == ["v0001"], name
        assert store.current(name).version == "v0001"
        assert store.current(name).manifest["step_sha256"]  # the key that was matched
    table = (tmp_path / "risk" / "risk_table.csv").read_bytes()
    assert table == (out / "risk" / "risk_table.csv").read_bytes()
    bad = runner.invoke(app, ["refresh", "--sample", str(tmp_path), "--config", str(config)])
    assert bad.exit_code == 2 and "expected a city profile" in bad.output


def test_every_output_of_the_sample_says_it_came_from_synthetic_inputs(demo_out):
    """Issue 12 part 5: layers, risk table, check result and CAP messages carry provenance."""
    from resilience.storage.layer_store import LayerStore

    out, _ = demo_out
    store = LayerStore(out / "data" / "layers")
    for name in ("heat", "rain", "idf", "surge", "coastal_flood"):
        assert store.open(name).attrs["synthetic"] == "yes", name
        assert store.current(name).manifest["synthetic"] == "yes", name
    provenance = json.loads((out / "risk" / "risk_table.provenance.json").read_text())
    assert provenance["synthetic"] == "yes"
    assert set(provenance["layers"]) == {"heat", "rain", "surge"}
    assert len(provenance["inventory"]["sha256"]) == 64
    with (out / "risk" / "risk_table.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {row["synthetic_input"] for row in rows} == {"yes"}
    check = json.loads(next((out / "reports").glob("*.json")).read_text())
    assert check["synthetic_data"] is True
    assert {i["synthetic"] for i in check["layer_inputs"].values()} == {"yes"}
    assert "Synthetic data." in next((out / "reports").glob("*.html")).read_text()
    xml = next((out / "cap").glob("*.xml")).read_text()
    assert "<valueName>inputsSha256</valueName>" in xml


def test_readme_commands_print_what_the_readme_shows(demo_pristine, tmp_path, monkeypatch):
    """Every runnable README block (``<!-- runnable -->``), run on a copy of the demo's
    output as ``make demo`` leaves it: each command exits 0 and each line the README shows
    is in what it prints (rules: tests/flows/readme_commands.py)."""
    import importlib.util
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    repo = here.parents[1]
    loaded = {}
    for name in ("readme_commands", "conftest"):
        spec = importlib.util.spec_from_file_location(f"_flows_{name}", here / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        loaded[name] = module
    readme = loaded["readme_commands"]
    work = tmp_path / "work"
    work.mkdir()
    loaded["conftest"].link_copy(demo_pristine, work / "demo-output")
    for name in ("tests", "resilience"):  # paths the README names from the repository root
        (work / name).symlink_to(repo / name)
    monkeypatch.chdir(work)
    env = {"RESILIENCE_DATA_DIR": "demo-output/data", "RESILIENCE_USE_PREFECT": "false"}
    commands = readme.runnable_commands(repo / "README.md")
    assert len(commands) >= 14
    assert {c.argv[1] for c in commands} >= {"check", "fit", "refresh", "layers", "pull", "warn"}
    problems = []
    for command in commands:
        assert command.argv[0] == "resilience", command.argv
        result = runner.invoke(app, command.argv[1:], env={**env, "COLUMNS": "250"})
        where = f"README line {command.line} ({' '.join(command.argv[:2])})"
        if result.exit_code != 0:
            problems.append(f"{where}: exit {result.exit_code}: {result.output[-500:]}")
            continue
        missing = readme.unmatched(command.shown, result.output, work)
        problems += [f"{where}: {line}" for line in missing]
        if missing:  # what it did print, to fix the README (or the code) by
            problems.append(f"{where} printed:\n{result.output[-3000:]}")
    assert problems == [], "\n".join(problems)


def test_check_tables_read_at_80_columns(demo_out, config):
    """Issue 19: at 80 columns the check prints one table per hazard, none wider, nothing cut."""
    out, _ = demo_out
    submission = out / "sample" / "submissions" / "bund_metro_station.json"
    result = runner.invoke(
        app, ["check", str(submission), "--config", str(config)], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    table_lines = [line for line in result.output.splitlines() if line[:1] in "┏┃┡│└"]
    assert len(table_lines) > 36  # 3 hazards x 12 rows, with headers and rules
    assert max(len(line) for line in table_lines) <= 80
    assert not any("…" in line for line in table_lines)
    for hazard in ("heat", "rain", "surge"):
        assert any(line.strip().startswith(f"{hazard}: ") for line in result.output.splitlines())
