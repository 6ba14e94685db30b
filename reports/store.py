"""The results store: runs, journeys, steps, failures, requests and artefacts in SQL.

SQLite file by default (WAL, busy timeout, foreign keys; several processes may write at
once), any SQLAlchemy URL otherwise (PostgreSQL when many agents share results). The
full ``JourneyResult`` JSON is kept so ``journeys()`` round-trips exactly; the queryable
columns and the steps table exist so reports aggregate in SQL (see ``reports.queries``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from probes.result import JourneyResult, Status


class Base(DeclarativeBase):
    pass


class StoreSchemaError(RuntimeError):
    pass


def _fk(column: str) -> ForeignKey:
    return ForeignKey(column, ondelete="CASCADE")


class Run(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # naive UTC
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    target: Mapped[str] = mapped_column(Text, default="")
    matrix: Mapped[str | None] = mapped_column(String(200))
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    command: Mapped[str] = mapped_column(Text, default="")
    exit_code: Mapped[int | None] = mapped_column(Integer)


class Journey(Base):
    __tablename__ = "journeys"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    run_id: Mapped[str] = mapped_column(_fk("runs.id"), index=True)
    probe: Mapped[str] = mapped_column(String(200))
    profile: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(20))
    ok: Mapped[bool] = mapped_column(Boolean)  # met its expectation (Status.ok)
    started_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    # Seconds since the epoch: lets trend queries bucket time with integer division in any SQL dialect.
    started_epoch: Mapped[int] = mapped_column(BigInteger)
    duration_ms: Mapped[float] = mapped_column(Float)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    worker: Mapped[str] = mapped_column(String(50), default="")
    failed_step: Mapped[str | None] = mapped_column(String(200))
    cause_category: Mapped[str | None] = mapped_column(String(50))
    cause_detail: Mapped[str | None] = mapped_column(String(200))
    cause_dependency: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (
        Index("ix_journeys_series", "probe", "profile", "started_epoch", "id", "ok"),
        Index("ix_journeys_time", "started_epoch", "ok", "run_id"),
    )


class JourneyJSON(Base):
    """The full JourneyResult, apart: kilobytes per row would make every scan of ``journeys`` slow."""

    __tablename__ = "journey_json"
    journey_id: Mapped[str] = mapped_column(_fk("journeys.id"), primary_key=True)
    data: Mapped[str] = mapped_column(Text)


class Step(Base):
    __tablename__ = "steps"
    journey_id: Mapped[str] = mapped_column(_fk("journeys.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    # Copied from the journey so step-time aggregation over a window needs no join.
    probe: Mapped[str] = mapped_column(String(200))
    started_epoch: Mapped[int] = mapped_column(BigInteger)
    start_ms: Mapped[float] = mapped_column(Float)
    duration_ms: Mapped[float] = mapped_column(Float)
    # Log-scale bin of duration_ms (1% wide): percentiles over any window become a GROUP BY (see queries).
    duration_bin: Mapped[int] = mapped_column(Integer)
    budget_ms: Mapped[float | None] = mapped_column(Float)
    taps: Mapped[int] = mapped_column(Integer, default=0)
    text_inputs: Mapped[int] = mapped_column(Integer, default=0)
    page_loads: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    console_errors: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (Index("ix_steps_time", "started_epoch", "probe", "name", "status", "duration_bin"),)


class Failure(Base):
    __tablename__ = "failures"
    journey_id: Mapped[str] = mapped_column(_fk("journeys.id"), primary_key=True)
    step: Mapped[str] = mapped_column(String(200))
    action: Mapped[str | None] = mapped_column(String(200))
    locator: Mapped[str | None] = mapped_column(Text)
    error_type: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text, default="")
    document_status: Mapped[int | None] = mapped_column(Integer)
    page_title: Mapped[str] = mapped_column(Text, default="")
    page_text: Mapped[str] = mapped_column(Text, default="")
    console_errors: Mapped[list[str]] = mapped_column(JSON, default=list)
    screenshot: Mapped[str | None] = mapped_column(Text)
    trace: Mapped[str | None] = mapped_column(Text)
    cause_category: Mapped[str | None] = mapped_column(String(50), index=True)
    cause_detail: Mapped[str | None] = mapped_column(String(200))
    cause_dependency: Mapped[str | None] = mapped_column(String(200), index=True)
    cause_rule: Mapped[str | None] = mapped_column(String(200))
    cause_evidence: Mapped[str | None] = mapped_column(Text)
    cause_summary: Mapped[str | None] = mapped_column(Text)


class Request(Base):
    __tablename__ = "requests"
    journey_id: Mapped[str] = mapped_column(_fk("journeys.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    failed: Mapped[bool] = mapped_column(Boolean)  # from FailurePoint.failed_requests
    method: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[int | None] = mapped_column(Integer)
    failure: Mapped[str | None] = mapped_column(Text)
    start_ms: Mapped[float] = mapped_column(Float, default=0.0)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    step: Mapped[str | None] = mapped_column(String(200))
    body_excerpt: Mapped[str | None] = mapped_column(Text)


class ArtefactRow(Base):
    __tablename__ = "artefacts"
    journey_id: Mapped[str] = mapped_column(_fk("journeys.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    path: Mapped[str] = mapped_column(Text)  # relative to the artefacts folder
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)


TABLES: tuple[type[Base], ...] = (Journey, JourneyJSON, Step, Failure, Request, ArtefactRow)  # parents first


class RunSummary(BaseModel):
    id: str
    started_at: datetime  # aware, UTC
    finished_at: datetime | None = None
    target: str = ""
    matrix: str | None = None
    labels: dict[str, str] = {}
    command: str = ""
    counts: dict[str, int] = {}  # status -> journeys
    exit_code: int | None = None
    duration: timedelta | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        """Every journey met its expectation."""
        return all(Status(s).ok for s, n in self.counts.items() if n)


def default_url(var_dir: Path = Path("var")) -> str:
    var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{var_dir / 'orderprobe.db'}"


def utc_naive(moment: datetime) -> datetime:
    """Columns hold naive UTC (portable); a naive input is taken to be UTC already."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def utc_aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


