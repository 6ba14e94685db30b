"""Harness overhead on a heavy storefront page, per tracing mode, and -n 2 vs serial.

* the same 8-step guest checkout on ``benchmarks.storefront`` (≥ 300 KB CSS, ≥ 1,500 DOM
  nodes a page), bare Playwright vs the orderprobe harness in each ``--tracing`` mode,
  interleaved in one session so drift hits all alike; median and IQR per journey;
* ``orderprobe run`` of 8 such journeys serial vs ``-n 2``, with where the CPU time went.

    python -m benchmarks.overhead [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.harness import LAN, session_for, tree_cpu
from benchmarks.storefront import Storefront, checkout
from orderprobe.base.tracing import MODES
from orderprobe.probes.browser import launch_options
from orderprobe.probes.emulation import context_options
from orderprobe.probes.journey_run import JourneyRun
from orderprobe.probes.target import Target
from orderprobe.profiles.catalogue import load_catalogue
from orderprobe.profiles.models import MatrixItem

PROBE = """
import pytest
from benchmarks.storefront import checkout


@pytest.mark.parametrize("n", range({n}))
def test_heavy_checkout(journey, page, target, n):
    checkout(page, target.base_url, journey.step)
"""


def _measure(journey) -> tuple[float, float]:
    c0, t0 = tree_cpu(), time.perf_counter()
    journey()
    return time.perf_counter() - t0, tree_cpu() - c0


def _bare(browser, options: dict, url: str) -> None:
    context = browser.new_context(**options)
    checkout(context.new_page(), url)
    context.close()


def _harness(browser, session, item, target: Target) -> None:
    run = JourneyRun(session, "bench::heavy", item, target)
    run.open(lambda: browser)
    checkout(run.page, target.base_url, run.journey.step)
    run.conclude(None, when="call")
    run.close()


def _spread(values: list[float], base: float) -> str:
    q1, _, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
    return f"×{statistics.median(values) / base:.3f}  (IQR ×{q1 / base:.3f}–×{q3 / base:.3f})"


def per_mode(tmp: Path, shop: Storefront, rounds: int) -> None:
    profile = load_catalogue([tmp]).profile(device="desktop-chrome", network="lan")
    item = MatrixItem(probe="heavy_checkout", profile=profile)
    target = Target(shop.url, {})
    sessions = {name: session_for(tmp, name) for name in MODES}
    times: dict[str, list[tuple[float, float]]] = {"bare": [], **{name: [] for name in sessions}}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        options = context_options(item.profile)
        _bare(browser, options, shop.url)  # warm the browser and the shop
        for _ in range(rounds):
            times["bare"].append(_measure(lambda: _bare(browser, options, shop.url)))
            for name, session in sessions.items():
                times[name].append(_measure(lambda s=session: _harness(browser, s, item, target)))
        browser.close()
    wall = statistics.median(t[0] for t in times["bare"])
    cpu = statistics.median(t[1] for t in times["bare"])
    print(f"heavy storefront, 8-step checkout, {rounds} interleaved rounds; "
          f"bare Playwright median {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU (process tree)")  # fmt: skip
    print(f"  {'':<34} {'wall time, ratio to bare':<34} CPU time, ratio to bare")
    for name, values in times.items():
        if name != "bare":
            note = "  ← default (a first attempt records nothing)" if name == "on-first-retry" else ""
            print(f"  --tracing {name:<24} {_spread([v[0] for v in values], wall):<34} "
                  f"{_spread([v[1] for v in values], cpu)}{note}")  # fmt: skip


def parallel(tmp: Path, shop: Storefront, journeys: int) -> None:
    probe = tmp / "test_heavy.py"
    probe.write_text(PROBE.format(n=journeys), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "ORDERPROBE_DEMO_PASSWORD": "x"}
    rows = {}
    for workers in ("0", "2", "0", "2"):  # interleaved twice; the better of two is reported
        before, cpu0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.process_time(), time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "orderprobe", "run", str(probe), "--target", shop.url, "-n", workers,
             "--profiles", str(tmp), "--device", "desktop-chrome", "--network", "lan", "--no-progress",
             "--reporter", "store", "--results", f"sqlite:///{tmp / 'par.db'}", "--artefacts", str(tmp / "art")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        server = time.process_time() - cpu0
        if workers not in rows or wall < rows[workers][0]:
            rows[workers] = (wall, cpu, server)
    cores = os.cpu_count() or 1
    serial = rows["0"][0]
    print(f"orderprobe run, {journeys} heavy journeys, {cores} cores:")
    for workers, (wall, cpu, server) in rows.items():
        ideal = 1 if workers == "0" else 2
        print(f"  -n {workers}: wall {wall:6.1f} s  ×{serial / wall:.2f} of serial (ideal ×{ideal}) "
              f"· CPU: probes+browsers {cpu:6.1f} s, shop {server:4.1f} s, "
              f"busy {(cpu + server) / wall / cores:4.0%} of {cores} cores")  # fmt: skip


def main(quick: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp_name, Storefront() as shop:
        tmp = Path(tmp_name)
        (tmp / "networks.yaml").write_text(LAN, encoding="utf-8")
        per_mode(tmp, shop, rounds=3 if quick else 15)
        parallel(tmp, shop, journeys=4 if quick else 8)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    main(quick=parser.parse_args().quick)
