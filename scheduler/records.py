"""What the service remembers between runs: job runs and incidents, in the results database.

Own ``MetaData`` (tables prefixed ``scheduler_``) so they sit beside the results store's
tables and APScheduler's job table without colliding. Datetimes are stored naive UTC.

Job runs are each agent's own; incidents are shared by every agent on the database (one
incident per job and kind, whichever locations see it), changed only under ``claim``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    false,
    func,
    select,
    true,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from orderprobe.probes.verdict import Verdict
from orderprobe.store.migration import added, upgrade


class Base(DeclarativeBase):
    pass


def naive(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment and moment.tzinfo else moment


class UTCDateTime(TypeDecorator):
    """Aware UTC in Python, naive UTC in the column (portable across SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return naive(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class JobRun(Base):
    """One scheduled (or --once) run of a job, whatever became of its subprocess."""

    __tablename__ = "scheduler_job_runs"
    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    job: Mapped[str] = mapped_column(String(100), index=True)
    agent: Mapped[str] = mapped_column(String(100), default="local", index=True)
    location: Mapped[str] = mapped_column(String(100), **added(default="", server_default=""))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the trigger's fire time
    missed: Mapped[int] = mapped_column(Integer, default=0)  # earlier fire times coalesced into this run
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(20), default="running")  # execution.Outcome
    exit_code: Mapped[int | None] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(20), default=Verdict.RUNNING.value)  # orderprobe.probes.verdict.Verdict
    # Per-incident-kind signals: True bad, False good, None no evidence (the run died).
    checkout_bad: Mapped[bool | None] = mapped_column(Boolean)
    probe_bad: Mapped[bool | None] = mapped_column(Boolean)
    flaky_bad: Mapped[bool | None] = mapped_column(Boolean)
    location_bad: Mapped[bool | None] = mapped_column(Boolean, **added())  # this agent's own network
    cleanup_bad: Mapped[bool | None] = mapped_column(Boolean, **added())  # a synthetic order left behind
    journeys: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # bad journeys, summarised
    report: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")

    def signal(self, kind: str) -> bool | None:
        return {"checkout": self.checkout_bad, "probe_broken": self.probe_bad, "flaky": self.flaky_bad,
                "location": self.location_bad, "cleanup": self.cleanup_bad}[kind]  # fmt: skip


class Incident(Base):
    __tablename__ = "scheduler_incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent: Mapped[str] = mapped_column(String(100), default="local", index=True)
    job: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # checkout | probe_broken | flaky
    urgency: Mapped[str] = mapped_column(String(10))  # high | low
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_notified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    bad_runs: Mapped[int] = mapped_column(Integer, default=0)
    last_run_id: Mapped[str] = mapped_column(String(64), default="")
    # Comma-separated locations (orderprobe.base.location forbids commas): every one that saw the failure,
    # and those still failing; the incident resolves when the last of them recovers.
    locations: Mapped[str] = mapped_column(Text, **added(default="", server_default=""))
    failing: Mapped[str] = mapped_column(Text, **added(default="", server_default=""))
    # Quorum: opened at a location but not announced until enough locations agree (older rows: announced).
    announced: Mapped[bool] = mapped_column(Boolean, **added(default=True, server_default=true()))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, **added())
    acknowledged_by: Mapped[str] = mapped_column(String(100), **added(default="", server_default=""))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, **added())

    @property
    def seen(self) -> list[str]:
        return [x for x in (self.locations or "").split(",") if x]

    @property
    def failing_at(self) -> list[str]:
        return [x for x in (self.failing or "").split(",") if x]

    def held_by(self, location: str) -> bool:
        """Whether ``location``'s runs decide this incident: it is failing there, or the incident
        predates locations (nobody holds it, so anyone's recovery resolves it)."""
        return not self.failing_at or location in self.failing_at

    def join(self, location: str) -> None:
        self.locations = ",".join(dict.fromkeys([*self.seen, location]))
        self.failing = ",".join(dict.fromkeys([*self.failing_at, location]))

    def leave(self, location: str) -> None:
        self.failing = ",".join(x for x in self.failing_at if x != location)


class HeldAlert(Base):
    """An alert held by a maintenance window, released (or dropped) at the window's end."""

    __tablename__ = "scheduler_held_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    incident_id: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(20))
    alert: Mapped[dict[str, Any]] = mapped_column(JSON)  # Alert.model_dump(mode="json")
    channels: Mapped[list[str]] = mapped_column(JSON)
    window: Mapped[str] = mapped_column(String(100))
    until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    after: Mapped[str] = mapped_column(String(10))  # release | drop
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)


