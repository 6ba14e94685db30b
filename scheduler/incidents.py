"""Alert on state changes, not on every failure: the incident state machine.

Each job has up to three incidents open at once, one per kind:

- ``checkout``: journeys failed — the checkout is broken. High urgency.
- ``probe_broken``: journeys errored (selector drift, script error) or the run itself
  died (timeout, crash, bad exit code) — our problem, not the shop's. Low urgency.
- ``flaky``: journeys passed only on retry. Low urgency.

A run gives each kind a signal: bad, good, or no evidence (a run that died says nothing
about the checkout). An incident opens after ``open_after`` consecutive bad signals (or
``failure_rate`` of the last ``window``), resolves after ``resolve_after`` good ones, and
is re-announced every ``remind_every`` while still bad. Evidence older than the last
resolution does not count again, so one resolved incident cannot reopen on old runs.

Agents at several locations share incidents: each agent decides on its own runs, under a
database lock (``Records.claim``). The first location whose runs say "open" opens and
announces the incident; another one that fails too joins it quietly (recorded in
``locations``); the incident resolves, once, when the last failing location recovers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from orderprobe.base.result import JourneyResult, Status
from orderprobe.probes.verdict import Verdict
from orderprobe.scheduler.alert import Alert, Event, Problem
from orderprobe.scheduler.config import AlertRule, JobConfig
from orderprobe.scheduler.records import Incident, JobRun, Records

log = logging.getLogger("orderprobe.scheduler")

URGENCY = {"checkout": "high", "probe_broken": "low", "flaky": "low", "location": "low", "cleanup": "low"}
KINDS = tuple(URGENCY)


def kind_of(journey: JourneyResult) -> str | None:
    """Which incident kind a journey counts against, if any."""
    if journey.status is Status.FLAKY:
        return "flaky"
    if journey.status.ok:
        return None
    if journey.status is Status.ERROR or (journey.cause is not None and journey.cause.category == "probe_broken"):
        return "probe_broken"
    if _own_network(journey):
        return "location"
    return "checkout"


def _own_network(journey: JourneyResult) -> bool:
    """The agent's own link failed (DNS, offline, TLS, proxy…) and orderprobe's emulation did not do it:
    this location's trouble, not the checkout's."""
    cause, failure = journey.cause, journey.failure
    if cause is None or cause.category != "network" or cause.detail == "injected_fault":
        return False
    requests = [*failure.failed_requests, *failure.requests, *failure.waiting] if failure else []
    return not any(r.injected for r in requests)


def assess(journeys: Sequence[JourneyResult], exit_code: int | None, died: bool) -> Assessment:
    """A run's verdict and its signal per incident kind.

    The exit code says it first (0 every journey met its expectation, 1 some failed,
    anything else an error); the journeys say which kind. A run that died (timeout,
    crash, interrupted) or errored is probe_broken and says nothing about the checkout
    beyond the journeys it did record.
    """
    kinds = [kind_of(j) for j in journeys]
    problems = [Problem.of(j, k) for j, k in zip(journeys, kinds, strict=True) if k]
    left = [(j, c) for j in journeys for c in j.cleanup if not c.ok]
    problems += [Problem(probe=j.probe, profile=j.profile, status="cleanup failed", kind="cleanup", step=c.name,
                         summary=c.error or "") for j, c in left]  # fmt: skip
    errored = died or exit_code not in (0, 1)
    unexplained = exit_code == 1 and not errored and not any(kinds)
    if unexplained:  # the runner said "failed" but left no journey saying how
        problems.append(Problem(probe="?", profile="?", status="failed", summary="exit code 1, no journey results"))
    unreached = bool(kinds) and all(k == "location" for k in kinds)  # no journey got to the checkout
    # Every journey went through without its scenario happening: that says nothing of the checkout.
    unreached = unreached or (bool(journeys) and not any(j.status.counts for j in journeys))
    signals: dict[str, bool | None] = {
        "checkout": True if "checkout" in kinds or unexplained else (None if errored or unreached else False),
        "probe_broken": errored or "probe_broken" in kinds,
        "flaky": True if "flaky" in kinds else (None if errored else False),
        "location": True if "location" in kinds else (None if errored else False),
        "cleanup": True if left else (None if errored else False),
    }
    if signals["checkout"]:
        verdict = Verdict.FAILED
    elif signals["probe_broken"] or signals["location"]:
        verdict = Verdict.ERROR
    else:
        verdict = Verdict.FLAKY if signals["flaky"] else Verdict.PASSED
    return Assessment(verdict, signals, problems)


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict  # passed | failed | error | flaky
    signals: dict[str, bool | None]
    problems: list[Problem]


def decide(
    signals: Sequence[bool | None],
    *,
    is_open: bool,
    last_notified: datetime | None,
    now: datetime,
    rule: AlertRule,
) -> Event | None:
    """The whole state machine as a pure function of the recent signals (oldest first)."""
    known = [s for s in signals if s is not None]
    if not known:
        return None
    if not is_open:
        if len(known) >= rule.open_after and all(known[-rule.open_after :]):
            return "open"
        if rule.failure_rate is not None and known[-1] and len(known) >= rule.window:
            recent = known[-rule.window :]
            if sum(recent) / len(recent) >= rule.failure_rate:
                return "open"
        return None
    if len(known) >= rule.resolve_after and not any(known[-rule.resolve_after :]):
        return "resolve"
    if (
        rule.remind_every is not None
        and known[-1]
        and last_notified is not None
        and now - last_notified >= timedelta(seconds=rule.remind_every)
    ):
        return "remind"
    return None


def first_failure(runs: Sequence[JobRun], kind: str, rule: AlertRule) -> JobRun:
    """The first bad run of the evidence that opened the incident.

    That is the start of the trailing bad streak (runs without evidence do not break it),
    or, when the failure-rate rule opened it, the first bad run in the window.
    """
    known = [r for r in runs if r.signal(kind) is not None]
    streak: list[JobRun] = []
    for run in reversed(known):
        if not run.signal(kind):
            break
        streak.insert(0, run)
    if len(streak) >= rule.open_after:
        return streak[0]
    return next(r for r in known[-rule.window :] if r.signal(kind))


class Incidents:
    """Applies ``decide`` to each finished run, persists incidents, returns the alerts to send."""

    def __init__(
        self,
        records: Records,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        report_link: Callable[[str], str] = lambda run_id: "",
    ) -> None:
        self.records = records
        self.clock = clock
        self.report_link = report_link

    def after_run(self, job: JobConfig, run: JobRun) -> list[Alert]:
        alerts = []
        for kind in KINDS:
            alert = self._evaluate(job, run, kind)
            if alert is not None:
                log.info("incident %s %s for job %s (%s)", alert.event, kind, job.id, alert.title)
                alerts.append(alert)
        return alerts

    def _evaluate(self, job: JobConfig, run: JobRun, kind: str) -> Alert | None:
        rule = job.alert
        here = self.records.location
        with self.records.claim(job.id, kind) as session:  # other agents wait here: one decision at a time
            incident = self.records.open_incident(job.id, kind, session)
            mine = incident is not None and incident.held_by(here)
            since = None if mine else self.records.last_resolved_at(job.id, kind, session)
            depth = max(rule.open_after, rule.resolve_after, rule.window if rule.failure_rate else 0) * 3
            runs = self.records.recent_runs(job.id, depth, after=since)
            now = self.clock()
            event = decide(
                [r.signal(kind) for r in runs],
                is_open=mine,
                last_notified=incident.last_notified_at if incident else None,
                now=now,
                rule=rule,
            )
            if incident is not None and mine and run.signal(kind):
                incident.bad_runs += 1
                incident.last_run_id = run.run_id
                if not incident.announced and event != "resolve":  # still waiting for agreement: enough now?
                    event = "open" if len(incident.failing_at) >= self._quorum(job, kind, incident, now)[1] else None
            announce: Event | None = event
            if event is None:
                if incident is not None and mine:
                    self.records.save_incident(incident, session)
                return None
            if event == "open":
                first = first_failure(runs, kind, rule)
                bad = [r for r in runs if r.signal(kind) and r.started_at >= first.started_at]
                if incident is None:
                    incident = Incident(
                        job=job.id,
                        kind=kind,
                        urgency=URGENCY[kind],
                        first_failure_at=first.started_at,
                        opened_at=now,
                        last_notified_at=now,
                        bad_runs=len(bad),
                        last_run_id=run.run_id,
                        announced=False,
                    )
                else:  # another location opened it first: this one joins, and says nothing new
                    if here not in incident.failing_at:
                        log.info("incident %s %s for job %s: failing at %s too", incident.id, kind, job.id, here)
                        incident.first_failure_at = min(incident.first_failure_at, first.started_at)
                        incident.bad_runs += len(bad)
                    incident.last_run_id = run.run_id
                    announce = None
                incident.join(here)
                if not incident.announced:  # announced once, when enough locations agree
                    ran, needed = self._quorum(job, kind, incident, now)
                    if len(incident.failing_at) >= needed:
                        incident.announced, incident.opened_at, incident.last_notified_at = True, now, now
                        announce = "open"
                    else:
                        log.info("incident %s for job %s: failing at %s; waiting for %d of %d locations to agree",
                                 kind, job.id, ", ".join(incident.failing_at), needed, len(ran))  # fmt: skip
                        announce = None
            elif event == "remind":
                assert incident is not None
                incident.last_notified_at = now
                incident.reminders += 1
                announce = event if incident.announced else None
            else:
                assert incident is not None
                incident.leave(here)
                if incident.failing_at:  # recovered here, still failing elsewhere: stays open
                    log.info("incident %s %s for job %s: recovered at %s, still failing at %s",
                             incident.id, kind, job.id, here, ", ".join(incident.failing_at))  # fmt: skip
                    announce = None
                else:
                    incident.resolved_at = now
                    incident.last_notified_at = now
                    announce = event if incident.announced else None  # never announced: nothing to take back
            incident = self.records.save_incident(incident, session)
        return self._alert(job, run, incident, announce, kind) if announce else None

    def _quorum(self, job: JobConfig, kind: str, incident: Incident, now: datetime) -> tuple[list[str], int]:
        """The locations that ran the job within the quorum window, and how many must agree. Only a
        checkout incident waits for agreement: the others are each location's (or the probe's) own."""
        if kind != "checkout" or job.alert.quorum is None:
            return incident.failing_at, 0  # no agreement needed (a lone agent may have no location name)
        since = now - timedelta(seconds=job.alert.quorum_window)
        ran = sorted(set(self.records.locations_ran(job.id, since)) | set(incident.failing_at))
        return ran, job.alert.needed(len(ran))

    def _alert(self, job: JobConfig, run: JobRun, incident: Incident, event: Event, kind: str) -> Alert:
        problems = [Problem.model_validate(p) for p in run.problems or [] if p.get("kind") == kind]
        agreement: dict = {}
        if kind == "checkout" and job.alert.quorum is not None:
            ran, needed = self._quorum(job, kind, incident, self.clock())
            agreed = incident.failing_at if event != "resolve" else incident.seen
            agreement = {
                "agreed": agreed,
                "disagreed": [x for x in ran if x not in agreed],
                "quorum": f"{len(agreed)} of {len(ran)} locations (quorum {job.alert.quorum}: {needed})",
            }
        if incident.acknowledged_at is not None:
            when = incident.acknowledged_at.astimezone(ZoneInfo(job.timezone)).strftime("%Y-%m-%d %H:%M %Z")
            agreement["acknowledged"] = f"{incident.acknowledged_by or '?'} · {when}"
        return Alert(
            **agreement,
            sent_at=self.clock(),
            event=event,
            kind=kind,
            urgency=incident.urgency,
            incident_id=incident.id,
            job=job.id,
            description=job.description,
            labels=dict(job.labels),
            timezone=job.timezone,
            first_failure_at=incident.first_failure_at,
            opened_at=incident.opened_at,
            resolved_at=incident.resolved_at,
            bad_runs=incident.bad_runs,
            run_id=run.run_id,
            report=run.report or self.report_link(run.run_id),
            problems=problems,
            error=(run.error or "") if kind == "probe_broken" else "",
            location=self.records.location,
            locations=incident.seen,
        )

    def open_counts(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for incident in self.records.incidents(open_only=True):
            if not incident.announced:  # waiting for a quorum: not an incident anyone was told of
                continue
            counts[(incident.job, incident.kind)] = counts.get((incident.job, incident.kind), 0) + 1
        return counts


def channels_for(rule: AlertRule, alert: Alert) -> tuple[str, ...]:
    """High urgency to the on-call channels; probe-broken / flaky to the low-urgency ones."""
    return rule.channels if alert.urgency == "high" else rule.low_urgency
