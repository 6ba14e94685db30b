"""A storefront of realistic weight, generated and served on loopback for the benchmarks.

Real shops ship hundreds of KB of CSS and a DOM of thousands of nodes on every page; the
demo shop is light, so harness costs that scale with page weight (trace snapshots above
all) do not show on it. This one: ≥ 300 KB of stylesheet, ≥ 1,500 DOM nodes per page, an
8-step guest checkout with real forms, and HTTP caching as a CDN would send it.

    with Storefront() as shop: shop.url
"""

from __future__ import annotations

from contextlib import nullcontext
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlparse

from benchmarks import loopback


def _stylesheet() -> bytes:
    rules = []
    for i in range(3800):  # utility-class CSS of a theme framework: ~85 bytes a rule
        rules.append(
            f".u-{i} > .c-{i % 97}:not(.is-hidden) {{ margin: {i % 13}px {i % 7}px; padding: {i % 5}px; "
            f"color: #{(i * 2654435761) % 0xFFFFFF:06x}; }}\n"
        )
    return "".join(rules).encode()


def _script() -> bytes:
    body = "".join(f"function f{i}(x){{return (x*{i})%{i + 7};}}\n" for i in range(3000))
    return (body + "document.documentElement.dataset.ready='1';\n").encode()


STYLE = _stylesheet()
SCRIPT = _script()


def _chrome() -> str:
    """Header mega-menu, product grid and footer: the bulk of a real storefront's DOM."""
    menu = "".join(
        f"<li class='menu-item u-{i}'><a href='#m{i}'>Category {i}</a><ul>"
        + "".join(f"<li><a href='#m{i}-{j}'>Sub {j}</a></li>" for j in range(8))
        + "</ul></li>"
        for i in range(40)
    )
    grid = "".join(
        f"<div class='card u-{i}'><img alt='' width='80' height='80'><h3>Product {i}</h3>"
        f"<span class='price'>¥{i * 3 + 9}.00</span><button type='button'>Quick view</button></div>"
        for i in range(130)
    )
    footer = "".join(f"<p><a href='#f{i}'>Footer link {i}</a></p>" for i in range(60))
    return f"<nav><ul>{menu}</ul></nav>{{main}}<section class='grid'>{grid}</section><footer>{footer}</footer>"


CHROME = _chrome()

STEPS = {  # path → (title, main content); each form posts to the next page (GET keeps it stateless)
    "/": ("Home", "<a id='to-product' href='/product'>Featured: travel mug</a>"),
    "/product": ("Travel mug", "<form action='/cart'><button id='add'>Add to cart</button></form>"),
    "/cart": ("Cart", "<a id='to-checkout' href='/checkout'>Check out</a>"),
    "/checkout": (
        "Contact",
        "<form action='/shipping'><input id='email' name='email' type='email' required>"
        "<input id='name' name='name' required><input id='street' name='street' required>"
        "<input id='city' name='city' required><input id='postcode' name='postcode' required>"
        "<button id='continue'>Continue to shipping</button></form>",
    ),
    "/shipping": (
        "Shipping",
        "<form action='/payment'><label><input type='radio' name='ship' value='std' id='std' required>"
        "Standard</label><label><input type='radio' name='ship' value='exp'>Express</label>"
        "<button id='continue'>Continue to payment</button></form>",
    ),
    "/payment": (
        "Payment",
        "<form action='/review'><input id='card' name='card' required inputmode='numeric'>"
        "<button id='continue'>Review order</button></form>",
    ),
    "/review": ("Review", "<form action='/done'><button id='place'>Place order</button></form>"),
    "/done": ("Thank you", "<h1 id='confirmed'>Order confirmed</h1>"),
}


def page(path: str) -> bytes:
    title, main = STEPS[path]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{title}</title><link rel='stylesheet' href='/theme.css'><script src='/theme.js' defer></script>"
        f"</head><body>{CHROME.replace('{main}', f'<main>{main}</main>')}</body></html>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = urlparse(self.path).path
        if path == "/theme.css":
            body, kind, cache = STYLE, "text/css", "public, max-age=3600"
        elif path == "/theme.js":
            body, kind, cache = SCRIPT, "application/javascript", "public, max-age=3600"
        elif path in STEPS:
            body, kind, cache = page(path), "text/html; charset=utf-8", "no-store"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # quiet
        pass


class Storefront:
    def __enter__(self) -> Storefront:
        self._serving = loopback.serve(_Handler)
        self.url = self._serving.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._serving.__exit__(None, None, None)


def checkout(page, url: str, step=lambda name: nullcontext()) -> None:
    """The 8-step guest checkout, as a shopper taps and types it."""
    with step("home"):
        page.goto(url + "/")
    with step("product"):
        page.click("#to-product")
        page.wait_for_url("**/product")
    with step("add to cart"):
        page.click("#add")
        page.wait_for_url("**/cart*")
    with step("checkout"):
        page.click("#to-checkout")
        page.wait_for_url("**/checkout")
    with step("contact"):
        for field, value in (("email", "a@example.org"), ("name", "Ada Lovelace"), ("street", "1 Main St"),
                             ("city", "London"), ("postcode", "N1 9GU")):  # fmt: skip
            page.fill(f"#{field}", value)
        page.click("#continue")
        page.wait_for_url("**/shipping**")
    with step("shipping"):
        page.check("#std")
        page.click("#continue")
        page.wait_for_url("**/payment**")
    with step("payment"):
        page.fill("#card", "4242424242424242")
        page.click("#continue")
        page.wait_for_url("**/review**")
    with step("place order"):
        page.click("#place")
        page.wait_for_selector("#confirmed")
