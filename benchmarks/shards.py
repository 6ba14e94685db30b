"""A sweep split into 1, 2 and 3 local shards run at once, into one PostgreSQL store (prints;
asserts nothing).

Issue 18: ``--shard I/N`` lets N machines share a sweep. Here the N shards share this machine,
so the figure says what sharding costs and how far one machine's cores go: each shard is a
real ``orderprobe run --shard I/N --run-id ID -n 1`` process on the embedded demo shop, all N
started together; the wall time is the last one's end. Printed: seconds, speed-up over one
shard and its ratio to the ideal (N), and whether the merged run holds every journey once.

    python -m benchmarks shards [--quick]      (--quick: the smoke matrix instead of presale)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orderprobe.store.store import Store
from tests.support.postgres import cluster


def sweep(url: str, matrix: str, shards: int, tmp: Path) -> tuple[float, int, int]:
    """Wall seconds, journeys stored, distinct journeys stored."""
    run_id = f"bench-{matrix}-{shards}"
    env = {**os.environ, "ORDERPROBE_DEMO_PASSWORD": "demo-pass"}
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orderprobe",
                "run",
                "--matrix",
                matrix,
                "--shard",
                f"{i}/{shards}",
                "--run-id",
                run_id,
                "-n",
                "1",
                "--results",
                url,
                "--artefacts",
                str(tmp / "art"),
                "--reports",
                str(tmp / "rep"),
                "--no-progress",
                "--tracing",
                "off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )  # fmt: skip
        for i in range(1, shards + 1)
    ]
    for p in procs:
        p.wait()
    wall = time.perf_counter() - start
    store = Store(url)
    try:
        journeys = store.journeys(run_id)
    finally:
        store.close()
    return wall, len(journeys), len({(j.probe, j.profile) for j in journeys})


def main(quick: bool = False) -> None:
    matrix = "smoke" if quick else "presale"
    with tempfile.TemporaryDirectory() as name, cluster() as server:
        import psycopg

        with psycopg.connect(server.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE shards")
        url = f"{server}/shards"
        rows = {n: sweep(url, matrix, n, Path(name)) for n in (1, 2, 3)}
    base = rows[1][0]
    cores = os.cpu_count() or 1
    print(f"matrix {matrix}, shards run at once on this machine ({cores} cores), each with -n 1, one PostgreSQL:")
    for n, (wall, stored, distinct) in rows.items():
        speed = base / wall
        whole = "" if stored == distinct == rows[1][2] else "  ← lost or doubled"
        print(f"  {n} shard(s): {wall:6.1f} s  speed-up ×{speed:.2f} (ideal ×{n}, ratio {speed / n:.2f})"
              f"  · {stored} journeys stored, {distinct} distinct{whole}")  # fmt: skip


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    main(quick=parser.parse_args().quick)
