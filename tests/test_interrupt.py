"""A run stopped by SIGTERM still accounts for itself: finished journeys kept, the one in flight
recorded as interrupted, the run given its end and exit code, and its report never says PASS —
a real `pytest` process, real Chromium, real SQLite."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orderprobe.base.result import Status
from orderprobe.store.store import Store

PROBES = """
def test_a_quick(journey, page):
    with journey.step("open"):
        page.set_content("<p>done</p>")

def test_b_long(journey, page):
    with journey.step("open"):
        page.set_content("<p>opened</p>")
    with journey.step("wait"):
        page.wait_for_timeout(600_000)
"""


def _started(events: Path, probe: str) -> bool:
    """``probe`` has finished its first step (so it is in its second, however loaded the machine)."""
    if not events.exists():
        return False
    lines = [json.loads(line) for line in events.read_text().splitlines() if line.strip().endswith("}")]
    return any(e.get("probe") == probe and e.get("event") == "step/end" for e in lines)


def test_sigterm_records_the_journey_in_flight_as_interrupted_and_the_run_as_ended(tmp_path: Path) -> None:
    (tmp_path / "test_stop.py").write_text(PROBES)
    db, art, out = tmp_path / "results.db", tmp_path / "art", tmp_path / "reports"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_stop.py", f"--results=sqlite:///{db}",
         f"--artefacts={art}", f"--reports={out}", "--reporter", "store,events,html", "--run-id", "stopped"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        events = art / "stopped" / "events.jsonl"
        for _ in range(6000):  # wait (however long the machine needs) for the long journey to be running
            if _started(events, "b_long") or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        time.sleep(1)
        os.kill(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=600)[0].decode()
    finally:
        proc.kill()
    assert proc.returncode == 2, output
    store = Store(f"sqlite:///{db}")
    try:
        journeys = {j.probe: j for j in store.journeys("stopped")}
        run = store.run("stopped")
    finally:
        store.close()
    assert journeys["a_quick"].status is Status.PASSED
    assert journeys["b_long"].status is Status.ERROR and journeys["b_long"].cause.detail == "interrupted"
    # what it had done: "open" passed; "wait" is where the signal stopped it
    assert [(s.name, s.status) for s in journeys["b_long"].steps] == [("open", "passed"), ("wait", "failed")]
    assert run.finished_at is not None and run.exit_code == 2
    (report,) = out.rglob("*.html")
    html = report.read_text(encoding="utf-8")
    assert 'class="verdict v-interrupted"' in html and "v-passed" not in html.split('id="verdict"')[0][-200:]


def test_a_run_that_did_not_finish_never_passes() -> None:
    from orderprobe.reports.run_report import verdict

    assert verdict({"passed": 3}) == "passed"
    assert verdict({"passed": 3}, finished=False) == "unfinished"
    assert verdict({"passed": 3}, exit_code=2) == "interrupted"
    assert verdict({}, exit_code=2) == "interrupted"
    assert verdict({"passed": 2, "failed": 1}, exit_code=2) == "failed"  # a broken checkout is said first


XDIST_PROBES = """
import pytest

def test_a_quick(journey, page, target):
    with journey.step("open feed"):
        page.goto(target.url("/feed"))

@pytest.mark.deadline(3600)
def test_b_long(journey, page, target):
    with journey.step("open"):
        page.goto(target.url("/feed"))
    with journey.step("wait"):
        page.wait_for_timeout(3_000_000)

@pytest.mark.deadline(3600)
def test_c_long(journey, page, target):
    with journey.step("open"):
        page.goto(target.url("/feed"))
    with journey.step("wait"):
        page.wait_for_timeout(3_000_000)
