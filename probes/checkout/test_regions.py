"""Regional policy (field study §6): what may ship where. The address comes from the
profile's region, exactly as a shopper there would type it."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from orderprobe.probes.checkout.steps import buy_now, checkout, fill_address, pay, reach, sign_in, submit_order, yuan

SPECIAL_LINE = 0.20  # seed §6: 新疆/西藏 food goes by the special line at +20%


@pytest.mark.profile(region="urumqi")
@pytest.mark.expect("blocked", causes=["region"], reason="新疆: cosmetics need special logistics or are refused")
def test_region_refusal_cosmetics(journey, page, context, target, profile):
    checkout(journey, page, context, target, profile, "CS-601")


@pytest.mark.profile(region="nagqu")
@pytest.mark.expect("blocked", causes=["region"], reason="那曲: no ambient-temperature delivery")
def test_nagqu_ambient_refused(journey, page, context, target, profile):
    checkout(journey, page, context, target, profile, "GN-701")


@pytest.mark.profile(region="hong-kong")
@pytest.mark.expect("blocked", causes=["region"], reason="港澳台: customs limit on electronics")
def test_hk_electronics_customs(journey, page, context, target, profile):
    checkout(journey, page, context, target, profile, "EL-301")


@pytest.mark.profile(region="dancheng")
def test_tier3_furniture_pickup(journey, page, context, target, profile):
    """三四线城市: large furniture is not delivered home, but a pickup point must work."""
    sign_in(context, target, profile.account)
    with journey.step("buy now"):
        buy_now(page, target, "FN-401", profile.region.address, then="pickup-required")
    with journey.step("choose pickup point"):
        page.locator("[data-testid^='pickup-option-']").first.check()
        page.get_by_test_id("pickup-confirm").click()
        reach(page, "pay-submit")
    with journey.step("pay"):
        pay(page)


@pytest.mark.expect(
    "blocked", causes=["region"], reason="酒类: only a seller licensed for the region may sell; the shop must refuse"
)
def test_alcohol_license(journey, page, context, target, profile):
    checkout(journey, page, context, target, profile, "AL-901")  # a seller licensed in 贵州 only


@pytest.mark.profile(region="urumqi")
def test_special_line_food(journey, page, context, target, profile):
    """新疆/西藏 food is not refused: it ships by the special line at +20%, which the shop must show
    before payment and charge exactly."""
    sign_in(context, target, profile.account)
    with journey.step("buy now"):
        page.goto(target.url("/product/FD-501"))
        page.get_by_test_id("buy-now").click()
        fill_address(page, profile.region.address)
        expect(page.get_by_test_id("submit-order")).to_be_enabled()  # the shipping quote has arrived
        deadline = time.monotonic() + 20  # the shop re-quotes once the typed address settles
        while True:
            subtotal = yuan(page.get_by_test_id("order-subtotal").inner_text())
            surcharge = yuan(page.get_by_test_id("order-surcharge").inner_text())
            if abs(surcharge - round(subtotal * SPECIAL_LINE, 2)) <= 0.01:
                break
            if time.monotonic() > deadline:
                notes = page.get_by_test_id("region-notes").inner_text().strip() or "no regional note"
                if page.get_by_test_id("quote-retry").is_visible():  # the re-quote itself failed
                    notes += f"; quote failed: {page.get_by_test_id('toast').inner_text().strip()}"
                elif page.get_by_test_id("shipping-spinner").is_visible():
                    notes += "; the re-quote for the typed address never came back"
                raise AssertionError(f"专线物流费 ¥{surcharge:.2f}, expected 20% of ¥{subtotal:.2f} ({notes})")
            page.wait_for_timeout(100)
        total = page.get_by_test_id("order-total").inner_text()
        submit_order(page)
        expect(page.get_by_test_id("pay-amount")).to_have_text(total)
    with journey.step("pay"):
        pay(page)
