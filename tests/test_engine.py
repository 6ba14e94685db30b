"""The engine end to end: probe files run through pytest against the embedded demo shop on
ephemeral ports, in real headless Chromium, with results in a real SQLite store.

A session runs in this process (pytester's in-process run: no second Python start-up) where
the test checks journeys' outcomes in one process; tests of xdist workers (parallel writes, a
killed worker, a worker's journey in the summary) run pytest in a subprocess, as users do. Tests
whose journeys need the same options share one session (``shared``: the defaults; ``retried``:
``--retries 1``; ``workers``: two xdist workers): each asserts on its own probe file's journeys.
This module has no ``chromium`` fixture: Playwright's sync API allows one instance per thread,
and an in-process session launches its own."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import playwright
import pytest

from orderprobe.base.result import JourneyResult, Status
from orderprobe.cli import main as orderprobe
from orderprobe.probes.events import read_events
from orderprobe.store.store import Store
from tests.support.once import once
from tests.support.stored import stored_journeys

BUILTIN = Path(__file__).resolve().parents[1] / "probes" / "checkout"


def run_probes(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, JourneyResult]]:
    db = pytester.path / "results.db"
    run = pytester.runpytest_subprocess if "-n" in args else pytester.runpytest_inprocess
    result = run("-p", "no:cacheprovider", f"--results=sqlite:///{db}", f"--artefacts={pytester.path / 'art'}", *args)
    return result, {j.nodeid.split("::")[-1]: j for j in stored_journeys(db)}


def by_probe(journeys: dict[str, JourneyResult]) -> dict[str, JourneyResult]:
    return {j.probe: j for j in journeys.values()}


@dataclass(frozen=True)
class Shared:
    """One session of several probe files, run once for the tests that read it (``shared_session``)."""

    path: Path  # the session's folder: its store, artefacts
    outcomes: list[tuple[str, int]]  # (nodeid, 0 passed | 1 skipped | 2 failed) of each report, as listoutcomes
    journeys: dict[str, JourneyResult]
    output: str  # pytest's terminal output

    def of(self, file: str) -> dict[str, JourneyResult]:
        """The journeys of one probe file."""
        return {name: j for name, j in self.journeys.items() if j.nodeid.startswith(f"{file}.py::")}

    def assert_outcomes(self, file: str, passed: int = 0, failed: int = 0) -> None:
        """``RunResult.assert_outcomes`` for one probe file's tests (an error counts as failed)."""
        got = [sum(n.startswith(f"{file}.py::") and k == kind for n, k in self.outcomes) for kind in range(3)]
        assert got == [passed, 0, failed], f"{file}: passed, skipped, failed = {got}"


_KINDS = {"PASSED": 0, "SKIPPED": 1, "FAILED": 2, "ERROR": 2}


def _outcomes(result: pytest.RunResult) -> list[tuple[str, int]]:
    """Each report's (nodeid, kind): from the in-process run's recorder, or from a subprocess run's
    ``-rA`` summary lines (``PASSED test_x.py::test_y[...]``)."""
    if hasattr(result, "reprec"):
        reports = result.reprec.listoutcomes()  # type: ignore[attr-defined]
        return [(r.nodeid, k) for k, rs in enumerate(reports) for r in rs]
    found = (re.match(r"(PASSED|SKIPPED|FAILED|ERROR) (\S+\.py::\S+)", line) for line in result.outlines)
    return [(m[2], _KINDS[m[1]]) for m in found if m]


def shared_session(
    pytester: pytest.Pytester,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    files: Callable[[Path], dict[str, str]],
    *args: str,
) -> Shared:
    """One session of the probe files ``files(folder)`` gives, with ``args``: run by the first test
    that asks (once per test session, whichever xdist worker asks: ``tests/support/once.py``), in
    its folder; read by the others."""

    def run(_folder: Path) -> dict:
        made = files(pytester.path)
        for file, text in made.items():
            pytester.makepyfile(**{file: text})
        result, journeys = run_probes(pytester, "-p", "no:randomly", "-rA", *args)  # in file order
        for file in made:  # the asking test may run probes of its own in this folder next
            (pytester.path / f"{file}.py").unlink()
        run_id = next(iter(journeys.values())).run_id
        return {"path": str(pytester.path), "run": run_id, "outcomes": _outcomes(result), "output": result.stdout.str()}

    _, made = once(tmp_path_factory, name, run)
    path = Path(made["path"])
    store = Store(f"sqlite:///{path / 'results.db'}")
    try:  # the asking test may have written runs of its own to this store since
        journeys = {j.nodeid.split("::")[-1]: j for j in store.journeys(made["run"])}
    finally:
        store.close()
    return Shared(path, [(n, k) for n, k in made["outcomes"]], journeys, made["output"])


