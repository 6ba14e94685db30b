"""``--a11y`` through the engine: the demo shop's journey scanned at each step's end, stored and
reported, and never a failed checkout. Real Chromium, the demo shop and a real SQLite store, in
one in-process run: a module of its own, as a run cannot start Playwright beside a module's open
browser (tests/test_a11y.py's ``chromium``) in the same thread."""

from __future__ import annotations

import pytest

from orderprobe.store.store import Store

PROBE = """
def test_home(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
    with journey.step("live"):
        page.goto(target.url("/live"))
"""


def test_the_engine_scans_each_step_with_a11y_and_reports_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a11y_probe=PROBE)
    db, reports = pytester.path / "results.db", pytester.path / "reports"
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", f"--results=sqlite:///{db}", f"--artefacts={pytester.path / 'art'}", "--a11y",
        "--reporter=store,html", f"--reports={reports}", "--lang=en",
    )  # fmt: skip
    result.assert_outcomes(passed=1)  # whatever axe finds, the checkout's verdict is its own
    store = Store(f"sqlite:///{db}")
    try:
        (journey,) = store.journeys(store.latest_run_id() or "")
    finally:
        store.close()
    assert [s.a11y is not None and not s.a11y.error for s in journey.steps] == [True, True]
    (report,) = reports.glob("run*.en.html")
    assert "Accessibility (axe-core" in report.read_text(encoding="utf-8")
