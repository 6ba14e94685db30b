"""The demo shop in real headless Chromium: a whole video-feed checkout, the subsidy path with a
coupon, the SMS step, and faults as a shopper's browser meets them (blocked payment host,
hanging shipping quote, API errors, old Android)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright

from orderprobe.probes.browser import launch_options
from orderprobe.shop.server import DemoShop
from orderprobe.shop.testing import ADDRESSES

WAIT = 20_000  # ms: a deadline for polled conditions on a shared, noisy machine, not a speed limit
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN"}
OLD_ANDROID = "Mozilla/5.0 (Linux; U; Android 4.4.2; zh-cn; HM NOTE 1LTE) AppleWebKit/534.30 Mobile Safari/534.30"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        yield browser
        browser.close()


@pytest.fixture
def shopper(demo: DemoShop, chromium: Browser) -> Iterator[BrowserContext]:
    demo.reset()
    context = chromium.new_context(**PHONE)
    context.set_default_timeout(WAIT)
    yield context
    context.close()


def log_in(context: BrowserContext, demo: DemoShop, username: str = "normal") -> Page:
    """Log in through the shop's form over the context's cookie jar, then open a tab."""
    answer = context.request.post(
        f"{demo.url}/login", form={"username": username, "password": "demo-pass", "next": "/"}, max_redirects=0
    )
    assert answer.status == 303
    return context.new_page()


def fill_address(page: Page, region: str = "shanghai") -> None:
    labels = {"recipient": "收货人", "phone": "手机号", "province": "省份", "city": "城市", "district": "区/县",
              "street": "详细地址", "postcode": "邮编"}  # fmt: skip
    for field, label in labels.items():
        page.get_by_label(label, exact=True).fill(ADDRESSES[region][field])


def test_video_feed_path_to_order_confirmed(demo: DemoShop, shopper: BrowserContext) -> None:
    page = shopper.new_page()
    page.goto(f"{demo.url}/login?next=/feed")
    page.get_by_label("用户名").fill("normal")
    page.get_by_label("密码").fill("demo-pass")
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{demo.url}/feed", timeout=WAIT)
    page.get_by_test_id("add-to-cart-GN-701").click()
    expect(page.get_by_test_id("toast")).to_have_text("已加入购物车", timeout=WAIT)
    # the cart is three menus deep: 我的 → 订单与工具 → 购物车
    page.get_by_role("link", name="我的").click()
    page.get_by_role("link", name="订单与工具").click()
    page.get_by_role("link", name="购物车").click()
    expect(page.get_by_test_id("cart-item-GN-701")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="去结算").click()
    fill_address(page)
    submit = page.get_by_role("button", name="提交订单")
    expect(submit).to_be_enabled(timeout=WAIT)  # after the shipping quote arrived
    expect(page.get_by_test_id("shipping-fee")).to_have_text("¥8.00", timeout=WAIT)
    submit.click()
    expect(page).to_have_url(re.compile(rf"^http://pay\.localhost:{demo.payment_port}/pay/"), timeout=WAIT)
    page.get_by_label("A 钱包").check()
    page.get_by_role("button", name=re.compile("确认支付")).click()
    expect(page.get_by_test_id("order-confirmed")).to_have_text("下单成功", timeout=WAIT)
    expect(page.get_by_test_id("order-number")).to_have_text("DD100001", timeout=WAIT)
    assert page.url == f"{demo.url}/orders/DD100001/done"
    assert demo.state.orders["DD100001"].status == "paid"


def test_blocked_payment_host_breaks_the_pay_step(demo: DemoShop, shopper: BrowserContext) -> None:
    shopper.route("http://pay.localhost:*/**", lambda route: route.abort("namenotresolved"))
    page = log_in(shopper, demo)
    page.goto(f"{demo.url}/subsidy")
    page.get_by_test_id("subsidy-buy-SB-801").click()
    submit = page.get_by_role("button", name="提交订单")
    expect(submit).to_be_enabled(timeout=WAIT)
    with page.expect_event("requestfailed", lambda r: "pay.localhost" in r.url, timeout=WAIT) as failed:
        submit.click()
    assert "ERR_NAME_NOT_RESOLVED" in (failed.value.failure or "")
    assert demo.state.orders["DD100001"].status == "unpaid"  # the order exists, payment never happened
    expect(page.get_by_test_id("order-confirmed")).to_have_count(0)


def test_subsidy_path_with_coupon_and_backup_card(demo: DemoShop, shopper: BrowserContext) -> None:
    page = log_in(shopper, demo)
    page.goto(f"{demo.url}/subsidy")
    page.get_by_role("button", name=re.compile("立即抢购 百亿补贴")).click()
    expect(page.get_by_label("收货人", exact=True)).to_have_value("林小姐", timeout=WAIT)  # pre-filled
    page.get_by_role("button", name="领取优惠券").click()
    expect(page.get_by_test_id("coupon-message")).to_contain_text("NEW10", timeout=WAIT)
    page.get_by_label("优惠码").fill("NEW10")
    page.get_by_role("button", name="使用优惠券").click()
    expect(page.get_by_test_id("order-total")).to_have_text("¥89.00", timeout=WAIT)
    page.get_by_role("button", name="提交订单").click()
    page.get_by_label("云闪付银行卡").check()
    page.get_by_role("button", name=re.compile("确认支付")).click()
    expect(page.get_by_test_id("order-confirmed")).to_be_visible(timeout=WAIT)
    assert demo.state.orders["DD100001"].total == 8900


def test_traveller_passes_the_sms_and_device_step(demo: DemoShop, shopper: BrowserContext) -> None:
    page = log_in(shopper, demo, "traveller")
    page.goto(f"{demo.url}/product/GN-702?from=live")
    page.get_by_role("button", name="立即购买").click()
    fill_address(page)
    page.get_by_role("button", name="提交订单").click()
    expect(page.get_by_test_id("risk-check")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_test_id("sms-status")).to_contain_text("已发送", timeout=WAIT)
    page.get_by_label("短信验证码").fill("246810")
    page.get_by_role("button", name="验证并继续").click()
    expect(page).to_have_url(re.compile(r"^http://pay\.localhost:\d+/pay/"), timeout=WAIT)


def test_logistics_timeout_keeps_the_spinner_and_submit_disabled(demo: DemoShop, shopper: BrowserContext) -> None:
    demo.set_fault("logistics_timeout")
    page = log_in(shopper, demo)
    with page.expect_request(re.compile(r"/api/logistics/quote"), timeout=WAIT):
        page.goto(f"{demo.url}/checkout?from=product&sku=GN-701")
    expect(page.get_by_test_id("shipping-spinner")).to_have_text("运费计算中…", timeout=WAIT)
    expect(page.get_by_role("button", name="提交订单")).to_be_disabled(timeout=WAIT)
    demo.clear_faults()  # the logistics API recovers: the pending quote is answered
    expect(page.get_by_role("button", name="提交订单")).to_be_enabled(timeout=WAIT)
    expect(page.get_by_test_id("shipping-spinner")).to_be_hidden(timeout=WAIT)


def test_api_errors_show_a_toast_with_the_code(demo: DemoShop, shopper: BrowserContext) -> None:
    demo.set_fault("api_5xx", rate=1)
    page = log_in(shopper, demo)
    page.goto(f"{demo.url}/checkout?from=product&sku=GN-701")
    expect(page.get_by_test_id("toast")).to_contain_text("SYS_ERROR", timeout=WAIT)
    expect(page.get_by_role("button", name="提交订单")).to_be_disabled(timeout=WAIT)
    demo.clear_faults()
    page.get_by_role("button", name="重新计算运费").click()
    expect(page.get_by_role("button", name="提交订单")).to_be_enabled(timeout=WAIT)


def test_old_android_gets_the_upgrade_page(demo: DemoShop, chromium: Browser) -> None:
    demo.reset()
    context = chromium.new_context(**PHONE, user_agent=OLD_ANDROID)
    try:
        page = log_in(context, demo)
        page.goto(f"{demo.url}/feed")
        expect(page.get_by_test_id("add-to-cart-GN-701")).to_be_visible(timeout=WAIT)
        page.goto(f"{demo.url}/checkout?from=product&sku=GN-701")
        expect(page.get_by_test_id("upgrade-required")).to_contain_text("您的系统版本过低，请升级", timeout=WAIT)
    finally:
        context.close()


def test_a_page_of_another_origin_cannot_switch_faults_or_reset(demo: DemoShop, shopper: BrowserContext) -> None:
    """The cross-site requests a browser sends without asking first (a no-cors text/plain
    fetch, a form post) reach the admin endpoint and are refused; the shop's state stands."""
    demo.set_fault("payment_slow", ms=1)
    page = shopper.new_page()
    page.goto(demo.payment_url + "/")  # another origin (the payment host), same machine
    statuses = page.evaluate(
        """async shop => {
            const tries = [
              ["/__admin/faults", "text/plain", JSON.stringify({name: "payment_down"})],
              ["/__admin/reset", "application/x-www-form-urlencoded", "x=1"],
            ];
            for (const [path, type, body] of tries) {
              await fetch(shop + path, {method: "POST", mode: "no-cors", headers: {"Content-Type": type}, body});
            }
            const form = Object.assign(document.createElement("form"), {method: "POST"});
            form.action = shop + "/__admin/reset";
            form.enctype = "text/plain";
            document.body.append(form);
            form.submit();
        }""",
        demo.url,
    )
    assert statuses is None
    page.wait_for_url(re.compile(r"/__admin/reset$"))
    assert "ADMIN_CROSS_ORIGIN" in page.content()
    assert [f["name"] for f in demo.context.faults.snapshot()] == ["payment_slow"]


