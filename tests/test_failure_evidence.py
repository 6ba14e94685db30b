"""A failure always keeps a screenshot and the page text, or says why not: real Chromium on local
pages that make capture hard (tests/support/hostile.py) — a main thread busy for good, a spinner
that never stops beside a web font that never arrives, a page already closed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from orderprobe.base.result import FailurePoint
from orderprobe.probes.journey import Journey
from orderprobe.probes.recorder import Recorder
from tests.support.hostile import Shop, hostile_shop

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    with hostile_shop() as running:
        yield running


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    ctx = chromium.new_context()
    yield ctx
    ctx.close()


def pay_on(context: BrowserContext, url: str, tmp_path: Path) -> tuple[FailurePoint, Page]:
    page = context.new_page()
    recorder = Recorder(context, page, tmp_path, "j", site=url)
    journey = Journey("pay", meter=recorder.meter, settle=recorder.settle)
    journey.listeners = [recorder]
    with pytest.raises(Exception, match="Timeout"), journey.step("pay"):
        page.goto(url, wait_until="domcontentloaded")
        page.locator("#confirm-payment").click(timeout=1500)  # not on the page
    assert recorder.failure is not None
    return recorder.failure, page


def shot(failure: FailurePoint, tmp_path: Path) -> bytes:
    assert failure.screenshot == "j/failure.png", failure.capture_notes
    return (tmp_path / failure.screenshot).read_bytes()


def test_a_page_whose_main_thread_is_busy_still_leaves_a_screenshot_and_its_text(
    context: BrowserContext, shop: Shop, tmp_path: Path
) -> None:
    failure, _ = pay_on(context, f"{shop.url}/busy", tmp_path)
    assert shot(failure, tmp_path).startswith(PNG)
    assert "Order summary" in failure.page_text and failure.page_title == "Busy checkout"
    assert any("main thread busy" in note and "stopped" in note for note in failure.capture_notes)
    # …and the cause is the frozen page, not a slow network or a selector
    from orderprobe.probes.classify import Classifier

    cause = Classifier.load().classify(failure, site=shop.url)
    assert (cause.category, cause.detail) == ("system", "page_unresponsive"), cause


def test_an_endless_animation_and_a_font_that_never_loads_do_not_cost_the_screenshot(
    context: BrowserContext, shop: Shop, tmp_path: Path
) -> None:
    failure, _ = pay_on(context, f"{shop.url}/animated", tmp_path)
    assert shot(failure, tmp_path).startswith(PNG)
    assert "Processing payment" in failure.page_text
    assert not any("main thread busy" in note for note in failure.capture_notes)  # it was not


def test_when_nothing_can_be_taken_the_failure_point_says_why(
    context: BrowserContext, shop: Shop, tmp_path: Path
) -> None:
    page = context.new_page()
    recorder = Recorder(context, page, tmp_path, "j", site=shop.url)
    page.goto(f"{shop.url}/product")
    page.close()
    failure = recorder.capture("pay", RuntimeError("page went away"))
    assert failure.screenshot is None and failure.page_text == ""
    (note,) = [n for n in failure.capture_notes if n.startswith("screenshot: none — ")]
    assert "page.screenshot" in note and "no page text either" in note
    assert any(n.startswith("page text: ") for n in failure.capture_notes)
    from datetime import UTC, datetime

    from orderprobe.base.result import JourneyResult, Status
    from orderprobe.reports import run_report

    journey = JourneyResult(
        id="j", run_id="r", probe="pay", nodeid="t::pay", profile="p", status=Status.FAILED,
        started_at=datetime.now(UTC), duration_ms=1.0, failure=failure,
    )  # fmt: skip
    assert run_report.journey_view(journey, tmp_path, "en").failure.capture_notes == failure.capture_notes
