"""The disk tests' mounts (tests/support/mounts.py): a mount a killed run left behind is taken
down by the next test that mounts, and a live process's mount is left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import mounts


def _is_mounted(point: Path) -> bool:
    return str(point) in Path("/proc/self/mounts").read_text().split()


def _left_by(pid: int) -> Path:
    point = mounts.POINTS / f"{pid}-left"
    mounts.POINTS.mkdir(exist_ok=True)
    point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(point)], check=True)
    return point


def test_a_dead_runs_mount_is_taken_down_and_a_live_ones_kept() -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale, live = _left_by(int(dead.stdout)), _left_by(os.getppid())  # our parent: alive
    try:
        with mounts.mounted("-t", "tmpfs", "-o", "size=16k", "tmpfs") as point:
            assert _is_mounted(point)
            assert not _is_mounted(stale) and not stale.exists()
            assert _is_mounted(live)
        assert not _is_mounted(point) and not point.exists()
    finally:
        for left in (stale, live):
            subprocess.run(["umount", str(left)], capture_output=True)
            if left.exists():
                left.rmdir()
