"""The results store on a real SQLite file: round-trip, idempotency, run summaries, many writers."""

from __future__ import annotations

import multiprocessing
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from orderprobe.base.result import Cause, JourneyResult, Status
from orderprobe.store.store import BUSY_TIMEOUT_MS, Journey, Request, Step, Store, default_url
from tests.support import sample

T0 = datetime(2026, 6, 18, 0, 0, tzinfo=UTC)  # 618


@pytest.fixture
def store(store_url: str) -> Store:
    """The same contract on SQLite and PostgreSQL (see tests/conftest.py)."""
    s = Store(store_url)
    yield s
    s.close()


def _failing(run_id: str = "run-1", index: int = 0) -> JourneyResult:
    return sample.journey(
        random.Random(index),
        run_id=run_id,
        probe="path_video",
        profile="redmi-9a/metro-weak/xinjiang-urumqi/normal",
        started_at=T0 + timedelta(seconds=index),
        status=Status.FAILED,
        cause=sample.CAUSES[0],
        index=index,
        product="<script>alert(1)</script> 冰糖心苹果",
    )


def test_default_url_creates_the_folder(tmp_path: Path) -> None:
    url = default_url(tmp_path / "var")
    assert url == f"sqlite:///{tmp_path / 'var' / 'orderprobe.db'}"
    assert (tmp_path / "var").is_dir()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'results.db'}")
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS == 10_000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_journey_round_trips_exactly_including_retries_and_chinese(store: Store) -> None:
    flaky = _failing(index=2).model_copy(update={"status": Status.FLAKY, "attempt": 2})
    flaky = flaky.model_copy(update={"previous_attempts": [_failing(index=1)], "labels": {"区域": "新疆"}})
    store.start_run("run-1", started_at=T0, target="http://shop.localhost:8123", matrix="presale")
    store.add_journey(_failing())
    store.add_journey(flaky)
    got = store.journeys("run-1")
    assert got == [_failing(), flaky]
    assert got[1].previous_attempts[0].failure.page_text.startswith("确认订单 <script>")
    assert got[0].started_at.tzinfo is not None


def test_add_journey_is_idempotent_and_replaces_children(store: Store) -> None:
    first = _failing()
    store.add_journey(first)
    store.add_journey(first)
    fixed = first.model_copy(update={"status": Status.PASSED, "failure": None, "cause": None, "artefacts": []})
    store.add_journey(fixed)
    assert store.journeys("run-1") == [fixed]
    with store.read() as conn:
        assert conn.scalar(select(func.count()).select_from(Journey)) == 1
        assert conn.scalar(select(func.count()).select_from(Step)) == len(first.steps)
        assert conn.scalar(select(func.count()).select_from(Request)) == 0  # the failure's requests went too
        assert conn.execute(text("SELECT COUNT(*) FROM failures")).scalar() == 0


def test_queryable_columns_hold_failure_cause_and_steps(store: Store) -> None:
    j = _failing()
    store.add_journey(j)
    with store.read() as conn:
        row = conn.execute(select(Journey).where(Journey.c.id == j.id)).one()
        failure = conn.execute(text("SELECT step, cause_rule, cause_evidence, screenshot FROM failures")).one()
        steps = conn.execute(select(Step.c.name, Step.c.taps).order_by(Step.c.idx)).all()
    assert (row.status, row.ok, row.failed_step) == ("failed", False, j.failure.step)
    assert (row.cause_category, row.cause_detail, row.cause_dependency) == (
        "third_party",
        "maintenance",
        "alipay",
    )
    assert row.started_epoch == int(j.started_at.timestamp())
    assert failure == (
        j.failure.step,
        "payment-maintenance",
        "支付通道维护中，请使用云闪付",
        j.failure.screenshot,
    )
    assert steps == [(s.name, s.interactions.taps) for s in j.steps]


