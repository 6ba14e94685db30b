"""Packet-level emulation end to end: real Chromium in its own network namespace, its packets
through the userspace link (orderprobe.probes.emulation.link over TUN) to a real HTTP server on this host's
127.0.0.1. Skipped, with the reason, where namespaces cannot be made (not root / not Linux).

Bounds are ones a loaded machine cannot break: load only ever adds time, and an added 300 ms
each way must show as a round trip of at least 500 ms however idle the machine is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from orderprobe.probes.browser import launch_options
from orderprobe.probes.emulation.link import Direction
from orderprobe.probes.emulation.packet import PacketPath, Unavailable, unavailable

FETCH = """async ([url, ms]) => { const t0 = performance.now();
  try { const r = await fetch(url, {cache: 'no-store', signal: AbortSignal.timeout(ms)}); await r.arrayBuffer();
        return performance.now() - t0; } catch (e) { return String(e); } }"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        size = int(self.path.rsplit("=", 1)[1]) if "=" in self.path else 2
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(b"x" * size)


@pytest.fixture(scope="module")
def path() -> Iterator[PacketPath]:
    reason = unavailable("http://127.0.0.1")
    if reason:
        pytest.skip(reason)
    try:
        opened = PacketPath().open()
    except Unavailable as exc:
        pytest.skip(str(exc))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def page(path: PacketPath, url: str) -> Iterator[Page]:
    with sync_playwright() as p:
        options = launch_options()
        options["executable_path"] = path.executable(options["executable_path"])
        browser = p.chromium.launch(**options)
        page = browser.new_page()
        page.goto(url + "/")
        yield page
        browser.close()


@pytest.fixture(autouse=True)
def _reset(path: PacketPath) -> Iterator[None]:
    path.reset()
    yield
    path.reset()


def test_the_browser_reaches_the_host_only_through_the_link(path: PacketPath, page: Page, url: str) -> None:
    assert path.link is not None
    before = path.link.up.stats["out"]
    assert not isinstance(page.evaluate(FETCH, [url + "/x", 10_000]), str)
    assert path.link.up.stats["out"] > before


def test_added_delay_is_on_every_round_trip(path: PacketPath, page: Page, url: str) -> None:
    page.evaluate(FETCH, [url + "/warm", 10_000])  # a warm connection: one round trip per request
    path.link.configure(Direction(delay_ms=300), Direction(delay_ms=300))  # type: ignore[union-attr]
    times = [page.evaluate(FETCH, [url + "/x", 20_000]) for _ in range(2)]
    assert min(times) >= 500, times  # 600 ms RTT; nothing can make it faster


def test_an_outage_stalls_requests_and_the_link_recovers(path: PacketPath, page: Page, url: str) -> None:
    link = path.link
    assert link is not None
    now = link.clock()
    link.set_outages([(now, now + 60)])
    assert "TimeoutError" in str(page.evaluate(FETCH, [url + "/x", 1500]))
    assert link.up.stats["outage"] > 0
    link.set_outages([(now, link.clock() + 1.0)])  # the train leaves the tunnel in a second
    took = page.evaluate(FETCH, [url + "/x", 30_000])
    assert not isinstance(took, str), took  # TCP retransmits once the link is back


def test_loss_is_applied_and_tcp_recovers(path: PacketPath, page: Page, url: str) -> None:
    link = path.link
    assert link is not None
    link.configure(Direction(), Direction(loss=0.2))
    took = page.evaluate(FETCH, [url + "/x?bytes=300000", 60_000])
    assert not isinstance(took, str), took
    assert link.down.stats["lost"] > 0


def test_hand_over_changes_the_address_and_breaks_open_connections(path: PacketPath, page: Page, url: str) -> None:
    link = path.link
    assert link is not None
    # 3 s round trip on a warm connection: the hand-over (netlink, in this process: milliseconds) lands
    # while the request is in the air, with seconds to spare on a loaded machine.
    link.configure(Direction(delay_ms=1500), Direction(delay_ms=1500))

    def retired() -> int:  # packets to or from a retired address, dropped by the link
        return link.up.stats["retired"] + link.down.stats["retired"]

    sent, dropped = link.up.stats["in"], retired()
    page.evaluate("(url) => { window.slow = fetch(url, {cache: 'no-store'}).then(r => r.text()).then("
                  "() => 'done', e => String(e)); window.slow.then(o => { window.outcome = o; }); }",
                  url + "/x")  # fmt: skip
    while link.up.stats["in"] == sent:  # the request is in the air
        time.sleep(0.02)
    old, new = path.hand_over()
    assert old != new
    # No fixed wait: the request (from the old address) or its answer (to it) is still on the link and
    # is dropped there when due. Were the old address still routable, the fetch would finish instead.
    # (30 s: ten round trips, so a link that never drops it fails here instead of hanging the test.)
    until = time.monotonic() + 30
    while retired() == dropped and page.evaluate("() => window.outcome") is None:
        if time.monotonic() > until:
            break
        time.sleep(0.05)
    assert retired() > dropped, page.evaluate("() => window.outcome")
    # …and nothing gets through afterwards either (TCP's resends meet the same fate).
    outcome = page.evaluate("() => Promise.race([window.slow, new Promise(r => setTimeout(() => r('stalled'), 3000))])")
    assert outcome != "done", outcome  # the old address is gone: that connection cannot finish
    link.configure(Direction(), Direction())
    assert not isinstance(page.evaluate(FETCH, [url + "/x", 20_000]), str)  # a new connection on the new address
