"""Timeouts are named as timeouts from the request log — which request, how long it had waited,
in which step — on a local storefront whose server never answers (tests/support/hostile.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from orderprobe.base.result import FailurePoint
from orderprobe.probes.classify import Classifier
from tests.support.hostile import Shop, hostile_shop, recorded

WAIT_MS = 2000  # how long the probe waits for what never comes (above the 1 s asserted below)


@pytest.fixture
def shop() -> Iterator[Shop]:
    with hostile_shop() as running:
        yield running


def fail(chromium: Browser, shop: Shop, tmp_path: Path, act) -> FailurePoint:
    with recorded(chromium, shop, tmp_path, "ship") as (_, page, recorder, journey):
        with pytest.raises(Exception, match="Timeout"):
            with journey.step("open product"):
                page.goto(f"{shop.url}/product")
            with journey.step("shipping method"):
                act(page)
        assert recorder.failure is not None
        return recorder.failure


def test_an_api_that_never_answers_is_a_timeout_of_that_request_in_its_step(
    chromium: Browser, shop: Shop, tmp_path: Path
) -> None:
    def act(page):
        page.goto(f"{shop.url}/shipping")
        page.locator("#quote").click()
        page.locator("#continue").click(timeout=WAIT_MS)

    failure = fail(chromium, shop, tmp_path, act)
    hung = failure.waiting[0]
    assert "/api/shipping-rates" in hung.url and hung.step == "shipping method"
    assert hung.waited_ms is not None and hung.waited_ms >= 1000
    cause = Classifier.load().classify(failure, site=shop.url)
    assert (cause.category, cause.detail) == ("system", "api_timeout"), cause
    assert "/api/shipping-rates" in cause.evidence and "timed out: no answer after" in cause.evidence
    assert "in step 'shipping method'" in cause.evidence
    assert "Calculating" in failure.page_text  # the page's own words, not orderprobe's


def test_a_page_that_never_loads_is_a_timeout_never_orderprobes_placeholder(
    chromium: Browser, shop: Shop, tmp_path: Path
) -> None:
    failure = fail(chromium, shop, tmp_path, lambda page: page.goto(f"{shop.url}/slow/shipping", timeout=WAIT_MS))
    hung = failure.waiting[0]
    assert hung.url.endswith("/slow/shipping") and hung.navigation and hung.step == "shipping method"
    cause = Classifier.load().classify(failure, site=shop.url)
    assert cause.category == "system" and "timeout" in cause.detail, cause
    assert "/slow/shipping → timed out" in cause.evidence
    assert "unavailable" not in failure.page_text and "orderprobe" not in failure.page_text
