"""Harness overhead and timing fidelity, measured side by side in one run.

* bare Playwright vs the orderprobe harness (recorder + emulation + journey), the same
  subsidy checkout on the same browser and shop, interleaved so drift hits both alike: wall
  time and CPU time of the whole process tree (this process with the shop, the driver,
  Chromium) per journey;
* the same journey on the default phone (android-mid, CPU ×2): bare vs harness, and the
  harness on the packet-level link vs DevTools emulation;
* what Chromium's CPU throttle costs: the same journey at ×1, ×4 and ×6, and a page left idle,
  CPU per second, by rate;
* an injected shop delay D on one step: how much of D the step timing reports;
* ``orderprobe run`` start-up: process start → first journey/start event.

    python -m benchmarks.harness [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from orderprobe.probes.browser import launch_options
from orderprobe.probes.checkout.steps import pay, sign_in, submit_order
from orderprobe.probes.emulation import context_options
from orderprobe.probes.fixtures import BrowserHolder
from orderprobe.probes.journey_run import JourneyRun
from orderprobe.probes.session import ProbeSession, Settings
from orderprobe.probes.target import Target
from orderprobe.profiles.catalogue import load_catalogue
from orderprobe.profiles.models import MatrixItem
from orderprobe.shop.server import DemoShop

# No shaping: overhead is measured against loopback, not hidden behind emulated latency.
LAN = """networks:
  - name: lan
    title: unthrottled loopback
    rtt_ms: 0
    down_kbps: null
    up_kbps: null
    source: "benchmark only"
"""


def tree_cpu() -> float:
    """CPU seconds used so far by this process and every live descendant (driver, Chromium).

    Wall time on a shared machine moves with other people's load; the CPU a journey costs
    the process tree barely does, so both are reported. Exited processes count through the
    parent that reaped them (cutime/cstime)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        # utime + stime, and cutime + cstime: Chromium reaps its renderers as contexts close, and
        # their CPU would vanish from a sum over live processes only.
        cpu[pid] = sum(int(f) for f in fields[11:15]) / tick
    mine, total = {os.getpid()}, 0.0
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                changed = True
    for pid in mine:
        total += cpu.get(pid, 0.0)
    return total


