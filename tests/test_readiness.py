"""A locator that times out is not selector drift when the page could not have answered (issue 13):
the browser's own form validation stopped the submit, or the page's own script was still loading.
Real Chromium on a local storefront (tests/support/hostile.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from orderprobe.base.result import FailurePoint
from orderprobe.probes.classify import Classifier
from tests.support.hostile import Shop, hostile_shop, recorded

WAIT_MS = 2000  # for what never comes; a request hung that long counts as timed out (TIMED_OUT_MS, 1 s)


@pytest.fixture
def shop() -> Iterator[Shop]:
    with hostile_shop() as running:
        yield running


def fail(chromium: Browser, shop: Shop, tmp_path: Path, step: str, act) -> FailurePoint:
    with recorded(chromium, shop, tmp_path, "probe") as (_, page, recorder, journey):
        with pytest.raises(Exception, match="Timeout"), journey.step(step):
            act(page)
        assert recorder.failure is not None
        return recorder.failure


def test_a_submit_the_browser_refused_names_the_field_and_its_message(
    chromium: Browser, shop: Shop, tmp_path: Path
) -> None:
    def act(page):
        page.goto(f"{shop.url}/signup")
        page.locator("#create").click()  # the email field is required and empty
        page.wait_for_url("**/welcome*", timeout=WAIT_MS)

    failure = fail(chromium, shop, tmp_path, "create account", act)
    assert len(failure.validation) == 1 and failure.validation[0].startswith("Email address: ")
    cause = Classifier.load().classify(failure, site=shop.url)
    assert (cause.category, cause.detail) == ("ux_path", "invalid_input"), cause
    assert failure.validation[0] in cause.evidence
    assert not any("/welcome" in h for h in shop.hits)  # the shop never saw the submit


def test_a_locator_waiting_on_the_pages_own_loading_script_is_not_drift(
    chromium: Browser, shop: Shop, tmp_path: Path
) -> None:
    def act(page):
        page.goto(f"{shop.url}/late", wait_until="domcontentloaded")
        page.locator("#buy").click(timeout=WAIT_MS)  # app.js would draw it; app.js never arrives

    failure = fail(chromium, shop, tmp_path, "buy", act)
    assert any(r.url.endswith("/slow/app.js") and r.resource_type == "script" for r in failure.waiting)
    cause = Classifier.load().classify(failure, site=shop.url)
    assert (cause.category, cause.detail) == ("ux_path", "not_ready"), cause
    assert "/slow/app.js" in cause.evidence and "no answer after" in cause.evidence
    assert failure.validation == []


def test_a_tap_before_the_page_filled_a_required_field_is_not_ready_not_drift(
    chromium: Browser, shop: Shop, tmp_path: Path
) -> None:
    """The race a slow link exposes: the form is drawn, the country list is still on its way, the
    tap comes; the browser refuses the submit, which never leaves, and the list arrives after."""

    def act(page):
        page.goto(f"{shop.url}/late-form", wait_until="domcontentloaded")
        page.locator("#continue").click()  # the country list has not arrived: required and empty
        shop.countries.set()  # now it does
        page.locator("#country option", has_text="China").wait_for(state="attached")
        page.wait_for_url("**/welcome*", timeout=WAIT_MS)

    failure = fail(chromium, shop, tmp_path, "shipping address", act)
    assert failure.validation == []  # valid by the time the step failed
    assert len(failure.not_ready) == 1 and failure.not_ready[0].startswith("Country: "), failure.not_ready
    cause = Classifier.load().classify(failure, site=shop.url)
    assert (cause.category, cause.detail, cause.rule) == ("ux_path", "not_ready", "ux_path.tapped_too_early"), cause
    assert "Country: " in cause.evidence and "refused at" in cause.evidence
    assert not any("/welcome" in h for h in shop.hits)  # the submit never left


def test_an_empty_required_field_nobody_submitted_is_not_evidence(
    chromium: Browser, shop: Shop, tmp_path: Path
) -> None:
    def act(page):
        page.goto(f"{shop.url}/signup")
        page.locator("#create-v2").click(timeout=WAIT_MS)  # a stale selector; nobody submitted the form

    failure = fail(chromium, shop, tmp_path, "create account", act)
    assert failure.validation == [] and failure.not_ready == []
    cause = Classifier.load().classify(failure, site=shop.url)
    assert (cause.category, cause.detail) == ("probe_broken", "selector_drift"), cause
