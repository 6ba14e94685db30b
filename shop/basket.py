"""The basket being checked out: which lines (cart or buy-now), coupon, shipping, totals.

Shared by the checkout pages and the in-page APIs (quote, coupon) so both compute the
same numbers. Checkout is stateless about *what* is bought: the page carries ``from``,
``sku`` and ``qty`` (or ``from=cart``), so a login redirect can come straight back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from orderprobe.shop.catalogue import PRODUCTS, Line, subtotal
from orderprobe.shop.regions import Address, Verdict, judge
from orderprobe.shop.state import Session

SOURCES = ("cart", "live", "subsidy", "product", "feed")
MAX_QTY = 5
COUPON_CODE = "NEW10"  # 新人券：满 ¥30 减 ¥10
COUPON_OFF = 1000
COUPON_MIN = 3000
BASE_SHIPPING = 800
FREE_SHIPPING_FROM = 9900


class BasketError(Exception):
    """Bad basket input: an HTTP status, a stable code and a Chinese / English message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def lines_from(params: Mapping[str, str], session: Session) -> tuple[str, list[Line]]:
    source = params.get("from") or "product"
    if source not in SOURCES:
        raise BasketError(400, "BAD_SOURCE", f"未知的下单入口 / unknown entry path: {source!r}")
    if source == "cart":
        lines = [Line(PRODUCTS[sku], qty) for sku, qty in session.cart.items() if sku in PRODUCTS]
        if not lines:
            raise BasketError(400, "CART_EMPTY", "购物车是空的 / the cart is empty")
        return source, lines
    sku = params.get("sku", "")
    product = PRODUCTS.get(sku)
    if product is None:
        raise BasketError(404, "UNKNOWN_SKU", f"商品不存在 / unknown product: {sku!r}")
    return source, [Line(product, parse_qty(params.get("qty")))]


def parse_qty(raw: str | None) -> int:
    try:
        qty = int(raw or 1)
    except ValueError:
        raise BasketError(400, "BAD_QTY", f"数量必须是 1-{MAX_QTY} 的整数 / qty must be 1-{MAX_QTY}") from None
    if not 1 <= qty <= MAX_QTY:
        raise BasketError(400, "BAD_QTY", f"数量必须是 1-{MAX_QTY} 的整数 / qty must be 1-{MAX_QTY}")
    return qty


def coupon_discount(code: str, session: Session, amount: int) -> int:
    code = code.strip().upper()
    if code != COUPON_CODE:
        raise BasketError(400, "COUPON_INVALID", "优惠券无效 / invalid coupon code")
    if not session.coupon_claimed:
        raise BasketError(400, "COUPON_NOT_CLAIMED", "请先领取优惠券 / claim the coupon first")
    if amount < COUPON_MIN:
        raise BasketError(400, "COUPON_THRESHOLD", "未满 ¥30，不可使用 / order under ¥30")
    return COUPON_OFF


@dataclass
class Totals:
    subtotal: int
    discount: int
    shipping: int
    surcharge: int
    verdict: Verdict

    @property
    def total(self) -> int:
        return self.subtotal - self.discount + self.shipping + self.surcharge


def price(lines: list[Line], address: Address | None, discount: int = 0) -> Totals:
    amount = subtotal(lines)
    verdict = judge(address, lines)
    virtual = all(line.product.virtual for line in lines)  # nothing to ship
    shipping = 0 if virtual or amount >= FREE_SHIPPING_FROM else BASE_SHIPPING
    return Totals(amount, discount, shipping, verdict.surcharge, verdict)
