"""What the service remembers between runs: job runs and incidents, in the results database.

Own ``MetaData`` (tables prefixed ``scheduler_``) so they sit beside the results store's
tables and APScheduler's job table without colliding. Datetimes are stored naive UTC.
"""

from __future__ import annotations

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
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator


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
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the trigger's fire time
    missed: Mapped[int] = mapped_column(Integer, default=0)  # earlier fire times coalesced into this run
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(20), default="running")  # execution.Outcome
    exit_code: Mapped[int | None] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(20), default="running")  # passed|failed|error|flaky
    # Per-incident-kind signals: True bad, False good, None no evidence (the run died).
    checkout_bad: Mapped[bool | None] = mapped_column(Boolean)
    probe_bad: Mapped[bool | None] = mapped_column(Boolean)
    flaky_bad: Mapped[bool | None] = mapped_column(Boolean)
    journeys: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # bad journeys, summarised
    report: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")

    def signal(self, kind: str) -> bool | None:
        return {"checkout": self.checkout_bad, "probe_broken": self.probe_bad, "flaky": self.flaky_bad}[kind]


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


class Records:
    """Job runs and incidents of one agent (several agents may share one database)."""

    def __init__(self, url: str, agent: str = "local") -> None:
        self.agent = agent
        self.engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":

            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA busy_timeout = 30000")  # the runner writes the same file
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.close()

        Base.metadata.create_all(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()

    # -- job runs ----------------------------------------------------------------------

    def save_run(self, run: JobRun) -> JobRun:
        run.agent = self.agent
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

    def open_incident(self, job: str, kind: str) -> Incident | None:
        query = select(Incident).where(Incident.agent == self.agent, Incident.job == job, Incident.kind == kind)
        query = query.where(Incident.resolved_at.is_(None))
        with self.session() as s:
            return s.scalars(query.order_by(Incident.id.desc()).limit(1)).first()

    def last_resolved_at(self, job: str, kind: str) -> datetime | None:
        query = select(Incident.resolved_at).where(
            Incident.agent == self.agent, Incident.job == job, Incident.kind == kind, Incident.resolved_at.is_not(None)
        )
        with self.session() as s:
            return s.scalars(query.order_by(Incident.resolved_at.desc()).limit(1)).first()

    def save_incident(self, incident: Incident) -> Incident:
        incident.agent = self.agent
        with self.session() as s:
            merged = s.merge(incident)
            s.flush()  # assigns the id of a new incident
            return merged

    def incidents(self, open_only: bool = False) -> list[Incident]:
        query = select(Incident).where(Incident.agent == self.agent).order_by(Incident.id)
        if open_only:
            query = query.where(Incident.resolved_at.is_(None))
        with self.session() as s:
            return list(s.scalars(query).all())

    # -- retention ---------------------------------------------------------------------

    def prune(self, before: datetime) -> list[JobRun]:
        """Delete job runs started before ``before`` and resolved incidents; return the runs deleted."""
        with self.session() as s:
            mine = JobRun.agent == self.agent
            old = list(s.scalars(select(JobRun).where(mine, JobRun.started_at < before)).all())
            s.execute(delete(JobRun).where(mine, JobRun.started_at < before))
            s.execute(delete(Incident).where(Incident.agent == self.agent, Incident.resolved_at < before))
            return old