def measured(journey: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of one journey, CPU of the whole process tree."""
    c0, t0 = tree_cpu(), time.perf_counter()
    journey()
    return time.perf_counter() - t0, tree_cpu() - c0


def flow(page, context, target: Target, account, step: Callable[[str], AbstractContextManager]) -> None:
    sign_in(context, target, account)
    with step("open subsidy page"):
        page.goto(target.url("/subsidy"))
    with step("buy now"):
        page.get_by_test_id("subsidy-buy-SB-801").click()
        submit_order(page)
    with step("pay"):
        pay(page)


def bare(browser: Browser, target: Target, item) -> float:
    """Playwright alone: the profile's context and, like the harness, its CPU slowdown."""
    t0 = time.perf_counter()
    context = browser.new_context(**context_options(item.profile))
    page = context.new_page()
    throttle = context.new_cdp_session(page)  # kept: the rate lasts as long as the session
    if item.profile.device.cpu_slowdown != 1:
        throttle.send("Emulation.setCPUThrottlingRate", {"rate": item.profile.device.cpu_slowdown})
    flow(page, context, target, item.profile.account, lambda name: nullcontext())
    context.close()
    return time.perf_counter() - t0


def harness(
    browser: Browser, target: Target, item, session: ProbeSession, holder: BrowserHolder | None = None
) -> tuple[float, JourneyRun]:
    t0 = time.perf_counter()
    run = JourneyRun(session, "bench::subsidy", item, target)
    run.open(lambda: browser, holder)
    flow(run.page, run.context, target, item.profile.account, run.journey.step)
    run.conclude(None, when="call")
    run.close()
    return time.perf_counter() - t0, run


def session_for(tmp: Path, trace: str) -> ProbeSession:
    settings = Settings(
        target=None, matrix=None, profile={}, profile_dirs=(tmp,), results=None, artefacts=tmp / "art",
        trace=trace, retries=0, action_timeout_ms=10_000, dependencies={}, rule_files=(), headed=False,
    )  # fmt: skip
    return ProbeSession(settings, run_id=f"bench-{trace}", worker="bench")


def startup(tmp: Path, workers: str) -> float:
    """Seconds from launching `orderprobe run` to the first step of its first journey (browser up)."""
    art = tmp / f"startup-{workers}"
    cmd = [sys.executable, "-m", "orderprobe", "run", "--probe", "subsidy_checkout", "-n", workers, "--no-report",
           "--no-progress", "--artefacts", str(art), "--results", f"sqlite:///{tmp / 'startup.db'}"]  # fmt: skip
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = None
    while first is None and proc.poll() is None:
        for events in art.glob("*/events.jsonl"):
            for line in events.read_text().splitlines():
                if '"step/end"' in line:  # the events reporter stamps when the step started
                    first = json.loads(line)["started"]
                    break
        time.sleep(0.01)
    proc.wait()
    return (first - t0) if first else float("nan")


def _ratio(values: list[float], base: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.0f} ms  ×{statistics.median(values) / statistics.median(base):.2f}"


def phone(tmp: Path, shop: DemoShop, target: Target, rounds: int) -> None:
    """The default phone (CPU ×2): bare vs harness on one browser (DevTools emulation), then the
    harness on each network path (one browser each; a worker has one path), alternated."""
    item = MatrixItem(
        probe="subsidy_checkout", profile=load_catalogue([tmp]).profile(device="android-mid", network="lan")
    )
    session = session_for(tmp, "on-first-retry")  # the default: a first attempt records no trace
    cpu: dict[str, list[float]] = {"bare": [], "harness": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        bare(browser, target, item)
        for _ in range(rounds):
            for name, journey in (("bare", lambda: bare(browser, target, item)),
                                  ("harness", lambda: harness(browser, target, item, session))):  # fmt: skip
                shop.reset()
                cpu[name].append(measured(journey)[1])
        browser.close()
    print(
        f"android-mid (CPU ×{item.profile.device.cpu_slowdown:g}), {rounds} interleaved rounds, median CPU per journey:"
    )
    print(f"  bare Playwright {_ratio(cpu['bare'], cpu['bare'])}")
    print(f"  harness (cdp)   {_ratio(cpu['harness'], cpu['bare'])}")
    paths: dict[str, list[float]] = {"cdp": [], "packet": []}
    for _ in range(2):  # cdp, packet, cdp, packet: drift hits both
        for mode in paths:
            holder = BrowserHolder(False, emulation=mode, target=shop.url)
            try:
                browser = holder.get()
                harness(browser, target, item, session, holder)  # warm
                for _ in range(max(1, rounds // 2)):
                    shop.reset()
                    paths[mode].append(measured(lambda b=browser, h=holder: harness(b, target, item, session, h))[1])
            except RuntimeError as exc:  # no packet-level link on this machine: said, not measured
                print(f"  packet path unavailable: {exc}")
                paths[mode] = []
            finally:
                holder.close()
    if paths["cdp"] and paths["packet"]:
        print(f"  harness, packet-level link vs DevTools: cdp {_ratio(paths['cdp'], paths['cdp'])}, "
              f"packet {_ratio(paths['packet'], paths['cdp'])}")  # fmt: skip


def throttle_cost(tmp: Path, shop: DemoShop, target: Target, seconds: float, rounds: int) -> None:
    """Chromium's CPU throttle (Emulation.setCPUThrottlingRate) busy-waits on the page's main
    thread for (rate-1)/rate of wall time, idle or not: it stretches a journey and burns a core
    while it does. The same journey by rate (interleaved), then an idle page's CPU, by rate."""
    profile = load_catalogue([tmp]).profile(device="android-mid", network="lan")
    rates = (1, 4, 6)
    items = {
        rate: MatrixItem(
            probe="subsidy_checkout",
            profile=profile.model_copy(update={"device": profile.device.model_copy(update={"cpu_slowdown": rate})}),
        )
        for rate in rates
    }
    walls: dict[int, list[float]] = {rate: [] for rate in rates}
    cpus: dict[int, list[float]] = {rate: [] for rate in rates}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        bare(browser, target, items[1])  # warm
        for _ in range(rounds):
            for rate, item in items.items():
                shop.reset()
                wall, cpu = measured(lambda i=item: bare(browser, target, i))
                walls[rate].append(wall)
                cpus[rate].append(cpu)
        line = []
        for rate in rates:
            context = browser.new_context(**context_options(profile))
            page = context.new_page()
            page.goto(shop.url + "/cart")
            throttle = context.new_cdp_session(page)  # kept: the rate lasts as long as the session
            throttle.send("Emulation.setCPUThrottlingRate", {"rate": rate})
            page.wait_for_timeout(500)  # the page has drawn and settled
            wall, cpu = measured(lambda: time.sleep(seconds))
            line.append(f"×{rate}: {cpu / wall:.2f} s")
            context.close()
        browser.close()
    print(f"CPU slowdown by rate, subsidy checkout, {rounds} interleaved rounds, median per journey:")
    for rate in rates:
        print(f"  ×{rate}  wall {statistics.median(walls[rate]):6.2f} s   CPU {_ratio(cpus[rate], cpus[1])}")
    print(f"an idle page, CPU per wall second, by CPU slowdown: {', '.join(line)}")


def main(quick: bool = False) -> None:
    rounds = 3 if quick else 12
    with tempfile.TemporaryDirectory() as tmp_name, DemoShop() as shop:
        tmp = Path(tmp_name)
        (tmp / "networks.yaml").write_text(LAN, encoding="utf-8")
        os.environ.setdefault("ORDERPROBE_DEMO_PASSWORD", "demo-pass")
        item_profile = load_catalogue([tmp]).profile(device="desktop-chrome", network="lan")
        item = MatrixItem(probe="subsidy_checkout", profile=item_profile)
        target = Target(shop.url, {f"{shop.payment_url}/*": "payment-gateway"}, embedded=True)
        sessions = {"harness": session_for(tmp, "off"), "harness+trace": session_for(tmp, "retain-on-failure")}
        times: dict[str, list[float]] = {"bare": [], "harness": [], "harness+trace": []}
        cpu: dict[str, list[float]] = {name: [] for name in times}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(**launch_options())
            bare(browser, target, item)  # warm up the shop and the browser
            for _ in range(rounds):
                shop.reset()
                wall, used = measured(lambda: bare(browser, target, item))
                times["bare"].append(wall)
                cpu["bare"].append(used)
                for name, session in sessions.items():
                    shop.reset()
                    wall, used = measured(lambda s=session: harness(browser, target, item, s))
                    times[name].append(wall)
                    cpu[name].append(used)
            # Timing fidelity: a delay injected on one route shows up in that step only.
            delays = []
            for _ in range(rounds):
                shop.reset()
                base = harness(browser, target, item, sessions["harness"])[1].journey.steps
                shop.set_fault("slow_route", path="/subsidy", ms=500)
                slow = harness(browser, target, item, sessions["harness"])[1].journey.steps
                shop.clear_faults()
                delays.append((slow[0].duration_ms - base[0].duration_ms, slow[2].duration_ms - base[2].duration_ms))
            browser.close()
        med = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"subsidy checkout (desktop, no CPU slowdown), {rounds} interleaved rounds, per journey (context → close):"
        )
        for name, value in med.items():
            print(
                f"  {name:<14} wall {value * 1000:8.1f} ms ×{value / med['bare']:.3f}"
                f"   CPU {_ratio(cpu[name], cpu['bare'])}"
            )
        phone(tmp, shop, target, rounds)
        throttle_cost(tmp, shop, target, 1.0 if quick else 3.0, rounds)
    opened = statistics.median(d[0] for d in delays)
    other = statistics.median(d[1] for d in delays)
    print(f"injected 500 ms on /subsidy: step 'open subsidy page' +{opened:.1f} ms "
          f"({(opened - 500) / 5:+.1f}% of D), step 'pay' {other:+.1f} ms")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp_name:
        for workers in ("0", "2"):
            seconds = startup(Path(tmp_name), workers)
            print(f"orderprobe run -n {workers}: first step starts {seconds:.2f} s after launch")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    main(quick=parser.parse_args().quick)
