"""Everything the shop remembers, in memory: stock, sessions, carts, orders, bound cards.

One lock guards it all: the shop and payment servers run in their own threads and
tests call ``reset()`` from a third. ``reset()`` restores the state of a fresh shop.

Two clocks, both injectable so tests need not wait: ``clock`` (monotonic seconds) times the
stock history that a lagging stock feed shows, ``wall`` (epoch seconds) decides when farm
produce is restocked (10:00 shop time, the day after it sold out).
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from orderprobe.shop.accounts import ACCOUNTS, Wallet
from orderprobe.shop.catalogue import PRODUCTS, Line, Product

SOLD_OUT = ("SOLD_OUT", "已售罄")
STOCK_LAG = ("STOCK_SYNC_DELAY", "库存不足")
SHOP_TIME = ZoneInfo("Asia/Shanghai")
RESTOCK_HOUR = 10


def next_restock(epoch: float) -> float:
    """10:00 shop time on the day after ``epoch``: "次日10:00补货"."""
    day = datetime.fromtimestamp(epoch, SHOP_TIME).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, RESTOCK_HOUR, tzinfo=SHOP_TIME).timestamp()


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
    # A probe's order (its request carried the synthetic-traffic header): kept out of the stock and
    # sales figures, and cancellable by the probe that placed it. The header's value, "" for shoppers.
    probe_run: str = ""

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
            "probe": bool(self.probe_run),
        }


class ShopState:
    def __init__(self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.clock, self.wall = clock, wall
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.stock: dict[str, int] = {sku: p.stock for sku, p in PRODUCTS.items()}
            self.history: list[tuple[float, str, int]] = []  # (clock, sku, stock before the change)
            now = self.wall()
            self.restock_at = {sku: next_restock(now) for sku, p in PRODUCTS.items() if p.restock_qty and not p.stock}
            self.sessions: dict[str, Session] = {}
            self.orders: dict[str, Order] = {}
            self.tokens: dict[str, str] = {}
            self.quotes: set[str] = set()
            self.wallets = {name: Wallet(set(a.methods), a.card_expired, a.balance) for name, a in ACCOUNTS.items()}
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
    def _set_stock(self, sku: str, value: int) -> None:
        self.history.append((self.clock(), sku, self.stock[sku]))
        self.stock[sku] = value

    def _restock(self) -> None:
        now = self.wall()
        for sku, at in list(self.restock_at.items()):
            if now >= at:
                del self.restock_at[sku]
                self._set_stock(sku, self.stock[sku] + PRODUCTS[sku].restock_qty)

    def shown(self, sku: str, lag_s: float = 0.0) -> int:
        """Stock as a feed ``lag_s`` seconds behind sees it: the real stock of ``lag_s`` ago."""
        with self.lock:
            self._restock()
            value, since = self.stock[sku], self.clock() - lag_s
            for at, changed, before in reversed(self.history):
                if at <= since:
                    break
                if changed == sku:
                    value = before
            return value

    def reserve(self, lines: list[Line], lag_s: Callable[[str], float] = lambda sku: 0.0, *, take: bool = True) -> None:
        """Take stock for all lines or none. ``lag_s(sku)``: how far behind the pages' stock feed is.
        A probe's order (``take=False``) meets the same stock checks and takes nothing."""
        with self.lock:
            self._restock()
            for line in lines:
                sku = line.product.sku
                if self.stock[sku] < line.qty:
                    # The page offered stock that is gone (a stale feed, or cross-border stock that
                    # has not cleared customs): a phantom order. Otherwise the page said so too.
                    stale = line.product.shown_stock is not None or self.shown(sku, lag_s(sku)) >= line.qty
                    raise StockError(*(STOCK_LAG if stale else SOLD_OUT), line.product)
            for line in lines if take else ():
                sku = line.product.sku
                self._set_stock(sku, self.stock[sku] - line.qty)
                if not self.stock[sku] and line.product.restock_qty:
                    self.restock_at[sku] = next_restock(self.wall())

    def draw_stock(self, rates: dict[str, float], seed: int) -> list[str]:
        """The shelf as a shopper finds it (the ``stock_out`` fault): each product with a tag in
        ``rates`` is sold out with that share, else in stock. Returns the sold-out SKUs."""
        rng, out = random.Random(seed), []
        with self.lock:
            for sku, p in PRODUCTS.items():
                rate = max((rates[t] for t in p.tags if t in rates), default=None)
                if rate is None:
                    continue
                if rng.random() < rate:
                    self.stock[sku] = 0
                    out.append(sku)
                else:  # on the shelf: cross-border stock has cleared customs, farm produce restocked
                    self.stock[sku] = p.stock or p.restock_qty or p.shown_stock or 10
                    self.restock_at.pop(sku, None)
        return out

    def add_order(self, **fields: Any) -> Order:
        with self.lock:
            order_id = f"DD{self._next_order}"
            self._next_order += 1
            order = Order(id=order_id, token=secrets.token_urlsafe(12), **fields)
            self.orders[order_id] = order
            self.tokens[order.token] = order_id
            return order

    def cancel_probe_orders(self, probe_run: str) -> list[str]:
        """Cancel the orders placed under this synthetic-traffic tag; their ids."""
        with self.lock:
            mine = [
                o for o in self.orders.values() if probe_run and o.probe_run == probe_run and o.status != "cancelled"
            ]
            for order in mine:
                order.status = "cancelled"
            return [o.id for o in mine]

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
            self._restock()
            return {
                "stock": dict(self.stock),
                "orders": [o.as_dict() for o in self.orders.values()],
                # Business figures: shoppers' orders only, never the probes'.
                "sales": {
                    "orders": sum(1 for o in self.orders.values() if not o.probe_run),
                    "paid": sum(o.total for o in self.orders.values() if not o.probe_run and o.status == "paid"),
                },
                "probe_orders": sum(1 for o in self.orders.values() if o.probe_run),
                "sessions": len(self.sessions),
                "wallets": {k: sorted(w.methods) for k, w in self.wallets.items()},
                "time": time.time(),
            }
