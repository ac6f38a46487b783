"""Issue 13, item 7 (remainder): a killed Prefect-mode CLI run leaves no temporary server.

A real subprocess sets up Prefect the way the CLI does (``_quiet_prefect_defaults``), runs a
flow in Prefect mode (the temporary server starts), is killed with SIGKILL once the flow
runs, and no process of that server may survive it for long.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from flows.server_guard import SERVER_MARKER

pytestmark = pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc (Linux)")

SCRIPT = textwrap.dedent(
    """
    import time

    from resilience.cli.main import _quiet_prefect_defaults

    _quiet_prefect_defaults()
    from prefect import flow


    @flow
    def wait() -> None:
        print("flow running", flush=True)
        time.sleep(300)


    wait()
    """
)


def _children(pid: int) -> list[int]:
    """Return the pids of every descendant of ``pid`` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except (OSError, ValueError):
            continue
        if entry.isdigit():
            parents.setdefault(int(stat.rsplit(b")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat.rsplit(b")", 1)[1].split()[0] != b"Z"


@pytest.mark.slow
@pytest.mark.fault("13.7", "a killed Prefect-mode run leaves its temporary server running")
def test_a_killed_prefect_mode_run_leaves_no_temporary_server(tmp_path):
    env = {
        **os.environ,
        "RESILIENCE_USE_PREFECT": "true",
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    for name in ("PREFECT_API_URL", "RESILIENCE_SERVER_GUARD"):
        env.pop(name, None)
    run = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output: list[str] = []
    running = threading.Event()

    def read() -> None:
        for raw in run.stdout:  # type: ignore[union-attr]
            output.append(raw.decode(errors="replace"))
            if "flow running" in output[-1]:
                running.set()

    threading.Thread(target=read, daemon=True).start()
    servers: list[int] = []
    try:
        assert running.wait(150), "".join(output)
        servers = [p for p in _children(run.pid) if SERVER_MARKER in _cmdline(p)]
        assert servers, f"no temporary Prefect server under the run: {''.join(output)}"
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        deadline = time.monotonic() + 15  # the watchdog's SIGTERM, 5 s grace, then SIGKILL
        while time.monotonic() < deadline and any(_alive(p) for p in servers):
            time.sleep(0.2)
        left = [p for p in servers if _alive(p)]
        assert not left, f"temporary Prefect server still running: {left}"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(10)
        for pid in servers:  # only the server this test's run started
            if _alive(pid) and SERVER_MARKER in _cmdline(pid):
                os.kill(pid, signal.SIGKILL)