def test_an_address_finished_after_the_first_re_quote_is_quoted_again(demo: DemoShop, shopper: BrowserContext) -> None:
    """A shopper (or a probe on a loaded machine) who pauses after the district: the re-quote for
    the partial address comes back with no surcharge; the street and postcode typed after it
    complete the address, and the shop must quote it again (新疆 food: +20% special line)."""
    page = log_in(shopper, demo)
    page.goto(f"{demo.url}/checkout?from=product&sku=FD-501")
    expect(page.get_by_role("button", name="提交订单")).to_be_enabled(timeout=WAIT)
    address = ADDRESSES["urumqi"]
    with page.expect_response(re.compile(r"/api/logistics/quote"), timeout=WAIT):  # the pause
        for name in ("recipient", "phone", "province", "city", "district"):
            page.get_by_test_id(f"addr-{name}").fill(address[name])
    for name in ("street", "postcode"):
        page.get_by_test_id(f"addr-{name}").fill(address[name])
    expect(page.get_by_test_id("order-surcharge")).to_have_text("¥17.80", timeout=WAIT)
    expect(page.get_by_role("button", name="提交订单")).to_be_enabled(timeout=WAIT)


def test_a_quote_in_flight_when_the_coupon_is_applied_does_not_undo_it(demo: DemoShop, shopper: BrowserContext) -> None:
    """The shop's re-quote (asked for before the coupon) answers after the coupon was applied:
    its totals without the coupon must not replace the discounted ones."""
    # Playwright holds that one quote (a real shop cannot hold one reply and answer the rest);
    # the page marks when it has read the held reply, so the check runs after the page acted on it.
    shopper.add_init_script(HELD_REPLY_SEEN)
    page = log_in(shopper, demo)
    page.goto(f"{demo.url}/checkout?from=product&sku=GN-701")
    fill_address(page)
    expect(page.get_by_test_id("shipping-spinner")).to_be_hidden(timeout=WAIT)
    held: list[Route] = []
    page.route(re.compile(r"/api/logistics/quote"), lambda route: route.continue_() if held else held.append(route))
    with page.expect_request(re.compile(r"/api/logistics/quote"), timeout=WAIT):
        page.get_by_test_id("addr-district").fill("浦东新区")  # an edit: the shop re-quotes
    page.get_by_role("button", name="领取优惠券").click()
    page.get_by_label("优惠码").fill("NEW10")
    with page.expect_response(re.compile(r"/api/coupon/apply"), timeout=WAIT) as applied:
        page.get_by_role("button", name="使用优惠券").click()
    assert applied.value.ok, applied.value.text()  # the shop's own refusal, if any, by its code
    expect(page.get_by_test_id("order-discount")).to_have_text("-¥10.00", timeout=WAIT)
    discounted = page.get_by_test_id("order-total").inner_text()
    late = held[0].fetch()
    held[0].fulfill(response=late, headers={**late.headers, "x-held": "1"})  # the old quote answers now
    page.wait_for_function("window.__heldReplyRead === true", timeout=WAIT)
    expect(page.get_by_test_id("order-discount")).to_have_text("-¥10.00")
    expect(page.get_by_test_id("order-total")).to_have_text(discounted)


