"""Journey / Step recorder and verdicts, without a browser (an injected clock)."""

from __future__ import annotations

import pytest

from orderprobe.base.result import Cause, Expectation, Interactions, Status, StepStatus
from orderprobe.probes.failed_action import parse_action
from orderprobe.probes.journey import Journey, Phase
from orderprobe.probes.outcome import combine_attempts, verdict


class FakeClock:
    """Injected time: the test decides how long each step takes."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_steps_are_timed_on_the_injected_clock_and_offsets_are_relative():
    clock = FakeClock()
    journey = Journey("video_feed_checkout", clock=clock)
    clock.now += 0.5
    with journey.step("open feed"):
        clock.now += 1.25
    with journey.step("pay", budget_ms=100):
        clock.now += 0.2
    feed, pay = journey.steps
    assert (feed.start_ms, feed.duration_ms) == (500.0, 1250.0)
    assert (pay.start_ms, pay.duration_ms) == (1750.0, 200.0)
    assert pay.status is StepStatus.SLOW and feed.status is StepStatus.PASSED
    assert journey.slow


def test_step_counts_are_the_difference_of_the_meter():
    totals = Interactions()
    journey = Journey("p", meter=lambda: totals.model_copy())
    with journey.step("a"):
        totals.taps += 2
        totals.text_inputs += 1
    with journey.step("b"):
        totals.page_loads += 1
    assert journey.steps[0].interactions.taps == 2 and journey.steps[0].interactions.text_inputs == 1
    assert journey.steps[1].interactions.taps == 0 and journey.steps[1].interactions.page_loads == 1


def test_a_failing_step_is_recorded_and_listeners_see_the_error():
    seen = []

    class Listener:
        phase = Phase.CAPTURE

        def on_step_start(self, journey, name):
            seen.append(("start", name))

        def on_step_end(self, journey, step):
            seen.append(("end", step.name, step.status))

        def on_step_failed(self, journey, name, error):
            seen.append(("failed", name, type(error).__name__))

    journey = Journey("p")
    journey.listeners.append(Listener())
    with pytest.raises(TimeoutError), journey.step("pay"):
        raise TimeoutError("Locator.click: Timeout 100ms exceeded.")
    assert journey.failed_step == "pay"
    assert journey.steps[0].status is StepStatus.FAILED
    assert journey.steps[0].error.startswith("TimeoutError: Locator.click")
    assert seen == [("start", "pay"), ("failed", "pay", "TimeoutError"), ("end", "pay", StepStatus.FAILED)]


def test_steps_do_not_nest():
    journey = Journey("p")
    with pytest.raises(RuntimeError, match="do not nest"), journey.step("outer"), journey.step("inner"):
        pass


def test_parse_action_reads_playwright_errors():
    click = 'Locator.click: Timeout 5000ms exceeded.\nCall log:\n  - waiting for get_by_test_id("pay-submit")\n'
    assert parse_action(click) == ("Locator.click", 'get_by_test_id("pay-submit")')
    expect = (
        "Locator expected to be visible\nActual value: None\nCall log:\n"
        '  - Expect "to_be_visible" with timeout 5000ms\n  - waiting for get_by_test_id("order-confirmed")\n'
    )
    assert parse_action(expect) == ("expect.to_be_visible", 'get_by_test_id("order-confirmed")')
    assert parse_action("name 'x' is not defined") == (None, None)


RISK = Cause(category="account", detail="teen")


@pytest.mark.parametrize(
    ("failed", "cause", "expectation", "slow", "status"),
    [
        (False, None, Expectation(), False, Status.PASSED),
        (False, None, Expectation(), True, Status.DEGRADED),
        (True, RISK, Expectation(), False, Status.FAILED),
        (True, RISK, Expectation(outcome="blocked", causes=("account",)), False, Status.BLOCKED),
        (True, RISK, Expectation(outcome="blocked"), False, Status.BLOCKED),
        (True, RISK, Expectation(outcome="blocked", causes=("region",)), False, Status.FAILED),
        (True, Cause(category="probe_broken"), Expectation(outcome="blocked"), False, Status.ERROR),
        # the shopper's own link (the emulator's dropout, DNS pollution) is never the shop's refusal
        (True, Cause(category="network"), Expectation(outcome="blocked", causes=("network",)), False, Status.FAILED),
        (False, None, Expectation(outcome="blocked"), False, Status.FAILED),
    ],
)
def test_verdict(failed, cause, expectation, slow, status):
    got, got_cause = verdict(failed=failed, cause=cause, expectation=expectation, slow=slow)
    assert got is status
    if not failed and expectation.outcome == "blocked":
        assert got_cause is not None and got_cause.detail == "not_blocked"


def test_retries_make_a_late_pass_flaky_not_hidden():
    assert combine_attempts([Status.FAILED, Status.PASSED]) is Status.FLAKY
    assert combine_attempts([Status.FAILED, Status.FAILED]) is Status.FAILED
    assert combine_attempts([Status.PASSED]) is Status.PASSED
    assert not Status.FAILED.ok and Status.FLAKY.ok and Status.BLOCKED.ok
