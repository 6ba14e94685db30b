"""The entry paths of the field study, each walked by tapping as a shopper would (only the
entry page is opened by URL), plus the coupon flow.

视频 → 购物车 → 结算 → 支付 (the cart one tap from the feed, as 淘宝 / 拼多多 have it); the same
with the cart buried three menus deep (我的 → 订单与工具 → 购物车: the seed's +2 steps);
直播间 → 商品 → 支付; 百亿补贴 → 立即抢购. Step, tap and input counts are measured in the
browser, so the UX comparison is a fact about each path.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from orderprobe.probes.checkout.steps import fill_address, pay, quoted, reach, sign_in, submit_order

EVERYDAY_ITEM = "GN-701"  # towels: plenty of stock, no regional rule
LIVE_ITEM = "GN-702"
SUBSIDY_ITEM = "SB-801"


def _cart_path(journey, page, context, target, profile, open_cart: Callable[[], None]) -> None:
    """Video feed → add to cart → cart → checkout → pay; only how the cart is found differs."""
    sign_in(context, target, profile.account)
    with journey.step("open video feed"):
        page.goto(target.url("/feed"))
    with journey.step("add to cart"):
        page.get_by_test_id(f"add-to-cart-{EVERYDAY_ITEM}").click()
        expect(page.get_by_test_id("toast")).to_contain_text("购物车")
    with journey.step("open cart"):
        open_cart()
        expect(page.get_by_test_id(f"cart-item-{EVERYDAY_ITEM}")).to_be_visible()
    with journey.step("checkout"):
        page.get_by_test_id("cart-checkout").click()
        fill_address(page, profile.region.address)
    with journey.step("submit order"):
        submit_order(page)
    with journey.step("pay"):
        pay(page)


def test_video_feed_checkout(journey, page, context, target, profile):
    """视频 → 购物车 → 结算 → 支付: the cart bubble on the feed, one tap."""
    _cart_path(journey, page, context, target, profile, lambda: page.get_by_test_id("feed-cart").click())


def test_buried_cart_checkout(journey, page, context, target, profile):
    """The same path with the cart the field study found three menus deep: 我的 → 订单与工具 → 购物车."""

    def through_menus() -> None:
        page.get_by_test_id("nav-me").click()
        page.get_by_test_id("menu-tools").click()
        page.get_by_test_id("menu-cart").click()

    _cart_path(journey, page, context, target, profile, through_menus)


def test_live_room_checkout(journey, page, context, target, profile):
    sign_in(context, target, profile.account)
    with journey.step("open live room"):
        page.goto(target.url("/live"))
    with journey.step("open product"):
        page.get_by_test_id(f"live-product-{LIVE_ITEM}").click()
    with journey.step("buy now"):
        page.get_by_test_id("buy-now").click()
        fill_address(page, profile.region.address)
        submit_order(page)
    with journey.step("pay"):
        pay(page)


def test_subsidy_checkout(journey, page, context, target, profile):
    sign_in(context, target, profile.account)
    with journey.step("open subsidy page"):
        page.goto(target.url("/subsidy"))
    with journey.step("buy now"):
        page.get_by_test_id(f"subsidy-buy-{SUBSIDY_ITEM}").click()
        reach(page, "address-prefilled")
        submit_order(page)
    with journey.step("pay"):
        pay(page)


def test_coupon_checkout(journey, page, context, target, profile):
    """The new-user coupon: claim, type the code, see the price drop, pay the lower price."""
    sign_in(context, target, profile.account)
    with journey.step("open product"):
        page.goto(target.url(f"/product/{EVERYDAY_ITEM}?from=feed"))
    with journey.step("buy now"):
        page.get_by_test_id("buy-now").click()
        fill_address(page, profile.region.address)
        quoted(page)
    with journey.step("claim coupon"):
        before = page.get_by_test_id("order-total").inner_text()
        page.get_by_test_id("coupon-claim").click()
        page.get_by_test_id("coupon-code").fill("NEW10")
        with page.expect_response(lambda response: "/api/coupon/apply" in response.url) as applied:
            page.get_by_test_id("coupon-apply").click()
        if not applied.value.ok:  # the shop says why beside the code: the path ends here, in its words
            message = page.get_by_test_id("coupon-message")
            expect(message).not_to_be_empty()
            raise AssertionError(f"coupon not applied: {message.inner_text().strip()}")
        expect(page.get_by_test_id("order-total")).not_to_have_text(before)
        discounted = page.get_by_test_id("order-total").inner_text()
    with journey.step("submit order"):
        submit_order(page)
        expect(page.get_by_test_id("pay-amount")).to_have_text(discounted)
    with journey.step("pay"):
        pay(page)
