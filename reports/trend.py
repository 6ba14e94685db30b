"""The trend report (on-call, managers): how checkout has been doing over a window.

Availability per probe × profile over time, p50 / p95 per step, failures by cause,
third-party dependency health, each outage's time to detect and to recover (an outage: a
series' first failing run to its next pass; "incident" is the scheduler's alerting word), and the
latest failure of each kind linked to its run report. All aggregation is SQL
(``orderprobe.store.queries``); this module only shapes the small results for the template.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from orderprobe.reports import charts, html
from orderprobe.reports import trend_sections as sections
from orderprobe.reports.trend_sections import (
    AvailabilityRow,
    DependencyRow,
    LatestFailure,
    MaintenanceBand,
    Outage,
    RunLink,
    StepRow,
    VitalsRow,
)
from orderprobe.store import queries
from orderprobe.store.queries import Window
from orderprobe.store.store import Store


@dataclass
class TrendContext:
    since: str
    until: str
    bucket: str
    runs: int
    journeys: int
    availability: float | None
    cells: int  # buckets per strip (SVG width / 10)
    ticks: list[tuple[float, str]]
    rows: list[AvailabilityRow]  # worst availability first
    by_location: list[AvailabilityRow]  # one series per location, every probe × profile together
    steps: list[tuple[str, list[StepRow]]]  # per probe, steps in journey order
    probes: list[str]  # for the filters
    profiles: list[str]
    locations: list[str]
    recent_runs: list[RunLink]
    causes: charts.Columns
    cause_totals: list[tuple[str, str, int, str]]  # (category, label, failures, colour)
    dependencies: list[DependencyRow]
    outages: list[Outage]  # a series' failing spans (the scheduler's alerting incidents are another thing)
    latest: list[LatestFailure]
    linked_runs: list[str]  # run reports the links point at
    filters: list[tuple[str, str]] = field(default_factory=list)  # (probe | profile | location, value) applied
    since_arg: str = "7d"  # the window as `--since` takes it
    vitals: list[VitalsRow] = field(default_factory=list)  # per probe × profile × step
    maintenance: list[MaintenanceBand] = field(default_factory=list)
    in_maintenance: int = 0  # journeys run inside those windows: left out of availability


def parse_since(text: str) -> timedelta:
    """'90m', '24h', '7d', '2w' → timedelta; anything else is a clear ValueError."""
    units = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    text = text.strip().lower()
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit() or int(text[:-1]) == 0:
        raise ValueError(f"--since {text!r}: expected a number and a unit m/h/d/w, e.g. 90m, 24h, 7d, 2w")
    return timedelta(seconds=int(text[:-1]) * units[text[-1]])


def since_arg(since: timedelta) -> str:
    """The window as ``--since`` takes it: 7d, 36h, 90m (the largest unit that divides it)."""
    seconds = int(since.total_seconds())
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{max(seconds // 60, 1)}m"


def _label(w: Window, bucket: int, tz: tzinfo | None) -> str:
    moment = datetime.fromtimestamp(w.start_of(bucket), UTC).astimezone(tz)
    return moment.strftime("%m-%d" if w.width >= 86400 else "%m-%d %H:%M")


FILTERS = ("probe", "profile", "location")


def _window(store: Store, w: Window, chosen: dict[str, str | None]) -> Window:
    """The window with the filters applied; a value with no journeys in the window is refused,
    naming the ones there are (a typo must not look like a quiet week)."""
    wanted = {k: v for k, v in chosen.items() if v is not None}
    if not wanted:
        return w
    known = dict(zip(FILTERS, queries.choices(store, w), strict=True))
    for key, value in wanted.items():
        if value not in known[key]:
            there = ", ".join(known[key]) or "none"
            raise LookupError(f"no journeys with {key} {value!r} in this window ({key}s there: {there})")
    return replace(w, **wanted)


def context(
    store: Store,
    since: timedelta,
    lang: str,
    tz: tzinfo | None = None,
    now: datetime | None = None,
    *,
    probe: str | None = None,
    profile: str | None = None,
    location: str | None = None,
) -> TrendContext:
    """Every section over the journeys in the window that pass the filters (probe, profile, and
    location: where the journey ran, see ``queries.location``), computed in SQL."""
    now = now or datetime.now(UTC)
    until = int(now.timestamp()) + 1  # exclusive: a journey that started this very second counts
    offset = int((now.astimezone(tz).utcoffset() or timedelta()).total_seconds())
    w = Window.choose(until - 1 - int(since.total_seconds()), until, offset)
    w = _window(store, w, {"probe": probe, "profile": profile, "location": location})
    labels = [_label(w, w.first + i, tz) for i in range(w.count)]
    scope = sections.Scope(store, w, labels, lang, tz)
    runs, journeys, ok = queries.totals(store, w)
    muted, muted_ok = queries.in_maintenance(store, w)  # left out of availability
    order = queries.step_order(store, w)

    available = sections.availability(scope)
    rows = available.rows
    steps = sections.steps(scope, order)
    recent = sections.recent_runs(scope)
    causes = sections.causes(scope)
    latest = sections.latest_failures(scope)
    outages = sections.outages(scope)
    linked = sorted({f.run_id for f in latest} | {o.run_id for o in outages} | {r.id for r in recent})
    return TrendContext(
        since=datetime.fromtimestamp(w.since, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        until=datetime.fromtimestamp(w.until, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
        bucket=html.span(w.width),
        runs=runs,
        journeys=journeys,
        availability=(ok - muted_ok) / (journeys - muted) if journeys > muted else None,
        cells=w.count,
        ticks=charts.axis_ticks(labels, 100, 4),  # x in % of the strip's width
        rows=rows,
        by_location=available.by_location,
        steps=steps,
        probes=sorted({r.probe for r in rows} | {probe for probe, _ in steps}),
        profiles=sorted({r.profile for r in rows}),
        locations=sorted({r.location for r in rows if r.location}),
        recent_runs=recent,
        causes=causes.columns,
        cause_totals=causes.totals,
        dependencies=sections.dependencies(scope, available.bucket_totals),
        outages=outages,
        latest=latest,
        linked_runs=linked,
        filters=[(k, v) for k in FILTERS if (v := getattr(w, k)) is not None],
        since_arg=since_arg(since),
        vitals=sections.step_vitals(scope, order),
        maintenance=sections.maintenance_bands(scope),
        in_maintenance=muted,
    )


def render(
    store: Store,
    since: timedelta,
    lang: str,
    tz: tzinfo | None = None,
    now: datetime | None = None,
    **filters: str | None,
) -> tuple[str, TrendContext]:
    """``filters``: probe, profile, location (see ``context``)."""
    ctx = context(store, since, lang, tz, now, **filters)
    return html.render("trend.html", ctx, lang, tz), ctx


def file_name(lang: str, filters: list[tuple[str, str]]) -> str:
    """``trend.<lang>.html``; a filtered page has its own name (``trend-location-sh.en.html``), so
    it never replaces the whole picture."""
    return html.report_name("-".join(["trend", *(html.safe_name(f"{k}-{v}") for k, v in filters)]), lang)


def write(
    store: Store,
    since: timedelta,
    out_dir: Path,
    lang: str,
    tz: tzinfo | None = None,
    now: datetime | None = None,
    **filters: str | None,
) -> tuple[Path, TrendContext]:
    page, ctx = render(store, since, lang, tz, now, **filters)
    return html.write(page, out_dir, file_name(lang, ctx.filters)), ctx
