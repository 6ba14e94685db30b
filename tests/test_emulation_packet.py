"""Journeys under packet-level emulation, through pytest itself (pytester, a subprocess) against
the embedded demo shop in real Chromium: the metro signal is lost inside the journey and the
result says so; ``--emulation cdp`` is the fallback and is recorded as such. Skipped, with the
reason, where a network namespace cannot be made (not root / not Linux)."""

from __future__ import annotations

from pathlib import Path

import pytest

from probes.emulation.packet import unavailable
from probes.result import JourneyResult
from reports.store import Store

# Page loads every half second for ~14 s: metro-weak's first outage starts within 10 s.
RIDE = """
import time


def test_metro_ride(journey, page, target):
    t0 = time.monotonic()
    with journey.step("open"):
        page.goto(target.url("/"))
    with journey.step("ride"):
        while time.monotonic() - t0 < 14:
            page.evaluate("() => fetch('/', {cache: 'no-store'}).then(r => r.status, e => String(e))")
            page.wait_for_timeout(500)
"""

DEAD = """
import pytest


def test_dead_signal(journey, page, target):
    with journey.step("open"):
        page.goto(target.url("/"))
    with journey.step("pay"):
        outcome = page.evaluate(
            "() => fetch('/', {cache: 'no-store', signal: AbortSignal.timeout(3000)}).then(r => r.status, e => e.name)"
        )
        assert outcome == 200, outcome
"""

NETWORKS = """
networks:
  - {name: dead-at-pay, rtt_ms: 40, down_kbps: null, up_kbps: null}
"""


def run(pytester: pytest.Pytester, source: str, *args: str) -> list[JourneyResult]:
    pytester.makepyfile(test_probe=source)
    (pytester.path / "nets").mkdir(exist_ok=True)
    (pytester.path / "nets" / "networks.yaml").write_text(NETWORKS, encoding="utf-8")
    db = pytester.path / "results.db"
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--results=sqlite:///{db}", f"--artefacts={pytester.path / 'art'}",
        "--tracing=off", "--no-report", f"--profiles={pytester.path / 'nets'}", *args, "test_probe.py",
    )  # fmt: skip
    store = Store(f"sqlite:///{db}")
    try:
        run_id = store.latest_run_id()
        return store.journeys(run_id) if run_id else []
    finally:
        store.close()


@pytest.fixture
def packet_level() -> None:
    reason = unavailable("http://127.0.0.1")
    if reason:
        pytest.skip(reason)


@pytest.mark.slow
def test_metro_weak_loses_the_signal_mid_journey_and_the_result_records_it(
    pytester: pytest.Pytester, packet_level: None
) -> None:
    (journey,) = run(pytester, RIDE, "--network=metro-weak", "--emulation=packet")
    applied = journey.conditions["applied"]
    assert journey.emulation == "packet" and applied["emulation"] == "packet"
    (first, *_) = applied["offline_windows"]
    assert first["why"] == "dropout" and 1 <= first["start_s"] <= 10 and 2 <= first["end_s"] - first["start_s"] <= 5
    packets = applied["link_packets"]
    assert packets["up"].get("outage", 0) + packets["down"].get("outage", 0) > 0  # the link really was down
    assert isinstance(applied["addresses"][0], str) and applied["addresses"][0].startswith("100.")


@pytest.mark.slow
def test_a_dead_link_fails_the_request_and_cdp_is_the_stated_fallback(
    pytester: pytest.Pytester, packet_level: None
) -> None:
    dead = Path(pytester.path / "nets" / "matrices")
    dead.mkdir(parents=True, exist_ok=True)
    (dead / "dead.yaml").write_text(
        "matrices:\n  - name: dead\n    rows:\n"
        "      - {probe: dead_signal, network: dead-at-pay, switches: [{at: pay, offline_s: 30}]}\n",
        encoding="utf-8",
    )
    for mode in ("packet", "cdp"):
        (journey,) = run(pytester, DEAD, "--matrix=dead", f"--emulation={mode}", "--action-timeout=3000")
        assert journey.emulation == mode and journey.status == "failed", (mode, journey.status)
        assert journey.failed_step == "pay"
        assert journey.conditions["applied"]["emulation_reason"] == ("" if mode == "packet" else "--emulation cdp")
