"""Checkout on the shop origin: the order form, submit (account, region and stock rules),
the extra steps some orders need (SMS + device check, pickup point), and the result page.

An order walks ``verify → pickup → unpaid → paid`` (or stops at ``review``); ``advance``
sends the shopper to whichever step is next, the last one on the payment origin.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderprobe.shop.accounts import CHANNELS, SMS_CODE, Account, masked
from orderprobe.shop.basket import BasketError, Totals, coupon_discount, lines_from, price
from orderprobe.shop.catalogue import Line
from orderprobe.shop.regions import FIELD_LABELS, PICKUP_POINTS, PROVINCES, parse_address
from orderprobe.shop.state import Order, StockError
from orderprobe.shop.web import (
    PROBE_HEADER,
    Context,
    account,
    ctx,
    error_page,
    login_redirect,
    redirect,
    render,
    session,
)


def checkout_page(
    request: Request,
    source: str,
    lines: list[Line],
    values: Mapping[str, str],
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    banner: tuple[str, str] | None = None,
    totals: Totals | None = None,
    coupon: str = "",
) -> Response:
    return render(
        request,
        "checkout.html",
        status,
        source=source,
        lines=lines,
        values=values,
        errors=errors or {},
        banner=banner,
        totals=totals or price(lines, None),
        coupon=coupon,
        claimed=session(request).coupon_claimed,
        field_labels=FIELD_LABELS,
        provinces=PROVINCES,
    )


def basket_error(request: Request, exc: BasketError) -> Response:
    return error_page(request, exc.status, "无法下单", exc.message, exc.code)


async def checkout(request: Request) -> Response:
    me = account(request)
    if me is None:
        return login_redirect(request)
    try:
        source, lines = lines_from(request.query_params, session(request))
    except BasketError as exc:
        return basket_error(request, exc)
    values = me.address if source == "subsidy" else {}  # subsidy: pre-filled, fewest steps
    return checkout_page(request, source, lines, values)


async def submit(request: Request) -> Response:
    me = account(request)
    if me is None:
        return redirect("/login?next=/")
    form = {k: str(v) for k, v in (await request.form()).items()}
    current, c = session(request), ctx(request)
    try:
        source, lines = lines_from(form, current)
    except BasketError as exc:
        return basket_error(request, exc)
    address, errors = parse_address(form)
    coupon = form.get("coupon", "").strip().upper()

    def again(status: int, banner: tuple[str, str] | None = None, totals: Totals | None = None) -> Response:
        return checkout_page(
            request, source, lines, form, status=status, errors=errors, banner=banner, totals=totals, coupon=coupon
        )

    if errors:
        return again(400, ("ADDRESS_INVALID", "收货地址填写有误，请检查标红的字段"))
    if form.get("quote", "") not in c.state.quotes:
        return again(400, ("QUOTE_MISSING", "运费尚未计算完成，请稍后再提交"))
    discount = 0
    if coupon:
        try:
            discount = coupon_discount(coupon, current, sum(ln.amount for ln in lines))
        except BasketError as exc:
            coupon = ""
            return again(exc.status, (exc.code, exc.message))
    refused = _risk(request, c, me, lines)
    if refused is not None:
        return again(403, refused)
    if me.teen_blocked and not all(ln.product.virtual for ln in lines):
        return render(request, "guardian.html", 403, error=None)  # physical goods: guardian confirmation
    totals = price(lines, address, discount)
    if totals.verdict.refused:
        return again(422, totals.verdict.refused, totals)
    try:
        c.state.reserve(lines, c.stock_lag, take=not probe_run(request))
    except StockError as exc:
        return again(409, (exc.code, exc.message), totals)
    assert address is not None
    order = c.state.add_order(
        user=me.username,
        lines=lines,
        address=address.model_dump(),
        source=source,
        subtotal=totals.subtotal,
        discount=totals.discount,
        shipping=totals.shipping,
        surcharge=totals.surcharge,
        status="new",
        coupon=coupon or None,
        needs_verify=me.cross_province and not current.device_verified,
        needs_pickup=totals.verdict.pickup_only,
        probe_run=probe_run(request),
    )
    if source == "cart":
        with c.state.lock:
            current.cart.clear()
    return go(request, order, advance(c, order, me))


def probe_run(request: Request) -> str:
    """The synthetic-traffic tag of a probe's request (orderprobe's ``--synthetic-header``), or ""."""
    return request.headers.get(PROBE_HEADER, "")[:200]


def _risk(request: Request, c: Context, me: Account, lines: list[Line]) -> tuple[str, str] | None:
    """Risk control on submit: a blocklisted client IP; teen mode and virtual goods."""
    ban = c.faults.get("ip_banned")
    ip = request.client.host if request.client else None
    if ban is not None and ban.covers(ip):
        return ("IP_BLOCKED", f"当前网络环境存在风险，IP {ip} 已被风控限制下单，请稍后再试或联系客服")
    if me.teen_blocked and any(ln.product.virtual and not ln.product.teen_allowed for ln in lines):
        return (
            "TEEN_VIRTUAL_BLOCKED",
            "青少年模式下不可购买充值、打赏、会员等虚拟商品（仅学习类可购买），需完成实名认证",
        )
    return None


def go(request: Request, order: Order, url: str) -> Response:
    """Redirect within the shop; hand over to the payment origin by a page navigation."""
    if url.startswith(ctx(request).payment_url):
        return render(request, "handoff.html", order=order, url=url)
    return redirect(url)


def advance(c: Context, order: Order, me: Account) -> str:
    """Move the order to its next step and return where the shopper goes."""
    with c.state.lock:
        if order.needs_verify:
            order.status = "verify"
            return f"/verify/sms/{order.id}"
        if order.needs_pickup and order.pickup is None:
            order.status = "pickup"
            return f"/checkout/pickup/{order.id}"
        if me.needs_review:
            order.status = "review"
            return f"/orders/{order.id}/done"
        order.status = "unpaid"
        return f"{c.payment_url}/pay/{order.token}"


def _my_order(request: Request) -> Order | None:
    order = ctx(request).state.orders.get(request.path_params["order_id"])
    return order if order and order.user == session(request).user else None


def _no_order(request: Request) -> Response:
    return error_page(request, 404, "订单不存在", "订单不存在或不属于当前账户 / order not found", "ORDER_NOT_FOUND")


async def pickup(request: Request) -> Response:
    me, order = account(request), _my_order(request)
    if me is None:
        return login_redirect(request)
    if order is None:
        return _no_order(request)
    if order.status != "pickup":
        return go(request, order, advance(ctx(request), order, me))
    error = None
    if request.method == "POST":
        choice = str((await request.form()).get("pickup", ""))
        if choice in dict(PICKUP_POINTS):
            order.pickup = choice
            return go(request, order, advance(ctx(request), order, me))
        error = "请选择一个自提点 / choose a pickup point (PICKUP_REQUIRED)"
    return render(request, "pickup.html", 400 if error else 200, order=order, points=PICKUP_POINTS, error=error)


async def verify_sms(request: Request) -> Response:
    me, order, c = account(request), _my_order(request), ctx(request)
    if me is None:
        return login_redirect(request)
    if order is None:
        return _no_order(request)
    if order.status != "verify":
        return go(request, order, advance(c, order, me))
    error = None
    if request.method == "POST":
        form = await request.form()
        error = _sms_problem(
            c, session(request).sms_ready_at, str(form.get("code", "")).strip(), str(form.get("device", ""))
        )
        if error is None:
            with c.state.lock:
                session(request).device_verified = True
                order.needs_verify = False
            return go(request, order, advance(c, order, me))
    return render(request, "sms.html", 400 if error else 200, order=order, phone=masked(me.phone), error=error)


def _sms_problem(c: Context, ready_at: float | None, code: str, device: str) -> tuple[str, str] | None:
    if ready_at is None:
        return ("SMS_NOT_SENT", "请先获取验证码")
    if time.monotonic() < ready_at:
        return ("SMS_DELAYED", "验证码尚未送达，请稍候再试")
    if code != SMS_CODE:
        return ("SMS_CODE_INVALID", "验证码错误")
    if not device.startswith("fp-"):
        return ("DEVICE_CHECK_FAILED", "设备验证失败，请使用常用设备")
    return None


async def guardian(request: Request) -> Response:
    if account(request) is None:
        return login_redirect(request)
    error = "请先在 App 内完成人脸识别，再进行监护人手机验证 (FACE_CHECK_REQUIRED)"
    return render(request, "guardian.html", 403, error=error)


async def done(request: Request) -> Response:
    me, order, c = account(request), _my_order(request), ctx(request)
    if me is None:
        return login_redirect(request)
    if order is None:
        return _no_order(request)
    if order.status in ("verify", "pickup"):
        return go(request, order, advance(c, order, me))
    label = dict(PICKUP_POINTS).get(order.pickup or "", "")
    pickup_label = f"{order.address['city']}{order.address['district']} {label}" if label else ""
    return render(
        request,
        "done.html",
        order=order,
        channels=CHANNELS,
        pickup_label=pickup_label,
        pay_url=f"{c.payment_url}/pay/{order.token}",
    )


routes = [
    Route("/checkout", checkout, methods=["GET"]),
    Route("/checkout", submit, methods=["POST"]),
    Route("/checkout/pickup/{order_id}", pickup, methods=["GET", "POST"]),
    Route("/verify/sms/{order_id}", verify_sms, methods=["GET", "POST"]),
    Route("/verify/guardian", guardian, methods=["POST"]),
    Route("/orders/{order_id}/done", done),
]
