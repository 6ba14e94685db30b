"""Retention on a real store and a real artefact folder: old runs go, failure evidence stays longer."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orderprobe.base.result import Cause, FailurePoint, JourneyResult, Status
from orderprobe.scheduler import retention
from orderprobe.scheduler.config import RetentionConfig, parse
from orderprobe.scheduler.records import JobRun, Records
from orderprobe.scheduler.service import Service
from orderprobe.store.store import Store
from tests.support.receivers import wait_until

NOW = datetime.now(UTC)
DAY = 86400
POLICY = RetentionConfig(days=14 * DAY, failure_days=30 * DAY, every=3600)


def _folder(root: Path, name: str, age_days: float, files: list[str]) -> Path:
    folder = root / name
    (folder / "shots").mkdir(parents=True)
    stamp = (NOW - timedelta(days=age_days)).timestamp()
    for file in files:
        path = folder / file
        path.write_bytes(b"x" * 100)
        os.utime(path, (stamp, stamp))
    return folder


def _run(store: Store, run_id: str, age_days: float, status: Status) -> None:
    started = NOW - timedelta(days=age_days)
    store.start_run(run_id, started_at=started, target="t", matrix="smoke")
    failing = status is Status.FAILED
    store.add_journey(
        JourneyResult(
            id=f"{run_id}-j",
            run_id=run_id,
            probe="p",
            nodeid="n",
            profile="d/n/r/a",
            status=status,
            started_at=started,
            duration_ms=1.0,
            failure=FailurePoint(step="pay", error_type="E", message="m") if failing else None,
            cause=Cause(category="payment") if failing else None,
        )
    )
    store.finish_run(run_id, finished_at=started, exit_code=1 if failing else 0)


def test_prune_keeps_failure_evidence_longer_and_bounds_store_and_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store, records = Store(url), Records(url)
    art = tmp_path / "artefacts"
    _folder(art, "old-pass", 20, ["events.jsonl", "junit.xml", "run-old-pass.html"])
    old_fail = _folder(art, "old-fail", 20, ["events.jsonl", "shots/pay.png", "trace.zip", "run-old-fail.html"])
    _folder(art, "ancient-fail", 40, ["events.jsonl", "shots/pay.png"])
    new = _folder(art, "new-pass", 1, ["events.jsonl", "junit.xml"])
    for run_id, age, status in [
        ("old-pass", 20, Status.PASSED),
        ("old-fail", 20, Status.FAILED),
        ("ancient-fail", 40, Status.FAILED),
        ("new-pass", 1, Status.PASSED),
    ]:
        _run(store, run_id, age, status)
        records.save_run(JobRun(run_id=run_id, job="smoke", started_at=NOW - timedelta(days=age), finished_at=NOW))

    pruned = retention.prune(records, url, art, POLICY, NOW)

    assert sorted(p.name for p in art.iterdir()) == ["new-pass", "old-fail"]
    kept = sorted(str(p.relative_to(old_fail)) for p in old_fail.rglob("*") if p.is_file())
    assert kept == ["run-old-fail.html", "shots/pay.png", "trace.zip"]  # evidence and its report
    assert sorted(p.name for p in new.iterdir() if p.is_file()) == ["events.jsonl", "junit.xml"]
    assert [r.id for r in store.runs()] == ["new-pass", "old-fail"]
    assert store.journeys("old-pass") == [] and len(store.journeys("old-fail")) == 1  # cascaded
    assert sorted(r.run_id for r in records.runs()) == ["new-pass", "old-fail", "old-pass"]  # kept failure_days
    assert (pruned.store_runs, pruned.folders, pruned.files) == (2, 2, 1)
    assert pruned.bytes == 5 * 100 + 100  # two folders' files, and one log
    assert retention.prune(records, url, art, POLICY, NOW).folders == 0  # idempotent: pruning made nothing "newer"
    store.close()
    records.close()


def test_the_service_prunes_on_a_schedule(tmp_path: Path) -> None:
    art = tmp_path / "artefacts"
    _folder(art, "old-pass", 3, ["events.jsonl"])
    text = f"""
database: sqlite:///{tmp_path / "db.sqlite"}
artefacts: {art}
metrics: {{enabled: false}}
retention: {{days: 1d, failure_days: 2d, every: 1s}}
jobs:
  - id: idle
    every: 1d
    command: ['{{python}}', '-c', 'pass']
"""
    service = Service(parse(text, "r.yaml")).start()
    try:
        assert service.scheduler.get_job("retention").trigger.interval == timedelta(seconds=1)
        wait_until(lambda: not (art / "old-pass").exists(), "the scheduled prune", timeout=60)
    finally:
        service.stop(grace=0)
