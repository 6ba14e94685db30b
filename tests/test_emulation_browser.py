"""orderprobe.probes.emulation.Emulation against real headless Chromium and a real loopback HTTP server.

Timing checks take the minimum of a few runs (noise only ever adds time) and use bounds wider
than the ±5% the benchmark (benchmarks/emulation.py) reports exactly. The browser here is a
plain one, so this is the CDP mode (packet-level: tests/test_link_netns.py, test_emulation_packet.py);
outages are checked against the times the page was actually switched offline.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Error, Page

from benchmarks import loopback
from orderprobe.probes.emulation import Emulation, context_options
from orderprobe.probes.emulation.routing import FAULT_HEADER
from orderprobe.probes.emulation.schedule import dropout_windows
from orderprobe.probes.journey import Journey
from orderprobe.profiles.catalogue import load_catalogue
from orderprobe.profiles.models import Dropouts, FaultRule, Network, Profile, Switch

CPU_PAGE = """<!doctype html><title>cpu</title><script>
function burn(n) { const t0 = performance.now(); let x = 0; for (let i = 0; i < n; i++) { x += Math.sqrt(i); }
  return [performance.now() - t0, x]; }
</script>"""


class Handler(loopback.Quiet):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body in separate writes must not wait for delayed ACKs

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/headers":
            body, kind = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode(), "application/json"
        elif url.path == "/blob":
            body, kind = b"x" * int(query.get("bytes", ["204800"])[0]), "application/octet-stream"
        elif url.path == "/cpu":
            body, kind = CPU_PAGE.encode(), "text/html"
        else:
            body, kind = b"<!doctype html><title>ok</title><p>ok</p>", "text/html"
        loopback.answer(self, body, kind)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with loopback.serve(Handler) as url:
        yield url


@pytest.fixture(scope="module")
def catalogue() -> Any:
    return load_catalogue()


@pytest.fixture
def emulate(chromium: Browser, server: str) -> Iterator[Callable[..., tuple[Page, Emulation]]]:
    """Factory: a fresh context + page under a profile, emulation applied, page on the server."""
    opened: list[tuple[Any, Emulation]] = []

    def make(profile: Profile, *, load_first: bool = False, **kwargs: Any) -> tuple[Page, Emulation]:
        context = chromium.new_context(**context_options(profile))
        page = context.new_page()
        emulation = Emulation(profile, context, page, **kwargs)
        opened.append((context, emulation))
        if load_first:  # a dropout may start at t≈0: load the page before the network can drop
            page.goto(server + "/")
        emulation.apply()
        if not load_first:
            page.goto(server + "/")
        return page, emulation

    yield make
    for context, emulation in opened:
        emulation.close()
        context.close()


def with_network(catalogue: Any, **fields: Any) -> Profile:
    network = Network(name="test", rtt_ms=fields.pop("rtt_ms", 0), down_kbps=fields.pop("down_kbps", None),
                      up_kbps=fields.pop("up_kbps", None), **fields)  # fmt: skip
    return catalogue.profile(device="desktop-chrome").model_copy(update={"network": network})


FETCH_MS = """async (url) => { const t0 = performance.now(); const r = await fetch(url, {cache: 'no-store'});
  await r.arrayBuffer(); return performance.now() - t0; }"""
TRY_FETCH = "(url) => fetch(url, {cache: 'no-store'}).then(r => r.status, e => String(e))"


def fastest(page: Page, url: str, runs: int) -> float:
    return min(page.evaluate(FETCH_MS, url) for _ in range(runs))


# -- fidelity ------------------------------------------------------------------------------------


def test_latency_is_the_round_trip_time(emulate: Any, catalogue: Any) -> None:
    # Chromium holds each response until rtt_ms after its request left, absorbing the server's
    # own (sub-ms) time: a tiny GET takes the RTT, not RTT + anything.
    page, _ = emulate(with_network(catalogue, rtt_ms=300))
    took = fastest(page, "/small", 5)
    # One RTT per request: a one-way (150) or doubled (600) implementation falls outside.
    assert 0.95 * 300 <= took <= 1.15 * 300, f"{took:.1f} ms for rtt_ms=300"


def test_download_throughput_for_200_kb(emulate: Any, catalogue: Any) -> None:
    page, _ = emulate(with_network(catalogue, down_kbps=1600))
    expected = 204800 * 8 / 1600  # ms: bits / (kbit/s)
    took = fastest(page, "/blob?bytes=204800", 3)
    # Throttling can only slow a transfer; load on a shared machine slows it further, so the upper
    # bound is generous (a halved rate, 2×, still fails). benchmarks/emulation.py prints exact figures.
    assert 0.95 * expected <= took <= 1.4 * expected, f"{took:.0f} ms, expected {expected:.0f} ms"


def test_cpu_slowdown_slows_a_cpu_bound_page(emulate: Any, catalogue: Any, server: str) -> None:
    """…and ``cpu_slowdown="off"`` (``--cpu-slowdown off``) leaves a ×6 device's page unthrottled, and says so."""
    records = []

    def page_at(cpu: float, setting: str = "profile") -> Page:
        profile = catalogue.profile(device="desktop-chrome")
        profile = profile.model_copy(update={"device": profile.device.model_copy(update={"cpu_slowdown": cpu})})
        page, emulation = emulate(profile, cpu_slowdown=setting)
        records.append(emulation.record())
        page.goto(server + "/cpu")
        return page

    plain, throttled, off = page_at(1), page_at(6), page_at(6, "off")
    runs: dict[Page, list[float]] = {plain: [], throttled: [], off: []}
    cdp = plain.context.new_cdp_session(plain)
    cdp.send("Performance.enable")
    cpu_s = lambda: next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "ThreadTime")  # noqa: E731
    cpu_before = cpu_s()
    # 1e7 square roots (~40 ms unthrottled) are many CPU-throttling quanta yet cheap: ×6 read ×2.3–3.3
    # at load 8, as 5e7 did, for a fifth of the CPU.
    for _ in range(7):  # interleaved, so a burst of load on this shared machine hits all alike
        for page, times in runs.items():
            times.append(page.evaluate("burn(1e7)[0]"))
    # Medians, not minima: the minimum picks the one quiet moment of a page, and one quiet moment of
    # the throttled page against none of the plain one read ×0.6 in CI (111 against 193 ms at load 6).
    fast, slow, unthrottled = (statistics.median(runs[page]) for page in (plain, throttled, off))
    # Chromium throttles by holding the page's thread for part of each slice of wall time: a host that
    # gives the page less than that part anyway (load 30 on two cores) leaves nothing to see.
    share = (cpu_s() - cpu_before) * 1000 / sum(runs[plain])
    if share < 0.1:  # measured: ×2.2 at 15 % of a core, ×3.3 at 40 %, ×5.8 at 97 %
        pytest.skip(f"the unthrottled page got {share:.0%} of a core while it computed: no ×6 throttle can show")
    # ×6 gives ~×6 on an idle machine; CPU contention compresses it (measured ×1.8–1.9 at load 7–30);
    # unthrottled, interleaved runs stay within ~×1.1 of each other.
    assert slow / fast > 1.4, f"×6 throttling gave {fast:.1f} → {slow:.1f} ms"
    # off: nearer the unthrottled page than the throttled one, measured side by side
    assert unthrottled / fast < (slow / fast + 1) / 2, f"×1 {fast:.1f}, ×6 {slow:.1f}, ×6 off {unthrottled:.1f} ms"
    assert [(r["cpu_slowdown"], r.get("cpu_slowdown_profile")) for r in records] == [(1, None), (6, None), (1, 6)]


