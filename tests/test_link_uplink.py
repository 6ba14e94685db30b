"""The link reaches the world: real Chromium in its namespace, its packets through the emulated
link and the host's uplink (forwarding + NAT) to a remote host — a second namespace with its own
address and a name only the test's DNS zone knows, as a shop on the internet would be
(tests/support/remote.py). DNS crosses the link to the resolver at its host end, which forwards
to that zone, or lies as a polluted Wi-Fi does. Nothing leaves this machine.
Skipped, with the reason, where namespaces cannot be made (not root / not Linux / no nft).
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from dnslib import RCODE, DNSRecord
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from orderprobe.probes.browser import launch_options
from orderprobe.probes.emulation.link import Direction
from orderprobe.probes.emulation.packet import CHROMIUM_ARGS, PacketPath, Unavailable, unavailable
from orderprobe.probes.emulation.resolver import parse_upstream
from tests.support.remote import RemoteHost, Zone

SHOP, LOST, HOLE, PAY = "shop.orderprobe.test", "cdn.nowhere.test", "hole.orderprobe.test", "pay.orderprobe.test"
CDN = "cdn.orderprobe.test"
FETCH = """async ([url, ms]) => { try {
  const r = await fetch(url, {cache: 'no-store', signal: AbortSignal.timeout(ms)}); return r.status;
} catch (e) { return e.name; } }"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str] = []  # the client address each request came from
    cdn = ""  # the CDN's origin (the cdn fixture)

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append(self.client_address[0])
        self.answer(self.body(), "text/html")

    def body(self) -> str:
        if self.path == "/page":  # a shop page whose tracker and CDN script never arrive: its own script must run
            return (
                f'<script src="http://{LOST}/jquery.js" async></script><img src="http://{HOLE}/pixel.gif">'
                "<script>document.title = 'ready'</script>"
            )
        if self.path == "/cdn-page":  # a shop page that needs its CDN's jQuery before its own script
            return (
                f'<script src="{Handler.cdn}/jquery.js"></script>'
                "<script>document.title = window.jQuery ? 'jquery ' + jQuery.fn.jquery : 'no jquery'</script>"
            )
        return "ok" * (int(self.path.rsplit("=", 1)[1]) // 2 if "=" in self.path else 1)

    def answer(self, text: str, content_type: str) -> None:
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class CdnHandler(Handler):
    seen: list[str] = []

    def do_GET(self) -> None:
        CdnHandler.seen.append(self.client_address[0])
        self.answer("window.jQuery = {fn: {jquery: '3.7.1'}};", "application/javascript")


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Zone, RemoteHost, str]]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    with Zone() as zone, RemoteHost() as remote:
        zone.names.update({SHOP: remote.address, PAY: remote.address, HOLE: remote.black_hole})
        httpd = remote.serve(lambda: ThreadingHTTPServer(("0.0.0.0", 0), Handler))
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        yield zone, remote, f"http://{SHOP}:{httpd.server_address[1]}"
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def cdn(world: tuple[Zone, RemoteHost, str]) -> Iterator[RemoteHost]:
    """A CDN in a third namespace, with its own address and name: a host apart from the shop's."""
    with RemoteHost() as host:
        world[0].names[CDN] = host.address
        httpd = host.serve(lambda: ThreadingHTTPServer(("0.0.0.0", 0), CdnHandler))
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        Handler.cdn = f"http://{CDN}:{httpd.server_address[1]}"
        yield host
        httpd.shutdown()
        httpd.server_close()


def nat_sources(seen: list[str]) -> bool:
    """Every client address is this host's own after the uplink's NAT, never the browser's (CGNAT
    100.64/10): the host end (.1) of a remote block. Usually this remote's; with other workers'
    remote hosts up at once the masquerade may pick another of the host's such addresses."""
    space = ipaddress.ip_network("198.18.0.0/15")
    return all(ipaddress.ip_address(a) in space and a.endswith(".1") for a in seen)


@pytest.fixture(scope="module")
def path(world: tuple[Zone, RemoteHost, str]) -> Iterator[PacketPath]:
    try:
        opened = PacketPath([parse_upstream(world[0].address)]).open()
    except Unavailable as exc:
        pytest.skip(str(exc))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def browser(path: PacketPath) -> Iterator[Browser]:
    os.environ["PLAYWRIGHT_NODEJS_PATH"] = path.driver()  # the driver too: context.request takes the link
    try:
        playwright = sync_playwright().start()
    finally:
        del os.environ["PLAYWRIGHT_NODEJS_PATH"]
    options = launch_options()
    options["executable_path"] = path.executable(options["executable_path"])
    options["args"] = [*options["args"], *CHROMIUM_ARGS]
    browser = playwright.chromium.launch(**options)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def context(browser: Browser, path: PacketPath) -> Iterator[BrowserContext]:
    path.reset()
    context = browser.new_context()  # its own DNS cache, as each journey has
    yield context
    context.close()
    path.reset()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def test_a_remote_host_is_reached_by_name_through_the_link_and_the_uplink(
    world: tuple[Zone, RemoteHost, str], path: PacketPath, page: Page, context: BrowserContext
) -> None:
    zone, remote, url = world
    assert path.link is not None
    before = path.link.up.stats["out"]
    page.goto(url + "/")
    assert "ok" in page.content()
    assert context.request.get(url + "/api").ok  # Playwright's own requests, from the driver in the namespace
    assert path.link.up.stats["out"] > before  # every packet crossed the link
    assert zone.queries[SHOP] >= 1  # resolved by the host-end resolver forwarding to "the host's" (the zone)
    assert str(remote.block[1]) in Handler.seen and nat_sources(Handler.seen)  # type: ignore[index]


