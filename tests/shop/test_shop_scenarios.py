"""The field-study scenarios the demo shop added for issue 17, over real HTTP: each asserted the
way a shopper meets it (status, code, page text), timed ones on the shop's injected clocks."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import httpx
import pytest

from orderprobe.shop.catalogue import PRODUCTS, VIRTUAL
from orderprobe.shop.server import DemoShop
from orderprobe.shop.state import SHOP_TIME
from orderprobe.shop.testing import buy, client, login, next_url, pay, running_shop, submit


def code_of(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}" data-code="(\w+)"', html)
    assert match, html[:3000]
    return match.group(1)


@contextmanager
def shopper(demo: DemoShop, username: str = "normal") -> Iterator[httpx.Client]:
    with client(demo) as http:
        login(http, username)
        yield http


class Clock:
    """A clock the test moves by hand: the shop's monotonic and wall time."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


# account and risk control ---------------------------------------------------------------------


def test_ip_banned_refuses_submit_for_the_blocklisted_network_only(demo: DemoShop) -> None:
    with shopper(demo) as http:
        demo.set_fault("ip_banned", cidr="10.0.0.0/8")  # someone else's network
        assert "/pay/" in next_url(submit(http))
        demo.set_fault("ip_banned")  # default: the loopback clients, i.e. this shopper
        refused = submit(http)
        assert refused.status_code == 403 and code_of(refused.text, "checkout-error") == "IP_BLOCKED"
        assert "风控" in refused.text and "127.0.0.1" in refused.text


def test_insufficient_balance_refuses_wallets_and_says_so(demo: DemoShop) -> None:
    with shopper(demo, "broke") as http:
        pay_url = next_url(submit(http, sku="GN-701"))  # ¥39.90 + ¥8.00 against ¥5.00 in the wallets
        cashier = http.get(pay_url).text
        assert 'data-testid="pay-channel-state-alipay">余额 ¥5.00<' in cashier
        refused = pay(http, pay_url, "alipay")
        assert refused.status_code == 402 and code_of(refused.text, "pay-error") == "INSUFFICIENT_BALANCE"
        assert "余额不足" in refused.text
    with shopper(demo, "broke") as http:  # a cheap enough order goes through and is debited
        done = buy(http, sku="VG-016")  # ¥3.00 of virtual goods, no shipping
        assert 'data-testid="order-confirmed"' in done.text
        assert demo.state.wallets["broke"].balance == 200


def test_teen_mode_refuses_95_percent_of_virtual_goods(demo: DemoShop) -> None:
    refused = 0
    with shopper(demo, "teen") as http:
        for product in VIRTUAL:
            response = submit(http, sku=product.sku)
            if response.status_code == 403:
                assert code_of(response.text, "checkout-error") == "TEEN_VIRTUAL_BLOCKED", product.sku
                refused += 1
            else:
                assert "/pay/" in next_url(response) and product.teen_allowed, product.sku
        assert refused / len(VIRTUAL) == 0.95  # seed §2: 95% of virtual goods
        physical = submit(http, sku="GN-701")
        assert physical.status_code == 403 and 'data-testid="teen-blocked"' in physical.text  # guardian page
    with shopper(demo) as http:  # an adult buys any of them
        assert all("/pay/" in next_url(submit(http, sku=p.sku)) for p in VIRTUAL[:3])


# payment --------------------------------------------------------------------------------------


def test_payment_sdk_conflict_serves_a_stale_sdk(demo: DemoShop) -> None:
    with shopper(demo) as http:
        pay_url = next_url(submit(http))
        sdk_url = pay_url.split("/pay/")[0] + "/sdk/paysdk.js"
        assert '"3.2.0"' in http.get(sdk_url).text
        demo.set_fault("pay_sdk_conflict")
        assert '"2.8.1"' in http.get(sdk_url).text
        assert 'id="pay-form" hidden' in http.get(pay_url).text  # the page's script decides (see browser test)