def test_an_edit_while_a_quote_is_in_flight_keeps_submit_disabled_until_its_own_quote(
    demo: DemoShop, shopper: BrowserContext
) -> None:
    """A quote for the old address answers during the pause before the edit's own quote: submit
    must stay disabled (a tap then would be swallowed once the edit's quote starts, or submit
    the stale totals). The page's timers run on Playwright's clock, so the pause is held open."""
    shopper.add_init_script(HELD_REPLY_SEEN)
    page = log_in(shopper, demo)
    page.clock.install()
    page.goto(f"{demo.url}/checkout?from=product&sku=GN-701")
    fill_address(page)
    page.clock.run_for(1000)  # the debounce: the address's quote is asked for
    expect(page.get_by_test_id("shipping-spinner")).to_be_hidden(timeout=WAIT)
    page.clock.pause_at(time.time() + 60)  # from now on the page's timers fire only when run_for says
    held: list[Route] = []
    page.route(re.compile(r"/api/logistics/quote"), lambda route: held.append(route))
    with page.expect_request(re.compile(r"/api/logistics/quote"), timeout=WAIT):
        page.get_by_test_id("addr-district").fill("浦东新区")
        page.clock.run_for(1000)
    page.get_by_test_id("addr-street").fill("世纪大道 200 号")  # its quote waits for the debounce
    late = held[0].fetch()
    held[0].fulfill(response=late, headers={**late.headers, "x-held": "1"})  # the district's quote answers now
    page.wait_for_function("window.__heldReplyRead === true", polling=50, timeout=WAIT)
    assert len(held) == 1  # the street's own quote has not been asked for yet
    expect(page.get_by_role("button", name="提交订单")).to_be_disabled()


# Marks, after the page's own code has read it, the reply the test held back.
HELD_REPLY_SEEN = """
const json = Response.prototype.json;
Response.prototype.json = function () {
  const held = this.headers.get('x-held') === '1';
  // Set before the page's own continuation runs; a check from outside comes after it (a new task).
  return json.call(this).then((v) => { if (held) window.__heldReplyRead = true; return v; });
};
"""
