# ruff: noqa: E501  (template markup, as the shops write it)
"""Three storefronts of the corpus (tests/fixtures/storefronts) made into live checkouts on loopback.

The corpus pages are single snapshots of real open-source storefronts' templates; here each
healthy page is served as it is (its corpus header stripped) and the pages around it are written
in the same template's markup and wording, with the shop's own way of answering:

* ``/woocommerce/`` — WooCommerce Storefront: product form POST → checkout (the corpus'
  ``healthy-checkout.html`` + billing fields) → ``?wc-ajax=checkout`` (JSON, as checkout.js
  posts it) → order received.
* ``/magento/`` — Magento Luma: the corpus' ``healthy-product.html``, add to cart by AJAX with the
  minicart's "Proceed to Checkout", then the shipping step whose rates arrive by
  ``estimate-shipping-methods`` (REST), "Next", "Place Order" → success page.
* ``/dawn/`` — Shopify Dawn: the corpus' ``healthy-product.html`` with jQuery from a CDN that
  cannot be reached (a closed loopback port: refused at once) and the theme's local fallback
  (``window.jQuery || document.write(...)``), cart, the one-page checkout whose shipping methods
  load once the address is in, "Pay now" → "Your order is confirmed".

Every answer is deterministic and healthy: any failure is the emulated network's (or a misname).

    with CorpusShops() as shops: shops.url   # then run benchmarks/corpus_probes with --target
"""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from benchmarks import loopback

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "storefronts"
PROBES = Path(__file__).resolve().parent / "corpus_probes"


def corpus_page(name: str) -> str:
    """A corpus page as the shop served it: without orderprobe's header comment."""
    return re.sub(r"\A<!--\s*orderprobe corpus.*?-->\s*", "", (CORPUS / name).read_text(encoding="utf-8"), flags=re.S)


def _closed_port() -> int:
    """A loopback port nobody listens on: the CDN, unreachable (refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _inject(page: str, head: str = "", body: str = "") -> str:
    return page.replace("</head>", head + "</head>", 1).replace("</body>", body + "</body>", 1)


WOO_PRODUCT = """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Beanie &#8211; Storefront</title></head>
<body class="product-template-default single single-product woocommerce woocommerce-page"><main id="main" class="site-main">
<div class="product type-product status-publish instock"><div class="summary entry-summary">
<h1 class="product_title entry-title">Beanie</h1><p class="price"><span class="woocommerce-Price-amount amount">&#36;18.00</span></p>
<p class="stock in-stock">12 in stock</p>
<form class="cart" action="/woocommerce/product/beanie/" method="post" enctype="multipart/form-data">
<div class="quantity"><label class="screen-reader-text" for="quantity_1">Beanie quantity</label>
<input type="number" id="quantity_1" class="input-text qty text" name="quantity" value="1" min="1" step="1"></div>
<button type="submit" name="add-to-cart" value="15" class="single_add_to_cart_button button alt">Add to cart</button>
</form></div></div></main></body></html>"""

WOO_BILLING = """<div class="woocommerce-billing-fields"><h3>Billing details</h3>
<p class="form-row validate-required"><label for="billing_first_name">First name&nbsp;<abbr class="required" title="required">*</abbr></label>
<input type="text" class="input-text" name="billing_first_name" id="billing_first_name" required autocomplete="given-name"></p>
<p class="form-row validate-required"><label for="billing_address_1">Street address&nbsp;<abbr class="required">*</abbr></label>
<input type="text" class="input-text" name="billing_address_1" id="billing_address_1" required></p>
<p class="form-row validate-required"><label for="billing_city">Town / City&nbsp;<abbr class="required">*</abbr></label>
<input type="text" class="input-text" name="billing_city" id="billing_city" required></p>
<p class="form-row validate-required validate-postcode"><label for="billing_postcode">Postcode / ZIP&nbsp;<abbr class="required">*</abbr></label>
<input type="text" class="input-text" name="billing_postcode" id="billing_postcode" required></p>
<p class="form-row validate-required validate-email"><label for="billing_email">Email address&nbsp;<abbr class="required">*</abbr></label>
<input type="email" class="input-text" name="billing_email" id="billing_email" required></p></div>"""

# checkout.js posts the form to ?wc-ajax=checkout and follows the JSON's redirect.
WOO_CHECKOUT_JS = """<script>
document.querySelector("form.checkout").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target; form.classList.add("processing");
  const r = await fetch("/woocommerce/?wc-ajax=checkout", {method: "POST", body: new URLSearchParams(new FormData(form))});
  const data = await r.json();
  if (data.result === "success") { window.location = data.redirect; return; }
  form.insertAdjacentHTML("afterbegin", data.messages); form.classList.remove("processing");
});
</script>"""

WOO_EMPTY = """<!DOCTYPE html><html lang="en-US"><head><meta charset="UTF-8"><title>Checkout &#8211; Storefront</title></head>
<body class="woocommerce-checkout woocommerce-page"><div class="woocommerce"><div class="wc-empty-cart-message">
<div class="cart-empty woocommerce-info">Your cart is currently empty.</div></div>
<p class="return-to-shop"><a class="button wc-backward" href="/woocommerce/product/beanie/">Return to shop</a></p></div></body></html>"""

WOO_RECEIVED = """<!DOCTYPE html><html lang="en-US"><head><meta charset="UTF-8"><title>Checkout &#8211; Storefront</title></head>
<body class="woocommerce-checkout woocommerce-order-received"><div class="woocommerce"><div class="woocommerce-order">
<p class="woocommerce-notice woocommerce-notice--success woocommerce-thankyou-order-received">Thank you. Your order has been received.</p>
<ul class="woocommerce-order-overview order_details"><li class="woocommerce-order-overview__order order">Order number: <strong>{n}</strong></li>
<li class="woocommerce-order-overview__total total">Total: <strong>&#36;18.00</strong></li></ul></div></div></body></html>"""

