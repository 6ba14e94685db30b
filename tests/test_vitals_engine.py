"""Web Vitals through the engine: the demo shop's journey stores each step's vitals, and the run
report shows them. Real Chromium, the demo shop and a real SQLite store, in one in-process run: a
module of its own, as a run cannot start Playwright beside a module's open browser
(tests/test_vitals.py's ``chromium``) in the same thread."""

from __future__ import annotations

import pytest

from orderprobe.store.store import Store

PROBE = """
def test_buy(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
    with journey.step("product"):
        page.goto(target.url("/live"))
"""


def test_the_engine_stores_each_steps_vitals_and_the_run_report_shows_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_vitals_probe=PROBE)
    db = pytester.path / "results.db"
    reports = pytester.path / "reports"
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", f"--results=sqlite:///{db}", f"--artefacts={pytester.path / 'art'}",
        "--reporter=store,html", f"--reports={reports}", "--lang=en",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    store = Store(f"sqlite:///{db}")
    try:
        (journey,) = store.journeys(store.latest_run_id() or "")
        with store.read() as conn:
            rows = conn.exec_driver_sql("SELECT name, lcp_ms, cls, fcp_ms, ttfb_ms FROM steps ORDER BY idx").all()
    finally:
        store.close()
    for step in journey.steps:
        assert step.vitals is not None and step.vitals.lcp_ms and step.vitals.ttfb_ms, step
    assert [r[0] for r in rows] == ["home", "product"]
    assert all(r[1] and r[3] and r[4] is not None and r[2] is not None for r in rows)
    (report,) = reports.glob("run*.en.html")
    text = report.read_text(encoding="utf-8")
    assert "Web Vitals per step" in text and "LCP" in text
    assert text.count('class="vital v-') >= 2 * 4  # two steps, each with LCP, CLS, FCP, TTFB
