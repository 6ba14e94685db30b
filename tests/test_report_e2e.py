"""Reports from a store filled by real probe runs: ``orderprobe run`` (pytest + real Chromium)
against the embedded demo shop, then each report opened in headless Chromium."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from playwright.sync_api import Page, sync_playwright

from orderprobe.probes.browser import launch_options
from orderprobe.reports import compare, html, run_report, trend
from orderprobe.store.store import Store
from tests.support.once import once

SHOTS = Path(__file__).resolve().parent.parent / "test-artefacts"


def _start(folder: Path, run_id: str, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "orderprobe", "run", "--probe", "subsidy_checkout", "--run-id", run_id]
    argv += ["--results", f"sqlite:///{folder / 'results.db'}", "--artefacts", str(folder / "artefacts")]
    argv += ["--reports", str(folder / "reports"), "--no-progress", "-n", "0", "--lang", "zh", *extra]
    with (folder / f"{run_id}.out").open("w") as out:  # a file, not a pipe: no run waits on a full pipe
        return subprocess.Popen(argv, cwd=folder, stdout=out, stderr=subprocess.STDOUT, text=True)


def _finish(folder: Path, run_id: str, run: subprocess.Popen[str]) -> tuple[int, str]:
    return run.wait(timeout=600), (folder / f"{run_id}.out").read_text(encoding="utf-8")


def _two_runs(folder: Path) -> dict:
    broken = _start(folder, "e2e-dns", "--network", "public-wifi-dns-polluted")
    healthy = _start(folder, "e2e-wifi", "--cpu-slowdown", "off")  # android-mid's ×2 not applied, and said
    try:
        code, out = _finish(folder, "e2e-dns", broken)
        assert code == 1, out
        code, said = _finish(folder, "e2e-wifi", healthy)
        assert code == 0, said
    finally:
        for run in (broken, healthy):
            if run.poll() is None:  # a failed assertion above leaves no run behind
                run.kill()
                run.wait()
    assert "CPU slowdown off" in said.splitlines()[0], said  # the run's header line
    # `orderprobe run` wrote the run report itself and printed where.
    assert f"report   {(folder / 'reports' / html.run_report_name('e2e-wifi', 'zh')).resolve()}" in said
    return {}


@pytest.fixture(scope="module")
def _store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store(f"sqlite:///{once(tmp_path_factory, 'e2e', _two_runs)[0] / 'results.db'}")
    yield store
    store.close()


@pytest.fixture
def probed(tmp_path_factory: pytest.TempPathFactory, _store: Store) -> tuple[Path, Store]:
    """Two real runs of the subsidy path, side by side into one store (as overlapping scheduled runs
    write): one on DNS-polluted public Wi-Fi (fails), one on Wi-Fi (passes). Made once for all of this
    module's tests, whichever xdist worker runs them (``tests/support/once.py``)."""
    return once(tmp_path_factory, "e2e", _two_runs)[0], _store


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        yield browser.new_page(viewport={"width": 1366, "height": 768})
        browser.close()


def test_run_report_of_a_real_failure(probed: tuple[Path, Store], page: Page) -> None:
    folder, store = probed
    (journey,) = store.journeys("e2e-dns")
    assert journey.status.value == "failed" and journey.cause is not None and journey.failure is not None
    path = run_report.write(store, "e2e-dns", folder / "artefacts", folder / "reports", "zh")
    page.goto(path.as_uri())
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "report-run-real-failure.jpg"), full_page=True)

    assert page.locator("#verdict").get_attribute("class") == "verdict v-failed"
    assert page.locator("#counts .chip[data-status=failed] b").inner_text() == "1"
    panel = page.locator(f"#{html.anchor(journey.id)} .panel")
    assert panel.locator("dd.cause").get_attribute("data-cause") == journey.cause.category == "network"
    assert panel.locator("dd.mono").first.inner_text() == journey.cause.rule
    if journey.failure.screenshot:  # the engine kept one: it is inlined and decodes
        assert panel.locator(".shot img").evaluate("i => i.complete && i.naturalWidth") > 0
    if journey.failure.trace:
        assert panel.locator("code.trace").inner_text() == f"orderprobe report trace {journey.id}"
        href = panel.locator("a.trace-file").get_attribute("href") or ""
        assert Path(unquote(urlparse(href).path)).is_file()
    steps = page.locator(f"#{html.anchor(journey.id)} table.wf tr").count() - 2  # header and total rows
    assert steps == len(journey.steps)


def test_compare_and_trend_from_real_runs(probed: tuple[Path, Store], page: Page) -> None:
    folder, store = probed
    (passed,) = store.journeys("e2e-wifi")
    path = compare.write(store, folder / "reports", "en", runs=["e2e-wifi", "e2e-dns"])
    page.goto(path.as_uri())
    cell = page.locator("#paths tr[data-metric=steps] td[data-probe=subsidy_checkout] b")
    assert cell.inner_text() == str(len(passed.steps))
    assert page.locator("#paths tr[data-metric=taps] td b").inner_text() == str(passed.interactions.taps)

    path, ctx = trend.write(store, timedelta(days=1), folder / "reports", "en")
    page.goto(path.as_uri())
    page.screenshot(path=str(SHOTS / "report-trend-real.jpg"), full_page=True)
    assert ctx.journeys == 2 and len(ctx.outages) == 1
    # Series are probe × profile: the Wi-Fi pass does not close the polluted-DNS outage.
    (outage,) = ctx.outages
    assert "public-wifi-dns-polluted" in outage.parts and outage.recovered is None
    # It ran once and never again: "not re-run", never "ongoing" for ever.
    assert outage.state == "not_rerun" and page.locator("#outages .ongoing").count() == 0
    assert page.locator("#outages .not-rerun").count() == 1
    assert page.locator("#latest tr[data-cause=network]").count() == 1


def test_a_run_without_the_cpu_slowdown_says_so_where_the_device_is_shown(
    probed: tuple[Path, Store], page: Page
) -> None:
    """``--cpu-slowdown off``: no one reads a ×2 device's timings as throttled (the record, the report's
    header and the journey's conditions line). Throttling itself: test_emulation_browser.py."""
    folder, store = probed
    (off,) = store.journeys("e2e-wifi")
    assert (off.conditions["applied"]["cpu_slowdown"], off.conditions["applied"]["cpu_slowdown_profile"]) == (1, 2)
    assert off.conditions["device"]["cpu_slowdown"] == 2  # the profile itself is unchanged
    for lang, said in (("en", "CPU slowdown off ×2"), ("zh", "CPU 降速关闭 ×2")):
        path = run_report.write(store, "e2e-wifi", folder / "artefacts", folder / "reports", lang)
        page.goto(path.as_uri())
        assert page.locator("#cpu-off span").inner_text().startswith("1 ")
        summary = page.locator(f"#{html.anchor(off.id)} details.conditions summary").text_content() or ""
        assert said in summary, summary
