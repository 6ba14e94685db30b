"""The terminal of `orderprobe run`: the verdict once under the table and the report path last,
blocked rows as passes with the refusal named, the matrix or "ad-hoc" named, the planned total known from the start."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from orderprobe.base.result import Cause, FailurePoint, JourneyResult, Status
from orderprobe.probes.progress import Progress
from orderprobe.probes.reporter import Run
from orderprobe.probes.settings import Settings

STARTED = datetime(2026, 6, 18, 1, 0, tzinfo=UTC)


def settings(matrix: str | None) -> Settings:
    return Settings(
        target=None, matrix=matrix, profile={}, profile_dirs=(), results=None, artefacts=Path("art"), trace="off",
        retries=0, action_timeout_ms=1000, dependencies={}, rule_files=(), headed=False, live_progress=False,
    )  # fmt: skip


def journey(probe: str, status: Status, category: str = "", detail: str = "") -> JourneyResult:
    refused = status in (Status.FAILED, Status.BLOCKED, Status.ERROR)
    return JourneyResult(
        id=probe, run_id="r1", probe=probe, nodeid=f"t.py::test_{probe}", profile="android-mid/wifi/shanghai/teen",
        status=status, started_at=STARTED, duration_ms=1200,
        failure=FailurePoint(step="buy now", error_type="AssertionError", message="refused") if refused else None,
        cause=Cause(category=category, detail=detail) if refused else None,
    )  # fmt: skip


def transcript(
    results: list[JourneyResult], exit_code: int, matrix: str | None = "presale", **changes: object
) -> list[str]:
    console = Console(record=True, width=240, force_terminal=False)
    progress = Progress(console)
    run = Run("r1", STARTED, replace(settings(matrix), **changes), "orderprobe run")
    run.planned = len(results)
    progress.on_run_start(run)
    for r in results:
        progress.on_journey_end(r)
    progress.on_run_end(run, exit_code)
    return [line.rstrip() for line in console.export_text().splitlines() if line.strip()]


def test_a_failing_run_says_so_once_under_the_table() -> None:
    lines = transcript(
        [journey("a", Status.PASSED), journey("b", Status.FAILED, "system", "api_5xx"),
         journey("c", Status.ERROR, "probe_broken", "selector_drift"), journey("d", Status.FAILED, "network", "dns")],
        exit_code=1,
    )  # fmt: skip
    verdict = "FAIL: 2 failed, 1 probe error of 4 journeys"
    assert lines[0].startswith("orderprobe run r1 · matrix presale · target embedded demo shop · 4 journeys")
    assert lines.count(verdict) == 1 and lines[-1] == verdict  # no outputs here: the verdict ends it


def row(lines: list[str], probe: str) -> dict[str, str]:
    """The summary table's row of ``probe``, by column title (columns come and go)."""
    (header,) = [line for line in lines if line.startswith("┃ probe")]
    (cells,) = [line for line in lines if line.startswith(f"│ {probe} ")]
    split = lambda line, bar: [c.strip() for c in line.strip(bar).split(bar)]  # noqa: E731
    return dict(zip(split(header, "┃"), split(cells, "│"), strict=True))


def test_blocked_rows_are_passes_with_the_refusal_named() -> None:
    lines = transcript([journey("teen", Status.BLOCKED, "account", "teen"), journey("a", Status.PASSED)], 0)
    assert lines[-1] == "PASS: 2 journeys met their expectation (1 passed, 1 blocked)"
    assert transcript([journey("a", Status.PASSED)], 0)[-1] == "PASS: 1 journey met its expectation (1 passed)"
    teen = row(lines, "teen")
    assert teen["status"] == "blocked as expected: account/teen at 'buy now'"
    assert (teen["failing step"], teen["cause"]) == ("", "")  # nothing failed
    failed = row(transcript([journey("x", Status.FAILED, "account", "teen")], 1), "x")
    assert (failed["failing step"], failed["cause"]) == ("buy now", "account/teen")


def test_ad_hoc_runs_are_not_labelled_with_a_matrix() -> None:
    assert " · ad-hoc (each probe on its own profile) · " in transcript([journey("a", Status.PASSED)], 0, None)[0]


def test_an_interrupted_run_says_so() -> None:
    lines = transcript([journey("a", Status.PASSED)], 2)
    assert lines[-1].startswith("INTERRUPTED after 1 journey:")


def test_a_run_without_the_cpu_slowdown_says_so_in_its_header_and_under_its_table() -> None:
    off = transcript([journey("a", Status.PASSED)], 0, cpu_slowdown="off")
    assert off[0].endswith(" · 1 journeys · CPU slowdown off")
    assert "--cpu-slowdown off: devices ran without their CPU slowdown" in [line.strip() for line in off]
    assert not any("CPU slowdown" in line for line in transcript([journey("a", Status.PASSED)], 0))