def test_regional_payment_failure_is_a_seeded_rate_in_its_provinces_only(demo: DemoShop) -> None:
    demo.set_fault("payment_region_fail", rate=0.47, seed=11)
    draws = random.Random(11)
    expected = [draws.random() < 0.47 for _ in range(12)]
    failed = []
    for _ in range(12):
        with shopper(demo) as http:
            response = pay(http, next_url(submit(http, "beijing")), "alipay")
            failed.append(response.status_code == 502)
            if response.status_code == 502:
                assert code_of(response.text, "pay-error") == "PAY_UPSTREAM_ERROR"
    assert failed == expected and 0 < sum(failed) < 12  # a rate, not on/off
    with shopper(demo) as http:  # Shanghai is not 华北: never hit, and it takes no draw
        for _ in range(4):
            assert pay(http, next_url(submit(http, "shanghai")), "alipay").status_code == 303


# inventory ------------------------------------------------------------------------------------


@pytest.fixture
def timed_shop() -> Iterator[tuple[DemoShop, Clock, Clock]]:
    """A shop of its own whose clocks the test moves: 23:00 shop time on 11 November."""
    clock = Clock(1000.0)
    wall = Clock(datetime(2026, 11, 11, 23, 0, tzinfo=SHOP_TIME).timestamp())
    with running_shop(clock=clock, wall=wall) as shop:
        yield shop, clock, wall


def test_stock_sync_lag_is_timed_not_on_off(timed_shop: tuple[DemoShop, Clock, Clock]) -> None:
    shop, clock, _ = timed_shop
    shop.set_fault("inventory_lag", lag_s=30)
    with shopper(shop) as http:
        assert "仅剩 3 件" in http.get("/product/FS-001").text  # nothing sold yet: the feed is right
        for _ in range(3):  # the flash sale sells out at the peak
            with shopper(shop) as other:
                buy(other, sku="FS-001")
        clock.now += 29  # 29 s later the page still offers it: the feed is 30 s behind
        assert "仅剩 3 件" in http.get("/product/FS-001").text
        refused = submit(http, sku="FS-001")
        assert refused.status_code == 409 and code_of(refused.text, "checkout-error") == "STOCK_SYNC_DELAY"
        assert "库存不足" in refused.text
        clock.now += 2  # 31 s: the feed has caught up, and the page says sold out
        assert "已售罄" in http.get("/product/FS-001").text
        assert code_of(submit(http, sku="FS-001").text, "checkout-error") == "SOLD_OUT"
        shop.set_fault("inventory_lag", lag_s=30, sku="GN-701")  # only another product lags
        assert "已售罄" in http.get("/product/FS-001").text


def test_farm_produce_restocks_at_ten_the_next_day(timed_shop: tuple[DemoShop, Clock, Clock]) -> None:
    shop, _, wall = timed_shop
    with shopper(shop) as http:
        page = http.get("/product/AG-201").text
        assert "已售罄" in page and "次日10:00补货" in page
        assert code_of(submit(http, sku="AG-201").text, "checkout-error") == "SOLD_OUT"
        wall.now = datetime(2026, 11, 12, 9, 59, 59, tzinfo=SHOP_TIME).timestamp()
        assert "已售罄" in http.get("/product/AG-201").text  # not before 10:00
        wall.now += 1
        assert "有货" in http.get("/product/AG-201").text
        assert shop.state.stock["AG-201"] == PRODUCTS["AG-201"].restock_qty
        assert "/pay/" in next_url(submit(http, sku="AG-201"))


# regional policy ------------------------------------------------------------------------------


def test_alcohol_needs_a_seller_licensed_for_the_region(demo: DemoShop) -> None:
    with shopper(demo) as http:
        refused = submit(http, "shanghai", sku="AL-901")
        assert refused.status_code == 422 and code_of(refused.text, "checkout-error") == "LICENSE_REQUIRED"
        assert "酒类经营" in refused.text
        assert "/pay/" in next_url(submit(http, "guiyang", sku="AL-901"))  # the seller's own province
        assert "/pay/" in next_url(submit(http, "shanghai", sku="AL-902"))  # a nationally licensed seller


def test_food_to_xinjiang_goes_by_special_line_at_plus_20_percent(demo: DemoShop) -> None:
    with shopper(demo) as http:
        buy(http, "urumqi", sku="FD-501")
        buy(http, "shanghai", sku="FD-501")
    xinjiang, shanghai = (o.as_dict() for o in demo.state.orders.values())
    assert xinjiang["surcharge"] == round(PRODUCTS["FD-501"].price * 0.20) and shanghai["surcharge"] == 0
    assert xinjiang["total"] - shanghai["total"] == xinjiang["surcharge"]
