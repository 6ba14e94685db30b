"""Demo shop browsing over real HTTP: pages, test ids, the buried cart, entry paths, stock stories."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderprobe.shop.server import DemoShop
from orderprobe.shop.testing import login, submit


def links(html: str) -> set[str]:
    return set(re.findall(r'<a [^>]*href="([^"]+)"', html))


def code_of(html: str) -> str:
    match = re.search(r'data-testid="(?:checkout-error|error-message)" data-code="(\w+)"', html)
    assert match, html[:2000]
    return match.group(1)


@pytest.mark.parametrize(
    ("path", "testid"),
    [
        ("/", "entry-feed"),
        ("/feed", "add-to-cart-GN-701"),
        ("/live", "live-product-FS-001"),
        ("/subsidy", "subsidy-buy-SB-801"),
        ("/product/GN-701", "buy-now"),
        ("/me", "menu-tools"),
        ("/me/tools", "menu-cart"),
        ("/cart", "cart-empty"),
        ("/login", "login-submit"),
    ],
)
def test_pages_render_in_chinese_with_test_ids(http: httpx.Client, path: str, testid: str) -> None:
    page = http.get(path)
    assert page.status_code == 200
    assert f'data-testid="{testid}"' in page.text
    assert '<html lang="zh-CN">' in page.text
    assert page.headers["timing-allow-origin"] == "*"


def test_unknown_product_is_a_chinese_404_not_a_traceback(http: httpx.Client) -> None:
    page = http.get("/product/NO-SUCH")
    assert page.status_code == 404
    assert "商品不存在" in page.text and "NO-SUCH" in page.text
    assert code_of(page.text) == "UNKNOWN_SKU"
    assert "Traceback" not in page.text


def test_unknown_routes_answer_404_html_for_pages_and_json_for_apis(http: httpx.Client) -> None:
    page = http.get("/no/such/page")
    assert page.status_code == 404 and "页面不存在" in page.text
    api = http.get("/api/no-such")
    assert api.status_code == 404 and api.json()["code"] == "HTTP_404"
    assert http.delete("/cart").status_code == 405


def test_oversized_form_is_refused_with_413(http: httpx.Client) -> None:
    response = http.post("/cart/add", data={"sku": "GN-701", "junk": "x" * 100_000})
    assert response.status_code == 413


def test_cart_is_three_menus_deep_and_not_in_the_bottom_bar(http: httpx.Client) -> None:
    for path in ("/", "/feed", "/live", "/subsidy", "/me"):
        assert "/cart" not in links(http.get(path).text), path
    assert "/me" in links(http.get("/").text)  # 1. 我的
    assert "/me/tools" in links(http.get("/me").text)  # 2. 订单与工具
    tools = http.get("/me/tools").text
    assert re.search(r'href="/cart" data-testid="menu-cart">购物车<', tools)  # 3. 购物车


def test_add_to_cart_then_checkout_from_cart_after_login(http: httpx.Client) -> None:
    added = http.post("/cart/add", data={"sku": "GN-701", "back": "/feed#GN-701"})
    assert added.status_code == 303 and added.headers["location"] == "/feed#GN-701"
    assert "已加入购物车" in http.get("/feed").text  # one-shot toast
    http.post("/cart/add", data={"sku": "FD-501", "back": "/feed"})
    http.post("/cart/add", data={"sku": "FD-501", "back": "/feed"})
    cart = http.get("/cart").text
    assert 'data-testid="cart-qty-FD-501">2<' in cart
    assert 'data-testid="cart-total">¥217.90<' in cart
    http.post("/cart/remove", data={"sku": "GN-701"})
    assert "cart-item-GN-701" not in http.get("/cart").text

    to_checkout = http.get("/checkout", params={"from": "cart"})
    assert to_checkout.status_code == 303
    assert to_checkout.headers["location"] == "/login?next=%2Fcheckout%3Ffrom%3Dcart"
    back = http.post("/login", data={"username": "normal", "password": "demo-pass", "next": "/checkout?from=cart"})
    assert back.headers["location"] == "/checkout?from=cart"
    page = http.get("/checkout", params={"from": "cart"}).text
    assert "checkout-item-FD-501" in page and "checkout-item-GN-701" not in page


def test_cart_add_refuses_unknown_products_and_bad_quantities(http: httpx.Client) -> None:
    assert http.post("/cart/add", data={"sku": "NOPE"}).status_code == 404
    bad = http.post("/cart/add", data={"sku": "GN-701", "qty": "many"})
    assert bad.status_code == 400 and code_of(bad.text) == "BAD_QTY"
    assert http.post("/cart/add", data={"sku": "GN-701", "qty": "9"}).status_code == 400


def test_empty_cart_checkout_is_a_clear_400(http: httpx.Client) -> None:
    login(http, "normal")
    page = http.get("/checkout", params={"from": "cart"})
    assert page.status_code == 400 and code_of(page.text) == "CART_EMPTY"


@pytest.mark.parametrize(("username", "password"), [("normal", "wrong"), ("nobody", "demo-pass"), ("", "")])
def test_login_errors_show_on_the_form(http: httpx.Client, username: str, password: str) -> None:
    page = http.post("/login", data={"username": username, "password": password, "next": "/"})
    assert page.status_code == 401
    assert 'data-testid="login-error"' in page.text and "用户名或密码错误" in page.text


def test_login_never_redirects_off_site(http: httpx.Client) -> None:
    response = http.post("/login", data={"username": "normal", "password": "demo-pass", "next": "//evil.example/"})
    assert response.headers["location"] == "/"
    assert "你好，小林" in http.get("/").text


def test_subsidy_buy_now_prefills_the_account_address(http: httpx.Client) -> None:
    login(http, "normal")
    page = http.get("/checkout", params={"from": "subsidy", "sku": "SB-801"}).text
    assert 'data-testid="address-prefilled"' in page
    assert 'value="世纪大道 100 号 8 楼"' in page and 'value="林小姐"' in page
    feed_checkout = http.get("/checkout", params={"from": "live", "sku": "FS-001"}).text
    assert 'value="林小姐"' not in feed_checkout  # the other paths type the address


def test_live_room_product_buys_now_from_live(http: httpx.Client) -> None:
    live = http.get("/live").text
    assert "/product/FS-001?from=live" in links(live)
    product = http.get("/product/FS-001", params={"from": "live"}).text
    assert re.search(r'name="from" value="live">\s*<input type="hidden" name="sku" value="FS-001">', product)
    assert "仅剩 3 件" in product


def test_flash_sale_sells_out_after_three_orders(http: httpx.Client) -> None:
    login(http, "normal")
    for _ in range(3):
        assert submit(http, sku="FS-001", source="live").status_code == 200
    fourth = submit(http, sku="FS-001", source="live")
    assert fourth.status_code == 409 and code_of(fourth.text) == "SOLD_OUT"
    assert "已售罄" in fourth.text
    page = http.get("/product/FS-001").text
    assert 'data-testid="stock-status" class="muted">已售罄<' in page
    assert re.search(r'data-testid="buy-now" disabled', page)


def test_cross_border_page_says_in_stock_but_submit_is_a_phantom_order(http: httpx.Client) -> None:
    login(http, "normal")
    page = http.get("/product/CB-101").text
    assert 'data-testid="stock-status" class="tag">有货<' in page
    refused = submit(http, sku="CB-101")
    assert refused.status_code == 409 and code_of(refused.text) == "STOCK_SYNC_DELAY"
    assert "库存不足" in refused.text


def test_agricultural_produce_is_sold_out_until_next_morning(http: httpx.Client) -> None:
    login(http, "normal")
    page = http.get("/product/AG-201").text
    assert "已售罄" in page and 'data-testid="restock-note">次日10:00补货<' in page
    refused = submit(http, sku="AG-201")
    assert refused.status_code == 409 and code_of(refused.text) == "SOLD_OUT"


def test_reset_restores_stock_orders_and_sessions(demo: DemoShop, http: httpx.Client) -> None:
    login(http, "normal")
    assert submit(http, sku="FS-001").status_code == 200
    assert demo.state.stock["FS-001"] == 2 and demo.state.orders
    demo.reset()
    assert demo.state.stock["FS-001"] == 3 and not demo.state.orders
    assert 'data-testid="login-link"' in http.get("/").text  # the old session is gone


def test_an_unexpected_error_is_a_chinese_500_without_traceback(demo: DemoShop, http: httpx.Client) -> None:
    # A shop bug cannot be provoked on purpose, so a route that raises is added to the running app.
    def boom(request: Request) -> Response:
        raise RuntimeError("secret internals")

    shop_app = demo.apps[0]
    shop_app.router.routes += [Route("/boom", boom), Route("/api/boom", boom)]
    try:
        page = http.get("/boom")
        assert page.status_code == 500 and "系统异常" in page.text and code_of(page.text) == "INTERNAL"
        assert "secret internals" not in page.text and "Traceback" not in page.text
        api = http.get("/api/boom")
        assert api.status_code == 500 and api.json()["code"] == "INTERNAL"
        assert http.get("/feed").status_code == 200  # the keep-alive connection survived
    finally:
        del shop_app.router.routes[-2:]
