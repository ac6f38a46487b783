"""The deployments of prefect.yaml, run as an operator runs them (docs/operations.md).

A real ``prefect server start`` on 127.0.0.1 (a free port, its own PREFECT_HOME and SQLite
database), ``prefect work-pool create --type process``, ``prefect deploy --all`` from the
repository root, a ``prefect worker start``; then the refresh and the warnings deployments
are triggered through the server's REST API and must end COMPLETED with their outputs in
the worker's ``data_dir``; then the pull, which finds the refresh's projections in place.
The city is the bundled sample cut down to one scenario and two horizons without bias
adjustment (the smallest refresh of every layer: 45-95 s of the test's 110-170 s here, on
2 shared cores; writing the sample overlaps the server's start-up).

Every Prefect setting goes to the subprocesses only, never into this process's environment
(the suite runs under pytest-xdist with one PREFECT_HOME per worker). Every process started
here carries a token in its environment; teardown stops each process that holds it, the
worker's flow runs included, whatever happened.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PREFECT = [sys.executable, "-m", "prefect"]
POOL = "resilience-process"
TOKEN_VARIABLE = "DEPLOYMENT_TEST_TOKEN"
#: Seconds allowed for each wait; a loaded 2-core machine took 45 s to start the server.
STARTUP_S = 180.0
RUNS_S = 360.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(home: Path, api_url: str, token: str, **extra: str) -> dict[str, str]:
    """This process's environment without Prefect or engine settings, plus the server's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "RESILIENCE_"))}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api_url,
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="1",
        DO_NOT_TRACK="1",
        **{TOKEN_VARIABLE: token},
        **extra,
    )
    return env


def _holders(token: str) -> list[int]:
    """Return the processes whose environment holds ``token`` (all started by this test)."""
    mark, found = f"{TOKEN_VARIABLE}={token}".encode(), []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if mark in environ:
                found.append(int(entry))
    return found


