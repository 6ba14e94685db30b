"""Aggregations over the whole history, done by the database (portable SQL, window functions).

The trend report reads tens of thousands of journeys; every function here returns rows
already grouped per time bucket, so Python only ever sees small results. Time buckets are
integer divisions of ``journeys.started_epoch`` (shifted by the display time zone), which
SQLite and PostgreSQL compute alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, and_, case, cast, func, literal, literal_column, or_, select

from orderprobe.base.result import Status
from orderprobe.store import maintenance
from orderprobe.store.schema import Failure, Journey, Run, Step, bin_value
from orderprobe.store.store import Store


def run_location() -> ColumnElement[str]:
    """A run's ``location`` label (how runs said where they ran before ``--location``); "" when unlabelled."""
    return func.coalesce(Run.c.labels["location"].as_string(), literal(""))


def location() -> ColumnElement[str]:
    """Where a journey ran: its ``location`` column (``--location``), else its run's ``location``
    label (stored before journeys carried one), else "". The query must join ``runs``."""
    return func.coalesce(func.nullif(Journey.c.location, ""), run_location())


NICE_WIDTHS = (300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)


@dataclass(frozen=True)
class Window:
    since: int  # epoch seconds, inclusive
    until: int  # epoch seconds, exclusive
    width: int  # bucket width in seconds
    offset: int = 0  # UTC offset of the display time zone, so days start at local midnight
    # Filters: only these journeys, in every section (None: all). Location is the run's label.
    probe: str | None = None
    profile: str | None = None
    location: str | None = None

    @classmethod
    def choose(cls, since: int, until: int, offset: int = 0, max_buckets: int = 48) -> Window:
        span = max(until - since, 1)
        width = next((w for w in NICE_WIDTHS if span / w <= max_buckets), NICE_WIDTHS[-1])
        return cls(since, until, width, offset)

    def bucket(self, epoch: ColumnElement[int] = Journey.c.started_epoch) -> ColumnElement[Any]:
        # Numbers inline, not bound: PostgreSQL only matches a SELECT expression to its GROUP BY
        # twin when they are textually equal, and two bound parameters never are.
        return (epoch + literal_column(str(int(self.offset)), BigInteger)) // literal_column(
            str(int(self.width)), BigInteger
        )

    @property
    def first(self) -> int:
        return (self.since + self.offset) // self.width

    @property
    def count(self) -> int:
        return (self.until - 1 + self.offset) // self.width - self.first + 1

    def start_of(self, bucket: int) -> int:
        """Epoch seconds at which ``bucket`` begins."""
        return bucket * self.width - self.offset

    def where(self) -> ColumnElement[bool]:
        """The journeys in the window that pass the filters."""
        # A journey whose scenario did not happen says nothing of availability, incidents or causes.
        conditions = [
            Journey.c.started_epoch >= self.since,
            Journey.c.started_epoch < self.until,
            Journey.c.status != Status.NOT_EXERCISED.value,
        ]
        if self.probe is not None:
            conditions.append(Journey.c.probe == self.probe)
        if self.profile is not None:
            conditions.append(Journey.c.profile == self.profile)
        if self.location is not None:  # as ``location()``, without joining runs
            labelled = Journey.c.run_id.in_(select(Run.c.id).where(run_location() == self.location))
            conditions.append(or_(Journey.c.location == self.location, and_(Journey.c.location == "", labelled)))
        return and_(*conditions)

    def step_where(self) -> ColumnElement[bool]:
        """The steps of those journeys (steps carry their probe and start; profile and location
        are the journey's)."""
        conditions = [Step.c.started_epoch >= self.since, Step.c.started_epoch < self.until]
        if self.probe is not None:
            conditions.append(Step.c.probe == self.probe)
        if self.profile is not None or self.location is not None:
            conditions.append(Step.c.journey_id.in_(select(Journey.c.id).where(self.where())))
        return and_(*conditions)

    @property
    def filtered(self) -> bool:
        return (self.probe, self.profile, self.location) != (None, None, None)


