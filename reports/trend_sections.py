"""The trend report's sections, one builder each: a function of the ``Scope`` (the store, the
filtered window and its bucket labels, the language and time zone) to what its part of the
page shows. ``orderprobe.reports.trend.context`` only puts them together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from orderprobe.base.result import Status
from orderprobe.probes import vitals
from orderprobe.reports import charts, html, i18n
from orderprobe.store import maintenance, queries
from orderprobe.store.queries import Window
from orderprobe.store.store import Store

MAX_OUTAGES = 100  # most recent first; a flapping probe must not bury the page
RECENT_RUNS = 20  # linked from the page (and written by the command)


@dataclass(frozen=True)
class Scope:
    store: Store
    w: Window
    labels: list[str]  # one per bucket
    lang: str
    tz: tzinfo | None


@dataclass
class HeatCell:
    x: int
    cls: str
    title: str


@dataclass
class AvailabilityRow:
    probe: str
    profile: str
    location: str
    parts: list[str]
    cells: list[HeatCell]
    total: int
    availability: float | None
    emulation: str = ""  # "packet", "cdp", or both with counts when a series changed mode


@dataclass
class StepRow:
    probe: str
    step: str
    n: int
    chart: charts.LineChart
    p50: float | None  # latest bucket's
    p95: float | None


@dataclass
class RunLink:
    id: str
    location: str
    when: str
    total: int
    failed: int
    link: str


@dataclass
class DependencyRow:
    name: str
    failures: int
    last_seen: str
    cells: list[HeatCell]


@dataclass
class Outage:
    probe: str
    location: str
    parts: list[str]
    began: str
    ttd: str
    recovered: str | None
    ttr: str | None
    failing_runs: int
    # open: failing at its series' last journey and the series still runs on its usual interval;
    # not_rerun: the series was not run again (a one-off run, a job stopped or changed), so nothing
    # says it goes on or ended; recovered: a later journey of the series met its expectation.
    state: str
    last_run: str  # when its series last ran
    cause: str
    link: str
    run_id: str


@dataclass
class LatestFailure:
    category: str
    label: str
    detail: str
    count: int
    when: str
    probe: str
    location: str
    parts: list[str]
    step: str
    summary: str
    link: str
    run_id: str
    colour: str
    detail_label: str = ""


@dataclass
class VitalCell:
    p50: str
    p95: str
    rating: str  # of the p95, by Google's thresholds


@dataclass
class VitalsRow:
    probe: str
    profile: str
    step: str
    n: int
    cells: dict[str, VitalCell]  # LCP, CLS, INP → p50 / p95; absent: never measured


@dataclass
class MaintenanceBand:
    """A maintenance window shaded over the strips (x and width in strip units: 10 per bucket)."""

    x: float
    width: float
    name: str
    job: str
    when: str
    reason: str


def _when(epoch: int, tz: tzinfo | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).astimezone(tz).strftime("%m-%d %H:%M")


def _link(run_id: str, journey_id: str, lang: str) -> str:
    return f"{html.run_report_name(run_id, lang)}#{html.anchor(journey_id)}"


def _modes(counts: dict[str, int]) -> str:
    """ "packet" when a series used one mode; "packet 8 · cdp 2" when it changed (compare with care)."""
    if len(counts) == 1:
        return next(iter(counts))
    return " · ".join(f"{mode} {n}" for mode, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def _not_ok(counts: dict[str, int]) -> int:
    return sum(n for status, n in counts.items() if not Status(status).ok)


def _strip(w: Window, labels: list[str], ratio: dict[int, tuple[int, int]]) -> list[HeatCell]:
    """One heat cell per bucket; ``ratio[bucket] = (good, total)``."""
    cells = []
    for i in range(w.count):
        good, total = ratio.get(w.first + i, (0, 0))
        share = good / total if total else None
        title = f"{labels[i]} · {html.percent(share)} ({good}/{total})" if total else labels[i]
        cells.append(HeatCell(i * 10, charts.heat_class(share), title))
    return cells


def _rows(w: Window, labels: list[str], series: dict[tuple[str, str, str], dict[int, tuple[int, int]]]) -> list:
    rows = []
    for (probe, profile, location), ratio in series.items():
        good = sum(g for g, _ in ratio.values())
        total = sum(n for _, n in ratio.values())
        parts = profile.split("/") if profile else []
        rows.append(AvailabilityRow(probe, profile, location, parts, _strip(w, labels, ratio), total, good / total))
    rows.sort(key=lambda r: (r.availability, r.probe, r.profile, r.location))  # the rows to look at come first
    return rows


# A series that ended failing is still "open" while it keeps its usual interval; after this many
# intervals without a run it is "not re-run" (no later run says whether the failure went on).
STALE_INTERVALS = 3


def _outages(store: Store, w: Window, lang: str, tz: tzinfo | None) -> list[Outage]:
    t = i18n.texts(lang)
    runs = queries.cadence(store, w)
    now = w.until - 1  # the window ends now (exclusive, one second on)
    out: list[Outage] = []
    opened: Any = None

    def ended_failing(first: Any) -> Outage:
        n, last, gap = runs.get((first.probe, first.profile, first.location or ""), (1, first.started_epoch, None))
        still_run = gap is not None and now - last <= STALE_INTERVALS * max(gap, 1.0)
        return _outage(first, None, lang, tz, t, state="open" if still_run else "not_rerun", last=last)

    for row in queries.transitions(store, w):
        if opened is not None and (row.probe, row.profile, row.location) != (
            opened.probe,
            opened.profile,
            opened.location,
        ):
            out.append(ended_failing(opened))
            opened = None
        if not row.ok and opened is None:
            opened = row
        elif row.ok and opened is not None:
            out.append(_outage(opened, row, lang, tz, t, state="recovered", last=None))
            opened = None
    if opened is not None:
        out.append(ended_failing(opened))
    return sorted(out, key=lambda i: i.began, reverse=True)


def _outage(
    first: Any, recovery: Any, lang: str, tz: tzinfo | None, t: dict[str, str], *, state: str, last: int | None
) -> Outage:
    detected = first.started_epoch + first.duration_ms / 1000
    # Worst case: the outage began right after the last passing run started.
    ttd = html.span(detected - first.prev_epoch) if first.prev_epoch is not None else "–"
    fails = (recovery.fails if recovery is not None else first.series_fails) - first.fails + 1
    cause = i18n.cause_label(lang, first.cause_category)
    return Outage(
        probe=first.probe,
        location=first.location or "",
        parts=first.profile.split("/"),
        began=_when(first.started_epoch, tz),
        ttd=ttd,
        recovered=_when(recovery.started_epoch, tz) if recovery is not None else None,
        ttr=html.span(recovery.started_epoch - first.started_epoch) if recovery is not None else None,
        failing_runs=fails,
        state=state,
        last_run=_when(last, tz) if last is not None else "",
        cause=cause + (f" · {i18n.detail_label(lang, first.cause_detail)}" if first.cause_detail else ""),
        link=_link(first.run_id, first.id, lang),
        run_id=first.run_id,
    )


def _bands(store: Store, w: Window, tz: tzinfo | None) -> list[MaintenanceBand]:
    origin, unit = w.start_of(w.first), w.width / 10
    bands = []
    for p in maintenance.between(store, w.since, w.until):
        starts, ends = max(p.starts.timestamp(), w.since), min(p.ends.timestamp(), w.until)
        when = f"{html.local(p.starts, tz, '%m-%d %H:%M')} – {html.local(p.ends, tz, '%m-%d %H:%M')}"
        bands.append(MaintenanceBand(round((starts - origin) / unit, 2), round(max((ends - starts) / unit, 1), 2),
                                     p.name, p.job, when, p.reason))  # fmt: skip
    return bands


def _vital_text(key: str, value: float) -> str:
    return f"{value:.3f}" if key == "cls" else html.seconds(value) if value >= 1000 else f"{value:.0f} ms"


def _vitals(found: dict[tuple[str, str, str], dict[str, tuple[int, float, float]]], order: dict) -> list[VitalsRow]:
    rows = []
    for (probe, profile, step), by in sorted(
        found.items(), key=lambda kv: (kv[0][0], kv[0][1], order.get((kv[0][0], kv[0][2]), 0))
    ):
        cells = {
            vitals.LABELS[key]: VitalCell(_vital_text(key, p50), _vital_text(key, p95), vitals.rating(key, p95))
            for key, (_, p50, p95) in by.items()
        }
        rows.append(VitalsRow(probe, profile, step, max(n for n, _, _ in by.values()), cells))
    return rows


# ---------------------------------------------------------------- sections


@dataclass
class Availability:
    rows: list[AvailabilityRow]  # worst availability first
    by_location: list[AvailabilityRow]  # one series per location, every probe × profile together
    bucket_totals: dict[int, int]  # journeys per bucket, every series


def availability(s: Scope) -> Availability:
    series: dict[tuple[str, str, str], dict[int, tuple[int, int]]] = {}
    sites: dict[tuple[str, str, str], dict[int, tuple[int, int]]] = {}  # per location, all probes
    bucket_totals: dict[int, int] = {}
    for probe, profile, location, bucket, total, good in queries.availability(s.store, s.w):
        for key, into in (((probe, profile, location or ""), series), (("", "", location or ""), sites)):
            known = into.setdefault(key, {}).get(bucket, (0, 0))
            into[key][bucket] = (known[0] + (good or 0), known[1] + total)
        bucket_totals[bucket] = bucket_totals.get(bucket, 0) + total
    rows = _rows(s.w, s.labels, series)
    modes: dict[tuple[str, str, str], dict[str, int]] = {}
    for key_probe, key_profile, key_location, mode, n in queries.emulation_modes(s.store, s.w):
        if mode:  # journeys stored before the mode was recorded say nothing
            modes.setdefault((key_probe, key_profile, key_location or ""), {})[mode] = n
    for row in rows:
        row.emulation = _modes(modes.get((row.probe, row.profile, row.location), {}))
    by_location = _rows(s.w, s.labels, sites) if len(sites) > 1 or any(site for _, _, site in sites) else []
    return Availability(rows, by_location, bucket_totals)


def steps(s: Scope, order: dict[tuple[str, str], int]) -> list[tuple[str, list[StepRow]]]:
    """p50 / p95 over time per probe, its steps in journey order."""
    w, labels = s.w, s.labels
    timings: dict[tuple[str, str], dict[int, tuple[int, float, float]]] = {}
    for probe, step, bucket, n, p50, p95 in queries.step_percentiles(s.store, w):
        timings.setdefault((probe, step), {})[bucket] = (n, p50, p95)
    by_probe: dict[str, list[StepRow]] = {}
    # Step charts start at the first bucket with any step timed: a week's axis for a day of data
    # would leave each chart a dot on an empty plot.
    first = min((b for by_bucket in timings.values() for b in by_bucket), default=w.first) - w.first
    for (probe, step), by_bucket in sorted(timings.items(), key=lambda kv: (kv[0][0], order.get(kv[0], 0), kv[0][1])):
        p50s = [by_bucket.get(w.first + i, (0, None, None))[1] for i in range(first, w.count)]
        p95s = [by_bucket.get(w.first + i, (0, None, None))[2] for i in range(first, w.count)]
        n = sum(v[0] for v in by_bucket.values())
        chart = charts.line_chart({"p95": p95s, "p50": p50s}, labels[first:])
        last50 = next((v for v in reversed(p50s) if v is not None), None)
        last95 = next((v for v in reversed(p95s) if v is not None), None)
        by_probe.setdefault(probe, []).append(StepRow(probe, step, n, chart, last50, last95))
    return list(by_probe.items())


def recent_runs(s: Scope) -> list[RunLink]:
    """The latest runs; filtered, only runs with such journeys, with their counts."""
    w = s.w
    mine = queries.runs(s.store, w) if w.filtered else {}  # runs with filtered journeys: their counts
    recent = [
        RunLink(
            r.id,
            r.location or str(r.labels.get("location") or ""),
            html.local(r.started_at, s.tz, "%m-%d %H:%M"),
            *(mine[r.id] if w.filtered else (r.total, _not_ok(r.counts))),
            "",
        )
        for r in s.store.runs(limit=RECENT_RUNS if not w.filtered else 500, since=datetime.fromtimestamp(w.since, UTC))
        if r.started_at.timestamp() < w.until and (not w.filtered or r.id in mine)
    ][:RECENT_RUNS]
    for r in recent:
        r.link = html.run_report_name(r.id, s.lang)
    return recent


@dataclass
class Causes:
    columns: charts.Columns
    totals: list[tuple[str, str, int, str]]  # (category, label, failures, colour), most first


def causes(s: Scope) -> Causes:
    by_cause: dict[str, list[int]] = {}
    for bucket, category, n in queries.failures_by_cause(s.store, s.w):
        by_cause.setdefault(category, [0] * s.w.count)[bucket - s.w.first] += n
    by_cause = dict(sorted(by_cause.items(), key=lambda kv: -sum(kv[1])))
    totals = [
        (k, i18n.cause_label(s.lang, k), sum(v), charts.CAUSE_COLOURS.get(k, "#9ca3af")) for k, v in by_cause.items()
    ]
    columns = charts.stacked_columns(by_cause, s.labels, {k: label for k, label, _, _ in totals})
    return Causes(columns, totals)


def dependencies(s: Scope, bucket_totals: dict[int, int]) -> list[DependencyRow]:
    """Each named third party: its failures over time against every journey in the bucket."""
    deps: dict[str, dict[int, tuple[int, int]]] = {}
    last_seen: dict[str, int] = {}
    for name, bucket, n, last in queries.dependencies(s.store, s.w):
        total = bucket_totals.get(bucket, n)
        deps.setdefault(name, {})[bucket] = (total - n, total)
        last_seen[name] = max(last_seen.get(name, 0), last)
    return [
        DependencyRow(
            name,
            sum(total - good for good, total in ratio.values()),
            _when(last_seen[name], s.tz),
            _strip(s.w, s.labels, ratio | {b: (n, n) for b, n in bucket_totals.items() if b not in ratio}),
        )
        for name, ratio in sorted(deps.items())
    ]


def latest_failures(s: Scope) -> list[LatestFailure]:
    lang = s.lang
    return [
        LatestFailure(
            category=row.cause_category or "unknown",
            label=i18n.cause_label(lang, row.cause_category),
            detail=row.cause_detail or "",
            count=row.n,
            when=_when(row.started_epoch, s.tz),
            probe=row.probe,
            location=row.location or "",
            parts=row.profile.split("/"),
            step=row.failed_step or "",
            summary=html.scrub(i18n.summary(row.cause_summary or (row.message or "").split("\n")[0], lang)),
            link=_link(row.run_id, row.id, lang),
            run_id=row.run_id,
            colour=charts.CAUSE_COLOURS.get(row.cause_category or "unknown", "#9ca3af"),
            detail_label=i18n.detail_label(lang, row.cause_detail),
        )
        for row in queries.latest_failures(s.store, s.w)
    ]


def outages(s: Scope) -> list[Outage]:
    return _outages(s.store, s.w, s.lang, s.tz)[:MAX_OUTAGES]


def step_vitals(s: Scope, order: dict[tuple[str, str], int]) -> list[VitalsRow]:
    return _vitals(queries.step_vitals(s.store, s.w), order)


def maintenance_bands(s: Scope) -> list[MaintenanceBand]:
    return _bands(s.store, s.w, s.tz)
