"""The trend report over a known history (three outages), read back in headless Chromium."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from orderprobe.base.result import Cause
from orderprobe.probes.browser import launch_options
from orderprobe.reports import html, i18n, trend
from orderprobe.store.store import Store
from tests.support import sample

START = datetime(2026, 11, 10, 20, 0, tzinfo=UTC)
NOW = START + timedelta(hours=10)
SHOTS = Path(__file__).resolve().parent.parent / "test-artefacts"
ALIPAY = Cause(
    category="third_party",
    detail="maintenance",
    dependency="alipay",
    rule="payment-maintenance",
    evidence="支付通道维护中",
    summary="<script>window.__xss=1</script> 支付宝维护",
)
GATEWAY = sample.CAUSES[3]  # system / gateway_5xx / payment-gateway
SOLD_OUT = sample.CAUSES[2]  # inventory / sold_out
NORMAL_PROFILES = [p for p in sample.PROFILES if not p.endswith("/teen")]  # teen journeys are blocked, never failing


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path_factory.mktemp('trend') / 'results.db'}")
    at = START.__add__
    outages = [
        (at(timedelta(hours=2)), at(timedelta(hours=2, minutes=40)), ALIPAY, "path_video"),  # runs 2:00 2:15 2:30
        (at(timedelta(hours=6)), at(timedelta(hours=6, minutes=20)), GATEWAY, None),  # runs 6:00 6:15
        (at(timedelta(hours=9, minutes=30)), at(timedelta(hours=12)), SOLD_OUT, "path_live"),  # still failing
    ]
    runs = sample.history(random.Random(3), start=START, runs=40, every=timedelta(minutes=15), outages=outages, noise=0)
    sample.fill(s, runs)
    yield s
    s.close()


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    pw = sync_playwright().start()
    browser: Browser = pw.chromium.launch(**launch_options())
    p = browser.new_page(viewport={"width": 1440, "height": 900})
    yield p
    browser.close()
    pw.stop()


def test_outages_have_time_to_detect_and_recover(store: Store) -> None:
    ctx = trend.context(store, timedelta(hours=10), "zh", tz=UTC, now=NOW)
    by_cause: dict[str, list[trend.Outage]] = {}
    words = {i18n.detail_label("zh", code): code for code in i18n.DETAIL["zh"]}  # the zh page names details in words
    for i in ctx.outages:
        detail = i.cause.split(" · ")[1]
        by_cause.setdefault(words.get(detail, detail), []).append(i)
    assert len(by_cause["maintenance"]) == len(NORMAL_PROFILES)  # path_video × each profile that can fail
    assert {(i.began, i.recovered, i.ttr, i.failing_runs) for i in by_cause["maintenance"]} == {
        ("11-10 22:00", "11-10 22:45", "45 min", 3)
    }
    assert all(i.ttd.startswith("15 min") for i in by_cause["maintenance"])  # last pass 21:45 → failure seen
    assert len(by_cause["gateway_5xx"]) == 3 * len(NORMAL_PROFILES)
    assert {(i.ttr, i.failing_runs) for i in by_cause["gateway_5xx"]} == {("30 min", 2)}
    ongoing = by_cause["sold_out"]
    assert len(ongoing) == len(NORMAL_PROFILES) and {(i.recovered, i.ttr, i.failing_runs) for i in ongoing} == {
        (None, None, 2)
    }
    assert ctx.outages[0].cause.endswith(i18n.detail_label("zh", "sold_out"))  # most recent first


def test_trend_page_reads_back_in_chromium(store: Store, tmp_path: Path, page: Page) -> None:
    path, ctx = trend.write(store, timedelta(hours=10), tmp_path, "zh", tz=UTC, now=NOW)
    page.goto(path.as_uri())
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "report-trend-zh.jpg"), full_page=True)

    assert page.evaluate("typeof window.__xss") == "undefined"
    assert "<script>window.__xss=1</script> 支付宝维护" in page.locator("#latest").inner_text()
    assert page.locator("#availability-table tr[data-probe]").count() == len(sample.PROBES) * len(sample.PROFILES)
    assert page.locator("#outages tr.outage").count() == (1 + 3 + 1) * len(NORMAL_PROFILES)
    assert page.locator("#outages .ongoing").count() == len(NORMAL_PROFILES)
    kinds = page.locator("#latest tr[data-cause]").evaluate_all("rows => rows.map(r => r.dataset.cause)")
    assert sorted(kinds) == ["inventory", "system", "third_party"]
    deps = page.locator("#dependencies tr[data-dependency]").evaluate_all("rows => rows.map(r => r.dataset.dependency)")
    assert deps == ["alipay", "payment-gateway"]
    totals = dict(
        page.locator("#cause-totals span").evaluate_all(
            "s => s.map(x => [x.dataset.cause, x.querySelector('b').textContent])"
        )
    )
    assert totals == {"system": "18", "third_party": "9", "inventory": "6"}
    # Availability: failing journeys / all journeys in the window, as the page states it.
    failing = 18 + 9 + 6
    assert page.locator("#availability").inner_text() == f"{(1 - failing / ctx.journeys) * 100:.1f}%"
    teen = page.locator("#availability-table tr", has_text="teen").first
    assert teen.locator("td.pct").inner_text() == "100%"
    # Every link points at a run report the command will write, and at the journey inside it.
    links = page.locator("#latest a, #outages a").evaluate_all("a => a.map(x => x.getAttribute('href'))")
    assert links and all(link.startswith("run-sched-") and "#j-" in link for link in links)
    runs = page.locator("#recent-runs a").evaluate_all("a => a.map(x => x.getAttribute('href'))")
    assert len(runs) == trend.sections.RECENT_RUNS and runs[0] == html.run_report_name("sched-20261111-054500", "zh")
    every = {link.split("#")[0] for link in links + runs}
    assert every == {html.run_report_name(r, "zh") for r in ctx.linked_runs}


def test_worst_rows_first_steps_in_journey_order_charts_with_axes(store: Store, tmp_path: Path, page: Page) -> None:
    path, ctx = trend.write(store, timedelta(hours=10), tmp_path, "en", tz=UTC, now=NOW)
    shares = [r.availability for r in ctx.rows]
    assert shares == sorted(shares) and shares[0] < 1  # the failing rows are on top, not buried
    steps = {probe: [s.step for s in rows] for probe, rows in ctx.steps}
    assert steps == {probe: [name for name, *_ in plan] for probe, plan in sample.PROBES.items()}
    page.goto(path.as_uri())
    chart = page.locator("#timing section[data-probe=path_video] .chart").first
    assert chart.get_attribute("data-step") == "open_video"
    ticks = chart.locator("svg text").all_text_contents()
    assert ticks[0] == "0 s" and any(t.endswith(" s") and t != "0 s" for t in ticks)  # y axis with units
    assert any(t.startswith("11-1") for t in ticks)  # x axis: time labels
    assert chart.locator("polyline[stroke-dasharray]").count() >= 1  # p95 dashed beside p50
    # The probe filter hides other probes' rows and charts.
    page.select_option("#f-probe", "path_live")
    visible = page.locator("#availability-table tr[data-probe]:visible").evaluate_all(
        "r => r.map(x => x.dataset.probe)"
    )
    assert visible and set(visible) == {"path_live"}
    assert page.locator("#timing section:visible").count() == 1


def test_english_trend_and_empty_window(store: Store, tmp_path: Path, page: Page) -> None:
    html, _ = trend.render(store, timedelta(hours=10), "en", tz=UTC, now=NOW)
    assert "Time to detect" in html and "ongoing" in html
    empty, ctx = trend.render(store, timedelta(hours=1), "en", tz=UTC, now=NOW + timedelta(days=30))
    assert ctx.journeys == 0 and ctx.outages == [] and "No outages in this window" in empty


@pytest.mark.parametrize(("text", "seconds"), [("90m", 5400), ("24h", 86400), ("7d", 604800), ("2w", 1209600)])
def test_parse_since(text: str, seconds: int) -> None:
    assert trend.parse_since(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["", "7", "d", "7x", "-1d", "0h", "1.5d"])
def test_parse_since_refuses_with_a_clear_message(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a number and a unit"):
        trend.parse_since(bad)


def test_each_series_says_how_its_network_was_emulated(tmp_path: Path) -> None:
    """Issue 15: the mode of every journey is shown in the trend, and a series that changed mode
    says so with counts (its timings are not comparable across the change)."""
    s = Store(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        rng = random.Random(5)
        modes = {"path_video": ["packet"] * 3, "path_live": ["packet", "cdp", "cdp"]}
        for k in range(3):
            when = START + timedelta(minutes=10 * k)
            journeys = [
                sample.journey(
                    rng, run_id=f"r{k}", probe=probe, profile=sample.PROFILES[0], started_at=when, index=i
                ).model_copy(update={"emulation": mode[k]})
                for i, (probe, mode) in enumerate(modes.items())
            ]
            sample.fill(s, [(f"r{k}", when, journeys)])
        c = trend.context(s, timedelta(hours=2), "en", now=START + timedelta(hours=1))
        page = trend.render(s, timedelta(hours=2), "en", now=START + timedelta(hours=1))[0]
    finally:
        s.close()
    assert {r.probe: r.emulation for r in c.rows} == {"path_video": "packet", "path_live": "cdp 2 · packet 1"}
    assert 'class="tag emu"' in page and ">cdp 2 · packet 1<" in page


def test_a_one_off_failure_and_a_stopped_job_are_not_ongoing_and_a_not_exercised_run_closes_nothing(
    tmp_path: Path, page: Page
) -> None:
    """The README's android-4.4 example fails once and is never run again: no later run says the
    failure goes on, so the trend must not show it "ongoing" for ever. Only a series still run on
    its usual interval is ongoing; a pass closes an outage; a journey whose scenario did not
    happen neither closes one nor counts in availability."""
    s = Store(f"sqlite:///{tmp_path / 'results.db'}")
    rng = random.Random(5)
    compat = Cause(category="compatibility", detail="unsupported_browser", rule="compat", summary="请升级浏览器")
    probe, normal = "path_video", NORMAL_PROFILES[0]
    old_android = "android-4.4/wifi/urumqi/normal"  # its own series: one run, ever

    def run(k: int, when: datetime, journeys: list[tuple[str, sample.Status, Cause | None]]) -> tuple:
        run_id = f"r{k:03d}"
        made = [
            sample.journey(
                rng, run_id=run_id, probe=probe, profile=profile, started_at=when, status=st, cause=c, index=i
            )
            for i, (profile, st, c) in enumerate(journeys)
        ]
        return run_id, when, made

    every = timedelta(minutes=15)
    runs = [run(0, START, [(old_android, sample.Status.FAILED, compat)])]  # the one-off
    for k in range(1, 13):  # a job on `normal` every 15 min: fails from run 8 on, then stops after run 12 …
        failing = k >= 8
        runs.append(run(k, START + k * every, [(normal, sample.Status.FAILED if failing else sample.Status.PASSED,
                                                 SOLD_OUT if failing else None)]))  # fmt: skip
    sample.fill(s, runs)
    late = START + timedelta(hours=6)
    ctx = trend.context(s, timedelta(hours=8), "en", tz=UTC, now=late)  # … five hours ago
    states = {"/".join(i.parts): (i.state, i.recovered, i.last_run) for i in ctx.outages}
    assert states == {old_android: ("not_rerun", None, "11-10 20:00"), normal: ("not_rerun", None, "11-10 23:00")}
    soon = START + 13 * every  # one interval after the last run: the job is still running, still failing
    assert [i.state for i in trend.context(s, timedelta(hours=8), "en", tz=UTC, now=soon).outages if
            "/".join(i.parts) == normal] == ["open"]  # fmt: skip

    # A later run whose scenario did not happen closes nothing and is no availability sample …
    before = trend.context(s, timedelta(hours=8), "en", tz=UTC, now=late)
    skipped = run(13, START + 13 * every, [(normal, sample.Status.PASSED, None)])
    skipped[2][0] = skipped[2][0].model_copy(
        update={"status": sample.Status.NOT_EXERCISED, "not_exercised": ["the outage missed the payment"]}
    )
    sample.fill(s, [skipped])
    after = trend.context(s, timedelta(hours=8), "en", tz=UTC, now=soon + timedelta(minutes=1))
    (still,) = [i for i in after.outages if "/".join(i.parts) == normal]
    assert still.recovered is None and after.journeys == before.journeys and after.availability == before.availability
    # … and a pass does.
    sample.fill(s, [run(14, START + 14 * every, [(normal, sample.Status.PASSED, None)])])
    closed = trend.context(s, timedelta(hours=8), "en", tz=UTC, now=START + 15 * every)
    (done,) = [i for i in closed.outages if "/".join(i.parts) == normal]
    assert (done.state, done.recovered) == ("recovered", "11-10 23:30")

    path, _ = trend.write(s, timedelta(hours=8), tmp_path, "en", tz=UTC, now=late)
    page.goto(path.as_uri())
    one_off = page.locator("#outages tr.outage", has_text="android-4.4")
    assert one_off.locator(".ongoing").count() == 0
    assert one_off.locator(".not-rerun").inner_text() == "not re-run · last run 11-10 20:00"
    assert page.locator("#outages .ongoing").count() == 0
    SHOTS.mkdir(exist_ok=True)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") == width
        page.locator("#outages").screenshot(path=str(SHOTS / f"trend-not-rerun-{width}.png"))
    page.set_viewport_size({"width": 1440, "height": 900})
    s.close()
