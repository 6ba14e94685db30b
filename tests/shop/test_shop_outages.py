"""Seed incidents replayed as timed faults, their time compressed by a documented factor; and
the scheduler scenario that shows the detection time of one in the trend report."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from orderprobe.probes.fixtures import DEMO_SECRETS
from orderprobe.shop.faults import COMPRESS, OUTAGES, FaultError, outage
from orderprobe.shop.server import DemoShop
from orderprobe.shop.testing import running_shop

ORDERPROBE = str(Path(sys.executable).with_name("orderprobe"))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_outages_keep_the_seed_durations_compressed() -> None:
    assert COMPRESS == 60  # documented: one seed minute is one second
    assert outage("double11-2023")[1] == 17.0 and outage("gateway-crash")[1] == 8.0
    assert outage("double11-2023", compress=30)[1] == 34.0
    assert outage("north-china-cable-cut")[1] is None  # the seed gives a rate, no duration
    assert OUTAGES["north-china-cable-cut"].params == {"rate": 0.47}
    with pytest.raises(FaultError):
        outage("y2k")
    with pytest.raises(FaultError):
        outage("gateway-crash", compress=0)


def test_an_outage_switches_itself_off_after_its_compressed_window() -> None:
    clock = Clock()
    with running_shop(clock=clock) as shop:
        shop.outage("gateway-crash")
        (down,) = shop.context.faults.snapshot()
        assert (down["name"], down["seconds_left"]) == ("payment_down", 8.0)
        clock.now += 7.9
        assert shop.context.faults.get("payment_down") is not None
        clock.now += 0.2
        assert shop.context.faults.get("payment_down") is None


def test_cli_replays_an_outage_on_a_running_shop(demo: DemoShop) -> None:
    done = subprocess.run(
        [ORDERPROBE, "shop", "outage", "double11-2023", "--compress", "120", "--url", demo.url],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (fault,) = demo.context.faults.snapshot()
    assert fault["name"] == "payment_down" and 0 < fault["seconds_left"] <= 8.5
    bad = subprocess.run([ORDERPROBE, "shop", "outage", "y2k", "--url", demo.url], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown outage" in bad.stderr


@pytest.mark.slow
def test_double11_outage_compressed_is_detected_and_shown_in_the_trend_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real service probes the shop back to back; the 17-minute Double-11 payment outage,
    compressed ×10 (102 s), must open one incident, shown with its time to detect and to recover.
    The window runs on the shop's own clock, which the test moves on once a run has failed: it
    never waits the window out, and a run that takes minutes on a loaded machine cannot miss it."""
    from orderprobe.reports import trend
    from orderprobe.scheduler.config import parse
    from orderprobe.scheduler.records import Records
    from orderprobe.scheduler.service import Service
    from orderprobe.store.store import Store
    from tests.support.receivers import wait_until

    for name, value in DEMO_SECRETS.items():
        monkeypatch.setenv(name, value)
    db = f"sqlite:///{tmp_path / 'orderprobe.db'}"
    clock = Clock()  # the shop's time stands still until the test moves it
    with running_shop(clock=clock) as shop:
        # No retry (the monitor's default retry, with its trace, is tests/test_scheduler_e2e.py's): a
        # failing run is one journey, and the outage is detected by the first run inside it.
        text = f"""
database: {db}
artefacts: {tmp_path / "artefacts"}
metrics: {{enabled: false}}
jobs:
  - id: pay
    probes: [subsidy_checkout]
    target: {shop.url}
    every: 1s
    timeout: 180s
    retries: 0
    alert: {{open_after: 1, resolve_after: 1}}
"""
        service = Service(parse(text, "outage.yaml", {}), environ={}).start()
        records = Records(db)
        try:
            done = lambda: [r for r in records.runs("pay") if r.finished_at is not None]  # noqa: E731
            first = wait_until(lambda: done(), "a first run", timeout=300)[0]
            assert first.verdict == "passed", (first.outcome, first.problems, first.error)
            window = shop.outage("double11-2023", compress=10)["seconds_left"]
            wait_until(lambda: [r for r in done() if r.verdict == "failed"], "a failing run", timeout=300)
            assert shop.context.faults.get("payment_down") is not None  # still inside the window
            clock.now += window  # the rest of the outage passes at once
            assert shop.context.faults.get("payment_down") is None
            over = time.time()
            wait_until(
                lambda: [r for r in done() if r.verdict == "passed" and r.started_at.timestamp() > over],
                "a passing run after the outage",
                timeout=300,
            )
        finally:
            service.stop(grace=0)
            records.close()
    store = Store(db)
    try:
        context = trend.context(store, timedelta(hours=1), "en")
    finally:
        store.close()
    (incident,) = context.outages
    assert incident.probe == "subsidy_checkout" and incident.cause.startswith(("Third", "third", "第三方"))
    assert incident.ttd not in ("", "–") and incident.ttr is not None
    assert window == 102.0
