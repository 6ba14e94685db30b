"""``journey.expect_screenshot(name)``: the demo shop's page against a stored baseline, in real
Chromium — the first run writes the baseline, an unchanged page matches, a changed page differs
(baseline, page and diff kept and shown in the run report) while the checkout still passes, a
change under a mask or within the allowed share matches, and ``--update-baselines`` rewrites it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import sync_playwright

from orderprobe.base.result import Status
from orderprobe.probes.browser import launch_options
from orderprobe.probes.journey import Journey
from orderprobe.store.store import Store

SHOTS = Path(__file__).resolve().parent.parent / "test-artefacts"

PROBE = """
import os

def test_home(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
        if os.environ.get("RETITLE"):  # what a release might change: the page's heading
            page.locator("h1").evaluate("h => h.textContent = '抖抖小店 · 双11 会场'")
        journey.expect_screenshot("masked", mask=[page.locator("h1")])
        journey.expect_screenshot("page")
        journey.expect_screenshot("tolerant", max_diff_ratio=0.5)
    with journey.step("feed"):
        page.get_by_test_id("entry-feed").click()
"""


def _run(pytester: pytest.Pytester, run_id: str, *extra: str) -> tuple[int, str, dict]:
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", f"--results=sqlite:///{pytester.path / 'results.db'}",
        f"--artefacts={pytester.path / 'art'}", f"--reports={pytester.path / 'reports'}",
        f"--baselines={pytester.path / 'baselines'}", "--emulation=cdp", "--tracing=off", "--lang=en",
        "--reporter=store,html", f"--run-id={run_id}", *extra, "test_home.py",
    )  # fmt: skip
    store = Store(f"sqlite:///{pytester.path / 'results.db'}")
    (journey,) = store.journeys(run_id)
    store.close()
    checks = {v.name: v for s in journey.steps for v in s.visual}
    assert [s.name for s in journey.steps if s.visual] == ["home"]  # taken in the step that asked
    return result.ret, journey, checks


def test_baseline_written_then_matched_then_a_change_differs_without_failing_the_checkout(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_home=PROBE)
    ret, first, checks = _run(pytester, "first")
    assert ret == 0 and first.status is Status.PASSED
    assert {n: v.status for n, v in checks.items()} == {"masked": "new", "page": "new", "tolerant": "new"}
    baseline = Path(checks["page"].baseline)
    assert baseline.is_relative_to(pytester.path / "baselines" / "home") and baseline.exists()
    # CSS pixels at the profile's viewport, whatever the phone's device pixel ratio.
    assert Image.open(baseline).size == (393, 786)  # android-mid, not 2.75× that

    ret, same, checks = _run(pytester, "same")
    assert ret == 0 and {n: (v.status, v.diff_pixels) for n, v in checks.items()} == {
        "masked": ("match", 0),
        "page": ("match", 0),
        "tolerant": ("match", 0),
    }
    assert not [a for a in same.artefacts if a.kind == "visual"]  # nothing kept when it matches

    monkeypatch.setenv("RETITLE", "1")
    ret, changed, checks = _run(pytester, "changed")
    assert ret == 0 and changed.status is Status.PASSED  # a page that looks different still took the order
    assert checks["masked"].status == "match"  # the change is under the mask
    page = checks["page"]
    assert page.status == "mismatch" and 0 < page.diff_pixels < page.pixels // 10, page
    assert f"{page.diff_pixels} px differ" in page.message
    assert checks["tolerant"].status == "match" and checks["tolerant"].diff_pixels == page.diff_pixels
    art = pytester.path / "art"
    assert page.expected and page.actual and page.diff
    assert (art / page.expected).read_bytes() == baseline.read_bytes()  # the baseline as it was compared
    diff = Image.open(art / page.diff).convert("RGB")
    raw = diff.tobytes()
    red = sum(1 for i in range(0, len(raw), 3) if raw[i] > 200 and raw[i + 1] < 80 and raw[i + 2] < 80)
    assert red >= page.diff_pixels * 0.9  # the differing pixels drawn in red on the faded page
    assert {a.kind for a in changed.artefacts} >= {"visual"}

    report = next((pytester.path / "reports").glob("run-changed*.html"))
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        view = browser.new_page(viewport={"width": 390, "height": 844})
        view.goto(report.as_uri())
        view.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        rows = view.locator("table.visual tr[data-visual]")
        assert rows.evaluate_all("rs => rs.map(r => r.dataset.visual)") == ["match", "mismatch", "match"]
        figures = view.locator(".visual-diff[data-visual-name=page] img")
        assert figures.count() == 3
        assert figures.evaluate_all("imgs => imgs.every(i => i.complete && i.naturalWidth > 0)")
        assert view.evaluate("document.documentElement.scrollWidth") <= 390
        SHOTS.mkdir(exist_ok=True)
        view.screenshot(path=SHOTS / "visual-390.jpg", full_page=True)
        view.set_viewport_size({"width": 1280, "height": 900})
        view.screenshot(path=SHOTS / "visual-1280.jpg", full_page=True)
        browser.close()

    ret, _, checks = _run(pytester, "update", "--update-baselines")
    assert ret == 0 and checks["page"].status == "updated"
    ret, _, checks = _run(pytester, "after")
    assert ret == 0 and checks["page"].status == "match"  # the new look is the baseline now


def test_a_screenshot_belongs_to_a_step_and_needs_a_page() -> None:
    journey = Journey("no page")
    with pytest.raises(RuntimeError, match="journey` fixture"):
        journey.expect_screenshot("x")

    class Fake:
        def check(self, name: str, **kw: object) -> object:
            raise AssertionError("not reached")

    journey.screenshots = Fake()
    with pytest.raises(RuntimeError, match="belongs to a step"):
        journey.expect_screenshot("before any step")


def test_identical_images_match_without_pixelmatch_and_a_size_change_is_a_mismatch(tmp_path: Path) -> None:
    from orderprobe.probes.visual import Screenshots

    def png(size: tuple[int, int], colour: str) -> bytes:
        out = io.BytesIO()
        Image.new("RGBA", size, colour).save(out, format="PNG")
        return out.getvalue()

    shots = Screenshots(None, baselines=tmp_path, key="p/k", artefacts=tmp_path, rel_dir="r")  # type: ignore[arg-type]
    from orderprobe.base.result import VisualCheck

    same = shots._compare(VisualCheck(name="a", status="error"), png((20, 10), "white"), png((20, 10), "white"))
    assert (same.status, same.diff_pixels, same.pixels) == ("match", 0, 200)
    resized = shots._compare(VisualCheck(name="b", status="error"), png((20, 10), "white"), png((20, 12), "white"))
    assert resized.status == "mismatch" and "size 20×12 px, baseline 20×10 px" in resized.message
    assert (tmp_path / "r" / "visual-b-baseline.png").exists() and resized.diff is None
