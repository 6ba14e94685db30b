"""Inventory (field study §4–5): live flash-sale sell-outs, cross-border stock that lags
12–24 h, a stock feed 30 s+ behind at the peak (both: the product page offers what is already
gone, a "phantom order"), and farm produce sold out until 10:00 the next day."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from orderprobe.probes.checkout.steps import buy_now, pay, shop_fault, sign_in

FLASH_ITEM = "FS-001"
CROSS_BORDER_ITEM = "CB-101"
FARM_ITEM = "AG-201"


def _rush(demo_shop, sku: str) -> None:
    """Demo shop only: other shoppers grab the flash-sale stock before ours arrives."""
    from orderprobe.shop.testing import buy, client, login

    for _ in range(demo_shop.state.stock[sku]):
        with client(demo_shop) as http:
            login(http, "normal")
            buy(http, sku=sku, source="product")


@pytest.mark.expect("blocked", causes=["inventory"], reason="直播秒杀: 3 units, gone in seconds")
def test_flash_sale_sold_out(journey, page, context, target, profile, demo_shop):
    if demo_shop is not None:
        _rush(demo_shop, FLASH_ITEM)
    sign_in(context, target, profile.account)
    with journey.step("open live room"):
        page.goto(target.url("/live"))
    with journey.step("buy now"):
        buy_now(page, target, FLASH_ITEM, profile.region.address)
    with journey.step("pay"):
        pay(page)


@pytest.mark.expect("blocked", causes=["inventory"], reason="跨境: page shows stock that cleared customs days ago")
def test_cross_border_phantom_stock(journey, page, context, target, profile):
    sign_in(context, target, profile.account)
    with journey.step("open product"):
        page.goto(target.url(f"/product/{CROSS_BORDER_ITEM}"))
        expect(page.get_by_test_id("buy-now")).to_be_enabled()  # the page says: in stock
    with journey.step("buy now"):
        buy_now(page, target, CROSS_BORDER_ITEM, profile.region.address)
    with journey.step("pay"):
        pay(page)


@pytest.mark.expect(
    "blocked",
    causes=["inventory"],
    reason="库存同步延迟 30 s+: the page still offers it; the shop must refuse, not oversell",
)
def test_stock_sync_lag(journey, page, context, target, profile, demo_shop):
    shop_fault(demo_shop, "inventory_lag", lag_s=30)  # demo shop: product pages show the stock of 30 s ago
    if demo_shop is not None:
        _rush(demo_shop, FLASH_ITEM)  # the peak: the last units go just before our shopper arrives
    sign_in(context, target, profile.account)
    with journey.step("open product"):
        page.goto(target.url(f"/product/{FLASH_ITEM}?from=live"))
        expect(page.get_by_test_id("buy-now")).to_be_enabled()  # the lagging page says: in stock
    with journey.step("buy now"):
        buy_now(page, target, FLASH_ITEM, profile.region.address)
    with journey.step("pay"):
        pay(page)


@pytest.mark.expect(
    "blocked", causes=["inventory"], reason="农产品: sold out today; the shop must say it restocks by 10:00 tomorrow"
)
def test_farm_produce_restock(journey, page, context, target, profile):
    sign_in(context, target, profile.account)
    with journey.step("buy now"):
        buy_now(page, target, FARM_ITEM, profile.region.address)
    with journey.step("pay"):
        pay(page)


def test_flash_sale_checkout(journey, page, context, target, profile):
    """直播间 → the flash-sale item → 立即购买 → pay, as a shopper tries it (no rush staged): whether
    the item is still there is the shop's (a population sweep's field shop: sold out 92% of the time)."""
    sign_in(context, target, profile.account)
    with journey.step("open live room"):
        page.goto(target.url("/live"))
    with journey.step("buy now"):
        buy_now(page, target, FLASH_ITEM, profile.region.address)
    with journey.step("pay"):
        pay(page)
