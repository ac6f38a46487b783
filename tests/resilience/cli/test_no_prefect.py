"""Commands that run no flow neither import Prefect nor start its temporary server (issue 16).

Importing Prefect costs 2-7 s here and its temporary server 15-27 s; only ``demo`` and
``refresh`` run flows, and only with settings ``use_prefect = true``. The commands run in a
fresh interpreter (this one has imported Prefect for other tests) without
``PREFECT_API_URL``, through typer's CliRunner; the interpreter then reports which Prefect
modules it imported and which child processes it left (a server, or the watchdog of
``flows.server_guard`` that only Prefect runs start).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from resilience.storage.layer_store import LayerStore

TESTS = Path(__file__).resolve().parents[2]
_PROBE = r"""
import json, os, sys
from typer.testing import CliRunner
from resilience.cli.main import app
codes = []
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(app, args)
    codes.append([args[0], result.exit_code, result.output[-300:]])
children = []
for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
    try:
        with open(f"/proc/{entry}/stat", "rb") as handle:
            parent = int(handle.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        continue
    if parent == os.getpid():
        children.append(int(entry))
loaded = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
print(json.dumps({"codes": codes, "prefect": loaded, "children": children}))
"""


def _publish_layers(store_root: Path) -> None:
    path = TESTS / "resilience/feasibility/conftest.py"  # the factory of small CF layers
    spec = importlib.util.spec_from_file_location("_feasibility_factories_no_prefect", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    store = LayerStore(store_root)
    for name, layer in module.make_layers().items():
        store.publish(name, layer)


def _probe(commands: list[list[str]], cwd: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(commands)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_commands_without_a_flow_import_no_prefect_and_start_no_server(tmp_path):
    config = tmp_path / "resilience.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\nuse_prefect = true\n')
    _publish_layers(tmp_path / "data" / "layers")
    submission = tmp_path / "submission.json"
    submission.write_text(
        json.dumps(
            {
                "project_name": "Pudong substation",
                "asset_type": "substation",
                "lon": 121.45,
                "lat": 31.30,
                "ground_elevation_m": 4.2,
                "protection_level_m": 6.0,
            }
        )  # fmt: skip
    )
    rng = np.random.default_rng(16)  # 40 synthetic annual maxima, Gumbel(30, 3)
    record = tmp_path / "maxima.csv"
    record.write_text("value\n" + "\n".join(f"{v:.2f}" for v in rng.gumbel(30, 3, 40)) + "\n")
    commands = [
        ["--help"],
        ["check", str(submission), "--config", str(config)],
        ["fit", str(record), "--column", "value", "--return-periods", "10,100"],
        ["layers", "--config", str(config)],
        ["refresh", "--help"],
        ["demo", "--help"],
    ]
    found = _probe(commands, tmp_path)
    assert [code for _, code, _ in found["codes"]] == [0] * len(commands), found["codes"]
    assert "stored as check #1" in " ".join(found["codes"][1][2].split())
    assert found["prefect"] == []
    assert found["children"] == []  # no temporary server, no watchdog


def test_a_plain_refresh_imports_no_prefect(tmp_path):
    """``use_prefect = false``: the refresh runs as plain calls, without importing Prefect.

    The profile is missing, so the command stops after importing the refresh (exit 2,
    naming the file): the import is what is measured, not a refresh.
    """
    config = tmp_path / "resilience.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\nuse_prefect = false\n')
    missing = tmp_path / "nowhere" / "profile.yaml"
    found = _probe([["refresh", "--profile", str(missing), "--config", str(config)]], tmp_path)
    ((_, code, output),) = found["codes"]
    assert code == 2 and "nowhere" in output, output
    assert found["prefect"] == []
    assert found["children"] == []


def test_the_plain_demo_flows_import_no_prefect(tmp_path):
    """``flows.demo`` and ``flows.refresh`` build their Prefect tasks and flows only when a
    Prefect run asks for them (``TASKS``, ``demo_flow``, ``refresh_flow``)."""
    code = (
        "import sys, flows.demo as demo, flows.refresh as refresh\n"
        "assert callable(demo.PLAIN.write_sample) and callable(refresh.PLAIN.build_heat)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))\n"
        "demo.TASKS\n"  # now Prefect is imported, for the tasks
        "print(type(demo.demo_flow).__name__, 'prefect' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, "PREFECT_HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    before, after = result.stdout.splitlines()
    assert before == "[]"
    assert after == "Flow True"
