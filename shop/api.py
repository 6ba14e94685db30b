"""The in-page JSON APIs of the shop origin: shipping quote, coupon, SMS code.

Errors are JSON ``{"code", "message", "message_en"}`` with a 4xx status; pages show the
code in a toast. ``logistics_timeout`` and ``sms_delay`` act here.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orderprobe.shop.accounts import masked
from orderprobe.shop.basket import BasketError, Totals, coupon_discount, lines_from, price
from orderprobe.shop.regions import parse_address
from orderprobe.shop.web import PROBE_HEADER, account, api_error, ctx, session, wait_while


def _totals_json(totals: Totals) -> dict:
    return {
        "subtotal": totals.subtotal,
        "discount": totals.discount,
        "shipping": totals.shipping,
        "surcharge": totals.surcharge,
        "total": totals.total,
    }


def _not_logged_in() -> Response:
    return api_error(401, "LOGIN_REQUIRED", "请先登录", "log in first")


async def quote(request: Request) -> Response:
    """Shipping fee and region notes for the basket and the (possibly partial) address."""
    c = ctx(request)
    fault = c.faults.get("logistics_timeout")
    if fault is not None:
        await wait_while(c, "logistics_timeout", fault.ms)  # the spinner keeps spinning
        if c.faults.get("logistics_timeout") is not None:
            return api_error(504, "LOGISTICS_TIMEOUT", "物流服务超时，请稍后重试", "logistics quote timed out")
    if account(request) is None:
        return _not_logged_in()
    params = dict(request.query_params)
    try:
        _, lines = lines_from(params, session(request))
    except BasketError as exc:
        return api_error(exc.status, exc.code, exc.message)
    try:  # a coupon the page has not applied (yet) just gives no discount here
        discount = coupon_discount(params.get("coupon", ""), session(request), sum(ln.amount for ln in lines))
    except BasketError:
        discount = 0
    address, _ = parse_address(params)  # a partial address just gets no region notes
    totals = price(lines, address, discount)
    notes = list(totals.verdict.notes)
    return JSONResponse(
        {
            "quote": c.state.new_quote(),
            "notes": notes,
            "carrier": "快递100 (Kuaidi100-like)",
            "refused": totals.verdict.refused[0] if totals.verdict.refused else None,
            "pickup_only": totals.verdict.pickup_only,
            **_totals_json(totals),
        }
    )


async def coupon_claim(request: Request) -> Response:
    if account(request) is None:
        return _not_logged_in()
    c = ctx(request)
    broken = c.faults.get("coupon_broken")
    # coupon_broken: the claim says 已领取 but never reaches the account (seed §7: the new-user
    # coupon's claim-then-use flow breaks for 38%); using it then says it was never claimed.
    lost = broken is not None and c.faults.strikes("coupon_broken", broken.rate)
    with c.state.lock:
        session(request).coupon_claimed = session(request).coupon_claimed or not lost
    return JSONResponse(
        {"ok": True, "code": "NEW10", "message": "已领取新人券：满 ¥30 减 ¥10，券码 NEW10，请在下方输入使用"}
    )


async def coupon_apply(request: Request) -> Response:
    if account(request) is None:
        return _not_logged_in()
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        _, lines = lines_from(form, session(request))
        code = form.get("code", "").strip().upper()
        discount = coupon_discount(code, session(request), sum(ln.amount for ln in lines))
    except BasketError as exc:
        return api_error(exc.status, exc.code, exc.message)
    address, _ = parse_address(form)
    totals = price(lines, address, discount)
    return JSONResponse(
        {"ok": True, "code": code, "message": f"已使用优惠券 {code}，立减 ¥10.00", **_totals_json(totals)}
    )


async def sms_send(request: Request) -> Response:
    me = account(request)
    if me is None:
        return _not_logged_in()
    fault = ctx(request).faults.get("sms_delay")
    delay = fault.ms if fault is not None else 0
    with ctx(request).state.lock:
        session(request).sms_ready_at = time.monotonic() + delay / 1000
    arrived = f"验证码已发送至 {masked(me.phone)}"
    message = f"验证码发送中，请稍候…（短信通道拥堵 / SMS delayed {delay} ms）" if delay else arrived
    return JSONResponse({"sent": True, "delay_ms": delay, "message": message, "arrived": arrived})


async def cancel_probe_orders(request: Request) -> Response:
    """``POST /api/probe-orders/cancel`` with the synthetic-traffic header: the probe that placed
    orders under that tag cancels them (its cleanup), whatever became of its browser."""
    tag = request.headers.get(PROBE_HEADER, "")
    if not tag:
        return api_error(400, "NOT_A_PROBE", "缺少探针标记", f"the {PROBE_HEADER} header is required")
    return JSONResponse({"cancelled": ctx(request).state.cancel_probe_orders(tag)})


routes = [
    Route("/api/probe-orders/cancel", cancel_probe_orders, methods=["POST"]),
    Route("/api/logistics/quote", quote, methods=["GET"]),
    Route("/api/coupon/claim", coupon_claim, methods=["POST"]),
    Route("/api/coupon/apply", coupon_apply, methods=["POST"]),
    Route("/api/sms/send", sms_send, methods=["POST"]),
]
