"""Causal order (issue 24): the first request that broke the shop's own path decides. A third
party's script the page recovered from (its local fallback loaded) is not a cause; a region the
shop does not offer is region/*, not a probe's selector; a form the shop's server refused is the
input's. Real Chromium on a local storefront (tests/support/hostile.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Error as PlaywrightError

from orderprobe.base.result import Cause, FailurePoint
from orderprobe.probes.classify import Classifier
from tests.support.hostile import Shop, hostile_shop, recorded

WAIT_MS = 2000  # for what never comes; a request hung that long counts as timed out (TIMED_OUT_MS, 1 s)


@pytest.fixture
def shop() -> Iterator[Shop]:
    with hostile_shop() as running:
        yield running


def journey_failing(chromium: Browser, shop: Shop, tmp_path: Path, steps: list) -> tuple[FailurePoint, Cause]:
    """Run (name, act) steps until one fails; classify the failure point as the engine does."""
    with recorded(chromium, shop, tmp_path, "probe") as (_, page, recorder, journey):
        with pytest.raises((AssertionError, PlaywrightError)):  # noqa: PT012 (the earlier steps must pass)
            for name, act in steps:
                with journey.step(name):
                    act(page)
        assert recorder.failure is not None
        return recorder.failure, Classifier.load().classify(recorder.failure, site=shop.url)


def test_a_cdn_script_the_page_recovered_from_is_not_the_cause(chromium: Browser, shop: Shop, tmp_path: Path) -> None:
    shop.cart_status = 500  # the induced failure: add-to-cart answers 500, the page ignores it

    def add(page):
        page.goto(f"{shop.url}/cdn-product")
        assert page.evaluate("typeof window.jQuery") == "function"  # the local fallback loaded
        page.locator("#add").click()
        page.get_by_text("Added to cart").wait_for()

    def checkout(page):
        page.locator("#checkout").click()
        page.locator("#place-order-v2").click(timeout=WAIT_MS)

    failure, cause = journey_failing(chromium, shop, tmp_path, [("add to cart", add), ("checkout", checkout)])
    assert any("tp.localhost" in r.url and r.failure for r in failure.failed_requests)  # still evidence
    assert (cause.category, cause.detail) == ("system", "api_5xx"), cause
    assert "/api/cart" in cause.evidence


def test_a_country_the_shop_does_not_offer_is_region_not_drift(chromium: Browser, shop: Shop, tmp_path: Path) -> None:
    def address(page):
        page.goto(f"{shop.url}/address")
        page.get_by_label("Country").select_option("Macau", timeout=WAIT_MS)

    failure, cause = journey_failing(chromium, shop, tmp_path, [("address", address)])
    assert (cause.category, cause.detail) == ("region", "not_offered"), (failure.action, failure.message)


def test_a_form_the_server_refused_is_invalid_input_at_the_submitting_step(
    chromium: Browser, shop: Shop, tmp_path: Path
) -> None:
    def address(page):
        page.goto(f"{shop.url}/address")
        page.get_by_label("Country").select_option("Singapore")
        page.locator("#save").click()  # the postcode left empty
        page.wait_for_load_state()

    def pay(page):
        page.get_by_role("button", name="Pay now").click(timeout=WAIT_MS)

    failure, cause = journey_failing(chromium, shop, tmp_path, [("address", address), ("pay", pay)])
    assert (cause.category, cause.detail) == ("ux_path", "invalid_input"), cause
    assert failure.step == "address" and failure.surfaced_at == "pay"  # where it was submitted
    assert "Postcode is required" in cause.evidence and "POST" in cause.evidence
