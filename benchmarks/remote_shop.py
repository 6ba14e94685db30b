"""A remote shop through the link: what packet mode costs, where that time goes, and how fast a
dead name fails — each printed against the issue's goal.

    python -m benchmarks remote_shop [--quick]

The fixed page of ``emulation_packet`` (HTML + 120 KB CSS + 80 KB JS) is served from a second
network namespace with its own address and name (tests/support/remote.py), as a shop on the
internet. "The host's resolver" is a DNS zone on an address of 127/8 of its own, port 53: the
host's Chromium is given it as its resolv.conf (a private mount namespace), the link's resolver
forwards to it. So every mode resolves the shop's name the same way, and nothing leaves this machine.

Side by side, in one run, interleaved so the machine's load falls on every mode alike:

- page load, each in a fresh context (as a journey): no emulation and CDP (Chromium on this host)
  and packet mode (behind the link, the uplink and the link's resolver), unthrottled — the extra
  time packet mode itself adds (goal ≤ ×1.05 of no emulation) — and on wifi; and packet mode with
  the link forwarding inside this process, as it did before it had a process of its own;
- where that time goes: one small TCP round trip host → remote, namespace → the link's host end
  (the userspace link alone) and namespace → remote (link + forwarding + NAT), and one DNS lookup
  on the host vs through the link's resolver;
- time to fail for a subresource whose name the host cannot resolve: the host's Chromium vs packet
  mode (goal: within 50 ms + one RTT of the link).
"""

from __future__ import annotations

import json
import os
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.emulation_packet import Page as FixedPage
from orderprobe.probes.emulation.packet import CHROMIUM_ARGS, PacketPath, Unavailable, unavailable
from orderprobe.probes.emulation.resolver import host_resolvers, parse_upstream
from orderprobe.profiles.catalogue import load_catalogue
from orderprobe.profiles.models import Network
from tests.support.remote import RemoteHost, Zone

SHOP, DEAD = "shop.orderprobe.test", "cdn.nowhere.test"
LOAD_GOAL, FAIL_GOAL_MS = 1.05, 50.0
FAIL = "async (url) => { const t0 = performance.now(); try { await fetch(url, {mode: 'no-cors'}); } catch (e) {} return performance.now() - t0; }"  # noqa: E501
ROUND_TRIPS = """
import json, socket, statistics, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection((host, port), timeout=30)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
times = []
for _ in range(n):
    t0 = time.perf_counter()
    s.sendall(b"x" * 64)
    got = 0
    while got < 64:
        got += len(s.recv(64 - got))
    times.append((time.perf_counter() - t0) * 1e6)
times.sort()
print(json.dumps([statistics.median(times), times[int(len(times) * 0.95)]]))
"""
LOOKUPS = """
import json, statistics, sys, time
from dnslib import DNSRecord
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = []
for i in range(n):
    t0 = time.perf_counter()
    DNSRecord.question(f"r{i}.shop.orderprobe.test").send(host, port, timeout=30)
    times.append((time.perf_counter() - t0) * 1e6)
times.sort()
print(json.dumps([statistics.median(times), times[int(len(times) * 0.95)]]))
"""


class Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