# catalog-add-to-cart.js: the form is posted by AJAX; the minicart and a success message follow.
MAGENTO_HEADER = """<header class="page-header"><div data-block="minicart" class="minicart-wrapper">
<a class="action showcart" href="/magento/checkout/cart/"><span class="counter qty empty"><span class="counter-number"></span></span></a>
<div class="block block-minicart" hidden><div id="minicart-content-wrapper"><div class="block-content">
<div class="actions"><div class="primary"><button id="top-cart-btn-checkout" type="button" class="action primary checkout" title="Proceed to Checkout">Proceed to Checkout</button></div></div>
</div></div></div></div></header>
<div class="page messages"><div data-placeholder="messages"></div></div>"""

MAGENTO_PRODUCT_JS = """<script>
document.getElementById("product_addtocart_form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = document.getElementById("product-addtocart-button");
  button.disabled = true; button.querySelector("span").textContent = "Adding...";
  await fetch("/magento/checkout/cart/add/uenc/product/14/", {method: "POST", body: new FormData(e.target), headers: {"X-Requested-With": "XMLHttpRequest"}});
  button.disabled = false; button.querySelector("span").textContent = "Add to Cart";
  document.querySelector("[data-placeholder=messages]").innerHTML = '<div role="alert" class="messages"><div class="message-success success message"><div>You added Push It Messenger Bag to your <a href="/magento/checkout/cart/">shopping cart</a>.</div></div></div>';
  document.querySelector(".counter-number").textContent = "1";
  document.querySelector(".block-minicart").hidden = false;
});
document.getElementById("top-cart-btn-checkout").addEventListener("click", () => { window.location = "/magento/checkout/"; });
</script>"""

