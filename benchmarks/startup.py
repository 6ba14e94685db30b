"""What one ``orderprobe run`` costs beyond its journey, in CPU seconds of the whole process tree.

* ``orderprobe run`` of one journey (video feed checkout, android-mid/wifi, ``--emulation cdp``,
  ``-n 0`` and ``-n 2``) vs a bare Playwright script walking the same flow on the same embedded
  demo shop (its own process: interpreter, driver, Chromium, shop); interleaved rounds, medians;
* import CPU per process: any pytest process (the plugin is a ``pytest11`` entry point), an xdist
  worker (plugin, journey machinery, Playwright), the controller (plugin, checks, reporters), and
  packet mode's link process (``tests/test_startup_imports.py`` says what each must not import).

CPU, not wall: on a shared machine wall time moves with other people's load. Children's CPU
counts once they are reaped (``RUSAGE_CHILDREN``): Chromium's through the driver, the driver's
through Python.

    python -m benchmarks.startup [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BARE = """
import os, types
from contextlib import nullcontext
from playwright.sync_api import sync_playwright
from orderprobe.probes.browser import launch_options
from orderprobe.probes.checkout.test_paths import _cart_path  # the probe's own flow, without the harness
from orderprobe.probes.emulation import context_options
from orderprobe.probes.target import Target
from orderprobe.profiles.catalogue import load_catalogue
from orderprobe.shop.server import DemoShop

os.environ.update(ORDERPROBE_DEMO_PASSWORD="demo-pass", ORDERPROBE_DEMO_SMS_CODE="246810")
profile = load_catalogue().profile(device="android-mid", network="wifi")
with DemoShop(port=0, payment_port=0) as shop, sync_playwright() as pw:
    target = Target(shop.url, {f"{shop.payment_url}/*": "payment-gateway"}, embedded=True)
    browser = pw.chromium.launch(**launch_options())
    context = browser.new_context(**context_options(profile))
    page = context.new_page()
    journey = types.SimpleNamespace(step=lambda name: nullcontext())
    _cart_path(journey, page, context, target, profile, lambda: page.get_by_test_id("feed-cart").click())
    context.close()
    browser.close()
"""

ROLES = {
    "any pytest process (plugin)": "import pytest, orderprobe.probes.plugin",
    "xdist worker (plugin, journey, Playwright)": (
        "import pytest, xdist.remote, orderprobe.probes.plugin, orderprobe.probes.journey_run, playwright.sync_api"
    ),
    "controller (plugin, checks, reporters)": (
        "import pytest, xdist.dsession, orderprobe.probes.plugin, orderprobe.preflight, "
        "orderprobe.probes.progress, orderprobe.probes.events, orderprobe.reports.reporters, "
        "orderprobe.reports.junit, orderprobe.reports.run_report"
    ),
    "packet link's own process (LinkProcess)": "from orderprobe.probes.emulation.link import serve",
}


def tree_cpu(cmd: list[str], cwd: Path) -> float:
    """CPU seconds (user + system) of ``cmd`` and every process under it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} … exited {done.returncode}: {done.stderr[-800:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_command(tmp: Path, workers: str, round_no: int) -> list[str]:
    out = tmp / f"run-{workers}-{round_no}"
    return [
        sys.executable, "-m", "orderprobe", "run", "--probe", "video_feed_checkout", "--device", "android-mid",
        "--network", "wifi", "--emulation", "cdp", "-n", workers, "--no-progress",
        "--results", f"sqlite:///{out / 'r.db'}", "--artefacts", str(out / "art"), "--reports", str(out / "rep"),
    ]  # fmt: skip


def main(quick: bool = False) -> None:
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "bare.py").write_text(BARE, encoding="utf-8")
        names = ("bare Playwright script", "orderprobe run -n 0", "orderprobe run -n 2")
        cpu: dict[str, list[float]] = {name: [] for name in names}
        for n in range(rounds):
            cpu["bare Playwright script"].append(tree_cpu([sys.executable, str(tmp / "bare.py")], tmp))
            for workers in ("0", "2"):
                cpu[f"orderprobe run -n {workers}"].append(tree_cpu(run_command(tmp, workers, n), tmp))
        imports: dict[str, list[float]] = {"bare interpreter": [], **{role: [] for role in ROLES}}
        for _ in range(3 if quick else 7):
            imports["bare interpreter"].append(tree_cpu([sys.executable, "-c", "pass"], tmp))
            for role, code in ROLES.items():
                imports[role].append(tree_cpu([sys.executable, "-c", code], tmp))
    med = {k: statistics.median(v) for k, v in cpu.items()}
    bare = med["bare Playwright script"]
    print(f"one journey (video feed checkout, android-mid/wifi, cdp), {rounds} interleaved round(s), CPU of the tree:")
    for name, value in med.items():
        print(f"  {name:<24} {value:6.2f} s   ratio vs bare {value / bare:.2f}   fixed cost {value - bare:+.2f} s")
    base = statistics.median(imports.pop("bare interpreter"))
    print(f"import CPU per process (median; bare interpreter {base * 1000:.0f} ms subtracted; {os.cpu_count()} CPUs):")
    for role, values in imports.items():
        print(f"  {role:<44} {(statistics.median(values) - base) * 1000:6.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    main(quick=parser.parse_args().quick)
