"""Warnings API under load while a refresh publishes layers and a new forecast is issued.

Workload (issue 13): ``resilience serve`` (uvicorn, one process, 127.0.0.1 on a free port) on
a temporary data directory. The database is seeded by the demo's warnings path: the SYNTHETIC
sample forecast, issued 12 hours before now so its alerts are active and in the feeds, goes
through ``resilience warn`` (with the sample assets and the demo's layer store). One key per
agency comes from ``resilience keys add``. Then CLIENTS concurrent clients (httpx, one
keep-alive connection each, loopback only) loop for SECONDS over the alert list (now, and at a
fixed time with an agency filter), a CAP message (ids taken from the lists), the caller's Atom
feed and the health check. During the run ``resilience refresh --sample DIR`` (no Prefect)
publishes a new version of every hazard layer into the same data directory, and
``resilience warn`` issues a second forecast (issued at the next hour: it withdraws the
first forecast's messages not yet due and issues its own) into the same SQLite database. The
load goes on until both have finished (at most SECONDS + 600 s), so the writes always happen
under load.

Printed: requests, errors, p50/p95/p99 latency and throughput per endpoint and overall, and
the server's resident memory (``VmRSS`` of ``/proc/<pid>/status``) after a warm-up and at the
end. Targets: 0 errors (any status but 200, or a failed connection) and end RSS within 20 %
of start RSS; the refresh and the warn must succeed. Exit status 1 on FAIL.

Inputs: ``demo-output`` (sample and layer store) if it exists, else a fresh
``resilience demo`` into the temporary directory (about 80 s more). Quick check:
``--seconds 10 --clients 10`` (or ``BENCH_API_SECONDS`` / ``BENCH_API_CLIENTS``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

from resilience.early_warning.metric import BEIJING
from resilience.early_warning.rules import load_rules
from resilience.sample.forecast import write_sample_forecast

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo-output"
CLI = Path(sys.executable).parent / "resilience"
MAX_RSS_CHANGE = 0.20
#: A fixed past view time inside the seeded episodes (hours after the first forecast's issue;
#: the first forecast is issued 12 h before now). A message sent by then is never withdrawn.
VIEW_AFTER_H = 10


@dataclass
class Tally:
    """Latencies (s) and error count of one endpoint."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    examples: list[str] = field(default_factory=list)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=float(os.environ.get("BENCH_API_SECONDS", 60))
    )
    parser.add_argument("--clients", type=int, default=int(os.environ.get("BENCH_API_CLIENTS", 50)))
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Return VmRSS of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``resilience ARGS``; raise with its output if it fails."""
    done = subprocess.run([str(CLI), *args], env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"resilience {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done


def demo_inputs(tmp: Path, env: dict[str, str]) -> Path:
    """Return a demo output folder (the checkout's, else a fresh one in ``tmp``)."""
    if (DEMO / "sample" / "profile.yaml").is_file() and (DEMO / "data" / "layers").is_dir():
        return DEMO
    print("no demo-output: running `resilience demo` (about 80 s)", flush=True)
    cli(["demo", "--out", str(tmp / "demo")], env, tmp)
    return tmp / "demo"


def current_versions(store: Path) -> dict[str, str]:
    return {p.parent.name: p.read_text().strip() for p in sorted(store.glob("*/current"))}


def seed(tmp: Path, demo: Path, env: dict[str, str], issued: datetime) -> dict[str, str]:
    """Copy the layer store, issue the first forecast and one key per agency; return keys."""
    shutil.copytree(demo / "data" / "layers", tmp / "data" / "layers", symlinks=True)
    forecast = write_sample_forecast(tmp / "forecast1", issued=issued.isoformat())
    cli(warn_args(forecast, tmp, demo), env, tmp)
    keys = {}
    for agency in sorted(a.id for a in load_rules().agencies):
        done = cli(["keys", "add", agency, "--label", "bench"], env, tmp)
        keys[agency] = done.stdout.strip().splitlines()[-1]
    return keys


def warn_args(forecast: Path, tmp: Path, demo: Path) -> list[str]:
    """Arguments of ``resilience warn`` with the impact rules (assets and layer store)."""
    assets = demo / "sample" / "assets" / "shanghai_assets.gpkg"
    layers = tmp / "data" / "layers"
    out = ["--out", str(tmp / "cap"), "--assets", str(assets), "--layers", str(layers)]
    return ["warn", "--forecast", str(forecast), *out]


async def wait_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if server.poll() is not None:
                raise RuntimeError(f"server exited with {server.returncode}")
            try:
                if (await client.get(f"{url}/v1/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server not healthy after 60 s")


class Load:
    """The clients' shared state: endpoint tallies and the pool of CAP ids seen."""

    def __init__(self, url: str, keys: dict[str, str], view_at: datetime) -> None:
        self.url, self.keys, self.view_at = url, keys, view_at.isoformat()
        self.tallies: dict[str, Tally] = {}
        self.ids: dict[str, list[str]] = {agency: [] for agency in keys}

    def requests(self, agency: str, rng: random.Random) -> list[tuple[str, str, dict]]:
        """One round of (endpoint name, path, params) for a client of ``agency``."""
        round_ = [
            ("health", "/v1/health", {}),
            ("alerts (now)", "/v1/alerts", {}),
            ("alerts (at, agency)", "/v1/alerts", {"at": self.view_at, "agency": agency}),
            ("atom feed", f"/v1/feeds/{agency}.atom", {}),
        ]
        if self.ids[agency]:
            identifier = rng.choice(self.ids[agency])
            round_.append(("CAP message", f"/v1/alerts/{identifier}.xml", {}))
        return round_

    async def client(self, number: int, deadline: list[float]) -> None:
        agency = sorted(self.keys)[number % len(self.keys)]
        rng = random.Random(number)
        headers = {"Authorization": f"Bearer {self.keys[agency]}"}
        async with httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60) as http:
            while time.perf_counter() < deadline[0]:
                for name, path, params in self.requests(agency, rng):
                    await self.one(http, agency, name, path, params)

    async def one(self, http: httpx.AsyncClient, agency: str, name: str, path: str, params: dict):
        tally = self.tallies.setdefault(name, Tally())
        start = time.perf_counter()
        try:
            response = await http.get(path, params=params)
            ok = response.status_code == 200
            problem = f"{response.status_code} {response.text[:120]}"
        except httpx.HTTPError as error:
            ok, problem = False, f"{type(error).__name__}: {error}"
        tally.latencies.append(time.perf_counter() - start)
        if not ok:
            tally.errors += 1
            if len(tally.examples) < 3:
                tally.examples.append(f"{path}: {problem}")
        elif name.startswith("alerts"):
            seen = {a["identifier"] for a in response.json()}
            self.ids[agency] = sorted(set(self.ids[agency]) | seen)[-200:]


async def background(
    args: list[str], env: dict[str, str], cwd: Path, log: Path, timeout: float
) -> dict:
    """Run ``resilience ARGS`` into ``log``; killed (exit -9) after ``timeout`` seconds."""
    start = time.perf_counter()
    with log.open("w") as out:
        process = await asyncio.create_subprocess_exec(
            str(CLI), *args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            code = await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            code = await process.wait()
    return {"exit": code, "seconds": time.perf_counter() - start, "log": log}


async def run_load(
    load: Load, clients: int, seconds: float, jobs: dict[str, tuple[float, list[str]]], env, tmp
) -> tuple[float, dict[str, dict]]:
    """Run the clients for ``seconds`` (longer if a job is still running); start the jobs."""
    deadline = [time.perf_counter() + seconds + 600]  # lowered once the jobs are done
    start = time.perf_counter()
    workers = [asyncio.create_task(load.client(n, deadline)) for n in range(clients)]

    async def delayed(name: str, after: float, args: list[str]) -> dict:
        await asyncio.sleep(after)
        return await background(args, env, tmp, tmp / f"{name}.log", seconds + 600 - after)

    results = await asyncio.gather(*(delayed(n, a, args) for n, (a, args) in jobs.items()))
    deadline[0] = max(start + seconds, time.perf_counter())
    await asyncio.gather(*workers)
    return time.perf_counter() - start, dict(zip(jobs, results, strict=True))


def report(tallies: dict[str, Tally], elapsed: float) -> tuple[int, int]:
    print(
        f"{'endpoint':<22}{'requests':>9}{'errors':>7}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'p99 ms':>8}{'req/s':>8}"
    )
    everything = Tally()
    for name, tally in [*sorted(tallies.items()), ("all", everything)]:
        if name != "all":
            everything.latencies += tally.latencies
            everything.errors += tally.errors
        ms = np.percentile(np.array(tally.latencies) * 1000, [50, 95, 99])
        print(
            f"{name:<22}{len(tally.latencies):>9}{tally.errors:>7}{ms[0]:>8.1f}{ms[1]:>8.1f}"
            f"{ms[2]:>8.1f}{len(tally.latencies) / elapsed:>8.1f}"
        )
        for example in tally.examples:
            print(f"    e.g. {example}")
    return len(everything.latencies), everything.errors


def main() -> int:
    options = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as name:
        tmp = Path(name)
        env = {
            **os.environ,
            "RESILIENCE_DATA_DIR": str(tmp / "data"),
            "RESILIENCE_USE_PREFECT": "false",
            "RESILIENCE_CONFIG": str(tmp / "none.toml"),  # no resilience.toml of the cwd
            "PREFECT_HOME": str(tmp / "prefect"),
        }
        env.pop("RESILIENCE_DATABASE_URL", None)
        demo = demo_inputs(tmp, env)
        now = datetime.now(BEIJING).replace(minute=0, second=0, microsecond=0)
        first = now - timedelta(hours=12)
        start = time.perf_counter()
        keys = seed(tmp, demo, env, first)
        print(
            f"seeded in {time.perf_counter() - start:.1f} s: forecast issued {first:%m-%d %H:%M}"
            f" (Beijing) through `resilience warn`, {len(keys)} agency keys; demo from {demo}"
        )
        second = write_sample_forecast(  # at the next hour: it withdraws only unsent messages
            tmp / "forecast2", issued=(now + timedelta(hours=1)).isoformat(), seed=7
        )
        before = current_versions(tmp / "data" / "layers")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with (tmp / "server.log").open("w") as log:
            server = subprocess.Popen(
                [str(CLI), "serve", "--port", str(port)], env=env, cwd=tmp, stdout=log, stderr=log
            )
        try:
            return asyncio.run(
                measure(options, server, url, keys, tmp, demo, env, first, second, before)
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


async def measure(options, server, url, keys, tmp, demo, env, first, second, before) -> int:
    await wait_healthy(url, server)
    load = Load(url, keys, first + timedelta(hours=VIEW_AFTER_H))
    await run_load(load, options.clients, min(5.0, options.seconds), {}, env, tmp)  # warm-up
    rss_start = rss_mib(server.pid)
    load.tallies.clear()
    refresh_args = ["refresh", "--sample", str(demo / "sample"), "--out"]
    jobs = {
        "refresh": (0.15 * options.seconds, [*refresh_args, str(tmp / "refresh-output")]),
        "warn": (0.4 * options.seconds, warn_args(second, tmp, demo)),
    }
    trace = [rss_start]  # one sample a second

    async def sample_rss() -> None:
        while True:
            await asyncio.sleep(1)
            trace.append(rss_mib(server.pid))

    sampler = asyncio.create_task(sample_rss())
    elapsed, done = await run_load(load, options.clients, options.seconds, jobs, env, tmp)
    sampler.cancel()
    rss_end = rss_mib(server.pid)
    print(
        f"workload: {options.clients} clients for {elapsed:.1f} s (asked {options.seconds:g} s) "
        f"on {url}, one uvicorn process"
    )
    requests, errors = report(load.tallies, elapsed)
    after = current_versions(tmp / "data" / "layers")
    published = sorted(n for n in after if after[n] != before.get(n))
    for name, result in done.items():
        tail = result["log"].read_text().strip().splitlines()[-1:] or [""]
        print(f"{name}: exit {result['exit']} in {result['seconds']:.1f} s ({tail[0][:100]})")
    print(f"layers published during the run: {', '.join(f'{n} {after[n]}' for n in published)}")
    change = rss_end / rss_start - 1
    print(
        f"server RSS: {rss_start:.1f} MiB after warm-up, {rss_end:.1f} MiB at end "
        f"({change:+.1%}), peak {max(trace):.1f} MiB"
    )
    quarters = [trace[min(len(trace) - 1, len(trace) * q // 4)] for q in (1, 2, 3)]
    print(f"server RSS at 1/4, 1/2, 3/4 of the run: {', '.join(f'{m:.1f}' for m in quarters)} MiB")
    checks = {
        "0 errors": errors == 0,
        f"RSS flat within {MAX_RSS_CHANGE:.0%}": abs(change) <= MAX_RSS_CHANGE,
        "refresh published": done["refresh"]["exit"] == 0 and bool(published),
        "warn issued": done["warn"]["exit"] == 0,
    }
    verdict = "PASS" if all(checks.values()) else "FAIL"
    shown = ", ".join(f"{k} {'ok' if v else 'NO'}" for k, v in checks.items())
    print(f"{requests} requests, {requests / elapsed:.1f} req/s; targets: {shown} -> {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
