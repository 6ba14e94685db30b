"""Detection latency and false alarms with and without retries and a quorum, side by side.

Three agents (hk, sh, urumqi) run one job every 5 minutes (offset from each other) against a
seeded flaky shop for simulated days. The alerting is the real one: ``incidents.assess`` and
``Incidents.after_run`` on one SQLite file shared by the three agents' ``Records`` (claims,
joins, quorum), with an injected clock. What is simulated is the shop and the browser: each
journey attempt fails with a small probability (the flakiness Checkly's retries target); each
agent now and then has a half hour of its own bad link, where its journeys fail half the time
with a checkout-looking cause (what a quorum of locations is for); and every few hours the
checkout really breaks everywhere for 30 minutes. A real browser run takes tens of seconds
here, so days of runs in every configuration are only affordable this way.

A false alarm is a checkout incident opened outside a real outage; latency is from the
outage's start to its incident opening (on the first agent that announces it).

    python -m benchmarks.agreement [--days 2] [--seed 11] [--quick]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orderprobe.base.result import Cause, FailurePoint, JourneyResult, Status
from orderprobe.scheduler.config import AlertRule, JobConfig
from orderprobe.scheduler.incidents import Incidents, assess
from orderprobe.scheduler.records import JobRun, Records

LOCATIONS = ("hk", "sh", "urumqi")
EVERY = timedelta(minutes=5)
JOURNEYS = 4
FLAKE = 0.04  # one attempt of one journey fails on a healthy shop
BAD_LINK = (0.004, timedelta(minutes=30), 0.5)  # per run: starts; lasts; journeys failing meanwhile
OUTAGE = (timedelta(hours=6), timedelta(minutes=30))  # one real outage per period, this long
T0 = datetime(2026, 11, 1, tzinfo=UTC)
PAY = Cause(category="payment", detail="gateway_timeout", summary="支付超时")


class Clock:
    now = T0

    def __call__(self) -> datetime:
        return self.now


def _journey(run_id: str, n: int, statuses: list[Status], when: datetime) -> JourneyResult:
    def one(status: Status) -> JourneyResult:
        failed = status is Status.FAILED
        return JourneyResult(
            id=f"{run_id}-{n}", run_id=run_id, probe=f"p{n}", nodeid=f"t::p{n}", profile="a/b/c/d", status=status,
            started_at=when, duration_ms=1.0, cause=PAY if failed else None,
            failure=FailurePoint(step="pay", error_type="TimeoutError", message="timeout") if failed else None,
        )  # fmt: skip

    attempts = [one(s) for s in statuses]
    final = attempts[-1]
    status = Status.FLAKY if len(statuses) > 1 and statuses[-1] is Status.PASSED else final.status
    return final.model_copy(update={"status": status, "previous_attempts": attempts[:-1]})


def world(rng: random.Random, days: float) -> tuple[list[tuple[datetime, datetime]], dict[str, list]]:
    """The seeded shop: real outages, and each location's own bad-link spells."""
    end = T0 + timedelta(days=days)
    outages, at = [], T0
    while at < end:
        start = at + rng.random() * (OUTAGE[0] - OUTAGE[1])
        outages.append((start, start + OUTAGE[1]))
        at += OUTAGE[0]
    links: dict[str, list] = {}
    for where in LOCATIONS:
        spells, t = [], T0
        while t < end:
            if rng.random() < BAD_LINK[0]:
                spells.append((t, t + BAD_LINK[1]))
            t += EVERY
        links[where] = spells
    return outages, links


