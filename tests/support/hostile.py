"""A small, realistic and sometimes hostile storefront on loopback, for failure-point tests.

Pages behave as shops we did not write do: an add-to-cart call whose error the page ignores,
analytics, beacons, prefetches and a third-party SDK ping that fail beside it, an API that never
answers, a page whose main thread is busy for good, an animation and a web font that never end.
``tp.localhost`` (Chromium resolves ``*.localhost`` to loopback) on the same port is a third party.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks import loopback

PRODUCT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Linen shirt – Demo Store</title>
<link rel="prefetch" href="/prefetch/checkout"></head><body>
<h1>Linen shirt</h1><p class="price">$49.00</p>
<button id="add">Add to cart</button><p id="status"></p>
<a id="checkout" href="/checkout">Checkout</a>
<script>
document.getElementById("add").addEventListener("click", async () => {
  document.getElementById("status").textContent = "Adding…";
  navigator.sendBeacon("/beacon", "add_to_cart");
  await Promise.allSettled([
    fetch("/api/cart", {method: "POST", body: "sku=LS-1&qty=1"}),  // the answer is never checked
    fetch("/analytics/collect", {method: "POST", body: "e=add_to_cart"}),
    fetch("/api/recommendations?sku=LS-1"),
    fetch("http://tp.localhost:" + location.port + "/sdk/ping", {mode: "no-cors"}),
  ]);
  document.getElementById("status").textContent = "Added to cart";
});
</script></body></html>"""

CHECKOUT_EMPTY = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout</title></head>
<body><h1>Checkout</h1><p>Your cart is currently empty.</p><a href="/product">Return to shop</a></body></html>"""

CHECKOUT_FULL = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout</title></head>
<body><h1>Checkout</h1><p>Linen shirt × 1 — $49.00</p><button id="place-order-v2">Place order</button></body></html>"""

SHIPPING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shipping</title></head><body>
<h1>Shipping method</h1><button id="quote">Get shipping rates</button><p id="rates">Calculating…</p>
<script>
document.getElementById("quote").addEventListener("click", async () => {
  const r = await fetch("/api/shipping-rates?zip=94103");  // hangs: the page waits with it
  document.getElementById("rates").innerHTML = '<button id="continue">Continue to payment</button>';
});
</script></body></html>"""

# The main thread is busy for good once the page has loaded: no script, no DOM call answers.
BUSY = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Busy checkout</title></head>
<body><h1>Order summary</h1><p>Linen shirt × 1 — $49.00</p>
<script>addEventListener("load", () => setTimeout(() => { for (;;) {} }, 50));</script></body></html>"""

# A spinner that never stops and a web font that never arrives: "wait for fonts / animations" never ends.
ANIMATED = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Payment</title><style>
@font-face { font-family: Brand; src: url(/fonts/brand.woff2) format("woff2"); font-display: block; }
body { font-family: Brand, sans-serif; }
.spin { width: 40px; height: 40px; border: 4px solid #ccc; border-top-color: #333; border-radius: 50%;
        animation: spin .6s linear infinite; }
@keyframes spin { to { transform: rotate(360deg); } }
</style></head><body><h1>Processing payment</h1><div class="spin"></div><p>Please wait…</p></body></html>"""

# The browser refuses the submit itself: a required field left empty never reaches the server.
SIGNUP = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Create account</title></head><body>
<form action="/welcome"><label for="email">Email address</label><input id="email" name="email" type="email" required>
<button id="create">Create account</button></form></body></html>"""

# The page's own script (which draws the buy button) is still loading: on a weak link, not drift.
LATE_SCRIPT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Linen shirt</title>
<script async src="/slow/app.js"></script></head><body><h1>Linen shirt</h1><div id="buy-slot"></div></body></html>"""

# A required field the page fills itself once a slow response arrives (the country list): tapped
# before that, the browser refuses the submit and it never leaves; a moment later the form is valid.
LATE_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shipping address</title></head><body>
<form action="/welcome"><label for="country">Country</label><select id="country" name="country" required>
<option value="">Loading…</option></select><button id="continue">Continue</button></form>
<script>
fetch("/api/countries").then((r) => r.json()).then((names) => {
  const select = document.getElementById("country");
  select.innerHTML = names.map((n) => `<option>${n}</option>`).join("");
});
</script></body></html>"""

