"""Soak the monitoring service: hundreds of runs with shortened intervals.

The real service (`orderprobe schedule`, its own process) runs two jobs against the
demo shop for ``--minutes``: a browser job (real `orderprobe run`, Chromium) and a
cheap one every second; ``payment_down`` is switched on and off so incidents open,
alert a local webhook and resolve. Printed at the end:

- RSS growth of the service process (after warm-up → end), %
- leaked processes: anything started under the service (it and its runs carry a marker
  env var) still alive after it stopped, and how many of those are Chromium
- start-time jitter (actual start − scheduled fire time): p50 / p95 / max
- runs by job and verdict, alerts received

    python -m benchmarks.scheduler_soak --minutes 60     (the issue's 1-hour soak)
    python -m benchmarks scheduler_soak --quick         (2 minutes)
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from orderprobe.scheduler.execution import alive

MARKER = "ORDERPROBE_SOAK"


@dataclass
class SoakResult:
    minutes: float
    runs: dict[str, dict[str, int]] = field(default_factory=dict)
    jitter_s: list[float] = field(default_factory=list)
    rss_kb: list[tuple[float, int]] = field(default_factory=list)  # (elapsed s, RSS)
    leaked_browsers: list[int] = field(default_factory=list)
    leaked_tagged: list[int] = field(default_factory=list)
    unfinished_runs: int = 0
    alerts: int = 0
    exit_code: int | None = None

    @property
    def rss_growth_pct(self) -> float:
        """From the end of warm-up (a fifth of the soak) to the end, as a percentage."""
        if len(self.rss_kb) < 2:
            return 0.0
        warm = max(self.rss_kb[-1][0] / 5, self.rss_kb[0][0])
        baseline = next(kb for t, kb in self.rss_kb if t >= warm)
        return 100.0 * (self.rss_kb[-1][1] - baseline) / baseline

    def jitter(self, q: float) -> float:
        ordered = sorted(self.jitter_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None


def _descendants_of_soak(token: str) -> dict[int, bytes]:
    """Live processes started under this soak's service (they inherit its marker env var): pid → argv0.

    Other people's browsers on a shared machine do not carry it, so they are not counted.
    """
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as f:
                    if f"{MARKER}={token}".encode() not in f.read().split(b"\0"):
                        continue
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    argv0 = f.read().split(b"\0", 1)[0]
            except OSError:
                continue
            if alive(int(entry.name)):
                found[int(entry.name)] = argv0
    return found


def soak(minutes: float, browser_every: float = 10.0, tick_every: float = 1.0, fault_every: float = 120.0,
         work: Path | None = None, at_least: dict[str, int] | None = None) -> SoakResult:  # fmt: skip
    """Soak for ``minutes``, then on until each job in ``at_least`` has finished that many runs: on a
    loaded machine a minute holds fewer runs, and a short soak must still see enough of them."""
    from orderprobe.probes.fixtures import DEMO_SECRETS
    from orderprobe.scheduler.records import Records
    from orderprobe.shop.server import DemoShop
    from tests.support.receivers import WebhookReceiver

    work = work or Path(tempfile.mkdtemp(prefix="orderprobe-soak-"))
    db = f"sqlite:///{work / 'orderprobe.db'}"
    shop = DemoShop(port=0, payment_port=0)
    shop.start()
    receiver = WebhookReceiver().start()
    config = work / "schedules.yaml"
    config.write_text(
        f"""
database: {db}
artefacts: {work / "artefacts"}
shutdown_grace: 30s
metrics: {{port: 0}}
channels:
  hook: {{type: webhook, url_env: SOAK_HOOK}}
jobs:
  - id: browser
    probes: [subsidy_checkout]
    target: {shop.url}
    every: {browser_every}s
    timeout: 120s
    alert: {{open_after: 2, resolve_after: 1, channels: [hook], low_urgency: [hook]}}
  - id: tick
    every: {tick_every}s
    command: ['{{python}}', '-c', 'pass']
