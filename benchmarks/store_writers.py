"""Store write throughput with 1, 2 and 3 concurrent writers on one PostgreSQL (prints; asserts nothing).

Issue 18: shards and agents at several locations write into one PostgreSQL store at once.
Each writer is its own process writing its own run journey by journey (``add_journey``:
what the ``store`` reporter does as each journey lands) into a fresh database on a
throwaway cluster (fsync on, as in production). Printed: journeys and table rows per
second over the wall time from the first writer's start to the last one's end, and the
ratio to one writer (ideal: the number of writers; the machine's cores bound it).

    python -m benchmarks store_writers [--quick]
"""

from __future__ import annotations

import multiprocessing
import random
import time
from datetime import UTC, datetime, timedelta

from orderprobe.store.schema import rows
from orderprobe.store.store import Store
from tests.support import sample
from tests.support.postgres import cluster

T0 = datetime(2026, 11, 11, tzinfo=UTC)


def _journeys(writer: int, runs: int) -> list:
    out = []
    for k in range(runs):
        run_id = f"w{writer}-r{k}"
        out += sample.run_journeys(random.Random(writer * 1000 + k), run_id, T0 + timedelta(minutes=k))
    return out


def _write(url: str, writer: int, runs: int, out: multiprocessing.Queue) -> None:
    journeys = _journeys(writer, runs)
    store = Store(url)
    try:
        start = time.time()
        for run_id in dict.fromkeys(j.run_id for j in journeys):
            store.start_run(run_id, started_at=T0, target="bench", matrix="presale", location=f"site-{writer}")
        for journey in journeys:
            store.add_journey(journey)
        out.put((start, time.time(), len(journeys), sum(len(v) for v in rows(journeys).values())))
    finally:
        store.close()


def _database(server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{server}/{name}"
    Store(url).close()  # tables created before the clock starts
    return url


def measure(server: str, writers: int, runs: int) -> tuple[float, float]:
    """(journeys/s, rows/s) of ``writers`` processes writing at once."""
    url = _database(server, f"bench_{writers}w")
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_write, args=(url, w, runs, out)) for w in range(writers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    wall = max(end for _, end, _, _ in results) - min(start for start, _, _, _ in results)
    return sum(r[2] for r in results) / wall, sum(r[3] for r in results) / wall


def main(quick: bool = False) -> None:
    runs = 5 if quick else 25  # 12 journeys a run
    with cluster() as server:
        figures = {n: measure(server, n, runs) for n in (1, 2, 3)}
    base = figures[1][0]
    print(f"store writers on PostgreSQL, {runs * 12} journeys per writer, one add_journey per transaction")
    print(f"{'writers':>8} {'journeys/s':>11} {'rows/s':>9} {'× 1 writer':>11} {'ideal':>6}")
    for n, (journeys, table_rows) in figures.items():
        print(f"{n:>8} {journeys:>11.1f} {table_rows:>9.0f} {journeys / base:>11.2f} {n:>6}")


if __name__ == "__main__":
    main()
