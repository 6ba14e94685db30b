"""Web plumbing shared by both origins: the per-instance context, templates, error
pages and the middleware that applies faults, old-device checks, sessions and headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import FileSystemBytecodeCache
from jinja2.bccache import Bucket
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderprobe.shop.accounts import ACCOUNTS, Account
from orderprobe.shop.catalogue import yuan
from orderprobe.shop.faults import FaultBoard
from orderprobe.shop.state import Session, ShopState

log = logging.getLogger("shop")
SESSION_COOKIE = "sid"
OLD_ANDROID = re.compile(r"Android 4\.\d")
# Old Android 4.x gets the upgrade page on these shop paths (and on every payment page).
UPGRADE_PATHS = ("/checkout", "/verify")


class _CompiledTemplates(FileSystemBytecodeCache):
    """Templates compiled once per machine, not in every shop: a journey's pages cost a shop ~30 ms
    of CPU to compile, ~1 ms to load compiled. Jinja2's per-user folder in the temp dir, checked
    against each template's source; a cache that cannot be read or written is only no cache. (The
    reports have the same; the shop imports none of orderprobe's modules.)"""

    def load_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError, EOFError, ValueError, TypeError):  # unreadable: compile instead
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):  # a full or read-only temp dir: the page is served all the same
            super().dump_bytecode(bucket)


templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["yuan"] = yuan
with contextlib.suppress(OSError, RuntimeError):  # no safe per-user folder (Jinja2 refuses a shared one)
    templates.env.bytecode_cache = _CompiledTemplates()

# Probes tag their requests with this header (orderprobe --synthetic-header): their orders are marked.
PROBE_HEADER = "X-Orderprobe-Run"


@dataclass
class Context:
    """One shop instance: its state, its faults and where its two origins live."""

    state: ShopState = field(default_factory=ShopState)
    faults: FaultBoard = field(default_factory=FaultBoard)
    shop_url: str = ""
    payment_url: str = ""
    stopping: threading.Event = field(default_factory=threading.Event)

    def set_fault(self, name: str, params: dict[str, Any] | None = None, seconds: float | None = None) -> dict:
        """Switch a fault on; ``stock_out`` draws the shelf at once (one draw per product)."""
        fault = self.faults.set(name, params, seconds)
        if name == "stock_out":
            model = self.faults.get(name)
            fault["sold_out"] = self.state.draw_stock(model.rates, model.seed)
        return fault

    def stock_lag(self, sku: str) -> float:
        """How many seconds behind the pages' stock feed is for ``sku`` (the ``inventory_lag`` fault)."""
        lag = self.faults.get("inventory_lag")
        return lag.lag_s if lag is not None and lag.sku in (None, sku) else 0.0


def ctx(request: Request) -> Context:
    return request.app.state.ctx


def session(request: Request) -> Session:
    return request.state.session


def account(request: Request) -> Account | None:
    current = getattr(request.state, "session", None)  # None on the payment origin
    return ACCOUNTS.get(current.user) if current and current.user else None


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("me", account(request))
    current = getattr(request.state, "session", None)
    if "flash" not in context and current is not None:  # a one-shot message from the last action
        context["flash"], current.flash = current.flash, None
    context.setdefault("flash", None)
    return templates.TemplateResponse(request, name, context, status_code=status)


def error_page(request: Request, status: int, title: str, message: str, code: str = "") -> Response:
    """A Chinese error page a shopper would see (English in the message where it helps)."""
    return render(request, "error.html", status, title=title, message=message, code=code)


def api_error(status: int, code: str, message: str, message_en: str = "") -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "message_en": message_en}, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/login?next={quote(target, safe='')}")


