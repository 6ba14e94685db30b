"""``DemoShop``: the shop and payment origins, each a uvicorn server in a background thread.

    with DemoShop() as shop:                 # ephemeral ports
        shop.url, shop.payment_url           # http://127.0.0.1:P1, http://pay.localhost:P2
        shop.set_fault("payment_down", seconds=30)

Both sockets are bound before the servers start, so the URLs are known up front and
``start()`` returns only once both accept connections.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from orderprobe.shop import admin, api, checkout, pages, payment
from orderprobe.shop.faults import COMPRESS, FaultBoard, outage
from orderprobe.shop.state import ShopState
from orderprobe.shop.web import Context, FaultMiddleware, JsonTooLarge, http_error, server_error

PAYMENT_HOST = "pay.localhost"  # Chromium resolves *.localhost to loopback by itself
MAX_BODY = 64 * 1024


def build_apps(c: Context) -> tuple[Starlette, Starlette]:
    handlers: dict[Any, Any] = {HTTPException: http_error, Exception: server_error}
    shop_app = Starlette(
        routes=[*pages.routes, *checkout.routes, *api.routes, *admin.routes],
        middleware=[Middleware(FaultMiddleware, origin="shop")],
        exception_handlers=handlers,
        max_body_size=MAX_BODY,
    )
    pay_app = Starlette(
        routes=payment.routes,
        middleware=[Middleware(FaultMiddleware, origin="pay")],
        exception_handlers=handlers,
        max_body_size=MAX_BODY,
    )
    shop_app.state.ctx = pay_app.state.ctx = c
    return shop_app, pay_app


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on such sockets (else ~40 ms per response).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    return sock


class DemoShop:
    """``clock`` (monotonic) and ``wall`` (epoch) may be injected: tests move the shop's time
    (stock feed lag, fault windows, 10:00 restock) instead of sleeping."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        payment_port: int = 0,
        payment_host: str = PAYMENT_HOST,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.host, self.port, self.payment_port, self.payment_host = host, port, payment_port, payment_host
        self.context = Context(state=ShopState(clock, wall), faults=FaultBoard(clock))
        self._servers: list[uvicorn.Server] = []
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []

    # what the probes need ---------------------------------------------------
    @property
    def url(self) -> str:
        return self.context.shop_url

    @property
    def payment_url(self) -> str:
        return self.context.payment_url

    @property
    def payment_loopback_url(self) -> str:
        """The payment origin by IP, for clients that cannot resolve *.localhost (httpx, curl)."""
        return f"http://{self._url_host()}:{self.payment_port}"

    @property
    def state(self) -> Any:
        return self.context.state

    def set_fault(self, name: str, seconds: float | None = None, **params: Any) -> dict:
        return self.context.set_fault(name, params, seconds)

    def outage(self, name: str, compress: float = COMPRESS) -> dict:
        """Replay a seed incident (``orderprobe.shop.faults.OUTAGES``) with its duration divided by ``compress``."""
        found, seconds = outage(name, compress)
        return self.set_fault(found.fault, seconds=seconds, **found.params)

    def fault_tally(self) -> dict[str, tuple[int, int]]:
        """Faults that strike at a rate: name → (draws, strikes) since each was set."""
        return self.context.faults.tally()

    def clear_faults(self, name: str | None = None) -> list[str]:
        return self.context.faults.clear(name)

    def reset(self) -> None:
        self.context.state.reset()
        self.context.faults.clear()

    # lifecycle --------------------------------------------------------------
    def _url_host(self) -> str:
        if self.host in ("0.0.0.0", "::", ""):
            return "127.0.0.1"
        return f"[{self.host}]" if ":" in self.host else self.host

    def start(self, timeout: float = 30.0) -> DemoShop:
        if self._servers:
            raise RuntimeError("DemoShop already started")
        shop_sock, pay_sock = _bind(self.host, self.port), None
        try:
            pay_sock = _bind(self.host, self.payment_port)
        finally:
            if pay_sock is None:
                shop_sock.close()
        self._sockets = [shop_sock, pay_sock]
        self.port, self.payment_port = shop_sock.getsockname()[1], pay_sock.getsockname()[1]
        self.context.stopping.clear()
        self.context.shop_url = f"http://{self._url_host()}:{self.port}"
        self.context.payment_url = f"http://{self.payment_host}:{self.payment_port}"
        self.apps = build_apps(self.context)  # (shop, payment) Starlette apps, e.g. to add a route in a test
        for app, sock in zip(self.apps, self._sockets, strict=True):
            config = uvicorn.Config(
                JsonTooLarge(app, MAX_BODY),
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=2,
            )
            server = uvicorn.Server(config)
            thread = threading.Thread(
                target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"demo-shop-{sock.getsockname()[1]}"
            )
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        deadline = time.monotonic() + timeout
        while not all(s.started for s in self._servers):
            if time.monotonic() > deadline or not all(t.is_alive() for t in self._threads):
                self.stop()
                raise RuntimeError("demo shop did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.context.stopping.set()  # releases hanging requests (logistics_timeout, slow routes)
        for server in self._servers:
            server.should_exit = True
        for thread in self._threads:
            thread.join(timeout=10)
        for sock in self._sockets:
            sock.close()
        self._servers, self._threads, self._sockets = [], [], []

    def __enter__(self) -> DemoShop:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
