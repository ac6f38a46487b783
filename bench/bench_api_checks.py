"""Feasibility checks through the REST API: CLIENTS concurrent clients for SECONDS on loopback.

Workload (issue 14, item 6): ``resilience serve --check-processes P`` (uvicorn, one server
process, checks in P spawned processes, default one per core; 127.0.0.1 on a free port;
``--workers`` and ``--check-processes 0`` for the other layouts) on a temporary data
directory holding a copy of the demo's layer store (``demo-output/data/layers``; a fresh
``resilience demo`` if it is missing) and a new SQLite database. ``resilience keys add``
gives each client an engineer key. Each client (httpx, one keep-alive connection, loopback
only) loops: ``POST /v1/checks`` with the example submission
(``resilience.sample.bundle.EXAMPLE_SUBMISSION``) under a project name of its own, so every
POST runs a check and stores it (201); then ``GET /v1/checks/{id}`` of that check; and every
fifth time ``GET /v1/checks?limit=20``. A warm-up of two rounds per client comes first (not
counted).

Printed: requests, errors (any unexpected status, or a failed connection), p50/p95/p99
latency and throughput per endpoint and overall, and the CPU the server (with its check
processes) and the client used. Target (issue 14): p95 under 200 ms over all requests and
no errors; exit status 1 on FAIL. Whether ``POST /v1/checks`` alone is under 200 ms is
printed too. Quick check: ``--seconds 10``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from resilience.sample.bundle import EXAMPLE_SUBMISSION

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo-output"
CLI = Path(sys.executable).parent / "resilience"
TARGET_P95_S = 0.200


@dataclass
class Tally:
    """Latencies (s) and error count of one endpoint."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    examples: list[str] = field(default_factory=list)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 30)))
    parser.add_argument("--clients", type=int, default=int(os.environ.get("BENCH_CLIENTS", 8)))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--check-processes", type=int, default=os.cpu_count() or 1)
    return parser.parse_args()


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds of a process and its live descendants (/proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        tasks = Path(f"/proc/{pid}/task").glob("*/children")  # any thread may spawn
        children = [c for task in tasks for c in task.read_text().split()]
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``resilience ARGS``; raise with its output if it fails."""
    done = subprocess.run([str(CLI), *args], env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"resilience {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done


def seed(tmp: Path, env: dict[str, str], clients: int) -> list[str]:
    """Copy the demo's layer store and issue one engineer key per client; return the keys."""
    demo = DEMO
    if not (demo / "data" / "layers").is_dir():
        print("no demo-output: running `resilience demo` (about 80 s)", flush=True)
        cli(["demo", "--out", str(tmp / "demo")], env, tmp)
        demo = tmp / "demo"
    shutil.copytree(demo / "data" / "layers", tmp / "data" / "layers", symlinks=True)
    config = ["--config", str(tmp / "resilience.toml")]
    return [
        cli(["keys", "add", f"bench-{n}", "--role", "engineer", *config], env, tmp)
        .stdout.strip()
        .splitlines()[-1]
        for n in range(clients)
    ]


async def wait_ready(base: str, server: subprocess.Popen) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        for _ in range(600):
            if server.poll() is not None:
                raise RuntimeError(f"server exited with {server.returncode}")
            try:
                if (await http.get("/v1/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start in 60 s")


async def timed(http: httpx.AsyncClient, tally: Tally, method: str, path: str, **kw) -> dict:
    """Send one request; record its latency, or an error unless its status is 200 or 201."""
    start = time.perf_counter()
    try:
        response = await http.request(method, path, **kw)
    except httpx.HTTPError as error:
        tally.errors += 1
        tally.examples.append(f"{method} {path}: {error!r}"[:200])
        return {}
    tally.latencies.append(time.perf_counter() - start)
    if response.status_code not in (200, 201):
        tally.errors += 1
        tally.examples.append(f"{method} {path}: {response.status_code} {response.text[:120]}")
        return {}
    return response.json()


async def client_loop(
    base: str, key: str, n: int, until: float, tallies: dict, *, max_rounds: int = 10**9
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as http:
        rounds = 0
        while time.monotonic() < until and rounds < max_rounds:
            body = dict(EXAMPLE_SUBMISSION, project_name=f"bench client {n} round {rounds}")
            made = await timed(http, tallies["POST /v1/checks"], "POST", "/v1/checks", json=body)
            if made:
                path = f"/v1/checks/{made['id']}"
                await timed(http, tallies["GET /v1/checks/{id}"], "GET", path)
            if rounds % 5 == 0:
                page = {"limit": 20}
                await timed(http, tallies["GET /v1/checks"], "GET", "/v1/checks", params=page)
            rounds += 1


def row(name: str, tally: Tally, seconds: float) -> tuple[str, float]:
    lat = np.array(tally.latencies) * 1000 if tally.latencies else np.array([np.nan])
    p50, p95, p99 = np.percentile(lat, [50, 95, 99])
    rate = len(tally.latencies) / seconds
    line = (
        f"| {name} | {len(tally.latencies)} | {tally.errors} | {p50:.1f} | {p95:.1f} | "
        f"{p99:.1f} | {rate:.1f} |"
    )
    return line, p95 / 1000


async def run(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-checks-"))
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    (tmp / "resilience.toml").write_text(f'data_dir = "{tmp / "data"}"\nuse_prefect = false\n')
    keys = seed(tmp, env, args.clients)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(CLI), "serve", "--port", str(port), "--workers", str(args.workers)]
    command += ["--check-processes", str(args.check_processes)]
    command += ["--config", str(tmp / "resilience.toml")]
    server = subprocess.Popen(
        command, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        await wait_ready(base, server)
        warm = {k: Tally() for k in ("POST /v1/checks", "GET /v1/checks/{id}", "GET /v1/checks")}
        await asyncio.gather(
            *(
                client_loop(base, key, -1 - n, time.monotonic() + 60, warm, max_rounds=2)
                for n, key in enumerate(keys)
            )
        )
        tallies = {k: Tally() for k in warm}
        server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
        start = time.monotonic()
        until = start + args.seconds
        await asyncio.gather(
            *(client_loop(base, key, n, until, tallies) for n, key in enumerate(keys))
        )
        seconds = time.monotonic() - start
        server_cpu = cpu_seconds(server.pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    overall = Tally()
    for tally in tallies.values():
        overall.latencies += tally.latencies
        overall.errors += tally.errors
    workers = f"{args.workers} uvicorn process(es), --check-processes {args.check_processes},"
    print(f"{args.clients} clients, {seconds:.1f} s, {workers} on 127.0.0.1\n")
    print("| endpoint | requests | errors | p50 ms | p95 ms | p99 ms | req/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    p95s = {}
    for name, tally in [*tallies.items(), ("all", overall)]:
        line, p95s[name] = row(name, tally, seconds)
        print(line)
    print(
        f"\nCPU during the run: server {server_cpu / seconds:.2f} cores, this client "
        f"{client_cpu / seconds:.2f} cores, of {os.cpu_count()}; load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    for tally in tallies.values():
        for example in tally.examples[:3]:
            print(f"  error: {example}")
    ok = overall.errors == 0 and p95s["all"] < TARGET_P95_S
    post = p95s["POST /v1/checks"] < TARGET_P95_S
    print(
        f"\ntarget: p95 of all requests under {TARGET_P95_S * 1000:.0f} ms, no errors: "
        f"{'PASS' if ok else 'FAIL'} (POST /v1/checks alone: {'under' if post else 'over'})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(run(parse_args())))
