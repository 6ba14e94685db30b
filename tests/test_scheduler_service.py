"""The real service (APScheduler, SQLite, subprocesses, HTTP) with second-level intervals.

Jobs here run a small real runner script (below) instead of `orderprobe run`: it writes
real results into the real store, fails when a mode file says so, and starts in a
fraction of the time a browser needs (in a fork of a process that imported the store once:
tests/support/forkserver.py). The end-to-end test against the demo shop with
real `orderprobe run` subprocesses is in test_scheduler_e2e.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from orderprobe import cli
from orderprobe.scheduler.config import parse
from orderprobe.scheduler.execution import alive
from orderprobe.scheduler.records import JobRun, Records
from orderprobe.scheduler.service import Service
from orderprobe.store.store import Store
from tests.support import forkserver
from tests.support.receivers import WebhookReceiver, wait_until

RUNNER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from orderprobe.base.result import Cause, FailurePoint, JourneyResult, StepResult
from orderprobe.store.store import Store

run_id, results, mode_file = sys.argv[1:4]
mode_path = Path(mode_file)
mode = mode_path.read_text().strip() if mode_path.exists() else "pass"
if mode == "fail-once":
    mode_path.write_text("pass")
failing = mode.startswith("fail")
store = Store(results)
now = datetime.now(UTC)
store.start_run(run_id, started_at=now, target="fake", matrix="smoke")
steps = [
    StepResult(name="open", status="passed", start_ms=0, duration_ms=120),
    StepResult(name="pay", status="failed" if failing else "passed", start_ms=120, duration_ms=800),
]
store.add_journey(JourneyResult(
    id=run_id + "-1", run_id=run_id, probe="checkout_basic", nodeid="t::test_checkout_basic",
    profile="android-old/metro/xinjiang/normal", status="failed" if failing else "passed",
    started_at=now, duration_ms=920.0, steps=steps,
    failure=FailurePoint(step="pay", error_type="TimeoutError", message="支付超时") if failing else None,
    cause=Cause(category="payment", detail="gateway_down", dependency="payment-gateway",
                summary="支付网关不可用 payment gateway down") if failing else None,
))
store.finish_run(run_id, finished_at=datetime.now(UTC), exit_code=1 if failing else 0)
sys.exit(1 if failing else 0)
"""

HANG = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import os, time; os.setsid(); time.sleep(600)"])
with open(sys.argv[1], "a") as f:
    f.write(f"{os.getpid()} {child.pid}\\n")
