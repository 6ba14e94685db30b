"""Packet-level journeys through pytest itself: the skip where a network namespace cannot be made,
a probe run in a subprocess (pytester) whose journeys are read back from the store it wrote, and
metro-weak with its outage pinned early, so a test waits for the outage instead of for its dice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from orderprobe.base.result import JourneyResult
from orderprobe.probes.emulation.packet import unavailable
from orderprobe.probes.emulation.schedule import dropout_windows
from orderprobe.profiles.catalogue import load_catalogue
from tests.support.stored import stored_journeys

# ``connections`` requests at a time (a page loading its assets opens several) for at least
# ``__S__`` seconds and ``__R__`` rounds. A request is a HEAD of the home page: its packets cross
# the link like a page load's, but a round lasts one round trip, not 400 kbit/s of HTML.
RIDE = """
import time


def test_metro_ride(journey, page, target):
    t0, rounds = time.monotonic(), 0
    with journey.step("open"):
        page.goto(target.url("/"))
    with journey.step("ride"):
        while time.monotonic() - t0 < __S__ or rounds < __R__:
            page.evaluate("() => Promise.all([...Array(__N__).keys()].map(i => fetch('/?n=' + i, "
                          "{method: 'HEAD', cache: 'no-store'}).then(r => r.status, e => String(e))))")
            rounds += 1
"""


def ride(connections: int = 1, *, seconds: float, rounds: int = 0) -> str:
    """A probe riding the metro: ``connections`` requests per round trip for ``seconds`` (counted
    from the probe's start, after the link's) and at least ``rounds`` rounds."""
    return RIDE.replace("__N__", str(connections)).replace("__S__", str(seconds)).replace("__R__", str(rounds))


def metro_weak_early(folder: Path, *others: dict[str, Any]) -> tuple[float, float]:
    """Write ``folder``/networks.yaml: the built-in metro-weak, its dropout schedule pinned to the
    seed whose first outage ends soonest of those starting 3 s or more in — by then the probe is
    riding, even on a loaded machine (one of its own draws: 2–5 s down, starting in 1–10 s) —
    beside ``others``. Returns that first outage (start, end) in seconds from the link's start."""
    metro = load_catalogue().networks["metro-weak"]
    assert metro.dropouts is not None

    def first(seed: int) -> tuple[float, float]:
        return dropout_windows(metro.dropouts, 30, seed=seed)[0]  # type: ignore[arg-type]

    seed = min((s for s in range(256) if first(s)[0] >= 3), key=lambda s: first(s)[1])
    pinned = metro.model_copy(update={"dropouts": metro.dropouts.model_copy(update={"seed": seed})})
    folder.mkdir(parents=True, exist_ok=True)
    networks = [pinned.model_dump(mode="json", exclude_defaults=True), *others]
    (folder / "networks.yaml").write_text(yaml.safe_dump({"networks": networks}, allow_unicode=True), encoding="utf-8")
    return first(seed)


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
    return stored_journeys(db)
