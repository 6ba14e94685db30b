"""The tables of the results store (SQLAlchemy Core: every run imports this module, and the
ORM would add ~0.1 s of CPU to each for mapping classes it never loads), and how a
``JourneyResult`` becomes rows of them.

Queryable columns are copied out of the result on purpose (probe, status, cause, step times
and the journey's start as epoch seconds) so history is aggregated by the database; the full
result is kept as JSON in a table of its own, so round-trips are exact and scans stay small.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from orderprobe.base.result import JourneyResult
from orderprobe.store.migration import added

METADATA = MetaData()


def _fk(column: str) -> ForeignKey:
    return ForeignKey(column, ondelete="CASCADE")


Run = Table(
    "runs",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("started_at", DateTime, index=True, nullable=False),  # naive UTC
    Column("finished_at", DateTime),
    Column("target", Text, default="", nullable=False),
    Column("matrix", String(200)),
    Column("labels", JSON, default=dict, nullable=False),
    Column("command", Text, default="", nullable=False),
    Column("exit_code", Integer),
    # Where the run ran (``--location``): agents at several sites share one store.
    Column("location", String(100), **added(default="", server_default=""), nullable=False),
)


# One machine's slice of a sharded run (``--shard i/n``): the run is complete when all n finished.
RunShard = Table(
    "run_shards",
    METADATA,
    Column("run_id", _fk("runs.id"), primary_key=True),
    Column("shard", Integer, primary_key=True),  # 1-based
    Column("total", Integer, nullable=False),
    Column("host", String(200), default="", nullable=False),
    Column("started_at", DateTime, nullable=False),  # naive UTC
    Column("finished_at", DateTime),
    Column("exit_code", Integer),
)


# The process that runs (a shard of) a run, while it runs: enough to tell later that it died without an end
# (SIGKILL, OOM, power loss). Removed when the run finishes; an abandoned one stays.
RunController = Table(
    "run_controllers",
    METADATA,
    Column("run_id", _fk("runs.id"), primary_key=True),
    Column("shard", Integer, primary_key=True),  # 0: the whole run
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    # Boot and start time of the process: a pid the kernel reused later is not taken for the run's.
    Column("identity", String(100), default="", nullable=False),
    Column("abandoned_at", DateTime),  # naive UTC; when it was found gone
)


Journey = Table(
    "journeys",
    METADATA,
    Column("id", String(200), primary_key=True),
    Column("run_id", _fk("runs.id"), index=True, nullable=False),
    Column("probe", String(200), nullable=False),
    Column("profile", String(400), nullable=False),
    Column("status", String(20), nullable=False),
    Column("ok", Boolean, nullable=False),  # met its expectation (Status.ok)
    Column("started_at", DateTime, nullable=False),  # naive UTC
    # Seconds since the epoch: lets trend queries bucket time with integer division in any SQL dialect.
    Column("started_epoch", BigInteger, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("attempt", Integer, default=1, nullable=False),
    Column("worker", String(50), default="", nullable=False),
    Column("failed_step", String(200)),
    Column("cause_category", String(50)),
    Column("cause_detail", String(200)),
    Column("cause_dependency", String(200)),
    Column("location", String(100), **added(default="", server_default=""), nullable=False),
    # How the network was emulated: "packet" (a link) or "cdp" (DevTools); "" before it was recorded.
    Column("emulation", String(20), **added(default="", server_default=""), nullable=False),
    Index("ix_journeys_series", "probe", "profile", "started_epoch", "id", "ok"),
    Index("ix_journeys_time", "started_epoch", "ok", "run_id"),
)


# A maintenance window as it was in force: an occurrence of a scheduled one, or a mute from the command line.
# Journeys of its job (the run's ``job`` label; "" any job) that started inside it are left out of
# availability, and the trend report shades it.
Maintenance = Table(
    "maintenance",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("job", String(100), default="", nullable=False),
    Column("starts_epoch", BigInteger, index=True, nullable=False),
    Column("ends_epoch", BigInteger, index=True, nullable=False),
    Column("reason", Text, default="", nullable=False),
    Column("source", String(20), default="schedule", nullable=False),  # schedule | mute
    Column("after", String(10), default="release", nullable=False),  # held alerts at the end: release | drop
    Column("by", String(100), default="", nullable=False),
    Index("ux_maintenance_occurrence", "name", "job", "starts_epoch", unique=True),
)


# The full JourneyResult, apart: kilobytes per row would make every scan of ``journeys`` slow.
JourneyJSON = Table(
    "journey_json",
    METADATA,
    Column("journey_id", _fk("journeys.id"), primary_key=True),
    Column("data", Text, nullable=False),
)


Step = Table(
    "steps",
    METADATA,
    Column("journey_id", _fk("journeys.id"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    # Copied from the journey so step-time aggregation over a window needs no join.
    Column("probe", String(200), nullable=False),
    Column("started_epoch", BigInteger, nullable=False),
    Column("start_ms", Float, nullable=False),
    Column("duration_ms", Float, nullable=False),
    # Log-scale bin of duration_ms (1% wide): percentiles over any window become a GROUP BY (see queries).
    Column("duration_bin", Integer, nullable=False),
    Column("budget_ms", Float),
    Column("taps", Integer, default=0, nullable=False),
    Column("text_inputs", Integer, default=0, nullable=False),
    Column("page_loads", Integer, default=0, nullable=False),
    Column("requests", Integer, default=0, nullable=False),
    Column("bytes", BigInteger, default=0, nullable=False),
    Column("console_errors", Integer, default=0, nullable=False),
    # Web Vitals of the step's pages (probes/vitals.py); NULL: not measured (or stored before they were).
    Column("lcp_ms", Float, **added()),
    Column("cls", Float, **added()),
    Column("inp_ms", Float, **added()),
    Column("fcp_ms", Float, **added()),
    Column("ttfb_ms", Float, **added()),
    Index("ix_steps_time", "started_epoch", "probe", "name", "status", "duration_bin"),
)


Failure = Table(
    "failures",
    METADATA,
    Column("journey_id", _fk("journeys.id"), primary_key=True),
    Column("step", String(200), nullable=False),
    Column("action", String(200)),
    Column("locator", Text),
    Column("error_type", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("url", Text, default="", nullable=False),
    Column("document_status", Integer),
    Column("page_title", Text, default="", nullable=False),
    Column("page_text", Text, default="", nullable=False),
    Column("console_errors", JSON, default=list, nullable=False),
    Column("screenshot", Text),
    Column("trace", Text),
    Column("cause_category", String(50), index=True),
    Column("cause_detail", String(200)),
    Column("cause_dependency", String(200), index=True),
    Column("cause_rule", String(200)),
    Column("cause_evidence", Text),
    Column("cause_summary", Text),
)


Request = Table(
    "requests",
    METADATA,
    Column("journey_id", _fk("journeys.id"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("failed", Boolean, nullable=False),  # from FailurePoint.failed_requests
    Column("method", String(16), nullable=False),
    Column("url", Text, nullable=False),
    Column("resource_type", String(40), default="", nullable=False),
    Column("status", Integer),
    Column("failure", Text),
    Column("start_ms", Float, default=0.0, nullable=False),
    Column("duration_ms", Float),
    Column("step", String(200)),
    Column("body_excerpt", Text),
)


ArtefactRow = Table(
    "artefacts",
    METADATA,
    Column("journey_id", _fk("journeys.id"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("path", Text, nullable=False),  # relative to the artefacts folder
    Column("bytes", BigInteger, default=0, nullable=False),
)


TABLES: tuple[Table, ...] = (Journey, JourneyJSON, Step, Failure, Request, ArtefactRow)  # parents first


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


def _columns(table: Table) -> set[str]:
    """The fields a table has columns for; the rest (newer or nested fields) live in JourneyJSON."""
    return set(table.columns.keys())


def rows(results: list[JourneyResult]) -> dict[Table, list[dict[str, Any]]]:
    """The journeys as table rows: queryable columns, steps, failures, requests, artefacts."""
    rows: dict[Table, list[dict[str, Any]]] = {t: [] for t in TABLES}
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