def totals(store: Store, w: Window) -> tuple[int, int, int]:
    """(runs, journeys, journeys that met their expectation) in the window."""
    query = select(
        func.count(func.distinct(Journey.c.run_id)), func.count(), func.sum(case((Journey.c.ok, 1), else_=0))
    ).where(w.where())
    with store.read() as conn:
        runs, journeys, ok = conn.execute(query).one()
    return runs or 0, journeys or 0, ok or 0


def in_maintenance(store: Store, w: Window) -> tuple[int, int]:
    """(journeys, of them ok) in the window that ran inside a maintenance window of their job."""
    query = (
        select(func.count(), func.sum(case((Journey.c.ok, 1), else_=0)))
        .join(Run, Run.c.id == Journey.c.run_id)
        .where(w.where(), maintenance.during())
    )
    with store.read() as conn:
        journeys, ok = conn.execute(query).one()
    return journeys or 0, ok or 0


def availability(store: Store, w: Window) -> list[Any]:
    """Rows (probe, profile, location, bucket, total, ok); location: see ``location()``. Journeys run
    inside a maintenance window of their job are left out."""
    b = w.bucket().label("b")
    where = location().label("location")
    query = (
        select(Journey.c.probe, Journey.c.profile, where, b, func.count(), func.sum(case((Journey.c.ok, 1), else_=0)))
        .join(Run, Run.c.id == Journey.c.run_id)
        .where(w.where(), ~maintenance.during())
        .group_by(Journey.c.probe, Journey.c.profile, where, b)
    )
    with store.read() as conn:
        return list(conn.execute(query))


def emulation_modes(store: Store, w: Window) -> list[Any]:
    """Rows (probe, profile, location, emulation, n): how each series' network was emulated."""
    where = location().label("location")
    query = (
        select(Journey.c.probe, Journey.c.profile, where, Journey.c.emulation, func.count())
        .join(Run, Run.c.id == Journey.c.run_id)
        .where(w.where())
        .group_by(Journey.c.probe, Journey.c.profile, where, Journey.c.emulation)
    )
    with store.read() as conn:
        return list(conn.execute(query))


def step_percentiles(store: Store, w: Window) -> list[tuple[str, str, int, int, float, float]]:
    """Rows (probe, step, bucket, n, p50, p95) over steps that did not fail.

    The database counts steps per 1%-wide duration bin (a plain GROUP BY; sorting every
    step for an exact rank cost 4× more); nearest rank is then read off the small histogram,
    within 0.5% of the exact value.
    """
    b = w.bucket(Step.c.started_epoch).label("b")
    query = (
        select(Step.c.probe, Step.c.name, b, Step.c.duration_bin, func.count())
        .where(w.step_where(), Step.c.status != "failed")
        .group_by(Step.c.probe, Step.c.name, b, Step.c.duration_bin)
        .order_by(Step.c.probe, Step.c.name, b, Step.c.duration_bin)
    )
    with store.read() as conn:
        histogram = conn.execute(query).all()
    out = []
    for (probe, step, bucket), rows in groupby(histogram, key=lambda r: (r[0], r[1], r[2])):
        bins = [(r[3], r[4]) for r in rows]
        n = sum(count for _, count in bins)
        out.append((probe, step, bucket, n, _rank(bins, n, 50), _rank(bins, n, 95)))
    return out


def step_order(store: Store, w: Window) -> dict[tuple[str, str], float]:
    """(probe, step) → its mean position in the journey, to list steps in the order shoppers meet them."""
    query = (
        select(Step.c.probe, Step.c.name, func.avg(Step.c.idx))
        .where(w.step_where())
        .group_by(Step.c.probe, Step.c.name)
    )
    with store.read() as conn:
        return {(probe, name): float(idx) for probe, name, idx in conn.execute(query)}


def _rank(bins: list[tuple[int, int]], n: int, p: int) -> float:
    """Nearest-rank percentile from (bin, count) pairs in bin order."""
    wanted = (n * p + 99) // 100
    seen = 0
    for duration_bin, count in bins:
        seen += count
        if seen >= wanted:
            return round(bin_value(duration_bin), 1)
    raise AssertionError("unreachable: ranks stop at n")


