"""Demo shop checkout over real HTTP: address validation, region rules, coupon, accounts, payment."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from orderprobe.shop.regions import parse_address
from orderprobe.shop.server import DemoShop
from orderprobe.shop.testing import ADDRESSES, buy, client, login, next_url, pay, quote, submit

ROOT = Path(__file__).resolve().parents[2]


def code_of(html: str, testid: str = "checkout-error") -> str:
    match = re.search(rf'data-testid="{testid}" data-code="(\w+)"', html)
    assert match, html[:3000]
    return match.group(1)


def text_of(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', html)
    assert match, f"{testid} not in page"
    return match.group(1)


def path_of(response: httpx.Response) -> str:
    return urlsplit(response.headers["location"]).path


# address validation -----------------------------------------------------------------------


def test_malformed_address_gets_field_errors_and_400(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "normal")
    bad = dict(ADDRESSES["shanghai"], phone="12345", postcode="20012", province="火星", street="")
    page = submit(http, bad)
    assert page.status_code == 400
    assert code_of(page.text) == "ADDRESS_INVALID"
    for field in ("phone", "postcode", "province", "street"):
        assert f'data-testid="field-error-{field}"' in page.text, field
    assert 'data-testid="field-error-recipient"' not in page.text
    assert 'value="林小姐"' in page.text  # what was typed is kept
    assert not demo.state.orders


def test_submit_without_a_shipping_quote_is_refused(http: httpx.Client) -> None:
    login(http, "normal")
    fields = dict(ADDRESSES["shanghai"], sku="GN-701", quote="")
    page = http.post("/checkout", data={"from": "product", **fields})
    assert page.status_code == 400 and code_of(page.text) == "QUOTE_MISSING"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"from": "product", "sku": "NOPE"}, 404, "UNKNOWN_SKU"),
        ({"from": "product", "sku": "GN-701", "qty": "0"}, 400, "BAD_QTY"),
        ({"from": "tv-shopping", "sku": "GN-701"}, 400, "BAD_SOURCE"),
    ],
)
def test_bad_basket_input_is_a_clear_4xx(http: httpx.Client, params: dict, status: int, code: str) -> None:
    login(http, "normal")
    page = http.get("/checkout", params=params)
    assert page.status_code == status and code_of(page.text, "error-message") == code
    api = http.get("/api/logistics/quote", params=params)
    assert api.status_code == status and api.json()["code"] == code


def test_every_built_in_region_address_is_accepted() -> None:
    """The regions the profile team ships must pass the shop's own address validation."""
    regions = yaml.safe_load((ROOT / "profiles/regions.yaml").read_text(encoding="utf-8"))["regions"]
    for region in regions:
        address, errors = parse_address({k: str(v) for k, v in region["address"].items()})
        assert address is not None, (region["name"], errors)


# region rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "sku", "code", "text"),
    [
        ("urumqi", "CS-601", "REGION_RESTRICTED", "该地区暂不支持配送此类商品"),
        ("lhasa", "CS-601", "REGION_RESTRICTED", "该地区暂不支持配送此类商品"),
        ("nagqu", "GN-701", "REGION_NO_AMBIENT", "那曲地区暂停常温商品配送"),
        ("hong-kong", "EL-301", "CUSTOMS_LIMIT", "需海关申报，超出限额"),
    ],
)
def test_region_rules_refuse_on_submit(
    demo: DemoShop, http: httpx.Client, region: str, sku: str, code: str, text: str
) -> None:
    login(http, "normal")
    assert text in " ".join(quote(http, sku=sku, **ADDRESSES[region])["notes"])  # shown before submit
    page = submit(http, region, sku=sku)
    assert page.status_code == 422
    assert code_of(page.text) == code and text in page.text
    assert not demo.state.orders
    assert "/pay/" in next_url(submit(http, "shanghai", sku=sku))  # the same goods ship to Shanghai


def test_food_to_xinjiang_pays_a_20_percent_special_line_surcharge(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "normal")
    q = quote(http, sku="FD-501", **ADDRESSES["urumqi"])
    assert q["surcharge"] == 1780  # 20 % of ¥89
    assert q["total"] == 8900 + 800 + 1780  # goods + shipping (under ¥99) + special line
    assert any("专线物流" in n for n in q["notes"])
    assert "/pay/" in next_url(submit(http, "urumqi", sku="FD-501"))
    assert demo.state.orders["DD100001"].surcharge == 1780


def test_cheap_electronics_to_hong_kong_pass_customs(http: httpx.Client) -> None:
    login(http, "normal")
    assert "/pay/" in next_url(submit(http, "hong-kong", sku="EL-302"))


