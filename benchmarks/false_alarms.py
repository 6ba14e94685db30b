"""No false alarms: the healthy demo shop under the built-in matrices and the metro signal.

Every journey must meet its expectation (expected refusals are ``blocked``, a pass); anything
else on a healthy shop is either the emulated network really breaking it (metro dropouts: the
emulation's honest cost, named ``network/*``) or a false alarm an on-call engineer would be paged
for (any other cause: a misnamed journey). Both emulation modes, side by side:

* ``presale`` and ``paths`` matrices on their own profiles (wifi / 4g / metro-weak rows);
* the path probes on ``metro-weak`` (android-low), ``--seeds`` runs (fresh dropout seeds each).

    python -m benchmarks.false_alarms [--runs 1] [--seeds 20] [--quick] [--modes packet,cdp]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from probes.result import JourneyResult
from reports.store import Store

PATH_PROBES = ("video_feed_checkout", "live_room_checkout", "subsidy_checkout", "coupon_checkout")
METRO = "android-low/metro-weak/shanghai/normal"


def verdict(j: JourneyResult) -> str:
    """ok | network (the emulated network broke it, and it was named so) | misnamed."""
    if j.status.ok:
        return "ok"
    return "network" if j.cause is not None and j.cause.category == "network" else "misnamed"


def run(tmp: Path, db: str, run_id: str, mode: str, args: list[str]) -> list[JourneyResult]:
    cmd = [sys.executable, "-m", "probes.cli", "run", *args, "-n", "2", "--no-progress", "--no-report",
           "--emulation", mode, "--results", db, "--artefacts", str(tmp / "art"), "--run-id", run_id]  # fmt: skip
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    store = Store(db)
    try:
        return store.journeys(run_id)
    finally:
        store.close()


def main(quick: bool = False, runs: int | None = None, seeds: int | None = None, modes: str = "packet,cdp") -> None:
    runs = runs or 1
    seeds = seeds or (2 if quick else 20)
    rows: list[tuple[str, str, Counter[str]]] = []
    misnamed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = f"sqlite:///{tmp / 'results.db'}"
        for mode in modes.split(","):
            plans = [(f"{m} matrix", ["--matrix", m], runs) for m in ("presale", "paths")]
            probes = [a for p in (PATH_PROBES[:1] if quick else PATH_PROBES) for a in ("--probe", p)]
            plans.append((f"paths on {METRO}", [*probes, "--profile", METRO], seeds))
            for label, args, times in plans:
                tally: Counter[str] = Counter()
                t0 = time.monotonic()
                for n in range(times):
                    for j in run(tmp, db, f"{mode}-{label.split()[0]}-{n}", mode, args):
                        tally[verdict(j)] += 1
                        if verdict(j) == "misnamed":
                            why = f"{j.cause.category}/{j.cause.detail}" if j.cause else ""
                            misnamed.append(f"{mode} {j.probe} [{j.profile}] {j.status.value} @{j.failed_step}: {why}")
                rows.append((mode, f"{label} ×{times}", tally))
                print(f"  {mode} {label} ×{times}: {dict(tally)} in {time.monotonic() - t0:.0f} s", flush=True)
    print(f"\n{'mode':<7} {'rows':<48} {'journeys':>8} {'ok':>5} {'network broke':>14} {'misnamed':>9}")
    for mode, label, t in rows:
        print(f"{mode:<7} {label:<48} {sum(t.values()):>8} {t['ok']:>5} {t['network']:>14} {t['misnamed']:>9}")
    for line in misnamed:
        print(f"  misnamed: {line}")
    print(f"misnamed journeys (false alarms): {len(misnamed)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, help="runs of each matrix (default 1)")
    parser.add_argument("--seeds", type=int, help="runs of the metro row (default 20; --quick 2)")
    parser.add_argument("--modes", default="packet,cdp")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    main(quick=args.quick, runs=args.runs, seeds=args.seeds, modes=args.modes)
