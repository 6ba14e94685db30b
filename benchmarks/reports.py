"""How long the reports take to render from a real SQLite store (prints figures; asserts nothing).

Targets from issue 7: the run report of a 500-journey run and the trend report over
50,000 stored journeys each render in under 2 s on this machine. Run with
``python -m benchmarks reports`` (``--quick``: 5,000 journeys instead of 50,000).
"""

from __future__ import annotations

import random
import struct
import tempfile
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

from reports import run_report, sample, trend
from reports.store import Store


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


def _timed(fn, repeat: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return median(times), result


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
    seconds, page = _timed(lambda: run_report.render(store, "run-500", artefacts, "zh"))
    context_s, _ = _timed(lambda: run_report.context(store, "run-500", artefacts, "zh"))
    print(
        f"run report   {len(journeys)} journeys, {len(shots)} screenshots inlined: "
        f"{seconds:.2f} s (context {context_s:.2f} s, template {seconds - context_s:.2f} s), "
        f"{len(page) / 1e6:.1f} MB HTML   target < 2 s"
    )
    store.close()


def bench_trend_report(folder: Path, journeys: int) -> None:
    store = Store(f"sqlite:///{folder / 'history.db'}")
    now = datetime.now(UTC)
    runs = journeys // (len(sample.PROBES) * len(sample.PROFILES))
    every = timedelta(days=6) / runs  # all of it inside the default 7-day window
    start = now - runs * every
    outages = [
        (start + timedelta(days=1), start + timedelta(days=1, minutes=40), sample.CAUSES[0], "path_video"),
        (start + timedelta(days=3), start + timedelta(days=3, minutes=8), sample.CAUSES[3], None),
        (start + timedelta(days=5), start + timedelta(days=5, hours=2), sample.CAUSES[2], "path_live"),
    ]
    t = time.perf_counter()
    sample.fill(store, sample.history(random.Random(11), start=start, runs=runs, every=every, outages=outages))
    fill_s = time.perf_counter() - t
    seconds, result = _timed(lambda: trend.render(store, timedelta(days=7), "zh", now=now))
    _, ctx = result
    print(
        f"trend report {ctx.journeys} journeys in {ctx.runs} runs (filled in {fill_s:.0f} s), "
        f"{len(ctx.incidents)} incidents: {seconds:.2f} s   target < 2 s"
    )
    store.close()


def main(quick: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="orderprobe-bench-") as tmp:
        folder = Path(tmp)
        bench_run_report(folder)
        bench_trend_report(folder, 5_000 if quick else 50_000)


if __name__ == "__main__":
    main()
