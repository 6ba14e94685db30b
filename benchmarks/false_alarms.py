"""No false alarms: healthy shops under the built-in matrices and the metro signal.

Every journey must meet its expectation (expected refusals are ``blocked``, a pass); anything
else on a healthy shop is either the emulated network really breaking it (metro dropouts: the
emulation's honest cost, named ``network/*``) or a false alarm an on-call engineer would be paged
for (any other cause: a misnamed journey). Both emulation modes, side by side:

* the demo shop: ``presale`` and ``paths`` matrices on their own profiles (wifi / 4g / metro-weak
  rows), and the path probes on ``metro-weak`` (android-low), ``--seeds`` runs (fresh dropout
  seeds each);
* three corpus storefronts made live checkouts (benchmarks/corpus_shops.py: WooCommerce, Magento
  Luma, Shopify Dawn with a CDN script and its local fallback), probes in benchmarks/corpus_probes:
  on wifi and slow-4g (a healthy shop: 100 % passed) and ``--seeds`` journeys each on metro-weak.

The shops are healthy and deterministic, so every failure is the emulated network's doing: the
last line is the count of those NOT named network (goal 0).

    python -m benchmarks.false_alarms [--runs 1] [--seeds 20] [--quick] [--modes packet,cdp]
                                      [--rows matrices,metro,corpus]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.corpus_shops import PROBES as CORPUS_PROBES
from benchmarks.corpus_shops import CorpusShops
from orderprobe.base.result import JourneyResult
from orderprobe.store.store import Store

PATH_PROBES = ("video_feed_checkout", "live_room_checkout", "subsidy_checkout", "coupon_checkout")
METRO = "android-low/metro-weak/shanghai/normal"
ROWS = ("matrices", "metro", "corpus")


def verdict(j: JourneyResult) -> str:
    """ok | network (the emulated network broke it, and it was named so) | misnamed."""
    if j.status.ok:
        return "ok"
    return "network" if j.cause is not None and j.cause.category == "network" else "misnamed"


def run(tmp: Path, db: str, run_id: str, mode: str, args: list[str], env: dict[str, str]) -> list[JourneyResult]:
    cmd = [sys.executable, "-m", "orderprobe", "run", *args, "-n", "2", "--no-progress", "--no-report",
           "--emulation", mode, "--results", db, "--artefacts", str(tmp / "art"), "--run-id", run_id]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ, **env})
    if done.returncode not in (0, 1):  # not "passed" or "journeys failed": the run itself went wrong
        print(f"  run {run_id} exited {done.returncode}:\n{(done.stdout + done.stderr)[-2000:]}", flush=True)
    store = Store(db)
    try:
        return store.journeys(run_id)
    finally:
        store.close()


def plans(
    rows: set[str], quick: bool, runs: int, seeds: int, corpus_url: str
) -> list[tuple[str, list[str], int, dict]]:
    """(label, arguments, times, environment) of each row."""
    out: list[tuple[str, list[str], int, dict]] = []
    if "matrices" in rows:
        out += [(f"{m} matrix", ["--matrix", m], runs, {}) for m in ("presale", "paths")]
    if "metro" in rows:
        probes = [a for p in (PATH_PROBES[:1] if quick else PATH_PROBES) for a in ("--probe", p)]
        out.append((f"paths on {METRO}", [*probes, "--profile", METRO], seeds, {}))
    if "corpus" in rows:
        # The corpus probes sign in nowhere; the profiles' account still names its password variable.
        base = {"ORDERPROBE_DEMO_PASSWORD": os.environ.get("ORDERPROBE_DEMO_PASSWORD", "unused")}
        target = [str(CORPUS_PROBES), "--target", corpus_url]
        for network in ("wifi", "slow-4g"):
            profile = f"android-mid/{network}/shanghai/normal"
            out.append(
                (f"corpus on {profile}", [*target, "--profile", profile], 1, {**base, "ORDERPROBE_BENCH_DRAWS": "1"})
            )
        # One run, each probe ``seeds`` times in it (a fresh dropout seed per journey).
        out.append((f"corpus on {METRO} ×{seeds} each", [*target, "--profile", METRO], 1,
                    {**base, "ORDERPROBE_BENCH_DRAWS": str(seeds)}))  # fmt: skip
    return out


def main(
    quick: bool = False, runs: int | None = None, seeds: int | None = None, modes: str = "packet,cdp",
    rows: str = ",".join(ROWS),
) -> None:  # fmt: skip
    runs = runs or 1
    seeds = seeds or (2 if quick else 20)
    chosen = set(rows.split(","))
    if unknown := chosen - set(ROWS):
        raise SystemExit(f"--rows: {', '.join(sorted(unknown))} not one of {', '.join(ROWS)}")
    table: list[tuple[str, str, Counter[str]]] = []
    misnamed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp_name, CorpusShops() as shops:
        tmp = Path(tmp_name)
        db = f"sqlite:///{tmp / 'results.db'}"
        for mode in modes.split(","):
            for n_row, (label, args, times, env) in enumerate(plans(chosen, quick, runs, seeds, shops.url)):
                tally: Counter[str] = Counter()
                t0 = time.monotonic()
                for n in range(times):
                    for j in run(tmp, db, f"{mode}-{n_row}-{n}", mode, args, env):
                        tally[verdict(j)] += 1
                        if verdict(j) == "misnamed":
                            why = f"{j.cause.category}/{j.cause.detail}" if j.cause else ""
                            misnamed.append(f"{mode} {j.probe} [{j.profile}] {j.status.value} @{j.failed_step}: {why}")
                table.append((mode, f"{label}{f' ×{times}' if times > 1 else ''}", tally))
                print(f"  {mode} {label} ×{times}: {dict(tally)} in {time.monotonic() - t0:.0f} s", flush=True)
    print(f"\n{'mode':<7} {'rows':<58} {'journeys':>8} {'ok':>5} {'network broke':>14} {'misnamed':>9}")
    for mode, label, t in table:
        print(f"{mode:<7} {label:<58} {sum(t.values()):>8} {t['ok']:>5} {t['network']:>14} {t['misnamed']:>9}")
    for line in misnamed:
        print(f"  misnamed: {line}")
    broke = sum(t["network"] + t["misnamed"] for _, _, t in table)
    print(f"journeys the emulated network broke: {broke}; named network: {broke - len(misnamed)}")
    print(f"broken by the emulated network and NOT named network (false alarms, goal 0): {len(misnamed)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, help="runs of each matrix (default 1)")
    parser.add_argument("--seeds", type=int, help="metro journeys per probe (default 20; --quick 2)")
    parser.add_argument("--modes", default="packet,cdp")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"which rows: {','.join(ROWS)}")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    main(quick=args.quick, runs=args.runs, seeds=args.seeds, modes=args.modes, rows=args.rows)
