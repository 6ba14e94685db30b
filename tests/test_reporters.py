"""Reporters: one interface, picked by name; a new one is one file (here a conftest); a
failing one is named and fails the run. Probes run through pytest (in this process; in a
subprocess with xdist's workers), in real Chromium against the embedded demo shop."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderprobe.base.result import Cause, FailurePoint, JourneyResult, Status, StepResult, StepStatus
from orderprobe.probes.reporter import JourneyStart, Reporter, Reporters, Run
from orderprobe.probes.session import Settings
from orderprobe.reports import run_report
from orderprobe.reports.reporters import HtmlReporter, StoreReporter
from orderprobe.store.store import Store

PROBE = """
def test_visit(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
    with journey.step("subsidy"):
        page.goto(target.url("/subsidy"))
"""

# A whole new reporter: one class and the hook that names it, in one file.
RECORDING_REPORTER = """
import json
from orderprobe.probes.reporter import Reporter

class Recorder(Reporter):
    def __init__(self):
        self.out = open("calls.jsonl", "a")

    def _say(self, *what):
        self.out.write(json.dumps(what) + "\\n")
        self.out.flush()

    def on_run_start(self, run):
        self._say("run_start", run.id)

    def on_journey_start(self, journey):
        self._say("journey_start", journey.id, journey.probe)

    def on_step_end(self, journey, step):
        self._say("step_end", journey.id, step.name)

    def on_journey_end(self, result):
        self._say("journey_end", result.id, result.status.value)

    def on_run_end(self, run, exit_code):
        self._say("run_end", run.id, exit_code)

def pytest_orderprobe_reporters(reporters):
    reporters["recording"] = Recorder
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """In this process, but xdist's workers (``-n 2``) are processes: then the whole run is one."""
    run = pytester.runpytest_subprocess if "2" in args else pytester.runpytest_inprocess
    return run("-p", "no:cacheprovider", f"--artefacts={pytester.path / 'art'}", "--tracing=off", *args)


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_reporter_added_in_one_file_receives_every_hook_in_order(pytester: pytest.Pytester, workers: str) -> None:
    pytester.makeconftest(RECORDING_REPORTER)
    pytester.makepyfile(test_visit=PROBE.replace("def test_visit", "def test_a") + PROBE.replace("visit", "b"))
    result = _run(pytester, "-n", workers, "--reporter", "recording")
    result.assert_outcomes(passed=2)
    calls = [json.loads(line) for line in (pytester.path / "calls.jsonl").read_text().splitlines()]
    assert calls[0][0] == "run_start" and calls[-1] == ["run_end", calls[0][1], 0]
    journeys = calls[1:-1]
    for probe in ("a", "b"):
        (start,) = [c for c in journeys if c[0] == "journey_start" and c[2] == probe]
        mine = [c for c in journeys if c[1] == start[1]]
        # start, then each step as it ended, then the finished journey
        assert [c[0] for c in mine] == ["journey_start", "step_end", "step_end", "journey_end"]
        assert [c[2] for c in mine[1:3]] == ["home", "subsidy"] and mine[-1][2] == "passed"
    assert not (pytester.path / "art").exists() or not list((pytester.path / "art").glob("*/events.jsonl"))


def test_a_run_whose_results_were_not_stored_fails_and_says_which_reporter_and_why(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_visit=PROBE)
    unwritable = pytester.path / "results.db"
    unwritable.mkdir()  # SQLite cannot open a folder as its file (a missing folder is made before the run)
    result = _run(pytester, f"--results=sqlite:///{unwritable}", "--reporter", "store,events")
    assert result.ret == 3
    assert "reporter 'store' failed in on_run_start" in result.stderr.str()
    assert "unable to open database file" in result.stderr.str()
    # the other reporters still did their job
    (events,) = (pytester.path / "art").glob("*/events.jsonl")
    assert [json.loads(line)["event"] for line in events.read_text().splitlines()][-2:] == ["journey/end", "run/end"]


def test_the_summary_never_says_pass_when_a_reporter_failed_at_the_run_end(pytester: pytest.Pytester) -> None:
    """The html reporter fails only at the run's end (its folder is a file); the terminal, which
    speaks last, must already know the exit code is 3."""
    pytester.makepyfile(test_visit=PROBE)
    (pytester.path / "reports-is-a-file").write_text("")
    result = _run(pytester, "--reports", str(pytester.path / "reports-is-a-file"), "--reporter", "store,html,progress",
                  "--no-progress")  # fmt: skip
    assert result.ret == 3
    out = result.stdout.str()
    assert "PASS" not in out, out
    assert any(line.startswith("FAIL: exit 3") for line in out.splitlines()), out
    assert "reporter 'html' failed in on_run_end" in result.stderr.str()


def test_an_unknown_reporter_is_refused_naming_the_ones_there_are(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_visit=PROBE)
    result = _run(pytester, "--reporter", "store,nosuch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "unknown reporter nosuch" in err
    assert all(name in err for name in ("events", "html", "junit", "progress", "store"))


def _journey(n: int, status: Status, started: datetime) -> JourneyResult:
    failed = status is Status.FAILED
    return JourneyResult(
        id=f"j{n}",
        run_id="r1",
        probe=f"probe_{n % 2}",
        nodeid=f"t.py::test_probe_{n % 2}[{n}]",
        profile=f"android-mid/wifi/region{n}/normal",
        status=status,
        started_at=started + timedelta(seconds=n),
        duration_ms=1000.0 + n,
        steps=[
            StepResult(name="pay", status=StepStatus.FAILED if failed else StepStatus.PASSED, start_ms=0, duration_ms=9)
        ],
        failure=FailurePoint(step="pay", error_type="TimeoutError", message="no confirmation") if failed else None,
        cause=Cause(category="payment", detail="gateway_down", summary="支付网关不可用") if failed else None,
    )


def test_store_and_html_reporters_agree_with_the_report_read_back_from_the_store(tmp_path: Path) -> None:
    started = datetime(2026, 6, 18, 1, 0, tzinfo=UTC)
    settings = Settings(
        target=None, matrix="presale", profile={}, profile_dirs=(), results=f"sqlite:///{tmp_path / 'r.db'}",
        artefacts=tmp_path / "art", trace="off", retries=0, action_timeout_ms=1000, dependencies={}, rule_files=(),
        headed=False, reports=tmp_path / "live", lang="en",
    )  # fmt: skip
    run = Run("r1", started, settings, "orderprobe run --matrix presale")
    reporters = [StoreReporter(), HtmlReporter()]
    for r in reporters:
        r.on_run_start(run)
    for n, status in enumerate([Status.PASSED, Status.FAILED, Status.BLOCKED, Status.PASSED]):
        for r in reporters:
            r.on_journey_end(_journey(n, status, started))
    for r in reporters:
        r.on_run_end(run, 1)
    live = Path(run.outputs["report"]).read_text(encoding="utf-8")

    store = Store(settings.results)
    try:
        assert store.run("r1").exit_code == 1 and len(store.journeys("r1")) == 4
        stored = run_report.write(store, "r1", settings.artefacts, tmp_path / "stored", "en").read_text(
            encoding="utf-8"
        )
    finally:
        store.close()

    def facts(page: str) -> tuple[list[str], list[tuple[str, str]], str]:
        journeys = re.findall(r'<details class="journey" id="(j-\w+)" data-status="(\w+)"', page)
        counts = re.findall(r'class="chip [^"]*" data-status="(\w+)"><b>(\d+)</b>', page)
        verdict = re.search(r'<div class="(verdict [^"]+)" id="verdict">', page)
        return journeys, counts, verdict.group(1) if verdict else ""

    assert facts(live) == facts(stored)
    journeys, counts, verdict = facts(live)
    assert len(journeys) == 4 and journeys[0][1] == "failed"  # worst first
    assert ("passed", "2") in counts and verdict == "verdict v-failed"


class Calls(Reporter):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def on_journey_start(self, journey: JourneyStart) -> None:
        self.calls.append(("start", journey.id))

    def on_step_end(self, journey: JourneyStart, step: StepResult) -> None:
        self.calls.append(("step", step.name))

    def on_journey_end(self, result: JourneyResult) -> None:
        self.calls.append(("end", result.id))


def test_each_step_reaches_reporters_once_live_or_with_its_journey() -> None:
    started = datetime(2026, 6, 18, 1, 0, tzinfo=UTC)
    journey = _journey(1, Status.PASSED, started).model_copy(
        update={"steps": [StepResult(name=n, status=StepStatus.PASSED, start_ms=0, duration_ms=1) for n in "ab"]}
    )
    start = JourneyStart(journey.id, journey.nodeid, journey.probe, journey.profile, "main", started)
    reporters = Reporters(["calls"], {"calls": Calls})
    (_, calls), step = reporters.chosen[0], journey.steps[0]

    reporters.step_end(start, step)  # an attempt pytest never reported (a retried one): dropped
    reporters.journey_start(start)
    reporters.step_end(start, step)  # in this process: live
    reporters.journey_end(journey.model_copy(update={"steps": [step]}))
    assert calls.calls == [("start", "j1"), ("step", "a"), ("end", "j1")]

    calls.calls.clear()
    reporters.journey_start(start)  # from a worker: steps come with the result, in order
    reporters.journey_end(journey)
    assert calls.calls == [("start", "j1"), ("step", "a"), ("step", "b"), ("end", "j1")]