"""
# A supervisor's grace between SIGTERM and SIGKILL (the scheduler gives 3 s, systemd 90 s, Kubernetes
# 30 s). Measured: ~0.2 s idle, over 8 s at load 55. The bound is Kubernetes' grace, not a
# speed goal: a run that outlives it loses its account to SIGKILL (a hang fails here, slowness not).
GRACE_S = 30.0


@pytest.mark.parametrize("how", ["SIGTERM to the controller", "SIGINT to the group"])
def test_sigterm_under_xdist_records_journeys_in_flight_on_every_worker_within_the_grace(
    tmp_path: Path, how: str
) -> None:
    """`orderprobe run -n 2`, SIGTERM to the controller alone (`kill PID`, Kubernetes, `timeout`) or
    SIGINT to every process (Ctrl-C in a terminal) while both workers are in a journey: both
    recorded as interrupted with the steps they had finished, the run ended with exit code 2,
    before a supervisor's SIGKILL would land."""
    (tmp_path / "test_stop.py").write_text(XDIST_PROBES)
    db, art = tmp_path / "results.db", tmp_path / "art"
    proc = subprocess.Popen(
        [sys.executable, "-m", "orderprobe", "run", "test_stop.py", f"--results=sqlite:///{db}", f"--artefacts={art}",
         f"--reports={tmp_path / 'reports'}", "--run-id", "stopped", "-n", "2", "--no-progress"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        events = art / "stopped" / "events.jsonl"
        while proc.poll() is None:  # however long the machine needs: a done, b and c running
            seen = [json.loads(line) for line in (events.read_text().splitlines() if events.exists() else [])]
            kinds = {(e["event"], e.get("probe")) for e in seen if e["event"].startswith("journey/")}
            steps = art / "stopped" / ".steps"  # the workers' account of the steps they finished
            opened = sum('"open"' in f.read_text() for f in steps.glob("*.jsonl")) if steps.is_dir() else 0
            running = {("journey/end", "a_quick"), ("journey/start", "b_long"), ("journey/start", "c_long")} <= kinds
            if running and opened >= 2 and all('"wait"' in f.read_text() for f in steps.glob("*.jsonl")):
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        stopped_at = time.monotonic()
        if how == "SIGINT to the group":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGTERM)
        while proc.poll() is None and time.monotonic() - stopped_at < GRACE_S:
            time.sleep(0.05)
        ended_in_time = proc.poll() is not None
    finally:
        with contextlib.suppress(ProcessLookupError):  # all gone already
            os.killpg(proc.pid, signal.SIGKILL)  # the supervisor's SIGKILL, grace over
        output = proc.communicate()[0].decode()
    assert ended_in_time and proc.returncode == 2, output
    store = Store(f"sqlite:///{db}")
    try:
        journeys = {j.probe: j for j in store.journeys("stopped")}
        run = store.run("stopped")
    finally:
        store.close()
    assert journeys["a_quick"].status is Status.PASSED
    for probe in ("b_long", "c_long"):
        assert journeys[probe].status is Status.ERROR and journeys[probe].cause.detail == "interrupted", probe
        assert journeys[probe].worker.startswith("gw") and journeys[probe].duration_ms > 0
        # what it had done on its worker: "open" passed; "wait" is where the signal stopped it
        assert [(s.name, s.status) for s in journeys[probe].steps] == [("open", "passed"), ("wait", "failed")], probe
    assert run.finished_at is not None and run.exit_code == 2
    assert "INTERRUPTED after 3 journeys" in output
    assert not (art / "stopped" / ".steps").exists()  # read, then tidied away


def test_only_this_process_s_own_workers_are_stopped() -> None:
    """The pids come from journey starts, which remote (``--tx ssh``) workers report too: a pid
    that is not a child of this process is never signalled, nor this process itself."""
    from orderprobe.probes.interrupt import stop_workers

    child = subprocess.Popen(["sleep", "600"])
    holder = subprocess.Popen(["sh", "-c", "sleep 600 & echo $!; wait"], stdout=subprocess.PIPE, text=True)
    grandchild = int(holder.stdout.readline())
    try:
        stop_workers([child.pid, grandchild, os.getpid(), 0])
        assert child.wait() == -signal.SIGTERM
        assert Path(f"/proc/{grandchild}").exists()  # someone else's child: left alone
    finally:
        child.kill()
        os.kill(grandchild, signal.SIGKILL)
        holder.wait()


def _run_recorded(db: Path, run_id: str) -> bool:
    import sqlite3

    if not db.exists():
        return False
    try:
        with sqlite3.connect(db, timeout=0.1) as conn:
            return conn.execute("select 1 from runs where id = ?", (run_id,)).fetchone() is not None
    except sqlite3.Error:  # not created yet, or locked for a moment
        return False


def test_sigterm_the_moment_a_parallel_run_has_started_still_gives_it_an_end(tmp_path: Path) -> None:
    """Under -n 2 the run's start is written before xdist has its workers up; a SIGTERM then
    (pytest skips pytest_sessionfinish) used to leave the run without an end: ABANDONED later."""
    from orderprobe.store import liveness

    (tmp_path / "test_stop.py").write_text(PROBES)
    db = tmp_path / "results.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "orderprobe", "run", "test_stop.py", "-n", "2", f"--results=sqlite:///{db}",
         f"--artefacts={tmp_path / 'art'}", f"--reports={tmp_path / 'rep'}", "--run-id", "early", "--no-progress"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        while not _run_recorded(db, "early") and proc.poll() is None:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGTERM)  # workers still starting: no journey has begun
        output = proc.communicate(timeout=600)[0].decode()
    finally:
        proc.kill()
    assert proc.returncode == 2, output
    assert "INTERRUPTED" in output and "no journeys ran" not in output, output
    store = Store(f"sqlite:///{db}")
    try:
        assert liveness.sweep(store) == []
        run = store.run("early")
        assert run.finished_at is not None and run.exit_code == 2 and not run.abandoned, run
    finally:
        store.close()


def test_sigterm_while_the_run_is_being_checked_is_one_line_and_records_nothing(tmp_path: Path) -> None:
    """`orderprobe run` checks every probe file imports before anything starts; a SIGTERM then
    (a supervisor's timeout on a slow machine) used to print a 55-line KeyboardInterrupt traceback."""
    marker = tmp_path / "importing"
    (tmp_path / "test_slow_import.py").write_text(
        f"import pathlib, time\npathlib.Path({str(marker)!r}).touch()\ntime.sleep(600)\n\n"
        "def test_x(journey):\n    pass\n"
    )
    db = tmp_path / "results.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "orderprobe", "run", "test_slow_import.py", "-n", "2", f"--results=sqlite:///{db}",
         f"--artefacts={tmp_path / 'art'}", f"--reports={tmp_path / 'rep'}", "--no-progress"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        while not marker.exists() and proc.poll() is None:  # the preflight is importing the probe file
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=600)
    finally:
        proc.kill()
    assert proc.returncode == 2, out + err
    assert err.splitlines() == ["orderprobe: stopped (signal SIGTERM) before the run started; nothing was recorded"]
    assert not db.exists() and "Traceback" not in out + err
