"""Every journey ends: a server that never answers, a page that never yields and a crashed
renderer each become an error at the step where they stopped, and the run goes on to the
next journey — real Chromium, a real silent TCP server, the embedded demo shop."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from test_engine import by_probe

from orderprobe.base.result import Status
from orderprobe.probes import deadline as watchdog
from orderprobe.probes.deadline import Deadline, tear_down
from orderprobe.store.store import Store


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections, reads the request, never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


PROBES = """
import pytest

BROWSERS = []  # each journey's browser: a deadline closes the journey's context, not a healthy browser

@pytest.mark.deadline(6)
def test_a_crash(journey, page):
    BROWSERS.append(page.context.browser)
    with journey.step("crash"):
        page.goto("chrome://crash")
    with journey.step("after crash"):
        page.get_by_text("never").click()

@pytest.mark.deadline(6)
def test_b_busy(journey, page):
    BROWSERS.append(page.context.browser)
    with journey.step("spin"):
        page.set_content("<p>busy</p>")
        page.evaluate("while (true) {}")

@pytest.mark.deadline(6)
def test_c_silent_server(journey, page):
    BROWSERS.append(page.context.browser)
    with journey.step("open silent"):
        page.set_content("<p>waiting for the shop</p>")
        page.goto("SILENT/", timeout=0)  # no Playwright timeout at all: only the deadline ends it

def test_d_healthy(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
    assert all(b is page.context.browser for b in BROWSERS), "the browser was killed and relaunched"
"""


def test_hangs_and_crashes_end_as_errors_at_their_step_and_the_run_goes_on(pytester, silent_server):
    pytester.makepyfile(test_hard=PROBES.replace("SILENT", silent_server))
    db = pytester.path / "results.db"
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--results=sqlite:///{db}",
        f"--artefacts={pytester.path / 'art'}",
        "--tracing=retain-on-failure",
        "--journey-timeout=600",  # the healthy journey's: however loaded the machine, it is not cut short
        timeout=900,  # not a timing check: without deadlines this run never ends, and the test must fail
    )
    store = Store(f"sqlite:///{db}")
    journeys = {j.nodeid: j for j in store.journeys(store.latest_run_id())}
    store.close()
    assert len(journeys) == 4, result.stdout.str()[-3000:]
    probes = by_probe(journeys)
    crash, busy, silent, healthy = (probes[n] for n in ("a_crash", "b_busy", "c_silent_server", "d_healthy"))

    assert crash.status is Status.ERROR and crash.cause.detail == "browser_crash"
    assert crash.failure.step == "crash" and "browser_crash" in crash.failure.message
    assert not any("main thread busy" in note for note in crash.failure.capture_notes)  # crashed, not busy

    for journey, step in ((busy, "spin"), (silent, "open silent")):
        assert journey.failure.message.startswith(f"timed out at step {step} (journey deadline 6 s")
        assert journey.failure.trace, "the trace up to the deadline is kept"
        assert (pytester.path / "art" / journey.failure.trace).stat().st_size > 0
    assert busy.status is Status.ERROR and busy.cause.detail == "journey_timeout", busy.failure
    # A frozen server (connection accepted, never an answer): the shop's timeout at the step that
    # waited for it, a failed checkout with the request, its wait, a screenshot and the trace.
    assert silent.status is Status.FAILED, silent.cause
    assert (silent.cause.category, silent.cause.detail) == ("system", "api_timeout"), silent.cause
    assert silent.failure.step == "open silent" and "journey deadline 6 s" in silent.cause.evidence
    hung = silent.failure.waiting[0]
    assert hung.url.startswith(silent_server) and hung.step == "open silent" and hung.waited_ms > 1000
    shot = silent.failure.screenshot
    assert shot and (pytester.path / "art" / shot).stat().st_size > 0, silent.failure.capture_notes
    assert any(r.url.startswith(silent_server) for r in silent.failure.requests)
    # What the page showed when its time ran out is kept: its screenshot and its text (the runaway
    # script stopped first; the page still shown while the navigation never committed).
    for journey, text in ((busy, "busy"), (silent, "waiting for the shop")):
        assert journey.failure.screenshot, journey.failure.capture_notes
        assert (pytester.path / "art" / journey.failure.screenshot).read_bytes().startswith(b"\x89PNG")
        assert journey.failure.page_text == text, journey.failure.capture_notes
    assert any("main thread busy" in note for note in busy.failure.capture_notes), busy.failure.capture_notes

    # The renderer crash and both deadlines cost their contexts only: the last journey ran in the
    # same browser (a teardown left waiting for its grace killed the browser and relaunched it).
    assert healthy.status is Status.PASSED, healthy.failure
    assert [s.name for s in healthy.steps] == ["home"]
    result.assert_outcomes(passed=1, failed=3)


def test_a_deadline_is_pushed_by_extend_pulled_by_cap_and_silenced_by_stop():
    fired: list[str] = []
    now = [0.0]
    deadline = Deadline(10, lambda: fired.append("x"), clock=lambda: now[0])
    deadline.extend(30)
    assert deadline._at == 30
    deadline.extend(5)  # never earlier
    assert deadline._at == 30
    deadline.cap(1)
    assert deadline._at == 1
    deadline.stop()
    now[0] = 100
    deadline.start()._thread.join()
    assert fired == [] and not deadline.expired.is_set()


def test_the_teardown_closes_the_context_while_the_worker_waits_and_the_browser_is_kept(chromium):
    """The watchdog's teardown runs on Playwright's loop, which turns only while the sync API's
    thread waits inside Playwright. A journey's worker that reaches ``stop`` from plain Python (its
    blocked call released, the verdict taken) must keep that loop turning while it waits: else the
    close waits out its grace and the healthy browser is killed and relaunched."""
    context = chromium.new_context()
    context.new_page().set_content("<p>checkout</p>")
    kills = watchdog.kills()
    deadline = Deadline(0, lambda: tear_down(context, None)).start()
    deadline.expired.wait()  # the worker is in plain Python now: Playwright's loop is still
    deadline.stop(turning=context)

    assert context not in chromium.contexts, "the journey's context is closed"
    assert watchdog.kills() == kills and chromium.is_connected(), "the browser was kept"
    chromium.new_context().close()  # and serves the next journey
