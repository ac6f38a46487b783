"""folder_lock: one process at a time holds a folder; a killed holder leaves no lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from resilience.storage.atomic import folder_lock

_TRY = textwrap.dedent(
    """
    import fcntl, sys
    with open(sys.argv[1], "a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("busy")
        else:
            print("free")
    """
)


def _other_process_sees(path) -> str:  # noqa: ANN001
    run = subprocess.run([sys.executable, "-c", _TRY, str(path)], capture_output=True, text=True)
    return run.stdout.strip()


def test_a_held_folder_is_busy_for_another_process_and_free_after(tmp_path):
    folder = tmp_path / "risk"
    with folder_lock(folder, ".risk.lock"):
        assert _other_process_sees(folder / ".risk.lock") == "busy"
    assert _other_process_sees(folder / ".risk.lock") == "free"


def test_a_killed_holder_leaves_the_folder_free(tmp_path):
    folder = tmp_path / "risk"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from resilience.storage.atomic import folder_lock\n"
            "with folder_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)",
            str(folder),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert _other_process_sees(folder / ".lock") == "busy"
    finally:
        holder.kill()
        holder.wait()
    assert _other_process_sees(folder / ".lock") == "free"