# Web Vitals are grouped in steps of these sizes (10 ms, 0.001 CLS): a percentile is within one step.
VITAL_STEPS = {"lcp_ms": 10.0, "cls": 0.001, "inp_ms": 4.0}


def step_vitals(store: Store, w: Window) -> dict[tuple[str, str, str], dict[str, tuple[int, float, float]]]:
    """(probe, profile, step) → {vital: (n, p50, p95)} over steps that did not fail, nearest rank
    read off a histogram the database counts (as for step times)."""
    out: dict[tuple[str, str, str], dict[str, tuple[int, float, float]]] = {}
    for column, size in VITAL_STEPS.items():
        value = Step.c[column]
        bucket = cast(value / size, Integer).label("v")
        query = (
            select(Step.c.probe, Journey.c.profile, Step.c.name, bucket, func.count())
            .join(Journey, Journey.c.id == Step.c.journey_id)
            .where(w.step_where(), Step.c.status != "failed", value.is_not(None))
            .group_by(Step.c.probe, Journey.c.profile, Step.c.name, bucket)
            .order_by(Step.c.probe, Journey.c.profile, Step.c.name, bucket)
        )
        with store.read() as conn:
            histogram = conn.execute(query).all()
        for key, rows in groupby(histogram, key=lambda r: (r[0], r[1], r[2])):
            bins = [(r[3], r[4]) for r in rows]
            n = sum(count for _, count in bins)
            p50, p95 = (_nearest(bins, n, p) * size for p in (50, 95))
            out.setdefault(key, {})[column] = (n, round(p50, 4), round(p95, 4))
    return out


def _nearest(bins: list[tuple[int, int]], n: int, p: int) -> int:
    wanted, seen = (n * p + 99) // 100, 0
    for value, count in bins:
        seen += count
        if seen >= wanted:
            return value
    raise AssertionError("unreachable: ranks stop at n")


def runs(store: Store, w: Window) -> dict[str, tuple[int, int]]:
    """run id → (journeys, journeys that missed their expectation) among the filtered journeys."""
    query = (
        select(Journey.c.run_id, func.count(), func.sum(case((Journey.c.ok, 0), else_=1)))
        .where(w.where())
        .group_by(Journey.c.run_id)
    )
    with store.read() as conn:
        return {run_id: (n, bad or 0) for run_id, n, bad in conn.execute(query)}


def choices(store: Store, w: Window) -> tuple[list[str], list[str], list[str]]:
    """Probes, profiles and locations with journeys in the window (filters ignored): what a
    filter may name."""
    query = (
        select(Journey.c.probe, Journey.c.profile, location())
        .join(Run, Run.c.id == Journey.c.run_id)
        .where(Journey.c.started_epoch >= w.since, Journey.c.started_epoch < w.until)
        .distinct()
    )
    with store.read() as conn:
        rows = conn.execute(query).all()
    return sorted({r[0] for r in rows}), sorted({r[1] for r in rows}), sorted({r[2] for r in rows if r[2]})


def failures_by_cause(store: Store, w: Window) -> list[Any]:
    """Rows (bucket, category, failures)."""
    b = w.bucket().label("b")
    category = func.coalesce(Journey.c.cause_category, literal("unknown")).label("category")
    query = select(b, category, func.count()).where(w.where(), Journey.c.ok.is_(False)).group_by(b, category)
    with store.read() as conn:
        return list(conn.execute(query))


def dependencies(store: Store, w: Window) -> list[Any]:
    """Rows (dependency, bucket, failures, last failure epoch) for failures blamed on a named third party."""
    b = w.bucket().label("b")
    query = (
        select(Journey.c.cause_dependency, b, func.count(), func.max(Journey.c.started_epoch))
        .where(w.where(), Journey.c.ok.is_(False), Journey.c.cause_dependency.is_not(None))
        .group_by(Journey.c.cause_dependency, b)
    )
    with store.read() as conn:
        return list(conn.execute(query))


