"""A page that comes late is not a refusal: the wording rules read only what the page said when
the step's wait ended (probes/waited.py). A packet-mode metro-weak journey was once named
region/pickup_only from a product blurb ("部分城市仅支持自提点提货") on the page being left, and
from the pickup banner of the very page it was waiting for, which arrived just after the wait.

Real Chromium against a small local shop whose pickup page is held until the test lets it go:
no timing is guessed — the page is released (or not) exactly between the wait's end and the
evidence capture, by a step listener placed before orderprobe's recorder.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from orderprobe.probes.checkout.steps import reach
from orderprobe.probes.classify import Classifier
from orderprobe.probes.journey import Journey, Phase, StepListener
from orderprobe.probes.recorder import Recorder
from orderprobe.probes.waited import resolve

PRODUCT = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>实木餐桌</title></head><body>
<h1>实木餐桌</h1><p>大件商品，部分城市仅支持自提点提货</p><a id="buy" href="/pickup">立即购买</a></body></html>"""
PICKUP = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>选择自提点</title></head><body>
<div data-testid="pickup-required">大件家具在郸城县仅支持自提点提货，请选择自提点。</div>
<button data-testid="pickup-confirm">确认自提点</button></body></html>"""


class Held:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.asked = threading.Event()

    def __enter__(self) -> Held:
        held = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/pickup":
                    held.asked.set()
                    held.release.wait(120)  # the pickup page comes when the test says so
                body = (PICKUP if self.path == "/pickup" else PRODUCT).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class ArriveAfterTheWait(StepListener):
    """A step listener before the recorder: the wait has ended; now the page arrives."""

    phase = Phase.NETWORK  # before the recorder's capture

    def __init__(self, shop: Held, page) -> None:
        self.shop, self.page = shop, page

    def on_step_start(self, journey, name) -> None:
        pass

    def on_step_end(self, journey, step) -> None:
        pass

    def on_step_failed(self, journey, name, error) -> None:
        self.shop.release.set()
        self.page.get_by_test_id("pickup-required").wait_for()


@pytest.fixture
def shop() -> Iterator[Held]:
    with Held() as running:
        yield running


def fail(chromium: Browser, shop: Held, tmp_path: Path, *, arrives: bool, wait=None):
    context = chromium.new_context()
    try:
        page = context.new_page()
        recorder = Recorder(context, page, tmp_path, "j", site=shop.url)
        journey = Journey("tier3_furniture_pickup", meter=recorder.meter, settle=recorder.settle)
        journey.listeners = [ArriveAfterTheWait(shop, page), recorder] if arrives else [recorder]
        with pytest.raises(Exception, match="Timeout"):
            with journey.step("open product"):
                page.goto(f"{shop.url}/product")
            with journey.step("buy now"):
                page.evaluate("document.getElementById('buy').click()")  # a tap; the page leaves
                assert shop.asked.wait(60)
                if wait is None:
                    page.get_by_test_id("pickup-required").wait_for(timeout=300)
                else:
                    wait(page)
        assert recorder.failure is not None
        return recorder.failure
    finally:
        shop.release.set()
        context.close()


def test_the_page_being_left_is_no_refusal(chromium: Browser, shop: Held, tmp_path: Path) -> None:
    failure = fail(chromium, shop, tmp_path, arrives=False)
    # The product page's blurb may or may not be readable while it is being left; either way it is no answer.
    failure.page_text = failure.page_text or "实木餐桌 大件商品，部分城市仅支持自提点提货 立即购买"
    assert failure.unsettled and "/pickup" in failure.unsettled
    assert failure.arrived_late is None
    cause = Classifier.load().classify(failure, site=shop.url)
    assert cause.category != "region" and cause.rule != "probe.selector_drift", cause


def test_the_page_waited_for_arriving_late_is_slow_not_pickup_only(
    chromium: Browser, shop: Held, tmp_path: Path
) -> None:
    failure = fail(chromium, shop, tmp_path, arrives=True)
    assert "请选择自提点" in failure.page_text  # the late page's banner was read …
    assert failure.arrived_late and 'get_by_test_id("pickup-required")' in failure.arrived_late
    cause = Classifier.load().classify(failure, site=shop.url)
    assert (cause.category, cause.detail, cause.rule) == ("network", "timeout", "network.arrived_late"), cause
    assert "after the wait ended" in cause.evidence


def test_a_built_in_steps_wait_whose_page_arrives_late_is_slow_not_drift(
    chromium: Browser, shop: Held, tmp_path: Path
) -> None:
    """The built-in checkout's own wait (``reach``) says "Timeout waiting for 'x'" above its call log:
    the element looked at again is the call log's locator, not the quoted name (seen at load 60: a
    checkout page 15 s late was named selector drift, fix the probe)."""
    failure = fail(
        chromium, shop, tmp_path, arrives=True, wait=lambda page: reach(page, "pickup-required", timeout_ms=300)
    )
    assert failure.locator == 'get_by_test_id("pickup-required")'
    assert failure.arrived_late and 'get_by_test_id("pickup-required")' in failure.arrived_late
    cause = Classifier.load().classify(failure, site=shop.url)
    assert (cause.category, cause.rule) == ("network", "network.arrived_late"), cause


def test_a_region_message_there_when_the_wait_ended_still_decides(chromium: Browser, tmp_path: Path) -> None:
    """The same banner on a settled page, the probe waiting for a button that never comes: region."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        recorder = Recorder(context, page, tmp_path, "j", site="http://shop.test")
        journey = Journey("p", meter=recorder.meter, settle=recorder.settle)
        journey.listeners = [recorder]
        with pytest.raises(Exception, match="Timeout"), journey.step("buy now"):
            page.set_content(PICKUP.replace("pickup-confirm", "pickup-none"))
            page.get_by_test_id("pickup-confirm").click(timeout=300)
        failure = recorder.failure
    finally:
        context.close()
    assert failure is not None and failure.unsettled is None and failure.arrived_late is None
    cause = Classifier.load().classify(failure)
    assert (cause.category, cause.detail) == ("region", "pickup_only"), cause


@pytest.mark.parametrize(
    "text",
    ['get_by_test_id("pay")', 'locator("#place_order").first', 'get_by_role("button", name="Pay").nth(1)',
     "locator(\"form\").get_by_text('Add to cart')", 'get_by_test_id("x") to be visible'],
)  # fmt: skip
def test_a_call_log_locator_is_rebuilt(chromium: Browser, text: str) -> None:
    page = chromium.new_page()
    try:
        assert resolve(page, text) is not None
    finally:
        page.close()


@pytest.mark.parametrize("text", ['navigation to "/x"', "__import__('os')", "locator(x)", "page.close()", ""])
def test_anything_else_is_not_a_locator(chromium: Browser, text: str) -> None:
    page = chromium.new_page()
    try:
        assert resolve(page, text) is None
    finally:
        page.close()
