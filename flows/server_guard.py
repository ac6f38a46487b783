"""Stop Prefect's temporary server when the CLI process that started it dies, however it dies.

Prefect 3 runs its temporary (ephemeral) API server as a child process,
``python -m uvicorn --factory prefect.server.api.server:create_app`` started by
``prefect.server.api.server.SubprocessASGIServer.start``, and stops it from an ``atexit``
handler. A CLI run killed with SIGKILL (the OOM killer, a CI timeout, ``kill -9``) runs no
handler, and the server, about 200 MB, stayed behind for good (issue 13, item 7).

:func:`guard_ephemeral_server` marks this process's environment with a random token, which
every child inherits (Prefect starts the server with ``{**os.environ, ...}``), and starts a
small watchdog process (the standard library only, about 10 MB) that holds the read end of a
pipe whose write end only this process holds. When this process ends, by any signal, the
kernel closes the write end; the watchdog reads end-of-file, finds the processes that carry
the token and run Prefect's server (``/proc/<pid>/environ`` and ``cmdline``), and stops them:
SIGTERM, then SIGKILL after 5 s. On a clean exit Prefect has already stopped its server and
the watchdog finds nothing. The watchdog ignores SIGINT (Ctrl-C reaches the whole process
group; the CLI handles it). Nothing here imports Prefect (2.5 s for the server module).

Limits: Linux only (``/proc``; elsewhere nothing is started); a child forked without exec
inherits the write end, so the watchdog waits for it too; a process group killed as a whole
(``kill -- -PGID``) takes the server with it anyway.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

__all__ = ["SERVER_MARKER", "TOKEN_VARIABLE", "guard_ephemeral_server"]

#: Environment variable holding the token that marks the processes of one CLI run.
TOKEN_VARIABLE = "RESILIENCE_SERVER_GUARD"
#: Part of the command line of Prefect 3's temporary server (``_run_uvicorn_command``).
SERVER_MARKER = "prefect.server.api.server:create_app"
#: Seconds between SIGTERM and SIGKILL.
_GRACE_S = 5.0
_WATCHDOG = r"""
import os, signal, sys, time
fd, grace = int(sys.argv[1]), float(sys.argv[4])
mark, marker = sys.argv[2].encode(), sys.argv[3].encode()
signal.signal(signal.SIGINT, signal.SIG_IGN)
while os.read(fd, 4096):
    pass
def alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False
def servers():
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if mark in environ and marker in cmdline:
            found.append(int(entry))
    return found
pids = servers()
for how in (signal.SIGTERM, signal.SIGKILL):
    for pid in pids:
        try:
            os.kill(pid, how)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if alive(pid)]
        time.sleep(0.1)
"""

_watchdog: subprocess.Popen[bytes] | None = None
_write_end: int | None = None


def guard_ephemeral_server() -> bool:
    """Start the watchdog that stops Prefect's temporary server if this process dies.

    Idempotent: the first call starts the watchdog, later calls do nothing. Call it before
    Prefect starts its server (the CLI does, in ``_quiet_prefect_defaults``).

    Returns
    -------
    bool
        True if a watchdog runs for this process (started now or before); False where it
        cannot work (no ``/proc``: not Linux) or is not needed (``PREFECT_API_URL`` names a
        server that this process did not start).
    """
    global _watchdog, _write_end
    if _watchdog is not None and _watchdog.poll() is None:
        return True
    if not Path("/proc/self/environ").exists() or os.environ.get("PREFECT_API_URL"):
        return False
    token = os.environ.setdefault(TOKEN_VARIABLE, uuid.uuid4().hex)
    read_end, write_end = os.pipe()  # both ends non-inheritable (PEP 446)
    try:
        mark = f"{TOKEN_VARIABLE}={token}"
        _watchdog = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WATCHDOG, str(read_end), mark, SERVER_MARKER,
             str(_GRACE_S)],
            pass_fds=(read_end,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
    except OSError:
        os.close(write_end)
        return False
    finally:
        os.close(read_end)
    _write_end = write_end  # held open until this process ends, however it ends
    return True
