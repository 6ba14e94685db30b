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
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from orderprobe.base import location as site
from orderprobe.probes.verdict import Verdict
from orderprobe.scheduler import channels as channel_kinds
from orderprobe.scheduler import escalation, execution, retention, timetable
from orderprobe.scheduler.alert import Alert
from orderprobe.scheduler.config import JobConfig, ScheduleConfig
from orderprobe.scheduler.incidents import KINDS, Incidents, assess, channels_for
from orderprobe.scheduler.metrics import Metrics, MetricsServer
from orderprobe.scheduler.notifier import Notifier
from orderprobe.scheduler.records import HeldAlert, Incident, JobRun, Records

log = logging.getLogger("orderprobe.scheduler")

RETENTION_JOB = "retention"
# Between runs: release alerts held by ended maintenance windows, escalate (no job id has a colon).
TICK_JOB = "orderprobe:tick"
TICK_EVERY = 30
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
    """The persisted job callable (``orderprobe.scheduler.service:run_scheduled``)."""
    # A job persisted before jobs named their agent belongs to the one service there is.
    service = _active.get(agent) if agent else next(iter(_active.values()), None)
    if service is None:
        log.warning("job %s fired with no service running; skipped", job_id)
        return
    if job_id == RETENTION_JOB:
        service.prune()
    elif job_id == TICK_JOB:
        service.tick()
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
        from orderprobe.store.store import Store, default_url

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
        env = os.environ if environ is None else environ
        self.ack_secret = env.get(config.ack.secret_env, "") if config.ack.secret_env else ""
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
            self.server = MetricsServer(
                self.metrics, self.health, self.config.metrics.host, self.metrics_port, ack=self.ack_request
            ).start()
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
        wanted = {f"probe:{job.id}" for job in self.config.jobs} | {RETENTION_JOB, TICK_JOB}
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
        tick = IntervalTrigger(seconds=TICK_EVERY, start_date=timetable.ANCHOR, timezone=UTC)
        self._add(TICK_JOB, TICK_JOB, tick, f"every={TICK_EVERY}", TICK_EVERY)

    def _add(self, ap_id: str, job_id: str, trigger: BaseTrigger, spec: str, grace: float, name: str = "") -> None:
        existing = self.scheduler.get_job(ap_id)
        keep = existing is not None and existing.kwargs.get("spec") == spec
        options: dict[str, Any] = {"next_run_time": existing.next_run_time} if keep and existing else {}
        self.scheduler.add_job(
            "orderprobe.scheduler.service:run_scheduled",
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
            run.outcome, run.verdict = execution.Outcome.INTERRUPTED.value, Verdict.ERROR
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
        # -n 0: the journeys run one after another either way; an xdist worker beside the controller
        # only imported, collected and launched Playwright a second time (≈1 s of CPU every tick).
        argv = [sys.executable, "-m", "orderprobe", "run", "--results", self.url, "--artefacts", str(self.artefacts)]
        argv += ["--run-id", run_id, "--reports", str(self.artefacts / run_id), "--no-progress", "-n", "0"]
        argv += ["--retries", str(job.retries), "--tracing", job.tracing, "--screenshots", job.screenshots]
        argv += ["--location", self.location, "--label", f"job={job.id}", "--label", f"agent={self.config.agent}"]
        argv += [part for k, v in sorted(job.labels.items()) for part in ("--label", f"{k}={v}")]
        if job.synthetic_header:
            argv += ["--synthetic-header", job.synthetic_header]
        if job.user_agent_suffix:
            argv += ["--user-agent-suffix", job.user_agent_suffix]
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
        from orderprobe.probes.session import new_run_id

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
            verdict=Verdict.RUNNING,
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
            record.finished_at, record.outcome, record.verdict = self.clock(), "failed_to_start", Verdict.ERROR
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
        record.location_bad = verdict.signals["location"]
        record.cleanup_bad = verdict.signals["cleanup"]
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
            self.dispatch(job, self._with_ack(alert), channels_for(job.alert, alert))
        self.tick()
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
        from orderprobe.store import liveness

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

    # -- maintenance, escalation, acknowledgement ----------------------------------------

    def maintenance(self, job_id: str, now: datetime | None = None) -> Any:
        """The window holding ``job_id``'s alerts now (``orderprobe.store.maintenance.Period``), if any. The
        file's windows in force are recorded in the store first: the trend report reads them there."""
        from orderprobe.store import maintenance

        now = now or self.clock()
        for window in self.config.maintenance:
            if window.covers(job_id) and (o := window.at(now)) is not None:
                scope = job_id if window.jobs else ""
                maintenance.record(self.store, o.name, scope, o.starts, o.ends, reason=o.reason, after=o.after)
        periods = maintenance.in_force(self.store, job_id, now)
        return periods[0] if periods else None

    def dispatch(self, job: JobConfig, alert: Alert, channels: tuple[str, ...]) -> None:
        """Send, or hold until the end of the maintenance window in force."""
        period = self.maintenance(job.id)
        if period is None:
            self.notifier.notify(alert, channels)
            return
        log.info("alert held by maintenance %s until %s: %s", period.name, period.ends.isoformat(), alert.title)
        held = HeldAlert(job=job.id, kind=alert.kind, incident_id=alert.incident_id, event=alert.event,
                         alert=alert.model_dump(mode="json"), channels=list(channels), window=period.name,
                         until=period.ends, after=period.after, held_at=self.clock())  # fmt: skip
        self.records.hold(held)

    def tick(self) -> None:
        """Between runs (every TICK_EVERY s, and after each run): release or drop the alerts held by
        windows that ended; escalate incidents left unacknowledged."""
        now = self.clock()
        try:
            # Every held alert, not only those past their window's planned end: a mute can be ended early.
            for job, kind in sorted({(h.job, h.kind) for h in self.records.held()}):
                self._release(job, kind, now)
            self._escalate(now)
        except Exception:  # noqa: BLE001 - housekeeping must not take the service down
            log.exception("tick failed")

    def _release(self, job_id: str, kind: str, now: datetime) -> None:
        period = self.maintenance(job_id, now)
        if period is not None:  # extended, or another window began: keep holding
            self.records.extend_held(job_id, period.ends)
            return
        with self.records.claim(job_id, kind) as session:
            rows = self.records.take_held(job_id, kind, session)
            state = {r.incident_id: self.records.incident(r.incident_id, session) for r in rows}
            for incident_id, incident in state.items():
                dropped = [r for r in rows if r.incident_id == incident_id and r.event == "open" and r.after == "drop"]
                if dropped and incident is not None and incident.resolved_at is None:
                    incident.announced = False  # nobody was told: if it still fails after the window, it is news
        for incident_id in dict.fromkeys(r.incident_id for r in rows):
            group = [r for r in rows if r.incident_id == incident_id]
            last, incident = group[-1], state[incident_id]
            events = [r.event for r in group]
            if last.after == "drop" or ("open" in events and incident is not None and incident.resolved_at):
                why = "dropped (after: drop)" if last.after == "drop" else "opened and resolved within it"
                log.info("maintenance %s over: %d held alert(s) of incident %s %s", last.window, len(group),
                         incident_id, why)  # fmt: skip
                continue
            # One message per incident, its latest state; an open the channels never saw stays an open.
            alert = Alert.model_validate(last.alert)
            update: dict[str, Any] = {"held": f"{last.window} (held {len(group)})"}
            if "open" in events and last.event == "remind":
                update["event"] = "open"
            self.notifier.notify(alert.model_copy(update=update), tuple(last.channels))

    def _escalate(self, now: datetime) -> None:
        jobs = {j.id: j for j in self.config.jobs}
        for incident in self.records.incidents(open_only=True):
            job = jobs.get(incident.job)
            if job is None or not escalation.due(incident, job.alert, now):
                continue
            with self.records.claim(incident.job, incident.kind) as session:
                current = self.records.incident(incident.id, session)
                if current is None or not escalation.due(current, job.alert, now):
                    continue  # another agent escalated it, or it was acknowledged meanwhile
                current.escalated_at = now
            log.warning("incident %s of %s unacknowledged for %.0fs: escalating", incident.id, job.id,
                        (now - incident.opened_at).total_seconds())  # fmt: skip
            self.dispatch(job, self._with_ack(self._escalation_alert(job, current, now)), job.alert.escalate_to)

    def _escalation_alert(self, job: JobConfig, incident: Incident, now: datetime) -> Alert:
        last = self.records.job_run(incident.last_run_id) if incident.last_run_id else None
        from orderprobe.scheduler.alert import Problem

        problems = [Problem.model_validate(p) for p in (last.problems if last else []) or []
                    if p.get("kind") == incident.kind]  # fmt: skip
        return Alert(
            event="remind", escalated=True, kind=incident.kind, urgency=incident.urgency, incident_id=incident.id,
            job=job.id, description=job.description, labels=dict(job.labels), timezone=job.timezone,
            first_failure_at=incident.first_failure_at, opened_at=incident.opened_at, bad_runs=incident.bad_runs,
            run_id=incident.last_run_id, report=last.report if last else "", problems=problems,
            location=self.location, locations=incident.seen, sent_at=now,
        )  # fmt: skip

    def ack_base(self) -> str:
        if self.config.ack.url:
            return self.config.ack.url
        return self.server.url if self.server is not None else ""

    def _with_ack(self, alert: Alert) -> Alert:
        """A signed acknowledgement link on an open incident's messages (with a key and an address)."""
        base = self.ack_base()
        if not self.ack_secret or not base or alert.event == "resolve":
            return alert
        url = escalation.link(base, self.ack_secret, alert.incident_id, self.clock(), self.config.ack.valid_for)
        return alert.model_copy(update={"ack_url": url})

    def ack_request(self, method: str, query: str) -> tuple[int, bytes]:
        """``/ack`` on the metrics server: GET shows a button, POST acknowledges."""
        try:
            incident_id = escalation.verify(self.ack_secret, query, self.clock())
        except ValueError as exc:
            return 403, escalation.page(0, "", f"拒绝 Refused: {exc}")
        if method != "POST":
            return 200, escalation.page(incident_id, query)
        try:
            incident = escalation.acknowledge(self.records, incident_id, "link", self.clock())
        except LookupError as exc:
            return 404, escalation.page(incident_id, "", str(exc))
        log.info("incident %s acknowledged by %s", incident_id, incident.acknowledged_by)
        return 200, escalation.page(incident_id, "", f"已确认 Acknowledged incident #{incident_id} ({incident.job})")

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