time.sleep(600)
"""

CHANNEL_PATHS = {"feishu": "/feishu", "dingtalk": "/dingtalk", "wecom": "/wecom", "slack": "/slack", "webhook": "/hook"}


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.db = f"sqlite:///{tmp_path / 'orderprobe.db'}"
        self.runner = tmp_path / "runner.py"
        self.runner.write_text(RUNNER)
        self.hang = tmp_path / "hang.py"
        self.hang.write_text(HANG)
        self.mode = tmp_path / "mode"
        self.pids = tmp_path / "pids"
        self.receiver = WebhookReceiver().start()
        self.environ = {f"URL_{k.upper()}": self.receiver.url(p) for k, p in CHANNEL_PATHS.items()}
        self.services: list[Service] = []
        self.reader: Records | None = None

    def yaml(self, jobs: str, extra: str = "") -> str:
        channels = "\n".join(f"  {k}: {{type: {k}, url_env: URL_{k.upper()}}}" for k in CHANNEL_PATHS)
        return (
            f"database: {self.db}\nartefacts: {self.tmp / 'artefacts'}\nshutdown_grace: 20s\n"
            f"metrics: {{port: 0}}\n{extra}channels:\n{channels}\njobs:\n{jobs}"
        )

    def runner_job(self, job_id: str = "smoke", every: str = "1s", alert: str = "") -> str:
        # Each run a process of its own, forked from one that imported the store once (tests/support/forkserver.py).
        command = forkserver.shared().command(self.runner, "{run_id}", "{results}", str(self.mode))
        return (
            f"  - id: {job_id}\n    every: {every}\n    timeout: 60s\n    labels: {{location: test}}\n"
            f"    command: {json.dumps(command)}\n"
            f"    alert: {{open_after: 2, resolve_after: 2, channels: [{', '.join(CHANNEL_PATHS)}]{alert}}}\n"
        )

    def service(self, text: str) -> Service:
        service = Service(parse(text, "test.yaml", self.environ), environ=self.environ)
        self.services.append(service)
        return service.start()

    def records(self) -> Records:
        return Records(self.db)

    def finished(self, job: str = "smoke") -> list:
        # The waits poll this every 50 ms: one engine for all of them, not an engine (and its
        # schema check) per poll.
        if self.reader is None:
            self.reader = self.records()
        return [r for r in self.reader.runs(job) if r.finished_at is not None]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    for service in w.services:
        if not service.stopping.is_set():
            service.stop(grace=0)
    w.receiver.stop()
    if w.reader is not None:
        w.reader.close()


def _k(labels: dict[str, str], **more: str) -> tuple:
    return tuple(sorted({**labels, **more}.items()))


def _metrics(service: Service) -> dict[tuple[str, tuple], float]:
    assert service.server is not None
    text = httpx.get(f"{service.server.url}/metrics", timeout=30).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_fault_opens_one_incident_per_channel_a_blip_nothing_and_recovery_resolves(world: World) -> None:
    world.mode.write_text("fail-once")  # a one-run blip
    service = world.service(world.yaml(world.runner_job()))
    wait_until(lambda: [r.verdict for r in world.finished()][:2] == ["failed", "passed"], "a blip, then a pass")
    assert world.receiver.requests == []

    world.mode.write_text("fail")  # the fault is switched on
    world.receiver.wait_for(lambda r: {x.path for x in r} == set(CHANNEL_PATHS.values()), timeout=90)
    opened = len(world.finished())
    wait_until(lambda: len(world.finished()) >= opened + 1, "one more failing run")
    assert sorted(r.path for r in world.receiver.requests) == sorted(CHANNEL_PATHS.values())  # one each

    world.mode.write_text("pass")  # the fault is switched off
    world.receiver.wait_for(lambda r: len(r) == 2 * len(CHANNEL_PATHS), timeout=90)
    generic = [r.json() for r in world.receiver.on("/hook")]
    assert [g["event"] for g in generic] == ["open", "resolve"]
    assert generic[0]["problems"][0]["cause"] == "payment/gateway_down" and generic[0]["problems"][0]["step"] == "pay"
    assert generic[0]["labels"] == {"location": "test"}
    assert "支付网关不可用" in world.receiver.on("/wecom")[0].json()["markdown"]["content"]

    smoke = {"job": "smoke", "location": service.location}  # the host name: no --location given

    def settled() -> tuple[list, dict] | None:
        """Records and metrics of the same runs (a run is recorded a moment before it is counted)."""
        runs, m = world.finished(), _metrics(service)
        counted = sum(v for (name, _labels), v in m.items() if name == "orderprobe_runs_total")
        return (runs, m) if counted == len(runs) and m[("orderprobe_job_success", _k(smoke))] == 1 else None

    runs, m = wait_until(settled, "metrics that count every recorded run")
    failed = [r.verdict for r in runs].count("failed")
    assert m[("orderprobe_runs_total", _k(smoke, verdict="failed"))] == failed
    assert m[("orderprobe_runs_total", _k(smoke, verdict="passed"))] == len(runs) - failed
    assert m[("orderprobe_failures_total", _k(smoke, cause="payment", detail="gateway_down"))] == failed
    assert m[("orderprobe_open_incidents", _k(smoke, kind="checkout"))] == 0
    journey = _k(smoke, probe="checkout_basic", profile="android-old/metro/xinjiang/normal")
    assert m[("orderprobe_probe_success", journey)] == 1.0
    assert m[("orderprobe_journey_duration_seconds", journey)] == pytest.approx(0.92)
    pay = {**smoke, "probe": "checkout_basic", "step": "pay"}
    assert m[("orderprobe_step_duration_seconds_count", _k(pay))] == len(runs)
    assert m[("orderprobe_step_duration_seconds_bucket", _k(pay, le="1.0"))] == len(runs)  # 0.8 s
    assert m[("orderprobe_step_duration_seconds_bucket", _k(pay, le="0.5"))] == 0
    assert m[("orderprobe_alerts_total", _k({"channel": "slack", "location": service.location}, result="sent"))] == 2
    last = max(r.finished_at for r in runs).timestamp()
    assert m[("orderprobe_last_run_timestamp_seconds", _k(smoke))] == last

    health = httpx.get(f"{service.server.url}/healthz", timeout=30)
    body = health.json()
    assert health.status_code == 200 and body["status"] == "ok" and body["open_incidents"] == 0
    assert body["jobs"]["smoke"]["next_run"] and body["jobs"]["smoke"]["last_verdict"] == "passed"
    service.stop(grace=30)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{service.server.url}/healthz", timeout=5)


def test_a_hung_run_is_killed_at_its_timeout_and_the_next_run_still_happens(world: World) -> None:
    job = f"  - id: hang\n    every: 1s\n    timeout: 1s\n    command: ['{{python}}', '{world.hang}', '{world.pids}']\n"
    world.service(world.yaml(job))
    runs = wait_until(lambda: [r for r in world.finished("hang")][:2] if len(world.finished("hang")) >= 2 else None,
                      "two timed-out runs")  # fmt: skip
    assert [r.outcome for r in runs] == ["timeout", "timeout"]
    assert all(r.verdict == "error" and "超时 timed out" in r.error for r in runs)
    pids = [int(p) for line in world.pids.read_text().splitlines()[:2] for p in line.split()]
    assert len(pids) == 4 and not [p for p in pids if alive(p)]  # each run's whole tree, escapee included
    store = Store(world.db)
    try:
        summary = store.run(runs[0].run_id)
    finally:
        store.close()
    assert summary is not None and summary.exit_code == 124 and summary.finished_at is not None


KILLED = """
import os, signal, sys
from datetime import UTC, datetime
from orderprobe.store.liveness import Process
from orderprobe.store.store import Store

