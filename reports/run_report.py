"""The run report: one run's verdict, the probe × profile grid, each journey's waterfall and,
for failures, the failure panel (where, why, evidence, screenshot, requests, trace).

``context()`` is a pure function of the stored results; ``render()`` feeds it to
``templates/run.html``; ``write()`` puts the file under the reports folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from statistics import median
from urllib.parse import quote, unquote

from orderprobe.base.result import Cause, FailurePoint, JourneyResult, RequestRecord, Status, StepStatus, Vitals
from orderprobe.probes import vitals
from orderprobe.probes.failed_action import parse_action
from orderprobe.probes.verdict import Verdict
from orderprobe.reports import charts, html, i18n
from orderprobe.reports.estimate import Estimate, estimate
from orderprobe.store.store import RunSummary, Store

# Worst first: the journeys a reader must look at come first in the list and the grid cell.
SEVERITY = [
    Status.FAILED,
    Status.ERROR,
    Status.FLAKY,
    Status.DEGRADED,
    Status.NOT_EXERCISED,
    Status.BLOCKED,
    Status.PASSED,
]
RANK = {s.value: i for i, s in enumerate(SEVERITY)}
WORTH_COMPARING = {Status.FAILED, Status.ERROR, Status.DEGRADED, Status.FLAKY}


@dataclass
class StepView:
    name: str
    status: str
    start_ms: float
    duration_ms: float
    budget_ms: float | None
    left: float  # % of the journey's total time, for the waterfall bar
    width: float
    taps: int
    text_inputs: int
    page_loads: int
    requests: int
    kb: int
    error: str
    conditions: str
    failed_requests: list[RequestView]
    vitals: dict[str, VitalView] = field(default_factory=dict)  # by name; only those measured
    a11y: dict | None = None  # --a11y: the step's axe-core scan (orderprobe.base.result.A11yScan as data)
    evidence_ms: float | None = None  # a failed step: time spent capturing its evidence (not in duration_ms)
    link: str = ""  # the emulated network's record of this step, when it did anything


@dataclass
class VisualView:
    """One ``journey.expect_screenshot``: its verdict against the baseline and, on a mismatch, the pictures."""

    step: str
    name: str
    status: str  # match | mismatch | new | updated | error
    diff_pixels: int
    ratio: str
    message: str
    baseline: str
    baseline_tail: str  # <probe>/<device-region-account>/<name>.png: the part that differs between checks
    expected: str = ""  # links to the kept images ("" when none were kept)
    actual: str = ""
    diff: str = ""


@dataclass
class VitalView:
    name: str  # LCP, CLS, INP, FCP, TTFB
    text: str  # "1.2 s", "0.031", "180 ms"
    rating: str  # good | needs-improvement | poor (Google's thresholds)


@dataclass
class RequestView:
    method: str
    url: str
    status: str
    bad: bool
    start_ms: float
    duration_ms: float | None
    step: str
    body: str
    left: float = 0.0  # % of the shown requests' time span, for the timing bar
    width: float = 0.0
    phases: list[tuple[str, float, float]] = field(default_factory=list)  # (phase, ms, % of this bar)


@dataclass
class CauseView:
    category: str
    label: str
    detail: str
    dependency: str
    rule: str
    evidence: str
    summary: str
    detail_label: str = ""  # the detail code in words (the code stays in a tooltip)


@dataclass
class FailureView:
    step: str
    surfaced_at: str  # the later step whose action failed, when the journey broke earlier
    first_request: RequestView | None  # the failed request that broke it
    capture_notes: list[str]  # how evidence was taken on a hard page, or why some is missing
    action: str
    locator: str
    url: str
    error_type: str
    message: str
    document_status: int | None
    page_title: str
    page_text: str
    screenshot: str | None  # data: URI
    screenshot_path: str | None
    trace_command: str | None
    trace_uri: str | None  # file: link to trace.zip (opens in the trace viewer via the command)
    har_uri: str | None  # file: link to the journey's HAR (probes/har.py)
    requests: list[RequestView]
    request_ticks: list[tuple[float, str]]
    failed_requests: list[RequestView]
    console_errors: list[str]
    link: str = ""  # the emulated network's record of the failing step


@dataclass
class Frame:
    """One picture of the filmstrip: the page as a step ended (or failed)."""

    step: str
    status: str
    end_ms: float
    href: str  # relative to the report's folder (file: URI when the report has no folder yet)


@dataclass
class AttemptView:
    attempt: int
    status: str
    failed_step: str
    cause: str
    message: str
    duration_ms: float


@dataclass
class VersusRow:
    step: str
    status: str  # this journey's step status ("" if this journey never reached it)
    this_ms: float | None
    pass_ms: float | None
    delta_ms: float | None


@dataclass
class Versus:
    run_id: str
    link: str
    when: str
    duration_ms: float
    rows: list[VersusRow]


@dataclass
class JourneyView:
    anchor: str
    probe: str
    profile: str
    status: str
    started: str
    duration_ms: float
    attempt: int
    worker: str
    expectation: str
    reason: str  # the probe author's words: shown as data
    failed_step: str
    cause: CauseView | None
    steps: list[StepView]
    ticks: list[tuple[float, str]]  # the waterfall's time axis: (% of the track, label)
    totals: dict[str, int]
    conditions: list[tuple[str, str]]
    conditions_summary: str  # one line: each profile part's title
    versus: Versus | None  # the last passing journey of the same probe × profile, step by step
    failure: FailureView | None
    attempts: list[AttemptView]
    filmstrip: list[Frame] = field(default_factory=list)  # --screenshots on
    trace_id: str = ""  # --otel-endpoint: the journey's OpenTelemetry trace id
    not_exercised: list[str] = field(default_factory=list)  # why the row's scenario did not happen
    visual: list[VisualView] = field(default_factory=list)  # journey.expect_screenshot, in step order


@dataclass
class Cell:
    status: str
    duration_ms: float
    anchor: str
    count: int  # journeys of this probe × profile in the run (repeats)


@dataclass
class GridRow:
    profile: str
    parts: list[str]  # device, network, region, account
    cells: list[Cell | None]


@dataclass
class RunContext:
    run: RunSummary
    when: str
    finished: str
    duration: str
    command: str
    labels: list[tuple[str, str]]
    total: int
    counts: list[tuple[str, int]]  # (status, journeys) in severity order
    verdict: Verdict
    probes: list[str]
    grid: list[GridRow]
    # A sparse matrix (presale: each scenario under its own profile) reads better per probe.
    by_probe: list[tuple[str, list[tuple[list[str], Cell]]]]
    causes: list[tuple[str, int]]  # (category, journeys) for the filter
    journeys: list[JourneyView] = field(default_factory=list)
    estimate: Estimate | None = None  # a population sweep's shares of failing checkouts (orderprobe.reports.estimate)
    cpu_off: int = 0  # journeys run without their device's CPU slowdown (--cpu-slowdown off)


INTERRUPTED = 2  # pytest's exit code for a run stopped by SIGINT / SIGTERM
SERVICE_STOPPED = 130  # the scheduler's, for a run it killed when it was stopping
KILLED_ON_TIMEOUT = 124  # the scheduler's, for a run it killed at the job's timeout (< 0: killed by a signal)


def verdict(
    counts: dict[str, int],
    *,
    finished: bool = True,
    exit_code: int | None = None,
    missing_shards: Sequence[int] = (),
    abandoned: bool = False,
) -> Verdict:
    """A run whose process died unseen says so above all (its journeys are a fragment); then a
    broken checkout; otherwise a run that did not finish never passes."""
    if abandoned or (exit_code is not None and (exit_code < 0 or exit_code == KILLED_ON_TIMEOUT)):
        return Verdict.ABANDONED
    if counts.get("failed"):
        return Verdict.FAILED
    if missing_shards:  # part of a sharded sweep
        return Verdict.INCOMPLETE
    if not finished:
        return Verdict.UNFINISHED
    if exit_code in (INTERRUPTED, SERVICE_STOPPED):
        return Verdict.INTERRUPTED
    if not sum(counts.values()):
        return Verdict.EMPTY
    return Verdict.ERROR if counts.get("error") else Verdict.PASSED


def _cause(cause: Cause | None, lang: str) -> CauseView | None:
    if cause is None:
        return None
    return CauseView(
        category=cause.category,
        label=i18n.cause_label(lang, cause.category),
        detail=cause.detail,
        dependency=cause.dependency or "",
        rule=cause.rule,
        evidence=html.scrub(cause.evidence),
        summary=html.scrub(i18n.summary(cause.summary, lang)),
        detail_label=i18n.detail_label(lang, cause.detail),
    )


def _request(r: RequestRecord) -> RequestView:
    bad = r.failure is not None or r.status is None or r.status >= 400
    return RequestView(
        method=r.method,
        url=html.scrub(unquote(r.url)),  # 收件人=李华 reads better than %E6%94%B6…
        status=r.failure or (str(r.status) if r.status is not None else "–"),
        bad=bad,
        start_ms=r.start_ms,
        duration_ms=r.duration_ms,
        step=r.step or "",
        body=html.scrub(r.body_excerpt),
    )


PHASE_NAMES = ("dns", "connect", "tls", "wait", "download")


def _timeline(records: list[RequestRecord]) -> tuple[list[RequestView], list[tuple[float, str]]]:
    """Requests on one time axis (from the first one's start), each bar split into the browser's
    timing phases; the axis ticks in ms from that start."""
    views = [_request(r) for r in records]
    if not records:
        return views, []
    t0 = min(r.start_ms for r in records)
    span = max(max(r.start_ms + (r.duration_ms or 0.0) for r in records) - t0, 1.0)
    for r, v in zip(records, views, strict=True):
        v.left = round((r.start_ms - t0) / span * 100, 2)
        v.width = round(max((r.duration_ms or 0.0) / span * 100, 0.5), 2)
        total = sum(r.phases.values()) or 1.0
        v.phases = [(k, r.phases[k], round(r.phases[k] / total * 100, 2)) for k in PHASE_NAMES if r.phases.get(k)]
    return views, charts.time_ticks(span, 4)


def _action(f: FailurePoint, step_error: str) -> tuple[str, str]:
    """The failed action and locator; when the recorder could not tell, read them again from the
    message and the step's error (an assertion or a wrapped error still names them)."""
    action, locator = f.action, f.locator
    for text in (f.message, step_error):
        if action and locator:
            break
        again = parse_action(text or "")
        action, locator = action or again[0], locator or again[1]
    return action or "", locator or ""


def _failure(
    f: FailurePoint, artefacts_dir: Path, inline: html.Inliner, journey_id: str, step_error: str
) -> FailureView:
    uri, shot_path = inline(f.screenshot)
    trace = str((artefacts_dir / f.trace).resolve()) if f.trace else None
    action, locator = _action(f, step_error)
    requests, ticks = _timeline(f.requests[-12:])
    return FailureView(
        step=f.step,
        surfaced_at=f.surfaced_at or "",
        first_request=_request(f.first_failed_request) if f.first_failed_request else None,
        capture_notes=[html.scrub(n) for n in f.capture_notes],
        action=action,
        locator=locator,
        url=html.scrub(unquote(f.url)),
        error_type=f.error_type,
        message=html.scrub(f.message),
        document_status=f.document_status,
        page_title=html.scrub(f.page_title),
        page_text=html.scrub(f.page_text),
        screenshot=uri,
        screenshot_path=shot_path,
        trace_command=f"orderprobe report trace {journey_id}" if trace else None,
        trace_uri=Path(trace).as_uri() if trace else None,
        har_uri=(artefacts_dir / f.har).resolve().as_uri() if f.har else None,
        requests=requests,
        request_ticks=ticks,
        failed_requests=[_request(r) for r in f.failed_requests],
        console_errors=[html.scrub(e) for e in f.console_errors],
        link=html.scrub(f.link.summary) if f.link else "",
    )


def link(artefacts_dir: Path, relative: str, out_dir: Path | None) -> str:
    """A link from the report to an artefact: relative to the report's folder, so the two can be
    moved or served together; the images are loaded from there (lazily), not inlined."""
    target = (artefacts_dir / relative).resolve()
    if out_dir is None:
        return target.as_uri()
    return quote(Path(os.path.relpath(target, out_dir.resolve())).as_posix())


def _visual(j: JourneyResult, artefacts_dir: Path, out_dir: Path | None) -> list[VisualView]:
    def href(path: str | None) -> str:
        return link(artefacts_dir, path, out_dir) if path else ""

    return [
        VisualView(
            step=s.name,
            name=v.name,
            status=v.status,
            diff_pixels=v.diff_pixels,
            ratio=f"{v.ratio:.2%}",
            message=html.scrub(v.message),
            baseline=v.baseline,
            baseline_tail="/".join(Path(v.baseline).parts[-3:]),
            expected=href(v.expected),
            actual=href(v.actual),
            diff=href(v.diff),
        )
        for s in j.steps
        for v in s.visual
    ]


def _filmstrip(j: JourneyResult, artefacts_dir: Path, out_dir: Path | None) -> list[Frame]:
    """A frame per step that has one; the failed step's frame is the failure screenshot. Only
    for journeys run with ``--screenshots on`` (a failure screenshot alone is the failure panel's)."""
    if not any(s.screenshot for s in j.steps):
        return []
    frames = []
    for s in j.steps:
        shot = s.screenshot
        if shot is None and s.status is StepStatus.FAILED and j.failure is not None:
            shot = j.failure.screenshot
        if shot:
            end = s.start_ms + s.duration_ms
            frames.append(Frame(s.name, _step_status(j, s.status), end, link(artefacts_dir, shot, out_dir)))
    return frames


def _total(j: JourneyResult) -> float:
    return max(j.duration_ms, max((s.start_ms + s.duration_ms for s in j.steps), default=0.0), 1.0)


def _step_status(j: JourneyResult, status: StepStatus) -> str:
    # The step where an expected refusal happened did its job: it is "blocked", not red "failed".
    return "blocked" if j.status is Status.BLOCKED and status is StepStatus.FAILED else status.value


def _steps(j: JourneyResult) -> list[StepView]:
    total = _total(j)
    return [
        StepView(
            name=s.name,
            status=_step_status(j, s.status),
            start_ms=s.start_ms,
            duration_ms=s.duration_ms,
            budget_ms=s.budget_ms,
            left=round(s.start_ms / total * 100, 2),
            width=round(max(s.duration_ms / total * 100, 0.4), 2),
            taps=s.interactions.taps,
            text_inputs=s.interactions.text_inputs,
            page_loads=s.interactions.page_loads,
            requests=s.interactions.requests,
            kb=round(s.interactions.bytes / 1024),
            error=html.scrub(s.error),
            conditions=s.conditions or "",
            failed_requests=[_request(r) for r in s.failed_requests],
            vitals=_vitals(s.vitals),
            a11y=s.a11y.model_dump() if s.a11y else None,
            evidence_ms=s.evidence_ms,
            link=html.scrub(s.link.summary) if s.link else "",
        )
        for s in j.steps
    ]


def _vitals(v: Vitals | None) -> dict[str, VitalView]:
    out = {}
    for key, name in vitals.LABELS.items() if v is not None else ():
        value = getattr(v, key)
        if value is not None:
            text = f"{value:.3f}" if key == "cls" else html.seconds(value) if value >= 1000 else f"{value:.0f} ms"
            out[name] = VitalView(name, text, vitals.rating(key, value))
    return out


def _versus(j: JourneyResult, last: JourneyResult, lang: str, tz: tzinfo | None) -> Versus:
    mine = {s.name: s for s in j.steps}
    theirs = {s.name: s for s in last.steps}
    names = [*theirs, *(n for n in mine if n not in theirs)]  # the passing path's order, then what is new
    rows = []
    for name in names:
        a, b = mine.get(name), theirs.get(name)
        rows.append(
            VersusRow(
                name,
                _step_status(j, a.status) if a else "",
                a.duration_ms if a else None,
                b.duration_ms if b else None,
                a.duration_ms - b.duration_ms if a and b else None,
            )
        )
    return Versus(
        last.run_id,
        f"{html.run_report_name(last.run_id, lang)}#{html.anchor(last.id)}",
        html.local(last.started_at, tz, "%Y-%m-%d %H:%M"),
        last.duration_ms,
        rows,
    )


def journey_view(
    j: JourneyResult,
    artefacts_dir: Path,
    lang: str,
    tz: tzinfo | None = None,
    inline: html.Inliner | None = None,
    last_pass: JourneyResult | None = None,
    out_dir: Path | None = None,
) -> JourneyView:
    t = i18n.texts(lang)
    e = j.expectation
    expectation = t["expect_blocked"] if e.outcome == "blocked" else t["expect_pass"]
    if e.causes:
        expectation += " (" + ", ".join(i18n.cause_label(lang, c) for c in e.causes) + ")"
    failed = next((s.error or "" for s in j.steps if s.status is StepStatus.FAILED), "")
    totals = j.interactions.model_dump()
    totals["kb"] = round(totals.pop("bytes") / 1024)
    return JourneyView(
        anchor=html.anchor(j.id),
        probe=j.probe,
        profile=j.profile,
        status=j.status.value,
        started=html.local(j.started_at, tz, "%H:%M:%S"),
        duration_ms=j.duration_ms,
        attempt=j.attempt,
        worker=j.worker,
        expectation=expectation,
        reason=e.reason,
        failed_step=j.failed_step or "",
        cause=_cause(j.cause, lang),
        steps=_steps(j),
        ticks=charts.time_ticks(_total(j)),
        totals=totals,
        conditions=html.flatten(j.conditions),
        conditions_summary=_summary(j, t),
        versus=_versus(j, last_pass, lang, tz) if last_pass else None,
        failure=_failure(j.failure, artefacts_dir, inline or html.Inliner(artefacts_dir), j.id, failed)
        if j.failure
        else None,
        trace_id=j.trace_id,
        not_exercised=[html.scrub(reason) for reason in j.not_exercised],
        visual=_visual(j, artefacts_dir, out_dir),
        attempts=[
            AttemptView(
                attempt=a.attempt,
                status=a.status.value,
                failed_step=a.failed_step or "",
                cause=i18n.cause_label(lang, a.cause.category) if a.cause else "",
                message=html.scrub(a.failure.message.splitlines()[0]) if a.failure and a.failure.message else "",
                duration_ms=a.duration_ms,
            )
            for a in j.previous_attempts
        ],
        filmstrip=_filmstrip(j, artefacts_dir, out_dir),
    )


def _cpu_off(j: JourneyResult) -> float | None:
    """The device's CPU slowdown the journey ran without (--cpu-slowdown off), if any."""
    applied = j.conditions.get("applied")
    return applied.get("cpu_slowdown_profile") if isinstance(applied, dict) else None


def _summary(j: JourneyResult, t: dict[str, str]) -> str:
    names = j.profile.split("/")
    parts = []
    for i, kind in enumerate(("device", "network", "region", "account")):
        part = j.conditions.get(kind)
        title = part.get("title") if isinstance(part, dict) else None
        parts.append(str(title or (names[i] if i < len(names) else "")))
    if j.emulation:  # how the network was emulated: packet-level link or DevTools (CDP) fallback
        parts[1] += f" [{j.emulation}]"
    if (rate := _cpu_off(j)) is not None:  # its timings are not a slow device's
        parts[0] += f" [{t['cpu_off']} ×{rate:g}]"
    return " · ".join(p for p in parts if p)


def _grid(journeys: list[JourneyResult]) -> tuple[list[str], list[GridRow]]:
    """Profiles down, probes across (profiles are usually the longer list)."""
    probes = sorted({j.probe for j in journeys})
    profiles = sorted({j.profile for j in journeys})
    groups: dict[tuple[str, str], list[JourneyResult]] = {}
    for j in journeys:
        groups.setdefault((j.profile, j.probe), []).append(j)
    rows = []
    for profile in profiles:
        cells: list[Cell | None] = []
        for probe in probes:
            group = groups.get((profile, probe))
            if not group:
                cells.append(None)
                continue
            worst = min(group, key=lambda j: RANK[j.status.value])
            cells.append(
                Cell(worst.status.value, median(j.duration_ms for j in group), html.anchor(worst.id), len(group))
            )
        rows.append(GridRow(profile, profile.split("/"), cells))
    return probes, rows


SPARSE = 0.34  # below this share of filled cells, the grid is shown per probe instead


def _by_probe(probes: list[str], grid: list[GridRow]) -> list[tuple[str, list[tuple[list[str], Cell]]]]:
    filled = sum(cell is not None for row in grid for cell in row.cells)
    if len(probes) < 3 or filled >= SPARSE * len(probes) * len(grid):
        return []
    return [
        (probe, [(row.parts, cell) for row in grid if (cell := row.cells[i]) is not None])
        for i, probe in enumerate(probes)
    ]


def context(
    store: Store, run_id: str, artefacts_dir: Path, lang: str, tz: tzinfo | None = None, out_dir: Path | None = None
) -> RunContext:
    run = store.run(run_id)
    if run is None:
        raise LookupError(f"no run {run_id!r} in the results store")
    journeys = store.journeys(run_id)
    return build(run, journeys, artefacts_dir, lang, tz, last_passes(store, journeys), out_dir=out_dir)


def last_passes(store: Store, journeys: list[JourneyResult]) -> dict[str, JourneyResult]:
    """For each journey that failed or slowed down: the last earlier journey of the same probe ×
    profile that reached its goal, to read the two side by side."""
    out = {}
    for j in journeys:
        if j.status in WORTH_COMPARING and (found := store.last_pass(j.probe, j.profile, j.started_at)):
            out[j.id] = found
    return out


def build(
    run: RunSummary,
    journeys: list[JourneyResult],
    artefacts_dir: Path,
    lang: str,
    tz: tzinfo | None = None,
    passes: dict[str, JourneyResult] | None = None,
    out_dir: Path | None = None,
) -> RunContext:
    """The report's context from a run and its journeys, wherever they come from (the store,
    or the html reporter's own list at the end of a run). ``out_dir``: where the report will be
    written, for the filmstrip's relative links."""
    journeys = sorted(journeys, key=lambda j: (RANK[j.status.value], j.probe, j.profile, j.started_at))
    probes, grid = _grid(journeys)
    inline = html.Inliner(artefacts_dir)  # one budget for the whole page, worst journeys first
    causes: dict[str, int] = {}
    for j in journeys:
        if j.cause:
            causes[j.cause.category] = causes.get(j.cause.category, 0) + 1
    return RunContext(
        run=run,
        when=html.local(run.started_at, tz),
        finished=html.local(run.finished_at, tz),
        duration=html.span(run.duration),
        command=html.scrub(run.command),
        labels=[(k, v) for k, v in html.flatten(run.labels)],
        total=run.total,
        counts=[(s.value, run.counts.get(s.value, 0)) for s in SEVERITY],
        verdict=verdict(
            run.counts,
            finished=run.finished_at is not None,
            exit_code=run.exit_code,
            missing_shards=run.missing_shards,
            abandoned=run.abandoned,
        ),
        probes=probes,
        grid=grid,
        by_probe=_by_probe(probes, grid),
        causes=sorted(causes.items(), key=lambda kv: -kv[1]),
        journeys=[
            journey_view(j, artefacts_dir, lang, tz, inline, (passes or {}).get(j.id), out_dir) for j in journeys
        ],
        estimate=estimate(journeys),
        cpu_off=sum(_cpu_off(j) is not None for j in journeys),
    )


def render(
    store: Store, run_id: str, artefacts_dir: Path, lang: str, tz: tzinfo | None = None, out_dir: Path | None = None
) -> str:
    return html.render("run.html", context(store, run_id, artefacts_dir, lang, tz, out_dir), lang, tz)


def write(store: Store, run_id: str, artefacts_dir: Path, out_dir: Path, lang: str, tz: tzinfo | None = None) -> Path:
    page = render(store, run_id, artefacts_dir, lang, tz, out_dir)
    return html.write(page, out_dir, html.run_report_name(run_id, lang))


def write_built(ctx: RunContext, out_dir: Path, lang: str, tz: tzinfo | None = None) -> Path:
    return html.write(html.render("run.html", ctx, lang, tz), out_dir, html.run_report_name(ctx.run.id, lang))
