"""The built-in rules against realistic failure points, one family of the field study at a time.

Each case names the rule that must win. Where other rules also match the same evidence,
``beats`` names the rule that would win if the expected one were gone: that proves the
case tests the order, so a removed or wrongly reordered rule fails here. A last test
checks every built-in rule has a case.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from orderprobe.base.result import FailurePoint, LinkRecord, Outage, RequestRecord
from orderprobe.probes.classify import BUILTIN, Classifier

SHOP = "http://127.0.0.1:41731"
PAY = "http://pay.localhost:41733"
SHOP_DEPS = {"http://pay.localhost:*/*": "payment-gateway", "*/api/logistics/*": "logistics", "*/api/sms/*": "sms"}


def req(url: str, status: int | None = 200, failure: str | None = None, *, method: str = "GET",
        kind: str = "fetch", body: str | None = None) -> RequestRecord:  # fmt: skip
    return RequestRecord(method=method, url=url, resource_type=kind, status=status, failure=failure, body_excerpt=body)


def waiting(locator: str, action: str = "Locator.click", ms: int = 10000) -> str:
    return f"{action}: Timeout {ms}ms exceeded.\nCall log:\n  - waiting for {locator}\n"


def fp(step: str = "pay", *, error_type: str = "TimeoutError", message: str | None = None,
       locator: str | None = 'get_by_role("button", name="提交订单")', action: str | None = "Locator.click",
       url: str = f"{SHOP}/checkout", status: int | None = 200, title: str = "确认订单", text: str = "",
       failed: tuple[RequestRecord, ...] = (), ok: tuple[RequestRecord, ...] = ()) -> FailurePoint:  # fmt: skip
    """A failure point as the engine captures it; defaults: a locator wait timed out on the checkout page."""
    if message is None:
        message = waiting(locator or "", action or "Locator.click")
    document = req(url, status, kind="document") if status is not None else None
    return FailurePoint(
        step=step, action=action, locator=locator, error_type=error_type, message=message, url=url,
        document_status=status, page_title=title, page_text=text,
        requests=[r for r in (document, *ok, *failed) if r is not None], failed_requests=list(failed),
    )  # fmt: skip


@dataclass
class Case:
    id: str
    failure: FailurePoint
    rule: str
    category: str
    detail: str
    dependency: str | None = None
    evidence: str = ""  # must appear in Cause.evidence
    beats: str | None = None  # the rule that wins once `rule` is removed
    deps: dict[str, str] = field(default_factory=lambda: dict(SHOP_DEPS))


CHROME_OFFLINE = "未连接到互联网\n请试试以下办法：\n检查网线、调制解调器和路由器\nERR_INTERNET_DISCONNECTED"
CHECKOUT = "确认订单\n收货地址：上海市浦东新区张江路 88 号\n商品合计 ¥99.00\n运费 ¥0.00\n提交订单 Submit order"

STALLED_PAY = LinkRecord(mode="packet", stalled=True, summary=(
    "emulated network (packet): link down 8.67–13.35 s (dropout; in flight: POST /pay (sent 8.20 s, in flight)); "
    "packets dropped by the link: down 9 (outage 9), up 12 (outage 12)"
), outages=[Outage(start_ms=8670, end_ms=13350, in_flight=["POST /pay (sent 8.20 s, in flight)"])],
   dropped={"up": {"outage": 12}, "down": {"outage": 9}})  # fmt: skip

SLOW_METRO = LinkRecord(mode="packet", slow="metro-weak: 400 ms RTT, 400 kbit/s down", summary=(
    "emulated network (packet): no outage or drop; a slow link by its profile (metro-weak: 400 ms RTT, 400 kbit/s down)"
))  # fmt: skip
PENDING_PAGE = RequestRecord(method="GET", url=f"{SHOP}/checkout?from=subsidy", resource_type="document",
                             navigation=True, step="buy now")  # fmt: skip
CLICK_DONE = ('Locator.click: Timeout 10000ms exceeded.\nCall log:\n  - waiting for get_by_test_id("buy")\n'
              "  - click action done\n  - waiting for scheduled navigations to finish\n")  # fmt: skip

CASES = [
    # ---- 1 network and device
    Case("flaky-profile-injected-503", fp(text=CHECKOUT, failed=(
        req(f"{SHOP}/api/orders", 503, method="POST", body="服务暂不可用 (orderprobe injected HTTP 503)"),
    )), "network.injected", "network", "injected_fault", evidence="orderprobe injected", beats="system.api_5xx"),
    Case("metro-offline-api", fp(text="网络异常，请检查网络设置", failed=(
        req(f"{SHOP}/api/orders", None, "net::ERR_INTERNET_DISCONNECTED", method="POST"),
        req(f"{PAY}/sdk.js", None, "net::ERR_NAME_NOT_RESOLVED", kind="script"),
    )), "network.offline", "network", "offline", evidence="ERR_INTERNET_DISCONNECTED", beats="network.dns"),
    Case("metro-offline-navigation", fp(
        "cart", error_type="Error", locator=None, action="Page.goto", url="chrome-error://chromewebdata/", status=None,
        title="127.0.0.1", text=CHROME_OFFLINE,
        message=f"Page.goto: net::ERR_INTERNET_DISCONNECTED at {SHOP}/cart\nCall log:\n  - navigating to {SHOP}/cart",
    ), "network.offline", "network", "offline", evidence="ERR_INTERNET_DISCONNECTED at"),
    Case("dns-polluted-payment-host", fp(
        url="chrome-error://chromewebdata/", status=None, title="pay.localhost",
        text="无法访问此网站\n找不到 pay.localhost 的服务器 IP 地址。\nERR_NAME_NOT_RESOLVED",
        locator='get_by_role("button", name="确认支付")',
        failed=(req(f"{PAY}/cashier?order=A1001", None, "net::ERR_NAME_NOT_RESOLVED", kind="document"),),
    ), "network.dns", "network", "dns", "payment-gateway", evidence=f"{PAY}/cashier"),
    Case("dns-alipay-default-dependency", fp(text=CHECKOUT, failed=(
        req("https://openapi.alipay.com/gateway.do?method=alipay.trade.wap.pay", None, "net::ERR_NAME_NOT_RESOLVED",
            kind="document"),
    )), "network.dns", "network", "dns", "alipay", evidence="openapi.alipay.com"),
    Case("captive-wifi-tls", fp(failed=(
        req("https://mapi.alipay.com/gateway.do", None, "net::ERR_CERT_AUTHORITY_INVALID", kind="document"),
    )), "network.tls", "network", "tls", "alipay", evidence="ERR_CERT_AUTHORITY_INVALID"),
    Case("weak-signal-timeout", fp("submit", text=CHECKOUT, failed=(
        req(f"{SHOP}/api/orders", None, "net::ERR_TIMED_OUT", method="POST"),
    )), "network.timeout", "network", "timeout", evidence="ERR_TIMED_OUT"),
    Case("proxy-failed", fp(failed=(req(f"{SHOP}/api/cart", None, "net::ERR_PROXY_CONNECTION_FAILED"),)),
         "network.proxy", "network", "proxy"),
    Case("page-load-timeout", fp(
        "home", locator=None, action="Page.goto", url="about:blank", status=None, title="",
        message=f'Page.goto: Timeout 30000ms exceeded.\nCall log:\n  - navigating to "{SHOP}/", waiting until "load"\n',
    ), "network.page_load", "network", "timeout", evidence="Timeout 30000ms"),
    # A runaway script (while(true){}) holds the main thread: the navigation's wait timed out, but
    # the capture had to stop that script to read the page — frozen page, not a slow network.
    Case("runaway-script", fp(
        "home", locator=None, action="Page.goto", status=None, title="",
        message=f'Page.goto: Timeout 30000ms exceeded.\nCall log:\n  - navigating to "{SHOP}/", waiting until "load"\n',
    ).model_copy(update={"capture_notes": [
        "page: main thread busy (no answer in 1 s); its running script was stopped to take evidence"]}),
         "system.page_unresponsive", "system", "page_unresponsive", evidence="main thread busy",
         beats="network.page_load"),
    Case("android-4-upgrade-page", fp(
        "product", locator='get_by_role("button", name="加入购物车")', title="请升级",
        text="您的系统版本过低（Android 4.4），请升级系统或使用新版浏览器后再下单\nYour Android version is too old",
    ), "compatibility.upgrade_required", "compatibility", "upgrade_required", evidence="系统版本过低",
        beats="probe.selector_drift"),
    # ---- 2 payment channel
    Case("payment-gateway-503", fp(text="支付服务暂不可用，请稍后重试", failed=(
        req(f"{PAY}/api/pay", 503, method="POST", body='{"error": "service unavailable"}'),
    )), "third_party.gateway_down", "third_party", "gateway_down", "payment-gateway", evidence="HTTP 503",
        beats="third_party.api_5xx"),
    Case("payment-gateway-refused", fp(text=CHECKOUT, failed=(
        req(f"{PAY}/api/pay", None, "net::ERR_CONNECTION_REFUSED", method="POST"),
    )), "third_party.gateway_down", "third_party", "gateway_down", "payment-gateway",
        evidence="ERR_CONNECTION_REFUSED", beats="third_party.down"),
    Case("payment-maintenance", fp(text="支付宝维护中，请选择云闪付支付", failed=(
        req(f"{PAY}/api/pay", 503, method="POST",
            body='{"code": "MAINTENANCE", "message": "\\u652f\\u4ed8\\u901a\\u9053\\u7ef4\\u62a4\\u4e2d"}'),
    )), "payment.maintenance", "payment", "maintenance", "payment-gateway", beats="third_party.maintenance"),
    Case("no-payment-bound", fp(text="您还没有绑定支付方式，请先绑定银行卡并完成实名认证"),
         "payment.not_bound", "payment", "not_bound", evidence="绑定支付方式", beats="account.real_name"),
    Case("card-expired", fp(text="支付失败：您的银行卡（尾号 6789）已过期，请更新卡片信息"),
         "payment.card_expired", "payment", "card_expired", beats="payment.declined"),
    Case("insufficient-balance", fp(text="支付失败，账户余额不足"),
         "payment.insufficient_balance", "payment", "insufficient_balance", beats="payment.declined"),
    Case("insufficient-balance-en", fp(url="https://m.shop.example/cashier",
                                       text="Payment failed: your balance is too low for this order"),
         "payment.insufficient_balance", "payment", "insufficient_balance", beats="payment.declined"),
    Case("payment-declined", fp(text="支付失败，请更换支付方式", failed=(req(f"{SHOP}/api/pay", 402, method="POST"),)),
         "payment.declined", "payment", "declined", beats="system.page_error"),
    # ---- 3 account and risk control
    Case("teen-blocked", fp("submit", text="青少年模式下暂不支持消费。请完成实名认证（人脸识别）并由监护人手机验证",
                            failed=(req(f"{SHOP}/api/orders", 403, method="POST", body='{"code": "TEEN_MODE"}'),)),
         "account.teen", "account", "teen", evidence="青少年", beats="account.real_name"),
    Case("real-name", fp(text="下单前请先完成实名认证 Please verify your identity"),
         "account.real_name", "account", "real_name"),
    Case("cross-province-login", fp("login", text="检测到异地登录（上次：上海，本次：乌鲁木齐），请输入短信验证码"),
         "account.cross_province", "account", "cross_province", beats="probe.selector_drift"),
    Case("sms-delay", fp("login", text="检测到异地登录，请输入短信验证码完成设备验证\n验证码已发送",
                         failed=(req(f"{SHOP}/api/sms/send", None, method="POST"),)),
         "third_party.timeout", "third_party", "timeout", "sms", evidence="pending", beats="system.api_timeout"),
    Case("sms-code-late", fp("login", text="检测到异地登录\n验证码发送中，请稍候…（短信通道拥堵 / SMS delayed）",
                             ok=(req(f"{SHOP}/api/sms/send", method="POST"),)),
         "third_party.sms_delay", "third_party", "sms_delay", "sms", evidence="短信通道拥堵",
         beats="account.cross_province"),
    Case("sms-code-late-unmapped", fp("login", text="验证码尚未送达，请稍候再试",
                                      ok=(req(f"{SHOP}/api/sms/send", method="POST"),)),
         "third_party.sms_delay", "third_party", "sms_delay", deps={}),
    Case("high-returns-review", fp("submit", text="您本月退货次数过多（7 次），订单已转人工审核"),
         "account.manual_review", "account", "manual_review"),
    Case("ip-banned", fp("submit", status=403, text="您的IP访问异常已被封禁，请更换网络环境后重试"),
         "account.ip_banned", "account", "ip_banned", beats="system.page_error"),
    Case("ip-banned-risk-words", fp("submit", text="检测到当前 IP 存在风险，已被风控限制下单"),
         "account.ip_banned", "account", "ip_banned", beats="account.risk_control"),
    # The address itself sits between "IP" and the refusal: up to 15 characters (IPv4), 39 (IPv6).
    Case("ip-banned-long-address", fp("submit", text="当前网络环境存在风险，IP 100.105.143.2 已被风控限制下单"),
         "account.ip_banned", "account", "ip_banned", beats="account.risk_control"),
    Case("ip-banned-ipv6", fp("submit", text="IP 2001:db8:85a3::8a2e:370:7334 已被风控限制下单"),
         "account.ip_banned", "account", "ip_banned", beats="account.risk_control"),
    Case("ip-banned-en", fp("submit", status=403, title="Access denied",
                            text="Sorry, your IP address has been blocked."),
         "account.ip_banned", "account", "ip_banned", beats="unknown"),
    Case("risk-control", fp(text="当前账户存在风险，已触发风控，暂无法下单"),
         "account.risk_control", "account", "risk_control", beats="system.page_error"),
    Case("session-expired", fp(text="登录已过期，请重新登录"), "account.login_required", "account", "login_required",
         beats="probe.selector_drift"),
    Case("captcha", fp("login", error_type="AssertionError", locator=None, action=None,
                       message="assert page.url.endswith('/checkout')", text="验证码错误，请重新输入"),
         "account.verification", "account", "verification", beats="system.page_error"),
    # ---- 4 inventory
    Case("flash-sale-sold-out", fp("add_to_cart", text="直播秒杀 · 已售罄", failed=(
        req(f"{SHOP}/api/cart", 409, method="POST", body='{"code": "SOLD_OUT", "message": "商品已售罄"}'),
    )), "inventory.sold_out", "inventory", "sold_out", evidence="已售罄", beats="unknown"),
    Case("sold-out-healthy-page", fp("add_to_cart", locator='get_by_role("button", name="立即购买")',
                                     text="直播秒杀 · 已售罄 Sold out"),
         "inventory.sold_out", "inventory", "sold_out", beats="probe.selector_drift"),
    Case("sold-out-by-body-code", fp("add_to_cart", text="", failed=(
        req(f"{SHOP}/api/cart", 409, method="POST", body='{"error": "OUT_OF_STOCK"}'),
    )), "inventory.sold_out", "inventory", "sold_out", evidence="OUT_OF_STOCK"),
    Case("phantom-stock-lag", fp("submit", text="下单失败：库存不足（商品页库存信息有延迟，请刷新）"),
         "inventory.stock_lag", "inventory", "stock_lag", beats="system.page_error"),
    Case("restock-tomorrow", fp("product", text="该商品已售罄，预计次日 10:00 前补货"),
         "inventory.restock", "inventory", "restock", beats="inventory.sold_out"),
    # ---- 5 system / API
    Case("api-500", fp("submit", text="服务器开小差了，请稍后再试", failed=(
        req(f"{SHOP}/api/orders", 500, method="POST", body='{"error": "internal"}'),
    )), "system.api_5xx", "system", "api_5xx", evidence="HTTP 500", beats="system.page_error"),
    Case("document-502", fp("checkout", status=502, title="502 Bad Gateway", text="502 Bad Gateway\nnginx"),
         "system.api_5xx", "system", "api_5xx", evidence="HTTP 502", beats="system.page_error"),
    Case("logistics-spinner", fp("address", text="正在计算运费…", failed=(req(f"{SHOP}/api/logistics/quote", None),)),
         "third_party.timeout", "third_party", "timeout", "logistics", beats="system.api_timeout"),
    Case("own-api-spinner", fp("address", text="正在计算运费…", failed=(req(f"{SHOP}/api/logistics/quote", None),)),
         "system.api_timeout", "system", "api_timeout", beats="unknown", deps={}),
    Case("kuaidi100-504", fp("address", failed=(req("https://poll.kuaidi100.com/poll/query.do", 504),)),
         "third_party.timeout", "third_party", "timeout", "kuaidi100", evidence="HTTP 504"),
    Case("inventory-sync", fp("submit", failed=(
        req(f"{SHOP}/api/stock", 503, body='{"message": "库存同步中，请稍后重试"}'),
    )), "system.inventory_sync", "system", "inventory_sync", beats="system.api_5xx"),
    Case("stock-sync-refused", fp("submit", status=409, title="无法下单", text="无法下单\n库存不足 (STOCK_SYNC_DELAY)"),
         "inventory.stock_lag", "inventory", "stock_lag", beats="system.page_error"),
    Case("pay-sdk-conflict", fp(text="支付插件版本不兼容，请稍后再试"),
         "system.sdk_conflict", "system", "sdk_conflict", beats="system.page_error"),
    Case("pay-sdk-console", FailurePoint(step="pay", error_type="TimeoutError", message=waiting("#pay"),
                                         locator="#pay", url=f"{SHOP}/cashier", document_status=200,
                                         console_errors=["Uncaught Error: JSSDK version mismatch (1.6.0 < 1.7)"]),
         "system.sdk_conflict", "system", "sdk_conflict", beats="probe.selector_drift"),
    Case("shop-down", fp("home", error_type="Error", locator=None, action="Page.goto", status=None,
                         url="chrome-error://chromewebdata/",
                         message=f"Page.goto: net::ERR_CONNECTION_REFUSED at {SHOP}/\nCall log:\n  - navigating"),
         "system.down", "system", "down", evidence="ERR_CONNECTION_REFUSED"),
    Case("shop-maintenance", fp("home", status=503, text="系统维护中，预计 02:00 恢复"),
         "system.maintenance", "system", "maintenance", beats="system.api_5xx"),
    # ---- 6 regional policy
    Case("xinjiang-refused", fp("address", text="抱歉，该商品暂不支持配送至新疆维吾尔自治区"),
         "region.refused", "region", "refused"),
    Case("nagqu-no-ambient", fp("address", text="西藏那曲地区暂不支持常温商品配送"),
         "region.no_ambient", "region", "no_ambient", beats="region.refused"),
    Case("alcohol-licence", fp("submit", text="该商品为酒类商品，商家暂无该地区销售资质，无法下单"),
         "region.license", "region", "license", beats="region.refused"),
    Case("alcohol-licence-deliver", fp("submit", text="因商家未取得当地酒类经营许可，该地区暂不支持配送"),
         "region.license", "region", "license", beats="region.refused"),
    Case("alcohol-licence-en", fp("submit", text="This item can only be sold by a licensed retailer in your area"),
         "region.license", "region", "license", beats="probe.selector_drift"),
    Case("hk-customs", fp("address", text="寄往香港的电子产品需海关申报，暂不支持直接发货"),
         "region.customs", "region", "customs", beats="region.refused"),
    Case("furniture-pickup-only", fp("address", text="大件家具在您所在城市不支持配送上门，仅支持到自提点自提"),
         "region.pickup_only", "region", "pickup_only", beats="region.refused"),
    Case("xinjiang-surcharge", fp("submit", error_type="AssertionError", locator=None, action=None,
                                  message="assert 118.8 == 99.0", text="新疆地区需走专线物流，运费加收 20%"),
         "region.surcharge", "region", "surcharge", beats="unknown"),
    # ---- 7 UX path
    Case("cart-link-404", fp("cart", status=404, title="404", text="页面不存在"),
         "ux_path.step_missing", "ux_path", "step_missing", beats="system.page_error"),
    Case("step-over-budget", fp(error_type="BudgetExceeded", locator=None, action=None,
                                message="step 'pay' took 9200 ms, over its budget of 5000 ms"),
         "ux_path.budget", "ux_path", "budget"),
    Case("coupon-broken", fp("coupon", text="新人优惠券已失效，无法使用"),
         "ux_path.coupon_broken", "ux_path", "coupon_broken", beats="system.page_error"),
    Case("coupon-invalid", fp("coupon", text="优惠券无效 / invalid coupon code (COUPON_INVALID)"),
         "ux_path.coupon_broken", "ux_path", "coupon_broken", beats="probe.selector_drift"),
    # the coupon's minimum spend: the demo shop's wording, and another shop's JSON code with English words
    Case("coupon-threshold", fp("claim coupon", error_type="AssertionError",
                                message='Locator expected not to have text "¥15.90"',
                                text="未满 ¥30，不可使用 / order under ¥30 (COUPON_THRESHOLD)",
                                failed=(req(f"{SHOP}/api/coupon/apply", 400, method="POST",
                                            body='{"code":"COUPON_THRESHOLD","message":"未满 ¥30，不可使用"}'),)),
         "ux_path.coupon_threshold", "ux_path", "coupon_threshold", beats="unknown"),
    Case("voucher-min-spend", fp("promo", error_type="AssertionError", message="expected discount",
                                 text="Spend $10 more to use this voucher",
                                 failed=(req("https://shop.example/api/cart/voucher", 422, method="POST",
                                             body='{"error":"voucher_min_spend_not_met"}'),)),
         "ux_path.coupon_threshold", "ux_path", "coupon_threshold", beats="probe.selector_drift"),
    Case("coupon-threshold-words", fp("coupon", text="订单未满99元，该券不可使用"),
         "ux_path.coupon_threshold", "ux_path", "coupon_threshold", beats="probe.selector_drift"),
    # ---- 8 third-party dependencies
    Case("own-logistics-proxy-500", fp("address", failed=(req(f"{SHOP}/api/logistics/quote", 500),)),
         "system.api_5xx", "system", "api_5xx", "logistics", evidence="HTTP 500"),
    Case("own-logistics-proxy-502", fp("address", failed=(req(f"{SHOP}/api/logistics/quote", 502),)),
         "third_party.api_5xx", "third_party", "api_5xx", "logistics", beats="system.api_5xx"),
    Case("sms-provider-500", fp("login", failed=(req("https://dysmsapi.aliyuncs.com/?Action=SendSms", 500),)),
         "third_party.api_5xx", "third_party", "api_5xx", "aliyun-sms"),
    Case("logistics-reset", fp("address", failed=(req(f"{SHOP}/api/logistics/q", None, "net::ERR_CONNECTION_RESET"),)),
         "third_party.down", "third_party", "down", "logistics", beats="system.down"),
    Case("logistics-maintenance", fp("address", failed=(
        req("https://poll.kuaidi100.com/poll/query.do", 503, body='{"message": "系统维护，请稍后"}'),
    )), "third_party.maintenance", "third_party", "maintenance", "kuaidi100", beats="system.maintenance"),
    # ---- the emulated link's own record (issue 24): a healthy-looking page the network stalled
    Case("packet-outage-stalled-pay", fp(text=CHECKOUT).model_copy(update={"link": STALLED_PAY}),
         "network.stalled", "network", "offline", evidence="link down 8.67–13.35 s", beats="probe.selector_drift"),
    # The pickup banner of the very page the step waited for, arrived just after the wait (a metro seed)
    Case("waited-for-page-arrived-late", fp("buy now", text="大件家具在郸城县仅支持自提点提货").model_copy(update={
        "arrived_late": 'get_by_test_id("pickup-required") was there and ready at 21.40 s, after the wait ended',
        "unsettled": "the page read is the late page the step waited for",
    }), "network.arrived_late", "network", "timeout", evidence="after the wait ended", beats="unknown"),
    # metro-weak, no outage in the step: the next page was 3.4 s on its way when the click gave up
    Case("slow-link-next-page-late", fp("buy now", text=CHECKOUT, message=CLICK_DONE).model_copy(update={
        "link": SLOW_METRO, "waiting": [PENDING_PAGE.model_copy(update={"waited_ms": 3436.0})],
    }), "network.slow_link", "network", "timeout", evidence="a slow link by its profile", beats="system.api_timeout"),
    # the same link, a server silent past any TCP retry: the shop's timeout, not the link
    Case("slow-link-frozen-server", fp("buy now", text=CHECKOUT, message=CLICK_DONE).model_copy(update={
        "link": SLOW_METRO, "waiting": [PENDING_PAGE.model_copy(update={"waited_ms": 31000.0})],
    }), "system.api_timeout", "system", "api_timeout", evidence="no answer after 31.0 s"),
    Case("click-done-waiting-for-navigation", fp(text=CHECKOUT, message=(
        'Locator.click: Timeout 15000ms exceeded.\nCall log:\n  - waiting for get_by_test_id("pay-submit")\n'
        "  - click action done\n  - waiting for scheduled navigations to finish\n"
    )), "network.page_load", "network", "timeout", beats="unknown"),
    Case("tapped-before-the-page-was-ready", fp("place order", text=CHECKOUT).model_copy(update={
        "not_ready": ["Country: Please select an item in the list. — refused at 3.10 s, valid again at 18.20 s"],
        "link": STALLED_PAY,
    }), "ux_path.tapped_too_early", "ux_path", "not_ready", evidence="Country", beats="network.stalled"),
    Case("refusal-before-a-dropout", fp("buy now", text="该地区暂不支持常温配送（那曲）", failed=(
        req(f"{SHOP}/checkout", 422, method="POST", kind="document").model_copy(
            update={"navigation": True, "start_ms": 4000}),
        req(f"{SHOP}/api/logistics/quote?x=1", None, "net::ERR_INTERNET_DISCONNECTED").model_copy(
            update={"start_ms": 5200}),
    )), "region.no_ambient", "region", "no_ambient"),
    Case("shop-refused-the-form", fp("address", text="Shipping address\nPostcode is required\nCountry", failed=(
        req(f"{SHOP}/address", 422, method="POST", kind="document").model_copy(update={"navigation": True}),
    )), "ux_path.refused_input", "ux_path", "invalid_input", evidence="Postcode is required", beats="unknown"),
    Case("country-not-offered", fp("address", action="Locator.select_option", locator='get_by_label("Country")',
                                   text="Shipping address\nCountry", message=(
        'Locator.select_option: Timeout 10000ms exceeded.\nCall log:\n  - waiting for get_by_label("Country")\n'
        "    - locator resolved to <select id=\"country\">…</select>\n      - did not find some options\n"
    )), "region.not_offered", "region", "not_offered", beats="probe.selector_drift"),
    # ---- probe broken vs checkout broken
    Case("selector-drift", fp(text=CHECKOUT, locator='get_by_role("button", name="提交订单 v2")', ok=(
        req(f"{SHOP}/api/cart"), req(f"{SHOP}/static/app.js", kind="script"),
    ), failed=(
        req("https://hm.baidu.com/hm.gif?si=1", None, "net::ERR_NAME_NOT_RESOLVED", kind="image"),
        req(f"{SHOP}/favicon.ico", 404, kind="other"),
    )), "probe.selector_drift", "probe_broken", "selector_drift", evidence="page healthy", beats="unknown"),
    # ---- the page was not ready: not drift
    Case("not-ready", fp(text=CHECKOUT).model_copy(update={"waiting": [
        RequestRecord(method="GET", url=f"{SHOP}/static/app.js", resource_type="script", waited_ms=8200, step="pay"),
    ]}), "ux_path.not_ready", "ux_path", "not_ready", evidence="no answer after 8.2 s", beats="probe.selector_drift"),
    Case("not-ready-third-party-script-is-drift", fp(text=CHECKOUT).model_copy(update={"waiting": [
        RequestRecord(method="GET", url="https://hm.baidu.com/hm.js", resource_type="script", waited_ms=8200),
    ]}), "probe.selector_drift", "probe_broken", "selector_drift", beats="unknown"),
    Case("invalid-input", fp("submit order", error_type="TimeoutError", text=CHECKOUT,
                             message="Timeout 30000ms exceeded.\n=== logs ===\nwaiting for navigation").model_copy(
        update={"validation": ["手机号: Please match the requested format."]}),
         "ux_path.invalid_input", "ux_path", "invalid_input", evidence="Please match the requested format",
         beats="probe.selector_drift"),
    Case("expect-drift", fp(error_type="AssertionError", locator=None, action=None, text=CHECKOUT, message=(
        "Locator expected to be visible\nActual value: <element(s) not found>\nCall log:\n"
        '  - LocatorAssertions.to_be_visible with timeout 5000ms\n  - waiting for get_by_text("下单成功")\n'
    )), "probe.selector_drift", "probe_broken", "selector_drift", beats="unknown"),
    Case("script-error", fp(error_type="AttributeError", locator=None, action=None, text="直播秒杀 · 已售罄",
                            message="'NoneType' object has no attribute 'click'"),
         "probe.script_error", "probe_broken", "script_error", beats="inventory.sold_out"),
    Case("secret-missing", fp("login", error_type="SecretMissing", locator=None, action=None, text="登录", message=(
        "account 'normal': password comes from environment variable ORDERPROBE_DEMO_PASSWORD, which is not set"
    )), "probe.secret_missing", "probe_broken", "secret_missing", evidence="ORDERPROBE_DEMO_PASSWORD", beats="unknown"),
    Case("account-refused", fp("(before the first step)", error_type="AccountRefused", locator=None, action=None,
                               message="account 'normal': the shop refused user 'normal' with the password in "
                                       "$ORDERPROBE_DEMO_PASSWORD (HTTP 401); check that variable"),
         "probe.account_refused", "probe_broken", "account_refused", evidence="'normal'", beats="unknown"),
    Case("strict-mode", fp(error_type="Error", text=CHECKOUT, message=(
        'Locator.click: Error: strict mode violation: get_by_role("button", name="支付") resolved to 2 elements'
    )), "probe.selector_ambiguous", "probe_broken", "selector_ambiguous", beats="unknown"),
    Case("browser-crash", fp(error_type="TargetClosedError", message="Target page, context or browser has been closed"),
         "probe.browser_crash", "probe_broken", "browser_crash"),
    Case("browser-never-launched", FailurePoint(step="(setup)", error_type="Error", message=(
        "BrowserType.launch: Executable doesn't exist at /usr/bin/chromium")),
         "probe.harness_error", "probe_broken", "harness_error", beats="unknown"),
    Case("page-shows-error", fp(text="出错了！请稍后再试"), "system.page_error", "system", "page_error",
         beats="unknown"),
    Case("unhealthy-page-unknown", fp(text=CHECKOUT, failed=(req(f"{SHOP}/api/orders", 400, method="POST"),)),
         "unknown", "unknown", "unclassified"),
]  # fmt: skip


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cause(classifier: Classifier, case: Case) -> None:
    cause = classifier.classify(case.failure, dependencies=case.deps)
    got = (cause.rule, cause.category, cause.detail, cause.dependency)
    assert got == (case.rule, case.category, case.detail, case.dependency), cause.evidence
    assert case.evidence in cause.evidence
    assert case.failure.step in cause.summary
    assert " — " in cause.summary and any("\u4e00" <= ch <= "\u9fff" for ch in cause.summary)  # Chinese + English


@pytest.mark.parametrize("case", [c for c in CASES if c.beats], ids=[c.id for c in CASES if c.beats])
def test_order_matters(classifier: Classifier, case: Case) -> None:
    """Without the winning rule, the evidence falls to `beats`: the case really tests the order."""
    rules = [r for r in classifier.rules if r.id != case.rule]
    rest = Classifier(rules, classifier.dependencies, classifier.error_text)
    assert rest.classify(case.failure, dependencies=case.deps).rule == case.beats


def test_every_builtin_rule_has_a_case(classifier: Classifier) -> None:
    assert {r.id for r in classifier.rules} - {c.rule for c in CASES} == set()


def test_dependency_named_whatever_the_category(classifier: Classifier) -> None:
    """A refusal page plus a failing dependency call still names the dependency (trend report)."""
    failure = fp("address", text="该商品暂不支持配送至新疆", failed=(req(f"{SHOP}/api/logistics/quote", 422),))
    cause = classifier.classify(failure, dependencies=SHOP_DEPS)
    assert (cause.category, cause.dependency) == ("region", "logistics")
    assert classifier.classify(failure).dependency is None  # no mapping, no attribution


def test_runtime_dependencies_win_over_defaults(classifier: Classifier) -> None:
    failure = fp(failed=(req("https://openapi.alipay.com/gateway.do", 502, kind="document"),))
    assert classifier.classify(failure).dependency == "alipay"
    cause = classifier.classify(failure, dependencies={"openapi.alipay.com": "alipay-primary"})
    assert (cause.rule, cause.dependency) == ("third_party.gateway_down", "alipay-primary")
    assert "alipay-primary" in cause.summary


def test_host_patterns_match_with_port(classifier: Classifier) -> None:
    failure = fp(failed=(req(f"{PAY}/api/pay", 502, method="POST"),))
    assert classifier.classify(failure, dependencies={"pay.localhost:*": "pg"}).dependency == "pg"
    assert classifier.classify(failure, dependencies={"pay.localhost": "pg"}).dependency == "pg"
    assert classifier.classify(failure, dependencies={"other.localhost": "pg"}).dependency is None


def test_builtin_rules_are_generic() -> None:
    """Nothing in the built-in rules may know the demo shop (its hosts, ports, paths)."""
    text = BUILTIN.read_text(encoding="utf-8").lower()
    for word in ("localhost", "127.0.0.1", "demo", "/api/"):
        assert word not in text, word


def test_no_playwright_import() -> None:
    code = "import sys, orderprobe.probes.classify; sys.exit('playwright' in ' '.join(sys.modules))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_other_sites_are_third_parties_without_configuration(classifier: Classifier) -> None:
    """Given the target, a request to another registrable domain is a third party named by its host."""
    shop, gateway = "https://m.shop.example.com", "https://cashier.gw-pay.example.net"
    outage = fp(url=f"{gateway}/pay/1", status=503, title="503", text="Service Unavailable",
                failed=(req(f"{gateway}/pay/1", 503, kind="document"),))  # fmt: skip
    assert classifier.classify(outage).category == "system"  # without a target nothing says whose page it is
    cause = classifier.classify(outage, site=shop)
    assert (cause.category, cause.dependency) == ("third_party", "cashier.gw-pay.example.net")
    assert "cashier.gw-pay.example.net" in cause.summary
    named = classifier.classify(outage, site=shop, dependencies={"*.gw-pay.example.net": "payment-gateway"})
    assert (named.category, named.dependency) == ("third_party", "payment-gateway")  # --dependency only names it
    api = fp(failed=(req("https://api.stripe.example/v1/charges", 500, method="POST"),), url=f"{shop}/checkout")
    assert (classifier.classify(api, site=shop).category, classifier.classify(api, site=shop).dependency) == (
        "third_party", "api.stripe.example",
    )  # fmt: skip
    own = fp(failed=(req("https://api.shop.example.com/order", 500, method="POST"),), url=f"{shop}/checkout")
    assert classifier.classify(own, site=shop).rule == "system.api_5xx"  # a subdomain of the target is the shop


def test_a_broken_image_on_another_site_is_not_a_third_party_outage(classifier: Classifier) -> None:
    shop = "https://m.shop.example.com"
    failure = fp(url=f"{shop}/checkout", failed=(req("https://img.cdn.example.net/a.png", None, "net::ERR_FAILED",
                                                     kind="image"),))  # fmt: skip
    cause = classifier.classify(failure, site=shop)
    assert (cause.rule, cause.dependency) == ("probe.selector_drift", None)
