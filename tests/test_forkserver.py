"""The scheduler tests' fork server (tests/support/forkserver.py) behaves as the command it stands for:
the script's exit status (a signal too), its streams, environment and folder are the client's, and
killing the client kills the script."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from orderprobe.scheduler.execution import alive
from tests.support import forkserver
from tests.support.receivers import wait_until

SCRIPT = """
import os, signal, sys, time
from pathlib import Path
print("out", os.environ.get("WHERE"), Path.cwd().name, *sys.argv[1:])
print("err", file=sys.stderr)
if sys.argv[1] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
if sys.argv[1] == "raise":
    raise ValueError("boom")
if sys.argv[1] == "hang":
    Path("pid").write_text(str(os.getpid()))
    time.sleep(600)
sys.exit(int(sys.argv[1]))
"""


def _argv(script: Path, *args: str) -> list[str]:
    return [part.replace("{python}", sys.executable) for part in forkserver.shared().command(script, *args)]


def test_status_streams_environment_and_folder_are_the_clients(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "WHERE": "hk"}
    for arg, status in (("0", 0), ("3", 3), ("kill", -signal.SIGKILL), ("raise", 1)):
        done = subprocess.run(_argv(script, arg), capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
        assert done.returncode == status, done.stderr
        assert done.stdout == f"out hk {tmp_path.name} {arg}\n" and done.stderr.startswith("err\n")
    assert "ValueError: boom" in done.stderr


def test_killing_the_client_kills_the_script(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    client = subprocess.Popen(_argv(script, "hang"), cwd=tmp_path)
    try:
        pid = int(wait_until(lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text(), "the script"))
    finally:
        client.kill()
        client.wait()
    wait_until(lambda: not alive(pid), "the script killed with its client", timeout=60)
