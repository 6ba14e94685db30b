"""The trend report shades maintenance windows, leaves the journeys inside them out of availability,
and says so; read back in headless Chromium (screenshots at 390 and 1280 px in test-artefacts/)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

from orderprobe.probes.browser import launch_options
from orderprobe.reports import trend
from orderprobe.store import maintenance
from orderprobe.store.store import Store
from tests.support import sample

START = datetime(2026, 11, 10, 20, 0, tzinfo=UTC)
NOW = START + timedelta(hours=10)
SHOTS = Path(__file__).resolve().parent.parent / "test-artefacts"


def test_a_window_is_shaded_and_left_out_of_availability(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'results.db'}")
    try:
        begin, end = START + timedelta(hours=3), START + timedelta(hours=4)
        outage = [(begin, end, sample.CAUSES[3], None)]  # the checkout is down for the whole window
        sample.fill(store, sample.history(random.Random(5), start=START, runs=40, every=timedelta(minutes=15),
                                          outages=outage, noise=0))  # fmt: skip
        before = trend.context(store, timedelta(hours=12), "en", UTC, NOW)
        maintenance.record(store, "db-upgrade", "", begin, end, reason="<b>数据库升级</b> database upgrade")
        maintenance.record(store, "other-job", "night", START, NOW)  # another job's window: not these runs
        after = trend.context(store, timedelta(hours=12), "en", UTC, NOW)
        assert before.availability is not None and after.availability == 1.0 > before.availability
        assert after.journeys == before.journeys and after.in_maintenance > 0  # recorded, only not counted
        assert all(r.availability == 1.0 for r in after.rows)
        assert [b.name for b in after.maintenance] == ["other-job", "db-upgrade"]  # oldest first
        band = after.maintenance[1]
        assert after.bucket == "30 min" and (band.width, band.x % 10) == (20, 0)  # two 30-minute cells, on an edge

        out = tmp_path / "out"
        path, _ = trend.write(store, timedelta(hours=12), out, "zh", UTC, NOW)
        page_text = path.read_text()
        assert "<b>数据库升级</b>" not in page_text and "&lt;b&gt;数据库升级" in page_text  # escaped
        with sync_playwright() as pw:
            browser = pw.chromium.launch(**launch_options())
            for width in (390, 1280):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(path.as_uri())
                note = page.locator("#maintenance .note").inner_text()
                assert f"其间的 {after.in_maintenance} 个旅程不计入可用率" in note
                assert (
                    page.locator("#maintenance-band rect").count() == 2 and page.locator("#maintenance li").count() == 2
                )
                assert page.locator("#availability").inner_text() == "100%"
                SHOTS.mkdir(exist_ok=True)
                page.locator("#maintenance-band").scroll_into_view_if_needed()
                page.screenshot(path=str(SHOTS / f"trend-maintenance-{width}.png"))
                page.close()
            browser.close()
    finally:
        store.close()
