"""The run report, rendered from a real SQLite store and read back in real headless Chromium."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from orderprobe.base.result import Cause, JourneyResult, RequestRecord, Status
from orderprobe.probes.browser import launch_options
from orderprobe.reports import html, i18n, run_report
from orderprobe.store.store import Store
from tests.support import sample

T0 = datetime(2026, 6, 18, 2, 0, tzinfo=UTC)
SHOTS = Path(__file__).resolve().parent.parent / "test-artefacts"
XSS = "<script>window.__xss=1</script>"
SECRETS = ("hunter2-secret", "tok-SECRET-123", "pw-in-url-456", "otp-778899")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    pw = sync_playwright().start()
    b = pw.chromium.launch(**launch_options())
    yield b
    b.close()
    pw.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    p = context.new_page()
    requests: list[str] = []
    p.on("request", lambda r: requests.append(r.url))
    p.requests = requests  # type: ignore[attr-defined]
    yield p
    context.close()


def _evil(artefacts: Path, browser: Browser) -> JourneyResult:
    """A failure whose every page-derived string is hostile, with secrets in profile and URLs."""
    j = sample.journey(
        random.Random(7),
        run_id="run-618",
        probe="path_video",
        profile="redmi-9a/metro-weak/xinjiang-urumqi/normal",
        started_at=T0,
        status=Status.FAILED,
        cause=Cause(
            category="third_party",
            detail="maintenance",
            dependency="alipay",
            rule="payment-maintenance",
            evidence=f"支付通道维护中 {XSS}",
            summary="第三方支付维护",
        ),
        index=99,
        product=XSS,
    )
    failure = j.failure.model_copy(
        update={
            "page_title": XSS,
            "message": 'waiting for <img src=x onerror="window.__xss=2">',
            "url": "http://shop.localhost:8123/pay?order=7&token=tok-SECRET-123",
            "requests": [
                RequestRecord(method="POST", url="http://qa:pw-in-url-456@pay.localhost/api/pay", status=503),
                RequestRecord(method="POST", url="http://pay.localhost/api/sms?otp=otp-778899", status=200),
            ],
        }
    )
    conditions = dict(j.conditions, account={"name": "normal", "password": "hunter2-secret", "password_env": "PW"})
    # A real screenshot, taken by Chromium, where the engine would have put it.
    shot = artefacts / failure.screenshot
    shot.parent.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 360, "height": 640})
    page.set_content("<h1 style='font-family:sans-serif'>确认订单</h1><p>支付通道维护中，请使用云闪付</p>")
    page.screenshot(path=str(shot))
    page.close()
    return j.model_copy(update={"failure": failure, "conditions": conditions})


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[tuple[Store, Path, JourneyResult]]:
    """One run for the four tests that read it (each writes its own report): made once, not four times."""
    folder = tmp_path_factory.mktemp("filled")
    artefacts = folder / "artefacts"
    store = Store(f"sqlite:///{folder / 'results.db'}")
    store.start_run(
        "run-618",
        started_at=T0,
        target="http://shop.localhost:8123",
        matrix="presale",
        labels={"location": "上海 <b>"},
        command="orderprobe run --target http://qa:pw-in-url-456@shop.localhost -n 2",
    )
    journeys = sample.run_journeys(random.Random(5), "run-618", T0 + timedelta(seconds=1), failing=0.25)
    evil = _evil(artefacts, browser)
    flaky = journeys[0].model_copy(
        update={"status": Status.FLAKY, "attempt": 2, "previous_attempts": [evil.model_copy(update={"id": "a1"})]}
    )
    store.add_journeys([*journeys[1:], evil, flaky])
    store.finish_run("run-618", finished_at=T0 + timedelta(minutes=3, seconds=5), exit_code=1)
    yield store, artefacts, evil
    store.close()


def _open(page: Page, path: Path, shot: str | None = None) -> None:
    page.goto(path.as_uri())
    if shot:  # a test artefact to look at (full-page screenshots cost ~1 s, so one per language)
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / shot), full_page=True)


def test_run_report_header_grid_and_journeys_match_the_store(filled, tmp_path: Path, page: Page) -> None:
    store, artefacts, _ = filled
    summary = store.run("run-618")
    path = run_report.write(store, "run-618", artefacts, tmp_path / "reports", "zh")
    assert path.name == "run-run-618.zh.html"  # one file per language
    _open(page, path, "report-run-zh.jpg")

    assert page.locator("#verdict").get_attribute("class") == "verdict v-failed"
    for status, n in summary.counts.items():
        assert page.locator(f"#counts .chip[data-status={status}] b").inner_text() == str(n)
    assert page.locator("details.journey").count() == summary.total
    grid = page.locator("#grid tr")
    assert grid.count() == 1 + len({j.profile for j in store.journeys("run-618")})  # a header, then each profile
    assert grid.first.locator("th.probe").all_inner_texts() == sorted(sample.PROBES)
    # The worst journeys come first and failures open by themselves.
    first = page.locator("details.journey").first
    assert first.get_attribute("data-status") == "failed" and first.get_attribute("open") is not None
    assert "3 min 5 s" in page.locator(".meta").inner_text()
    assert not [u for u in page.requests if not u.startswith(("file:", "data:"))]  # self-contained


def test_failure_panel_names_cause_rule_evidence_and_inlines_the_screenshot(filled, tmp_path: Path, page: Page) -> None:
    store, artefacts, evil = filled
    from orderprobe.reports.html import anchor

    _open(page, run_report.write(store, "run-618", artefacts, tmp_path, "zh"))
    panel = page.locator(f"#{anchor(evil.id)} .panel")
    assert panel.locator("dd.cause").inner_text().startswith("第三方依赖 · 维护中")
    assert panel.locator("dd.mono").first.inner_text() == "payment-maintenance"
    assert "支付通道维护中" in panel.locator("dd.evidence").inner_text()
    img = panel.locator(".shot img")
    assert img.get_attribute("src").startswith("data:image/png;base64,")
    assert img.evaluate("i => i.complete && i.naturalWidth") == 360  # decodes: the real screenshot
    trace = str((artefacts / evil.failure.trace).resolve())
    assert panel.locator("code.trace").inner_text() == f"orderprobe report trace {evil.id}"
    assert panel.locator("a.trace-file").get_attribute("href") == Path(trace).as_uri()
    assert panel.locator(".reqs tr.bad").count() == 1  # the 503, in red
    # The exact profile it ran under: one line, unfolding to every applied setting.
    conditions = page.locator(f"#{anchor(evil.id)} details.conditions")
    assert conditions.locator("summary").inner_text().endswith("redmi-9a · metro-weak · xinjiang-urumqi · normal")
    conditions.locator("summary").click()
    assert "region.name\txinjiang-urumqi" in conditions.locator(".cond").inner_text().replace("\n", "\t")


def test_hostile_strings_show_as_text_and_secrets_never_appear(filled, tmp_path: Path, page: Page) -> None:
    store, artefacts, evil = filled
    path = run_report.write(store, "run-618", artefacts, tmp_path, "zh")
    text = path.read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in text
    _open(page, path)
    assert page.evaluate("typeof window.__xss") == "undefined"
    from orderprobe.reports.html import anchor

    body = page.locator(f"#{anchor(evil.id)}")
    assert XSS in body.locator("dd.evidence").inner_text()
    assert 'onerror="window.__xss=2"' in body.locator(".panel pre").first.inner_text()
    assert page.locator("img[src=x]").count() == 0
    assert "上海 <b>" in page.locator(".meta").inner_text()


def test_filters_and_grid_links(filled, tmp_path: Path, page: Page) -> None:
    store, artefacts, _ = filled
    counts = store.run("run-618").counts
    _open(page, run_report.write(store, "run-618", artefacts, tmp_path, "en"), "report-run-en.jpg")
    assert "FAIL" in page.locator("#verdict").inner_text()
    page.select_option("#f-status", "failed")
    assert page.locator("details.journey:visible").count() == counts["failed"]
    assert page.locator("#f-count").inner_text() == str(counts["failed"])
    page.select_option("#f-status", "")
    page.select_option("#f-cause", "account")
    visible = page.locator("details.journey:visible")
    assert visible.count() == counts["blocked"] and set(visible.evaluate_all("d => d.map(x => x.dataset.status)")) == {
        "blocked"
    }
    # A grid cell jumps to its journey and opens it, even a passing (closed) one.
    cell = page.locator("#grid a[data-status=passed]").first
    target = cell.get_attribute("href")[1:]
    page.select_option("#f-cause", "")
    cell.click()
    # The page opens it on "hashchange", a task queued after the click: polled, not read once.
    expect(page.locator(f"#{target}")).to_have_attribute("open", "")


def test_waterfall_is_to_scale_and_missing_screenshot_is_said(tmp_path: Path) -> None:
    j = sample.journey(
        random.Random(1),
        run_id="r",
        probe="path_live",
        profile=sample.PROFILES[0],
        started_at=T0,
        status=Status.FAILED,
        cause=sample.CAUSES[1],
    )
    view = run_report.journey_view(j, tmp_path, "zh")
    total = max(j.duration_ms, j.steps[-1].start_ms + j.steps[-1].duration_ms)
    for step, shown in zip(j.steps, view.steps, strict=True):
        assert shown.left == pytest.approx(step.start_ms / total * 100, abs=0.01)
        assert shown.width == pytest.approx(max(step.duration_ms / total * 100, 0.4), abs=0.01)
    assert view.failure.screenshot is None and view.failure.screenshot_path.endswith("failure.png")
    assert run_report.verdict({"passed": 3, "blocked": 1}) == "passed"
    assert run_report.verdict({"passed": 3, "error": 1}) == "error"
    assert run_report.verdict({"error": 1, "failed": 1}) == "failed"
    assert run_report.verdict({}) == "empty"


def test_unknown_run_is_a_clear_error(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    with pytest.raises(LookupError, match="no run 'nope'"):
        run_report.render(store, "nope", tmp_path, "zh")
    store.close()


def test_only_images_inside_the_artefacts_folder_are_inlined_within_budget(tmp_path: Path) -> None:
    from orderprobe.reports.html import Inliner

    (tmp_path / "art" / "r").mkdir(parents=True)
    (tmp_path / "secret.png").write_bytes(b"\x89PNG outside")
    (tmp_path / "art" / "r" / "notes.txt").write_text("not an image")
    for name in ("a.png", "b.png"):
        (tmp_path / "art" / "r" / name).write_bytes(b"\x89PNG" + bytes(600))
    inline = Inliner(tmp_path / "art", budget=1000)
    assert inline("../secret.png")[0] is None  # no reading outside the artefacts folder
    assert inline("r/notes.txt")[0] is None
    assert inline("r/a.png")[0].startswith("data:image/png;base64,")
    uri, path = inline("r/b.png")  # over the page's budget: named by path instead
    assert uri is None and path == str((tmp_path / "art" / "r" / "b.png").resolve())
    assert inline(None) == (None, None)


def test_a_sparse_matrix_is_shown_per_probe_not_as_an_empty_grid(tmp_path: Path, page: Page) -> None:
    """Presale runs each scenario under its own profile: a probe × profile grid would be
    mostly dashes, so the report lists each probe with the profiles it ran under."""
    store = Store(f"sqlite:///{tmp_path / 'results.db'}")
    store.start_run("sparse", started_at=T0, target="t", matrix="presale")
    rng = random.Random(7)
    profiles = ["android-mid/wifi/shanghai/teen", "iphone-15/4g/beijing/normal", "android-4.4/3g/dancheng/normal"]
    probes = sorted(sample.PROBES)  # 3 probes × 3 profiles, one journey each: a third of the grid
    journeys = [
        sample.journey(rng, run_id="sparse", probe=probe, profile=profiles[i % 3], started_at=T0, index=i)
        for i, probe in enumerate(probes)
    ]
    store.add_journeys(journeys)
    store.finish_run("sparse", finished_at=T0 + timedelta(minutes=1), exit_code=0)
    _open(page, run_report.write(store, "sparse", tmp_path, tmp_path / "reports", "en"))
    rows = page.locator("#grid.sparse tr")
    assert rows.count() == 1 + len(probes)  # a header, then one row per probe
    assert rows.nth(1).locator(".pname").inner_text() == probes[0]
    assert "android-mid · wifi · shanghai · teen" in rows.nth(1).inner_text()
    assert page.locator("#grid a.pcell").first.get_attribute("href") == "#" + html.anchor(journeys[0].id)
    store.close()


def test_a_failure_sits_beside_the_last_passing_run_of_its_journey(tmp_path: Path, page: Page) -> None:
    store = Store(f"sqlite:///{tmp_path / 'results.db'}")
    rng = random.Random(3)
    profile = sample.PROFILES[0]
    for k, (status, run_id) in enumerate([(Status.PASSED, "older"), (Status.PASSED, "old"), (Status.FAILED, "now")]):
        store.start_run(run_id, started_at=T0 + timedelta(hours=k), target="t", matrix="smoke")
        j = sample.journey(
            rng,
            run_id=run_id,
            probe="path_video",
            profile=profile,
            started_at=T0 + timedelta(hours=k),
            status=status,
            cause=sample.CAUSES[1] if status is Status.FAILED else None,
        )
        store.add_journey(j)
    passed = store.journeys("old")[0]
    failed = store.journeys("now")[0]
    _open(page, run_report.write(store, "now", tmp_path / "a", tmp_path, "en"))
    body = page.locator(f"#{html.anchor(failed.id)}")
    assert body.locator("a.versus-link").get_attribute("href") == f"run-old.en.html#{html.anchor(passed.id)}"
    rows = body.locator("table.versus tr").all_inner_texts()
    assert len(rows) == 1 + len(passed.steps) + 1  # header, every step of the passing path, total
    assert [r.split("\t")[0] for r in rows[1:-1]] == [s.name for s in passed.steps]
    assert sum("not reached" in r for r in rows) == len(passed.steps) - len(failed.steps)
    store.close()


@pytest.mark.parametrize(("lang", "label"), [("en", "ad-hoc (each probe on its own profile)"), ("zh", "临时")])
def test_a_run_without_a_matrix_is_labelled_ad_hoc(tmp_path: Path, lang: str, label: str) -> None:
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        store.start_run("adhoc", started_at=T0, target="t", matrix=None)
        store.finish_run("adhoc", finished_at=T0 + timedelta(seconds=5), exit_code=0)
        page = run_report.render(store, "adhoc", tmp_path, lang)
    finally:
        store.close()
    header = page[page.index(">" + i18n.texts(lang)["matrix"] + "<") :][:300]
    assert label in header and "–" not in header


@pytest.mark.parametrize("lang, words", [("en", "evidence"), ("zh", "取证")])
def test_a_failed_steps_evidence_time_and_the_links_record_are_shown(
    tmp_path: Path, browser: Browser, lang: str, words: str
) -> None:
    """The step's own time, then the time its evidence took (not in it), and what the emulated link
    did — readable on a phone (390 px) and a desktop (1280 px), nothing pushed off the screen."""
    from orderprobe.base.result import LinkRecord, Outage
    from orderprobe.reports.html import anchor

    artefacts = tmp_path / "artefacts"
    evil = _evil(artefacts, browser)
    summary = "emulated network (packet): link down 8.67–13.35 s (dropout; in flight: POST /pay (sent 8.60 s))"
    record = LinkRecord(mode="packet", outages=[Outage(start_ms=8670, end_ms=13350, why="dropout")], dropped={},
                        stalled=True, summary=summary + " <b>x</b>")  # fmt: skip
    failed = evil.steps[-1].model_copy(update={"evidence_ms": 4321.0, "link": record})
    evil = evil.model_copy(
        update={"steps": [*evil.steps[:-1], failed], "failure": evil.failure.model_copy(update={"link": record})}
    )
    store = Store(f"sqlite:///{tmp_path / 'results.db'}")
    store.start_run("run-618", started_at=T0, target="http://shop.localhost:8123", matrix="presale")
    store.add_journeys([evil])
    store.finish_run("run-618", finished_at=T0 + timedelta(minutes=1), exit_code=1)
    report = run_report.write(store, "run-618", artefacts, tmp_path, lang)
    store.close()
    context = browser.new_context(viewport={"width": 390, "height": 900})
    page = context.new_page()
    page.goto(report.as_uri())  # once: the page's layout is CSS, re-laid out at each width
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        row = page.locator(f"#{anchor(evil.id)} tr[data-step-status]").last
        page.locator(f"#{anchor(evil.id)}").evaluate("d => { d.open = true }")  # failures open by default
        shown = row.locator(".evidence-time")
        assert shown.inner_text() == f"+4.32 s {words}", shown.inner_text()
        assert shown.is_visible() and shown.bounding_box()["x"] + shown.bounding_box()["width"] <= width
        assert row.locator(".step-link").get_attribute("title") == summary + " <b>x</b>"  # as text, escaped
        panel = page.locator(f"#{anchor(evil.id)} .panel dd.link-record")
        assert panel.inner_text().startswith("emulated network (packet): link down 8.67–13.35 s")
        assert page.evaluate("window.__xss") is None
        SHOTS.mkdir(exist_ok=True)
        row.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"run-evidence-time-{lang}-{width}.png"))
    context.close()