MAGENTO_CHECKOUT = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Checkout</title></head>
<body class="checkout-index-index page-layout-checkout"><main id="maincontent" class="page-main"><div id="checkout" class="checkout-container">
<ul class="opc-progress-bar"><li class="opc-progress-bar-item _active"><span>Shipping</span></li><li class="opc-progress-bar-item"><span>Review &amp; Payments</span></li></ul>
<div class="opc-wrapper"><ol class="opc" id="checkoutSteps">
<li id="shipping" class="checkout-shipping-address"><div class="step-title" role="heading">Shipping Address</div>
<form class="form form-shipping-address" id="co-shipping-form"><fieldset class="fieldset">
<div class="field _required"><label class="label" for="firstname"><span>First Name</span></label><input class="input-text" type="text" name="firstname" id="firstname" aria-required="true"></div>
<div class="field _required"><label class="label" for="street"><span>Street Address</span></label><input class="input-text" type="text" name="street[0]" id="street" aria-required="true"></div>
<div class="field _required"><label class="label" for="city"><span>City</span></label><input class="input-text" type="text" name="city" id="city" aria-required="true"></div>
<div class="field _required"><label class="label" for="postcode"><span>Zip/Postal Code</span></label><input class="input-text" type="text" name="postcode" id="postcode" aria-required="true"></div>
<div class="field _required"><label class="label" for="telephone"><span>Phone Number</span></label><input class="input-text" type="text" name="telephone" id="telephone" aria-required="true"></div>
</fieldset></form></li>
<li id="opc-shipping_method" class="checkout-shipping-method"><div class="step-title" role="heading">Shipping Methods</div>
<div id="checkout-step-shipping_method" class="step-content"><div class="no-quotes-block">Sorry, no quotes are available for this order at this time</div>
<table class="table-checkout-shipping-method" hidden><tbody></tbody></table>
<div class="actions-toolbar" id="shipping-method-buttons-container"><div class="primary"><button data-role="opc-continue" type="button" class="button action continue primary"><span>Next</span></button></div></div>
<div id="shipping-method-error"></div></div></li>
<li id="payment" class="checkout-payment-method" hidden><div class="step-title" role="heading">Payment Method</div>
<div class="payment-method _active"><input type="radio" name="payment[method]" class="radio" id="checkmo" value="checkmo" checked><label for="checkmo" class="label"><span>Check / Money order</span></label>
<div class="actions-toolbar"><div class="primary"><button class="action primary checkout" type="submit" title="Place Order"><span>Place Order</span></button></div></div></div></li>
</ol></div></div></main>
<script>
let timer;
const rates = document.querySelector(".table-checkout-shipping-method");
function estimate() {  // checkout's shipping-rate-processor: re-estimated as the address changes
  clearTimeout(timer);
  timer = setTimeout(async () => {
    const postcode = document.getElementById("postcode").value;
    if (!postcode) return;
    const r = await fetch("/magento/rest/default/V1/guest-carts/q1/estimate-shipping-methods", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify({address: {postcode, country_id: "US"}})});
    const methods = await r.json();
    const chosen = (rates.querySelector("input:checked") || {}).value;  // quote.shippingMethod survives a re-estimate
    rates.querySelector("tbody").innerHTML = methods.map((m) => `<tr class="row"><td class="col col-method"><input type="radio" class="radio" name="ko_unique_1" value="${m.carrier_code}_${m.method_code}" id="s_method_${m.method_code}" ${chosen === `${m.carrier_code}_${m.method_code}` ? "checked" : ""}></td><td class="col col-price"><span class="price">$${m.amount.toFixed(2)}</span></td><td class="col col-method">${m.method_title}</td><td class="col col-carrier">${m.carrier_title}</td></tr>`).join("");
    rates.hidden = false; document.querySelector(".no-quotes-block").hidden = true;
  }, 300);
}
document.getElementById("co-shipping-form").addEventListener("input", estimate);
document.querySelector("button.continue").addEventListener("click", () => {
  const error = document.getElementById("shipping-method-error");
  if (!document.querySelector("input[name=ko_unique_1]:checked")) {
    error.innerHTML = '<div class="message notice" role="alert"><span>The shipping method is missing. Select the shipping method and try again.</span></div>';
    return;
  }
  error.innerHTML = ""; document.getElementById("shipping").hidden = true; document.getElementById("opc-shipping_method").hidden = true;
  document.getElementById("payment").hidden = false;
});
document.querySelector("button.checkout").addEventListener("click", async (e) => {
  e.target.closest("button").disabled = true;
  const r = await fetch("/magento/rest/default/V1/guest-carts/q1/payment-information", {method: "POST",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({paymentMethod: {method: "checkmo"}})});
  if (r.ok) window.location = "/magento/checkout/onepage/success/";
});
</script></body></html>"""

MAGENTO_SUCCESS = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Success Page</title></head>
<body class="checkout-onepage-success"><main id="maincontent" class="page-main"><div class="page-title-wrapper">
<h1 class="page-title"><span class="base" data-ui-id="page-title-wrapper">Thank you for your purchase!</span></h1></div>
<div class="checkout-success"><p>Your order # is: <span>000000{n}</span>.</p>
<p>We'll email you an order confirmation with details and tracking info.</p></div></main></body></html>"""

# layout/theme.liquid: jQuery from a CDN, and the theme's own copy if that did not load.
DAWN_JQUERY = (
    '<script src="http://cdn.localhost:{cdn}/ajax/libs/jquery/3.7.1/jquery.min.js"></script>'
    "<script>window.jQuery || document.write('<script src=\"/dawn/cdn/shop/t/1/assets/jquery.min.js\"><\\/script>')</script>"
)
JQUERY_STANDIN = (
    b"/*! jQuery stand-in (the theme's local copy) */ window.jQuery = window.$ = { fn: { jquery: '3.7.1' } };\n"
)

