"""A run whose process was SIGKILLed does not stay "running" forever: the next `orderprobe report`
(or run) on the same store ends it at its last journey and marks it abandoned, and its report says
so — a real `orderprobe run` against the embedded demo shop in real Chromium, killed with its
whole process group. A run whose process is alive is never touched."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderprobe.base.result import Status
from orderprobe.cli import main as orderprobe
from orderprobe.reports.run_report import verdict
from orderprobe.store import liveness
from orderprobe.store.store import Store
from tests.support import sample

PROBES = """
import pytest

def test_a_quick(journey, page, target):
    with journey.step("open feed"):
        page.goto(target.url("/feed"))

@pytest.mark.deadline(3600)  # only the SIGKILL ends it
def test_b_stuck(journey, page, target):
    with journey.step("wait"):
        page.goto(target.url("/feed"))
        page.wait_for_timeout(3_000_000)
"""


def _events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]  # the last may be half written


def _report(tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str], run_id: str = "killed") -> tuple[str, str]:
    out = tmp_path / "reports"
    code = orderprobe(["report", "run", run_id, f"--results=sqlite:///{db}", f"--artefacts={tmp_path / 'art'}",
                       f"--out={out}", "--lang=en"])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    return Path(printed.out.strip()).read_text(encoding="utf-8"), printed.err


def test_a_sigkilled_run_is_marked_abandoned_by_the_next_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "test_killed.py").write_text(PROBES)
    db, art = tmp_path / "results.db", tmp_path / "art"
    proc = subprocess.Popen(
        [sys.executable, "-m", "orderprobe", "run", "test_killed.py", f"--results=sqlite:///{db}",
         f"--artefacts={art}", f"--reports={tmp_path / 'run-reports'}", "--run-id", "killed", "-n", "1",
         "--no-progress"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        events = art / "killed" / "events.jsonl"
        while proc.poll() is None:  # however long the machine needs: quick one ended, stuck one running
            seen = {(e["event"], e.get("probe")) for e in _events(events)}
            if {("journey/end", "a_quick"), ("journey/start", "b_stuck")} <= seen:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended by itself"

        page, err = _report(tmp_path, db, capsys)  # while it runs: left alone
        assert 'class="verdict v-unfinished"' in page and "abandoned" not in err
        store = Store(f"sqlite:///{db}")
        try:
            assert store.run("killed").finished_at is None and not store.run("killed").abandoned
        finally:
            store.close()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    page, err = _report(tmp_path, db, capsys)
    assert "run killed has no end and its process is gone: marked abandoned" in err
    assert 'class="verdict v-abandoned"' in page and "ABANDONED" in page
    store = Store(f"sqlite:///{db}")
    try:
        run, journeys = store.run("killed"), store.journeys("killed")
    finally:
        store.close()
    assert [(j.probe, j.status) for j in journeys] == [("a_quick", Status.PASSED)]
    last_end = journeys[0].started_at + timedelta(milliseconds=journeys[0].duration_ms)
    assert run.abandoned and abs(run.finished_at - last_end) < timedelta(milliseconds=1)

    _, err = _report(tmp_path, db, capsys)  # said once, when found
    assert "abandoned" not in err


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_only_unfinished_runs_of_dead_processes_on_this_host_are_abandoned(store_url: str) -> None:
    me = liveness.Process.this()
    dead = _dead_pid()
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    runs = {  # run id → (host, pid, identity, finished)
        "dead": (me.host, dead, "", False),
        "alive": (me.host, me.pid, me.identity, False),
        "pid-reused": (me.host, me.pid, "another-boot:1", False),  # a pid the kernel gave out again
        "elsewhere": ("another-host", dead, "", False),  # cannot be checked from here
        "finished": (me.host, dead, "", True),
        "no-controller": (me.host, None, "", False),  # started by an older orderprobe, or imported
    }
    store = Store(store_url)
    try:
        for run_id, (host, pid, identity, finished) in runs.items():
            store.start_run(run_id, started_at=start, target="t", matrix=None, host=host, pid=pid, identity=identity)
            if finished:
                store.finish_run(run_id, finished_at=start + timedelta(minutes=1), exit_code=0)
        one = sample.journey(random.Random(1), run_id="dead", probe=next(iter(sample.PROBES)),
                             profile=sample.PROFILES[0], started_at=start + timedelta(seconds=10))  # fmt: skip
        store.add_journey(one.model_copy(update={"duration_ms": 2500.0}))
        # A sharded sweep: shard 2 finished, shard 1's machine (this one) killed mid-way.
        for shard in (1, 2):
            store.start_run("sharded", started_at=start, target="t", matrix=None, shard=(shard, 2), host=me.host,
                            pid=dead if shard == 1 else me.pid, identity="")  # fmt: skip
        store.finish_run("sharded", finished_at=start + timedelta(seconds=30), exit_code=0, shard=(2, 2))

        assert liveness.sweep(store) == ["dead", "pid-reused", "sharded"]
        assert liveness.sweep(store) == []  # once

        summary = {r.id: r for r in store.runs()}
        assert sorted(r for r in summary if summary[r].abandoned) == ["dead", "pid-reused", "sharded"]
        assert summary["dead"].finished_at == start + timedelta(seconds=12.5)  # its last journey's end
        assert summary["pid-reused"].finished_at == start  # no journey: its start
        assert summary["alive"].finished_at is None and summary["elsewhere"].finished_at is None
        assert summary["no-controller"].finished_at is None
        assert summary["finished"].finished_at == start + timedelta(minutes=1) and not summary["finished"].abandoned
        assert summary["sharded"].shards_finished == [1, 2] and summary["sharded"].abandoned
        # The run's own end, should it come after all (a scheduler closing it), keeps the mark.
        store.finish_run("dead", finished_at=start + timedelta(minutes=5), exit_code=137)
        assert store.run("dead").abandoned
    finally:
        store.close()


def test_an_abandoned_run_never_passes() -> None:
    assert verdict({"passed": 3}, abandoned=True) == "abandoned"
    assert verdict({"passed": 2, "failed": 1}, abandoned=True) == "abandoned"
    assert verdict({}, abandoned=True, exit_code=2) == "abandoned"
    assert verdict({"passed": 3}) == "passed"


def test_the_next_run_on_the_store_marks_a_dead_run_abandoned_and_records_its_own_controller(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from orderprobe.probes.reporter import Run
    from orderprobe.probes.settings import Settings
    from orderprobe.reports.reporters import StoreReporter

    url = f"sqlite:///{tmp_path / 'r.db'}"
    me = liveness.Process.this()
    store = Store(url)
    try:
        store.start_run("killed", started_at=datetime(2026, 1, 5, tzinfo=UTC), target="t", matrix=None,
                        host=me.host, pid=_dead_pid())  # fmt: skip
    finally:
        store.close()
    settings = Settings(
        target=None, matrix=None, profile={}, profile_dirs=(), results=url, artefacts=tmp_path / "art", trace="off",
        retries=0, action_timeout_ms=1000, dependencies={}, rule_files=(), headed=False,
    )  # fmt: skip
    reporter = StoreReporter()
    reporter.on_run_start(Run("next", datetime.now(UTC), settings, "orderprobe run"))
    try:
        assert "run killed has no end and its process is gone: marked abandoned" in capsys.readouterr().err
        assert reporter.store.run("killed").abandoned and not reporter.store.run("next").abandoned
        assert liveness.sweep(reporter.store) == []  # this run's own process is alive: left alone
    finally:
        reporter.on_run_end(Run("next", datetime.now(UTC), settings, "orderprobe run"), 0)


def test_a_run_that_finished_while_its_store_was_away_is_not_abandoned_once_its_spool_is_imported(
    tmp_path: Path,
) -> None:
    """The store took the run's start, then went away; the run finished into its spool and its
    process exited. A report (any touch of the store) marks it abandoned — true as far as the
    store knew. `orderprobe store import` replays the spool, end included: the run finished."""
    from orderprobe.store.spool import Spool

    url = f"sqlite:///{tmp_path / 'results.db'}"
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    me = liveness.Process.this()
    results = [sample.journey(random.Random(i), run_id="r1", probe=next(iter(sample.PROBES)),
                              profile=sample.PROFILES[0], started_at=start + timedelta(seconds=i)
                              ).model_copy(update={"id": f"j{i}"}) for i in range(3)]  # fmt: skip
    store = Store(url)
    store.start_run("r1", started_at=start, target="t", matrix=None, host=me.host, pid=_dead_pid(), identity="")
    store.close()
    spool = Spool(tmp_path / "art" / "r1" / "spool.jsonl")
    spool.run("r1", started_at=start, target="t", matrix=None, labels={}, location="", command="orderprobe run")
    for result in results:
        spool.journey(result)
    spool.end("r1", start + timedelta(minutes=1), 1)
    spool.close()

    store = Store(url)
    try:
        assert liveness.sweep(store) == ["r1"] and store.run("r1").abandoned
    finally:
        store.close()
    assert orderprobe(["store", "import", str(tmp_path / "art"), "--results", url]) == 0
    store = Store(url)
    try:
        run = store.run("r1")
        assert not run.abandoned, run
        assert (run.finished_at, run.exit_code) == (start + timedelta(minutes=1), 1)
        assert len(store.journeys("r1")) == 3
        assert liveness.sweep(store) == []  # and it stays so
    finally:
        store.close()
    assert orderprobe(["report", "run", "--results", url, "--out", str(tmp_path / "rep")]) == 0
    (page,) = (tmp_path / "rep").glob("run-r1*.html")
    assert "ABANDONED" not in page.read_text() and "已放弃" not in page.read_text()


SHARDED_PROBES = """
import pathlib
import pytest

