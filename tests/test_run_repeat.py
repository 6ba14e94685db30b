"""``orderprobe run --repeat N``: N real runs (Chromium, embedded demo shop), then the compare
report over them, read back in Chromium; a bad N is refused before anything starts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from orderprobe.probes.browser import launch_options
from orderprobe.store.store import Store

SHOTS = Path(__file__).resolve().parent.parent / "test-artefacts"

PATHS = """
def test_short_path(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))


def test_long_path(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
    with journey.step("again"):
        page.reload()


def test_broken_path(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
    with journey.step("pay"):
        page.get_by_role("button", name="no such button anywhere").click(timeout=500)
"""


def orderprobe(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "orderprobe", "run", *args, "-n", "0", "--no-progress", "--tracing", "off"]
    argv += ["--results", f"sqlite:///{folder / 'r.db'}", "--artefacts", str(folder / "art")]
    argv += ["--reports", str(folder / "rep"), "--lang", "en"]
    return subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "many", ""])
def test_a_bad_repeat_count_is_refused_before_anything_starts(tmp_path: Path, value: str) -> None:
    probe = tmp_path / "test_paths.py"
    probe.write_text(PATHS, encoding="utf-8")
    done = orderprobe(tmp_path, str(probe), *(["--repeat", value] if value else ["--repeat"]))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--repeat" in done.stderr and "repetition 1" not in done.stdout
    assert not (tmp_path / "r.db").exists() and not (tmp_path / "art").exists()  # no run, no browser


def test_repeat_runs_n_times_and_writes_the_compare_report(tmp_path: Path) -> None:
    probe = tmp_path / "test_paths.py"
    probe.write_text(PATHS, encoding="utf-8")
    done = orderprobe(tmp_path, str(probe), "--repeat", "2", "--run-id", "ux")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # broken_path fails in both repetitions
    found = re.search(r"^compare  (.+\.html)$", done.stdout, re.M)
    assert found, output
    report = Path(found.group(1))
    assert report == (tmp_path / "rep" / "compare-ux.en.html").resolve() and report.is_file()

    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        assert sorted(r.id for r in store.runs()) == ["ux-1", "ux-2"]
        for run_id in ("ux-1", "ux-2"):
            assert sorted(j.probe for j in store.journeys(run_id)) == ["broken_path", "long_path", "short_path"]
            assert store.run(run_id).labels["repeat"] in ("1/2", "2/2")
    finally:
        store.close()

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(report.as_uri())
            paths = page.locator("#paths th.path")
            assert paths.count() == 3
            # Two samples per path: the two finished paths have medians of 2, the broken one counts 2 failures.
            n = {paths.nth(i).get_attribute("data-probe"): paths.nth(i).get_attribute("data-n") for i in range(3)}
            assert n == {"short_path": "2", "long_path": "2", "broken_path": "0"}
            assert paths.filter(has_text="short_path").inner_text().count("median of 2") == 1
            broken = page.locator('#paths th.path[data-probe="broken_path"] .outcomes span')
            assert broken.count() == 1 and broken.inner_text().endswith(" 2")
            note = page.locator("#few-note")  # 2 < 5: medians are said to be unreliable
            assert note.is_visible() and "only 2 completed" in note.inner_text()
            assert "short_path" in page.locator("#baseline").inner_text()  # fewest steps, stated
            assert "ux-1" in page.inner_text(".meta") and "ux-2" in page.inner_text(".meta")
            page.screenshot(path=str(SHOTS / "repeat-compare-1280.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
            page.screenshot(path=str(SHOTS / "repeat-compare-390.png"), full_page=True)
        finally:
            browser.close()
