"""Regional policy (field study §6): what may ship where. The address comes from the
profile's region, exactly as a shopper there would type it."""

from __future__ import annotations

import pytest

from probes.checkout.steps import buy_now, checkout, pay, reach, sign_in


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