def test_a_name_the_host_cannot_resolve_fails_at_once_and_a_black_hole_stalls_only_its_request(
    world: tuple[Zone, RemoteHost, str], page: Page
) -> None:
    zone, _, url = world
    page.goto(url + "/page", wait_until="domcontentloaded")
    assert page.title() == "ready"  # the page's own script ran: no stall behind the CDN or the tracker
    # NXDOMAIN from the host's resolver, relayed: a lookup failure, not a timeout of the resolver
    assert page.evaluate(FETCH, [f"http://{LOST}/jquery.js", 60_000]) == "TypeError"
    assert zone.queries[LOST] >= 1
    # Asked once: Chromium's system-resolver fallback after NXDOMAIN would cross the link again.
    assert page.evaluate(FETCH, [f"http://once.{LOST}/jquery.js", 60_000]) == "TypeError"
    assert zone.asked[f"once.{LOST}", "A"] == 1, dict(zone.asked)
    # A host that drops packets: the request hangs (no reset, no ICMP), as it does for a real phone
    assert page.evaluate(FETCH, [f"http://{HOLE}/pixel.gif", 1500]) == "TimeoutError"


def test_a_page_runs_the_script_it_loads_from_a_cdn_host_in_another_namespace(
    world: tuple[Zone, RemoteHost, str], cdn: RemoteHost, path: PacketPath, page: Page
) -> None:
    zone, _, url = world
    assert path.link is not None
    path.link.configure(Direction(delay_ms=20), Direction(delay_ms=20))  # a 40 ms link: the script is awaited
    page.goto(url + "/cdn-page")
    assert page.title() == "jquery 3.7.1"  # the CDN's script arrived and ran before the page's own
    assert len(CdnHandler.seen) == 1 and nat_sources(CdnHandler.seen)  # one request, through the uplink's NAT
    assert zone.asked[CDN, "A"] == 1


def test_an_ipv6_target_runs_under_cdp_and_says_why() -> None:
    reason = unavailable("http://[::1]:8000/")
    assert reason is not None and reason.startswith("the emulated link carries IPv4 only"), reason


def test_aaaa_is_answered_at_once_with_no_records_and_never_asked_upstream(
    world: tuple[Zone, RemoteHost, str], path: PacketPath
) -> None:
    """IPv4 only, as the link: an AAAA query gets an empty answer (no wait, no unreachable address)."""
    zone = world[0]
    assert path.namespace is not None
    gateway = path.namespace.gateway
    aaaa = DNSRecord.parse(DNSRecord.question(SHOP, "AAAA").send(gateway, 53, timeout=30))
    assert (RCODE[aaaa.header.rcode], aaaa.rr) == ("NOERROR", [])
    assert zone.asked[SHOP, "AAAA"] == 0
    a = DNSRecord.parse(DNSRecord.question(SHOP, "A").send(gateway, 53, timeout=30))
    assert [str(rr.rdata) for rr in a.rr] == [zone.names[SHOP]]


@pytest.mark.parametrize("answer", ["nxdomain", "wrong"])
def test_dns_pollution_is_the_resolver_answer_for_pages_and_context_request(
    world: tuple[Zone, RemoteHost, str], path: PacketPath, page: Page, context: BrowserContext, answer: str
) -> None:
    zone, remote, url = world
    assert path.resolver is not None
    pay = url.replace(SHOP, PAY)
    lie = "nxdomain" if answer == "nxdomain" else remote.black_hole
    path.resolver.pollute(("pay.*",), lie)
    page.goto(url + "/")  # the shop itself resolves as before
    outcome = page.evaluate(FETCH, [pay + "/pay", 1500])
    assert outcome == ("TypeError" if answer == "nxdomain" else "TimeoutError"), outcome
    with pytest.raises(Exception, match="ENOTFOUND|Timeout|timed out"):
        context.request.get(pay + "/api", timeout=1500)  # context.request is lied to as well
    told = "NXDOMAIN" if answer == "nxdomain" else f"a wrong address, {remote.black_hole}"
    assert path.resolver.answered == {PAY: told}
    assert path.polluted(pay + "/pay") == f"orderprobe DNS pollution: {PAY} answered {told}"
    assert zone.queries[PAY] == 0  # never asked upstream: the lie is the answer


def test_loss_and_outages_apply_to_the_remote_host(
    path: PacketPath, page: Page, world: tuple[Zone, RemoteHost, str]
) -> None:
    url, link = world[2], path.link
    assert link is not None
    page.goto(url + "/")
    link.configure(Direction(), Direction(loss=0.2))
    assert page.evaluate(FETCH, [url + "/x?bytes=200000", 60_000]) == 200  # TCP retransmits across the loss
    now = link.clock()
    link.set_outages([(now, now + 60)])
    assert page.evaluate(FETCH, [url + "/x", 1500]) == "TimeoutError"  # the link is down: no answer
    assert link.down.stats["lost"] > 0 and link.up.stats["outage"] > 0