# A CDN script with a local fallback, as shops ship jQuery: the CDN is unreachable, the local copy loads.
CDN_PRODUCT = PRODUCT.replace(
    "<h1>",
    '<script src="http://tp.localhost:3/ajax/libs/jquery.min.js"></script>'
    "<script>window.jQuery || document.write('<script src=\"/static/jquery.min.js\"><\\/script>')</script><h1>",
    1,
)

# The shop's own address form: it ships to the countries it lists, and refuses an empty postcode
# on the server (no browser validation): the page it answers says so.
ADDRESS = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shipping address</title></head><body>
<h1>Shipping address</h1>{error}<form method="post" action="/address">
<label for="country">Country</label>
<select id="country" name="country"><option>China</option><option>Singapore</option></select>
<label for="postcode">Postcode</label><input id="postcode" name="postcode">
<button id="save">Continue to payment</button></form></body></html>"""

PAGES = {"/product": PRODUCT, "/cdn-product": CDN_PRODUCT, "/address": ADDRESS.format(error=""),
         "/shipping": SHIPPING, "/busy": BUSY, "/animated": ANIMATED, "/signup": SIGNUP,
         "/late": LATE_SCRIPT, "/late-form": LATE_FORM}  # fmt: skip
HANGING = ("/api/shipping-rates", "/fonts/", "/slow/")  # never answered until the server stops


@dataclass
class Shop:
    url: str
    cart_status: int = 200  # what POST /api/cart answers
    cart: int = 0  # items in the (single, shared) cart
    hits: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    countries: threading.Event = field(default_factory=threading.Event)  # set: the country list answers

    def third_party(self, path: str) -> str:
        return self.url.replace("127.0.0.1", "tp.localhost") + path


class _Handler(BaseHTTPRequestHandler):
    shop: Shop

    def _send(self, status: int, body: str, kind: str = "text/html; charset=utf-8") -> None:
        loopback.answer(self, body.encode(), kind, status)

    def _route(self) -> None:
        shop, path = self.shop, self.path.split("?")[0]
        shop.hits.append(f"{self.command} {path}")
        if (self.headers.get("Host") or "").startswith("tp.localhost"):
            return self._send(503, "service unavailable", "text/plain")
        if self.command == "POST":
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path.startswith(HANGING):
            shop.stop.wait()
            return None
        if path == "/address" and self.command == "POST":
            return self._send(422, ADDRESS.format(error='<p class="error">Postcode is required</p>'))
        if path == "/api/cart":
            shop.cart += shop.cart_status == 200
            body = '{"ok": true}' if shop.cart_status == 200 else '{"error": "CART_SERVICE_FAILED"}'
            return self._send(shop.cart_status, body, "application/json")
        if path == "/checkout":
            return self._send(200, CHECKOUT_FULL if shop.cart else CHECKOUT_EMPTY)
        if path in PAGES:
            return self._send(200, PAGES[path])
        if path == "/static/jquery.min.js":
            return self._send(200, "window.jQuery = function () {};", "text/javascript")
        if path == "/api/countries":  # slow, as over a weak link: answers when the test lets it
            shop.countries.wait(30)
            return self._send(200, '["China", "Singapore"]', "application/json")
        if path == "/api/recommendations":
            return self._send(404, '{"error": "not found"}', "application/json")
        return self._send(500, "internal error", "text/plain")  # analytics, beacon, prefetch

    do_GET = do_POST = _route  # noqa: N815 (http.server's naming)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def hostile_shop() -> Iterator[Shop]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    shop = Shop(f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.RequestHandlerClass = type("Handler", (_Handler,), {"shop": shop})
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield shop
    finally:
        shop.stop.set()  # release hanging requests
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def recorded(browser: Any, shop: Shop, folder: Path, probe: str) -> Iterator[tuple[Any, Any, Any, Any]]:
    """(context, page, recorder, journey): a fresh context on ``browser`` whose page orderprobe's
    recorder watches through ``journey``'s steps, wired as the engine wires them."""
    from orderprobe.probes.journey import Journey
    from orderprobe.probes.recorder import Recorder

    context = browser.new_context()
    try:
        page = context.new_page()
        recorder = Recorder(context, page, folder, "j", site=shop.url)
        journey = Journey(probe, meter=recorder.meter, settle=recorder.settle)
        journey.listeners = [recorder]
        yield context, page, recorder, journey
    finally:
        context.close()
