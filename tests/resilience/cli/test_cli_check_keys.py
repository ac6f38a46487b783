"""``resilience keys add|list|revoke|import`` and ``resilience check`` (issue 14)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from resilience.api.keys import find_api_key, list_api_keys
from resilience.api.legacy_keys import hash_api_key, issue_api_key
from resilience.cli.main import app
from resilience.feasibility.store import load_stored_check
from resilience.storage.database import make_engine
from resilience.storage.layer_store import LayerStore

runner = CliRunner(env={"COLUMNS": "200"})
TESTS = Path(__file__).resolve().parents[2]


def _make_layers():  # noqa: ANN202 - dict of Datasets
    path = TESTS / "resilience/feasibility/conftest.py"
    spec = importlib.util.spec_from_file_location("_feasibility_factories_cli", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_layers()


@pytest.fixture
def config(tmp_path) -> Path:
    """Settings of a fresh data directory (SQLite database inside it)."""
    path = tmp_path / "resilience.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\nuse_prefect = false\n')
    return path


def _engine(tmp_path: Path):  # noqa: ANN202 - Engine
    return make_engine(f"sqlite:///{(tmp_path / 'data' / 'resilience.db').resolve()}")


def test_keys_add_prints_the_key_alone_on_the_last_line(tmp_path, config):
    added = runner.invoke(app, ["keys", "add", "alice", "--role", "engineer", "--config", config])
    assert added.exit_code == 0, added.output
    key = added.output.strip().splitlines()[-1]
    assert len(key) >= 43 and " " not in key
    stored = find_api_key(_engine(tmp_path), hash_api_key(key))
    assert stored is not None and (stored.name, stored.role, stored.agency) == (
        "alice",
        "engineer",
        None,
    )
    agency = runner.invoke(
        app,
        ["keys", "add", "metro", "--role", "agency", "--agency", "transport", "--config", config],
    )
    assert agency.exit_code == 0, agency.output
    odd = runner.invoke(
        app, ["keys", "add", "[bold]x[/bold]", "--role", "reviewer", "--config", config]
    )
    assert odd.exit_code == 0, odd.output
    listed = runner.invoke(app, ["keys", "list", "--config", config])
    assert listed.exit_code == 0 and "alice" in listed.output and "transport" in listed.output
    assert key not in listed.output and "[bold]x[/bold]" in listed.output  # text, not markup


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "agency"], "agency: expected an agency id for a key of role agency"),
        (["--role", "engineer", "--agency", "transport"], "agency: expected none for a key"),
        (["--role", "boss"], "role: expected one of engineer, reviewer, agency"),
        (["--role", "agency", "--agency", "police"], "unknown agency 'police'"),
    ],
)
def test_keys_add_refuses_bad_roles_and_stores_nothing(tmp_path, config, args, message):
    result = runner.invoke(app, ["keys", "add", "x", *args, "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert list_api_keys(_engine(tmp_path)) == []


def test_keys_revoke_by_name_or_id_and_names_are_unique(tmp_path, config):
    for name in ("alice", "rita"):
        runner.invoke(app, ["keys", "add", name, "--role", "reviewer", "--config", str(config)])
    taken = runner.invoke(app, ["keys", "add", "alice", "--role", "engineer", "--config", config])
    assert taken.exit_code == 2 and "name: expected a new key name" in taken.output
    assert runner.invoke(app, ["keys", "revoke", "alice", "--config", config]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", "2", "--config", config]).exit_code == 0
    assert all(k.revoked is not None for k in list_api_keys(_engine(tmp_path)))
    missing = runner.invoke(app, ["keys", "revoke", "nobody", "--config", config])
    assert missing.exit_code == 2 and "no API key named or numbered 'nobody'" in missing.output


def test_keys_add_without_role_writes_the_legacy_file_as_before(tmp_path, config):
    result = runner.invoke(app, ["keys", "add", "transport", "--config", config])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    legacy = tmp_path / "data" / "api_keys.toml"
    assert hash_api_key(key) in legacy.read_text() and key not in legacy.read_text()
    assert list_api_keys(_engine(tmp_path)) == []
    mixed = runner.invoke(app, ["keys", "add", "x", "--keys", legacy, "--role", "engineer"])
    assert mixed.exit_code == 2 and "agency keys only" in mixed.output


def test_keys_import_copies_the_legacy_file_once(tmp_path, config):
    legacy = tmp_path / "data" / "api_keys.toml"
    keys = [issue_api_key(legacy, agency) for agency in ("transport", "health")]
    first = runner.invoke(app, ["keys", "import", "--config", config])
    assert first.exit_code == 0 and "2 key(s) imported" in first.output, first.output
    again = runner.invoke(app, ["keys", "import", "--config", config])
    assert again.exit_code == 0 and "0 key(s) imported" in again.output
    stored = list_api_keys(_engine(tmp_path))
    assert sorted((k.role, k.agency) for k in stored) == [
        ("agency", "health"),
        ("agency", "transport"),
    ]
    found = find_api_key(_engine(tmp_path), hash_api_key(keys[0]))
    assert found is not None and found.name == f"legacy transport {hash_api_key(keys[0])[:12]}"


def _publish(tmp_path: Path) -> None:
    store = LayerStore(tmp_path / "data" / "layers")
    for name, layer in _make_layers().items():
        store.publish(name, layer)


def _submission(tmp_path: Path, **changes: object) -> Path:
    body = {"project_name": "Pudong substation", "asset_type": "substation", "lon": 121.45,
            "lat": 31.30, "ground_elevation_m": 4.2, "protection_level_m": 6.0}  # fmt: skip
    body.update(changes)
    path = tmp_path / "submission.json"
    path.write_text(json.dumps(body))
    return path


def test_check_stores_without_owner_and_writes_the_report_in_chinese(tmp_path, config):
    _publish(tmp_path)
    reports = tmp_path / "reports"
    result = runner.invoke(
        app,
        ["check", str(_submission(tmp_path)), "--report", str(reports), "--lang", "zh",
         "--config", str(config)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output + repr(result.exception)
    check_id = int(result.output.split("stored as check #")[1].split()[0])
    stored, owner = load_stored_check(_engine(tmp_path), check_id)
    assert owner is None and stored.result.result_hash
    (html,) = reports.glob("check_*.html")
    assert 'lang="zh' in html.read_text(encoding="utf-8")
    (saved,) = reports.glob("check_*.json")
    assert json.loads(saved.read_text())["result_hash"] == stored.result.result_hash


def test_check_outside_the_layers_exits_2_with_the_message(tmp_path, config):
    _publish(tmp_path)
    outside = _submission(tmp_path, lon=122.05, lat=30.65)
    result = runner.invoke(app, ["check", str(outside), "--config", str(config)])
    assert result.exit_code == 2, result.output + repr(result.exception)
    assert "outside the surge layer" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_cli_api_and_flow_give_the_same_result_hash(tmp_path, config, monkeypatch):
    from flows.steps import check_feasibility

    _publish(tmp_path)
    submission = _submission(tmp_path)
    cli = runner.invoke(app, ["check", str(submission), "--json", "--config", str(config)])
    assert cli.exit_code == 0, cli.output
    from_cli = json.loads(cli.output[cli.output.index("{") :])
    url = f"sqlite:///{(tmp_path / 'data' / 'resilience.db').resolve()}"
    outputs = check_feasibility(submission, tmp_path / "data" / "layers", tmp_path / "f", url, 0.10)
    from_flow = load_stored_check(_engine(tmp_path), outputs.check_id)[0].result
    assert from_flow.result_hash == from_cli["result_hash"]


def test_serve_with_workers_hands_uvicorn_a_factory_that_builds_the_app(
    tmp_path, config, monkeypatch
):
    import uvicorn

    from resilience.api.app import SERVE_ENVIRONMENT, app_from_environment

    for name in SERVE_ENVIRONMENT.values():  # recorded, so serve's values are undone after
        monkeypatch.setenv(name, "")
    served: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    result = runner.invoke(app, ["serve", "--workers", "2", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert served["app"] == "resilience.api.app:app_from_environment"
    assert served["factory"] is True and served["workers"] == 2
    built = app_from_environment()  # as each worker does, from the environment serve set
    paths = set(built.openapi()["paths"])
    assert {"/v1/checks", "/v1/alerts", "/v1/health"} <= paths
    assert (tmp_path / "data" / "resilience.db").exists()


def test_check_says_when_the_same_inputs_were_checked_before(tmp_path, config):
    _publish(tmp_path)
    submission = _submission(tmp_path)
    first = runner.invoke(app, ["check", str(submission), "--config", str(config)])
    assert first.exit_code == 0, first.output
    assert "re-submission" not in first.output
    assert "governing hazard:" in first.output
    again = runner.invoke(app, ["check", str(submission), "--config", str(config)])
    assert again.exit_code == 0, again.output
    first_id = first.output.split("stored as check #")[1].split()[0]
    assert f"the same inputs as stored check #{first_id}" in " ".join(again.output.split())
    changed = _submission(tmp_path, design_life_years=31)
    other = runner.invoke(app, ["check", str(changed), "--config", str(config)])
    assert other.exit_code == 0 and "re-submission" not in other.output
