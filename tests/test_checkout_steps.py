"""The built-in checkout steps wait for the shop's own evidence, for as long as the run allows: the
SMS step types the code once the shop has answered the send (a code sent too early is refused,
and a healthy SMS channel would be named broken), and the shipping quote's wait is the run's
action timeout, longer on a page the link has been slow to bring.

Real Chromium, the demo shop on ephemeral ports, a real SQLite store: one in-process session of
three journeys (no second Python start-up); the built-in probe itself runs, imported unchanged.
"""

from __future__ import annotations

import re

import pytest

from orderprobe.base.result import JourneyResult, Status
from tests.support.once import once
from tests.support.stored import stored_journeys

ACTION_S = 5  # --action-timeout: the quote's wait on a quick page
SLOW_PAGE_MS = 1500  # the checkout page's own answer on the slow journey

PROBES = f"""
import pytest

from orderprobe.probes.checkout.steps import checkout
from orderprobe.probes.checkout.test_accounts import test_cross_province_login as cross_province_login


@pytest.mark.profile(account="traveller", region="urumqi")
def test_sms_sent_late(journey, page, target, profile, demo_shop):
    # The shop answers the send 1.5 s after the tap: a code submitted sooner is SMS_NOT_SENT.
    demo_shop.set_fault("slow_route", path="/api/sms/send", ms=1500)
    cross_province_login(journey, page, target, profile)


def test_quote_never_comes(journey, page, context, target, profile, demo_shop):
    demo_shop.set_fault("logistics_timeout")
    checkout(journey, page, context, target, profile, "GN-701")


def test_quote_never_comes_on_a_slow_page(journey, page, context, target, profile, demo_shop):
    demo_shop.set_fault("logistics_timeout")
    demo_shop.set_fault("slow_route", path="/checkout", ms={SLOW_PAGE_MS})
    checkout(journey, page, context, target, profile, "GN-701")
"""

# The three tests read one session (tests/support/durations.py): back to back on one worker.
ON_THE_RUN = pytest.mark.unit("checkout-steps")


@pytest.fixture
def journeys(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> dict[str, JourneyResult]:
    def run(_folder: object) -> dict:
        pytester.makepyfile(test_steps=PROBES)
        db = pytester.path / "results.db"
        pytester.runpytest_inprocess(
            "-p", "no:cacheprovider", f"--results=sqlite:///{db}", f"--artefacts={pytester.path / 'art'}",
            f"--action-timeout={ACTION_S * 1000}", "--tracing=off", "--har=off", "--screenshots=off", "--no-report",
        )  # fmt: skip
        return {"db": str(db)}

    _, made = once(tmp_path_factory, "checkout-steps", run)
    return {j.nodeid.split("::")[-1].split("[")[0]: j for j in stored_journeys(made["db"])}


def waited_s(journey: JourneyResult) -> float:
    """How long the quote step says it waited, from its failure message."""
    assert journey.failure is not None, journey
    found = re.search(r"shipping quote never arrived within ([\d.]+) s", journey.failure.message)
    assert found, journey.failure.message
    return float(found.group(1))


@ON_THE_RUN
def test_the_sms_code_is_typed_once_the_shop_answered_the_send(journeys: dict[str, JourneyResult]) -> None:
    journey = journeys["test_sms_sent_late"]
    assert journey.status is Status.PASSED, (journey.failure, journey.cause)
    assert [s.name for s in journey.steps] == ["log in", "buy now", "sms verification", "pay"]


@ON_THE_RUN
def test_a_quote_that_never_comes_waits_the_runs_action_timeout(journeys: dict[str, JourneyResult]) -> None:
    journey = journeys["test_quote_never_comes"]
    assert journey.status is Status.FAILED and journey.failure and journey.failure.step == "buy now"
    cause = journey.cause
    assert cause and (cause.category, cause.detail) == ("third_party", "timeout"), cause
    assert f"the action timeout, {ACTION_S} s" in journey.failure.message
    assert waited_s(journey) >= ACTION_S


@ON_THE_RUN
def test_a_page_the_link_brought_slowly_gets_longer_for_its_quote(journeys: dict[str, JourneyResult]) -> None:
    journey = journeys["test_quote_never_comes_on_a_slow_page"]
    assert journey.status is Status.FAILED and journey.failure and journey.failure.step == "buy now"
    cause = journey.cause
    assert cause and (cause.category, cause.detail) == ("third_party", "timeout"), cause
    # At least as long again as the page's own answer took (the shop held it SLOW_PAGE_MS).
    assert waited_s(journey) >= ACTION_S + SLOW_PAGE_MS / 1000
