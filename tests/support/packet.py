"""Packet-level journeys through pytest itself: the skip where a network namespace cannot be made,
and a probe run in a subprocess (pytester) whose journeys are read back from the store it wrote."""

from __future__ import annotations

import pytest

from orderprobe.base.result import JourneyResult
from orderprobe.probes.emulation.packet import unavailable
from orderprobe.store.store import Store

# Page loads for ~14 s, ``connections`` at a time (a page loading its assets opens several):
# metro-weak's first outage starts within 10 s; and for at least 28 rounds (a loaded machine fits
# fewer rounds in 14 s, too few packets to reach the seeded loss).
RIDE = """
import time


def test_metro_ride(journey, page, target):
    t0, rounds = time.monotonic(), 0
    with journey.step("open"):
        page.goto(target.url("/"))
    with journey.step("ride"):
        while time.monotonic() - t0 < 14 or rounds < 28:
            page.evaluate("() => Promise.all([...Array(__N__).keys()].map(i => fetch('/?n=' + i, {cache: 'no-store'})"
                          ".then(r => r.status, e => String(e))))")
            page.wait_for_timeout(500)
            rounds += 1
"""


def ride(connections: int = 1) -> str:
    """A probe riding the metro: ``connections`` page loads every half second for ~14 s."""
    return RIDE.replace("__N__", str(connections))


_WHY_NOT = unavailable()
needs_packet_level = pytest.mark.skipif(bool(_WHY_NOT), reason=_WHY_NOT or "")


def run_probe(pytester: pytest.Pytester, source: str, *args: str) -> list[JourneyResult]:
    """``source`` as ``test_probe.py``, run with ``args``; the journeys of the run it stored."""
    pytester.makepyfile(test_probe=source)
    db = pytester.path / "results.db"
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--results=sqlite:///{db}", f"--artefacts={pytester.path / 'art'}",
        "--tracing=off", "--no-report", *args, "test_probe.py",
    )  # fmt: skip
    store = Store(f"sqlite:///{db}")
    try:
        run_id = store.latest_run_id()
        return store.journeys(run_id) if run_id else []
    finally:
        store.close()