run_id, results = sys.argv[1:3]
me, store = Process.this(), Store(results)
store.start_run(run_id, started_at=datetime.now(UTC), target="fake", matrix="smoke", host=me.host, pid=me.pid,
                identity=me.identity)
store.close()
os.kill(os.getpid(), signal.SIGKILL)  # the OOM killer, say: no end, no report
"""


def test_a_runner_killed_mid_run_is_abandoned_in_the_store_and_its_report(world: World) -> None:
    killed = world.tmp / "killed.py"
    killed.write_text(KILLED)
    command = json.dumps(forkserver.shared().command(killed, "{run_id}", "{results}"))  # its stand-in dies too
    world.service(world.yaml(f"  - id: oom\n    every: 1s\n    command: {command}\n"))
    run = wait_until(lambda: world.finished("oom") or None, "the killed run")[0]
    assert run.outcome == "crashed" and run.verdict == "error"
    from orderprobe.reports import run_report

    store = Store(world.db)
    try:  # the service closes the run in the store just after its own record
        summary = wait_until(lambda: (s := store.run(run.run_id)) and s.exit_code is not None and s, "its end")
        page = run_report.render(store, run.run_id, world.tmp / "artefacts", "en")
    finally:
        store.close()
    assert summary.abandoned and summary.finished_at is not None and summary.exit_code == -9
    assert 'class="verdict v-abandoned"' in page


def test_a_restart_neither_double_runs_nor_loses_a_slot(world: World) -> None:
    job = "  - id: tick\n    every: 1s\n    misfire_grace: 60s\n    command: ['{python}', '-c', 'pass']\n"
    text = world.yaml(job)
    first = world.service(text)
    wait_until(lambda: len(world.finished("tick")) >= 2, "two runs")
    first.stop(grace=30)
    second = world.service(text)  # at once: the next slot is the one the first service would have used
    wait_until(lambda: len(world.finished("tick")) >= 4, "two more runs after the restart")
    second.stop(grace=30)
    slots = [r.scheduled_at for r in world.finished("tick")]
    gaps = [(b - a).total_seconds() for a, b in zip(slots, slots[1:], strict=False)]
    assert len(set(slots)) == len(slots)  # no slot ran twice
    assert all(g >= 1 and g.is_integer() for g in gaps), gaps  # on the 1 s grid, never early

    # Down for a while: the slots missed are coalesced into one catch-up run, not lost, not repeated.
    stopped_at = max(r.finished_at for r in world.finished("tick"))
    wait_until(lambda: (stopped_at + timedelta(seconds=3)).timestamp() < time.time(), "two missed slots")
    before = len(world.finished("tick"))
    third = world.service(text)
    wait_until(lambda: len(world.finished("tick")) >= before + 2, "catch-up and a regular run")
    third.stop(grace=30)
    late = world.finished("tick")[before:]
    assert late[0].missed >= 1 and late[0].scheduled_at > stopped_at  # one run stands for all the missed slots
    gaps = [(b.scheduled_at - a.scheduled_at).total_seconds() for a, b in zip(late, late[1:], strict=False)]
    assert all(g >= 1 and g.is_integer() for g in gaps), gaps  # then back on the grid, each slot once


def test_stopping_waits_for_the_current_run_within_the_grace_period(world: World) -> None:
    job = "  - id: slow\n    every: 1s\n    command: ['{python}', '-c', 'import time; time.sleep(1.5)']\n"
    service = world.service(world.yaml(job))
    records = world.records()
    wait_until(lambda: records.unfinished_runs(), "a run in progress")
    service.stop(grace=60)
    runs = records.runs("slow")
    records.close()
    assert len(runs) == 1 and runs[0].outcome == "completed" and runs[0].verdict == "passed"


def test_stopping_kills_a_run_past_the_grace_period_and_records_it_interrupted(world: World) -> None:
    job = (
        f"  - id: hang\n    every: 1s\n    timeout: 600s\n    command: ['{{python}}', '{world.hang}', '{world.pids}']\n"
    )
    service = world.service(world.yaml(job))
    wait_until(lambda: world.pids.exists() and world.pids.read_text().endswith("\n"), "the hanging run")
    service.stop(grace=0.5)
    (run,) = world.finished("hang")
    assert run.outcome == "interrupted" and run.verdict == "error"
    assert not [int(p) for p in world.pids.read_text().split() if alive(int(p))]
    store = Store(world.db)
    try:
        assert store.run(run.run_id).exit_code == 130
    finally:
        store.close()


def test_a_run_killed_by_the_service_s_own_shutdown_opens_no_incident_and_pages_nobody(world: World) -> None:
    """SIGTERM / stop while a run outlives shutdown_grace: the run is recorded interrupted, but
    the service's own shutdown is no probe failure — no probe-broken incident, no alert."""
    job = (
        f"  - id: hang\n    every: 1s\n    timeout: 600s\n    command: ['{{python}}', '{world.hang}', '{world.pids}']\n"
        f"    alert: {{open_after: 1, channels: [{', '.join(CHANNEL_PATHS)}]}}\n"
    )
    service = world.service(world.yaml(job))
    wait_until(lambda: world.pids.exists() and world.pids.read_text().endswith("\n"), "the hanging run")
    service.stop(grace=0.5)
    (run,) = world.finished("hang")
    assert run.outcome == "interrupted"
    assert world.receiver.requests == []
    assert sum(service.incidents.open_counts().values()) == 0


