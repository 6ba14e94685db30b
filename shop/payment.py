"""The payment origin (its own host and port): a cashier page with three channels.

The shop hands the shopper over by redirect to ``/pay/<token>`` and the cashier sends
them back to ``<shop>/orders/<id>/done``, so a browser that cannot reach the payment host
really cannot pay. ``payment_down`` / ``payment_slow`` act in ``FaultMiddleware``;
``payment_maintenance`` puts both wallets out of service here (the card channel is the backup);
``payment_region_fail`` fails a share of the payments shipped to some provinces;
``pay_sdk_conflict`` serves the cashier a stale payment SDK, so its page refuses to offer payment.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderprobe.shop.accounts import CHANNELS, WALLETS
from orderprobe.shop.catalogue import yuan
from orderprobe.shop.regions import short
from orderprobe.shop.state import Order
from orderprobe.shop.web import Context, ctx, redirect, render

SDK_VERSION = "3.2.0"  # the payment SDK the cashier page is written against


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
        elif wallet.balance is not None:
            out.append(Channel(cid, label, True, f"余额 {yuan(wallet.balance)}"))
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
        sdk_major=SDK_VERSION.split(".")[0],
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
    wallet = c.state.wallets[order.user]
    if choice == "unionpay" and wallet.card_expired:
        return _page(request, order, 402, ("CARD_EXPIRED", "支付失败：银行卡已过期，请更换银行卡"))
    if choice in WALLETS and wallet.balance is not None and wallet.balance < order.total:
        message = f"支付失败：{channel.label}余额不足（可用余额 {yuan(wallet.balance)}），请充值或更换支付方式"
        return _page(request, order, 402, ("INSUFFICIENT_BALANCE", message))
    if _upstream_cut(c, order):
        return render(
            request,
            "pay_error.html",
            502,
            title="支付请求失败",
            message="支付请求失败：支付通道网络异常，请稍后重试 / upstream payment network error",
            code="PAY_UPSTREAM_ERROR",
            shop_url=c.shop_url,
        )
    with c.state.lock:
        if order.status != "unpaid":
            return redirect(f"{c.shop_url}/orders/{order.id}/done")
        order.status, order.channel = "paid", choice
        if choice in WALLETS and wallet.balance is not None:
            wallet.balance -= order.total
    return redirect(f"{c.shop_url}/orders/{order.id}/done")


def _upstream_cut(c: Context, order: Order) -> bool:
    """``payment_region_fail``: a seeded share of the payments shipped to the hit provinces fails
    (seed §8: a cut fibre sent 华北's payment failure rate to 47%). One draw per payment request,
    only for those provinces, so N such payments always fail the same number of times."""
    fault = c.faults.get("payment_region_fail")
    if fault is None or short(order.address["province"]) not in fault.provinces:
        return False
    return c.faults.strikes("payment_region_fail", fault.rate)


async def sdk(request: Request) -> Response:
    """The payment SDK the cashier page loads; ``pay_sdk_conflict`` serves a stale major version."""
    conflict = ctx(request).faults.get("pay_sdk_conflict")
    version = conflict.loaded if conflict is not None else SDK_VERSION
    script = f'window.PaySDK = {{version: "{version}", ready: true}};\n'
    return Response(script, media_type="application/javascript")


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
    Route("/sdk/paysdk.js", sdk),
]