async def wait_while(c: Context, fault: str, ms: int) -> None:
    """Hang for ``ms`` or until the fault is switched off (or the shop stops)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ms / 1000
    while loop.time() < deadline and c.faults.get(fault) is not None and not c.stopping.is_set():
        await asyncio.sleep(min(0.05, max(0.0, deadline - loop.time())))


_HTTP_TITLES = {400: "请求有误", 404: "页面不存在", 405: "不支持的请求", 413: "请求过大"}
_HTTP_EN = {400: "bad request", 404: "not found", 405: "method not allowed", 413: "request too large"}


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    title = _HTTP_TITLES.get(status, "请求失败")
    detail = exc.detail if isinstance(exc, HTTPException) and exc.detail else _HTTP_EN.get(status, "")
    if request.url.path.startswith(("/api/", "/__admin")):
        return api_error(status, f"HTTP_{status}", title, str(detail))
    return error_page(request, status, title, f"{title} / {detail}", f"HTTP_{status}")


async def server_error(request: Request, exc: Exception) -> Response:
    """Never show a traceback: a Chinese page (or JSON for APIs) with a stable code."""
    if request.url.path.startswith(("/api/", "/__admin")):
        return api_error(500, "INTERNAL", "系统异常，请稍后再试", "internal error")
    return render(
        request,
        "error.html",
        500,
        title="系统异常",
        message="系统异常，请稍后再试 / internal error",
        code="INTERNAL",
        me=None,
    )


class JsonTooLarge:
    """A body declared too large for an API or admin path is refused with the API's JSON error:
    Starlette's own limit answers plain text when the handler did not read the body."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(("/api/", "/__admin")):
            declared = dict(scope["headers"]).get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.limit:
                detail = f"request body of {int(declared)} bytes is over the {self.limit}-byte limit"
                return await api_error(413, "HTTP_413", _HTTP_TITLES[413], detail)(scope, receive, send)
        await self.app(scope, receive, send)


class FaultMiddleware:
    """Applies switched-on faults the way production shows them, plus sessions and headers.

    Pure ASGI (not BaseHTTPMiddleware) so request-body limits and hanging requests pass through untouched.
    """

    def __init__(self, app: ASGIApp, origin: str) -> None:
        self.app = app
        self.origin = origin  # "shop" | "pay"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)  # shares scope["state"] with the endpoint's Request
        early, new_sid = await self._before(request)

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["Timing-Allow-Origin"] = "*"
                headers.setdefault("Cache-Control", "no-store")
                if new_sid:
                    headers.append("Set-Cookie", f"{SESSION_COOKIE}={new_sid}; HttpOnly; Path=/; SameSite=Lax")
            await send(message)

        try:
            await (early or self.app)(scope, receive, send_with_headers)
        except Exception as exc:
            if started:
                raise
            # Answer the error page here instead of letting it reach the server, which would
            # drop the keep-alive connection (a shop bug must not look like a network failure).
            log.exception("demo shop: error on %s %s", request.method, request.url.path)
            await (await server_error(request, exc))(scope, receive, send_with_headers)

    async def _before(self, request: Request) -> tuple[ASGIApp | None, str | None]:
        """Return (a response that replaces the endpoint, or None; a new session id, or None)."""
        c, path = ctx(request), request.url.path
        request.state.session = None
        if path.startswith("/__admin"):
            return None, None  # the admin endpoint is never faulted
        slow = c.faults.get("slow_route")
        if slow is not None and path.startswith(slow.path):
            await wait_while(c, "slow_route", slow.ms)
        new_sid = None
        if self.origin == "shop":
            current = c.state.session(request.cookies.get(SESSION_COOKIE))
            if current is None:
                current = c.state.new_session()
                new_sid = current.id
            request.state.session = current
            blocked = self._api_5xx(request, c)
            if blocked is not None:
                return blocked, new_sid
        else:
            if c.faults.get("payment_down") is not None:
                down = render(
                    request,
                    "pay_error.html",
                    503,
                    title="支付服务暂不可用",
                    message="支付服务暂不可用，请稍后再试 / payment gateway unavailable",
                    code="PAY_GATEWAY_DOWN",
                    shop_url=c.shop_url,
                )
                return down, None
            slow_pay = c.faults.get("payment_slow")
            if slow_pay is not None:
                await wait_while(c, "payment_slow", slow_pay.ms)
        if self._too_old(request):
            return render(request, "upgrade.html", 200, me=None), new_sid
        return None, new_sid

    def _api_5xx(self, request: Request, c: Context) -> Response | None:
        fault = c.faults.get("api_5xx")
        if fault is None:
            return None
        is_api = request.url.path.startswith("/api/")
        if not (is_api or (fault.pages and request.method == "GET")):
            return None
        if not c.faults.strikes("api_5xx", fault.rate):
            return None
        if is_api:
            return api_error(500, "SYS_ERROR", "服务繁忙，请稍后再试", "internal server error (api)")
        return render(
            request,
            "error.html",
            502,
            title="服务繁忙",
            message="服务繁忙，请稍后再试 / bad gateway",
            code="BAD_GATEWAY",
            me=None,
        )

    def _too_old(self, request: Request) -> bool:
        if not OLD_ANDROID.search(request.headers.get("user-agent", "")):
            return False
        return self.origin == "pay" or request.url.path.startswith(UPGRADE_PATHS)
