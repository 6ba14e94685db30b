"""The comparison report: medians of known journeys, diffs to a baseline, read back in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from orderprobe.base.result import Interactions, JourneyResult, Status, StepResult
from orderprobe.probes.browser import launch_options
from orderprobe.reports import compare
from orderprobe.store.store import Store

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
SHOTS = Path(__file__).resolve().parent.parent / "test-artefacts"
WIFI = "redmi-9a/wifi/shanghai/normal"
METRO = "redmi-9a/metro-weak/shanghai/normal"
# path -> steps (name, ms on wifi, taps, text inputs, page loads): the three entry paths of the field study.
PATHS = {
    "path_video": [("video", 900, 0, 0, 1), ("cart", 700, 3, 0, 1), ("checkout", 800, 1, 2, 1), ("pay", 1200, 2, 1, 1)],
    "path_live": [("live", 1100, 0, 0, 1), ("product", 700, 1, 0, 1), ("pay", 1200, 2, 1, 1)],
    "path_subsidy": [("subsidy", 800, 0, 0, 1), ("buy_now", 1000, 1, 0, 1)],
}
RUN_FACTORS = {"paths-1": 1.0, "paths-2": 1.2, "paths-3": 0.9}  # median factor: 1.0
NETWORK = {WIFI: 1.0, METRO: 3.0}


def _journey(run_id: str, probe: str, profile: str, status: Status = Status.PASSED) -> JourneyResult:
    factor = RUN_FACTORS[run_id] * NETWORK[profile] * (10 if status is Status.FAILED else 1)
    steps, clock = [], 0.0
    for name, ms, taps, inputs, loads in PATHS[probe]:
        counts = Interactions(taps=taps, text_inputs=inputs, page_loads=loads, requests=10, bytes=100 * 1024)
        steps.append(
            StepResult(name=name, status="passed", start_ms=clock, duration_ms=ms * factor, interactions=counts)
        )
        clock += ms * factor
    return JourneyResult(
        id=f"{run_id}:{probe}:{profile}:{status}",
        run_id=run_id,
        probe=probe,
        nodeid=f"probes/checkout/test_paths.py::test_{probe}",
        profile=profile,
        status=status,
        started_at=T0,
        duration_ms=clock,
        steps=steps,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'results.db'}")
    s.start_run("other", started_at=T0 - timedelta(days=1), target="t", matrix="presale")
    s.add_journey(_journey("paths-1", "path_live", WIFI).model_copy(update={"run_id": "other", "id": "o"}))
    for k, run_id in enumerate(RUN_FACTORS):
        s.start_run(run_id, started_at=T0 + timedelta(hours=k), target="http://shop.localhost", matrix="paths")
        s.add_journeys([_journey(run_id, probe, profile) for probe in PATHS for profile in NETWORK])
    # A failed journey stops early and ran long: it must not count in a path's medians.
    s.add_journey(_journey("paths-3", "path_video", WIFI, Status.FAILED))
    yield s
    s.close()


def test_default_runs_are_the_paths_matrix_else_the_latest_matrix(store: Store) -> None:
    store.start_run("later-presale", started_at=T0 + timedelta(days=2), target="t", matrix="presale")
    assert compare.default_runs(store) == ["paths-3", "paths-2", "paths-1"]
    assert compare.default_runs(store, matrix="regions") == ["later-presale", "other"]


def test_medians_and_diffs_to_the_baseline(store: Store) -> None:
    ctx = compare.context(store, baseline="path_video")
    assert ctx.profile == WIFI and ctx.baseline == "path_video"
    assert [p.probe for p in ctx.paths] == ["path_video", "path_live", "path_subsidy"]
    video, live, subsidy = ctx.paths
    assert video.values == {
        "steps": 4,
        "taps": 6,
        "text_inputs": 3,
        "page_loads": 4,
        "requests": 40,
        "kb": 400,
        "total_ms": 3600,
    }
    assert video.n == 3 and video.outcomes == {"passed": 3, "failed": 1}  # the failure is counted, not pooled
    assert live.diff["steps"].value == -1 and live.diff["taps"].value == -3 and live.diff["total_ms"].value == -600
    assert subsidy.diff["page_loads"].value == -2 and subsidy.values["total_ms"] == 1800
    assert video.spread["total_ms"] == compare.Spread(3420, 3960, 3240, 4320)  # runs ×0.9, ×1.0, ×1.2
    # Three journeys a side whose times overlap: within the noise, and beyond what 3 vs 3 could show anyway
    # (an exact test cannot go below p = 0.1). A step count that never varies: a fact, stated as exact.
    assert live.diff["total_ms"].p > 0.05 and not live.diff["total_ms"].significant
    assert live.diff["total_ms"].n == (3, 3) and live.diff["total_ms"].cannot_tell
    assert live.diff["steps"].exact and live.diff["steps"].p is None and not live.diff["steps"].cannot_tell
    assert ctx.few == 3
    assert [(s.name, s.ms) for s in video.segments] == [("video", 900), ("cart", 700), ("checkout", 800), ("pay", 1200)]
    assert video.segments[-1].width == pytest.approx(1200 / 3600 * 100, abs=0.01)
    across = {a.probe: a.rows for a in ctx.across}
    assert [(r.profile, r.diff.value, r.ratio) for r in across["path_live"]] == [(WIFI, 0, 1.0), (METRO, 6000, 3.0)]


def test_errors_name_what_is_missing(store: Store) -> None:
    with pytest.raises(LookupError, match="no successful journeys of path_cart .*probes there: path_live"):
        compare.context(store, probes=["path_live", "path_cart"])
    with pytest.raises(LookupError, match="path_nope"):
        compare.context(store, baseline="path_nope")
    empty = Store(f"sqlite:///{Path(store.engine.url.database).parent / 'empty.db'}")
    assert compare.context(empty).paths == []
    assert "没有可比较的成功旅程" in compare.render(empty, "zh")
    empty.close()


def test_comparison_page_in_chromium(store: Store, tmp_path: Path) -> None:
    path = compare.write(
        store, tmp_path, "zh", baseline="path_video", probes=["path_live", "path_subsidy", "path_video"]
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(path.as_uri())
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "report-compare-zh.jpg"), full_page=True)
        header = page.locator("#paths th.path").all_inner_texts()
        assert [h.split()[0] for h in header] == ["path_video", "path_live", "path_subsidy"]
        assert "3 次完成的中位数" in header[0]
        assert page.locator("#paths th[data-probe=path_video] .b[data-status=failed]").inner_text() == "失败 1"
        assert "少于 5 次" in page.locator("#few-note").inner_text()
        steps = page.locator("#paths tr[data-metric=steps] td[data-probe=path_live]")
        assert steps.locator("b").inner_text() == "3" and steps.locator(".d").inner_text().split() == ["−1", "精确"]
        assert "无法判断" in page.locator("#paths tr[data-metric=total_ms] td[data-probe=path_live] .d").inner_text()
        total = page.locator("#paths tr[data-metric=total_ms] td[data-probe=path_subsidy]")
        assert total.locator("b").inner_text() == "1.80 s" and total.locator(".d").inner_text().startswith("−1.80 s")
        assert "IQR 1.71 s–1.98 s" in total.inner_text()
        metro = page.locator(f"table.across[data-probe=path_video] tr[data-profile='{METRO}'] td.diff")
        assert metro.inner_text().startswith("+7.20 s")  # 3 × 3.6 s on a weak metro signal, 7.2 s more than Wi-Fi
        # Step names sit beside the bars, whole, never cut inside a narrow segment.
        assert page.locator("#per-step [data-probe=path_subsidy] .segs").inner_text().split() == [
            "subsidy",
            "0.80",
            "s",
            "buy_now",
            "1.00",
            "s",
        ]
        browser.close()


def test_the_default_baseline_is_the_shortest_path_on_the_best_network(store: Store) -> None:
    """Without --baseline: the fewest steps (subsidy) under the best network (Wi-Fi), said as a default."""
    ctx = compare.context(store)
    assert (ctx.baseline, ctx.profile, ctx.baseline_chosen) == ("path_subsidy", WIFI, False)
    assert ctx.paths[0].probe == "path_subsidy" and ctx.paths[0].is_baseline
    assert compare.context(store, baseline="path_live").baseline_chosen


def test_the_best_network_is_read_from_the_conditions(store: Store) -> None:
    """A profile's network conditions decide, not its name or how it sorts."""
    fast = {"network": {"name": "fibre", "rtt_ms": 5, "down_kbps": 100_000}}
    slow = {"network": {"name": "wifi", "rtt_ms": 300, "down_kbps": 400}}
    store.start_run("named", started_at=T0 + timedelta(days=1), target="x", matrix="paths")
    for probe in ("path_live", "path_subsidy"):
        for profile, conditions in (("d/wifi/r/a", slow), ("d/zz-fibre/r/a", fast)):
            j = _journey("paths-1", probe, WIFI)
            store.add_journey(
                j.model_copy(
                    update={"run_id": "named", "id": f"{probe}{profile}", "profile": profile, "conditions": conditions}
                )
            )
    assert compare.context(store, ["named"]).profile == "d/zz-fibre/r/a"


