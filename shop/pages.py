"""Browsing pages of the shop origin: home, the three entry pages, products, the menu
that hides the cart three levels deep, the cart itself, login and the order list.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderprobe.shop.accounts import ACCOUNTS, PASSWORD
from orderprobe.shop.basket import MAX_QTY, BasketError, parse_qty
from orderprobe.shop.catalogue import (
    FEED,
    LIVE,
    PRODUCTS,
    SHELF,
    SUBSIDY,
    VIRTUAL,
    Line,
    Product,
    StockView,
    stock_view,
    subtotal,
)
from orderprobe.shop.web import ctx, error_page, redirect, render, session

# A data table reads better aligned.
# fmt: off
TAG_LABELS = {"flash_sale": "直播秒杀", "cross_border": "跨境", "agricultural": "农产品", "large": "大件",
              "live": "直播同款", "subsidy": "百亿补贴", "learning": "学习类"}
STATUS_LABELS = {"verify": "待验证", "pickup": "待选自提点", "unpaid": "待支付", "paid": "已支付",
                 "review": "待人工审核"}
# fmt: on
VIRTUAL_SKUS = tuple(p.sku for p in VIRTUAL)


def _view(request: Request, sku: str) -> StockView:
    """What the page says about stock: the stock feed may be behind (``inventory_lag``)."""
    c = ctx(request)
    return stock_view(PRODUCTS[sku], c.state.shown(sku, c.stock_lag(sku)))


def _views(request: Request, skus: tuple[str, ...]) -> list[tuple[Product, StockView]]:
    return [(PRODUCTS[s], _view(request, s)) for s in skus]


def _safe_next(raw: str | None) -> str:
    """Only same-site paths: never redirect a shopper off the shop after login."""
    return raw if raw and raw.startswith("/") and not raw.startswith("//") else "/"


async def home(request: Request) -> Response:
    return render(request, "home.html")


async def feed(request: Request) -> Response:
    count = sum(session(request).cart.values())
    return render(request, "feed.html", items=_views(request, FEED), cart_count=count)


async def live(request: Request) -> Response:
    return render(request, "live.html", items=_views(request, LIVE))


async def subsidy(request: Request) -> Response:
    return render(request, "subsidy.html", items=_views(request, SUBSIDY))


async def shelf(request: Request) -> Response:
    note = "酒类须由持有当地酒类经营许可的商家销售；农产品每日限量，售罄后次日10:00补货。"
    return render(request, "shelf.html", title="好物", note=note, items=_views(request, SHELF))


async def virtual(request: Request) -> Response:
    note = "充值到当前账号，无需发货。青少年模式下仅可购买学习类商品。"
    return render(request, "shelf.html", title="虚拟商品", note=note, items=_views(request, VIRTUAL_SKUS))


async def product(request: Request) -> Response:
    sku = request.path_params["sku"]
    p = PRODUCTS.get(sku)
    if p is None:
        return error_page(request, 404, "商品不存在", f"商品不存在或已下架 / unknown product: {sku}", "UNKNOWN_SKU")
    source = request.query_params.get("from", "product")
    source = source if source in ("feed", "live", "product") else "product"
    view = _view(request, sku)
    return render(request, "product.html", p=p, view=view, source=source, tag_labels=TAG_LABELS)


async def cart_add(request: Request) -> Response:
    form = await request.form()
    sku = str(form.get("sku", ""))
    if sku not in PRODUCTS:
        return error_page(request, 404, "商品不存在", f"商品不存在或已下架 / unknown product: {sku}", "UNKNOWN_SKU")
    try:
        qty = parse_qty(str(form.get("qty", "1")))
    except BasketError as exc:
        return error_page(request, exc.status, "数量有误", exc.message, exc.code)
    current = session(request)
    with ctx(request).state.lock:
        current.cart[sku] = min(MAX_QTY, current.cart.get(sku, 0) + qty)
        current.flash = "已加入购物车"
    return redirect(_safe_next(str(form.get("back", "/feed"))))


async def cart_remove(request: Request) -> Response:
    form = await request.form()
    with ctx(request).state.lock:
        session(request).cart.pop(str(form.get("sku", "")), None)
    return redirect("/cart")


async def cart(request: Request) -> Response:
    lines = [Line(PRODUCTS[sku], qty) for sku, qty in session(request).cart.items()]
    return render(request, "cart.html", lines=lines, total=subtotal(lines))


async def me(request: Request) -> Response:
    return render(request, "me.html")


async def tools(request: Request) -> Response:
    return render(request, "tools.html")


async def settings(request: Request) -> Response:
    return render(request, "settings.html")


async def orders(request: Request) -> Response:
    user = session(request).user
    if user is None:
        return redirect("/login?next=/orders")
    mine = [o for o in ctx(request).state.orders.values() if o.user == user]
    return render(request, "orders.html", orders=mine, status_labels=STATUS_LABELS)


async def login_form(request: Request) -> Response:
    chosen = _safe_next(request.query_params.get("next"))
    return render(request, "login.html", next=chosen, username="", error=None, demo_accounts=list(ACCOUNTS))


async def login(request: Request) -> Response:
    form = await request.form()
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "/")))
    if username not in ACCOUNTS or password != PASSWORD:
        error = "用户名或密码错误 / wrong username or password"
        return render(
            request, "login.html", 401, next=target, username=username, error=error, demo_accounts=list(ACCOUNTS)
        )
    with ctx(request).state.lock:
        current = session(request)
        current.user, current.device_verified, current.coupon_claimed = username, False, False
        current.flash = f"登录成功，欢迎 {ACCOUNTS[username].display}"
    return redirect(target)


async def logout(request: Request) -> Response:
    with ctx(request).state.lock:
        session(request).user = None
    return redirect("/")


routes = [
    Route("/", home),
    Route("/feed", feed),
    Route("/live", live),
    Route("/subsidy", subsidy),
    Route("/shelf", shelf),
    Route("/virtual", virtual),
    Route("/product/{sku}", product),
    Route("/cart", cart),
    Route("/cart/add", cart_add, methods=["POST"]),
    Route("/cart/remove", cart_remove, methods=["POST"]),
    Route("/me", me),
    Route("/me/tools", tools),
    Route("/me/settings", settings),
    Route("/orders", orders),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
