"""A module's shared run, made once per test session however many xdist workers run its tests.

`make test` hands tests out one at a time, so a module's tests land on different workers and a
module-scoped fixture runs again on each of them (measured: the filmstrip's three runs were paid
twice, the engine's shared session four times). ``once`` builds the thing into a folder that
every worker of the session sees (the parent of the workers' temp folders, as pytest-xdist's docs
show), under a file lock: the first test to ask builds it, the others wait for the lock and read
it. Each test that reads it is credited with the real parts its build used (``real_parts``), as
if it had paid for the build itself.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import real_parts

_DONE = ".once.json"  # written last: what the build returned, and the parts it used


def once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], dict[str, Any]]
) -> tuple[Path, dict[str, Any]]:
    """``build(folder)`` once per session; returns the folder and what ``build`` returned (JSON-able).
    A build that raised is built again by the next test that asks (and most likely fails it too)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker's basetemp is popen-gwN in the session's folder
        root = root.parent
    folder, done = root / name, root / name / _DONE
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        if done.exists():
            saved = json.loads(done.read_text(encoding="utf-8"))
            real_parts.credit(set(saved["parts"]))
            return folder, saved["value"]
        shutil.rmtree(folder, ignore_errors=True)  # what a build that failed left behind
        folder.mkdir()
        value = build(folder)
        parts = real_parts.used_by(os.environ.get(real_parts.ENV_TEST, ""))
        done.write_text(json.dumps({"value": value, "parts": sorted(parts)}), encoding="utf-8")
    return folder, value
