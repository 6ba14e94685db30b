"""A remote shop through the link: what packet mode costs, and how fast a dead name fails.

    python -m benchmarks remote_shop [--quick]

The fixed page of ``emulation_packet`` (HTML + 120 KB CSS + 80 KB JS) is served from a second
network namespace with its own address and name (tests/support/remote.py), as a shop on the
internet. Side by side, in one run, each load in a fresh context (as a journey):

- page load with no emulation (Chromium in this host, the name mapped by a resolver rule),
  CDP emulation and packet mode (the browser behind the link, the uplink and the link's
  resolver): unthrottled — the extra time packet mode itself adds (goal ≤ ×1.05) — and on wifi;
- time to fail for a subresource whose name the host cannot resolve: a fetch in packet mode vs
  the host asking the same resolver itself (goal: within 50 ms + one RTT of the link per lookup;
  Chromium asks a second time, through its system-resolver fallback, after an NXDOMAIN).

Nothing leaves this machine: the "host's resolver" is a DNS zone on 127.0.0.1.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

from dnslib import DNSRecord

from benchmarks.emulation_packet import Page as FixedPage
from probes.emulation.packet import PacketPath, Unavailable, unavailable
from probes.emulation.resolver import parse_upstream
from profiles.catalogue import load_catalogue
from profiles.models import Network
from tests.support.remote import RemoteHost, Zone

SHOP, DEAD = "shop.orderprobe.test", "cdn.nowhere.test"
FAIL = "async (url) => { const t0 = performance.now(); try { await fetch(url, {mode: 'no-cors'}); } catch (e) {} return performance.now() - t0; }"  # noqa: E501


def loads(open_page: Callable[[], tuple[Any, Callable[[], None]]], url: str) -> float:
    """One page load in a fresh context, ms."""
    page, done = open_page()
    t0 = time.perf_counter()
    page.goto(url, wait_until="load")
    took = (time.perf_counter() - t0) * 1000
    done()
    return took


def page_loads(path: PacketPath, zone: Zone, remote: RemoteHost, url: str, quick: bool) -> None:
    from playwright.sync_api import sync_playwright

    from probes.browser import launch_options
    from probes.emulation.throttling.cdp import throttle_network

    nets = {"unthrottled": Network(name="unthrottled", rtt_ms=0, down_kbps=None, up_kbps=None)}
    nets["wifi"] = load_catalogue().networks["wifi"]
    n = 3 if quick else 12
    with sync_playwright() as p:
        options = launch_options()
        options["args"] = [*options["args"], f"--host-resolver-rules=MAP {SHOP} {remote.address}"]
        plain = p.chromium.launch(**options)
        options = launch_options()
        options["executable_path"] = path.executable(options["executable_path"])
        boxed = p.chromium.launch(**options)

        def opener(mode: str, net: Network) -> Callable[[], tuple[Any, Callable[[], None]]]:
            def open_page() -> tuple[Any, Callable[[], None]]:
                context = (boxed if mode == "packet" else plain).new_context()
                page = context.new_page()
                if mode == "cdp":
                    throttle_network(context.new_cdp_session(page), net)
                elif mode == "packet":
                    path.impose(net)
                return page, lambda: (context.close(), path.reset())

            return open_page

        print(f"page load on the remote shop (HTML + 120 KB CSS + 80 KB JS, fresh context, median of {n}):")
        for name, net in nets.items():
            times: dict[str, list[float]] = {"none": [], "cdp": [], "packet": []}
            loads(opener("packet", net), url)  # warm both browsers' code paths
            loads(opener("none", net), url)
            for _ in range(n):  # interleaved: the machine's load falls on every mode alike
                for mode in times:
                    times[mode].append(loads(opener(mode, net), url))
            med = {mode: statistics.median(values) for mode, values in times.items()}
            none, cdp, packet = med["none"], med["cdp"], med["packet"]
            print(f"  {name:11} none {none:6.0f} ms   cdp {cdp:6.0f} ms   packet {packet:6.0f} ms"
                  f"   packet/none ×{packet / none:.2f}   packet/cdp ×{packet / cdp:.2f}")  # fmt: skip
        print("  goal: unthrottled packet/none ≤ ×1.05 (what the namespace, link, uplink and resolver add)")
        time_to_fail(path, zone, boxed, n)
        plain.close()
        boxed.close()


def time_to_fail(path: PacketPath, zone: Zone, browser: Any, n: int) -> None:
    zone_host, zone_port = parse_upstream(zone.address)
    print(f"time to fail, a subresource at a name the host cannot resolve (median of {n}):")
    for name in ("unthrottled", "wifi", "4g"):
        net = load_catalogue().networks.get(name) or Network(name=name, rtt_ms=0, down_kbps=None, up_kbps=None)
        host, packet, lookups = [], [], []
        for i in range(n):
            query = DNSRecord.question(f"x{i}.{DEAD}")
            t0 = time.perf_counter()
            query.send(zone_host, zone_port, timeout=5)
            host.append((time.perf_counter() - t0) * 1000)
            context = browser.new_context()
            page = context.new_page()
            path.impose(net)
            packet.append(page.evaluate(FAIL, f"http://{name}{i}.{DEAD}/jquery.js"))
            lookups.append(zone.asked[f"{name}{i}.{DEAD}", "A"])
            context.close()
            path.reset()
        h, b, q = statistics.median(host), statistics.median(packet), statistics.median(lookups)
        floor = q * (h + net.rtt_ms)  # Chromium asks again (its system-resolver fallback) after NXDOMAIN
        print(f"  {name:11} rtt {net.rtt_ms:4.0f} ms   host lookup {h:5.1f} ms   packet {b:6.1f} ms   "
              f"A lookups in sequence {q:g}   extra {b - floor:+6.1f} ms beyond {q:g} × (host + RTT)"
              "   (goal ≤ +50 ms)")  # fmt: skip


def main(quick: bool = False) -> None:
    reason = unavailable()
    if reason:
        print(f"skipped: {reason}")
        return
    with Zone() as zone, RemoteHost() as remote:
        zone.names[SHOP] = remote.address
        httpd = remote.serve(lambda: ThreadingHTTPServer(("0.0.0.0", 0), FixedPage))
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            path = PacketPath([parse_upstream(zone.address)]).open()
        except Unavailable as exc:
            print(f"skipped: {exc}")
            return
        try:
            page_loads(path, zone, remote, f"http://{SHOP}:{httpd.server_address[1]}/", quick)
        finally:
            path.close()
            httpd.shutdown()


if __name__ == "__main__":
    main()
