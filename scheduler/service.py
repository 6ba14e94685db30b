"""The monitoring service: APScheduler 3 runs each job's probes in a subprocess, then alerts.

- One APScheduler job per schedule job (see ``timetable``), re-added at every start with a
  stable id and ``replace_existing=True``. Anchored triggers put a restarted job on the
  same grid, so it never runs early or twice; an unchanged job keeps its persisted next
  run time, so a slot missed while the service was down still runs, once.
- A run that never finished (killed, hung, crashed, or the service died under it) is
  recorded as errored in both our records and the results store.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from probes import location as site
from scheduler import channels as channel_kinds
from scheduler import execution, retention, timetable
from scheduler.config import JobConfig, ScheduleConfig
from scheduler.incidents import KINDS, Incidents, assess, channels_for
from scheduler.metrics import Metrics, MetricsServer
from scheduler.notifier import Notifier
from scheduler.records import JobRun, Records

log = logging.getLogger("orderprobe.scheduler")

RETENTION_JOB = "retention"
# Exit codes written to the results store for runs that never finished by themselves.
SYNTHETIC_EXIT = {
    execution.Outcome.TIMEOUT: 124,
    execution.Outcome.INTERRUPTED: 130,
    execution.Outcome.FAILED_TO_START: 127,
}
INTERRUPTED_EXIT = 2  # `orderprobe run` stopped by SIGTERM (its journeys in flight recorded as interrupted)

# APScheduler persists a job as a reference to a module-level function plus picklable
# args, so the function finds the running service here (by agent) rather than in its arguments.
_active: dict[str, Service] = {}


def run_scheduled(
    job_id: str, spec: str = "", scheduled_at: datetime | None = None, missed: int = 0, agent: str | None = None
) -> None:
    """The persisted job callable (``scheduler.service:run_scheduled``)."""
    # A job persisted before jobs named their agent belongs to the one service there is.
    service = _active.get(agent) if agent else next(iter(_active.values()), None)
    if service is None:
        log.warning("job %s fired with no service running; skipped", job_id)
        return
    if job_id == RETENTION_JOB:
        service.prune()
    else:
        service.run_job(job_id, scheduled_at=scheduled_at, missed=missed)


class Service:
    def __init__(
        self,
        config: ScheduleConfig,
        *,
        database: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        environ: dict[str, str] | None = None,
        metrics_port: int | None = None,
        location: str | None = None,
    ) -> None:
        from reports.store import Store, default_url

        config = config.at(location)
        assert config.location is not None
        self.config = config
        self.location = config.location
        self.url = database or config.database or default_url()
        self.artefacts = Path(config.artefacts)
        self.clock = clock
        self.records = Records(self.url, config.agent, self.location)
        self.store = Store(self.url)
        self.metrics = Metrics(self.location)
        self.metrics_port = config.metrics.port if metrics_port is None else metrics_port
        self.server: MetricsServer | None = None
        self.notifier = Notifier(channel_kinds.build(dict(config.channels), environ), self.metrics.alert_result)
        self.incidents = Incidents(self.records, clock=clock, report_link=self.report_link)
        self.stopping = threading.Event()
        self._stop_deadline: float | None = None
        self._running: dict[str, str] = {}  # job id -> run id in progress
        self._started = time.monotonic()
        self.scheduler = timetable.scheduler(self.url, config.agent, workers=len(config.jobs) + 1)

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> Service:
        _active[self.config.agent] = self
        log.info("agent %s at location %s", self.config.agent, self.location)
        self._recover()
        self.scheduler.start(paused=True)
        self._sync_jobs()
        self.scheduler.resume()
        if self.config.metrics.enabled:
            self.server = MetricsServer(self.metrics, self.health, self.config.metrics.host, self.metrics_port).start()
        self.metrics.set_open_incidents(self.incidents.open_counts(), [j.id for j in self.config.jobs], KINDS)
        for job in self.scheduler.get_jobs():
            log.info("job %s: next run %s", job.id, job.next_run_time)
        return self

    def request_stop(self, grace: float | None = None) -> None:
        """Take no new runs; running ones may go on for ``grace`` s (default: the file's shutdown_grace)."""
        if self.stopping.is_set():
            return
        grace = self.config.shutdown_grace if grace is None else grace
        log.info("stopping: no new runs; waiting up to %.0fs for %d running", grace, len(self._running))
        self._stop_deadline = time.monotonic() + grace
        self.stopping.set()

    def hurry(self) -> None:
        """Kill running jobs now (a second SIGTERM / Ctrl-C)."""
        self._stop_deadline = time.monotonic()
        self.stopping.set()

    def stop(self, grace: float | None = None) -> None:
        """Stop taking runs; let the current ones finish within ``grace`` s, then kill them (interrupted)."""
        if self.scheduler.running:
            self.scheduler.pause()
        self.request_stop(grace)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)  # the running jobs return by the deadline
        self.notifier.close(timeout=10)
        if self.server is not None:
            self.server.stop()
        self.store.close()
        self.records.close()
        if _active.get(self.config.agent) is self:
            del _active[self.config.agent]
        log.info("stopped")

    def _sync_jobs(self) -> None:
        wanted = {f"probe:{job.id}" for job in self.config.jobs} | {RETENTION_JOB}
        for stale in [j for j in self.scheduler.get_jobs() if j.id not in wanted]:
            log.info("job %s is no longer in the schedule; removed", stale.id)
            stale.remove()
        for job in self.config.jobs:
            trigger, spec = timetable.trigger_for(job), timetable.spec_of(job)
            self._add(f"probe:{job.id}", job.id, trigger, spec, job.misfire_grace, job.description)
        every = self.config.retention.every
        self._add(
            RETENTION_JOB,
            RETENTION_JOB,
            IntervalTrigger(seconds=every, start_date=timetable.ANCHOR, timezone=UTC),
            f"every={every}",
            3600,
        )

    def _add(self, ap_id: str, job_id: str, trigger: BaseTrigger, spec: str, grace: float, name: str = "") -> None:
        existing = self.scheduler.get_job(ap_id)
        keep = existing is not None and existing.kwargs.get("spec") == spec
        options: dict[str, Any] = {"next_run_time": existing.next_run_time} if keep and existing else {}
        self.scheduler.add_job(
            "scheduler.service:run_scheduled",
            trigger,
            args=[job_id],
            kwargs={"spec": spec, "agent": self.config.agent},
            id=ap_id,
            name=name or job_id,
            replace_existing=True,
            misfire_grace_time=int(grace),
            coalesce=True,
            max_instances=1,
            **options,
        )

    def _recover(self) -> None:
        """Runs the previous service never finished (it died under them): errored, leftovers killed."""
        for run in self.records.unfinished_runs():
            killed = execution.kill_tree(None, tag=run.run_id, grace_s=1.0)
            log.warning(
                "run %s of %s was left unfinished by a previous service; recorded as interrupted", run.run_id, run.job
            )
            run.finished_at = self.clock()
            run.outcome, run.verdict = execution.Outcome.INTERRUPTED.value, "error"
            run.error = "服务中断 service stopped during the run" + (
                f" ({len(killed)} processes killed)" if killed else ""
            )
            self.records.save_run(run)
            self._finish_store_run(run, SYNTHETIC_EXIT[execution.Outcome.INTERRUPTED])

    # -- one run -----------------------------------------------------------------------

    def command(self, job: JobConfig, run_id: str) -> list[str]:
        target = job.target or self.config.target
        values = {
            "python": sys.executable,
            "run_id": run_id,
            "target": target or "",
            "results": self.url,
            "artefacts": str(self.artefacts),
            "location": self.location,
        }
        if job.command is not None:
            return [part.format(**values) for part in job.command]
        argv = [sys.executable, "-m", "probes.cli", "run", "--results", self.url, "--artefacts", str(self.artefacts)]
        argv += ["--run-id", run_id, "--reports", str(self.artefacts / run_id), "--no-progress", "-n", "1"]
        argv += ["--retries", str(job.retries), "--tracing", job.tracing, "--screenshots", job.screenshots]
        argv += ["--location", self.location, "--label", f"job={job.id}", "--label", f"agent={self.config.agent}"]
        argv += [part for k, v in sorted(job.labels.items()) for part in ("--label", f"{k}={v}")]
        if target:
            argv += ["--target", target]
        if job.matrix:
            argv += ["--matrix", job.matrix]
        argv += [part for probe in job.probes for part in ("--probe", probe)]
        if job.profile is not None:
            argv += [part for k, v in job.profile.model_dump().items() if v for part in (f"--{k}", v)]
        if job.select:
            argv += ["-k", job.select]
        return argv

    def run_job(self, job_id: str, scheduled_at: datetime | None = None, missed: int = 0) -> JobRun | None:
        if self.stopping.is_set():
            log.info("job %s not started: the service is stopping", job_id)
            return None
        job = self.config.job(job_id)
        from probes.session import new_run_id

        run_id = f"{job.id}-{new_run_id()}"
        record = JobRun(
            run_id=run_id,
            job=job.id,
            agent=self.config.agent,
            location=self.location,
            scheduled_at=scheduled_at,
            missed=missed,
            started_at=self.clock(),
            outcome="running",
            verdict="running",
        )
        self.records.save_run(record)
        self._running[job.id] = run_id
        when = f" (scheduled {scheduled_at:%H:%M:%S})" if scheduled_at else ""
        late = f"; {missed} missed fire times coalesced into it" if missed else ""
        log.info("job %s: run %s started%s%s", job.id, run_id, when, late)
        try:
            return self._run(job, record)
        except Exception as exc:  # noqa: BLE001 - one broken run must not take the service down
            log.exception("job %s: run %s failed inside the service", job.id, run_id)
            record.finished_at, record.outcome, record.verdict = self.clock(), "failed_to_start", "error"
            record.probe_bad, record.error = True, f"服务内部错误 service error: {type(exc).__name__}: {exc}"
            self.records.save_run(record)
            return record
        finally:
            self._running.pop(job.id, None)

    def _run(self, job: JobConfig, record: JobRun) -> JobRun:
        run_id = record.run_id
        result = execution.run(
            self.command(job, run_id),
            timeout_s=job.timeout,
            tag=run_id,
            log_path=self.artefacts / run_id / "scheduler-run.log",
            stop=self.stopping,
            stop_deadline=lambda: self._stop_deadline,
            env={site.ENV: self.location},  # a job's own command learns where it runs
        )
        died = result.outcome is not execution.Outcome.COMPLETED
        try:
            journeys = self.store.journeys(run_id)
        except Exception as exc:  # noqa: BLE001 - a broken store must not take the service down
            log.error("job %s: cannot read run %s from the store: %s", job.id, run_id, exc)
            journeys = []
        verdict = assess(journeys, result.exit_code, died)
        record.finished_at = self.clock()
        record.duration_s = round(result.duration_s, 3)
        record.outcome, record.exit_code, record.verdict = result.outcome.value, result.exit_code, verdict.verdict
        record.checkout_bad = verdict.signals["checkout"]
        record.probe_bad = verdict.signals["probe_broken"]
        record.flaky_bad = verdict.signals["flaky"]
        record.journeys = len(journeys)
        record.problems = [p.model_dump() for p in verdict.problems]
        record.report = self.report_link(run_id)
        record.error = self._error_text(job, result)
        self.records.save_run(record)
        if died or result.exit_code not in (0, 1):
            self._finish_store_run(record, SYNTHETIC_EXIT.get(result.outcome, result.exit_code))
        self.metrics.observe_run(job.id, verdict.verdict, record.finished_at.timestamp(), result.duration_s, journeys)
        # A run cut short by this service's own shutdown says nothing about the checkout nor the
        # probe: recorded (interrupted), but it opens no incident and pages nobody.
        stopped_by_us = self.stopping.is_set() and (died or result.exit_code == INTERRUPTED_EXIT)
        for alert in [] if stopped_by_us else self.incidents.after_run(job, record):
            self.notifier.notify(alert, channels_for(job.alert, alert))
        self.metrics.set_open_incidents(self.incidents.open_counts(), [j.id for j in self.config.jobs], KINDS)
        log.info(
            "job %s: run %s %s (%s, exit %s) in %.1fs, %d journeys",
            job.id, run_id, verdict.verdict, result.outcome.value, result.exit_code, result.duration_s, len(journeys),
        )  # fmt: skip
        return record

    def _error_text(self, job: JobConfig, result: execution.Execution) -> str:
        match result.outcome:
            case execution.Outcome.TIMEOUT:
                return f"超时 timed out after {job.timeout:.0f}s; process tree killed ({len(result.killed)} processes)"
            case execution.Outcome.INTERRUPTED:
                return "服务停止 interrupted by service shutdown; process tree killed"
            case execution.Outcome.CRASHED:
                return f"崩溃 crashed (signal {-(result.exit_code or 0)})"
            case execution.Outcome.FAILED_TO_START:
                return f"无法启动 failed to start: {result.error}"
        return "" if result.exit_code in (0, 1) else f"运行出错 run exited with code {result.exit_code}"

    def _finish_store_run(self, record: JobRun, exit_code: int | None) -> None:
        """Make the results store say the run ended, whatever the runner managed to write."""
        from reports import liveness

        try:
            # A runner killed mid-run (timeout, crash, shutdown) is abandoned, as `orderprobe report` would find it.
            liveness.sweep(self.store)
            summary = self.store.run(record.run_id)
            if summary is None:
                job = next((j for j in self.config.jobs if j.id == record.job), None)
                self.store.start_run(
                    record.run_id,
                    started_at=record.started_at,
                    target=(job.target if job else None) or self.config.target or "",
                    matrix=job.matrix if job else None,
                    labels={"job": record.job, "agent": self.config.agent, "outcome": record.outcome},
                    command="orderprobe schedule",
                    location=self.location,
                )
            if summary is None or summary.finished_at is None or summary.exit_code is None:
                self.store.finish_run(
                    record.run_id, finished_at=record.finished_at or self.clock(), exit_code=exit_code
                )
        except Exception as exc:  # noqa: BLE001
            log.error("cannot record run %s in the results store: %s", record.run_id, exc)

    def report_link(self, run_id: str) -> str:
        if self.config.report_url:
            return self.config.report_url.format(run_id=run_id)
        folder = self.artefacts / run_id
        reports = sorted(folder.glob("*.html")) if folder.is_dir() else []
        return str((reports[0] if reports else folder).resolve())

    # -- other duties --------------------------------------------------------------------

    def prune(self) -> retention.Pruned:
        return retention.prune(self.records, self.url, self.artefacts, self.config.retention, self.clock())

    def health(self) -> dict[str, Any]:
        jobs = {}
        for job in self.config.jobs:
            scheduled = self.scheduler.get_job(f"probe:{job.id}") if self.scheduler.running else None
            last = self.records.recent_runs(job.id, 1)
            jobs[job.id] = {
                "next_run": scheduled.next_run_time.isoformat() if scheduled and scheduled.next_run_time else None,
                "running": self._running.get(job.id),
                "last_run": last[0].run_id if last else None,
                "last_verdict": last[0].verdict if last else None,
                "last_finished": last[0].finished_at.isoformat() if last and last[0].finished_at else None,
            }
        return {
            "status": "ok" if self.scheduler.running and not self.stopping.is_set() else "stopping",
            "agent": self.config.agent,
            "location": self.location,
            "uptime_s": round(time.monotonic() - self._started, 1),
            "open_incidents": sum(self.incidents.open_counts().values()),
            "jobs": jobs,
        }
