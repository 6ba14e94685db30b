"""The built-in path probes against a REMOTE demo shop: metro-weak on several seeds, and slow-4g.

    python -m benchmarks remote_journeys [--quick]

The demo shop runs in a second network namespace with its own address; its name (and its
payment host's) only a DNS zone on loopback knows, given as ``--resolver`` — so each journey
reaches it as it would a shop on the internet: across the emulated link, the uplink and the
link's resolver (``orderprobe run --target http://shop.orderprobe.test:PORT``, ``--emulation
auto``). Metro-weak draws a fresh dropout schedule per journey; each seed is one run of the four
path probes (android-low). Per row: the mode the journeys ran in, how many passed, how many the
emulated network broke and named ``network/*``, how many were misnamed (a false alarm), and the
median journey time. Nothing leaves this machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.false_alarms import PATH_PROBES, verdict
from orderprobe.base.result import JourneyResult
from orderprobe.probes.emulation.packet import unavailable
from orderprobe.shop.server import DemoShop
from orderprobe.store.store import Store
from tests.support.remote import RemoteHost, Zone

SHOP, PAY = "shop.orderprobe.test", "pay.orderprobe.test"


def run(tmp: Path, shop: DemoShop, zone: Zone, run_id: str, profile: str) -> list[JourneyResult]:
    db = f"sqlite:///{tmp / 'results.db'}"
    probes = [a for p in PATH_PROBES for a in ("--probe", p)]
    cmd = [sys.executable, "-m", "orderprobe", "run", *probes, "--profile", profile, "-n", "2", "--no-progress",
           "--no-report", f"--target=http://{SHOP}:{shop.port}", f"--resolver={zone.address}", "--results", db,
           "--artefacts", str(tmp / "art"), "--run-id", run_id]  # fmt: skip
    env = {**os.environ, "ORDERPROBE_DEMO_PASSWORD": "demo-pass"}  # the demo shop's test users
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
    store = Store(db)
    try:
        return store.journeys(run_id)
    finally:
        store.close()


def main(quick: bool = False) -> None:
    reason = unavailable()
    if reason:
        print(f"skipped: {reason}")
        return
    seeds = 2 if quick else 5
    plans = [("android-low/metro-weak/shanghai/normal", seeds), ("android-mid/slow-4g/shanghai/normal", 1)]
    with Zone() as zone, RemoteHost() as remote, tempfile.TemporaryDirectory() as tmp_name:
        zone.names.update({SHOP: remote.address, PAY: remote.address})
        shop = remote.serve(lambda: DemoShop(host="0.0.0.0", payment_host=PAY).start())
        shop.context.shop_url = f"http://{SHOP}:{shop.port}"  # its links and redirects use its public name
        try:
            load = os.getloadavg()[0]
            print(f"path probes against a remote shop ({len(PATH_PROBES)} journeys a run, load {load:.0f}):")
            for profile, runs in plans:
                tally: Counter[str] = Counter()
                modes: Counter[str] = Counter()
                durations: list[float] = []
                misnamed: list[str] = []
                t0 = time.monotonic()
                for n in range(runs):
                    for j in run(Path(tmp_name), shop, zone, f"{profile.split('/')[1]}-{n}", profile):
                        tally[verdict(j)] += 1
                        modes[j.emulation] += 1
                        durations.append(sum(s.duration_ms for s in j.steps) / 1000)
                        if verdict(j) == "misnamed":
                            misnamed.append(f"{j.probe} {j.status.value} @{j.failed_step}: {j.cause}")
                median = statistics.median(durations) if durations else float("nan")
                print(f"  {profile} ×{runs}: {sum(tally.values())} journeys ({dict(modes)}), passed {tally['ok']}, "
                      f"broken by the network and named so {tally['network']}, misnamed {tally['misnamed']}; "
                      f"median journey {median:.1f} s; {time.monotonic() - t0:.0f} s")  # fmt: skip
                for line in misnamed:
                    print(f"    misnamed: {line}")
        finally:
            shop.stop()


if __name__ == "__main__":
    main()
