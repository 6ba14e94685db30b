"""How long the reports take to render from a real SQLite store (prints figures; asserts nothing).

Targets from issue 7: the run report of a 500-journey run and the trend report over
50,000 stored journeys each render in under 2 s on this machine. Run with
``python -m benchmarks reports`` (``--quick``: 5,000 journeys instead of 50,000).
"""

from __future__ import annotations

import os
import random
import struct
import tempfile
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

from orderprobe.reports import run_report, trend
from orderprobe.store.store import Store, StoreSchemaError
from tests.support import sample


def _png(path: Path, width: int = 360, height: int = 640) -> None:
    """A real (noisy, ~40 KB) PNG where the engine would have put a failure screenshot."""
    rng = random.Random(1)
    rows = b"".join(
        b"\x00" + bytes(rng.getrandbits(8) if x % 41 == 0 else 240 for x in range(width * 3)) for _ in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
    )


def _timed(fn, repeat: int = 3) -> tuple[float, float, object]:
    """Median wall and CPU seconds: on a shared, loaded machine CPU time is the figure that travels."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return median(walls), median(cpus), result


def bench_run_report(folder: Path) -> None:
    store = Store(f"sqlite:///{folder / 'run.db'}")
    t0 = datetime.now(UTC)
    journeys = sample.run_journeys(random.Random(618), "run-500", t0, repeat=42, failing=0.1)
    store.start_run("run-500", started_at=t0, target="http://shop.localhost:8123", matrix="presale")
    store.add_journeys(journeys)
    store.finish_run("run-500", finished_at=t0 + timedelta(minutes=6), exit_code=1)
    artefacts = folder / "artefacts"
    shots = {j.failure.screenshot for j in journeys if j.failure and j.failure.screenshot}
    for shot in shots:
        _png(artefacts / shot)
    wall, cpu, page = _timed(lambda: run_report.render(store, "run-500", artefacts, "zh"))
    print(
        f"run report   {len(journeys)} journeys, {len(shots)} screenshots inlined, {len(page) / 1e6:.1f} MB HTML: "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU   (target < 2 s)"
    )
    store.close()


def bench_trend_report(journeys: int) -> None:
    """The history store is cached between runs (filling 50,000 journeys takes minutes on a busy machine)."""
    path = Path(tempfile.gettempdir()) / "orderprobe-bench" / f"history-{journeys}.db"
    path.parent.mkdir(exist_ok=True)
    try:
        store = Store(f"sqlite:///{path}")
    except StoreSchemaError:  # cached by an older orderprobe
        for stale in path.parent.glob(f"{path.name}*"):
            stale.unlink()
        store = Store(f"sqlite:///{path}")
    runs = journeys // (len(sample.PROBES) * len(sample.PROFILES))
    every = timedelta(days=6) / runs  # all of it inside the default 7-day window
    latest = store.runs(limit=1)
    if latest:
        now, fill = latest[0].started_at + every, "cached"
    else:
        now = datetime.now(UTC)
        start = now - runs * every
        outages = [
            (start + timedelta(days=1), start + timedelta(days=1, minutes=40), sample.CAUSES[0], "path_video"),
            (start + timedelta(days=3), start + timedelta(days=3, minutes=8), sample.CAUSES[3], None),
            (start + timedelta(days=5), start + timedelta(days=5, hours=2), sample.CAUSES[2], "path_live"),
        ]
        t = time.perf_counter()
        sample.fill(store, sample.history(random.Random(11), start=start, runs=runs, every=every, outages=outages))
        fill = f"filled in {time.perf_counter() - t:.0f} s"
    wall, cpu, (_, ctx) = _timed(lambda: trend.render(store, timedelta(days=7), "zh", now=now))
    print(
        f"trend report {ctx.journeys} journeys in {ctx.runs} runs ({fill}; {path}), {len(ctx.outages)} outages: "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU   (target < 2 s)"
    )
    store.close()


def main(quick: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="orderprobe-bench-") as tmp:
        folder = Path(tmp)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times grow with it)")
        bench_run_report(folder)
        bench_trend_report(5_000 if quick else 50_000)


if __name__ == "__main__":
    main()