def test_significance_needs_a_difference_bigger_than_the_noise(tmp_path: Path) -> None:
    """Six journeys a side: a path 40% slower every time is significant; one within the noise is not."""
    s = Store(f"sqlite:///{tmp_path / 'many.db'}")
    s.start_run("many", started_at=T0, target="t", matrix="paths")
    noise = [1.0, 1.1, 0.95, 1.05, 0.9, 1.02]
    for k, f in enumerate(noise):
        for probe, factor in (("path_live", f), ("path_subsidy", noise[-1 - k] * 1.01), ("path_video", f * 1.4)):
            j = _journey("paths-1", probe, WIFI)
            steps = [st.model_copy(update={"duration_ms": st.duration_ms * factor}) for st in j.steps]
            s.add_journey(
                j.model_copy(
                    update={
                        "run_id": "many",
                        "id": f"{probe}{k}",
                        "steps": steps,
                        "duration_ms": j.duration_ms * factor,
                    }
                )
            )
    ctx = compare.context(s, ["many"], probes=["path_live", "path_subsidy", "path_video"], baseline="path_live")
    by = {p.probe: p for p in ctx.paths}
    assert by["path_video"].diff["total_ms"].significant and by["path_video"].diff["total_ms"].p < 0.01
    assert not by["path_live"].diff["steps"].significant  # the baseline against itself: exactly 0
    assert by["path_live"].diff["steps"].exact and by["path_live"].diff["steps"].value == 0
    assert not by["path_video"].diff["total_ms"].cannot_tell  # 6 vs 6 can show a difference (p ≥ 0.0022)
    assert ctx.few == 6
    s.close()


def test_an_exact_test_at_small_n() -> None:
    """3 vs 3 fully separated: the exact p is 0.1 (2 of 20 arrangements), not the 0.05 the normal
    approximation gives; ties are handled by enumerating the arrangements; bigger samples still test."""
    assert compare.mann_whitney([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)
    assert compare.smallest_p(3, 3) == pytest.approx(0.1) and compare.smallest_p(5, 5) == pytest.approx(2 / 252)
    assert compare.mann_whitney([1, 1, 3], [3, 5, 6]) == pytest.approx(0.2)
    assert compare.mann_whitney(list(range(10)), [x + 20 for x in range(10)]) < 0.001  # normal approximation
    assert compare.cliffs_delta([4, 5, 6], [1, 2, 3]) == 1 and compare.cliffs_delta([1, 2], [1, 2]) == 0
