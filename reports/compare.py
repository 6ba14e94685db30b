"""The comparison report (for UX teams): what each entry path costs the shopper.

Side by side under one profile: steps, trusted taps, text inputs, page loads, requests
and time (median over every successful journey of the chosen runs), each against a
baseline path; then the same path across profiles, to show what a weak network, an old
phone or a remote region costs in seconds. Inputs are a few runs, so Python is fine here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from statistics import median
from typing import Any

from probes.result import JourneyResult, Status
from reports import html
from reports.store import Store

COMPLETED = {Status.PASSED, Status.DEGRADED, Status.FLAKY}  # reached the end: their step counts are the path's
METRICS = ("steps", "taps", "text_inputs", "page_loads", "requests", "kb", "total_ms")
STEP_COLOURS = ["#0969da", "#54aeff", "#1a7f37", "#4ac26b", "#9a6700", "#d4a72c", "#8250df", "#c297ff", "#bc4c00"]


@dataclass
class Segment:
    name: str
    ms: float
    width: float  # % of the widest path's total
    colour: str


@dataclass
class PathStats:
    probe: str
    profile: str
    n: int  # journeys the medians come from
    values: dict[str, float]  # METRICS -> median
    diff: dict[str, float]  # METRICS -> value - baseline's
    segments: list[Segment]
    is_baseline: bool


@dataclass
class ProfileRow:
    profile: str
    parts: list[str]
    n: int
    total_ms: float
    diff_ms: float
    ratio: float  # total / baseline profile's total
    steps: float
    page_loads: float
    kb: float
    width: float  # % of the slowest profile, for the bar
    is_baseline: bool


@dataclass
class AcrossProfiles:
    probe: str
    rows: list[ProfileRow]


@dataclass
class CompareContext:
    runs: list[str]
    profile: str
    baseline: str
    metrics: list[str]
    paths: list[PathStats]
    across: list[AcrossProfiles]
    step_legend: list[tuple[str, str]]


def _stats(probe: str, profile: str, journeys: list[JourneyResult]) -> PathStats:
    def med(values: list[float]) -> float:
        return round(median(values), 1)

    totals = [j.interactions for j in journeys]
    values = {
        "steps": med([len(j.steps) for j in journeys]),
        "taps": med([t.taps for t in totals]),
        "text_inputs": med([t.text_inputs for t in totals]),
        "page_loads": med([t.page_loads for t in totals]),
        "requests": med([t.requests for t in totals]),
        "kb": med([t.bytes / 1024 for t in totals]),
        "total_ms": med([j.duration_ms for j in journeys]),
    }
    # Per-step medians, in the order of the most common step sequence of this path.
    sequence = Counter(tuple(s.name for s in j.steps) for j in journeys).most_common(1)[0][0]
    per_step = []
    for name in sequence:
        durations = [s.duration_ms for j in journeys for s in j.steps if s.name == name]
        per_step.append((name, med(durations)))
    segments = [Segment(name, ms, 0.0, "") for name, ms in per_step]
    return PathStats(probe, profile, len(journeys), values, {}, segments, False)


def _choose_profile(groups: dict[tuple[str, str], list[JourneyResult]], probes: list[str]) -> str:
    """The profile most of the chosen paths ran under; Wi-Fi first on a tie (the fair baseline)."""
    have = Counter(profile for (probe, profile) in groups if probe in probes)
    return min(have, key=lambda p: (-have[p], "wifi" not in p.split("/")[1:2], p))


def context(
    store: Store,
    run_ids: list[str] | None = None,
    probes: list[str] | None = None,
    baseline: str | None = None,
    profile: str | None = None,
) -> CompareContext:
    run_ids = run_ids or default_runs(store)
    journeys = [j for run_id in run_ids for j in store.journeys(run_id) if j.status in COMPLETED and j.steps]
    groups: dict[tuple[str, str], list[JourneyResult]] = {}
    for j in journeys:
        groups.setdefault((j.probe, j.profile), []).append(j)
    present = sorted({probe for probe, _ in groups})
    unknown = [p for p in [*(probes or []), *([baseline] if baseline else [])] if p not in present]
    if unknown:
        raise LookupError(
            f"no successful journeys of {', '.join(unknown)} in run(s) {', '.join(run_ids)} "
            f"(probes there: {', '.join(present) or 'none'})"
        )
    chosen = list(dict.fromkeys(probes or present))
    if not chosen:
        return CompareContext(run_ids, profile or "", "", list(METRICS), [], [], [])
    if baseline is None and not probes:
        # The path with the most steps is the status quo the others are measured against
        # (the field study compares Kuaishou's and Pinduoduo's paths to Douyin's longer one).
        steps = {
            p: max(len(j.steps) for (probe, _), group in groups.items() if probe == p for j in group) for p in chosen
        }
        baseline = max(chosen, key=lambda p: (steps[p], p))
    baseline = baseline or chosen[0]
    chosen = [baseline, *(p for p in chosen if p != baseline)]
    profile = profile or _choose_profile(groups, chosen)

    paths = [_stats(p, profile, groups[(p, profile)]) for p in chosen if (p, profile) in groups]
    base = next((s for s in paths if s.probe == baseline), paths[0] if paths else None)
    widest = max((s.values["total_ms"] for s in paths), default=1.0) or 1.0
    names = list(dict.fromkeys(seg.name for s in paths for seg in s.segments))
    colour = {name: STEP_COLOURS[i % len(STEP_COLOURS)] for i, name in enumerate(names)}
    for s in paths:
        s.is_baseline = s is base
        s.diff = {m: round(s.values[m] - base.values[m], 1) for m in METRICS} if base else {}
        for seg in s.segments:
            seg.width, seg.colour = round(seg.ms / widest * 100, 2), colour[seg.name]

    across = []
    for p in chosen:
        stats = [_stats(p, prof, js) for (probe, prof), js in sorted(groups.items()) if probe == p]
        ref = next((s for s in stats if s.profile == profile), None)
        if ref is None or len(stats) < 2:
            continue
        slowest = max(s.values["total_ms"] for s in stats) or 1.0
        stats.sort(key=lambda s: (s is not ref, s.values["total_ms"]))
        rows = [
            ProfileRow(
                profile=s.profile,
                parts=s.profile.split("/"),
                n=s.n,
                total_ms=s.values["total_ms"],
                diff_ms=round(s.values["total_ms"] - ref.values["total_ms"], 1),
                ratio=round(s.values["total_ms"] / (ref.values["total_ms"] or 1.0), 2),
                steps=s.values["steps"],
                page_loads=s.values["page_loads"],
                kb=s.values["kb"],
                width=round(s.values["total_ms"] / slowest * 100, 2),
                is_baseline=s is ref,
            )
            for s in stats
        ]
        across.append(AcrossProfiles(p, rows))
    return CompareContext(run_ids, profile, baseline, list(METRICS), paths, across, list(colour.items()))


def default_runs(store: Store, limit: int = 5, matrix: str = "paths") -> list[str]:
    """Up to ``limit`` latest runs of the ``paths`` matrix (the entry paths under one profile, made
    for this report); without any, the latest run and earlier ones of its matrix."""
    runs = store.runs(limit=200)
    if not runs:
        return []
    wanted = matrix if any(r.matrix == matrix for r in runs) else runs[0].matrix
    return [r.id for r in runs if r.matrix == wanted][:limit]


def render(
    store: Store,
    lang: str,
    *,
    runs: list[str] | None = None,
    probes: list[str] | None = None,
    baseline: str | None = None,
    profile: str | None = None,
    tz: tzinfo | None = None,
) -> str:
    return html.render("compare.html", context(store, runs, probes, baseline, profile), lang, tz)


def write(store: Store, out_dir: Path, lang: str, **choice: Any) -> Path:
    """Render (``choice``: the keyword arguments of ``render``) into ``out_dir/compare.<lang>.html``."""
    return html.write(render(store, lang, **choice), out_dir, html.report_name("compare", lang))
