"""How faithful is network/device emulation? Exact figures and ratios, measured once, asserting nothing.

    python -m benchmarks emulation [--quick]

Against a stdlib HTTP server on loopback (its own time is ~0.1 ms, so what is measured is
the emulation) and, for DNS pollution, against the demo shop's two real origins. Times are
taken inside the page (performance.now around fetch), minimum of N runs: noise only adds.

- latency: time of a tiny GET = the profile's RTT? (Chromium applies it once per request)
- download / upload: 200 KB at the profile's throughput (latency off, to isolate it)
- dropouts: a scaled metro schedule; when did requests start failing / succeed again?
- DNS: payment origin → net::ERR_NAME_NOT_RESOLVED, shop origin loads
- CPU: a fixed JS loop at throttling rates 1, 2, 4, 6
- routing: what the catch-all route (dropouts, faults, DNS) costs per request
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Browser, Error, Page, sync_playwright

from benchmarks.loopback import Quiet, answer, serve
from orderprobe.probes.browser import launch_options
from orderprobe.probes.emulation import Emulation, context_options
from orderprobe.probes.emulation.schedule import dropout_windows
from orderprobe.profiles.catalogue import load_catalogue
from orderprobe.profiles.models import Dropouts, FaultRule, Network, Profile

SIZE = 200 * 1024
FETCH = """async ([url, body]) => { const t0 = performance.now();
  const r = await fetch(url, body ? {method: 'POST', body: 'x'.repeat(body)} : {cache: 'no-store'});
  await r.arrayBuffer(); return performance.now() - t0; }"""
TRY = "(url) => fetch(url, {cache: 'no-store'}).then(r => r.status, e => String(e))"
BURN = """(n) => { const t0 = performance.now(); let x = 0;
  for (let i = 0; i < n; i++) x += Math.sqrt(i); return performance.now() - t0; }"""


class Handler(Quiet):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/":
            answer(self, b"<!doctype html><title>bench</title>", "text/html")
            return
        answer(self, b"x" * int(parse_qs(url.query).get("bytes", ["2"])[0]), "application/octet-stream")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        answer(self, b"ok", "application/octet-stream")


class Bench:
    def __init__(self, browser: Browser, base: str, base_profile: Profile) -> None:
        self.browser, self.base, self.base_profile = browser, base, base_profile

    @contextmanager
    def page(self, network: Network | None = None, *, cpu: float = 1.0, seed: int | None = None,
             load_first: bool = False) -> Iterator[tuple[Page, Emulation]]:  # fmt: skip
        profile = self.base_profile
        device = profile.device.model_copy(update={"cpu_slowdown": cpu})
        profile = profile.model_copy(update={"network": network or profile.network, "device": device})
        context = self.browser.new_context(**context_options(profile))
        page = context.new_page()
        emulation = Emulation(profile, context, page, seed=seed)
        if load_first:
            page.goto(self.base + "/")
        emulation.apply()
        if not load_first:
            page.goto(self.base + "/")
        try:
            yield page, emulation
        finally:
            emulation.close()
            context.close()

    def fastest(self, page: Page, path: str, runs: int, post: int = 0) -> float:
        return min(page.evaluate(FETCH, [self.base + path, post]) for _ in range(runs))


def bare(name: str, **fields: Any) -> Network:
    return Network(name=name, **{"rtt_ms": 0, "down_kbps": None, "up_kbps": None, **fields})


def latency(b: Bench, catalogue: Any, runs: int) -> None:
    print(f"\nlatency — a 2-byte GET (throughput off), min of {runs}. Chromium releases the response")
    print("  rtt_ms after the request left, absorbing the server's own time: expect measured ≈ rtt")
    print(f"  {'network':<12} {'rtt_ms':>7} {'measured':>9} {'ratio':>7}")
    with b.page(bare("none")) as (page, _):
        base = b.fastest(page, "/b?bytes=2", runs)
    print(f"  {'(none)':<12} {0:>7} {base:>9.1f}      —   (unthrottled round trip on this machine)")
    for name in ("wifi", "slow-4g", "4g", "3g", "edge"):
        rtt = catalogue.networks[name].rtt_ms
        with b.page(bare(name, rtt_ms=rtt)) as (page, _):
            took = b.fastest(page, "/b?bytes=2", runs)
        print(f"  {name:<12} {rtt:>7g} {took:>9.1f} {took / rtt:>7.3f}")


def throughput(b: Bench, catalogue: Any, runs: int, quick: bool) -> None:
    print(f"\nthroughput — {SIZE // 1024} KB (latency off), min of {runs}; expected = bytes × 8 / kbit/s")
    print(f"  {'network':<12} {'dir':<5} {'kbit/s':>8} {'expected':>9} {'measured':>9} {'ratio':>7}")
    names = ("slow-4g", "4g") if quick else ("wifi", "slow-4g", "4g", "3g", "edge")
    for name in names:
        net = catalogue.networks[name]
        for direction, kbps in (("down", net.down_kbps), ("up", net.up_kbps)):
            fields = {"down_kbps": kbps} if direction == "down" else {"up_kbps": kbps}
            with b.page(bare(name, **fields)) as (page, _):
                took = b.fastest(page, f"/b?bytes={SIZE}" if direction == "down" else "/b", runs,
                                 post=SIZE if direction == "up" else 0)  # fmt: skip
            expected = SIZE * 8 / kbps
            print(f"  {name:<12} {direction:<5} {kbps:>8g} {expected:>9.1f} {took:>9.1f} {took / expected:>7.3f}")


def dropouts(b: Bench, seconds: float) -> None:
    plan = Dropouts(offline_s=(0.3, 0.6), every_s=(0.8, 1.2), seed=23)  # the metro preset, ~30× faster
    windows = dropout_windows(plan, seconds)
    same = windows == dropout_windows(Dropouts(offline_s=(0.3, 0.6), every_s=(0.8, 1.2), seed=23), seconds)
    print(f"\ndropouts — offline 0.3–0.6 s every 0.8–1.2 s, seed 23, {seconds:g} s; same seed ⇒ same schedule: {same}")
    samples: list[tuple[float, float, bool]] = []  # (request sent, answer seen, ok) in emulation seconds
    with b.page(bare("metro", dropouts=plan), load_first=True) as (page, emulation):
        while emulation.now() < seconds:
            before = emulation.now()
            ok = page.evaluate(TRY, "/b?bytes=2") == 200
            samples.append((before, emulation.now(), ok))
        recorded = [(w["start_s"], w["end_s"]) for w in emulation.record()["offline_windows"]]
    gap = statistics.median(b2 - b1 for (b1, _, _), (b2, _, _) in zip(samples, samples[1:], strict=False)) * 1000
    print(f"  one request every {gap:.0f} ms (median); errors below are bounded by that sampling")
    head = ("window (s)", "first failed sent", "after start ms", "first ok sent", "after end ms")
    print(f"  {head[0]:<15} {head[1]:>18} {head[2]:>15} {head[3]:>14} {head[4]:>13}")
    for start, end in windows:
        fails = [sent for sent, _, ok in samples if not ok and start - 0.05 <= sent <= end]
        back = [sent for sent, _, ok in samples if ok and sent >= end]
        if fails and back:
            print(f"  {start:6.3f}–{end:<8.3f} {fails[0]:>18.3f} {(fails[0] - start) * 1000:>15.1f} "
                  f"{back[0]:>14.3f} {(back[0] - end) * 1000:>13.1f}")  # fmt: skip
    # A request can only disagree with the schedule if it straddles a window edge.
    clear = [(sent, seen, ok) for sent, seen, ok in samples
             if not any(sent <= edge <= seen for w in windows for edge in w)]  # fmt: skip
    wrong = sum(ok == any(s <= sent < e for s, e in windows) for sent, _, ok in clear)
    print(f"  {len(samples)} requests, {sum(not ok for *_, ok in samples)} failed; {wrong} of {len(clear)} "
          f"clear of an edge disagree with the schedule; recorded windows = scheduled: "
          f"{recorded == [w for w in windows if w[0] <= samples[-1][1]]}")  # fmt: skip


def dns(browser: Browser, catalogue: Any) -> None:
    from orderprobe.shop.server import DemoShop

    profile = catalogue.profile(network="public-wifi-dns-polluted")
    with DemoShop() as shop:
        context = browser.new_context(**context_options(profile))
        page = context.new_page()
        emulation = Emulation(profile, context, page)
        emulation.apply()
        print("\nDNS pollution — public-wifi-dns-polluted against the demo shop's two origins")
        for label, url in (("shop", shop.url), ("payment", shop.payment_url)):
            try:
                response = page.goto(url)
                print(f"  {label:<8} {url:<40} HTTP {response.status if response else '?'}")
            except Error as exc:
                print(f"  {label:<8} {url:<40} {str(exc).splitlines()[0].split(': ', 1)[-1][:60]}")
        emulation.close()
        context.close()


def cpu(b: Bench, runs: int) -> None:
    print(f"\nCPU — JS loop of 1e8 sqrt, min of {runs}, pages interleaved so load hits all alike")
    rates = (1, 2, 4, 6)
    with ExitStack() as stack:
        pages = {rate: stack.enter_context(b.page(cpu=rate))[0] for rate in rates}
        times: dict[int, list[float]] = {rate: [] for rate in rates}
        for _ in range(runs):
            for rate in rates:
                times[rate].append(pages[rate].evaluate(BURN, 1e8))
    base = min(times[1])
    for rate in rates:
        took = min(times[rate])
        print(f"  ×{rate:<3} {took:8.1f} ms   slowdown {took / base:5.2f}")


def routing(b: Bench, runs: int) -> None:
    never = bare("routed", faults=(FaultRule(url="**/never", status=500),))
    with b.page(bare("none")) as (page, _):
        direct = [page.evaluate(FETCH, [b.base + "/b?bytes=2", 0]) for _ in range(runs)]
    with b.page(never) as (page, _):
        routed = [page.evaluate(FETCH, [b.base + "/b?bytes=2", 0]) for _ in range(runs)]
    print(f"\nrouting — catch-all route handler cost per request (median of {runs}): "
          f"{statistics.median(direct):.2f} → {statistics.median(routed):.2f} ms")  # fmt: skip


def main(quick: bool = False) -> None:
    catalogue = load_catalogue()
    runs = 3 if quick else 7
    with serve(Handler) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        b = Bench(browser, base, catalogue.profile(device="desktop-chrome"))
        latency(b, catalogue, runs)
        throughput(b, catalogue, 2 if quick else 3, quick)
        dropouts(b, 3.0 if quick else 8.0)
        dns(browser, catalogue)
        cpu(b, runs)
        routing(b, 10 if quick else 40)
        browser.close()


if __name__ == "__main__":
    main()