DAWN_CART = """<!DOCTYPE html><html class="js" lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Your Shopping Cart – Dawn</title>{jquery}</head><body class="gradient"><main id="MainContent" class="content-for-layout" role="main">
<cart-items class="page-width"><div class="title-wrapper-with-link"><h1 class="title title--primary">Your cart</h1></div>
<form action="/dawn/cart" class="cart__contents critical-hidden" method="post" id="cart"><table class="cart-items"><tbody>
<tr class="cart-item" id="CartItem-1"><td class="cart-item__details"><a href="/dawn/products/ribbed-tank" class="cart-item__name h4 break">Ribbed Tank</a></td>
<td class="cart-item__totals right"><span class="price price--end">¥128.00 CNY</span></td></tr></tbody></table></form></cart-items>
<div class="cart__footer"><div class="totals"><h2 class="totals__total">Estimated total</h2><p class="totals__total-value">¥128.00 CNY</p></div>
<small class="tax-note caption-large rte">Taxes, discounts and shipping calculated at checkout.</small>
<div class="cart__ctas"><button type="submit" id="checkout" class="cart__checkout-button button" name="checkout" form="cart">Check out</button></div></div>
</main></body></html>"""

DAWN_CHECKOUT = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Checkout - Dawn</title></head><body><main><form id="checkout-main" novalidate>
<section aria-label="Contact"><h2>Contact</h2><input id="email" name="email" type="email" placeholder="Email" aria-label="Email" required></section>
<section aria-label="Delivery"><h2>Delivery</h2>
<input id="TextField1" name="firstName" placeholder="First name" aria-label="First name">
<input id="TextField2" name="lastName" placeholder="Last name" aria-label="Last name" required>
<input id="shipping-address1" name="address1" placeholder="Address" aria-label="Address" required>
<input id="TextField5" name="city" placeholder="City" aria-label="City" required>
<input id="TextField6" name="postalCode" placeholder="Postal code" aria-label="Postal code" required></section>
<section aria-label="Shipping method"><h2>Shipping method</h2><div id="shipping-methods">
<p class="_1x52f9s1">Enter your shipping address to view available shipping methods.</p></div></section>
<section aria-label="Payment"><h2>Payment</h2><p>All transactions are secure and encrypted.</p>
<input id="number" name="number" placeholder="Card number" aria-label="Card number" required inputmode="numeric"></section>
<div id="checkout-errors" role="alert"></div>
<button type="submit" id="checkout-pay-button" class="_1m2hr9ge">Pay now</button></form></main>
<script>
let timer;
const form = document.getElementById("checkout-main");
form.addEventListener("input", (e) => {
  if (!["address1", "city", "postalCode"].includes(e.target.name)) return;
  clearTimeout(timer);
  timer = setTimeout(async () => {
    const body = new URLSearchParams(new FormData(form));
    const r = await fetch("/dawn/checkouts/unstable/graphql?operationName=Proposal", {method: "POST", body});
    const data = await r.json();
    document.getElementById("shipping-methods").innerHTML = data.deliveryLines.map((l, i) =>
      `<label><input type="radio" name="shipping" value="${l.handle}" ${i ? "" : "checked"}> ${l.title} <span>${l.price}</span></label>`).join("");
  }, 300);
});
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const errors = document.getElementById("checkout-errors");
  if (!form.querySelector("input[name=shipping]:checked")) { errors.textContent = "Shipping method: Select a shipping method"; return; }
  for (const field of form.querySelectorAll("[required]")) {
    if (!field.value) { errors.textContent = `${field.getAttribute("aria-label")}: Enter a ${field.getAttribute("aria-label").toLowerCase()}`; return; }
  }
  const r = await fetch("/dawn/checkouts/unstable/graphql?operationName=SubmitForCompletion", {method: "POST", body: new URLSearchParams(new FormData(form))});
  const data = await r.json();
  window.location = data.receipt.redirectUrl;
});
</script></body></html>"""

DAWN_THANK_YOU = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Thank you for your purchase! - Dawn</title></head>
<body><main><h2 id="order-confirmed">Your order is confirmed</h2><p>Confirmation #{n}</p>
<p>You'll receive a confirmation email with your order number shortly.</p></main></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cdn_port = 0
    orders = [0]
    lock = threading.Lock()

    def _send(self, status: int, body: bytes | str, kind: str = "text/html; charset=UTF-8", **headers: str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, to: str, cookie: str | None = None) -> None:
        extra = {"Set_Cookie": f"{cookie}; Path=/"} if cookie else {}
        self._send(302, "", Location=to, **extra)

    def _order(self) -> int:
        with self.lock:
            self.orders[0] += 1
            return self.orders[0]

    def _json(self, value: object) -> None:
        self._send(200, json.dumps(value), "application/json")

    def _cart(self, shop: str) -> bool:
        return f"{shop}_cart=1" in (self.headers.get("Cookie") or "")

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = urlsplit(self.path).path
        jquery = DAWN_JQUERY.format(cdn=self.cdn_port)
        pages = {
            "/woocommerce/product/beanie/": lambda: WOO_PRODUCT,
            "/woocommerce/checkout/": lambda: (
                _inject(
                    corpus_page("woocommerce/healthy-checkout.html").replace(
                        '<h3 id="order_review_heading">', WOO_BILLING + '<h3 id="order_review_heading">'
                    ),
                    body=WOO_CHECKOUT_JS,
                )
                if self._cart("woo")
                else WOO_EMPTY
            ),
            "/magento/push-it-messenger-bag.html": lambda: _inject(
                corpus_page("magento-luma/healthy-product.html").replace(
                    '<main id="maincontent"', MAGENTO_HEADER + '<main id="maincontent"'
                ),
                body=MAGENTO_PRODUCT_JS,
            ),
            "/magento/checkout/": lambda: MAGENTO_CHECKOUT,
            "/magento/checkout/onepage/success/": lambda: MAGENTO_SUCCESS.format(n=self._order()),
            "/dawn/products/ribbed-tank": lambda: _inject(
                corpus_page("shopify-dawn/healthy-product.html").replace(
                    'action="/cart/add"', 'action="/dawn/cart/add"'
                ),
                head=jquery,
            ),
            "/dawn/cart": lambda: DAWN_CART.format(jquery=jquery),
            "/dawn/checkouts/cn/c1": lambda: DAWN_CHECKOUT,
        }
        if path == "/dawn/cdn/shop/t/1/assets/jquery.min.js":
            self._send(200, JQUERY_STANDIN, "application/javascript")
        elif path.startswith("/dawn/checkouts/cn/c1/thank-you"):
            self._send(200, DAWN_THANK_YOU.format(n=f"D{self._order():05d}"))
        elif path.startswith("/woocommerce/checkout/order-received/"):
            self._send(200, WOO_RECEIVED.format(n=path.rstrip("/").rsplit("/", 1)[-1]))
        elif path in pages:
            self._send(200, pages[path]())
        else:
            self._send(404, "<!DOCTYPE html><title>Page not found</title><h1>404</h1>")

    def do_POST(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode(errors="replace"))
        if parts.path == "/woocommerce/product/beanie/":
            self._redirect("/woocommerce/checkout/", "woo_cart=1")
        elif parts.path == "/woocommerce/" and parts.query == "wc-ajax=checkout":
            self._json(
                {
                    "result": "success",
                    "redirect": f"/woocommerce/checkout/order-received/{self._order()}/?key=wc_order_x",
                }
            )
        elif parts.path.startswith("/magento/checkout/cart/add/"):
            self._json([])
        elif parts.path.endswith("/estimate-shipping-methods"):
            self._json([{"carrier_code": "flatrate", "method_code": "flatrate", "carrier_title": "Flat Rate",
                         "method_title": "Fixed", "amount": 5.0}])  # fmt: skip
        elif parts.path.endswith("/payment-information"):
            self._json(str(self._order()))
        elif parts.path == "/dawn/cart/add":
            self._redirect("/dawn/cart", "dawn_cart=1")
        elif parts.path == "/dawn/cart":
            self._redirect("/dawn/checkouts/cn/c1")
        elif parts.query == "operationName=Proposal":
            self._json({"deliveryLines": [{"handle": "standard", "title": "Standard", "price": "Free"},
                                          {"handle": "express", "title": "Express", "price": "¥20.00"}]})  # fmt: skip
        elif parts.query == "operationName=SubmitForCompletion" and form.get("number"):
            self._json({"receipt": {"redirectUrl": "/dawn/checkouts/cn/c1/thank-you"}})
        else:
            self._send(404, "<!DOCTYPE html><title>Page not found</title><h1>404</h1>")

    def log_message(self, *args: object) -> None:  # quiet
        pass


class CorpusShops:
    def __enter__(self) -> CorpusShops:
        handler = type("Handler", (_Handler,), {"cdn_port": _closed_port(), "orders": [0], "lock": threading.Lock()})
        self._serving = loopback.serve(handler)
        self.url = self._serving.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._serving.__exit__(None, None, None)
