"""APScheduler 3's internals that the scheduler adjusts, named in one place.

Two overrides of private methods, each pinned by a canary in ``tests/test_compat.py``:
no last round of due jobs after shutdown, and each run handed its scheduled fire time.
``pyproject.toml`` keeps APScheduler below 4 (whose API is new).
"""

from __future__ import annotations

from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED


class Scheduler(BackgroundScheduler):
    def _process_jobs(self) -> float | None:
        # APScheduler 3 runs one last round after shutdown(): it would fail to submit the
        # due jobs and still advance their stored next run time, losing those slots.
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()


class StampingExecutor(ThreadPoolExecutor):
    """Hands each run its scheduled fire time (APScheduler 3 keeps it to itself): jitter, audits."""

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        stamped = Job.__new__(Job)
        stamped.__setstate__(job.__getstate__())  # a copy: the stored job keeps its own kwargs
        stamped._scheduler, stamped._jobstore_alias = job._scheduler, job._jobstore_alias
        # Coalescing already cut run_times to the latest; the job still starts at the first one
        # due, so count the fire times this one run stands for (service down, overloaded).
        missed = len(job._get_run_times(run_times[-1])) - 1
        stamped.kwargs = {**job.kwargs, "scheduled_at": run_times[-1], "missed": missed}
        super()._do_submit_job(stamped, run_times)
