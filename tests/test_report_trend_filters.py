"""Trend filters by probe, profile and location (the run's label): in SQL they apply to every
section; in the page the menus filter every row-wise section and say which sections stay pooled."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from orderprobe.base.result import Cause
from orderprobe.probes.browser import launch_options
from orderprobe.reports import trend
from orderprobe.reports.command import configure, main
from orderprobe.store.store import Store
from tests.support import sample
from tests.support.once import once

START = datetime(2026, 11, 10, 20, 0, tzinfo=UTC)
NOW = START + timedelta(hours=10)
SINCE = timedelta(hours=10)
SHOTS = Path(__file__).resolve().parent.parent / "test-artefacts"
ALIPAY = Cause(category="third_party", detail="maintenance", dependency="alipay", rule="r", evidence="e", summary="s")
GATEWAY = sample.CAUSES[3]  # system / gateway_5xx / payment-gateway
PROFILE = next(p for p in sample.PROFILES if not p.endswith("/teen"))


def _fill(store: Store, location: str, start: datetime, cause: Cause, probe: str | None) -> None:
    """One agent's scheduled runs (labelled with its location) with one outage of its own."""
    at = start.__add__
    outage = (at(timedelta(hours=2)), at(timedelta(hours=2, minutes=40)), cause, probe)
    runs = sample.history(
        random.Random(5), start=start, runs=40, every=timedelta(minutes=15), outages=[outage], noise=0
    )
    for run_id, when, journeys in runs:
        store.start_run(run_id, started_at=when, target="http://shop", matrix="smoke", labels={"location": location})
        store.add_journeys(journeys)
        store.finish_run(run_id, finished_at=when + timedelta(minutes=2), exit_code=0)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("trend-filters")
    store = Store(f"sqlite:///{path / 'results.db'}")
    _fill(store, "sh", START, ALIPAY, "path_video")  # Shanghai: Alipay down for the video path
    _fill(store, "urumqi", START + timedelta(minutes=7), GATEWAY, None)  # Urumqi: the gateway down for all
    store.close()
    yield path


@pytest.fixture()
def store(folder: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{folder / 'results.db'}")
    yield s
    s.close()


def _steps(ctx: trend.TrendContext) -> dict[tuple[str, str], int]:
    return {(probe, s.step): s.n for probe, rows in ctx.steps for s in rows}


def test_a_location_filter_applies_to_every_section(store: Store) -> None:
    everything = trend.context(store, SINCE, "en", UTC, NOW)
    sh = trend.context(store, SINCE, "en", UTC, NOW, location="sh")
    urumqi = trend.context(store, SINCE, "en", UTC, NOW, location="urumqi")
    assert sh.filters == [("location", "sh")] and everything.filters == []
    assert 0 < sh.journeys < everything.journeys and sh.journeys + urumqi.journeys == everything.journeys
    assert sh.runs + urumqi.runs == everything.runs
    assert {r.location for r in sh.rows} == {"sh"}
    assert {k for k, *_ in sh.cause_totals} == {"third_party"} and {k for k, *_ in urumqi.cause_totals} == {"system"}
    assert [d.name for d in sh.dependencies] == ["alipay"] and [d.name for d in urumqi.dependencies] == [
        "payment-gateway"
    ]
    assert sh.outages and {(i.probe, i.location) for i in sh.outages} == {("path_video", "sh")}
    assert {i.location for i in urumqi.outages} == {"urumqi"} and len(urumqi.outages) > len(sh.outages)
    # Unfiltered, an outage is still one probe × profile at one location: the two agents' interleaved runs
    # (one failing, one passing) do not read as an outage that recovers every few minutes.
    assert (len(sh.outages), len(urumqi.outages), len(everything.outages)) == (3, 9, 12)
    assert {i.failing_runs for i in everything.outages} == {3}
    assert {f.location for f in sh.latest} == {"sh"} and {f.category for f in sh.latest} == {"third_party"}
    assert sh.recent_runs and {r.location for r in sh.recent_runs} == {"sh"}
    whole, here, there = _steps(everything), _steps(sh), _steps(urumqi)
    assert whole.keys() == here.keys() and all(here[k] + there[k] == whole[k] for k in whole)


def test_probe_and_profile_filters_apply_to_every_section(store: Store) -> None:
    everything = trend.context(store, SINCE, "en", UTC, NOW)
    live = trend.context(store, SINCE, "en", UTC, NOW, probe="path_live")
    assert {r.probe for r in live.rows} == {"path_live"} and [p for p, _ in live.steps] == ["path_live"]
    assert {i.probe for i in live.outages} == {"path_live"} and {f.probe for f in live.latest} == {"path_live"}
    assert {k for k, *_ in live.cause_totals} == {"system"}  # the Alipay outage hit the video path only
    assert [d.name for d in live.dependencies] == ["payment-gateway"]
    assert live.recent_runs and {r.total for r in live.recent_runs} == {len(sample.PROFILES)}  # this probe's only
    one = trend.context(store, SINCE, "en", UTC, NOW, profile=PROFILE, location="urumqi")
    assert {(r.profile, r.location) for r in one.rows} == {(PROFILE, "urumqi")}
    assert {"/".join(i.parts) for i in one.outages} == {PROFILE}
    assert all(0 < n < _steps(everything)[k] for k, n in _steps(one).items())
    assert one.journeys == sum(r.total for r in one.rows)


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"location": "beijing"}, "no journeys with location 'beijing' in this window (locations there: sh, urumqi)"),
        ({"probe": "path_nowhere"}, "no journeys with probe 'path_nowhere'"),
    ],
)
def test_a_filter_naming_nothing_is_refused(store: Store, filters: dict[str, str], message: str) -> None:
    with pytest.raises(LookupError, match=message.replace("(", r"\(").replace(")", r"\)")):
        trend.context(store, SINCE, "en", UTC, NOW, **filters)