def test_dns_polluted_hosts_fail_while_others_load(emulate: Any, catalogue: Any, server: str) -> None:
    page, emulation = emulate(catalogue.profile(network="public-wifi-dns-polluted"))
    port = urlsplit(server).port
    failures: list[str | None] = []
    page.on("requestfailed", lambda r: failures.append(r.failure))
    page.goto(f"http://shop.localhost:{port}/")  # same server, unpolluted name: loads
    assert page.title() == "ok"
    with pytest.raises(Error, match="net::ERR_NAME_NOT_RESOLVED"):
        page.goto(f"http://pay.localhost:{port}/checkout")
    assert failures == ["net::ERR_NAME_NOT_RESOLVED"]
    assert emulation.record()["requests"]["dns"] == 1


# -- dropouts --------------------------------------------------------------------------------------


def test_cdp_outages_use_no_route_and_never_come_early(emulate: Any, catalogue: Any) -> None:
    dropouts = Dropouts(offline_s=(0.4, 0.4), every_s=(0.5, 0.5), first_s=(0.2, 0.2), seed=7)
    page, emulation = emulate(with_network(catalogue, dropouts=dropouts), load_first=True)
    # Playwright's loop runs the scheduled offline switches meanwhile: never early, but late on a
    # busy machine (at load 30 none had run by 1.5 s), so wait for three edges, not for a clock.
    while len(emulation.record()["offline_edges"]) < 3 and emulation.now() < 60:
        page.wait_for_timeout(50)
    record = emulation.record()
    assert record["emulation"] == "cdp" and record["routes"] == []  # the HTTP cache stays on
    (s0, e0), (s1, _) = dropout_windows(dropouts, 10)[:2]
    edges = record["offline_edges"]
    assert [edge for edge, _ in edges[:3]] == ["down", "up", "down"]
    assert edges[0][1] >= s0 - 1e-3 and edges[1][1] >= e0 - 1e-3 and edges[2][1] >= s1 - 1e-3


