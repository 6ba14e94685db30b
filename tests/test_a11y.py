"""``--a11y`` (probes/a11y.py): axe-core's WCAG A/AA scan at each step's end, in real Chromium —
on a page with known violations, on a storefront from the corpus and on the demo shop through the
engine (tests/test_a11y_engine.py) — and never a failed checkout."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from playwright.sync_api import Browser

from benchmarks import causes
from orderprobe.base.result import StepStatus
from orderprobe.probes import a11y
from orderprobe.probes.journey import Journey
from tests.test_otel import storefront

BAD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pay</title></head><body>
<img src="/logo.png"><button id="pay"></button><a href="/help"></a></body></html>"""


def scan(browser: Browser, url: str) -> Journey:
    context = browser.new_context()
    try:
        page = context.new_page()
        journey = Journey("a11y")
        journey.listeners = [a11y.A11yScanner(page)]
        with journey.step("open"):
            page.goto(url)
    finally:
        context.close()
    return journey


def test_the_vendored_axe_core_is_the_release_its_readme_names() -> None:
    vendor = Path(a11y.__file__).parent / "vendor"
    row = next(line for line in (vendor / "README.md").read_text().splitlines() if line.startswith("| `axe.min.js`"))
    sha = re.search(r"sha256 `([0-9a-f]{64})`", row)
    assert sha and hashlib.sha256((vendor / "axe.min.js").read_bytes()).hexdigest() == sha.group(1)
    assert "axe-core@4.14.1" in row and "Mozilla Public License" in (vendor / "axe-core.LICENSE").read_text()


def test_known_violations_are_named_and_the_step_still_passes(chromium: Browser, tmp_path: Path) -> None:
    (tmp_path / "pay.html").write_text(BAD, encoding="utf-8")
    with storefront(tmp_path) as (url, _):
        journey = scan(chromium, f"{url}/pay.html")
    (step,) = journey.steps
    assert step.status is StepStatus.PASSED and step.a11y is not None and not step.a11y.error
    found = {v.id: v for v in step.a11y.violations}
    assert {"image-alt", "button-name", "link-name"} <= set(found), found
    assert found["button-name"].targets == ["#pay"] and found["image-alt"].impact == "critical"


def test_a_storefront_from_the_corpus_is_scanned(chromium: Browser) -> None:
    page = next(p for p in causes.load_corpus() if p.family == "healthy")
    with storefront(causes.CORPUS) as (url, _):
        journey = scan(chromium, f"{url}/{page.path.as_posix()}")
    scanned = journey.steps[0].a11y
    assert scanned is not None and not scanned.error and scanned.url.endswith(page.path.name)
    assert all(v.id and v.nodes >= 1 for v in scanned.violations)
