"""No false alarms: the presale matrix on a healthy demo shop, N consecutive runs.

Every journey must meet its expectation (expected refusals are ``blocked``, a pass);
anything else on a healthy shop is a false alarm an on-call engineer would be paged for.

    python -m benchmarks.false_alarms [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from reports.store import Store


def main(quick: bool = False, runs: int | None = None) -> None:
    runs = runs or (1 if quick else 3)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = f"sqlite:///{tmp / 'results.db'}"
        alarms = 0
        for n in range(1, runs + 1):
            run_id = f"presale-{n}"
            t0 = time.monotonic()
            cmd = [sys.executable, "-m", "probes.cli", "run", "--matrix", "presale", "-n", "2", "--no-progress",
                   "--no-report", "--results", db, "--artefacts", str(tmp / "art"), "--run-id", run_id]  # fmt: skip
            code = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
            store = Store(db)
            journeys = store.journeys(run_id)
            store.close()
            statuses = Counter(j.status.value for j in journeys)
            bad = [j for j in journeys if not j.status.ok]
            alarms += len(bad)
            print(f"run {n}: exit {code}, {len(journeys)} journeys {dict(statuses)} in {time.monotonic() - t0:.0f} s")
            for j in bad:
                cause = f"{j.cause.category}/{j.cause.detail}" if j.cause else ""
                print(f"  false alarm: {j.probe} [{j.profile}] {j.status.value} @{j.failed_step}: {cause}")
    print(f"false alarms over {runs} consecutive presale runs: {alarms}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    main(quick=args.quick, runs=args.runs)
