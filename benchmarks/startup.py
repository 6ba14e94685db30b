"""What one ``orderprobe run`` costs beyond its journey, in CPU seconds of the whole process tree.

* ``orderprobe run`` of one journey (video feed checkout, android-mid/wifi, ``--emulation cdp``,
  ``--cpu-slowdown off`` as the bare script has none, ``-n 0`` and ``-n 2``) vs a bare Playwright
  script walking the same flow on the same embedded demo shop (its own process: interpreter,
  driver, Chromium, shop); interleaved rounds, medians;
* import CPU per process: any pytest process (the plugin is a ``pytest11`` entry point), an xdist
  worker (plugin, journey machinery, Playwright), the controller (plugin, checks, reporters), the
  results store within it (SQLAlchemy Core: its biggest import), and
  packet mode's link process (``tests/test_startup_imports.py`` says what each must not import);
* one Playwright driver start (``sync_playwright().start(); stop()``) without and with Node's
  compile cache (``probes/driver.py``; warm, as on a host that has run once), interleaved.
* one Chromium launch with two pages of the demo shop, with orderprobe's flags and with each
  of the flags kept for CPU (``WEIGHED``) left out, interleaved.

The runs start their drivers from the compile cache, as every ``orderprobe run`` does (warmed
first); the bare script is a plain Playwright script, without it.

CPU, not wall: on a shared machine wall time moves with other people's load. Each command runs
in a cgroup of its own where this process may make one (root: cgroup v1 cpuacct or v2), whose
count holds every process of the tree. ``RUSAGE_CHILDREN``, the fallback, counts a process only
once its parent reaps it: Chromium's zygote, renderers and GPU process are not reaped up to the
driver, and it misses about a third of a launch's CPU.

    python -m benchmarks.startup [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orderprobe.probes import driver
from orderprobe.shop.server import DemoShop

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
    "results store (the controller's store reporter)": "from orderprobe.reports.reporters import StoreReporter",
    "packet link's own process (LinkProcess)": "from orderprobe.probes.emulation.link import serve",
}


CGROUP_ROOTS = (Path("/sys/fs/cgroup/cpuacct"), Path("/sys/fs/cgroup"))  # v1 cpuacct, v2 unified


def _new_cgroup() -> Path | None:
    for root in CGROUP_ROOTS:
        if (root / "cpuacct.usage").exists() or (root / "cgroup.controllers").exists():
            group = root / f"orderprobe-bench-{os.getpid()}-{time.monotonic_ns()}"
            try:
                group.mkdir()
            except OSError:
                continue
            return group
    return None


def _cgroup_cpu(group: Path) -> float:
    """Seconds of CPU of every process that was in ``group``, once they have all ended."""
    procs = group / ("tasks" if (group / "tasks").exists() else "cgroup.procs")
    for _ in range(100):  # a zygote or renderer outlives the browser by a moment
        if not procs.read_text().strip():
            break
        time.sleep(0.05)
    if (group / "cpuacct.usage").exists():
        return int((group / "cpuacct.usage").read_text()) / 1e9
    stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
    return int(stat["usage_usec"]) / 1e6


def tree_cpu(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """CPU seconds (user + system) of ``cmd`` and every process under it."""
    group, named = _new_cgroup(), " ".join(cmd[:4])
    if group is not None:  # the shell joins the group, then becomes cmd: it and all it starts count there
        procs = group / ("tasks" if (group / "tasks").exists() else "cgroup.procs")
        cmd = ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(procs), *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"{named} … exited {done.returncode}: {done.stderr[-800:]}")
        if group is not None:
            return _cgroup_cpu(group)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    finally:
        if group is not None:
            with contextlib.suppress(OSError):  # a process still in it: an empty group left behind
                group.rmdir()


DRIVER_STARTS = "import sys\nfrom playwright.sync_api import sync_playwright\n" + (
    "for _ in range(int(sys.argv[1])):\n    sync_playwright().start().stop()\n"
)


def driver_start_cpu(tmp: Path, starts: int, rounds: int) -> dict[str, float]:
    """CPU of one driver start, without and with a warm compile cache: (k starts − none) / k."""
    script = tmp / "driver_starts.py"
    script.write_text(DRIVER_STARTS, encoding="utf-8")
    plain = {k: v for k, v in os.environ.items() if k != driver.CACHE_VAR}
    envs = {"without cache": {**plain, "NODE_DISABLE_COMPILE_CACHE": "1"}}
    envs["with cache"] = {**plain, driver.CACHE_VAR: str(tmp / "node-compile-cache")}
    subprocess.run([sys.executable, str(script), "1"], env=envs["with cache"], check=True)  # warm it
    cpu: dict[str, list[float]] = {name: [] for name in envs}
    for _ in range(rounds):
        for name, env in envs.items():
            none, some = (tree_cpu([sys.executable, str(script), str(k)], tmp, env) for k in (0, starts))
            cpu[name].append((some - none) / starts)
    return {name: statistics.median(values) for name, values in cpu.items()}


LAUNCHES = """
import json, sys
from playwright.sync_api import sync_playwright
from orderprobe.probes.browser import launch_options
url, launches, without = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
with sync_playwright() as pw:
    for _ in range(launches):
        options = launch_options()
        options["args"] = [a for a in options["args"] if a not in without]
        browser = pw.chromium.launch(**options)
        for _ in range(2):
            context = browser.new_context(viewport={"width": 390, "height": 844})
            page = context.new_page()
            page.goto(url)
            context.close()
        browser.close()