def test_run_summary_counts_duration_and_order(store: Store) -> None:
    store.start_run("old", started_at=T0 - timedelta(days=2), target="t", matrix=None)
    store.start_run("run-1", started_at=T0, target="http://shop", matrix="presale", labels={"who": "qa"}, command="x")
    for j in sample.run_journeys(random.Random(1), "run-1", T0, failing=0.3):
        store.add_journey(j)
    store.finish_run("run-1", finished_at=T0 + timedelta(seconds=95), exit_code=1)
    summary = store.run("run-1")
    assert summary is not None
    assert summary.duration == timedelta(seconds=95) and summary.exit_code == 1
    assert summary.labels == {"who": "qa"} and summary.matrix == "presale"
    assert summary.total == len(sample.PROBES) * len(sample.PROFILES)
    assert summary.counts["blocked"] == len(sample.PROBES)  # the teen profile, refused as expected
    assert summary.ok is (summary.counts.get("failed", 0) == 0)
    assert [r.id for r in store.runs()] == ["run-1", "old"]
    assert [r.id for r in store.runs(since=T0 - timedelta(hours=1))] == ["run-1"]
    assert [r.id for r in store.runs(limit=1)] == ["run-1"]
    assert store.latest_run_id() == "run-1"
    assert store.run("missing") is None
    assert store.runs()[1].finished_at is None and store.runs()[1].counts == {}


def test_journey_before_start_run_gets_a_stub_run(store: Store) -> None:
    store.add_journey(_failing(run_id="sched-7"))
    assert store.run("sched-7").counts == {"failed": 1}
    store.start_run("sched-7", started_at=T0, target="http://shop", matrix="smoke")
    assert store.run("sched-7").matrix == "smoke" and store.run("sched-7").counts == {"failed": 1}


def test_naive_datetimes_are_taken_as_utc(store: Store) -> None:
    store.start_run("r", started_at=datetime(2026, 6, 18, 8, 0), target="t", matrix=None)
    assert store.run("r").started_at == datetime(2026, 6, 18, 8, 0, tzinfo=UTC)


def _writer(url: str, worker: int, count: int) -> None:
    store = Store(url)
    rng = random.Random(worker)
    for i in range(count):
        store.add_journey(
            sample.journey(
                rng,
                run_id=f"run-{worker % 2}",
                probe="path_live",
                profile=sample.PROFILES[i % 3],
                started_at=T0 + timedelta(seconds=i),
                status=Status.FAILED if i % 5 == 0 else Status.PASSED,
                cause=Cause(category="network", detail="offline"),
                index=worker * 1000 + i,
            )
        )
    store.close()


def test_several_processes_write_at_once_without_losing_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    # spawn: fresh interpreters, like separate scheduler jobs / xdist controllers; each creates the tables.
    ctx = multiprocessing.get_context("spawn")
    workers, count = 4, 40
    procs = [ctx.Process(target=_writer, args=(url, w, count)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0] * workers
    store = Store(url)
    try:
        assert sum(r.total for r in store.runs()) == workers * count
        assert len(store.journeys("run-0")) == 2 * count
        with store.read() as conn:
            assert conn.scalar(select(func.count()).select_from(Step)) == sum(
                len(j.steps) for r in ("run-0", "run-1") for j in store.journeys(r)
            )
    finally:
        store.close()


def test_a_store_from_an_older_schema_is_refused_clearly(tmp_path: Path) -> None:
    import sqlite3

    from orderprobe.store.store import StoreSchemaError

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE steps (journey_id TEXT, idx INTEGER, name TEXT)")
    with pytest.raises(StoreSchemaError, match=r"table 'steps' lacks column\(s\) status, probe"):
        Store(f"sqlite:///{db}")


def test_prune_keeps_failures_longer_and_cascades(store: Store) -> None:
    for k, status in enumerate([Status.PASSED, Status.FAILED, Status.PASSED]):
        run_id = f"r{k}"
        when = T0 + timedelta(days=k)
        store.start_run(run_id, started_at=when, target="t", matrix=None)
        store.add_journey(_failing(run_id, k).model_copy(update={"status": status, "started_at": when}))
    assert store.prune(ok_before=T0 + timedelta(days=2), all_before=T0) == 1  # r0: old and all ok
    assert [r.id for r in store.runs()] == ["r2", "r1"]
    assert store.prune(ok_before=T0 + timedelta(days=3), all_before=T0 + timedelta(days=2)) == 2
    assert store.runs() == []
    with store.read() as conn:
        for table in ("journeys", "journey_json", "steps", "failures", "requests", "artefacts"):
            assert conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() == 0, table
