"""Probes of the corpus storefronts made live (benchmarks/corpus_shops.py), written as a team would
write them for their own shop: each waits for what the shopper waits for, nothing more.

    orderprobe run benchmarks/corpus_probes --target URL --profile D/N/R/A
    ORDERPROBE_BENCH_DRAWS=20: each probe 20 times in the run (fresh dropout seeds each journey)
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

WAIT_MS = 15_000  # what the built-in probes allow a page to show what the step waits for
pytestmark = pytest.mark.parametrize("draw", range(int(os.environ.get("ORDERPROBE_BENCH_DRAWS", "1"))))


def test_woocommerce_checkout(journey, page, target, draw):
    with journey.step("product"):
        page.goto(target.url("/woocommerce/product/beanie/"))
    with journey.step("add to cart"):
        page.locator("button.single_add_to_cart_button").click()
        page.wait_for_url("**/woocommerce/checkout/")
    with journey.step("billing details"):
        for field, value in (("billing_first_name", "Ada"), ("billing_address_1", "1 Main St"),
                             ("billing_city", "London"), ("billing_postcode", "N1 9GU"),
                             ("billing_email", "ada@example.org")):  # fmt: skip
            page.locator(f"#{field}").fill(value)
    with journey.step("place order"):
        page.locator("#place_order").click()
        expect(page.locator(".woocommerce-thankyou-order-received")).to_be_visible(timeout=WAIT_MS)


def test_magento_checkout(journey, page, target, draw):
    with journey.step("product"):
        page.goto(target.url("/magento/push-it-messenger-bag.html"))
    with journey.step("add to cart"):
        page.locator("#product-addtocart-button").click()
        expect(page.locator(".message-success")).to_be_visible(timeout=WAIT_MS)
    with journey.step("proceed to checkout"):
        page.locator("#top-cart-btn-checkout").click()
        page.wait_for_url("**/magento/checkout/")
    with journey.step("shipping"):
        for field, value in (("firstname", "Ada"), ("street", "1 Main St"), ("city", "Austin"),
                             ("postcode", "78701"), ("telephone", "5125550100")):  # fmt: skip
            page.locator(f"#{field}").fill(value)
        page.locator("#s_method_flatrate").check(timeout=WAIT_MS)  # the rates arrive once the address is in
        page.get_by_role("button", name="Next").click()
        expect(page.locator("#payment")).to_be_visible(timeout=WAIT_MS)  # the step moved on
    with journey.step("place order"):
        page.get_by_role("button", name="Place Order").click()
        expect(page.get_by_text("Thank you for your purchase!")).to_be_visible(timeout=WAIT_MS)


def test_dawn_checkout(journey, page, target, draw):
    with journey.step("product"):
        page.goto(target.url("/dawn/products/ribbed-tank"))
    with journey.step("add to cart"):
        page.locator("button[name=add]").click()
        page.wait_for_url("**/dawn/cart")
    with journey.step("check out"):
        page.locator("#checkout").click()
        page.wait_for_url("**/checkouts/cn/c1")
    with journey.step("delivery"):
        for label, value in (("Email", "ada@example.org"), ("Last name", "Lovelace"), ("Address", "1 Main St"),
                             ("City", "London"), ("Postal code", "N1 9GU")):  # fmt: skip
            page.get_by_label(label, exact=True).fill(value)
        expect(page.locator("input[name=shipping]").first).to_be_checked(timeout=WAIT_MS)  # rates loaded
    with journey.step("pay"):
        page.get_by_label("Card number").fill("4242424242424242")
        page.locator("#checkout-pay-button").click()
        expect(page.locator("#order-confirmed")).to_have_text("Your order is confirmed", timeout=WAIT_MS)
