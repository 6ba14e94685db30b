"""Artefacts are written whole or not at all, and a failed write says which file and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import mounts


def test_a_write_to_a_full_disk_names_the_file_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    """A real 64 KB tmpfs, filled: the report write fails with one line naming it, and no
    partial or temporary file stays behind."""
    from orderprobe.base.atomic import WriteFailed
    from orderprobe.reports.html import write

    with mounts.mounted("-t", "tmpfs", "-o", "size=64k", "tmpfs") as disk:
        with pytest.raises(WriteFailed) as failed:
            write("x" * 200_000, disk / "reports", "run.html")
        assert str(failed.value).startswith(f"could not write {disk / 'reports' / 'run.html'}: ")
        assert "No space left on device" in str(failed.value)
        assert list((disk / "reports").iterdir()) == []


def test_an_append_stream_on_a_disk_that_fills_up_keeps_whole_lines_only(tmp_path: Path) -> None:
    """Events and the spool are appended a line at a time: the line that did not fit is cut back
    off (a real 64 KB tmpfs), so every line in the file parses and the error names the file."""
    from orderprobe.base.atomic import Appender, WriteFailed

    with mounts.mounted("-t", "tmpfs", "-o", "size=64k", "tmpfs") as disk:
        out = Appender(disk / "events.jsonl", sync=True)
        line = b'{"event": "step/end", "pad": "' + b"x" * 3000 + b'"}\n'
        with pytest.raises(WriteFailed) as failed:
            for _ in range(1000):
                out.write(line)
        out.close()
        assert str(failed.value).startswith(f"could not write {disk / 'events.jsonl'}: ")
        data = (disk / "events.jsonl").read_bytes()
        assert data and len(data) % len(line) == 0 and data.endswith(b"\n")
