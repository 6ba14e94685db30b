"""Maintenance windows in the results store: recorded by the scheduler (and ``orderprobe schedule
mute``), read by the scheduler to hold alerts and by the trend report to leave them out of
availability. Times are epoch seconds; ``job`` "" means every job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from orderprobe.store.schema import Journey, Maintenance, Run
from orderprobe.store.store import Store


@dataclass(frozen=True)
class Period:
    id: int
    name: str
    job: str
    starts: datetime
    ends: datetime
    reason: str
    source: str
    after: str
    by: str

    @classmethod
    def of(cls, row: Maintenance) -> Period:
        return cls(row.id, row.name, row.job, _at(row.starts_epoch), _at(row.ends_epoch), row.reason, row.source,
                   row.after, row.by)  # fmt: skip


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def record(
    store: Store, name: str, job: str, starts: datetime, ends: datetime, *, reason: str = "", source: str = "schedule",
    after: str = "release", by: str = "",
) -> Period:  # fmt: skip
    """Add a window (an occurrence already recorded, same name, job and start, is returned as it is)."""
    row = dict(name=name, job=job, starts_epoch=int(starts.timestamp()), ends_epoch=int(ends.timestamp()),
               reason=reason, source=source, after=after, by=by)  # fmt: skip
    key = and_(Maintenance.c.name == name, Maintenance.c.job == job, Maintenance.c.starts_epoch == row["starts_epoch"])
    with store.read() as conn:
        found = conn.execute(select(Maintenance).where(key)).first()
    if found is None:
        try:
            with store.write() as conn:
                conn.execute(Maintenance.insert().values(**row))
        except IntegrityError:  # another agent recorded the same occurrence first
            pass
    with store.read() as conn:
        return Period.of(conn.execute(select(Maintenance).where(key)).one())  # type: ignore[arg-type]


def in_force(store: Store, job: str, at: datetime) -> list[Period]:
    """Windows covering ``job`` at ``at``, the longest-running first."""
    epoch = int(at.timestamp())
    query = select(Maintenance).where(
        Maintenance.c.starts_epoch <= epoch,
        Maintenance.c.ends_epoch > epoch,
        or_(Maintenance.c.job == "", Maintenance.c.job == job),
    )
    with store.read() as conn:
        rows = conn.execute(query.order_by(Maintenance.c.ends_epoch.desc())).all()
    return [Period.of(r) for r in rows]  # type: ignore[arg-type]


def between(store: Store, since: int, until: int) -> list[Period]:
    """Windows overlapping [since, until) (epoch seconds), oldest first."""
    query = select(Maintenance).where(Maintenance.c.starts_epoch < until, Maintenance.c.ends_epoch > since)
    with store.read() as conn:
        rows = conn.execute(query.order_by(Maintenance.c.starts_epoch)).all()
    return [Period.of(r) for r in rows]  # type: ignore[arg-type]


def end(store: Store, job: str, at: datetime, source: str = "mute") -> int:
    """End the ``source`` windows of ``job`` in force at ``at`` now (``orderprobe schedule unmute``)."""
    epoch = int(at.timestamp())
    query = (
        update(Maintenance)
        .where(
            Maintenance.c.job == job,
            Maintenance.c.source == source,
            Maintenance.c.starts_epoch <= epoch,
            Maintenance.c.ends_epoch > epoch,
        )  # fmt: skip
        .values(ends_epoch=epoch)
    )
    with store.write() as conn:
        return conn.execute(query).rowcount or 0


def during() -> ColumnElement[bool]:
    """SQL: the journey (its query joins ``runs``) started inside a window of its run's job."""
    job = func.coalesce(Run.c.labels["job"].as_string(), literal(""))
    return exists().where(
        Maintenance.c.starts_epoch <= Journey.c.started_epoch,
        Maintenance.c.ends_epoch > Journey.c.started_epoch,
        or_(Maintenance.c.job == "", Maintenance.c.job == job),
    )
