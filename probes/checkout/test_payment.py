"""Payment channel (field study §2, §5, §8): when the wallets are in maintenance the cashier
must offer the UnionPay-like card channel, and paying through it must work."""

from __future__ import annotations

from playwright.sync_api import expect

from probes.checkout.steps import buy_now, pay, sign_in


def test_payment_backup_channel(journey, page, context, target, profile, demo_shop):
    if demo_shop is not None:  # demo shop only: put both wallets into maintenance
        demo_shop.set_fault("payment_maintenance")
    sign_in(context, target, profile.account)
    with journey.step("buy now"):
        buy_now(page, target, "GN-701", profile.region.address)
    with journey.step("pay with backup channel"):
        if demo_shop is not None:
            expect(page.get_by_test_id("pay-channel-alipay")).to_be_disabled()
        pay(page, "unionpay")
