"""A run whose artefacts folder is full (a real 200 KB tmpfs, filled) or read-only (a real
read-only mount) still runs every journey into the store, prints its summary, says each file it
could not write in one line naming it, exits non-zero, shows no traceback and leaves no 0-byte
or half-written file — a real `orderprobe run` against the embedded demo shop in real Chromium;
and `orderprobe report` onto that disk says the same in one line."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderprobe.cli import main as orderprobe
from orderprobe.store.store import Store
from tests.support import mounts

PROBES = """
def test_ok(journey, page, target):
    with journey.step("open feed"):
        page.goto(target.url("/feed"))

def test_broken(journey, page, target):
    with journey.step("open feed"):
        page.goto(target.url("/feed"))
    with journey.step("find what is not there"):
        page.get_by_test_id("no-such-thing").click(timeout=500)
"""


@pytest.fixture(params=["full", "read-only"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    if request.param == "full":
        with mounts.mounted("-t", "tmpfs", "-o", "size=200k", "tmpfs") as mounted:
            with (mounted / "filler").open("wb", buffering=0) as filler, pytest.raises(OSError):
                while True:  # until the disk says no
                    filler.write(b"x" * 4096)
            yield mounted, "No space left on device"
    else:
        source = tmp_path / "source"
        source.mkdir()
        with mounts.mounted("--bind", "-o", "ro", str(source)) as mounted:
            yield mounted, "Read-only file system"


def test_a_run_on_a_full_or_read_only_disk_says_each_lost_file_and_keeps_its_results(
    tmp_path: Path, disk: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    mounted, reason = disk
    (tmp_path / "test_disk.py").write_text(PROBES)
    db, art, reports = tmp_path / "results.db", mounted / "art", mounted / "reports"
    # The full disk's run has an xdist worker, whose results reach the controller as JSON (what it could
    # not write among them); the read-only one runs in one process: both paths, one start-up less.
    workers = "1" if reason == "No space left on device" else "0"
    done = subprocess.run(
        [sys.executable, "-m", "orderprobe", "run", "test_disk.py", f"--results=sqlite:///{db}", f"--artefacts={art}",
         f"--reports={reports}", "--run-id", "full", "-n", workers, "--no-progress", "--tracing", "retain-on-failure",
         "--screenshots", "on"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    out, err = done.stdout, done.stderr
    assert done.returncode == 3, out + err  # the run's outputs are incomplete
    assert "Traceback" not in out + err
    assert out.count("FAIL: 1 failed of 2 journeys") == 1 and "results " in out  # the summary, as ever

    said = [line for line in err.splitlines() if "could not write" in line]
    assert all(line.startswith("orderprobe: ") and line.endswith(reason) for line in said), err
    for name in ("spool.jsonl", "events.jsonl", "failure.png", "trace.zip", "junit.xml", "run-full.zh.html"):
        assert any(f"/{name}: " in line for line in said), f"{name} not said:\n{err}"
    assert any(re.search(r"/step-\d+-open_feed\.jpg: ", line) for line in said), err  # a filmstrip frame

    store = Store(f"sqlite:///{db}")
    try:
        assert sorted(j.probe for j in store.journeys("full")) == ["broken", "ok"]
        assert store.run("full").exit_code == 3
    finally:
        store.close()

    code = orderprobe(["report", "run", "full", f"--results=sqlite:///{db}", f"--out={reports}", "--lang=en"])
    printed = capsys.readouterr()
    assert code == 1 and printed.err == f"orderprobe report: could not write {reports / 'run-full.en.html'}: {reason}\n"

    left = [p for p in mounted.rglob("*") if p.is_file() and p.name != "filler"]
    assert not [p for p in left if p.suffix in (".part", ".clean") or ".part" in p.name], left
    assert not [p for p in left if p.stat().st_size == 0 and p.suffix not in (".jsonl",)], left


def test_spool_and_store_on_one_full_or_read_only_disk_say_the_journeys_are_lost(
    tmp_path: Path, disk: tuple[Path, str]
) -> None:
    """Nowhere to keep the journeys: the run must say, in one line, that they are lost (the line
    used to be swallowed by an AttributeError on the missing spool's path)."""
    mounted, reason = disk
    (tmp_path / "test_disk.py").write_text(PROBES)
    done = subprocess.run(
        [sys.executable, "-m", "orderprobe", "run", "test_disk.py", f"--results=sqlite:///{mounted / 'results.db'}",
         f"--artefacts={mounted / 'art'}", f"--reports={mounted / 'reports'}", "--run-id", "lost", "-n", "0",
         "--no-progress", "--tracing", "off", "--reporter", "store,progress"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    out, err = done.stdout, done.stderr
    assert done.returncode == 3, out + err
    assert "Traceback" not in out + err and "AttributeError" not in err, err
    lost = [line for line in err.splitlines() if "journey(s) of run lost are not in the results store" in line]
    assert len(lost) == 1 and lost[0].endswith("and there is no spool: they are lost"), err
    assert lost[0].startswith("orderprobe: 2 journey(s)"), lost[0]
