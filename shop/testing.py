"""Helpers for tests and probes that drive the demo shop over real HTTP (no pytest in here).

    with running_shop() as demo:
        http = client(demo)
        login(http, "normal")
        paid = buy(http, demo, sku="GN-701")          # submit + pay, returns the done page
        demo.set_fault("payment_down", seconds=5)

``client()`` speaks to both origins: it sends ``*.localhost`` to 127.0.0.1 itself, because
the system resolver (unlike Chromium) may not resolve ``pay.localhost``.
"""

from __future__ import annotations

import html
import re
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from orderprobe.shop.accounts import PASSWORD
from orderprobe.shop.server import DemoShop

T = TypeVar("T")

# Addresses that hit each region rule (see shop/README.md).
ADDRESSES: dict[str, dict[str, str]] = {
    "shanghai": {"recipient": "林小姐", "phone": "13800000001", "province": "上海市", "city": "上海市",
                 "district": "浦东新区", "street": "世纪大道 100 号 8 楼", "postcode": "200120"},
    "urumqi": {"recipient": "艾力", "phone": "13999100000", "province": "新疆维吾尔自治区", "city": "乌鲁木齐市",
               "district": "天山区", "street": "解放南路 128 号", "postcode": "830002"},
    "lhasa": {"recipient": "次仁", "phone": "13908910000", "province": "西藏自治区", "city": "拉萨市",
              "district": "城关区", "street": "北京中路 56 号", "postcode": "850000"},
    "nagqu": {"recipient": "扎西", "phone": "13908960000", "province": "西藏自治区", "city": "那曲市",
              "district": "色尼区", "street": "浙江中路 12 号", "postcode": "852000"},
    "hong-kong": {"recipient": "陳大文", "phone": "+852 5123 4567", "province": "香港特别行政区", "city": "香港",
                  "district": "中西區", "street": "皇后大道中 99 號", "postcode": ""},
    "beijing": {"recipient": "王女士", "phone": "13800138000", "province": "北京市", "city": "北京市",
                "district": "朝阳区", "street": "建国路 88 号 SOHO 现代城", "postcode": "100022"},
    "guiyang": {"recipient": "杨先生", "phone": "13985100000", "province": "贵州省", "city": "贵阳市",
                "district": "南明区", "street": "中华南路 45 号", "postcode": "550001"},
    "dancheng": {"recipient": "张建国", "phone": "13700394000", "province": "河南省", "city": "周口市",
                 "district": "郸城县", "street": "洺南大道 66 号", "postcode": "477150"},
}  # fmt: skip


class LoopbackTransport(httpx.HTTPTransport):
    """Connect to 127.0.0.1 for any ``*.localhost`` host; the Host header stays as it was."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host.endswith(".localhost"):
            request.url = request.url.copy_with(host="127.0.0.1")
        return super().handle_request(request)


@contextmanager
def running_shop(**kwargs: Any) -> Iterator[DemoShop]:
    shop = DemoShop(**kwargs).start()
    try:
        yield shop
    finally:
        shop.stop()


# Plain HTTP on loopback only: skip loading the CA bundle, which costs ~0.1-0.5 s per client.
_NO_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def client(shop: DemoShop, **kwargs: Any) -> httpx.Client:
    """A shopper's HTTP client (own cookie jar); redirects are not followed unless asked."""
    kwargs.setdefault("follow_redirects", False)
    kwargs.setdefault("timeout", 30.0)
    return httpx.Client(base_url=shop.url, transport=LoopbackTransport(verify=_NO_TLS), **kwargs)


def login(http: httpx.Client, username: str, password: str = PASSWORD) -> None:
    response = http.post("/login", data={"username": username, "password": password, "next": "/"})
    if response.status_code != 303:
        raise AssertionError(f"login as {username!r} failed: HTTP {response.status_code}")


def quote(http: httpx.Client, **params: str) -> dict:
    response = http.get("/api/logistics/quote", params=params)
    response.raise_for_status()
    return response.json()


def submit(
    http: httpx.Client,
    address: dict[str, str] | str = "shanghai",
    *,
    source: str = "product",
    sku: str = "GN-701",
    qty: int = 1,
    coupon: str = "",
) -> httpx.Response:
    """Fetch a shipping quote as the page does, then press 提交订单. Returns the raw response
    (``next_url()`` of it is the next step: a verify / pickup page or the cashier)."""
    fields = dict(ADDRESSES[address]) if isinstance(address, str) else dict(address)
    fields.update({"from": source, "coupon": coupon})
    if source != "cart":
        fields.update({"sku": sku, "qty": str(qty)})
    fields["quote"] = quote(http, **fields)["quote"]
    return http.post("/checkout", data=fields)


def next_url(response: httpx.Response) -> str:
    """Where the shopper goes next: a redirect's target, or the cashier a hand-off page navigates to."""
    if response.is_redirect:
        return response.headers["location"]
    found = re.search(r'href="([^"]+)" data-testid="go-pay"', response.text)
    if response.status_code != 200 or not found:
        raise AssertionError(f"no next step in HTTP {response.status_code} response from {response.url}")
    return html.unescape(found.group(1))


def pay(http: httpx.Client, pay_url: str, channel: str = "alipay") -> httpx.Response:
    return http.post(pay_url, data={"channel": channel})


def buy(
    http: httpx.Client, address: dict[str, str] | str = "shanghai", channel: str = "alipay", **kwargs: Any
) -> httpx.Response:
    """Submit and pay; returns the order result page (``/orders/<id>/done``)."""
    pay_url = next_url(submit(http, address, **kwargs))
    if "/pay/" not in pay_url:
        raise AssertionError(f"submit led to {pay_url}, not to payment")
    paid = pay(http, pay_url, channel)
    if paid.status_code != 303:
        raise AssertionError(f"payment failed: HTTP {paid.status_code}")
    return http.get(urlsplit(paid.headers["location"]).path)


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Poll until ``predicate()`` is truthy; its value is returned. Raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(interval)