@contextmanager
def _stop_all_at_exit(processes: list[subprocess.Popen], token: str) -> Iterator[None]:
    """On exit, SIGTERM the started processes, then SIGKILL whatever holds the token."""
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in _holders(token):  # the worker's flow runs run in sessions of their own
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for process in processes:
            process.wait(timeout=30)


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as handle:
        return subprocess.Popen(
            command, env=env, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        command, env=env, cwd=REPO, capture_output=True, text=True, timeout=STARTUP_S
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


def _wait_healthy(api: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        assert server.poll() is None, f"prefect server exited:\n{log.read_text()}"
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"prefect server not healthy after {STARTUP_S} s:\n{log.read_text()}")


def _small_city(root: Path) -> tuple[Path, Path]:
    """Write the sample, a cut-down profile beside it and a forecast inbox; return both."""
    from resilience.sample.bundle import write_sample

    paths = write_sample(root / "sample")
    profile = yaml.safe_load(paths.profile.read_text())
    profile.pop("observed_reference")  # no bias adjustment: the longest step
    profile |= {"horizons": ["baseline", "far"], "scenarios": ["ssp245"]}
    small = paths.root / "small_profile.yaml"
    small.write_text(yaml.safe_dump(profile))
    inbox = root / "inbox"
    inbox.mkdir()
    shutil.copyfile(paths.forecast, inbox / "forecast_72h.nc")
    return small, inbox


def _trigger(api: str, name: str) -> str:
    deployment = httpx.get(f"{api}/deployments/name/{name}", timeout=30).raise_for_status()
    run = httpx.post(
        f"{api}/deployments/{deployment.json()['id']}/create_flow_run", json={}, timeout=30
    )
    return str(run.raise_for_status().json()["id"])


def _wait_final(api: str, runs: dict[str, str], log: Path) -> dict[str, str]:
    """Wait until every flow run is final; return each one's state type."""
    deadline, states = time.monotonic() + RUNS_S, {}
    while time.monotonic() < deadline:
        for name, run_id in runs.items():
            state = httpx.get(f"{api}/flow_runs/{run_id}", timeout=30).json()["state"]
            states[name] = state["type"]
        if all(s in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") for s in states.values()):
            return states
        time.sleep(2)
    raise AssertionError(f"flow runs not final after {RUNS_S} s: {states}\n{log.read_text()}")


def test_deployed_refresh_and_warnings_run_on_a_process_worker(tmp_path):
    home, data = tmp_path / "prefect-home", tmp_path / "data"
    home.mkdir()
    api = f"http://127.0.0.1:{_free_port()}/api"
    token = uuid.uuid4().hex
    env = _environment(home, api, token)
    processes: list[subprocess.Popen] = []
    start, seconds = time.monotonic(), {}  # printed: where the time goes (pytest -s)
    with ExitStack() as stack:
        stack.enter_context(_stop_all_at_exit(processes, token))
        port = api.rsplit(":", 1)[1].split("/")[0]
        server_log = tmp_path / "server.log"
        processes.append(
            _start(
                [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", port,
                 "--no-scheduler", "--no-late-runs"],
                env,
                server_log,
            )
        )  # fmt: skip
        profile, inbox = _small_city(tmp_path)  # while the server starts
        seconds["sample"] = time.monotonic() - start
        _wait_healthy(api, processes[0], server_log)
        seconds["server"] = time.monotonic() - start

        _run([*PREFECT, "work-pool", "create", "--type", "process", POOL], env)
        deploy_env = env | {"CITY_PROFILE": str(profile), "FORECAST_DIR": str(inbox)}
        _run([*PREFECT, "--no-prompt", "deploy", "--all"], deploy_env)
        seconds["deployed"] = time.monotonic() - start
        worker_log = tmp_path / "worker.log"
        worker_env = env | {"RESILIENCE_DATA_DIR": str(data)}
        processes.append(
            _start([*PREFECT, "worker", "start", "--pool", POOL], worker_env, worker_log)
        )

        deployments = {
            d["name"]: d
            for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=30).json()
        }
        assert sorted(deployments) == ["every-10-minutes", "monthly", "on-demand"]
        assert {d["work_pool_name"] for d in deployments.values()} == {POOL}
        schedules = {
            name: [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in d["schedules"]]
            for name, d in deployments.items()
        }
        assert schedules == {
            "monthly": [("0 2 1 * *", "Asia/Shanghai")],
            "every-10-minutes": [("*/10 * * * *", "Asia/Shanghai")],
            "on-demand": [],
        }
        assert deployments["every-10-minutes"]["parameters"] == {
            "forecast_dir": str(inbox),
            "profile": str(profile),
        }

        runs = {
            "refresh": _trigger(api, "city-refresh/monthly"),
            "warnings": _trigger(api, "city-warnings/every-10-minutes"),
        }
        states = _wait_final(api, runs, worker_log)
        seconds["runs final"] = time.monotonic() - start
        # the pull after the refresh: the projections it prepares are the refresh's own
        pulled = _wait_final(api, {"pull": _trigger(api, "city-pull/on-demand")}, worker_log)
        assert pulled == {"pull": "COMPLETED"}, worker_log.read_text()
        seconds["pull final"] = time.monotonic() - start
        print("seconds since start:", {k: round(v, 1) for k, v in seconds.items()})
        assert states == {"refresh": "COMPLETED", "warnings": "COMPLETED"}, worker_log.read_text()

    _assert_outputs(data, inbox)


def _assert_outputs(data: Path, inbox: Path) -> None:
    """The refresh published every layer and the risk table; the warnings issued the file."""
    from sqlalchemy import select

    from resilience.early_warning.intake import ForecastRun, file_sha256
    from resilience.storage.database import make_engine, session_scope
    from resilience.storage.layer_store import LayerStore

    store = LayerStore(data / "layers")
    assert sorted(store.names()) == ["coastal_flood", "heat", "idf", "rain", "surge"]
    for name in store.names():
        assert store.current(name).path.is_file()
    risk = (data / "risk" / "risk_table.csv").read_text().splitlines()
    assert len(risk) > 1 and risk[0].startswith("asset_id")
    assert list((data / "cap").glob("*.xml"))
    engine = make_engine(f"sqlite:///{data / 'resilience.db'}")
    with session_scope(engine) as session:
        issued = list(session.scalars(select(ForecastRun)))
    engine.dispose()
    assert [r.sha256 for r in issued] == [file_sha256(inbox / "forecast_72h.nc")]
    assert issued[0].new_messages > 0
