"""When jobs fire: anchored triggers, the persisted job table, fire times handed to each run.

Interval triggers start at a fixed anchor (plus a stable per-job offset that spreads
jobs), so a job's fire times do not depend on when the service started: after a restart
it is on the same grid, never early, never twice. APScheduler 3 is adjusted in two small
ways, both in ``orderprobe.scheduler.compat``.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from orderprobe.scheduler.compat import Scheduler, StampingExecutor
from orderprobe.scheduler.config import JobConfig

ANCHOR = datetime(2024, 1, 1, tzinfo=UTC)


def jobstore(url: str, agent: str) -> SQLAlchemyJobStore:
    """The agent's own job table in the results database (agents sharing a database never see each other's)."""
    # The runner writes the same SQLite file: wait for its lock rather than fail at once.
    options = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}
    return SQLAlchemyJobStore(url=url, tablename=f"scheduler_jobs_{agent}", engine_options=options)


def scheduler(url: str, agent: str, workers: int) -> BackgroundScheduler:
    return Scheduler(
        jobstores={"default": jobstore(url, agent)},
        executors={"default": StampingExecutor(max_workers=workers)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=UTC,
    )


def trigger_for(job: JobConfig) -> BaseTrigger:
    if job.cron is not None:
        return CronTrigger.from_crontab(job.cron, timezone=job.timezone)
    assert job.every is not None
    offset = zlib.crc32(job.id.encode()) % max(int(job.every), 1)  # stable spread across jobs
    start = datetime.fromtimestamp(ANCHOR.timestamp() + offset, UTC)
    return IntervalTrigger(seconds=job.every, start_date=start, timezone=job.timezone)


def spec_of(job: JobConfig) -> str:
    """What decides a job's fire times; a persisted job with another spec is rescheduled."""
    return f"every={job.every} cron={job.cron} tz={job.timezone} grace={job.misfire_grace}"


def persisted(url: str, agent: str) -> dict[str, Job]:
    """The job table as stored (read directly: a scheduler, even paused, processes due jobs on shutdown)."""
    store = jobstore(url, agent)
    store.start(BackgroundScheduler(timezone=UTC), "default")
    try:
        return {job.id: job for job in store.get_all_jobs()}
    finally:
        store.shutdown()


def next_run(job: JobConfig, stored: Job | None, now: datetime) -> datetime | None:
    """The stored next run time if the job is unchanged, else what its trigger says."""
    if stored is not None and stored.kwargs.get("spec") == spec_of(job):
        return stored.next_run_time
    return trigger_for(job).get_next_fire_time(None, now)
