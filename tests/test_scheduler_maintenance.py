"""Maintenance windows: the schedule file's (one-off, cron, weekly, in a time zone) and the command
line's (``orderprobe schedule mute``). Probes still run and are recorded; alerts are held and, at
the window's end, released or dropped. The service here is real (SQLite store, job subprocesses,
a webhook receiver on loopback) with an injected clock: runs are started by hand, no sleeping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderprobe.cli import main as cli
from orderprobe.scheduler.config import ScheduleError, parse
from orderprobe.scheduler.maintenance import Window
from orderprobe.scheduler.records import Records
from orderprobe.scheduler.service import Service
from tests.support import forkserver
from tests.support.receivers import WebhookReceiver

RUNNER = Path(__file__).parent / "support" / "job_runner.py"
T0 = datetime(2026, 11, 11, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def test_one_off_cron_and_weekly_windows_in_their_time_zone() -> None:
    one_off = Window(name="migration", start="2026-11-11 09:10", end="2026-11-11 09:20", timezone="Asia/Shanghai")
    assert one_off.at(T0 + timedelta(minutes=9)) is None
    hit = one_off.at(T0 + timedelta(minutes=10))
    assert hit is not None and (hit.starts, hit.ends) == (T0 + timedelta(minutes=10), T0 + timedelta(minutes=20))
    assert one_off.at(T0 + timedelta(minutes=20)) is None  # the end is not inside

    nightly = Window(name="deploy", cron="50 8 * * *", duration="30m", timezone="Asia/Shanghai")  # 08:50-09:20
    hit = nightly.at(T0)
    assert hit is not None and hit.starts == T0 - timedelta(minutes=10) and hit.ends == T0 + timedelta(minutes=20)
    assert nightly.at(T0 + timedelta(minutes=20)) is None

    # 2026-11-11 is a Wednesday; the range runs past midnight (Shanghai), which is 16:00 UTC
    weekly = Window(name="weekly", weekly="Wed 23:00-01:30", timezone="Asia/Shanghai")
    midnight = datetime(2026, 11, 11, 16, 0, tzinfo=UTC)
    hit = weekly.at(midnight)
    assert (
        hit is not None
        and hit.starts == midnight - timedelta(hours=1)
        and hit.ends - hit.starts == timedelta(hours=2, minutes=30)
    )
    assert weekly.at(midnight + timedelta(days=1)) is None  # Thursday night is not a Wednesday range
    assert Window(name="w", weekly="mon-fri 12:00-12:30", timezone="UTC").at(T0.replace(hour=12, minute=5))


GOOD = """\
maintenance:
  - name: deploy
    jobs: [smoke]
    weekly: "Sun 01:00-03:00"
    timezone: Asia/Shanghai
