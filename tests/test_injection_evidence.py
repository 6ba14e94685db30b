"""What orderprobe injects is marked on the request and named network/*, never the shop: real
Chromium on a local storefront (tests/support/hostile.py) behind the network profile's routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from orderprobe.base.result import FailurePoint, StepResult
from orderprobe.probes.classify import Classifier
from orderprobe.probes.emulation.routing import Routing
from orderprobe.profiles.models import FaultRule, Network
from tests.support.hostile import Shop, hostile_shop, recorded


@pytest.fixture
def shop() -> Iterator[Shop]:
    with hostile_shop() as running:
        yield running


def checkout(chromium: Browser, shop: Shop, tmp_path: Path, network: Network) -> tuple[FailurePoint, list[StepResult]]:
    with recorded(chromium, shop, tmp_path, "shirt") as (context, page, recorder, journey):
        routing = Routing(context, page, lambda: None, seed=1)
        routing.use(network)
        recorder.injections = lambda request, _failure: routing.injection(request)
        with pytest.raises(Exception, match="place-order"):
            with journey.step("open product"):
                page.goto(f"{shop.url}/product")
            with journey.step("add to cart"):
                page.locator("#add").click()
                page.get_by_text("Added to cart").wait_for()
            with journey.step("checkout"):
                page.locator("#checkout").click()
                page.locator("#place-order").click(timeout=1000)
        assert recorder.failure is not None
        return recorder.failure, journey.steps


@pytest.mark.parametrize(
    ("fault", "shows"),
    [
        (FaultRule(url="**/api/cart", abort="connectionreset"), "ERR_CONNECTION_RESET"),
        (FaultRule(url="**/api/cart", status=503), "HTTP 503"),
    ],
    ids=["reset", "http-503"],
)
def test_an_injected_fault_is_marked_and_named_network_never_the_shop(
    chromium: Browser, shop: Shop, tmp_path: Path, fault: FaultRule, shows: str
) -> None:
    network = Network(name="flaky", rtt_ms=0, down_kbps=None, up_kbps=None, faults=(fault,))
    failure, _ = checkout(chromium, shop, tmp_path, network)
    first = failure.first_failed_request
    assert failure.step == "add to cart" and first is not None and first.url.endswith("/api/cart")
    assert first.injected == f"orderprobe fault: {fault.label}"
    assert "POST /api/cart" not in shop.hits  # the shop never saw it: the fault was ours
    cause = Classifier.load().classify(failure, site=shop.url)
    assert (cause.category, cause.detail, cause.rule) == ("network", "injected_fault", "network.injected"), cause
    assert shows in cause.evidence and f"(orderprobe fault: {fault.label})" in cause.evidence


def test_dns_pollution_is_marked_on_the_request_and_stays_network_dns(
    chromium: Browser, shop: Shop, tmp_path: Path
) -> None:
    """The polluted host is a third party the page goes on without: the journey breaks elsewhere
    (an unrelated missing button), and the request it lost to DNS carries the injection."""
    network = Network(name="polluted", rtt_ms=0, down_kbps=None, up_kbps=None, dns_polluted=("tp.localhost",))
    shop.cart_status = 200
    _, steps = checkout(chromium, shop, tmp_path, network)
    added = next(s for s in steps if s.name == "add to cart")
    ping = next(r for r in added.failed_requests if "tp.localhost" in r.url)
    assert "ERR_NAME_NOT_RESOLVED" in (ping.failure or "")
    assert ping.injected == "orderprobe DNS pollution: name not resolved"