# The tests that read a shared run are one unit (tests/support/durations.py): back to back on one
# worker, the first makes the run and the others read it; spread, they waited idle for its build.
ON_THE_SHARED_RUN = pytest.mark.unit("engine-shared")
ON_THE_RETRIED_RUN = pytest.mark.unit("engine-retried")
ON_THE_WORKERS_RUN = pytest.mark.unit("engine-workers")


@pytest.fixture
def shared(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> Shared:
    """Every probe file in ``SHARED`` (a_crash before b_after), with the default options, in this process."""
    return shared_session(pytester, tmp_path_factory, "engine-shared", lambda _: SHARED)


@pytest.fixture
def retried(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> Shared:
    """``retried_probes`` with ``--retries 1`` and the default tracing (a retry records a trace),
    the payment gateway down for the payment probe, in this process."""
    args = ("--label=fault=payment_down", "--retries=1")
    return shared_session(pytester, tmp_path_factory, "engine-retried", retried_probes, *args)


@pytest.fixture
def workers(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> Shared:
    """``WORKERS``'s probes on two xdist workers, in a subprocess (as users run it)."""
    return shared_session(pytester, tmp_path_factory, "engine-workers", lambda _: WORKERS, "-n", "2", "--tracing=off")


@ON_THE_SHARED_RUN
def test_a_shop_delay_shows_up_in_its_own_step_and_no_other(shared):
    shared.assert_outcomes("test_timing", passed=1)
    steps = {s.name: s for s in next(iter(shared.of("test_timing").values())).steps}
    assert steps["live"].duration_ms >= 3000
    assert steps["home"].duration_ms < 3000 and steps["subsidy"].duration_ms < 3000
    # Steps follow each other on one monotonic clock.
    assert steps["home"].start_ms <= steps["live"].start_ms <= steps["subsidy"].start_ms
    assert steps["subsidy"].start_ms >= steps["live"].start_ms + steps["live"].duration_ms - 1


def test_entry_paths_cost_what_they_require_and_the_buried_cart_two_taps_more(pytester, capsys):
    """Counted in the browser: taps (trusted clicks), text inputs, page loads. Every path taps its
    way to cart and checkout; the field study's cart three menus deep costs +2 steps (taps)."""
    result, journeys = run_probes(pytester, str(BUILTIN), "--matrix=paths", "-k", "wifi")
    result.assert_outcomes(passed=4)
    paths = by_probe(journeys)

    def cost(probe: str) -> tuple[int, int, int, int]:
        j = paths[probe]
        return len(j.steps), j.interactions.taps, j.interactions.text_inputs, j.interactions.page_loads

    # video feed: add to cart, cart bubble, checkout, submit, channel + pay = 6 taps; 7 address
    # fields; feed, feed again after add, cart, checkout, cashier hand-off, cashier, confirmation = 7 loads
    assert cost("video_feed_checkout") == (6, 6, 7, 7)
    # the buried cart: 我的 → 订单与工具 → 购物车 instead of the bubble, and the two menu pages
    assert cost("buried_cart_checkout") == (6, 8, 7, 9)
    # live room: product, buy now, submit, channel + pay; no cart page
    assert cost("live_room_checkout") == (4, 5, 7, 6)
    # subsidy: buy now, submit, channel + pay; the address is pre-filled
    assert cost("subsidy_checkout") == (3, 4, 0, 5)
    buried, feed = paths["buried_cart_checkout"].interactions, paths["video_feed_checkout"].interactions
    assert buried.taps - feed.taps == 2  # seed §7: 购物车入口隐藏在三级菜单 … 增加 2 步操作
    assert all(j.interactions.requests >= j.interactions.page_loads for j in paths.values())
    assert all(j.interactions.bytes > 10_000 for j in paths.values())

    # The UX team's report shows the difference against the one-tap cart path (the console
    # script's entry point, in this process).
    out = pytester.path / "reports"
    code = orderprobe([
        "report", "compare", f"--results=sqlite:///{pytester.path / 'results.db'}",
        f"--out={out}", "--lang=en", "--baseline=video_feed_checkout",
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    (report,) = out.glob("compare*.html")
    page = report.read_text(encoding="utf-8")
    taps = page.split('data-metric="taps"', 1)[1].split("</tr>", 1)[0]
    cell = taps.split('data-probe="buried_cart_checkout"', 1)[1].split("</td>", 1)[0]
    assert "<b>8</b>" in cell and re.search(r">\s*\+2\b", cell), cell


PAY_PROBE = """
from orderprobe.probes.checkout.steps import buy_now, pay, sign_in

def test_checkout(journey, page, context, target, profile, demo_shop, request):
    if request.config.getoption("--label") == ["fault=payment_down"]:
        demo_shop.set_fault("payment_down")
    sign_in(context, target, profile.account)
    with journey.step("buy now"):
        buy_now(page, target, "GN-701", profile.region.address)
    with journey.step("pay"):
        pay(page)
"""

# The shared session's probe files (``shared``), one per test that reads it; run in this order.
SHARED = {
    "test_crash": """
def test_a_crash(journey, page, browser, target):
    with journey.step("open"):
        page.goto(target.url("/"))
        browser.close()  # what a crashed browser looks like from here
        page.goto(target.url("/live"))

def test_b_after(journey, page, target):
    with journey.step("open"):
        page.goto(target.url("/"))
""",
    "test_drift": """
def test_drift(journey, page, target):
    with journey.step("open subsidy page"):
        page.goto(target.url("/subsidy"))
    with journey.step("buy now"):
        page.get_by_test_id("subsidy-buy-NO-SUCH-BUTTON").click(timeout=1500)
""",
    "test_expect": PAY_PROBE.replace("def test_checkout", "def _checkout")
    + """
import pytest

@pytest.mark.profile(account="teen")
@pytest.mark.expect("blocked", causes=["account"])
def test_teen(journey, page, context, target, profile, demo_shop, request):
    _checkout(journey, page, context, target, profile, demo_shop, request)

@pytest.mark.expect("blocked", causes=["account"])
def test_normal_should_have_been_blocked(journey, page, context, target, profile, demo_shop, request):
    _checkout(journey, page, context, target, profile, demo_shop, request)

@pytest.mark.profile(account="teen")
@pytest.mark.expect("blocked", causes=["region"])
def test_teen_blocked_for_the_wrong_reason(journey, page, context, target, profile, demo_shop, request):
    _checkout(journey, page, context, target, profile, demo_shop, request)
""",
    "test_pay": PAY_PROBE,
    "test_timing": """
def test_timed(journey, page, target, demo_shop):
    page.goto(target.url("/me"))  # warm up outside any step
    demo_shop.set_fault("slow_route", path="/live", ms=3000)  # the last file: no journey after it
    with journey.step("home"):
        page.goto(target.url("/"))
    with journey.step("live"):
        page.goto(target.url("/live"))
    with journey.step("subsidy"):
        page.goto(target.url("/subsidy"))
""",
}


@ON_THE_SHARED_RUN
def test_payment_fault_fails_at_pay_with_evidence_and_healthy_shop_passes(shared, retried):
    """The same probe on the healthy shop (``shared``) and with the gateway down (``retried``: its
    last attempt, whose trace is kept as a failed retry's is)."""
    shared.assert_outcomes("test_pay", passed=1)  # the healthy shop
    passed = next(iter(shared.of("test_pay").values()))
    assert passed.status is Status.PASSED and passed.failure is None
    assert passed.artefacts == []  # nothing kept for a passing journey (trace discarded)
    assert not (shared.path / "art" / passed.run_id / passed.nodeid.split("::")[-1]).exists()

    retried.assert_outcomes("test_pay", failed=1)
    journey = next(iter(retried.of("test_pay").values()))
    assert journey.status is Status.FAILED
    failure = journey.failure
    assert failure.step == "pay"
    assert "pay.localhost" in failure.url and failure.document_status == 503
    assert any(r.status == 503 and "pay.localhost" in r.url for r in failure.failed_requests)
    assert journey.cause.dependency == "payment-gateway"
    kinds = {a.kind: a for a in journey.artefacts}
    assert {"screenshot", "trace"} <= set(kinds)
    for artefact in kinds.values():
        path = retried.path / "art" / artefact.path
        assert path.stat().st_size == artefact.bytes > 0
    assert failure.screenshot == kinds["screenshot"].path and failure.trace == kinds["trace"].path


def retried_probes(folder: Path) -> dict[str, str]:
    """``retried``'s probe files: ``test_flaky`` (its first attempt fails, its retry passes; each
    writes the shop it ran on to ``folder/shops``), then the payment probe (``PAY_PROBE``)."""
    marker, shops = folder / "attempted", folder / "shops"
    flaky = f"""
        from pathlib import Path

        def test_a_passes(journey, page, target):
            with journey.step("open"):
                page.goto(target.url("/"))
            Path({str(shops)!r}).write_text(target.base_url + "\\n")

        def test_flaky(journey, page, target):
            with journey.step("open"):
                page.goto(target.url("/"))
                with open({str(shops)!r}, "a") as out:
                    out.write(target.base_url + "\\n")
                first = not Path({str(marker)!r}).exists()
                Path({str(marker)!r}).touch()
                assert not first, "first attempt fails"
        """
    return {"test_flaky": flaky, "test_pay": PAY_PROBE}


@ON_THE_RETRIED_RUN
def test_by_default_a_first_attempt_keeps_evidence_without_a_trace_and_its_retry_records_one(retried):
    """--tracing on-first-retry: trace snapshots cost the most on heavy pages, so a first attempt
    records none; its failure still has the step, failed requests and a screenshot."""
    retried.assert_outcomes("test_pay", failed=1)
    retry = next(iter(retried.of("test_pay").values()))
    assert retry.status is Status.FAILED and retry.attempt == 2
    first = retry.previous_attempts[0]
    assert first.failure.step == "pay" and first.failure.trace is None
    assert any(r.status == 503 for r in first.failure.failed_requests)
    assert first.failure.screenshot and "trace" not in {a.kind for a in first.artefacts}
    trace = next(a for a in retry.artefacts if a.kind == "trace")
    assert retry.failure.trace == trace.path and (retried.path / "art" / trace.path).stat().st_size > 0


@ON_THE_SHARED_RUN
def test_expectations_blocked_is_a_pass_and_unexpected_success_fails(shared):
    shared.assert_outcomes("test_expect", passed=1, failed=2)
    probes = by_probe(shared.of("test_expect"))
    assert probes["teen"].status is Status.BLOCKED and probes["teen"].cause.category == "account"
    unexpected = probes["normal_should_have_been_blocked"]
    assert unexpected.status is Status.FAILED and unexpected.cause.detail == "not_blocked"
    assert probes["teen_blocked_for_the_wrong_reason"].status is Status.FAILED


# ``workers``' probe files: 8 journeys, 4 a worker, for two workers to run side by side (each a page
# load and a step in the page: what is tested is that every journey and step of both reaches the
# store and the events, not the pages), and a journey that fails on a worker.
WORKERS = {
    "test_down": """
        def test_pay_down(journey, page, target, demo_shop):
            demo_shop.set_fault("api_5xx", pages=True)
            with journey.step("open subsidy"):
                page.goto(target.url("/subsidy"))
                page.get_by_role("button", name="立即抢购").first.click(timeout=2000)
        """,
    "test_many": """
        import pytest

        @pytest.mark.parametrize("n", range(8))
        def test_visit(journey, page, target, n):
            with journey.step("open"):
                page.goto(target.url("/"))
            with journey.step("read"):
                assert page.title()
        """,
}


@ON_THE_WORKERS_RUN
def test_concurrent_workers_lose_no_journey(workers):
    workers.assert_outcomes("test_many", passed=8)
    journeys = workers.of("test_many")
    assert len(journeys) == 8 and all(len(j.steps) == 2 for j in journeys.values())
    assert {j.worker for j in journeys.values()} == {"gw0", "gw1"}
    run_id = next(iter(journeys.values())).run_id
    events = [e for e in read_events(workers.path / "art" / run_id / "events.jsonl") if e.get("probe") == "visit"]
    assert sum(e["event"] == "journey/end" for e in events) == 8
    assert sum(e["event"] == "step/end" for e in events) == 16


@ON_THE_SHARED_RUN
def test_a_broken_selector_is_a_broken_probe_not_a_broken_checkout(shared):
    shared.assert_outcomes("test_drift", failed=1)
    journey = next(iter(shared.of("test_drift").values()))
    assert journey.status is Status.ERROR and journey.cause.category == "probe_broken"
    assert journey.failure.action == "Locator.click"
    assert journey.failure.locator == 'get_by_test_id("subsidy-buy-NO-SUCH-BUTTON")'


@ON_THE_RETRIED_RUN
def test_retries_record_a_late_pass_as_flaky_with_both_attempts(retried):
    """…and only a retry starts from a fresh browser and shop: a journey that passed leaves them
    to the next one (each shop is on a port of its own; the session's browser goes with it)."""
    retried.assert_outcomes("test_flaky", passed=2)
    journey = next(j for name, j in retried.of("test_flaky").items() if name.startswith("test_flaky"))
    assert journey.status is Status.FLAKY and journey.attempt == 2
    assert [a.status for a in journey.previous_attempts] == [Status.FAILED]
    passed, first, retry = (retried.path / "shops").read_text().split()
    assert passed == first and retry != first


@ON_THE_SHARED_RUN
def test_a_browser_that_dies_mid_run_is_relaunched_for_the_next_journey(shared):
    shared.assert_outcomes("test_crash", passed=1, failed=1)
    crash = by_probe(shared.of("test_crash"))
    assert crash["b_after"].status is Status.PASSED
    assert crash["a_crash"].status in (Status.FAILED, Status.ERROR)


def test_a_killed_worker_loses_only_its_own_journey(pytester):
    pytester.makepyfile(
        test_kill="""
        import os
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_visit(journey, page, target, n):
            with journey.step("open"):
                page.goto(target.url("/"))
            if n == 1:
                os._exit(3)  # the worker process dies mid-journey
        """
    )
    result, journeys = run_probes(pytester, "-n", "2", "--tracing=off")
    result.assert_outcomes(passed=3, failed=1)
    statuses = sorted(j.status.value for j in journeys.values())
    assert statuses == ["error", "passed", "passed", "passed"]
    crashed = next(j for j in journeys.values() if j.status is Status.ERROR)
    assert crashed.nodeid.endswith("-1]") and crashed.cause.detail == "worker_crashed"
    assert crashed.profile == "android-mid/wifi/shanghai/normal"  # recovered from its journey/start event


@ON_THE_WORKERS_RUN
def test_plain_pytest_names_each_failed_journeys_step_cause_and_evidence(workers):
    workers.assert_outcomes("test_down", failed=1)
    (journey,) = workers.of("test_down").values()
    assert journey.worker in ("gw0", "gw1")  # the journey reaches the summary from a worker
    out = workers.output
    summary = out[out.index("orderprobe: 1 journeys did not meet their expectation") :]
    assert f"FAILED pay_down [{journey.profile}] at step 'open subsidy': system/api_5xx" in summary
    assert journey.artefacts  # screenshot (and trace, when tracing keeps it): each one's path is listed
    for artefact in journey.artefacts:
        assert f"{artefact.kind}: {workers.path / 'art' / artefact.path}" in summary
    assert f"orderprobe report run {journey.run_id}" in summary
    # pytest's traceback: the probe's line and Playwright's error, not Playwright's own frames (as Playwright Test)
    told = out[: out.index("orderprobe: 1 journeys did not meet their expectation")]
    assert 'name="立即抢购").first.click(timeout=2000)' in told and "Locator.click: Timeout 2000ms exceeded" in told
    assert str(Path(playwright.__file__).parent) not in told, told