def simulate(days: float, seed: int, retries: int, quorum: int | None, open_after: int) -> dict:
    rng = random.Random(seed)
    outages, links = world(random.Random(seed), days)
    rule = AlertRule(open_after=open_after, resolve_after=2, remind_every=None, quorum=quorum, channels=("c",))
    job = JobConfig(id="smoke", every=300, matrix="smoke", alert=rule)
    clock = Clock()
    shm = Path("/dev/shm")  # the alerting's SQL on a RAM disk: the measure is alerts, not fsync
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
        url = f"sqlite:///{Path(tmp) / 'alerts.db'}"
        agents = {w: Records(url, w, w) for w in LOCATIONS}
        incidents = {w: Incidents(r, clock=clock) for w, r in agents.items()}
        events: list[tuple[datetime, str]] = []  # the checkout incident's opens and resolutions
        slots = [(T0 + k * EVERY + i * EVERY / len(LOCATIONS), w) for k in range(int(days * 288))
                 for i, w in enumerate(LOCATIONS)]  # fmt: skip
        for n, (when, where) in enumerate(slots):
            clock.now = when
            down = any(a <= when < b for a, b in outages)
            bad_link = any(a <= when < b for a, b in links[where])

            def attempt(bad_link: bool = bad_link, down: bool = down) -> Status:
                p = 1.0 if down else (BAD_LINK[2] if bad_link else FLAKE)
                return Status.FAILED if rng.random() < p else Status.PASSED

            run_id = f"smoke-{n}"
            journeys = []
            for j in range(JOURNEYS):
                statuses = [attempt()]
                while statuses[-1] is Status.FAILED and len(statuses) <= retries:
                    statuses.append(attempt())
                journeys.append(_journey(run_id, j, statuses, when))
            verdict = assess(journeys, 0 if all(x.status.ok for x in journeys) else 1, False)
            run = JobRun(run_id=run_id, job="smoke", started_at=when, finished_at=when + timedelta(seconds=40),
                         outcome="completed", verdict=verdict.verdict, checkout_bad=verdict.signals["checkout"],
                         probe_bad=verdict.signals["probe_broken"], flaky_bad=verdict.signals["flaky"],
                         location_bad=verdict.signals["location"], cleanup_bad=verdict.signals["cleanup"])  # fmt: skip
            agents[where].save_run(run)
            events += [(when, a.event) for a in incidents[where].after_run(job, run) if a.kind == "checkout"]
        for r in agents.values():
            r.close()
    opened = [t for t, event in events if event == "open"]

    def open_at(moment: datetime) -> bool:  # an incident (a false alarm) already open: the on-call knows
        state = [e for t, e in events if t <= moment]
        return bool(state) and state[-1] == "open"

    latencies, missed = [], 0
    for start, end in outages:
        hits = [t for t in opened if start <= t < end + 2 * EVERY]
        if open_at(start):
            latencies.append(0.0)
        elif hits:
            latencies.append((hits[0] - start).total_seconds())
        else:
            missed += 1
    false_alarms = sum(1 for t in opened if not any(a <= t < b + 2 * EVERY for a, b in outages))
    return {"latency": latencies, "false": false_alarms, "missed": missed, "outages": len(outages)}


def main(quick: bool = False, days: float | None = None, seed: int = 11) -> None:
    days = days or (0.25 if quick else 1.0)
    print(f"{days:g} simulated days, 3 locations every 5 min, {JOURNEYS} journeys, attempt flake {FLAKE:.0%}, "
          f"a location's own bad link {BAD_LINK[0]:.1%}/run for 30 min, a real 30-min outage every 6 h")  # fmt: skip
    print(f"{'open_after':>10} {'retries':>7} {'quorum':>6} | {'false alarms/day':>16} {'missed':>6} "
          f"{'latency mean':>12} {'max':>6}")  # fmt: skip
    base: tuple[float, float] | None = None
    # Alert on the first bad run (as Checkly and Datadog do after their retries), each remedy alone and
    # together; then the default rule (two bad runs in a row) without and with both.
    for open_after, retries, quorum in ((1, 0, None), (1, 1, None), (1, 0, 2), (1, 1, 2), (2, 0, None), (2, 1, 2)):
        r = simulate(days, seed, retries, quorum, open_after)
        mean = statistics.mean(r["latency"]) / 60 if r["latency"] else float("nan")
        worst = max(r["latency"]) / 60 if r["latency"] else float("nan")
        per_day = r["false"] / days
        base = base or (per_day, mean)
        vs = f"{per_day / base[0]:.2f}× the false alarms, {mean - base[1]:+.1f} min" if base[0] else ""
        print(f"{open_after:>10} {retries:>7} {quorum or '-':>6} | {per_day:>16.1f} {r['missed']:>3}/{r['outages']:<2} "
              f"{mean:>9.1f} min {worst:>4.1f}  {vs}", flush=True)  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.agreement")
    parser.add_argument("--days", type=float)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    main(quick=args.quick, days=args.days, seed=args.seed)
