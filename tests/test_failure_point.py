"""The failure point is where the journey broke, not where it showed: real Chromium on a local
storefront (tests/support/hostile.py) whose add-to-cart call fails while the page carries on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from orderprobe.base.result import FailurePoint, StepResult
from tests.support.hostile import Shop, hostile_shop, recorded

MISSING_MS = 1000  # the element is absent for good: how long the probe looks for it changes nothing


@pytest.fixture
def shop() -> Iterator[Shop]:
    with hostile_shop() as running:
        yield running


def checkout(chromium: Browser, shop: Shop, tmp_path: Path) -> tuple[FailurePoint, list[StepResult]]:
    """Product page → add to cart (waits for the page's own "Added") → checkout → place order."""
    with recorded(chromium, shop, tmp_path, "shirt") as (_, page, recorder, journey):
        with pytest.raises(Exception, match="place-order"):
            with journey.step("open product"):
                page.goto(f"{shop.url}/product")
            with journey.step("add to cart"):
                page.locator("#add").click()
                page.get_by_text("Added to cart").wait_for()
            with journey.step("checkout"):
                page.locator("#checkout").click()
                page.locator("#place-order").click(timeout=MISSING_MS)
        assert recorder.failure is not None
        return recorder.failure, journey.steps


def test_an_ignored_add_to_cart_500_is_where_the_journey_broke(chromium: Browser, shop: Shop, tmp_path: Path) -> None:
    shop.cart_status = 500
    failure, steps = checkout(chromium, shop, tmp_path)
    assert failure.step == "add to cart" and failure.surfaced_at == "checkout"
    first = failure.first_failed_request
    assert first is not None and first.url.endswith("/api/cart") and first.method == "POST"
    assert first.status == 500 and first.step == "add to cart" and first.duration_ms is not None
    added = next(s for s in steps if s.name == "add to cart")
    assert added.status == "passed"  # the page said "Added to cart"; its request says otherwise
    assert any(r.url.endswith("/api/cart") and r.status == 500 for r in added.failed_requests)
    assert "empty" in failure.page_text  # what surfaced: the cart is empty at checkout


def test_noise_the_page_ignores_does_not_move_the_failure_point(chromium: Browser, shop: Shop, tmp_path: Path) -> None:
    """A beacon, an analytics POST and a prefetch answering 500, a widget's GET answering 404 and
    a third party's SDK ping answering 503 during "add to cart": the cart itself worked, so the
    journey broke where the probe's click failed ("checkout"), and the noise stays on its step."""
    failure, steps = checkout(chromium, shop, tmp_path)
    assert failure.step == "checkout" and failure.surfaced_at is None
    assert failure.first_failed_request is None
    added = next(s for s in steps if s.name == "add to cart")
    failed = {r.url.split("?")[0].rsplit("/", 1)[-1]: r for r in added.failed_requests}
    assert {"collect", "recommendations", "ping", "beacon"} <= set(failed), sorted(failed)
    assert failed["ping"].status == 503 and "tp.localhost" in failed["ping"].url
    assert failed["collect"].status == 500 and failed["recommendations"].status == 404
    assert not any(r.step == "checkout" for s in steps for r in s.failed_requests if s.name != "checkout")


def test_the_store_keeps_it_and_the_run_report_shows_where_it_broke_and_surfaced(
    chromium: Browser, shop: Shop, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from orderprobe.base.result import JourneyResult, Status
    from orderprobe.reports import run_report
    from orderprobe.store.store import Store

    shop.cart_status = 500
    failure, steps = checkout(chromium, shop, tmp_path)
    now = datetime.now(UTC)
    journey = JourneyResult(
        id="j1", run_id="r1", probe="shirt", nodeid="t::shirt", profile="p", status=Status.FAILED,
        started_at=now, duration_ms=steps[-1].start_ms + steps[-1].duration_ms, steps=steps, failure=failure,
    )  # fmt: skip
    store = Store(f"sqlite:///{tmp_path / 'results.db'}")
    try:
        store.start_run("r1", started_at=now, target=shop.url, matrix="smoke")
        store.add_journey(journey)
        (back,) = store.journeys("r1")
        assert back.failure == failure and back.steps == steps
        page = run_report.render(store, "r1", tmp_path, "en")
    finally:
        store.close()
    assert 'add to cart <span class="muted">(surfaced at checkout)</span>' in page
    assert f"POST {shop.url}/api/cart → 500" in page
    assert "× Failed requests" in page
