"""The incident state machine on a real SQLite file with an injected clock (no sleeping)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderprobe.base.result import Cause, FailurePoint, JourneyResult, Status
from orderprobe.scheduler.config import AlertRule, JobConfig
from orderprobe.scheduler.incidents import Incidents, assess, channels_for, decide
from orderprobe.scheduler.records import JobRun, Records

T0 = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)  # Double 11
RULE = AlertRule(open_after=2, resolve_after=2, remind_every=1800, channels=("oncall",), low_urgency=("qa",))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _journey(status: Status, category: str | None = None, run_id: str = "r") -> JourneyResult:
    failing = status in (Status.FAILED, Status.ERROR)
    return JourneyResult(
        id=f"{run_id}-{status}",
        run_id=run_id,
        probe="checkout_basic",
        nodeid="probes/checkout/test_basic.py::test_checkout_basic",
        profile="android-old/metro/xinjiang/normal",
        status=status,
        started_at=T0,
        duration_ms=1234.0,
        failure=FailurePoint(step="pay", error_type="TimeoutError", message="timeout 10000ms") if failing else None,
        cause=Cause(category=category, detail="gateway_down", dependency="payment-gateway", summary="支付网关不可用")
        if category
        else None,
    )


class Harness:
    """Feeds runs of one job through Incidents, moving the clock one interval per run."""

    def __init__(
        self,
        tmp_path: Path,
        rule: AlertRule = RULE,
        *,
        agent: str = "local",
        location: str = "",
        clock: Clock | None = None,
    ) -> None:
        self.records = Records(f"sqlite:///{tmp_path / 'db.sqlite'}", agent, location)
        self.clock = clock or Clock()
        self.incidents = Incidents(self.records, clock=self.clock, report_link=lambda run_id: f"/reports/{run_id}")
        self.job = JobConfig(id="smoke", every=300, matrix="smoke", alert=rule)
        self.n = 0
        self.sent: list[tuple[str, str, str]] = []

    def run(self, *journeys: JourneyResult, exit_code: int | None = None, died: bool = False) -> list:
        self.n += 1
        self.clock.now = max(self.clock.now, T0 + timedelta(minutes=5 * self.n))
        code = exit_code if exit_code is not None else (0 if all(j.status.ok for j in journeys) else 1)
        verdict = assess(list(journeys), code, died)
        run = JobRun(
            run_id=f"smoke-{self.records.agent}-{self.n:03d}",
            job="smoke",
            started_at=self.clock.now,
            finished_at=self.clock.now + timedelta(seconds=40),
            outcome="timeout" if died else "completed",
            exit_code=code,
            verdict=verdict.verdict,
            checkout_bad=verdict.signals["checkout"],
            probe_bad=verdict.signals["probe_broken"],
            flaky_bad=verdict.signals["flaky"],
            problems=[p.model_dump() for p in verdict.problems],
        )
        self.records.save_run(run)
        alerts = self.incidents.after_run(self.job, run)
        self.sent += [(a.event, a.kind, ",".join(channels_for(self.job.alert, a))) for a in alerts]
        return alerts

    def fail(self) -> list:
        return self.run(_journey(Status.FAILED, "payment"))

    def ok(self) -> list:
        return self.run(_journey(Status.PASSED))


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    harness.records.close()


def test_k_consecutive_failures_open_exactly_one_incident_with_one_message(h: Harness) -> None:
    assert h.fail() == []  # K=2: one failure is not yet an incident
    (alert,) = h.fail()
    assert (alert.event, alert.kind, alert.urgency) == ("open", "checkout", "high")
    assert alert.first_failure_at == T0 + timedelta(minutes=5)  # the first run of the streak, not this one
    assert alert.bad_runs == 2 and alert.report == "/reports/smoke-local-002"
    assert [(p.step, p.cause, p.profile) for p in alert.problems] == [
        ("pay", "payment/gateway_down", "android-old/metro/xinjiang/normal")
    ]
    assert h.fail() == [] and h.fail() == []  # still failing: no repeat
    assert len(h.records.incidents(open_only=True)) == 1
    assert h.sent == [("open", "checkout", "oncall")]


def test_a_one_run_blip_opens_nothing(h: Harness) -> None:
    for _ in range(3):
        h.ok()
        h.fail()
    h.ok()
    assert h.sent == [] and h.records.incidents() == []


def test_m_passes_resolve_and_one_pass_does_not(h: Harness) -> None:
    h.fail(), h.fail()
    assert h.ok() == []  # M=2
    assert h.fail() == []  # the streak of passes broke; still open, no reminder yet
    assert h.ok() == []
    (resolved,) = h.ok()
    assert resolved.event == "resolve" and resolved.resolved_at == h.clock.now
    assert resolved.first_failure_at == T0 + timedelta(minutes=5)
    assert "持续 Duration: 25m00s" in resolved.text()
    assert h.sent == [("open", "checkout", "oncall"), ("resolve", "checkout", "oncall")]
    assert h.records.incidents(open_only=True) == []


def test_old_evidence_cannot_reopen_a_resolved_incident(h: Harness) -> None:
    h.fail(), h.fail(), h.ok(), h.ok()
    assert h.fail() == []  # one failure after resolution: the earlier ones do not count again
    (reopened,) = h.fail()
    assert reopened.event == "open" and reopened.incident_id != 1


def test_a_reminder_while_it_stays_open(h: Harness) -> None:
    h.fail(), h.fail()  # opened at minute 10
    for _ in range(5):  # minutes 15..35: the reminder is due 30 min after the last message
        h.fail()
    h.fail()  # minute 40
    assert [e for e, _k, _c in h.sent] == ["open", "remind"]
    (incident,) = h.records.incidents(open_only=True)
    assert incident.reminders == 1 and incident.last_notified_at == T0 + timedelta(minutes=40)
    assert incident.bad_runs == 8


def test_a_broken_probe_goes_to_the_low_urgency_channel_only(h: Harness) -> None:
    h.run(_journey(Status.ERROR, "probe_broken"))
    (alert,) = h.run(_journey(Status.ERROR, "probe_broken"))
    assert (alert.kind, alert.urgency) == ("probe_broken", "low")
    assert h.sent == [("open", "probe_broken", "qa")]
    assert alert.problems[0].status == "error"


def test_flaky_runs_open_a_low_urgency_incident_not_a_checkout_one(h: Harness) -> None:
    h.run(_journey(Status.FLAKY))
    h.run(_journey(Status.FLAKY))
    assert h.sent == [("open", "flaky", "qa")]


def test_a_journey_that_failed_every_retry_says_how_often_it_was_tried(h: Harness) -> None:
    def retried() -> JourneyResult:
        first = _journey(Status.FAILED, "payment")
        return first.model_copy(update={"attempt": 3, "previous_attempts": [first, first]})

    h.run(retried())
    (alert,) = h.run(retried())
    assert alert.problems[0].attempts == 3
    assert "after 3 attempts" in alert.text()
    h.run(_journey(Status.FLAKY))  # failed, then passed on a retry: the flaky state is kept, not a failure
    assert h.records.runs("smoke")[-1].verdict == "flaky" and h.sent == [("open", "checkout", "oncall")]


def test_a_hung_run_is_probe_broken_and_says_nothing_about_the_checkout(h: Harness) -> None:
    h.fail()
    h.run(died=True, exit_code=-15)  # no evidence for the checkout: the failure streak goes on
    (opened,) = [a for a in h.fail() if a.kind == "checkout"]
    assert opened.event == "open" and opened.bad_runs == 2
    assert ("open", "probe_broken", "qa") not in h.sent  # one died run is not K=2 of them
    h.run(died=True, exit_code=-15)
    (broken,) = h.run(died=True, exit_code=-15)
    assert (broken.kind, broken.urgency, broken.first_failure_at) == (
        "probe_broken",
        "low",
        h.clock.now - timedelta(minutes=5),
    )
    assert h.sent == [("open", "checkout", "oncall"), ("open", "probe_broken", "qa")]


def test_failure_rate_over_a_window_opens_an_incident(tmp_path: Path) -> None:
    rule = AlertRule(open_after=3, failure_rate=0.5, window=4, resolve_after=2, channels=("oncall",))
    h = Harness(tmp_path, rule)
    h.fail(), h.ok(), h.fail()  # never 3 in a row; only 3 runs so far (< window)
    assert h.sent == []
    assert h.ok() == []  # 2 of 4, but the latest run passed
    (alert,) = h.fail()  # 3 of the last 4
    assert alert.event == "open" and alert.first_failure_at == T0 + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("statuses", "code", "died", "verdict", "signals"),
    [
        ([Status.PASSED, Status.BLOCKED], 0, False, "passed", (False, False, False)),
        ([Status.PASSED, Status.FAILED], 1, False, "failed", (True, False, False)),
        ([Status.ERROR], 1, False, "error", (False, True, False)),
        ([Status.FLAKY, Status.DEGRADED], 0, False, "flaky", (False, False, True)),
        ([Status.FAILED], None, True, "failed", (True, True, None)),  # died after recording a failure
        ([], -9, True, "error", (None, True, None)),
        ([], 2, False, "error", (None, True, None)),  # the runner refused: our problem
        ([], 1, False, "failed", (True, False, False)),  # exit code 1 with nothing recorded: trust the code
        ([], 0, False, "passed", (False, False, False)),
    ],
)
def test_assess(statuses: list[Status], code: int | None, died: bool, verdict: str, signals: tuple) -> None:
    got = assess([_journey(s, "payment" if s is Status.FAILED else None) for s in statuses], code, died)
    assert got.verdict == verdict
    assert (got.signals["checkout"], got.signals["probe_broken"], got.signals["flaky"]) == signals


def test_decide_is_pure_and_ignores_runs_without_evidence() -> None:
    now = T0
    assert decide([True, None, True], is_open=False, last_notified=None, now=now, rule=RULE) == "open"
    assert decide([True, False], is_open=False, last_notified=None, now=now, rule=RULE) is None
    assert decide([True, False, None, False], is_open=True, last_notified=now, now=now, rule=RULE) == "resolve"
    assert decide([None, None], is_open=True, last_notified=now, now=now, rule=RULE) is None
    later = now + timedelta(seconds=1800)
    assert decide([True], is_open=True, last_notified=now, now=later, rule=RULE) == "remind"
    assert decide([False], is_open=True, last_notified=now, now=later, rule=RULE) is None  # good run: no reminder
    quiet = RULE.model_copy(update={"remind_every": None})
    assert decide([True], is_open=True, last_notified=now, now=later, rule=quiet) is None


def test_agents_sharing_a_database_keep_their_own_runs_and_share_incidents(tmp_path: Path) -> None:
    shanghai = Harness(tmp_path, agent="sh", location="sh")
    urumqi = Records(f"sqlite:///{tmp_path / 'db.sqlite'}", agent="urumqi", location="urumqi")
    shanghai.records.save_run(JobRun(run_id="smoke-running", job="smoke", started_at=T0))
    shanghai.fail(), shanghai.fail()
    assert len(shanghai.records.incidents(open_only=True)) == 1
    assert urumqi.runs("smoke") == [] and [i.seen for i in urumqi.incidents()] == [["sh"]]
    assert urumqi.unfinished_runs() == []  # another agent's run in progress is not ours to recover
    assert [r.run_id for r in shanghai.records.unfinished_runs()] == ["smoke-running"]
    assert {r.location for r in shanghai.records.runs("smoke")} == {"sh"}
    urumqi.close()
    shanghai.records.close()


def test_two_locations_one_incident_one_open_one_resolve(tmp_path: Path) -> None:
    """Each agent decides on its own runs; the incident opens once and resolves when the last
    failing location recovers (the real two-agent race on PostgreSQL: test_scheduler_locations)."""
    clock = Clock()
    sh = Harness(tmp_path, agent="sh", location="sh", clock=clock)
    hk = Harness(tmp_path, agent="hk", location="hk", clock=clock)
    sh.fail(), hk.fail()
    (opened,) = sh.fail()
    assert hk.fail() == []  # hk's own evidence says "open": it joins the incident, no second message
    assert opened.event == "open" and opened.locations == ["sh"] and "地点 Location: sh" in opened.text()
    (incident,) = sh.records.incidents(open_only=True)
    assert incident.seen == ["sh", "hk"] and incident.failing_at == ["sh", "hk"] and incident.bad_runs == 4
    assert sh.ok() == [] and sh.ok() == []  # recovered in Shanghai, still failing in Hong Kong: stays open
    assert [i.failing_at for i in sh.records.incidents(open_only=True)] == [["hk"]]
    assert hk.ok() == []
    (resolved,) = hk.ok()
    assert resolved.event == "resolve" and resolved.incident_id == opened.incident_id
    assert resolved.location == "hk" and "地点 Locations: sh, hk" in resolved.text()
    assert sh.sent + hk.sent == [("open", "checkout", "oncall"), ("resolve", "checkout", "oncall")]
    assert sh.records.incidents(open_only=True) == []
    sh.records.close(), hk.records.close()
