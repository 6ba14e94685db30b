"""The suite's Ctrl-C tests send SIGINT to the processes they start (a run, a shop, codegen); a
suite started as a background job inherits SIGINT ignored, which tests/conftest.py undoes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_process_a_test_starts_can_be_interrupted() -> None:
    child = "import signal; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)"
    assert subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True).stdout == "False\n"


def test_a_suite_started_with_ctrl_c_ignored_gives_it_back_to_its_processes() -> None:
    def ignore_ctrl_c() -> None:  # as a shell does for `make test &`
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    node = f"{Path(__file__).relative_to(ROOT)}::test_a_process_a_test_starts_can_be_interrupted"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", node, "-p", "no:cacheprovider", "-p", "no:xdist", "-q"],
        cwd=ROOT, capture_output=True, text=True, preexec_fn=ignore_ctrl_c, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
