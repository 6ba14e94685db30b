"""Real mounts for the full- and read-only-disk tests, kept out of pytest's temp folders.

A run killed mid-test (Ctrl-C twice, CI's timeout) leaves its mount behind; inside pytest's temp
folders, pytest's clean-up of old ones then failed every later session on it ("Device or resource
busy"). So mount points live in a folder of their own, named after the process that made them,
and the next test that mounts unmounts what a dead process left.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

POINTS = Path(tempfile.gettempdir()) / "orderprobe-test-mounts"


@contextlib.contextmanager
def mounted(*args: str) -> Iterator[Path]:
    """A fresh mount point with ``mount ARGS… POINT`` on it, unmounted after; the test is skipped
    where mounting is refused."""
    point = _fresh_point()
    done = subprocess.run(["mount", *args, str(point)], capture_output=True)
    if done.returncode:
        point.rmdir()
        pytest.skip(f"cannot mount here: {done.stderr.decode().strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", str(point)], check=True)
        point.rmdir()


def _fresh_point() -> Path:
    POINTS.mkdir(exist_ok=True)
    for left in POINTS.iterdir():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(left.name.split("-")[0]), 0)
            continue  # its process is alive: in use
        subprocess.run(["umount", "--lazy", str(left)], capture_output=True)
        with contextlib.suppress(OSError):
            left.rmdir()
    return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=POINTS))