def host_chromium(folder: Path, chromium: str, nameserver: str) -> str:
    """A wrapper that runs this host's Chromium with ``nameserver`` as its resolver (a private
    mount namespace binds a resolv.conf over /etc/resolv.conf; nothing else changes)."""
    conf, wrapper = folder / "resolv.conf", folder / "chromium-host"
    conf.write_text(f"nameserver {nameserver}\n")
    inner = f'mount --bind {conf} /etc/resolv.conf && exec "$0" "$@"'
    wrapper.write_text(f"#!/bin/sh\nexec unshare --mount -- sh -c '{inner}' {chromium} \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


def loads(open_page: Callable[[], tuple[Any, Callable[[], None]]], url: str) -> float:
    """One page load in a fresh context, ms."""
    page, done = open_page()
    try:
        t0 = time.perf_counter()
        page.goto(url, wait_until="load")
        return (time.perf_counter() - t0) * 1000
    finally:
        done()


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def page_loads(paths: dict[str, PacketPath], zone: Zone, url: str, folder: Path, quick: bool) -> None:
    from playwright.sync_api import sync_playwright

    from orderprobe.probes.browser import launch_options
    from orderprobe.probes.emulation.throttling.cdp import throttle_network

    nets = {"unthrottled": Network(name="unthrottled", rtt_ms=0, down_kbps=None, up_kbps=None)}
    nets["wifi"] = load_catalogue().networks["wifi"]
    n = 3 if quick else 15
    with sync_playwright() as p:
        options = launch_options()
        options["executable_path"] = host_chromium(folder, options["executable_path"], zone.address.split(":")[0])
        browsers = {"none": p.chromium.launch(**options)}
        browsers["cdp"] = browsers["none"]
        for mode, path in paths.items():
            options = launch_options()
            options["executable_path"] = path.executable(options["executable_path"])
            options["args"] = [*options["args"], *CHROMIUM_ARGS]
            browsers[mode] = p.chromium.launch(**options)

        def opener(mode: str, net: Network) -> Callable[[], tuple[Any, Callable[[], None]]]:
            def open_page() -> tuple[Any, Callable[[], None]]:
                context = browsers[mode].new_context()
                page = context.new_page()
                if mode == "cdp":
                    throttle_network(context.new_cdp_session(page), net)
                elif mode in paths:
                    paths[mode].impose(net)
                return page, lambda: (context.close(), mode in paths and paths[mode].reset())

            return open_page

        load0 = os.getloadavg()[0]
        print(f"page load on the remote shop (HTML + 120 KB CSS + 80 KB JS, fresh context, median of {n}):")
        for name, net in nets.items():
            times: dict[str, list[float]] = {mode: [] for mode in browsers}
            for mode in browsers:  # warm every browser's code paths
                loads(opener(mode, net), url)
            order = list(times)
            for i in range(n):  # interleaved, each round starting one mode later: load falls on all alike
                for mode in order[i % len(order) :] + order[: i % len(order)]:
                    times[mode].append(loads(opener(mode, net), url))
            med = {mode: statistics.median(values) for mode, values in times.items()}
            none, cdp, packet, shared = med["none"], med["cdp"], med["packet"], med["packet-in-process"]
            goal = f"   (goal ≤ ×{LOAD_GOAL}: {verdict(packet / none <= LOAD_GOAL)})" if name == "unthrottled" else ""
            print(f"  {name:11} none {none:6.0f} ms   cdp {cdp:6.0f} ms   packet {packet:6.0f} ms"
                  f"   packet/none ×{packet / none:.2f}   packet/cdp ×{packet / cdp:.2f}{goal}")  # fmt: skip
            print(f"  {'':11} the link in the probe's process {shared:6.0f} ms   ×{shared / none:.2f} of none")
        print(f"  load average {load0:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        time_to_fail(paths["packet"], zone, browsers["none"], browsers["packet"], n)
        for browser in {id(b): b for b in browsers.values()}.values():
            browser.close()


def where_time_goes(path: PacketPath, zone: Zone, remote: RemoteHost, quick: bool) -> None:
    """One 64-byte TCP round trip (and one DNS lookup) on each leg, each client a process of its own."""
    assert path.namespace is not None
    n = 200 if quick else 1000
    far = remote.serve(lambda: socketserver.ThreadingTCPServer(("0.0.0.0", 0), Echo))
    near = socketserver.ThreadingTCPServer((path.namespace.gateway, 0), Echo)  # the link's host end
    for server in (far, near):
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    inside = ["nsenter", f"--net=/run/netns/{path.namespace.name}", "--"]
    zone_host, zone_port = parse_upstream(zone.address)
    nameserver = host_resolvers()[0][0][0]  # what resolv.conf names; port 53 is redirected to the link's resolver
    shop = remote.address, far.server_address[1]
    legs = [
        ("TCP host → remote (veth, no link)", [], ROUND_TRIPS, *shop),
        ("TCP namespace → link's host end (the userspace link)", inside, ROUND_TRIPS, *near.server_address[:2]),
        ("TCP namespace → remote (link + forwarding + NAT)", inside, ROUND_TRIPS, *shop),
        ("DNS host → the host's resolver", [], LOOKUPS, zone_host, zone_port),
        ("DNS namespace → link → link's resolver → the host's", inside, LOOKUPS, nameserver, 53),
    ]  # fmt: skip
    print(f"where packet mode's time goes (one round trip, median / p95 of {n}, µs):")
    try:
        for label, enter, code, host, port in legs:
            done = subprocess.run(
                [*enter, sys.executable, "-c", code, host, str(port), str(n // 5 if code is LOOKUPS else n)],
                capture_output=True, text=True, timeout=300, check=True,
            )  # fmt: skip
            median, p95 = json.loads(done.stdout)
            print(f"  {label:55} {median:8.0f} / {p95:8.0f}")
    finally:
        for server in (far, near):
            server.shutdown()
            server.server_close()


def time_to_fail(path: PacketPath, zone: Zone, host: Any, boxed: Any, n: int) -> None:
    print(f"time to fail, a subresource at a name the host cannot resolve (median of {n}):")
    for name in ("unthrottled", "wifi", "4g"):
        net = load_catalogue().networks.get(name) or Network(name=name, rtt_ms=0, down_kbps=None, up_kbps=None)
        times: dict[str, list[float]] = {"host": [], "packet": []}
        asked: dict[str, list[int]] = {"host": [], "packet": []}
        for i in range(n):
            for mode, browser in (("host", host), ("packet", boxed)):
                context = browser.new_context()
                page = context.new_page()
                if mode == "packet":
                    path.impose(net)
                dead = f"{mode}{i}.{name}.{DEAD}"
                times[mode].append(page.evaluate(FAIL, f"http://{dead}/jquery.js"))
                asked[mode].append(zone.asked[dead, "A"])
                context.close()
                path.reset()
        h, b = statistics.median(times["host"]), statistics.median(times["packet"])
        extra = b - h - net.rtt_ms
        goal = f"goal ≤ +{FAIL_GOAL_MS:.0f} ms: {verdict(extra <= FAIL_GOAL_MS)}"
        queries = f"host {statistics.median(asked['host']):g}, packet {statistics.median(asked['packet']):g}"
        print(f"  {name:11} rtt {net.rtt_ms:4.0f} ms   host's Chromium {h:6.1f} ms   packet {b:6.1f} ms   "
              f"extra {extra:+6.1f} ms beyond host + RTT ({goal})   A queries: {queries}")  # fmt: skip


def main(quick: bool = False) -> None:
    reason = unavailable()
    if reason:
        print(f"skipped: {reason}")
        return
    pid = os.getpid()
    with Zone(f"127.53.{pid >> 8 & 255}.{pid & 255}", 53) as zone, RemoteHost() as remote:
        zone.names[SHOP] = remote.address
        httpd = remote.serve(lambda: ThreadingHTTPServer(("0.0.0.0", 0), FixedPage))
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        paths: dict[str, PacketPath] = {}
        try:
            paths["packet"] = PacketPath([parse_upstream(zone.address)]).open()
            paths["packet-in-process"] = PacketPath([parse_upstream(zone.address)], own_process=False).open()
            with tempfile.TemporaryDirectory(prefix="orderprobe-bench-") as folder:
                page_loads(paths, zone, f"http://{SHOP}:{httpd.server_address[1]}/", Path(folder), quick)
            where_time_goes(paths["packet"], zone, remote, quick)
        except Unavailable as exc:
            print(f"skipped: {exc}")
        finally:
            for path in paths.values():
                path.close()
            httpd.shutdown()


if __name__ == "__main__":
    main()