def transitions(store: Store, w: Window) -> list[Any]:
    """Journeys where a probe × profile × location series changed state (pass → fail or fail → pass), in order.

    Each row also carries ``fails``: the running count of failing journeys in its series,
    so the number of failing runs in an outage is a subtraction, not a scan.
    """
    # A series is one probe × profile at one location: two agents probing the same path from two
    # places must not read as failing and recovering every few minutes as their runs interleave.
    where = location()
    series = dict(
        partition_by=(Journey.c.probe, Journey.c.profile, where), order_by=(Journey.c.started_epoch, Journey.c.id)
    )
    inner = (
        select(
            Journey.c.id,
            Journey.c.run_id,
            Journey.c.probe,
            Journey.c.profile,
            Journey.c.started_epoch,
            Journey.c.duration_ms,
            Journey.c.ok,
            Journey.c.cause_category,
            Journey.c.cause_detail,
            func.lag(Journey.c.ok).over(**series).label("prev_ok"),
            func.lag(Journey.c.started_epoch).over(**series).label("prev_epoch"),
            func.sum(case((Journey.c.ok, 0), else_=1)).over(**series).label("fails"),
            func.sum(case((Journey.c.ok, 0), else_=1))
            .over(partition_by=(Journey.c.probe, Journey.c.profile, where))
            .label("series_fails"),
            where.label("location"),
        )
        .join(Run, Run.c.id == Journey.c.run_id)
        .where(w.where())
        .subquery()
    )
    c = inner.c
    query = (
        select(inner)
        .where(or_(and_(c.prev_ok.is_(None), c.ok.is_(False)), c.prev_ok != c.ok))
        .order_by(c.probe, c.profile, c.location, c.started_epoch, c.id)
    )
    with store.read() as conn:
        return list(conn.execute(query))


def cadence(store: Store, w: Window) -> dict[tuple[str, str, str], tuple[int, int, float | None]]:
    """Per probe × profile × location series: (journeys, last start epoch, mean gap between starts
    in seconds; None for a single journey). Whether a series that ended failing is still being run."""
    where = location()
    query = (
        select(
            Journey.c.probe,
            Journey.c.profile,
            where,
            func.count(),
            func.min(Journey.c.started_epoch),
            func.max(Journey.c.started_epoch),
        )
        .join(Run, Run.c.id == Journey.c.run_id)
        .where(w.where())
        .group_by(Journey.c.probe, Journey.c.profile, where)
    )
    with store.read() as conn:
        rows = list(conn.execute(query))
    return {
        (probe, profile, place or ""): (n, last, (last - first) / (n - 1) if n > 1 else None)
        for probe, profile, place, n, first, last in rows
    }


def latest_failures(store: Store, w: Window) -> list[Any]:
    """The most recent failing journey of each cause (category, detail), with how often that cause failed."""
    kind = (Journey.c.cause_category, Journey.c.cause_detail)
    inner = (
        select(
            Journey.c.id,
            Journey.c.run_id,
            Journey.c.probe,
            Journey.c.profile,
            Journey.c.status,
            Journey.c.started_epoch,
            Journey.c.cause_category,
            Journey.c.cause_detail,
            Journey.c.failed_step,
            func.row_number()
            .over(partition_by=kind, order_by=(Journey.c.started_epoch.desc(), Journey.c.id.desc()))
            .label("rn"),
            func.count().over(partition_by=kind).label("n"),
            location().label("location"),
        )
        .join(Run, Run.c.id == Journey.c.run_id)
        .where(w.where(), Journey.c.ok.is_(False))
        .subquery()
    )
    query = (
        select(inner, Failure.c.cause_summary, Failure.c.message)
        .outerjoin(Failure, Failure.c.journey_id == inner.c.id)
        .where(inner.c.rn == 1)
        .order_by(inner.c.started_epoch.desc())
    )
    with store.read() as conn:
        return list(conn.execute(query))
