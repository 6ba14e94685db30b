"""``--screenshots on|failure|off`` with real Chromium on the embedded demo shop: a frame per
step on disk and in the run report's filmstrip (relative, lazy links), a step whose screenshot
cannot be taken still passes, and ``off`` keeps no screenshot at all."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from playwright.sync_api import Browser, sync_playwright

from orderprobe.base.result import JourneyResult, Status
from orderprobe.probes.browser import launch_options
from orderprobe.reports import html
from orderprobe.store.store import Store
from tests.support.once import once

SHOTS = Path(__file__).resolve().parent.parent / "test-artefacts"

PROBES = """
def test_three_steps(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
    with journey.step("again"):
        page.reload()
    with journey.step("stuck"):
        # A web font that never arrives: Playwright's screenshot waits for document.fonts.ready,
        # so the screenshot at this step's end times out, and the journey must still pass.
        page.route("**/never.woff2", lambda route: None)
        status = page.evaluate(
            "() => { const f = new FontFace('never', 'url(/never.woff2)'); document.fonts.add(f);"
            " f.load().catch(() => {}); return document.fonts.status; }"
        )
        assert status == "loading"


def test_broken(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
    with journey.step("pay"):
        page.get_by_role("button", name="no such button anywhere").click(timeout=500)
"""


def _start(folder: Path, run_id: str, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "orderprobe", "run", str(folder / "test_film.py"), "--run-id", run_id, "-n", "0"]
    # CDP emulation: frames do not depend on how the network is shaped, and no namespace is set up per run.
    argv += ["--no-progress", "--tracing", "off", "--emulation", "cdp", "--results", f"sqlite:///{folder / 'r.db'}"]
    argv += ["--artefacts", str(folder / "art"), "--reports", str(folder / "rep"), "--lang", "en", *extra]
    with (folder / f"{run_id}.out").open("w") as out:  # a file, not a pipe: no run waits on a full pipe
        return subprocess.Popen(argv, cwd=folder, stdout=out, stderr=subprocess.STDOUT, text=True)


def _journeys(folder: Path, run_id: str) -> dict[str, JourneyResult]:
    store = Store(f"sqlite:///{folder / 'r.db'}")
    try:
        return {j.probe: j for j in store.journeys(run_id)}
    finally:
        store.close()


@pytest.fixture
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three modes side by side: three runs into one store (as overlapping scheduled runs write), so
    the tests wait for the slowest run (the stuck frame's timeout), not for the sum of them. Made once
    for all of this module's tests, whichever xdist worker runs them (``tests/support/once.py``)."""

    def three_runs(folder: Path) -> dict:
        (folder / "test_film.py").write_text(PROBES, encoding="utf-8")
        modes = {"film-on": ["--screenshots", "on"], "film-default": [], "film-off": ["--screenshots", "off"]}
        started = {run_id: _start(folder, run_id, *extra) for run_id, extra in modes.items()}
        try:
            for run_id, run in started.items():
                code = run.wait(timeout=900)
                out = (folder / f"{run_id}.out").read_text(encoding="utf-8")
                assert code == 1, out  # test_broken fails; test_three_steps passes
        finally:
            for run in started.values():
                if run.poll() is None:  # a failed assertion above leaves no run behind
                    run.kill()
                    run.wait()
        return {}

    return once(tmp_path_factory, "film", three_runs)[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(**launch_options())
        yield b
        b.close()


def test_on_keeps_a_frame_per_step_and_a_stuck_screenshot_fails_nothing(runs: Path) -> None:
    j = _journeys(runs, "film-on")
    three, broken = j["three_steps"], j["broken"]
    assert three.status is Status.PASSED  # although the last step's screenshot timed out
    shots = {s.name: s.screenshot for s in three.steps}
    assert shots["stuck"] is None and shots["home"] and shots["again"]
    for name in ("home", "again"):
        path = runs / "art" / shots[name]
        assert path.is_file() and path.read_bytes()[:2] == b"\xff\xd8"  # a whole JPEG
        assert any((a.path, a.kind) == (shots[name], "filmstrip") for a in three.artefacts)  # the journey's artefacts
    assert not broken.status.ok  # a missing button: the probe is broken (error)
    assert broken.steps[0].screenshot and broken.steps[1].screenshot is None  # the failure screenshot is its frame
    assert broken.failure is not None and (runs / "art" / broken.failure.screenshot).is_file()
    assert not list((runs / "art").glob("**/.*.part"))  # written atomically: no leftovers


def test_failure_mode_is_todays_behaviour_and_off_keeps_none(runs: Path) -> None:
    default, off = _journeys(runs, "film-default"), _journeys(runs, "film-off")
    assert not any(s.screenshot for j in (*default.values(), *off.values()) for s in j.steps)
    assert default["broken"].failure.screenshot and (runs / "art" / default["broken"].failure.screenshot).is_file()
    failure = off["broken"].failure
    assert failure is not None and failure.screenshot is None and failure.step == "pay"
    assert not list((runs / "art" / "film-off").glob("**/*.png")) and not list((runs / "art").glob("film-off/**/*.jpg"))


@pytest.mark.parametrize("width", [390, 1280])
def test_the_run_report_shows_the_filmstrip(runs: Path, browser: Browser, width: int) -> None:
    report = runs / "rep" / html.run_report_name("film-on", "en")
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(report.as_uri())
        three = page.locator("details.journey", has_text="three_steps")
        three.locator(":scope > summary").click()
        frames = three.locator(".filmstrip img")
        assert frames.count() == 2  # home, again; "stuck" has no frame
        broken = page.locator("details.journey", has_text="broken")
        assert broken.locator(".filmstrip img").count() == 2  # home, and the failure screenshot for "pay"
        assert broken.locator(".frame.s-failed-frame").count() == 1
        for img in [*frames.all(), *broken.locator(".filmstrip img").all()]:
            src = img.get_attribute("src") or ""
            assert img.get_attribute("loading") == "lazy"
            assert not src.startswith(("data:", "file:", "/")), src  # relative to the report
            assert (report.parent / unquote(src)).resolve().is_file()
            img.scroll_into_view_if_needed()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        SHOTS.mkdir(exist_ok=True)
        three.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"filmstrip-{width}.jpg"), full_page=True)
    finally:
        page.close()
