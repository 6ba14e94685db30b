"""Pieces the built-in probes share. Each is a plain function over ``page``; a probe decides
which user-visible step it belongs to (``with journey.step(...)``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from orderprobe.probes import request_kinds
from orderprobe.probes.bounded import bounded
from orderprobe.probes.compat.playwright import default_timeout_ms
from orderprobe.probes.tagging import same_site

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page, Response

    from orderprobe.probes.journey import Journey
    from orderprobe.probes.target import Target
    from orderprobe.profiles.models import Account, Address, Profile
    from orderprobe.shop.server import DemoShop

ADDRESS_FIELDS = ("recipient", "phone", "province", "city", "district", "street", "postcode")
# What a shop shows instead of the next step when it refuses: seeing one ends the wait at
# once (with its text as evidence) instead of timing out on the element that never comes.
CHECKOUT_STOPS = ("checkout-error", "teen-blocked", "upgrade-required", "order-held", "error-title")
STOPS = (*CHECKOUT_STOPS, "pay-error", "bind-required", "sms-error")


def shop_fault(demo_shop: DemoShop | None, name: str, **params: object) -> None:
    """Switch a demo-shop fault for this journey only (the engine resets the shop before each
    journey, and each worker has its own shop). Against another target there is no switch."""
    if demo_shop is not None:
        demo_shop.set_fault(name, **params)


def yuan(text: str) -> float:
    """'¥1,299.00' → 1299.0"""
    return float(text.strip().lstrip("¥").replace(",", "") or 0)


def sign_in(context: BrowserContext, target: Target, account: Account) -> None:
    """Log in over HTTP with the context's cookie jar: the shopper arrives signed in, so path
    comparisons count the path, not the login form."""
    response = context.request.post(
        target.url("/login"),
        form={"username": account.username, "password": account.password(), "next": "/"},
        max_redirects=0,
    )
    if response.status in (401, 403):  # the shop said no to these credentials: configuration
        from orderprobe.profiles.models import AccountRefused

        raise AccountRefused(
            f"account {account.name!r}: the shop refused user {account.username!r} with the password in "
            f"${account.password_env} (HTTP {response.status}); check that variable"
        )
    if response.status not in (302, 303):
        raise AssertionError(f"sign-in as {account.username!r} failed: HTTP {response.status}")


def reach(page: Page, want: str, *, stops: tuple[str, ...] = STOPS, timeout_ms: float | None = None) -> None:
    """Wait until the element ``want`` is visible; fail fast, with the page's own words, if the
    shop shows a refusal or the browser shows its network error page instead."""
    deadline = time.monotonic() + (timeout_ms or 15_000) / 1000
    shown = _any_visible(page, want, *stops)
    while True:
        if page.url.startswith("chrome-error://"):
            raise AssertionError(f"browser error page instead of {want!r} (network failure)")
        if _waited(shown, deadline):
            if page.get_by_test_id(want).first.is_visible():
                return
            _raise_if_refused(page, repr(want), stops)
            page.wait_for_timeout(50)  # it went again before we looked: no tight loop
        elif time.monotonic() > deadline:
            raise AssertionError(f'Timeout waiting for {want!r}\nCall log:\n  - waiting for get_by_test_id("{want}")')


# Waits run in the page (one call per slice) instead of asking after each element every 50 ms
# (ten round trips each time: a 15 s wait cost ~2 s of CPU); between slices the caller looks at
# what the page cannot tell it, e.g. the browser's own error page.
SLICE_MS = 250


def _any_visible(page: Page, *test_ids: str, first: Locator | None = None) -> Locator:
    """The first visible one of ``first`` and the first element of each test id (as ``is_visible`` sees them)."""
    anything = first
    for test_id in test_ids:
        one = page.get_by_test_id(test_id).first
        anything = one if anything is None else anything.or_(one)
    assert anything is not None
    return anything.locator("visible=true").first


def _waited(locator: Locator, deadline: float) -> bool:
    """Wait one slice (at most until ``deadline``) for ``locator``; did it come?"""
    try:
        locator.wait_for(timeout=max(1.0, min(SLICE_MS, (deadline - time.monotonic()) * 1000)))
    except PlaywrightTimeoutError:
        return False
    return True


def fill_address(page: Page, address: Address) -> None:
    reach(page, "addr-recipient")
    # Type once the page's scripts have run, as a shopper would: on a loaded phone the form can be
    # drawn before its script listens for edits, and an edit it never heard is never re-quoted.
    # DOMContentLoaded, not load: a hanging image or tracker on a real shop must not stall typing.
    page.wait_for_load_state("domcontentloaded")
    for name in ADDRESS_FIELDS:
        page.get_by_test_id(f"addr-{name}").fill(getattr(address, name))


# A slow link makes a quote late, not lost: past the run's action timeout, the quote may take as
# long again as the link has already held one of this page's answers, this many times over (its
# request and its answer can each be held that long).
LINK_ALLOWANCE = 2
# The slowest answer this page has had (its own load and its script requests), in ms: what the
# link and the shop behind it took, as the browser measured it (Navigation and Resource Timing).
SLOWEST_ANSWER_MS = """() => Math.max(0, ...[
  ...performance.getEntriesByType('navigation'),
  ...performance.getEntriesByType('resource').filter(e => ['fetch', 'xmlhttprequest'].includes(e.initiatorType)),
].map(e => e.responseEnd - e.startTime))"""


def quoted(page: Page) -> None:
    """Wait for the shipping quote: submit stays disabled until it arrives. A quote that failed
    (its retry button shown) or a refusal ends the wait at once, with the shop's own words.

    The wait is the run's action timeout (``--action-timeout``, as every Playwright call of the
    journey), extended once it has run out by what the link did on this page (``LINK_ALLOWANCE``):
    a healthy link fails a quote that never comes after the action timeout, a weak one later."""
    button = page.get_by_test_id("submit-order")
    action_ms = default_timeout_ms(page)
    wait_ms, why = action_ms, f"the action timeout, {action_ms / 1000:g} s"
    start = time.monotonic()
    deadline = start + wait_ms / 1000
    extended = False
    # Submit enabled or the quote's retry button, whichever the page shows first.
    settled = _any_visible(page, "quote-retry", first=button.and_(page.locator(":enabled")))
    while not button.is_enabled():
        if time.monotonic() > deadline and not extended:
            extended, slowest_ms = True, _slowest_answer_ms(page)
            wait_ms += LINK_ALLOWANCE * slowest_ms
            why += f", + {LINK_ALLOWANCE} × this page's slowest answer, {slowest_ms / 1000:.1f} s"
            deadline = start + wait_ms / 1000
        if time.monotonic() > deadline:
            raise AssertionError(
                f"shipping quote never arrived within {wait_ms / 1000:.1f} s ({why}): 提交订单 still disabled\n"
                'Call log:\n  - waiting for get_by_test_id("submit-order") to be enabled'
            )
        reach(page, "submit-order")  # surfaces an error banner at once
        if page.get_by_test_id("quote-retry").is_visible():
            raise AssertionError(f"shipping quote failed: {page.get_by_test_id('toast').inner_text().strip()}")
        _waited(settled, deadline)


def _slowest_answer_ms(page: Page) -> float:
    """``SLOWEST_ANSWER_MS`` on ``page``; 0 if the page cannot say (navigating, or its main thread busy)."""
    try:
        return float(bounded(page, lambda impl: impl.evaluate(SLOWEST_ANSWER_MS, None), 2.0))
    except (PlaywrightError, TimeoutError):
        return 0.0


def send_code(page: Page, button: Locator) -> None:
    """Tap ``button`` (获取验证码) and wait for the shop's answer to the send it starts: a code
    submitted before the shop has sent one is refused, and a healthy SMS channel would be named
    broken. The answer is the first request to the page's own site that changes something (not a
    read: a send is a POST, by script or by form), within the action timeout; a send the shop
    refuses (>= 400) ends the step there, with its answer."""
    here = page.url

    def is_send(response: Response) -> bool:
        request = response.request
        return (
            request.resource_type in request_kinds.PAGE
            and request.method not in request_kinds.READS
            and same_site(here, response.url)
        )

    with page.expect_response(is_send) as sent:
        button.click()
    answer = sent.value
    if answer.status >= 400:
        raise AssertionError(f"SMS code not sent: {answer.request.method} {answer.url} answered HTTP {answer.status}")


def submit_order(page: Page, then: str | None = None) -> None:
    """Wait for the shipping quote, submit, and wait until the shop has answered: the page
    ``then`` if given, else any page that is not a refusal."""
    quoted(page)
    before = page.url
    page.get_by_test_id("submit-order").click()
    if then:
        reach(page, then)
        return
    page.wait_for_url(lambda url: url != before, timeout=30_000)
    if not page.url.startswith("chrome-error://"):  # a network failure is the next step's evidence
        page.wait_for_load_state("domcontentloaded")
        # Only the shop's own refusals end this step; what the cashier shows belongs to "pay".
        _raise_if_refused(page, "the next page", CHECKOUT_STOPS)


def _raise_if_refused(page: Page, want: str, stops: tuple[str, ...]) -> None:
    for stop in stops:
        notice = page.get_by_test_id(stop).first
        if notice.is_visible():
            raise AssertionError(f"shop refused before {want}: {notice.inner_text().strip()}")


def pay(page: Page, channel: str | None = None) -> None:
    """Pay with ``channel``, or the first usable one, and wait for the order confirmation."""
    reach(page, "pay-submit")
    choice = (
        page.get_by_test_id(f"pay-channel-{channel}")
        if channel
        else page.locator("[data-testid^='pay-channel-']:not([data-testid^='pay-channel-state']):enabled").first
    )
    choice.check()
    page.get_by_test_id("pay-submit").click()
    reach(page, "order-confirmed")


def buy_now(page: Page, target: Target, sku: str, address: Address, *, then: str | None = None) -> None:
    """Product page → 立即购买 → address → 提交订单, up to the page ``then``."""
    page.goto(target.url(f"/product/{sku}"))
    button = page.get_by_test_id("buy-now")
    reach(page, "buy-now")
    if button.is_disabled():  # sold out: the page says why, right beside the button
        raise AssertionError(f"立即购买 disabled: {page.get_by_test_id('stock-status').first.inner_text().strip()}")
    button.click()
    fill_address(page, address)
    submit_order(page, then=then)


def checkout(journey: Journey, page: Page, context: BrowserContext, target: Target, profile: Profile, sku: str) -> None:
    """The plain two-step checkout most scenario probes share: buy ``sku`` now, then pay.
    What differs between them is the profile and the expected refusal, not the path."""
    sign_in(context, target, profile.account)
    with journey.step("buy now"):
        buy_now(page, target, sku, profile.region.address)
    with journey.step("pay"):
        pay(page)