def test_dropouts_in_real_time_fail_only_inside_windows(emulate: Any, catalogue: Any) -> None:
    dropouts = Dropouts(offline_s=(0.3, 0.3), every_s=(0.5, 0.5), seed=1)
    page, emulation = emulate(with_network(catalogue, dropouts=dropouts), load_first=True)
    outcomes: list[tuple[float, float, bool]] = []
    # A few cycles, then on (bounded by emulation time) until a request has gone both ways: on a
    # loaded machine one fetch can span several windows, and a few cycles may see no failure at all.
    while emulation.now() < 2.5 or (emulation.now() < 60 and len({ok for *_, ok in outcomes}) < 2):
        before = emulation.now()
        ok = page.evaluate(TRY_FETCH, "/small") == 200
        outcomes.append((before, emulation.now(), ok))
        page.wait_for_timeout(20)
    # CDP switches happen on Playwright's loop, never early but possibly late on a busy machine:
    # judge each request against when the page was actually offline (edges recorded as applied).
    edges = emulation.record()["offline_edges"]
    down = [
        (at, edges[i + 1][1] if i + 1 < len(edges) else 1e9) for i, (edge, at) in enumerate(edges) if edge == "down"
    ]
    margin = 0.05  # the switch is a CDP message on its way
    inside = [any(s + margin <= b and a <= e for s, e in down) for b, a, _ in outcomes]
    overlaps = [any(b <= e + margin and a >= s for s, e in down) for b, a, _ in outcomes]
    assert any(not ok for *_, ok in outcomes) and any(ok for *_, ok in outcomes)
    for (b, a, ok), within, touches in zip(outcomes, inside, overlaps, strict=True):
        assert not (ok and within), f"request at {b:.3f}–{a:.3f} s succeeded while offline"
        assert ok or touches, f"request at {b:.3f}–{a:.3f} s failed while online"
    windows = dropout_windows(dropouts, emulation.now() + 10)
    assert all(at >= w[0] - 1e-3 for (_, at), w in zip(edges[::2], windows, strict=False))  # never early
    record = emulation.record()
    recorded = [(w["start_s"], w["end_s"]) for w in record["offline_windows"]]
    assert recorded == [w for w in windows if w[0] <= record["elapsed_s"]]