def lock_key(job: str, kind: str) -> int:
    """A stable signed 64-bit key per (job, kind) for PostgreSQL's advisory locks."""
    digest = hashlib.blake2b(f"orderprobe:incident:{job}:{kind}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Records:
    """Job runs of one agent, and the incidents every agent on the database shares."""

    def __init__(self, url: str, agent: str = "local", location: str = "") -> None:
        self.agent = agent
        self.location = location
        self.engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":

            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA busy_timeout = 30000")  # the runner writes the same file
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.close()

        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    Base.metadata.create_all(conn)
                    upgrade(conn, Base.metadata)  # columns added since (location…) go into an older database
                break
            except DBAPIError:  # another agent created or altered them between our look and our DDL
                if attempt == 2:
                    raise

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()

    # -- job runs ----------------------------------------------------------------------

    def save_run(self, run: JobRun) -> JobRun:
        run.agent = self.agent
        run.location = run.location or self.location
        with self.session() as s:
            return s.merge(run)

    def job_run(self, run_id: str) -> JobRun | None:
        with self.session() as s:
            return s.get(JobRun, run_id)

    def recent_runs(self, job: str, limit: int, after: datetime | None = None) -> list[JobRun]:
        """Finished runs of a job, oldest first (at most ``limit``, the newest ones)."""
        query = select(JobRun).where(JobRun.agent == self.agent, JobRun.job == job, JobRun.finished_at.is_not(None))
        if after is not None:
            query = query.where(JobRun.started_at > after)
        query = query.order_by(JobRun.started_at.desc()).limit(limit)
        with self.session() as s:
            return list(reversed(s.scalars(query).all()))

    def runs(self, job: str | None = None, limit: int = 1000) -> list[JobRun]:
        query = select(JobRun).where(JobRun.agent == self.agent).order_by(JobRun.started_at.desc()).limit(limit)
        if job is not None:
            query = query.where(JobRun.job == job)
        with self.session() as s:
            return list(reversed(s.scalars(query).all()))

    def unfinished_runs(self) -> list[JobRun]:
        with self.session() as s:
            query = select(JobRun).where(JobRun.agent == self.agent, JobRun.finished_at.is_(None))
            return list(s.scalars(query).all())

    # -- incidents ---------------------------------------------------------------------

    @contextmanager
    def claim(self, job: str, kind: str) -> Iterator[Session]:
        """One transaction that alone may open, change or resolve the (job, kind) incident.

        Agents at several locations run the same job against one database: without this
        both would find no open incident and both open (and announce) one. PostgreSQL:
        a transaction-scoped advisory lock, released at commit. SQLite: the write lock,
        taken up front by a write that changes nothing.
        """
        with self.session() as s:
            if self.engine.dialect.name == "postgresql":
                s.execute(select(func.pg_advisory_xact_lock(lock_key(job, kind))))
            elif self.engine.dialect.name == "sqlite":
                s.execute(update(Incident).where(false()).values(reminders=Incident.reminders))
            yield s

    def open_incident(self, job: str, kind: str, session: Session | None = None) -> Incident | None:
        query = select(Incident).where(Incident.job == job, Incident.kind == kind, Incident.resolved_at.is_(None))
        with self._use(session) as s:
            return s.scalars(query.order_by(Incident.id.desc()).limit(1)).first()

    def last_resolved_at(self, job: str, kind: str, session: Session | None = None) -> datetime | None:
        query = select(Incident.resolved_at).where(
            Incident.job == job, Incident.kind == kind, Incident.resolved_at.is_not(None)
        )
        with self._use(session) as s:
            return s.scalars(query.order_by(Incident.resolved_at.desc()).limit(1)).first()

    def save_incident(self, incident: Incident, session: Session | None = None) -> Incident:
        """Store an incident; ``agent`` stays the one that opened it."""
        incident.agent = incident.agent or self.agent
        with self._use(session) as s:
            merged = s.merge(incident)
            s.flush()  # assigns the id of a new incident
            return merged

    @contextmanager
    def _use(self, session: Session | None) -> Iterator[Session]:
        if session is not None:
            yield session
        else:
            with self.session() as s:
                yield s

    def locations_ran(self, job: str, since: datetime) -> list[str]:
        """Every agent's locations that finished a run of ``job`` since ``since`` (quorum's denominator)."""
        query = select(JobRun.location).where(JobRun.job == job, JobRun.finished_at.is_not(None),
                                              JobRun.started_at >= naive(since)).distinct()  # fmt: skip
        with self.session() as s:
            return sorted(x for x in s.scalars(query).all() if x)

    def incident(self, incident_id: int, session: Session | None = None) -> Incident | None:
        with self._use(session) as s:
            return s.get(Incident, incident_id)

    def incidents(self, open_only: bool = False) -> list[Incident]:
        """Every agent's: an incident belongs to the job, wherever it was seen."""
        query = select(Incident).order_by(Incident.id)
        if open_only:
            query = query.where(Incident.resolved_at.is_(None))
        with self.session() as s:
            return list(s.scalars(query).all())

    # -- alerts held by maintenance -----------------------------------------------------

    def hold(self, held: HeldAlert) -> None:
        with self.session() as s:
            s.add(held)

    def held(self, due_by: datetime | None = None) -> list[HeldAlert]:
        query = select(HeldAlert).order_by(HeldAlert.id)
        if due_by is not None:
            query = query.where(HeldAlert.until <= naive(due_by))
        with self.session() as s:
            return list(s.scalars(query).all())

    def take_held(self, job: str, kind: str, session: Session) -> list[HeldAlert]:
        """Remove and return the held alerts of (job, kind), inside that incident's ``claim``."""
        query = select(HeldAlert).where(HeldAlert.job == job, HeldAlert.kind == kind)
        rows = list(session.scalars(query.order_by(HeldAlert.id)).all())
        for row in rows:
            session.delete(row)
        return rows

    def extend_held(self, job: str, until: datetime) -> None:
        with self.session() as s:
            s.execute(update(HeldAlert).where(HeldAlert.job == job).values(until=naive(until)))

    # -- retention ---------------------------------------------------------------------

    def prune(self, before: datetime) -> list[JobRun]:
        """Delete job runs started before ``before`` and resolved incidents; return the runs deleted."""
        with self.session() as s:
            mine = JobRun.agent == self.agent
            old = list(s.scalars(select(JobRun).where(mine, JobRun.started_at < before)).all())
            s.execute(delete(JobRun).where(mine, JobRun.started_at < before))
            s.execute(delete(Incident).where(Incident.resolved_at < before))
            return old