jobs:
  - {id: smoke, every: 5m, command: [x]}
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("jobs: [smoke]", "jobs: [smok]", "bad.yaml:3: maintenance[0].jobs[0]: unknown job 'smok' (jobs: smoke)"),
        ('weekly: "Sun 01:00-03:00"', 'weekly: "Sun 1am-3am"', "bad.yaml:4: maintenance[0].weekly: not a weekly"),
        ('weekly: "Sun 01:00-03:00"', 'weekly: "Sonntag 01:00-03:00"', "bad.yaml:4: maintenance[0].weekly:"),
        ("timezone: Asia/Shanghai", "timezone: Asia/Atlantis", "bad.yaml:5: maintenance[0].timezone: unknown time"),
        ('weekly: "Sun 01:00-03:00"', 'cron: "0 1 * * 0"', "bad.yaml:2: maintenance[0]: a cron window"),
        ('weekly: "Sun 01:00-03:00"', 'cron: "0 1 * * 7"\n    duration: 1h', "bad.yaml:4: maintenance[0].cron: Error"),
        ('weekly: "Sun 01:00-03:00"', "start: 2026-11-11 02:00\n    end: 2026-11-11 01:00",
         "bad.yaml:2: maintenance[0]: a one-off window needs `start` and a later `end`"),
        ('weekly: "Sun 01:00-03:00"', 'weekly: "Sun 01:00-03:00"\n    duration: 1h', "`duration` goes with `cron`"),
        ("  - name: deploy", "  - name: deploy\n    after: forget", "bad.yaml:3: maintenance[0].after: Input should"),
    ],
)  # fmt: skip
def test_bad_windows_are_refused_with_file_line_and_field(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    with pytest.raises(ScheduleError) as caught:
        parse(GOOD.replace(old, new, 1), "bad.yaml")
    assert expected in str(caught.value)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Agent:
    """One service, its job failing or passing as the mode file says; runs every five (fake) minutes."""

    def __init__(self, tmp_path: Path, window: str = "", start: datetime = T0) -> None:
        self.modes = tmp_path / "modes"
        self.modes.mkdir()
        self.receiver = WebhookReceiver().start()
        self.clock = Clock(start)
        self.db = f"sqlite:///{tmp_path / 'orderprobe.db'}"
        self.environ = {"URL_ONCALL": self.receiver.url("/oncall")}
        # The job runner writes one journey into the real store, in a fork of a process that imported the store once.
        command = forkserver.shared().command(RUNNER, "{run_id}", "{results}", str(self.modes))
        self.file = tmp_path / "schedules.yaml"
        self.file.write_text(
            f"database: {self.db}\nartefacts: {tmp_path / 'artefacts'}\nmetrics: {{enabled: false}}\n{window}"
            "channels:\n  oncall: {type: webhook, url_env: URL_ONCALL}\n"
            "jobs:\n  - id: smoke\n    every: 5m\n    timeout: 60s\n"
            f"    command: {json.dumps(command)}\n"
            "    alert: {open_after: 2, resolve_after: 2, channels: [oncall]}\n"
        )
        config = parse(self.file.read_text(), str(self.file), self.environ)
        self.service = Service(config, environ=self.environ, clock=self.clock, location="sh")

    def run(self, mode: str) -> None:
        (self.modes / "mode").write_text(mode)
        self.clock.now += timedelta(minutes=5)
        assert self.service.run_job("smoke") is not None
        assert self.service.notifier.drain(timeout=60)

    def sent(self) -> list[str]:
        return [r.json()["event"] for r in self.receiver.requests]

    def close(self) -> None:
        self.service.stop(grace=0)
        self.receiver.stop()


@pytest.fixture
def make_agent(tmp_path: Path) -> Iterator:
    made: list[Agent] = []

    def make(window: str = "", start: datetime = T0) -> Agent:
        made.append(Agent(tmp_path, window, start))
        return made[-1]

    yield make
    for agent in made:
        agent.close()


def _window(after: str, end: str = "09:22") -> str:
    # 09:12-09:22 Shanghai: the failure starting at 09:10 crosses into it; the incident opens inside it
    return (
        "maintenance:\n  - name: db-upgrade\n    reason: 数据库升级 database upgrade\n"
        f"    start: 2026-11-11 09:12\n    end: 2026-11-11 {end}\n    after: {after}\n"
    )


def test_alerts_opened_inside_a_window_are_held_and_released_at_its_end(make_agent) -> None:
    agent = make_agent(_window("release"))
    agent.run("pass")  # 09:05
    agent.run("fail")  # 09:10, before the window
    agent.run("fail")  # 09:15: K=2 opens the incident, inside the window: held
    agent.run("fail")  # 09:20
    assert agent.sent() == []
    records = Records(agent.db, "sh")
    try:
        assert [r.verdict for r in records.runs("smoke")] == ["passed", "failed", "failed", "failed"]  # still recorded
        (held,) = records.held()
        assert (held.event, held.window, held.after) == ("open", "db-upgrade", "release")
        agent.run("fail")  # 09:25: the window has ended; the tick after the run releases what it held
        assert agent.sent() == ["open"] and records.held() == []
    finally:
        records.close()
    released = agent.receiver.requests[0].json()
    assert released["held"].startswith("db-upgrade") and "维护期间暂缓 Held during maintenance" in released["text"]
    assert released["bad_runs"] == 2  # as it was when it opened


def test_dropped_alerts_are_not_sent_and_a_failure_outlasting_the_window_is_announced_after_it(make_agent) -> None:
    agent = make_agent(_window("drop"))
    agent.run("pass"), agent.run("fail"), agent.run("fail"), agent.run("fail")  # 09:05 … 09:20
    agent.service.clock.now += timedelta(minutes=3)  # 09:23: over
    agent.service.tick()
    assert agent.sent() == []
    agent.run("fail")  # 09:28: still failing after the window: that is news
    assert agent.sent() == ["open"]
    assert agent.receiver.requests[0].json()["held"] == ""


def test_an_incident_opened_and_resolved_inside_the_window_says_nothing(make_agent) -> None:
    agent = make_agent(_window("release", end="09:30"), start=T0 + timedelta(minutes=7))
    agent.run("fail"), agent.run("fail"), agent.run("pass"), agent.run("pass")  # 09:12 … 09:27: open, resolve
    agent.run("pass")  # 09:32: over
    assert agent.sent() == []
    records = Records(agent.db, "sh")
    try:
        assert records.held() == [] and records.incidents()[0].resolved_at is not None
    finally:
        records.close()


def test_cli_mute_holds_a_jobs_alerts_until_unmuted(make_agent, capsys: pytest.CaptureFixture[str]) -> None:
    agent = make_agent(start=datetime.now(UTC))
    argv = ["schedule", "--config", str(agent.file)]
    assert cli([*argv, "mute", "smoke", "--for", "soon"]) == 2
    assert "--for: not a duration: 'soon'" in capsys.readouterr().err
    assert cli([*argv, "mute", "smok", "--for", "30m"]) == 2
    assert "no job 'smok' (jobs: smoke)" in capsys.readouterr().err
    assert cli([*argv, "mute", "smoke", "--for", "2h", "--reason", "发布 deploy", "--by", "lin"]) == 0
    assert "smoke: muted until" in capsys.readouterr().out
    agent.run("fail"), agent.run("fail")
    assert agent.sent() == []
    (period,) = _store_periods(agent.db)
    assert (period.source, period.reason, period.by, period.job) == ("mute", "发布 deploy", "lin", "smoke")
    agent.clock.now = datetime.now(UTC)  # the CLI ends it in real time
    assert cli([*argv, "unmute", "smoke"]) == 0
    agent.clock.now += timedelta(seconds=1)
    agent.service.tick()
    assert agent.service.notifier.drain(timeout=60)
    assert agent.sent() == ["open"]


def _store_periods(url: str) -> list:
    from orderprobe.store import maintenance
    from orderprobe.store.store import Store

    store = Store(url)
    try:
        return maintenance.between(store, 0, 2**40)
    finally:
        store.close()
