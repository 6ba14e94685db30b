"""Many ``orderprobe`` command lines in one Python process, each as ``python -m orderprobe`` would
run it (``orderprobe.cli.main``), its own folder and environment, its exit code and what it wrote.

For command lines that end before anything starts (a refusal, ``--list``): each is over within
the checks, so a fresh interpreter per case (~0.7 s CPU) would test nothing more. A case that
wrongly goes on to run journeys still runs them here, and its test fails on what it returns.
Runs of plain tests (how a run starts its xdist workers) fit too: their workers are processes of
their own either way. Cases that import test files give each file a module name of its own.

    python -m tests.support.refusals RESULTS.json < CASES.json
    cases: [{"args": [...], "cwd": "...", "env": {"NAME": "value"}}, ...]
    results: [{"code": int, "stdout": "...", "stderr": "..."}, ...]
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def run_all(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``cases`` in one child process (the suite's own stays clean); their results, in order."""
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "results.json"
        done = subprocess.run(
            [sys.executable, "-m", "tests.support.refusals", str(results)], input=json.dumps(cases),
            capture_output=True, text=True, cwd=Path(__file__).parents[2], timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(results.read_text(encoding="utf-8"))


def _one(case: dict[str, Any]) -> dict[str, Any]:
    from orderprobe.cli import main

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update(case.get("env", {}))
    os.chdir(case["cwd"])
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(case["args"])
            except SystemExit as exc:  # argparse's own exits
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


if __name__ == "__main__":
    results = [_one(case) for case in json.load(sys.stdin)]
    Path(sys.argv[1]).write_text(json.dumps(results), encoding="utf-8")
