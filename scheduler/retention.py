"""Retention: keep runs and artefacts for N days, failure evidence longer; prune on a schedule.

Artefacts live in ``<artefacts>/<run_id>/``. A run folder's age is the newest mtime of
the files in it (deleting some files does not make the rest look younger). Past
``days`` everything but screenshots, traces and the HTML report goes; past ``failure_days`` the folder
goes. Screenshots and traces are only kept for failures in the first place, so a folder
without any is a passing run's and goes whole at ``days``. The results store keeps a failed run's
rows as long as its evidence, a passing run's for ``days``.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from orderprobe.scheduler.config import RetentionConfig
from orderprobe.scheduler.records import Records

log = logging.getLogger("orderprobe.scheduler")

EVIDENCE = {".png", ".jpg", ".jpeg", ".webp", ".zip", ".webm"}  # screenshots, Playwright traces, videos
REPORTS = {".html"}  # kept beside the evidence they show


@dataclass
class Pruned:
    store_runs: int = 0
    job_runs: int = 0
    folders: int = 0
    files: int = 0
    bytes: int = 0


def _newest_mtime(folder: Path) -> float:
    """Newest file in the folder (the folder's own mtime changes whenever a file is removed)."""
    newest = 0.0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                newest = max(newest, os.stat(os.path.join(root, name)).st_mtime)
            except OSError:
                continue
    return newest or folder.stat().st_mtime


def prune_artefacts(root: Path, now: datetime, days: float, failure_days: float, pruned: Pruned) -> None:
    if not root.is_dir():
        return
    keep_all_after = now.timestamp() - days
    keep_evidence_after = now.timestamp() - max(days, failure_days)
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        age_stamp = _newest_mtime(folder)
        if age_stamp >= keep_all_after:
            continue
        files = [f for f in folder.rglob("*") if f.is_file()]
        has_evidence = any(f.suffix.lower() in EVIDENCE for f in files)
        if age_stamp < keep_evidence_after or not has_evidence:
            size = sum(f.stat().st_size for f in files)
            shutil.rmtree(folder, ignore_errors=True)
            pruned.folders += 1
            pruned.bytes += size
            continue
        for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
            if path.is_file() and path.suffix.lower() not in EVIDENCE | REPORTS:
                pruned.bytes += path.stat().st_size
                path.unlink()
                pruned.files += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def prune_store(url: str, ok_before: datetime, all_before: datetime) -> int:
    """Delete old runs from the results store (its foreign keys cascade to journeys, steps…)."""
    from orderprobe.store.store import Store

    store = Store(url)
    try:
        return store.prune(ok_before=ok_before, all_before=all_before)
    finally:
        store.close()


def prune(records: Records, store_url: str, artefacts: Path, policy: RetentionConfig, now: datetime) -> Pruned:
    pruned = Pruned()
    days, failure_days = policy.days, max(policy.days, policy.failure_days)
    pruned.store_runs = prune_store(store_url, now - timedelta(seconds=days), now - timedelta(seconds=failure_days))
    pruned.job_runs = len(records.prune(now - timedelta(seconds=failure_days)))
    prune_artefacts(artefacts, now, days, failure_days, pruned)
    log.info(
        "retention: pruned %d store runs, %d job runs, %d folders, %d files (%.1f MB)",
        pruned.store_runs,
        pruned.job_runs,
        pruned.folders,
        pruned.files,
        pruned.bytes / 1e6,
    )
    return pruned