"""
OURS = "orderprobe's flags"
WEIGHED = ("--in-process-gpu",)  # LAUNCH_ARGS kept because they cut CPU, not because a launch needs them


def launch_cpu(tmp: Path, url: str, launches: int, rounds: int) -> dict[str, float]:
    """CPU of one launch (+ two pages) per variant: (k launches − none) / k, interleaved."""
    script = tmp / "launches.py"
    script.write_text(LAUNCHES, encoding="utf-8")
    variants = {OURS: [], **{f"without {flag}": [flag] for flag in WEIGHED}}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, without in variants.items():
            none, some = (
                tree_cpu([sys.executable, str(script), url, str(k), json.dumps(without)], tmp) for k in (0, launches)
            )
            cpu[name].append((some - none) / launches)
    return {name: statistics.median(values) for name, values in cpu.items()}


def run_command(tmp: Path, workers: str, round_no: int) -> list[str]:
    out = tmp / f"run-{workers}-{round_no}"
    return [
        sys.executable, "-m", "orderprobe", "run", "--probe", "video_feed_checkout", "--device", "android-mid",
        "--network", "wifi", "--emulation", "cdp", "--cpu-slowdown", "off", "-n", workers, "--no-progress",
        "--results", f"sqlite:///{out / 'r.db'}", "--artefacts", str(out / "art"), "--reports", str(out / "rep"),
    ]  # fmt: skip


def main(quick: bool = False) -> None:
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "bare.py").write_text(BARE, encoding="utf-8")
        names = ("bare Playwright script", "orderprobe run -n 0", "orderprobe run -n 2")
        cpu: dict[str, list[float]] = {name: [] for name in names}
        env = {**os.environ, **driver.environment()}  # a run's own cache folder, warmed before measuring
        subprocess.run([sys.executable, "-c", DRIVER_STARTS, "1"], env=env, check=True)
        for n in range(rounds):
            cpu["bare Playwright script"].append(tree_cpu([sys.executable, str(tmp / "bare.py")], tmp))
            for workers in ("0", "2"):
                cpu[f"orderprobe run -n {workers}"].append(tree_cpu(run_command(tmp, workers, n), tmp))
        imports: dict[str, list[float]] = {"bare interpreter": [], **{role: [] for role in ROLES}}
        for _ in range(3 if quick else 7):
            imports["bare interpreter"].append(tree_cpu([sys.executable, "-c", "pass"], tmp))
            for role, code in ROLES.items():
                imports[role].append(tree_cpu([sys.executable, "-c", code], tmp))
        starts = driver_start_cpu(tmp, starts=3 if quick else 10, rounds=1 if quick else 3)
        with DemoShop(port=0, payment_port=0) as shop:
            launches = launch_cpu(tmp, f"{shop.url}/feed", launches=3 if quick else 8, rounds=1 if quick else 5)
    med = {k: statistics.median(v) for k, v in cpu.items()}
    bare = med["bare Playwright script"]
    print(f"one journey (video feed checkout, android-mid/wifi, cdp), {rounds} interleaved round(s), CPU of the tree:")
    for name, value in med.items():
        print(f"  {name:<24} {value:6.2f} s   ratio vs bare {value / bare:.2f}   fixed cost {value - bare:+.2f} s")
    base = statistics.median(imports.pop("bare interpreter"))
    print(f"import CPU per process (median; bare interpreter {base * 1000:.0f} ms subtracted; {os.cpu_count()} CPUs):")
    for role, values in imports.items():
        print(f"  {role:<44} {(statistics.median(values) - base) * 1000:6.0f} ms")
    cold, warm = starts["without cache"], starts["with cache"]
    print("one Playwright driver start (sync_playwright().start(); stop()), CPU of the tree:")
    print(f"  without compile cache {cold * 1000:5.0f} ms   with {warm * 1000:5.0f} ms   ratio {warm / cold:.2f}")
    ours = launches.pop(OURS)
    print("one Chromium launch + two pages of the demo shop (median CPU of the tree per launch):")
    print(f"  {OURS:<26} {ours * 1000:5.0f} ms")
    for name, value in launches.items():
        print(f"  {name:<26} {value * 1000:5.0f} ms   ({(value - ours) * 1000:+.0f} ms per launch)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    main(quick=parser.parse_args().quick)