def test_large_furniture_in_a_county_town_needs_a_pickup_point(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "normal")
    assert "/pay/" in next_url(submit(http, "shanghai", sku="FN-401"))  # big city: delivered
    submitted = submit(http, "dancheng", sku="FN-401")
    assert path_of(submitted) == "/checkout/pickup/DD100002"
    page = http.get("/checkout/pickup/DD100002").text
    assert 'data-testid="pickup-option-P1"' in page and 'data-testid="pickup-confirm"' in page
    assert "仅支持自提点" in page
    unchosen = http.post("/checkout/pickup/DD100002", data={})
    assert unchosen.status_code == 400 and "请选择一个自提点" in unchosen.text
    chosen = http.post("/checkout/pickup/DD100002", data={"pickup": "P1"})
    assert "/pay/" in next_url(chosen)
    done = http.get(path_of(pay(http, next_url(chosen), "unionpay"))).text
    assert 'data-testid="order-confirmed"' in done and "自提点 A" in done


# coupon ---------------------------------------------------------------------------------


def test_coupon_flow_claim_then_code_drops_the_price(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "normal")
    basket = {"from": "product", "sku": "GN-701"}
    early = http.post("/api/coupon/apply", data={**basket, "code": "NEW10"})
    assert early.status_code == 400 and early.json()["code"] == "COUPON_NOT_CLAIMED"
    claimed = http.post("/api/coupon/claim").json()
    assert "NEW10" in claimed["message"]
    wrong = http.post("/api/coupon/apply", data={**basket, "code": "OLD99"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "COUPON_INVALID"
    small = http.post("/api/coupon/apply", data={"from": "product", "sku": "GN-702", "code": "NEW10"})
    assert small.status_code == 400 and small.json()["code"] == "COUPON_THRESHOLD"
    applied = http.post("/api/coupon/apply", data={**basket, "code": "new10"}).json()
    assert applied["discount"] == 1000 and applied["total"] == 3990 - 1000 + 800
    assert "/pay/" in next_url(submit(http, sku="GN-701", coupon="NEW10"))
    assert demo.state.orders["DD100001"].total == 3790
    page = http.get("/checkout", params=basket).text
    assert '<button type="button" class="btn ghost" data-testid="coupon-claim" disabled>已领取' in page


def test_submitting_an_unclaimed_coupon_is_refused(http: httpx.Client) -> None:
    login(http, "normal")
    page = submit(http, sku="GN-701", coupon="NEW10")
    assert page.status_code == 400 and code_of(page.text) == "COUPON_NOT_CLAIMED"


# accounts -------------------------------------------------------------------------------


def test_normal_account_pays_and_sees_order_confirmed(http: httpx.Client) -> None:
    login(http, "normal")
    done = buy(http, sku="GN-701", channel="wechat")
    assert done.status_code == 200
    assert '<h1 data-testid="order-confirmed">下单成功</h1>' in done.text
    assert text_of(done.text, "order-number") == "DD100001"
    assert "W 钱包" in text_of(done.text, "order-channel")


def test_newbie_without_payment_method_must_bind_first(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "newbie")
    pay_url = next_url(submit(http, sku="GN-701"))
    cashier = http.get(pay_url)
    assert cashier.status_code == 200 and 'data-testid="bind-required"' in cashier.text
    assert "请先绑定支付方式" in cashier.text and 'data-testid="pay-submit"' not in cashier.text
    assert pay(http, pay_url, "alipay").status_code == 200  # still the bind page: nothing to pay with
    http.post(f"{pay_url}/bind")
    assert 'data-testid="pay-submit"' in http.get(pay_url).text
    assert pay(http, pay_url, "unionpay").status_code == 303


def test_expired_card_fails_with_card_expired(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "expired")
    pay_url = next_url(submit(http, sku="GN-701"))
    failed = pay(http, pay_url, "unionpay")
    assert failed.status_code == 402
    assert code_of(failed.text, "pay-error") == "CARD_EXPIRED" and "银行卡已过期" in failed.text
    assert demo.state.orders["DD100001"].status == "unpaid"
    unbound = pay(http, pay_url, "alipay")
    assert unbound.status_code == 409 and code_of(unbound.text, "pay-error") == "PAY_CHANNEL_UNBOUND"


def test_teen_account_is_blocked_with_guardian_verification(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "teen")
    page = submit(http, sku="GN-701")
    assert page.status_code == 403
    assert 'data-testid="teen-blocked" data-code="TEEN_MODE"' in page.text
    for words in ("青少年模式", "人脸识别", "监护人手机验证"):
        assert words in page.text
    assert not demo.state.orders and demo.state.stock["GN-701"] == 9999
    again = http.post("/verify/guardian", data={"guardian_phone": "13900000000"})
    assert again.status_code == 403 and "FACE_CHECK_REQUIRED" in again.text


def test_traveller_needs_sms_code_and_device_check(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "traveller")
    submitted = submit(http, sku="GN-701")
    assert path_of(submitted) == "/verify/sms/DD100001"
    page = http.get("/verify/sms/DD100001").text
    assert 'data-testid="risk-check"' in page and "异地登录" in page and "广东省 → 上海市" in page
    assert http.get(f"{demo.payment_loopback_url}/pay/{demo.state.orders['DD100001'].token}").status_code == 303

    def verify(code: str, device: str = "fp-1a2b") -> httpx.Response:
        return http.post("/verify/sms/DD100001", data={"code": code, "device": device})

    assert code_of(verify("246810").text, "sms-error") == "SMS_NOT_SENT"
    sent = http.post("/api/sms/send").json()
    assert sent["delay_ms"] == 0 and "138****0005" in sent["message"]
    assert code_of(verify("000000").text, "sms-error") == "SMS_CODE_INVALID"
    assert code_of(verify("246810", device="").text, "sms-error") == "DEVICE_CHECK_FAILED"
    ok = verify("246810")
    assert "/pay/" in next_url(ok)
    assert "/pay/" in next_url(submit(http, sku="GN-702"))  # verified once per session


def test_returner_order_is_placed_but_held_for_review(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "returner")
    submitted = submit(http, sku="GN-701")
    assert path_of(submitted) == "/orders/DD100001/done"
    page = http.get("/orders/DD100001/done").text
    assert '<h1 data-testid="order-held" data-code="MANUAL_REVIEW">订单待人工审核</h1>' in page
    assert 'data-testid="order-confirmed"' not in page
    assert demo.state.orders["DD100001"].status == "review"
    held = pay(http, f"{demo.payment_url}/pay/{demo.state.orders['DD100001'].token}")
    assert held.status_code == 303 and path_of(held) == "/orders/DD100001/done"  # nothing to pay


# payment origin -------------------------------------------------------------------------


def test_payment_lives_on_its_own_origin_and_redirects_back(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "normal")
    location = next_url(submit(http, sku="GN-701"))
    assert location.startswith(f"http://pay.localhost:{demo.payment_port}/pay/")
    cashier = http.get(location)
    assert cashier.headers["timing-allow-origin"] == "*"
    for channel in ("alipay", "wechat", "unionpay"):
        assert f'data-testid="pay-channel-{channel}"' in cashier.text
    assert "确认支付 ¥47.90" in cashier.text
    unchosen = http.post(location, data={})
    assert unchosen.status_code == 400 and code_of(unchosen.text, "pay-error") == "PAY_CHANNEL_REQUIRED"
    paid = pay(http, location, "alipay")
    assert paid.headers["location"] == f"{demo.url}/orders/DD100001/done"
    assert pay(http, location, "alipay").status_code == 303  # paying twice is harmless
    assert demo.state.orders["DD100001"].channel == "alipay"


def test_unknown_payment_token_is_a_404_page(demo: DemoShop, http: httpx.Client) -> None:
    page = http.get(f"{demo.payment_url}/pay/not-a-token")
    assert page.status_code == 404 and code_of(page.text, "pay-error") == "PAY_ORDER_NOT_FOUND"


def test_orders_are_private_to_their_account(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "normal")
    buy(http, sku="GN-701")
    with client(demo) as other:
        login(other, "newbie")
        page = other.get("/orders/DD100001/done")
        assert page.status_code == 404 and "订单不存在" in page.text
    assert 'data-testid="order-row-DD100001"' in http.get("/orders").text


def test_unpaid_order_page_links_to_the_cashier(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "normal")
    location = next_url(submit(http, sku="GN-701"))
    page = http.get("/orders/DD100001/done").text
    assert 'data-testid="order-unpaid"' in page and f'href="{location}"' in page


# old devices ----------------------------------------------------------------------------

OLD_UA = "Mozilla/5.0 (Linux; U; Android 4.4.2; zh-cn; HM NOTE 1LTE) AppleWebKit/534.30 Mobile Safari/534.30"


def test_android_4_gets_the_upgrade_page_at_checkout_and_payment(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "normal")
    location = next_url(submit(http, sku="GN-701"))
    old = {"User-Agent": OLD_UA}
    assert 'data-testid="upgrade-required"' not in http.get("/feed", headers=old).text  # browsing works
    for url in ("/checkout?from=product&sku=GN-701", location):
        page = http.get(url, headers=old)
        assert page.status_code == 200
        assert 'data-testid="upgrade-required"' in page.text and "您的系统版本过低，请升级" in page.text
    modern = {"User-Agent": OLD_UA.replace("Android 4.4.2", "Android 14")}
    assert 'data-testid="upgrade-required"' not in http.get(location, headers=modern).text