BIN_BASE = 1.01  # step-time bins are 1% wide: a percentile read from them is within 0.5% of the exact one


def bin_of(duration_ms: float) -> int:
    return round(math.log(max(duration_ms, 1.0), BIN_BASE))


def bin_value(duration_bin: int) -> float:
    return BIN_BASE**duration_bin


def epoch(moment: datetime) -> int:
    return int(utc_aware(moment).timestamp())


def _sqlite_setup(engine: Any) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that upgrades
        # from read to write fails at once under WAL instead of waiting busy_timeout.
        write = conn.get_execution_options().get("orderprobe_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            _sqlite_setup(self.engine)
        self._create_tables()

    def _create_tables(self) -> None:
        for attempt in range(3):
            try:
                with self.write() as conn:
                    Base.metadata.create_all(conn)
                    self._check_columns(conn)
                return
            except DBAPIError:  # another process created them between our check and CREATE
                if attempt == 2:
                    raise

    def _check_columns(self, conn: Connection) -> None:
        """A store written by an older orderprobe is refused clearly, not with a failing INSERT later."""
        inspector = inspect(conn)
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            missing = [c.name for c in table.columns if c.name not in have]
            if missing:
                raise StoreSchemaError(
                    f"results store {self.engine.url.render_as_string(hide_password=True)}: table {table.name!r} "
                    f"lacks column(s) {', '.join(missing)} (written by an older orderprobe); "
                    "move that database aside or point --results elsewhere"
                )

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(orderprobe_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # -- writing ---------------------------------------------------------------------

    def start_run(
        self,
        run_id: str,
        *,
        started_at: datetime,
        target: str,
        matrix: str | None,
        labels: dict[str, str] | None = None,
        command: str = "",
    ) -> None:
        values = dict(
            started_at=utc_naive(started_at),
            target=target,
            matrix=matrix,
            labels=dict(labels or {}),
            command=command,
        )
        with self.write() as conn:
            if conn.scalar(select(Run.id).where(Run.id == run_id)) is None:
                conn.execute(insert(Run).values(id=run_id, **values))
            else:
                conn.execute(Run.__table__.update().where(Run.id == run_id).values(**values))

    def finish_run(self, run_id: str, *, finished_at: datetime, exit_code: int) -> None:
        with self.write() as conn:
            conn.execute(
                Run.__table__.update()
                .where(Run.id == run_id)
                .values(finished_at=utc_naive(finished_at), exit_code=exit_code)
            )

    def add_journey(self, result: JourneyResult) -> None:
        """Insert or replace one journey (idempotent on ``result.id``)."""
        self.add_journeys([result])

    def add_journeys(self, results: list[JourneyResult]) -> None:
        """Insert or replace several journeys in one transaction (batches; much faster on SQLite)."""
        results = list({r.id: r for r in results}.values())  # the last of duplicates wins
        with self.write() as conn:
            runs = {r.run_id: r for r in results}
            known = set(conn.scalars(select(Run.id).where(Run.id.in_(runs))))
            for run_id, r in runs.items():
                if run_id not in known:  # a journey may arrive before (or without) start_run: keep it
                    stub = dict(started_at=utc_naive(r.started_at), target=r.target, labels={}, command="")
                    conn.execute(insert(Run).values(id=run_id, matrix=None, **stub))
            ids = [r.id for r in results]
            for table in reversed(TABLES):  # children first (foreign keys)
                key = Journey.id if table is Journey else table.journey_id
                conn.execute(delete(table).where(key.in_(ids)))
            rows = _rows(results)
            for table in TABLES:  # parents first (foreign keys)
                if rows[table]:
                    # Core executemany with bound parameters: one cached statement per table.
                    conn.execute(table.__table__.insert(), rows[table])

    # -- reading ---------------------------------------------------------------------

    def run(self, run_id: str) -> RunSummary | None:
        found = self._summaries(select(Run).where(Run.id == run_id))
        return found[0] if found else None

    def runs(self, limit: int = 50, since: datetime | None = None) -> list[RunSummary]:
        query = select(Run).order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)
        if since is not None:
            query = query.where(Run.started_at >= utc_naive(since))
        return self._summaries(query)

    def _summaries(self, query: Any) -> list[RunSummary]:
        with self.read() as conn:
            rows = conn.execute(query).all()
            ids = [row.id for row in rows]
            counts: dict[str, dict[str, int]] = {i: {} for i in ids}
            if ids:
                grouped = conn.execute(
                    select(Journey.run_id, Journey.status, func.count())
                    .where(Journey.run_id.in_(ids))
                    .group_by(Journey.run_id, Journey.status)
                )
                for run_id, status, n in grouped:
                    counts[run_id][status] = n
        return [
            RunSummary(
                id=row.id,
                started_at=utc_aware(row.started_at),
                finished_at=utc_aware(row.finished_at) if row.finished_at else None,
                target=row.target or "",
                matrix=row.matrix,
                labels=dict(row.labels or {}),
                command=row.command or "",
                counts=counts[row.id],
                exit_code=row.exit_code,
                duration=(row.finished_at - row.started_at) if row.finished_at else None,
            )
            for row in rows
        ]

    def journeys(self, run_id: str) -> list[JourneyResult]:
        with self.read() as conn:
            data = conn.scalars(
                select(JourneyJSON.data)
                .join(Journey, Journey.id == JourneyJSON.journey_id)
                .where(Journey.run_id == run_id)
                .order_by(Journey.started_at, Journey.id)
            ).all()
        return [JourneyResult.model_validate_json(d) for d in data]

    def journey(self, journey_id: str) -> JourneyResult | None:
        with self.read() as conn:
            data = conn.scalar(select(JourneyJSON.data).where(JourneyJSON.journey_id == journey_id))
        return JourneyResult.model_validate_json(data) if data else None

    def latest_run_id(self) -> str | None:
        with self.read() as conn:
            return conn.scalar(select(Run.id).order_by(Run.started_at.desc(), Run.id.desc()).limit(1))


def _rows(results: list[JourneyResult]) -> dict[type[Base], list[dict[str, Any]]]:
    """The journeys as table rows: queryable columns, steps, failures, requests, artefacts."""
    rows: dict[type[Base], list[dict[str, Any]]] = {t: [] for t in TABLES}
    for r in results:
        rows[JourneyJSON].append(dict(journey_id=r.id, data=r.model_dump_json()))
        cause = r.cause.model_dump() if r.cause else {}
        rows[Journey].append(
            dict(
                r.model_dump(include={"id", "run_id", "probe", "profile", "duration_ms", "attempt", "worker"}),
                status=r.status.value,
                ok=r.status.ok,
                started_at=utc_naive(r.started_at),
                started_epoch=epoch(r.started_at),
                failed_step=r.failed_step,
                **{f"cause_{k}": cause.get(k) for k in ("category", "detail", "dependency")},
            )
        )
        for i, s in enumerate(r.steps):
            step = s.model_dump(exclude={"interactions", "error", "conditions"})
            copied = dict(
                journey_id=r.id,
                idx=i,
                probe=r.probe,
                started_epoch=epoch(r.started_at),
                duration_bin=bin_of(s.duration_ms),
            )
            rows[Step].append(dict(step, **s.interactions.model_dump(), **copied))
        for i, a in enumerate(r.artefacts):
            rows[ArtefactRow].append(dict(a.model_dump(), journey_id=r.id, idx=i))
        if r.failure:
            f = r.failure
            failure = f.model_dump(exclude={"requests", "failed_requests"})
            causes = {
                f"cause_{k}": cause.get(k) for k in ("category", "detail", "dependency", "rule", "evidence", "summary")
            }
            rows[Failure].append(dict(failure, **causes, journey_id=r.id))
            requests = [(False, q) for q in f.requests] + [(True, q) for q in f.failed_requests]
            rows[Request] += [
                dict(q.model_dump(), failed=bad, journey_id=r.id, idx=i) for i, (bad, q) in enumerate(requests)
            ]
    return rows
