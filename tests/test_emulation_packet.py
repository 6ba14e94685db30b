"""Journeys under packet-level emulation, through pytest itself (pytester, a subprocess) against
the embedded demo shop in real Chromium: the metro signal is lost inside the journey and the
result says so; ``--emulation cdp`` is the fallback and is recorded as such. Skipped, with the
reason, where a network namespace cannot be made (not root / not Linux)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from orderprobe.base.result import JourneyResult
from orderprobe.probes.fixtures import BrowserHolder
from tests.support.once import once
from tests.support.packet import metro_weak_early, needs_packet_level, ride, run_probe
from tests.support.stored import stored_journeys

pytestmark = needs_packet_level  # a network namespace: root / CAP_NET_ADMIN, Linux

DEAD = """
import pytest


def test_dead_signal(journey, page, target):
    with journey.step("open"):
        page.goto(target.url("/"))
    with journey.step("pay"):
        outcome = page.evaluate(
            "() => fetch('/', {cache: 'no-store', signal: AbortSignal.timeout(1000)}).then(r => r.status, e => e.name)"
        )
        assert outcome == 200, outcome
"""

DEAD_AT_PAY = {"name": "dead-at-pay", "rtt_ms": 40, "down_kbps": None, "up_kbps": None}


def run(pytester: pytest.Pytester, source: str, *args: str) -> list[JourneyResult]:
    """With this file's networks (``dead-at-pay``, metro-weak's outage pinned early) beside the built-in ones."""
    metro_weak_early(pytester.path / "nets", DEAD_AT_PAY)
    return run_probe(pytester, source, f"--profiles={pytester.path / 'nets'}", *args)


DEAD_ROW = "      - {probe: dead_signal, network: dead-at-pay, switches: [{at: pay, offline_s: 30}]}\n"


def packet_run(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory, probe: str
) -> tuple[JourneyResult, tuple[float, float]]:
    """``probe``'s journey, and the metro outage pinned, of the one packet-mode run both tests below
    read (one start of Python, the driver, Chromium and the shop, ~2.4 s CPU, for two journeys), made
    by whichever asks first (``tests/support/once.py``): the metro ride, then the dead link (file
    order). Each journey's outages count from its own start, so neither moves the other's."""

    def build(_: Path) -> dict:
        matrices = pytester.path / "nets" / "matrices"
        matrices.mkdir(parents=True, exist_ok=True)
        (matrices / "packet.yaml").write_text(
            "matrices:\n  - name: packet\n    rows:\n      - {probe: metro_ride, network: metro-weak}\n" + DEAD_ROW,
            encoding="utf-8",
        )
        # metro-weak's own draw whose outage comes first (3.1–5.3 s): the ride lasts until it is over.
        start, end = metro_weak_early(pytester.path / "nets", DEAD_AT_PAY)
        run(pytester, ride(seconds=end + 2) + DEAD, "--matrix=packet", "--emulation=packet", "--action-timeout=3000")
        return {"db": str(pytester.path / "results.db"), "outage": [start, end]}

    _, made = once(tmp_path_factory, "packet-run", build)
    journeys = [j for j in stored_journeys(made["db"]) if j.probe == probe]
    assert len(journeys) == 1, [j.probe for j in journeys]
    start, end = made["outage"]
    return journeys[0], (start, end)


@pytest.mark.slow
@pytest.mark.unit("packet-run")
def test_metro_weak_loses_the_signal_mid_journey_and_the_result_records_it(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    journey, (start, end) = packet_run(pytester, tmp_path_factory, "metro_ride")
    applied = journey.conditions["applied"]
    assert journey.emulation == "packet" and applied["emulation"] == "packet"
    (first, *_) = applied["offline_windows"]
    assert first["why"] == "dropout" and 1 <= first["start_s"] <= 10 and 2 <= first["end_s"] - first["start_s"] <= 5
    assert (first["start_s"], first["end_s"]) == (start, end)  # the pinned schedule, replayed
    packets = applied["link_packets"]
    assert packets["up"].get("outage", 0) + packets["down"].get("outage", 0) > 0  # the link really was down
    assert isinstance(applied["addresses"][0], str) and applied["addresses"][0].startswith("100.")


@pytest.mark.slow
@pytest.mark.unit("packet-run")
def test_a_dead_link_fails_the_request_and_cdp_is_the_stated_fallback(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    dead = Path(pytester.path / "nets" / "matrices")
    dead.mkdir(parents=True, exist_ok=True)
    (dead / "dead.yaml").write_text("matrices:\n  - name: dead\n    rows:\n" + DEAD_ROW, encoding="utf-8")
    for mode in ("packet", "cdp"):
        if mode == "packet":  # the shared run's
            journey, _ = packet_run(pytester, tmp_path_factory, "dead_signal")
        else:
            (journey,) = run(pytester, DEAD, "--matrix=dead", f"--emulation={mode}", "--action-timeout=3000")
        assert journey.emulation == mode and journey.status == "failed", (mode, journey.status)
        assert journey.failed_step == "pay"
        assert journey.conditions["applied"]["emulation_reason"] == ("" if mode == "packet" else "--emulation cdp")


def test_a_teams_own_field_trials_reach_chromium_beside_packet_modes() -> None:
    """Chromium keeps only the last ``--force-fieldtrials``: a team's own (``browser_type_launch_args``)
    used to be overridden by packet mode's. Read from the launched browser's command line (/proc)."""
    team = f"OrderprobeTeam{uuid.uuid4().hex[:8]}"  # no other process on the machine names it
    holder = BrowserHolder(headed=False, emulation="packet", launch_args={"args": [f"--force-fieldtrials={team}/On"]})
    try:
        holder.get()
        assert holder.path is not None and holder.path.mode == "packet"
        (browser,) = [args for args in _command_lines() if any(team in a for a in args)]
    finally:
        holder.close()
    assert [a for a in browser if "fieldtrials" in a] == [
        f"--force-fieldtrials={team}/On/AsyncDns/AsyncDnsNoFallbackA/"
    ]


def _command_lines() -> list[list[str]]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            found.append([a.decode() for a in (proc / "cmdline").read_bytes().split(b"\0") if a])
        except OSError:  # not a process, or one that has just exited
            continue
    return found
