"""Harness overhead and timing fidelity, measured side by side in one run.

* bare Playwright vs the orderprobe harness (recorder + emulation + journey), the same
  subsidy checkout on the same browser and shop, interleaved so drift hits both alike;
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
    t0 = time.perf_counter()
    context = browser.new_context(**context_options(item.profile))
    page = context.new_page()
    flow(page, context, target, item.profile.account, lambda name: nullcontext())
    context.close()
    return time.perf_counter() - t0


def harness(browser: Browser, target: Target, item, session: ProbeSession) -> tuple[float, JourneyRun]:
    t0 = time.perf_counter()
    run = JourneyRun(session, "bench::subsidy", item, target)
    run.open(lambda: browser)
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
        with sync_playwright() as pw:
            browser = pw.chromium.launch(**launch_options())
            bare(browser, target, item)  # warm up the shop and the browser
            for _ in range(rounds):
                shop.reset()
                times["bare"].append(bare(browser, target, item))
                for name, session in sessions.items():
                    shop.reset()
                    times[name].append(harness(browser, target, item, session)[0])
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
    print(f"subsidy checkout, {rounds} interleaved rounds, median wall time per journey (context → close):")
    for name, value in med.items():
        print(f"  {name:<14} {value * 1000:8.1f} ms   ratio vs bare {value / med['bare']:.3f}")
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