def test_a_run_left_unfinished_by_a_dead_service_is_recorded_interrupted_on_start(world: World) -> None:
    records = world.records()
    records.save_run(JobRun(run_id="tick-dead-1", job="tick", started_at=datetime.now(UTC), outcome="running"))
    records.close()
    job = "  - id: tick\n    every: 1h\n    timeout: 30s\n    command: ['{python}', '-c', 'pass']\n"
    world.service(world.yaml(job))
    (run,) = world.finished("tick")
    assert run.outcome == "interrupted" and "服务中断" in run.error
    store = Store(world.db)
    try:
        assert store.run("tick-dead-1").exit_code == 130
    finally:
        store.close()


def _cli(world: World, text: str, *args: str) -> subprocess.Popen:
    path = world.tmp / "schedules.yaml"
    path.write_text(text, encoding="utf-8")
    env = {**os.environ, **world.environ, "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "orderprobe", "schedule", "--config", str(path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_cli_once_runs_a_job_alerts_and_keeps_secrets_out_of_the_log(world: World) -> None:
    world.mode.write_text("fail")
    job = world.runner_job(alert=", open_after: 1").replace("open_after: 2, ", "")
    proc = _cli(world, world.yaml(job), "--once", "smoke")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, out  # failed
    assert sorted(r.path for r in world.receiver.requests) == sorted(CHANNEL_PATHS.values())
    assert "run smoke-" in out and "failed" in out
    assert str(world.receiver.port) not in out  # webhook URLs never reach the log


def test_cli_service_stops_on_sigterm_and_records_the_interrupted_run(world: World) -> None:
    job = (
        f"  - id: hang\n    every: 1s\n    timeout: 600s\n    command: ['{{python}}', '{world.hang}', '{world.pids}']\n"
    )
    proc = _cli(world, world.yaml(job).replace("shutdown_grace: 20s", "shutdown_grace: 1s"))
    try:
        wait_until(lambda: world.pids.exists() and world.pids.read_text().endswith("\n"), "the hanging run")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "stopping: no new runs" in out and "Traceback" not in out
    (run,) = world.finished("hang")
    assert run.outcome == "interrupted"
    assert not [int(p) for p in world.pids.read_text().split() if alive(int(p))]


def test_cli_list_shows_jobs_and_next_run_times(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    job = (
        "  - id: tick\n    cron: '*/5 * * * *'\n    timezone: Asia/Shanghai\n    command: ['{python}', '-c', 'pass']\n"
    )
    path = world.tmp / "schedules.yaml"
    path.write_text(world.yaml(job), encoding="utf-8")
    monkeypatch.setenv("COLUMNS", "200")
    # In this process (the command's own process is the next test's): the same main(), no second start-up.
    assert cli.main(["schedule", "--config", str(path), "list"]) == 0
    out = capsys.readouterr().out
    assert "tick" in out and "cron */5 * * * *" in out and "CST" in out


def test_cli_list_starts_no_service_no_catalogue_and_no_browser_driver(world: World) -> None:
    """`schedule list` took 12 s on a loaded machine: it imported the whole service (APScheduler's
    executors, alert channels, metrics) and read every profile YAML just to print a table.
    Counted as modules loaded, not seconds, so the test holds under any load."""
    job = "  - id: tick\n    every: 1h\n    command: ['{python}', '-c', 'pass']\n"
    path = world.tmp / "schedules.yaml"
    path.write_text(world.yaml(job), encoding="utf-8")
    probe = (
        "import sys; from orderprobe import cli; code = cli.main(['schedule', '--config', sys.argv[1], 'list']); "
        "ours = ('orderprobe.scheduler', 'orderprobe.profiles', 'playwright'); "
        "print('LOADED', *sorted(m for m in sys.modules if m.startswith(ours)))"
    )
    env = {**os.environ, **world.environ, "COLUMNS": "200"}
    command = [sys.executable, "-c", probe, str(path)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "tick" in done.stdout
    loaded = done.stdout.split("LOADED", 1)[1].split()
    assert "orderprobe.scheduler.config" in loaded  # it did read the schedule
    # (the channel kinds' modules load: each holds the settings model the schedule is checked against)
    for heavy in (
        "orderprobe.scheduler.service",
        "orderprobe.scheduler.metrics",
        "orderprobe.profiles.catalogue",
        "playwright",
    ):
        assert not [m for m in loaded if m == heavy or m.startswith(heavy + ".")], heavy


def test_a_run_the_service_cannot_even_start_is_recorded_as_an_error(world: World) -> None:
    blocker = world.tmp / "artefacts"
    blocker.write_text("a file where the artefact folder should be")
    job = "  - id: tick\n    every: 1h\n    command: ['{python}', '-c', 'pass']\n"
    service = Service(parse(world.yaml(job), "test.yaml", world.environ), environ=world.environ)
    world.services.append(service)
    record = service.run_job("tick")
    assert record is not None and (record.verdict, record.outcome) == ("error", "failed_to_start")
    assert "service error" in record.error and world.finished("tick")[0].run_id == record.run_id