""",
        encoding="utf-8",
    )
    # Unique per soak: a tmp_path's last part ("test_a_short_soak_…0") repeats across pytest sessions,
    # and two checkouts' suites soaking at once would count each other's live processes as leaks.
    token = f"{work.name}-{uuid.uuid4().hex}"
    env = {**os.environ, **DEMO_SECRETS, "SOAK_HOOK": receiver.url("/soak"), MARKER: token}
    log = open(work / "service.log", "wb")  # noqa: SIM115 - closed below
    service = subprocess.Popen(
        [sys.executable, "-m", "orderprobe", "schedule", "--config", str(config)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    result = SoakResult(minutes)
    start = time.monotonic()
    end = start + minutes * 60
    next_fault = start + fault_every
    fault_on = False
    try:
        while (time.monotonic() < end or not _finished(db, at_least or {})) and service.poll() is None:
            rss = _rss_kb(service.pid)
            if rss:
                result.rss_kb.append((time.monotonic() - start, rss))
            if time.monotonic() >= next_fault:
                fault_on = not fault_on
                shop.set_fault("payment_down") if fault_on else shop.clear_faults()
                next_fault += fault_every
            time.sleep(min(5.0, max(1.0 if at_least else 0.0, end - time.monotonic())))
        service.send_signal(signal.SIGTERM)
        result.exit_code = service.wait(timeout=120)
    finally:
        if service.poll() is None:
            service.kill()
        log.close()
        shop.stop()
        receiver.stop()
    deadline = time.monotonic() + 10  # Chromium processes take a moment to exit after their parent
    while time.monotonic() < deadline and _descendants_of_soak(token):
        time.sleep(0.2)
    left = _descendants_of_soak(token)
    result.leaked_browsers = sorted(p for p, argv0 in left.items() if b"chrom" in argv0 or b"headless" in argv0)
    result.leaked_tagged = sorted(left)
    result.alerts = len(receiver.requests)
    records = Records(db)
    for run in records.runs(limit=1_000_000):
        counts = result.runs.setdefault(run.job, {})
        counts[run.verdict] = counts.get(run.verdict, 0) + 1
        if run.finished_at is None:
            result.unfinished_runs += 1
        if run.scheduled_at is not None:
            result.jitter_s.append((run.started_at - run.scheduled_at).total_seconds())
    records.close()
    return result


def _finished(db: str, at_least: dict[str, int]) -> bool:
    """Whether each job named has finished at least its count of runs (read from the service's store)."""
    if not at_least:
        return True
    from orderprobe.scheduler.records import Records

    records = Records(db)
    try:
        done: dict[str, int] = {}
        for run in records.runs(limit=1_000_000):
            if run.finished_at is not None:
                done[run.job] = done.get(run.job, 0) + 1
    finally:
        records.close()
    return all(done.get(job, 0) >= count for job, count in at_least.items())


def report(r: SoakResult) -> None:
    total = sum(sum(c.values()) for c in r.runs.values())
    print(f"soak: {r.minutes:g} min, {total} runs: " + "; ".join(f"{j} {c}" for j, c in sorted(r.runs.items())))
    if r.rss_kb:
        peak = max(kb for _t, kb in r.rss_kb)
        print(f"service RSS: {r.rss_kb[-1][1] / 1024:.1f} MB at end, peak {peak / 1024:.1f} MB; "
              f"growth after warm-up {r.rss_growth_pct:+.1f}% (target < 10%)")  # fmt: skip
    print(f"leaked browser processes: {len(r.leaked_browsers)}; processes of the service left: {len(r.leaked_tagged)}; "
          f"unfinished runs: {r.unfinished_runs}")  # fmt: skip
    if r.jitter_s:
        print(f"start-time jitter: p50 {r.jitter(0.5) * 1000:.0f} ms, p95 {r.jitter(0.95) * 1000:.0f} ms, "
              f"max {max(r.jitter_s) * 1000:.0f} ms over {len(r.jitter_s)} runs (target p95 < 1 s)")  # fmt: skip
    print(f"alerts received: {r.alerts}; service exit code after SIGTERM: {r.exit_code}")


def main(quick: bool = False, minutes: float | None = None) -> None:
    report(soak(minutes if minutes is not None else (2 if quick else 60)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scheduler_soak")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="2 minutes")
    args = parser.parse_args()
    main(quick=args.quick, minutes=None if args.quick else args.minutes)