def _cli(folder: Path, *args: str) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    configure(parser)
    common = ["--results", f"sqlite:///{folder / 'results.db'}", "--out", str(folder / "out"), "--lang", "en"]
    return main(parser.parse_args(["trend", "--since", "8w", *common, *args]))


def test_the_command_writes_a_filtered_page_beside_the_whole_one(folder: Path, capsys: pytest.CaptureFixture) -> None:
    assert _cli(folder, "--location", "sh", "--probe", "path_video") == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.name == "trend-probe-path_video-location-sh.en.html"
    page = path.read_text(encoding="utf-8")
    assert 'id="filtered"' in page and "payment-gateway" not in page and ">urumqi</option>" not in page
    assert _cli(folder, "--location", "mars") == 2
    assert "locations there: sh, urumqi" in capsys.readouterr().err


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(**launch_options())
        yield b
        b.close()


def _visible(page: Page, selector: str) -> set[str]:
    """The locations of the elements a reader sees."""
    shown = "els => els.filter(e => e.offsetParent).map(e => e.dataset.location)"
    return set(page.locator(selector).evaluate_all(shown))


@pytest.fixture
def pages(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Each language's whole and filtered trend page, written once for both widths (``once``: each
    test that reads them is credited with the store they were read from)."""

    def write(out: Path) -> dict[str, list[str]]:
        store = Store(f"sqlite:///{folder / 'results.db'}")
        try:
            whole = {lang: trend.write(store, SINCE, out, lang, UTC, NOW)[0] for lang in ("en", "zh")}
            only_sh = {lang: trend.write(store, SINCE, out, lang, UTC, NOW, location="sh")[0] for lang in ("en", "zh")}
        finally:
            store.close()
        return {lang: [str(whole[lang]), str(only_sh[lang])] for lang in whole}

    return once(tmp_path_factory, "trend-menus", write)[1]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("width", [390, 1280])
def test_the_menus_filter_every_row_and_name_the_pooled_sections(
    pages: dict[str, list[str]], browser: Browser, width: int, lang: str
) -> None:
    path, filtered = map(Path, pages[lang])
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(path.as_uri())
        assert not page.locator("#pooled-note").is_visible() and not page.locator("h2 .pooled").first.is_visible()
        page.select_option("#f-location", "sh")
        for rows in ("#availability-table tr[data-location]", "#outages tr.outage"):
            assert _visible(page, rows) == {"sh"}, rows
        assert _visible(page, "#recent-runs a") == {"sh"}
        assert page.locator("#pooled-note").is_visible()
        assert page.locator("#filter-command").inner_text() == "orderprobe report trend --since 10h --location 'sh'"
        # step times, Web Vitals (pooled over locations), causes, dependencies, latest
        assert page.locator("h2 .pooled:visible").count() == 5
        page.select_option("#f-location", "")
        page.select_option("#f-probe", "path_live")
        assert page.locator("h2 .pooled:visible").count() == 3  # step times follow the probe menu
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"trend-menus-{lang}-{width}.jpg"), full_page=True)
        page.goto(filtered.as_uri())
        assert page.locator("#filtered").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        page.screenshot(path=str(SHOTS / f"trend-filtered-{lang}-{width}.jpg"), full_page=True)
    finally:
        page.close()