@pytest.mark.deadline(3600)
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_waits_for_go(journey, page, n):
    with journey.step("open"):
        page.set_content(f"<p>journey {n}</p>")
        while not pathlib.Path("GO").exists():  # until the test has locked the store
            page.wait_for_timeout(100)
"""


def test_a_sharded_parallel_run_whose_store_was_locked_is_not_abandoned_once_its_spool_is_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two real shards (`--shard 1/2`, `--shard 2/2`, each `-n 2`) of one run, one store, one
    artefacts folder: the store is locked by another writer from their first journey on, so
    both spool everything and exit 3. A report in between marks both shards abandoned (their
    processes are gone, no end in the store); `orderprobe store import` replays each shard's own
    end: the run finished, with its four journeys, never ABANDONED."""
    import sqlite3

    go = tmp_path / "GO"
    (tmp_path / "test_sharded.py").write_text(SHARDED_PROBES.replace('"GO"', repr(str(go))))
    db, art = tmp_path / "results.db", tmp_path / "art"
    Store(f"sqlite:///{db}").close()  # the store exists (WAL) before anyone locks it
    shards = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orderprobe",
                "run",
                "test_sharded.py",
                f"--results=sqlite:///{db}?timeout=2",  # the lock's wait, counted not timed: 2 s, not 10
                f"--artefacts={art}",
                f"--reports={tmp_path / 'run-reports'}",
                "--run-id",
                "sharded",
                "--shard",
                f"{i}/2",
                "-n",
                "2",
                "--no-progress",
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        for i in (1, 2)
    ]
    lock = sqlite3.connect(db, isolation_level=None)
    try:
        while True:  # however long the machine needs: both shards have recorded their start
            with sqlite3.connect(db) as conn:
                if conn.execute("select count(*) from run_controllers where run_id = 'sharded'").fetchone()[0] == 2:
                    break
            assert all(p.poll() is None for p in shards), [p.communicate()[0].decode() for p in shards]
            time.sleep(0.1)
        lock.execute("BEGIN EXCLUSIVE")  # another writer holds the store from now on
        go.touch()
        outputs = [p.communicate(timeout=900)[0].decode() for p in shards]
    finally:
        lock.close()
        for p in shards:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
    for p, output in zip(shards, outputs, strict=True):
        assert p.returncode == 3 and "orderprobe store import" in output, output

    page, err = _report(tmp_path, db, capsys, "sharded")  # touched before the import: dead, no end
    assert "run sharded has no end and its process is gone: marked abandoned" in err
    assert "ABANDONED" in page

    assert orderprobe(["store", "import", str(art), f"--results=sqlite:///{db}"]) == 0
    capsys.readouterr()
    store = Store(f"sqlite:///{db}")
    try:
        run = store.run("sharded")
        # its journeys' verdict (all passed): the processes' exit 3 was the store's, now mended
        assert not run.abandoned and run.finished_at is not None and run.exit_code == 0, run
        assert run.shards_finished == [1, 2]
        assert sorted(j.status for j in store.journeys("sharded")) == [Status.PASSED] * 4
        assert liveness.sweep(store) == []  # and it stays so
    finally:
        store.close()
    page, _ = _report(tmp_path, db, capsys, "sharded")
    assert "ABANDONED" not in page and 'class="verdict v-abandoned"' not in page
