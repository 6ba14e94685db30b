"""Run isolation with real subprocesses: hung runs lose their whole process tree, crashes are named."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from orderprobe.scheduler import execution
from orderprobe.scheduler.execution import Outcome, alive

# Runs are found by their tag (an environment variable): one unique to this session per test, or
# suites running side by side (two checkouts, CI jobs on one machine) kill each other's runs.
SESSION = uuid.uuid4().hex[:12]
TAGS = {
    name: f"{name}-{SESSION}" for name in ("hang-1", "leaky-1", "x1", "x2", "x3", "tagged-7", "g1", "g2", "find-me-42")
}

# A run that starts a child, a grandchild that escapes into its own session (as Chromium
# does) and writes their pids, then hangs.
HANG = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
escapee = subprocess.Popen([sys.executable, "-c", "import os, time; os.setsid(); time.sleep(600)"])
open(sys.argv[1], "w").write(f"{os.getpid()} {child.pid} {escapee.pid}")
time.sleep(600)
"""


def _wait_for_pids(path: Path, proc_deadline: float = 60.0) -> list[int]:
    deadline = time.monotonic() + proc_deadline
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count(" ") == 2:
            return [int(p) for p in path.read_text().split()]
        time.sleep(0.02)
    raise AssertionError("the hanging run never reported its pids")


def test_a_hung_run_is_killed_at_its_timeout_with_its_whole_process_tree(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    result = execution.run(
        [sys.executable, "-c", HANG, str(pids_file)], timeout_s=2.0, tag=TAGS["hang-1"], log_path=tmp_path / "run.log"
    )
    pids = _wait_for_pids(pids_file)
    assert result.outcome is Outcome.TIMEOUT
    assert set(pids) <= set(result.killed)  # the setsid escapee too, found by its tag
    assert not [p for p in pids if alive(p)]
    assert result.duration_s >= 2.0


def test_leftovers_of_a_finished_run_are_killed_too(tmp_path: Path) -> None:
    """A run that exits but leaves a browser behind does not leak it."""
    pids_file = tmp_path / "pid"
    code = (
        "import subprocess, sys; "
        "p = subprocess.Popen([sys.executable, '-c', 'import os, time; os.setsid(); time.sleep(600)']); "
        f"open({str(pids_file)!r}, 'w').write(str(p.pid))"
    )
    result = execution.run([sys.executable, "-c", code], timeout_s=60, tag=TAGS["leaky-1"])
    orphan = int(pids_file.read_text())
    assert result.outcome is Outcome.COMPLETED and result.exit_code == 0
    assert orphan in result.killed and not alive(orphan)


def test_exit_codes_crashes_and_commands_that_cannot_start(tmp_path: Path) -> None:
    failed = execution.run([sys.executable, "-c", "raise SystemExit(1)"], timeout_s=60, tag=TAGS["x1"])
    assert (failed.outcome, failed.exit_code) == (Outcome.COMPLETED, 1)
    crashed = execution.run([sys.executable, "-c", "import os; os.abort()"], timeout_s=60, tag=TAGS["x2"])
    assert crashed.outcome is Outcome.CRASHED and crashed.exit_code == -6
    missing = execution.run([str(tmp_path / "no-such-runner")], timeout_s=60, tag=TAGS["x3"])
    assert missing.outcome is Outcome.FAILED_TO_START and "no-such-runner" in missing.error


def test_output_goes_to_the_log_file_and_the_run_sees_its_tag(tmp_path: Path) -> None:
    log = tmp_path / "a" / "run.log"
    code = "import os; print('tag', os.environ['ORDERPROBE_RUN_TAG'])"
    execution.run([sys.executable, "-c", code], timeout_s=60, tag=TAGS["tagged-7"], log_path=log)
    assert log.read_text() == f"tag {TAGS['tagged-7']}\n"


def test_stopping_lets_a_run_finish_within_the_grace_period(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()  # the service is already stopping when the run is under way
    far = time.monotonic() + 120
    done = execution.run(
        [sys.executable, "-c", "import time; time.sleep(0.5)"], timeout_s=60, tag=TAGS["g1"], stop=stop,
        stop_deadline=lambda: far,
    )  # fmt: skip
    assert done.outcome is Outcome.COMPLETED and done.exit_code == 0


def test_stopping_kills_a_run_still_going_when_the_grace_period_ends(tmp_path: Path) -> None:
    stop = threading.Event()
    deadline: list[float] = []
    pids_file = tmp_path / "pids"
    box: dict[str, execution.Execution] = {}
    worker = threading.Thread(
        target=lambda: box.setdefault(
            "r",
            execution.run(
                [sys.executable, "-c", HANG, str(pids_file)], timeout_s=600, tag=TAGS["g2"], stop=stop,
                stop_deadline=lambda: deadline[0] if deadline else None,
            ),
        )
    )  # fmt: skip
    worker.start()
    pids = _wait_for_pids(pids_file)
    deadline.append(time.monotonic() + 0.5)
    stop.set()
    worker.join(60)
    assert box["r"].outcome is Outcome.INTERRUPTED
    assert not [p for p in pids if alive(p)]


def test_descendants_and_tagged_find_processes_by_tree_and_environment() -> None:
    env = {**os.environ, execution.TAG_VAR: TAGS["find-me-42"]}
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], env=env)
    try:
        assert child.pid in execution.descendants(os.getpid())
        assert execution.tagged(TAGS["find-me-42"]) == {child.pid}
        assert execution.tagged("find-me-4") == set()  # whole value, not a prefix
    finally:
        child.kill()
        child.wait()
    assert not alive(child.pid)
