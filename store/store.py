"""The results store: runs, journeys, steps, failures, requests and artefacts in SQL.

SQLite file by default (WAL, busy timeout, foreign keys; several processes may write at
once), any SQLAlchemy URL otherwise (PostgreSQL when many agents share results). The
full ``JourneyResult`` JSON is kept so ``journeys()`` round-trips exactly; the queryable
columns and the steps table exist so reports aggregate in SQL (see ``orderprobe.store.queries``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, create_engine, delete, event, func, insert, inspect, select
from sqlalchemy.exc import DBAPIError

from orderprobe.base.result import JourneyResult, Status
from orderprobe.store import migration
from orderprobe.store.schema import (  # noqa: F401  (the tables are part of this module's interface)
    METADATA,
    TABLES,
    ArtefactRow,
    Failure,
    Journey,
    JourneyJSON,
    Request,
    Run,
    RunController,
    RunShard,
    Step,
    epoch,
    utc_aware,
    utc_naive,
)
from orderprobe.store.schema import rows as schema_rows


class StoreSchemaError(RuntimeError):
    pass


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
    location: str = ""  # where it ran (the first shard's, for a sharded run)
    duration: timedelta | None = None
    shards: int | None = None  # a sharded run: how many shards it was split into
    shards_finished: list[int] = []  # which of them (1-based) have finished
    abandoned: bool = False  # its process died without an end (see ``orderprobe.store.liveness``)

    @property
    def missing_shards(self) -> list[int]:
        return [i for i in range(1, (self.shards or 0) + 1) if i not in self.shards_finished]

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


# How long a write waits for another writer. Transactions here last milliseconds; a lock held
# for seconds is someone's long transaction (a shell, a backup), and waiting on it journey after
# journey stalls the run for minutes: past this, the write fails and the journey is spooled.
# The URL's own ``?timeout=SECONDS`` (pysqlite's connect argument) sets another wait.
BUSY_TIMEOUT_MS = 10_000


def locked(exc: BaseException) -> bool:
    """The database was locked by another writer for longer than its busy timeout."""
    return "database is locked" in str(exc)


def _sqlite_setup(engine: Any, busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
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
        self.busy_s = 0.0  # how long a write waits for another writer (SQLite's busy timeout; 0: the server's)
        if self.engine.dialect.name == "sqlite":
            timeout = self.engine.url.query.get("timeout")
            self.busy_s = float(timeout) if isinstance(timeout, str) else BUSY_TIMEOUT_MS / 1000
            _sqlite_setup(self.engine, round(self.busy_s * 1000))
        self._create_tables()

    def _create_tables(self) -> None:
        if self._up_to_date():  # the usual case: no write, so a store busy with another writer opens at once
            return
        for attempt in range(3):
            try:
                with self.write() as conn:
                    METADATA.create_all(conn)
                    self._check_columns(conn)
                return
            except DBAPIError as exc:  # another process created them between our check and CREATE
                if attempt == 2 or locked(exc):  # a lock has been waited for already: once is enough
                    raise

    def _up_to_date(self) -> bool:
        """Every table and column is there (read only)."""
        wanted = METADATA.sorted_tables
        with self.read() as conn:
            # One catalog query for all the tables on PostgreSQL (a query per table cost every run ~0.1 s).
            found = inspect(conn).get_multi_columns(filter_names=[table.name for table in wanted])
        columns = {name: {c["name"] for c in cols} for (_schema, name), cols in found.items()}
        return all({c.name for c in table.columns} <= columns.get(table.name, set()) for table in wanted)

    def _check_columns(self, conn: Connection) -> None:
        """Columns added since (``orderprobe.store.migration``) are added to an older store; one that lacks
        any other column is refused clearly, not with a failing INSERT later."""
        for table, missing in migration.upgrade(conn, METADATA).items():
            if missing:
                raise StoreSchemaError(
                    f"results store {self.engine.url.render_as_string(hide_password=True)}: table {table!r} "
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
        shard: tuple[int, int] | None = None,
        host: str = "",
        location: str = "",
        pid: int | None = None,
        identity: str = "",
    ) -> None:
        """Open a run, or (another shard of it) join it: the run starts at its earliest shard.
        ``pid`` (on ``host``) is the controller's: if it dies without ``finish_run``, the next
        ``orderprobe.store.liveness.sweep`` on that host marks the run abandoned."""
        values = dict(target=target, matrix=matrix, labels=dict(labels or {}), command=command)
        with self.write() as conn:
            earlier = conn.scalar(select(Run.c.started_at).where(Run.c.id == run_id))
            if earlier is None:
                conn.execute(
                    insert(Run).values(id=run_id, started_at=utc_naive(started_at), location=location, **values)
                )
            else:
                first = min(earlier, utc_naive(started_at))
                conn.execute(Run.update().where(Run.c.id == run_id).values(started_at=first, **values))
            if shard is not None:
                conn.execute(delete(RunShard).where(RunShard.c.run_id == run_id, RunShard.c.shard == shard[0]))
                conn.execute(
                    insert(RunShard).values(
                        run_id=run_id, shard=shard[0], total=shard[1], host=host, started_at=utc_naive(started_at)
                    )
                )
            part = shard[0] if shard is not None else 0
            conn.execute(delete(RunController).where(RunController.c.run_id == run_id, RunController.c.shard == part))
            if pid is not None:
                conn.execute(
                    insert(RunController).values(run_id=run_id, shard=part, host=host, pid=pid, identity=identity)
                )

    def finish_run(
        self,
        run_id: str,
        *,
        finished_at: datetime,
        exit_code: int,
        shard: tuple[int, int] | None = None,
        recorded: bool = False,
    ) -> None:
        """Close a run; a shard closes its slice, and the run ends with its last shard (worst exit code).
        ``recorded``: this is the run's own end, as it wrote it (replayed from its spool): it did
        finish, so an abandoned mark made while the store could not hear it is dropped."""
        with self.write() as conn:
            watched = delete(RunController).where(
                RunController.c.run_id == run_id, RunController.c.shard == (shard[0] if shard is not None else 0)
            )
            # Nothing left to watch; an abandoned mark stays (the run did die) unless the run says it ended.
            conn.execute(watched if recorded else watched.where(RunController.c.abandoned_at.is_(None)))
            if shard is not None:
                conn.execute(
                    RunShard.update()
                    .where(RunShard.c.run_id == run_id, RunShard.c.shard == shard[0])
                    .values(finished_at=utc_naive(finished_at), exit_code=exit_code)
                )
                worst = conn.scalar(select(func.max(Run.c.exit_code)).where(Run.c.id == run_id))
                exit_code = max(exit_code, worst or 0)
                latest = conn.scalar(select(Run.c.finished_at).where(Run.c.id == run_id))
                finished_at = max(utc_aware(latest), finished_at) if latest else finished_at
            conn.execute(
                Run.update().where(Run.c.id == run_id).values(finished_at=utc_naive(finished_at), exit_code=exit_code)
            )

    def add_journey(self, result: JourneyResult) -> None:
        """Insert or replace one journey (idempotent on ``result.id``)."""
        self.add_journeys([result])

    def add_journeys(self, results: list[JourneyResult]) -> None:
        """Insert or replace several journeys in one transaction (batches; much faster on SQLite)."""
        results = list({r.id: r for r in results}.values())  # the last of duplicates wins
        with self.write() as conn:
            runs = {r.run_id: r for r in results}
            known = {i: site for i, site in conn.execute(select(Run.c.id, Run.c.location).where(Run.c.id.in_(runs)))}
            # A journey without a location (a crashed worker's, an older spool's) ran where its run did.
            results = [r if r.location else r.model_copy(update={"location": known.get(r.run_id, "")}) for r in results]
            for run_id, r in runs.items():
                if run_id not in known:  # a journey may arrive before (or without) start_run: keep it
                    stub = dict(started_at=utc_naive(r.started_at), target=r.target, labels={}, command="")
                    stub["location"] = r.location
                    conn.execute(insert(Run).values(id=run_id, matrix=None, **stub))
            ids = [r.id for r in results]
            for table in reversed(TABLES):  # children first (foreign keys)
                key = Journey.c.id if table is Journey else table.c.journey_id
                conn.execute(delete(table).where(key.in_(ids)))
            rows = schema_rows(results)
            for table in TABLES:  # parents first (foreign keys)
                if rows[table]:
                    # Core executemany with bound parameters: one cached statement per table.
                    conn.execute(table.insert(), rows[table])

    def prune(self, *, ok_before: datetime, all_before: datetime) -> int:
        """Delete runs that started before ``ok_before`` with every journey ok, and every run
        before ``all_before`` (keep failures longer); their journeys, steps… go too. Returns runs deleted."""
        failed = select(Journey.c.run_id).where(Journey.c.ok.is_(False))
        with self.write() as conn:
            gone = conn.execute(delete(Run).where(Run.c.started_at < utc_naive(ok_before), Run.c.id.not_in(failed)))
            older = conn.execute(delete(Run).where(Run.c.started_at < utc_naive(all_before)))
        return (gone.rowcount or 0) + (older.rowcount or 0)

    # -- reading ---------------------------------------------------------------------

    def run(self, run_id: str) -> RunSummary | None:
        found = self._summaries(select(Run).where(Run.c.id == run_id))
        return found[0] if found else None

    def has_shard(self, run_id: str, shard: int) -> bool:
        with self.read() as conn:
            found = conn.scalar(select(RunShard.c.shard).where(RunShard.c.run_id == run_id, RunShard.c.shard == shard))
        return found is not None

    def runs(self, limit: int = 50, since: datetime | None = None) -> list[RunSummary]:
        query = select(Run).order_by(Run.c.started_at.desc(), Run.c.id.desc()).limit(limit)
        if since is not None:
            query = query.where(Run.c.started_at >= utc_naive(since))
        return self._summaries(query)

    def _summaries(self, query: Any) -> list[RunSummary]:
        with self.read() as conn:
            rows = conn.execute(query).all()
            ids = [row.id for row in rows]
            counts: dict[str, dict[str, int]] = {i: {} for i in ids}
            if ids:
                grouped = conn.execute(
                    select(Journey.c.run_id, Journey.c.status, func.count())
                    .where(Journey.c.run_id.in_(ids))
                    .group_by(Journey.c.run_id, Journey.c.status)
                )
                for run_id, status, n in grouped:
                    counts[run_id][status] = n
            shards: dict[str, tuple[int, list[int]]] = {}
            if ids:
                for part in conn.execute(select(RunShard).where(RunShard.c.run_id.in_(ids)).order_by(RunShard.c.shard)):
                    total, done = shards.get(part.run_id, (part.total, []))
                    shards[part.run_id] = (max(total, part.total), done + ([part.shard] if part.finished_at else []))
            dead = RunController.c.abandoned_at.is_not(None)
            abandoned = set(conn.scalars(select(RunController.c.run_id).where(RunController.c.run_id.in_(ids), dead)))
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
                location=row.location or "",
                duration=(row.finished_at - row.started_at) if row.finished_at else None,
                shards=shards[row.id][0] if row.id in shards else None,
                shards_finished=shards[row.id][1] if row.id in shards else [],
                abandoned=row.id in abandoned,
            )
            for row in rows
        ]

    def journeys(self, run_id: str) -> list[JourneyResult]:
        with self.read() as conn:
            data = conn.scalars(
                select(JourneyJSON.c.data)
                .join(Journey, Journey.c.id == JourneyJSON.c.journey_id)
                .where(Journey.c.run_id == run_id)
                .order_by(Journey.c.started_at, Journey.c.id)
            ).all()
        return [JourneyResult.model_validate_json(d) for d in data]

    def journey(self, journey_id: str) -> JourneyResult | None:
        with self.read() as conn:
            data = conn.scalar(select(JourneyJSON.c.data).where(JourneyJSON.c.journey_id == journey_id))
        return JourneyResult.model_validate_json(data) if data else None

    def last_pass(self, probe: str, profile: str, before: datetime) -> JourneyResult | None:
        """The latest journey of ``probe`` × ``profile`` that reached its goal before ``before``."""
        with self.read() as conn:
            data = conn.scalar(
                select(JourneyJSON.c.data)
                .join(Journey, Journey.c.id == JourneyJSON.c.journey_id)
                .where(
                    Journey.c.probe == probe,
                    Journey.c.profile == profile,
                    Journey.c.status.in_(("passed", "degraded", "flaky")),
                    Journey.c.started_epoch < epoch(before),
                )
                .order_by(Journey.c.started_epoch.desc(), Journey.c.id.desc())
                .limit(1)
            )
        return JourneyResult.model_validate_json(data) if data else None

    def latest_run_id(self) -> str | None:
        with self.read() as conn:
            return conn.scalar(select(Run.c.id).order_by(Run.c.started_at.desc(), Run.c.id.desc()).limit(1))