# -- faults ----------------------------------------------------------------------------------------


HELD_MS = 8_000


def test_fault_rules_abort_answer_and_delay(emulate: Any, catalogue: Any) -> None:
    faults = (
        FaultRule(url="**/api/**", status=503),
        FaultRule(url="**/boom", abort="connectionreset"),
        FaultRule(url="**/slow?*", delay_ms=400),
        FaultRule(url="**/held?*", delay_ms=HELD_MS),
    )
    page, emulation = emulate(with_network(catalogue, faults=faults))
    answer = page.evaluate("h => fetch('/api/cart').then(r => [r.status, r.headers.get(h)])", FAULT_HEADER)
    assert answer[0] == 503 and "HTTP 503" in answer[1]
    failures: list[str | None] = []
    page.on("requestfailed", lambda r: failures.append(r.failure))
    assert "Failed to fetch" in page.evaluate(TRY_FETCH, "/boom")
    assert failures == ["net::ERR_CONNECTION_RESET"]
    # A delayed request waits its 400 ms.
    each = page.evaluate("""() => Promise.all([1, 2].map(async i => { const s = performance.now();
        await (await fetch('/slow?' + i)).text(); return performance.now() - s; }))""")
    assert min(each) >= 400 * 0.95
    # Delayed requests wait together, not in turn: all four are in their delay (a fault is counted as
    # its delay begins) while none has been answered. In turn, the second would begin only as the
    # first was answered. No clock is read: HELD_MS only has to outlast a loaded machine's dispatch.
    page.evaluate("""() => { window.held = 0;
        for (const i of [1, 2, 3, 4]) fetch('/held?' + i).then(r => r.text()).then(() => window.held++); }""")
    held = f"fault:{faults[3].label}"
    for _ in range(1200):  # 60 s at most; each wait lets Playwright run the route handlers
        if emulation.record()["requests"].get(held, 0) == 4:
            break
        page.wait_for_timeout(50)
    assert emulation.record()["requests"].get(held, 0) == 4 and page.evaluate("window.held") == 0, (
        "delays were serialised"
    )
    page.wait_for_function("window.held === 4", timeout=120_000)
    assert sum(v for k, v in emulation.record()["requests"].items() if k.startswith("fault:")) == 8


def test_fault_rates_are_seeded(emulate: Any, catalogue: Any) -> None:
    profile = with_network(catalogue, faults=(FaultRule(url="**/r/*", abort="failed", rate=0.5),))

    def pattern(seed: int) -> list[bool]:
        page, _ = emulate(profile, seed=seed)
        # All at once, in whatever order they arrive: the draw is per request, not per arrival.
        answers = page.evaluate(f"Promise.all([...Array(24).keys()].map(i => ({TRY_FETCH})('/r/' + i)))")
        return [answer == 200 for answer in answers]

    first = pattern(3)
    assert 4 <= sum(first) <= 20  # about half fail
    assert pattern(3) == first
    assert pattern(4) != first


# -- device, region, switches -------------------------------------------------------------------------


def test_iphone_in_hong_kong_looks_like_one(emulate: Any, catalogue: Any) -> None:
    page, _ = emulate(catalogue.profile(device="iphone-15", region="hong-kong"))
    headers = page.evaluate("fetch('/headers').then(r => r.json())")
    assert headers["user-agent"] == catalogue.devices["iphone-15"].user_agent
    assert not any(k.startswith("sec-ch-ua") for k in headers), "Safari sends no client hints"
    assert headers["accept-language"].startswith("zh-HK")
    seen = page.evaluate("""() => new Promise(ok => navigator.geolocation.getCurrentPosition(p => ok({
        lat: p.coords.latitude, lon: p.coords.longitude, brands: navigator.userAgentData?.brands ?? [],
        platform: navigator.platform, tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
        width: screen.width, touch: navigator.maxTouchPoints > 0 }), e => ok({error: e.message})))""")
    assert seen == {"lat": 22.2819, "lon": 114.1582, "brands": [], "platform": "iPhone", "tz": "Asia/Hong_Kong",
                    "width": 393, "touch": True}  # fmt: skip


