"""Artefacts are written whole or not at all, and a failed write says which file and why."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def test_a_write_to_a_full_disk_names_the_file_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    """A real 64 KB tmpfs, filled: the report write fails with one line naming it, and no
    partial or temporary file stays behind."""
    from probes.atomic import WriteFailed
    from reports.html import write

    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        with pytest.raises(WriteFailed) as failed:
            write("x" * 200_000, disk / "reports", "run.html")
        assert str(failed.value).startswith(f"could not write {disk / 'reports' / 'run.html'}: ")
        assert "No space left on device" in str(failed.value)
        assert list((disk / "reports").iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], check=True)
