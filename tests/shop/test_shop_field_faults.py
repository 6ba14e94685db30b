"""The field configuration's shop faults over real HTTP: the new-user coupon's claim lost
(``coupon_broken``, seed §7: 38 %) and the shelf drawn sold out by product tag (``stock_out``,
seed §4: flash sale 92 %, cross-border 67 %, farm produce 45 %). Rates over many draws are
measured by ``benchmarks/field_rates.py``; here: the mechanism, at rates 0 and 1, and seeding."""

from __future__ import annotations

import httpx
import pytest

from orderprobe.shop.faults import FaultError
from orderprobe.shop.server import DemoShop
from orderprobe.shop.testing import login, next_url, submit

BASKET = {"from": "product", "sku": "GN-701", "qty": "1", "code": "NEW10"}


def test_a_lost_coupon_claim_says_claimed_then_refuses_the_code(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "normal")
    demo.set_fault("coupon_broken", rate=1.0)
    claimed = http.post("/api/coupon/claim")
    assert claimed.status_code == 200 and "已领取" in claimed.json()["message"]  # the shopper is told it worked
    refused = http.post("/api/coupon/apply", data=BASKET)
    assert (refused.status_code, refused.json()["code"]) == (400, "COUPON_NOT_CLAIMED")
    demo.set_fault("coupon_broken", rate=0.0)
    http.post("/api/coupon/claim").raise_for_status()  # claiming again works when the claim is not lost
    assert http.post("/api/coupon/apply", data=BASKET).json()["discount"] == 1000


def test_coupon_breakage_is_seeded(demo: DemoShop, http: httpx.Client) -> None:
    def lost(seed: int) -> list[bool]:
        demo.reset()
        login(http, "normal")
        demo.set_fault("coupon_broken", rate=0.38, seed=seed)
        out = []
        for _ in range(20):
            http.post("/api/coupon/claim")
            out.append(http.post("/api/coupon/apply", data=BASKET).status_code != 200)
        return out

    assert lost(3) == lost(3) and 0 < sum(lost(3)) < 20


def test_the_shelf_is_drawn_by_tag(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "normal")
    fault = demo.set_fault("stock_out", rates={"flash_sale": 1.0, "cross_border": 0.0, "agricultural": 1.0})
    assert fault["sold_out"] == ["FS-001", "AG-201"]
    assert "已售罄" in http.get("/product/FS-001").text
    assert submit(http, sku="FS-001").status_code == 409
    assert "/pay/" in next_url(submit(http, sku="CB-101"))  # cross-border stock has cleared customs: on sale
    assert submit(http, sku="AG-201").status_code == 409
    assert "次日10:00补货" in http.get("/product/AG-201").text


def test_a_phantom_cross_border_order_when_drawn_out(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "normal")
    demo.set_fault("stock_out", rates={"cross_border": 1.0})
    refused = submit(http, sku="CB-101")
    assert refused.status_code == 409 and "STOCK_SYNC_DELAY" in refused.text  # the page showed 50 in stock


def test_the_admin_endpoint_draws_the_shelf_too(demo: DemoShop, http: httpx.Client) -> None:
    answer = http.post("/__admin/faults", json={"name": "stock_out", "params": {"rates": {"flash_sale": 1}}})
    assert answer.json()["fault"]["sold_out"] == ["FS-001"]


def test_an_unknown_tag_is_refused(demo: DemoShop) -> None:
    with pytest.raises(FaultError, match="unknown product tag"):
        demo.set_fault("stock_out", rates={"flashsale": 0.9})
