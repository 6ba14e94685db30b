"""Account and risk control (field study §2–3): the shop must refuse, hold or challenge these
shoppers — and a probe that sees the refusal it expects passes as ``blocked``."""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import expect

from orderprobe.probes.checkout.steps import buy_now, checkout, pay, reach, send_code, shop_fault, sign_in

ITEM = "GN-701"
VIRTUAL_ITEM = "VG-001"  # 抖币充值: one of the 95% of virtual goods teen mode refuses


@pytest.mark.profile(account="teen")
@pytest.mark.expect("blocked", causes=["account"], reason="青少年模式: spending needs face check + guardian SMS")
def test_teen_blocked(journey, page, context, target, profile):
    checkout(journey, page, context, target, profile, ITEM)


@pytest.mark.profile(account="newbie")
@pytest.mark.expect("blocked", causes=["payment"], reason="no payment method bound: the cashier must ask to bind one")
def test_no_payment_bound(journey, page, context, target, profile):
    checkout(journey, page, context, target, profile, ITEM)


@pytest.mark.profile(account="expired")
@pytest.mark.expect("blocked", causes=["payment"], reason="the only bound card has expired")
def test_expired_card(journey, page, context, target, profile):
    checkout(journey, page, context, target, profile, ITEM)


@pytest.mark.profile(account="traveller", region="urumqi")
def test_cross_province_login(journey, page, target, profile):
    """Logged in from another province within 3 days: SMS code + device check, then pay."""
    account = profile.account
    with journey.step("log in"):
        page.goto(target.url("/login"))
        page.get_by_test_id("login-username").fill(account.username)
        page.get_by_test_id("login-password").fill(account.password())
        page.get_by_test_id("login-submit").click()
        reach(page, "logout")
    with journey.step("buy now"):
        buy_now(page, target, "GN-702", profile.region.address, then="risk-check")
    with journey.step("sms verification"):
        send_code(page, page.get_by_test_id("sms-send"))  # the code typed once the shop has sent it
        page.get_by_test_id("sms-code").fill(account.sms_code())
        page.get_by_test_id("sms-verify").click()
        reach(page, "pay-submit")
    with journey.step("pay"):
        pay(page)


@pytest.mark.profile(account="returner")
@pytest.mark.expect("blocked", causes=["account"], reason=">5 returns this month: order held for manual review")
def test_high_returns_review(journey, page, context, target, profile):
    checkout(journey, page, context, target, profile, ITEM)


@pytest.mark.profile(account="teen")
@pytest.mark.expect(
    "blocked", causes=["account"], reason="青少年模式: the shop must refuse virtual goods (充值/打赏/会员: 95% of them)"
)
def test_teen_virtual_goods(journey, page, context, target, profile):
    checkout(journey, page, context, target, profile, VIRTUAL_ITEM)


@pytest.mark.expect(
    "blocked", causes=["account"], reason="风控: the shop must refuse orders from a blocklisted IP address"
)
def test_ip_banned(journey, page, context, target, profile, demo_shop):
    shop_fault(demo_shop, "ip_banned")  # demo shop: this shopper's (loopback) address is on the blocklist
    checkout(journey, page, context, target, profile, ITEM)


@pytest.mark.profile(account="broke")
@pytest.mark.expect(
    "blocked", causes=["payment"], reason="余额不足: the cashier must refuse a wallet payment over the balance"
)
def test_insufficient_balance(journey, page, context, target, profile):
    checkout(journey, page, context, target, profile, ITEM)


def test_virtual_goods_checkout(journey, page, context, target, profile, orderprobe_item):
    """虚拟商品 (充值、会员、打赏): one item of the shop's virtual shelf, drawn by the journey's seed
    (a population sweep's draw; any item otherwise) — a teen account is refused all but learning content."""
    sign_in(context, target, profile.account)
    with journey.step("open virtual goods"):
        page.goto(target.url("/virtual"))
        links = page.locator("[data-testid^='shelf-link-']")
        expect(links.first).to_be_visible()
        skus = sorted((link.get_attribute("data-testid") or "").removeprefix("shelf-link-") for link in links.all())
    sku = random.Random(orderprobe_item.seed).choice(skus)
    with journey.step("buy now"):
        buy_now(page, target, sku, profile.region.address)
    with journey.step("pay"):
        pay(page)
