"""The trend's SQL aggregations agree with a plain Python computation over the same journeys."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderprobe.base.result import JourneyResult
from orderprobe.store import queries
from orderprobe.store.queries import Window
from orderprobe.store.store import Store
from tests.support import sample

START = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)  # Double 11


@pytest.fixture(scope="module")
def history(module_store_url: str) -> tuple[Store, list[JourneyResult], Window]:
    store = Store(module_store_url)  # SQLite and PostgreSQL: the same SQL must give the same answers
    outage = (START + timedelta(hours=2), START + timedelta(hours=3), sample.CAUSES[3], None)
    runs = sample.history(
        random.Random(11), start=START, runs=40, every=timedelta(minutes=15), outages=[outage], noise=0.08
    )
    sample.fill(store, runs)
    journeys = [j for _, _, js in runs for j in js]
    until = int((START + timedelta(hours=10)).timestamp())
    window = Window.choose(int(START.timestamp()), until, offset=8 * 3600)
    yield store, journeys, window
    store.close()


def _bucket(w: Window, j: JourneyResult) -> int:
    return (int(j.started_at.timestamp()) + w.offset) // w.width


def test_window_buckets_align_to_local_time() -> None:
    day = Window.choose(0, 7 * 86400, offset=8 * 3600, max_buckets=7)
    assert day.width == 86400 and day.start_of(day.first) == -8 * 3600  # local (UTC+8) midnight
    assert Window.choose(0, 86400).width == 1800  # 48 half hours for a day
    assert Window.choose(0, 7 * 86400).width == 6 * 3600
    w = Window(since=100, until=7300, width=3600)
    assert (w.first, w.count) == (0, 3)


def test_availability_counts_match_python(history) -> None:
    store, journeys, w = history
    expected: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    for j in journeys:
        cell = expected[(j.probe, j.profile, _bucket(w, j))]
        cell[0] += 1
        cell[1] += j.status.ok
    got = {(p, pr, b): [n, ok] for p, pr, _loc, b, n, ok in queries.availability(store, w)}
    assert got == dict(expected)
    assert queries.totals(store, w) == (40, len(journeys), sum(j.status.ok for j in journeys))


def test_step_percentiles_are_nearest_rank_per_bucket_within_half_a_percent(history) -> None:
    store, journeys, w = history
    durations: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for j in journeys:
        for s in j.steps:
            if s.status.value != "failed":
                durations[(j.probe, s.name, _bucket(w, j))].append(s.duration_ms)

    def rank(values: list[float], p: int) -> float:
        ordered = sorted(values)
        return ordered[math.ceil(len(ordered) * p / 100) - 1]

    got = {(p, s, b): (n, p50, p95) for p, s, b, n, p50, p95 in queries.step_percentiles(store, w)}
    assert got.keys() == durations.keys()
    for key, values in durations.items():
        n, p50, p95 = got[key]
        assert n == len(values)
        assert p50 == pytest.approx(rank(values, 50), rel=0.006)  # 1%-wide bins: within half a bin
        assert p95 == pytest.approx(rank(values, 95), rel=0.006)


def test_failures_by_cause_and_dependencies(history) -> None:
    store, journeys, w = history
    failing = [j for j in journeys if not j.status.ok]
    causes: dict[tuple[int, str], int] = defaultdict(int)
    for j in failing:
        causes[(_bucket(w, j), j.cause.category if j.cause else "unknown")] += 1
    assert {(b, c): n for b, c, n in queries.failures_by_cause(store, w)} == dict(causes)
    deps = defaultdict(int)
    for j in failing:
        if j.cause and j.cause.dependency:
            deps[(j.cause.dependency, _bucket(w, j))] += 1
    assert {(d, b): n for d, b, n, _ in queries.dependencies(store, w)} == dict(deps)


def test_transitions_find_every_incident(history) -> None:
    store, journeys, w = history
    series: dict[tuple[str, str], list[JourneyResult]] = defaultdict(list)
    for j in sorted(journeys, key=lambda j: (j.started_at, j.id)):
        series[(j.probe, j.profile)].append(j)
    expected = []
    for key, js in series.items():
        previous = None
        for j in js:
            if (previous is None and not j.status.ok) or (previous is not None and previous != j.status.ok):
                expected.append((*key, j.id, j.status.ok))
            previous = j.status.ok
    got = [(r.probe, r.profile, r.id, bool(r.ok)) for r in queries.transitions(store, w)]
    assert sorted(got) == sorted(expected)
    assert any(not ok for *_, ok in got)  # the outage is in there


def test_latest_failure_of_each_kind(history) -> None:
    store, journeys, w = history
    latest: dict[tuple[str | None, str | None], JourneyResult] = {}
    counts: dict[tuple[str | None, str | None], int] = defaultdict(int)
    for j in sorted((j for j in journeys if not j.status.ok), key=lambda j: (j.started_at, j.id)):
        kind = (j.cause.category, j.cause.detail) if j.cause else (None, None)
        latest[kind] = j
        counts[kind] += 1
    rows = queries.latest_failures(store, w)
    assert {(r.cause_category, r.cause_detail): (r.id, r.n) for r in rows} == {
        k: (j.id, counts[k]) for k, j in latest.items()
    }
    assert all(r.cause_summary for r in rows)  # joined from the failures table


def test_queries_read_only_the_window(history, tmp_path: Path) -> None:
    store, journeys, _ = history
    late = Window.choose(int((START + timedelta(hours=20)).timestamp()), int((START + timedelta(hours=30)).timestamp()))
    assert queries.totals(store, late) == (0, 0, 0)
    assert queries.availability(store, late) == [] and queries.transitions(store, late) == []
