"""Everything the shop remembers, in memory: stock, sessions, carts, orders, bound cards.

One lock guards it all: the shop and payment servers run in their own threads and
tests call ``reset()`` from a third. ``reset()`` restores the state of a fresh shop.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from shop.accounts import ACCOUNTS, Wallet
from shop.catalogue import PRODUCTS, Line, Product

SOLD_OUT = ("SOLD_OUT", "已售罄")
STOCK_LAG = ("STOCK_SYNC_DELAY", "库存不足")


class StockError(Exception):
    def __init__(self, code: str, message: str, product: Product) -> None:
        self.message = f"{message}：{product.name}"
        super().__init__(f"{self.message} ({code})")
        self.code = code
        self.product = product


@dataclass
class Session:
    id: str
    user: str | None = None
    cart: dict[str, int] = field(default_factory=dict)
    flash: str | None = None
    coupon_claimed: bool = False
    device_verified: bool = False
    sms_ready_at: float | None = None  # monotonic time the SMS code "arrives"


@dataclass
class Order:
    id: str
    token: str  # the payment origin only knows orders by this unguessable token
    user: str
    lines: list[Line]
    address: dict[str, str]
    source: str  # entry path: cart | live | subsidy | product
    subtotal: int
    discount: int
    shipping: int
    surcharge: int
    status: str  # verify → pickup → unpaid → paid, or review (held)
    needs_verify: bool = False
    needs_pickup: bool = False
    pickup: str | None = None
    channel: str | None = None
    coupon: str | None = None

    @property
    def total(self) -> int:
        return self.subtotal - self.discount + self.shipping + self.surcharge

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "status": self.status,
            "source": self.source,
            "items": [{"sku": ln.product.sku, "qty": ln.qty} for ln in self.lines],
            "total": self.total,
            "surcharge": self.surcharge,
            "discount": self.discount,
            "pickup": self.pickup,
            "channel": self.channel,
        }


class ShopState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.stock: dict[str, int] = {sku: p.stock for sku, p in PRODUCTS.items()}
            self.sessions: dict[str, Session] = {}
            self.orders: dict[str, Order] = {}
            self.tokens: dict[str, str] = {}
            self.quotes: set[str] = set()
            self.wallets = {name: Wallet(set(a.methods), a.card_expired) for name, a in ACCOUNTS.items()}
            self._next_order = 100001

    # sessions -------------------------------------------------------------
    def session(self, sid: str | None) -> Session | None:
        with self.lock:
            return self.sessions.get(sid or "")

    def new_session(self) -> Session:
        with self.lock:
            session = Session(secrets.token_urlsafe(16))
            self.sessions[session.id] = session
            return session

    # stock and orders -----------------------------------------------------
    def reserve(self, lines: list[Line], lagging: set[str] | bool = False) -> None:
        """Take stock for all lines or none. ``lagging``: skus (or all) whose stock feed is stale."""
        with self.lock:
            for line in lines:
                sku = line.product.sku
                if lagging is True or (lagging and sku in lagging):
                    raise StockError(*STOCK_LAG, line.product)
                if self.stock[sku] < line.qty:
                    # the cross-border page claimed stock it did not have: a phantom order
                    code = STOCK_LAG if line.product.shown_stock is not None else SOLD_OUT
                    raise StockError(*code, line.product)
            for line in lines:
                self.stock[line.product.sku] -= line.qty

    def add_order(self, **fields: Any) -> Order:
        with self.lock:
            order_id = f"DD{self._next_order}"
            self._next_order += 1
            order = Order(id=order_id, token=secrets.token_urlsafe(12), **fields)
            self.orders[order_id] = order
            self.tokens[order.token] = order_id
            return order

    def order_by_token(self, token: str) -> Order | None:
        with self.lock:
            order_id = self.tokens.get(token)
            return self.orders.get(order_id) if order_id else None

    def new_quote(self) -> str:
        with self.lock:
            quote = f"Q{secrets.token_hex(6)}"
            self.quotes.add(quote)
            return quote

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "stock": dict(self.stock),
                "orders": [o.as_dict() for o in self.orders.values()],
                "sessions": len(self.sessions),
                "wallets": {k: sorted(w.methods) for k, w in self.wallets.items()},
                "time": time.time(),
            }
