"""The tables of the results store, and how a ``JourneyResult`` becomes rows of them.

Queryable columns are copied out of the result on purpose (probe, status, cause, step times
and the journey's start as epoch seconds) so history is aggregated by the database; the full
result is kept as JSON in a table of its own, so round-trips are exact and scans stay small.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from orderprobe.base.result import JourneyResult
from orderprobe.store.migration import added


class Base(DeclarativeBase):
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
    # Where the run ran (``--location``): agents at several sites share one store.
    location: Mapped[str] = mapped_column(String(100), **added(default="", server_default=""))


class RunShard(Base):
    """One machine's slice of a sharded run (``--shard i/n``): the run is complete when all n finished."""

    __tablename__ = "run_shards"
    run_id: Mapped[str] = mapped_column(_fk("runs.id"), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-based
    total: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    exit_code: Mapped[int | None] = mapped_column(Integer)


class RunController(Base):
    """The process that runs (a shard of) a run, while it runs: enough to tell later that it died
    without an end (SIGKILL, OOM, power loss). Removed when the run finishes; an abandoned one stays."""

    __tablename__ = "run_controllers"
    run_id: Mapped[str] = mapped_column(_fk("runs.id"), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: the whole run
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    # Boot and start time of the process: a pid the kernel reused later is not taken for the run's.
    identity: Mapped[str] = mapped_column(String(100), default="")
    abandoned_at: Mapped[datetime | None] = mapped_column(DateTime)  # naive UTC; when it was found gone


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
    location: Mapped[str] = mapped_column(String(100), **added(default="", server_default=""))
    # How the network was emulated: "packet" (a link) or "cdp" (DevTools); "" before it was recorded.
    emulation: Mapped[str] = mapped_column(String(20), **added(default="", server_default=""))
    __table_args__ = (
        Index("ix_journeys_series", "probe", "profile", "started_epoch", "id", "ok"),
        Index("ix_journeys_time", "started_epoch", "ok", "run_id"),
    )


class Maintenance(Base):
    """A maintenance window as it was in force: an occurrence of a scheduled one, or a mute from the
    command line. Journeys of its job (the run's ``job`` label; "" any job) that started inside it are
    left out of availability, and the trend report shades it."""

    __tablename__ = "maintenance"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    job: Mapped[str] = mapped_column(String(100), default="")
    starts_epoch: Mapped[int] = mapped_column(BigInteger, index=True)
    ends_epoch: Mapped[int] = mapped_column(BigInteger, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20), default="schedule")  # schedule | mute
    after: Mapped[str] = mapped_column(String(10), default="release")  # held alerts at the end: release | drop
    by: Mapped[str] = mapped_column(String(100), default="")
    __table_args__ = (Index("ux_maintenance_occurrence", "name", "job", "starts_epoch", unique=True),)


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
    # Web Vitals of the step's pages (probes/vitals.py); NULL: not measured (or stored before they were).
    lcp_ms: Mapped[float | None] = mapped_column(Float, **added())
    cls: Mapped[float | None] = mapped_column(Float, **added())
    inp_ms: Mapped[float | None] = mapped_column(Float, **added())
    fcp_ms: Mapped[float | None] = mapped_column(Float, **added())
    ttfb_ms: Mapped[float | None] = mapped_column(Float, **added())
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


def utc_naive(moment: datetime) -> datetime:
    """Columns hold naive UTC (portable); a naive input is taken to be UTC already."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def utc_aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


BIN_BASE = 1.01  # step-time bins are 1% wide: a percentile read from them is within 0.5% of the exact one


VITALS = ("lcp_ms", "cls", "inp_ms", "fcp_ms", "ttfb_ms")  # the steps table's vitals columns


def bin_of(duration_ms: float) -> int:
    return round(math.log(max(duration_ms, 1.0), BIN_BASE))


def bin_value(duration_bin: int) -> float:
    return BIN_BASE**duration_bin


def epoch(moment: datetime) -> int:
    return int(utc_aware(moment).timestamp())


def _columns(table: type[Base]) -> set[str]:
    """The fields a table has columns for; the rest (newer or nested fields) live in JourneyJSON."""
    return set(table.__table__.columns.keys())


def rows(results: list[JourneyResult]) -> dict[type[Base], list[dict[str, Any]]]:
    """The journeys as table rows: queryable columns, steps, failures, requests, artefacts."""
    rows: dict[type[Base], list[dict[str, Any]]] = {t: [] for t in TABLES}
    copied_columns = {"id", "run_id", "probe", "profile", "duration_ms", "attempt", "worker", "location", "emulation"}
    for r in results:
        rows[JourneyJSON].append(dict(journey_id=r.id, data=r.model_dump_json()))
        cause = r.cause.model_dump() if r.cause else {}
        rows[Journey].append(
            dict(
                r.model_dump(include=copied_columns),
                status=r.status.value,
                ok=r.status.ok,
                started_at=utc_naive(r.started_at),
                started_epoch=epoch(r.started_at),
                failed_step=r.failed_step,
                **{f"cause_{k}": cause.get(k) for k in ("category", "detail", "dependency")},
            )
        )
        for i, s in enumerate(r.steps):
            step = s.model_dump(include=_columns(Step), exclude={"interactions", "error", "conditions", "screenshot"})
            step.update(s.vitals.model_dump(exclude={"url"}) if s.vitals else dict.fromkeys(VITALS))
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
            failure = f.model_dump(include=_columns(Failure))
            causes = {
                f"cause_{k}": cause.get(k) for k in ("category", "detail", "dependency", "rule", "evidence", "summary")
            }
            rows[Failure].append(dict(failure, **causes, journey_id=r.id))
            requests = [(False, q) for q in f.requests] + [(True, q) for q in f.failed_requests]
            rows[Request] += [
                dict(q.model_dump(include=_columns(Request)), failed=bad, journey_id=r.id, idx=i)
                for i, (bad, q) in enumerate(requests)
            ]
    return rows
