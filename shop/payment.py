"""The payment origin (its own host and port): a cashier page with three channels.

The shop hands the shopper over by redirect to ``/pay/<token>`` and the cashier sends
them back to ``<shop>/orders/<id>/done``, so a browser that cannot reach the payment host
really cannot pay. ``payment_down`` / ``payment_slow`` act in ``FaultMiddleware``;
``payment_maintenance`` puts both wallets out of service here (the card channel is the backup).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shop.accounts import CHANNELS, WALLETS
from shop.state import Order
from shop.web import ctx, redirect, render


@dataclass(frozen=True)
class Channel:
    id: str
    label: str
    usable: bool
    state: str


def _channels(request: Request, order: Order) -> list[Channel]:
    c = ctx(request)
    wallet = c.state.wallets[order.user]
    maintenance = c.faults.get("payment_maintenance") is not None
    out = []
    for cid, label in CHANNELS.items():
        if cid in WALLETS and maintenance:
            out.append(Channel(cid, label, False, "维护中"))
        elif cid not in wallet.methods:
            out.append(Channel(cid, label, False, "未绑定"))
        elif cid == "unionpay":
            card = "尾号 6222 · 已过期" if wallet.card_expired else "尾号 6222 · 备用通道"
            out.append(Channel(cid, label, True, card))
        else:
            out.append(Channel(cid, label, True, "可用"))
    return out


def _order(request: Request) -> Order | None:
    return ctx(request).state.order_by_token(request.path_params["token"])


def _not_found(request: Request) -> Response:
    return render(
        request,
        "pay_error.html",
        404,
        title="订单不存在",
        code="PAY_ORDER_NOT_FOUND",
        message="支付单不存在或已失效 / unknown payment token",
        shop_url=ctx(request).shop_url,
    )


def _page(request: Request, order: Order, status: int = 200, error: tuple[str, str] | None = None) -> Response:
    c = ctx(request)
    if not c.state.wallets[order.user].methods:
        return render(request, "pay_bind.html", order=order)
    return render(
        request,
        "pay.html",
        status,
        order=order,
        channels=_channels(request, order),
        error=error,
        maintenance=c.faults.get("payment_maintenance") is not None,
        shop_url=c.shop_url,
    )


async def cashier(request: Request) -> Response:
    order, c = _order(request), ctx(request)
    if order is None:
        return _not_found(request)
    if order.status != "unpaid":  # paid already, or not ready for payment: the shop knows where to go
        return redirect(f"{c.shop_url}/orders/{order.id}/done")
    if request.method == "GET":
        return _page(request, order)
    choice = str((await request.form()).get("channel", ""))
    usable = {ch.id: ch for ch in _channels(request, order)}
    if choice not in usable:
        return _page(request, order, 400, ("PAY_CHANNEL_REQUIRED", "请选择支付方式"))
    channel = usable[choice]
    if not channel.usable:
        code = "PAY_CHANNEL_MAINTENANCE" if channel.state == "维护中" else "PAY_CHANNEL_UNBOUND"
        return _page(request, order, 409, (code, f"{channel.label}{channel.state}，请选择其他支付方式"))
    if choice == "unionpay" and c.state.wallets[order.user].card_expired:
        return _page(request, order, 402, ("CARD_EXPIRED", "支付失败：银行卡已过期，请更换银行卡"))
    with c.state.lock:
        if order.status != "unpaid":
            return redirect(f"{c.shop_url}/orders/{order.id}/done")
        order.status, order.channel = "paid", choice
    return redirect(f"{c.shop_url}/orders/{order.id}/done")


async def bind(request: Request) -> Response:
    """Newbie recovery: bind a (demo) card, then back to the cashier."""
    order, c = _order(request), ctx(request)
    if order is None:
        return _not_found(request)
    with c.state.lock:
        wallet = c.state.wallets[order.user]
        wallet.methods.add("unionpay")
        wallet.card_expired = False
    return redirect(f"/pay/{order.token}")


routes = [
    Route("/pay/{token}", cashier, methods=["GET", "POST"]),
    Route("/pay/{token}/bind", bind, methods=["POST"]),
]
