"""Packet-level journeys through pytest itself: the skip where a network namespace cannot be made,
and a probe run in a subprocess (pytester) whose journeys are read back from the store it wrote."""

from __future__ import annotations

import pytest

from probes.emulation.packet import unavailable
from probes.result import JourneyResult
from reports.store import Store

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
