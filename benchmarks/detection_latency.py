"""Detection latency: from switching ``payment_down`` on to the alert arriving at a webhook.

The real service runs a browser job (real `orderprobe run` against the demo shop) every
``--interval`` seconds with ``open_after: 1``; the fault goes on at a random moment of the
cycle, and the latency is measured to the webhook receiver's clock. The issue's bound
is one interval plus one run duration; printed per trial and as a ratio to that bound.
With ``open_after: K`` add (K − 1) intervals.

    python -m benchmarks.detection_latency [--interval 15] [--trials 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path


def measure(interval: float, trials: int, seed: int = 618) -> list[tuple[float, float]]:
    """[(latency s, bound s)] per trial; bound = interval + median duration of the runs so far."""
    from orderprobe.probes.fixtures import DEMO_SECRETS
    from orderprobe.scheduler.config import parse
    from orderprobe.scheduler.records import Records
    from orderprobe.scheduler.service import Service
    from orderprobe.shop.server import DemoShop
    from tests.support.receivers import WebhookReceiver, wait_until

    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="orderprobe-latency-"))
    db = f"sqlite:///{work / 'orderprobe.db'}"
    shop = DemoShop(port=0, payment_port=0)
    shop.start()
    receiver = WebhookReceiver().start()
    environ = {"LATENCY_HOOK": receiver.url("/alert")}
    text = f"""
database: {db}
artefacts: {work / "artefacts"}
metrics: {{enabled: false}}
channels: {{hook: {{type: webhook, url_env: LATENCY_HOOK}}}}
jobs:
  - id: pay
    probes: [subsidy_checkout]
    target: {shop.url}
    every: {interval}s
    timeout: 120s
    alert: {{open_after: 1, resolve_after: 1, channels: [hook]}}
"""
    os.environ.update(DEMO_SECRETS)  # the runs sign in to the demo shop
    service = Service(parse(text, "latency.yaml", environ), environ=environ).start()
    records = Records(db)
    results = []
    try:
        wait_until(lambda: [r for r in records.runs("pay") if r.verdict == "passed"], "a passing run", 600)
        for trial in range(trials):
            time.sleep(rng.uniform(0, interval))  # a random phase of the schedule (a benchmark, not a test)
            seen = len(receiver.requests)
            switched = time.time()
            shop.set_fault("payment_down")
            (opened,) = receiver.wait_for(lambda r, n=seen: len(r) > n, timeout=600)[seen : seen + 1]
            latency = opened.at - switched
            durations = [r.duration_s for r in records.runs("pay") if r.duration_s and r.outcome == "completed"]
            bound = interval + statistics.median(durations)
            results.append((latency, bound))
            print(f"trial {trial + 1}: fault on → alert {latency:.1f} s; bound interval + run = {bound:.1f} s "
                  f"({latency / bound:.2f} of it)", flush=True)  # fmt: skip
            shop.clear_faults()
            receiver.wait_for(lambda r, n=seen: len(r) > n + 1, timeout=600)  # resolved before the next trial
    finally:
        service.stop(grace=0)
        records.close()
        shop.stop()
        receiver.stop()
    return results


def main(quick: bool = False, interval: float | None = None, trials: int | None = None) -> None:
    results = measure(interval or 15.0, trials or (1 if quick else 3))
    worst = max(results, key=lambda r: r[0] / r[1])
    print(
        f"detection latency: mean {statistics.mean(r[0] for r in results):.1f} s, worst {worst[0]:.1f} s "
        f"= {worst[0] / worst[1]:.2f} × (interval + run duration {worst[1]:.1f} s) over {len(results)} trials"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.detection_latency")
    parser.add_argument("--interval", type=float, default=15.0, help="job interval, seconds")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    main(quick=args.quick, interval=args.interval, trials=args.trials)