def test_android_client_hints_agree_with_the_ua(emulate: Any, catalogue: Any) -> None:
    page, _ = emulate(catalogue.profile(device="android-mid"))
    headers = page.evaluate("fetch('/headers').then(r => r.json())")
    assert '"Google Chrome";v="124"' in headers["sec-ch-ua"]
    assert headers["sec-ch-ua-mobile"] == "?1" and headers["sec-ch-ua-platform"] == '"Android"'
    hints = page.evaluate("navigator.userAgentData.getHighEntropyValues(['model', 'platformVersion'])")
    assert (hints["mobile"], hints["platform"], hints["model"], hints["platformVersion"]) == (
        True,
        "Android",
        "23124RA7EC",
        "14",
    )


def test_conditions_switch_at_named_steps(emulate: Any, catalogue: Any) -> None:
    slow = Network(name="slow", rtt_ms=400, down_kbps=None, up_kbps=None)
    profile = with_network(catalogue).model_copy(
        update={"switches": (Switch(at="checkout", network=slow), Switch(at="pay", offline_s=2))}
    )
    page, emulation = emulate(profile)
    journey = Journey("switches")
    journey.listeners.append(emulation)
    with journey.step("cart"):
        cart_ms = fastest(page, "/small", 1)
    with journey.step("checkout"):
        checkout_ms = fastest(page, "/small", 1)
    with journey.step("pay"):
        assert "Failed to fetch" in page.evaluate(TRY_FETCH, "/api/pay")  # signal lost as pay starts
    page.wait_for_timeout(2500)  # Playwright's loop switches the page back online meanwhile
    with journey.step("done"):
        assert page.evaluate(TRY_FETCH, "/small") == 200  # …and back 2 s later
    assert checkout_ms >= 0.95 * 400 > cart_ms
    assert [s.conditions for s in journey.steps] == [
        None,
        "→ slow at start of 'checkout'",
        "offline 2 s at start of 'pay'",
        None,
    ]
    record = emulation.record()
    assert [(s["at"], s["did"]) for s in record["switches"]] == [
        ("checkout", "→ slow at start of 'checkout'"), ("pay", "offline 2 s at start of 'pay'")]  # fmt: skip
    assert record["network"] == "slow"
    (window,) = record["offline_windows"]
    assert window["why"] == "switch@pay" and window["end_s"] - window["start_s"] == pytest.approx(2.0, abs=0.002)


def test_record_names_conditions_but_never_secrets(emulate: Any, catalogue: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("ORDERPROBE_DEMO_PASSWORD", "s3cret-demo-pass")
    profile = catalogue.profile(device="android-low", network="metro-weak", region="urumqi", account="teen")
    assert profile.account.password() == "s3cret-demo-pass"
    _, emulation = emulate(profile, seed=5)
    text = json.dumps(emulation.record(), ensure_ascii=False)
    assert "s3cret" not in text
    record = emulation.record()
    assert record["profile"] == "android-low/metro-weak/urumqi/teen"
    assert record["cpu_slowdown"] == 5 and record["routes"] == []
    described = profile.describe()
    assert described["region"]["address"]["province"] == "新疆维吾尔自治区"
    assert described["account"]["password_env"] == "ORDERPROBE_DEMO_PASSWORD"
    assert "s3cret" not in json.dumps(described, ensure_ascii=False)
