"""The comparison report (for UX teams): what each entry path costs the shopper.

Side by side under one profile: steps as the field study counts them (the screens a shopper
lands on: 视频 → 购物车 → 结算 → 支付, measured as page loads), operations (trusted taps), text
inputs, the probe's own steps, requests and time of every path, as the median over repeated
journeys with its spread (IQR and min–max), each against a baseline path (the shortest, unless
chosen). A difference that never varied is a fact and is stated as exact; one that varied gets a
Mann–Whitney U test that is valid at small n (exact permutation distribution, ties included, while
the number of arrangements allows; the normal approximation only beyond), shown with its n and
effect size, and a note says what n this small cannot show. Journeys that did not finish (failed,
blocked, probe error) are counted beside the medians, never silently dropped. Then the same path
across profiles: what a weak network, an old phone or a remote region costs in seconds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import tzinfo
from math import comb
from pathlib import Path
from statistics import median, quantiles
from typing import Any

from orderprobe.base.result import JourneyResult, Status
from orderprobe.reports import html
from orderprobe.store.store import Store

COMPLETED = {
    Status.PASSED,
    Status.DEGRADED,
    Status.FLAKY,
    Status.NOT_EXERCISED,
}  # reached the end: their step counts are the path's
# "page_loads" first: the screens a shopper lands on are the steps the field study counts (its
# 视频 → 购物车 → 结算 → 支付); "steps" are the probe's own journey.step blocks, how it is written.
METRICS = ("page_loads", "taps", "text_inputs", "steps", "requests", "kb", "total_ms")
SHOPPER_STEPS = "page_loads"
STEP_COLOURS = ["#0969da", "#54aeff", "#1a7f37", "#4ac26b", "#9a6700", "#d4a72c", "#8250df", "#c297ff", "#bc4c00"]
ALPHA = 0.05  # two-sided significance level of the Mann–Whitney U test
ENOUGH = 5  # fewer journeys per path than this: medians are shown with a warning
EXACT_UP_TO = 10_000  # arrangements of two samples enumerated for an exact p; beyond: normal approximation


@dataclass
class Segment:
    name: str
    ms: float
    width: float  # % of the widest path's total
    colour: str


@dataclass
class Spread:
    q1: float
    q3: float
    low: float
    high: float


@dataclass
class Diff:
    value: float  # median - baseline's median
    p: float | None  # Mann–Whitney U two-sided p-value; None: not tested (exact, or too few values)
    significant: bool
    exact: bool = False  # neither side varied: the difference is a fact, not an estimate
    n: tuple[int, int] = (0, 0)  # journeys on each side (this path, the baseline)
    ratio: float | None = None  # this median / the baseline's
    effect: float | None = None  # Cliff's delta: P(this > base) - P(this < base), -1..1
    min_p: float | None = None  # the smallest p these sample sizes can give: above alpha, no test can tell

    @property
    def cannot_tell(self) -> bool:
        return not self.exact and self.min_p is not None and self.min_p >= ALPHA


@dataclass
class PathStats:
    probe: str
    profile: str
    n: int  # journeys that reached the end: the medians come from them
    outcomes: dict[str, int]  # every journey of this path × profile in the runs, by status
    values: dict[str, float]  # METRICS -> median
    spread: dict[str, Spread]  # METRICS -> quartiles and range
    samples: dict[str, list[float]] = field(repr=False, default_factory=dict)
    diff: dict[str, Diff] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    is_baseline: bool = False

    @property
    def unfinished(self) -> int:
        return sum(self.outcomes.values()) - self.n


@dataclass
class ProfileRow:
    profile: str
    parts: list[str]
    n: int
    unfinished: int
    total_ms: float
    spread: Spread
    diff: Diff
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
    baseline_chosen: bool  # named by the user (else: fewest steps on the best network)
    metrics: list[str]
    paths: list[PathStats]
    across: list[AcrossProfiles]
    step_legend: list[tuple[str, str]]
    few: int  # the smallest n among the paths with medians (a note when < ENOUGH)
    enough: int = ENOUGH
    alpha: float = ALPHA
    ladder: list[Rung] = field(default_factory=list)  # paths from the shortest up, each vs the next shorter

    @property
    def few_min_p(self) -> float:
        """The smallest p two paths of ``few`` journeys each can show (exact rank test)."""
        return round(smallest_p(self.few, self.few), 3)


def _spread(values: list[float]) -> Spread:
    if len(values) < 2:
        v = values[0] if values else 0.0
        return Spread(v, v, v, v)
    q1, _, q3 = quantiles(values, n=4, method="inclusive")
    return Spread(round(q1, 1), round(q3, 1), round(min(values), 1), round(max(values), 1))


def mann_whitney(a: list[float], b: list[float]) -> float | None:
    """Two-sided p-value of the Mann–Whitney U test, or None when either side has < 2 values.

    Exact at the sample sizes a comparison has (3–7 a side): the permutation distribution of U,
    ties included, enumerated in full; the tie-corrected normal approximation (wrong at n = 3:
    it calls 3 vs 3 "p = 0.047" when no arrangement of six values can go below 0.10) only once
    there are more than EXACT_UP_TO arrangements."""
    if len(a) < 2 or len(b) < 2:
        return None
    if len(set(a) | set(b)) == 1:
        return 1.0  # identical constant samples: no difference at all (SciPy would divide by zero)
    from scipy.stats import PermutationMethod, mannwhitneyu

    exact = comb(len(a) + len(b), len(a)) <= EXACT_UP_TO
    method = PermutationMethod(n_resamples=EXACT_UP_TO) if exact else "asymptotic"
    return float(mannwhitneyu(a, b, alternative="two-sided", method=method).pvalue)


def smallest_p(n: int, m: int) -> float:
    """The smallest two-sided p an exact rank test can give with n and m values: 2 / C(n+m, n)."""
    return min(1.0, 2 / comb(n + m, n)) if n and m else 1.0


def cliffs_delta(a: list[float], b: list[float]) -> float:
    """P(a value of ``a`` > one of ``b``) - P(<): 0 = no tendency, ±1 = every pair one way."""
    if not a or not b:
        return 0.0
    return sum((x > y) - (x < y) for x in a for y in b) / (len(a) * len(b))


def _diff(values: list[float], base: list[float], delta: float) -> Diff:
    n = (len(values), len(base))
    ratio = round(median(values) / median(base), 2) if values and base and median(base) else None
    if values and base and len(set(values)) == 1 and len(set(base)) == 1:
        # Neither side varied over the repetitions: the difference is what was measured, every time.
        return Diff(round(delta, 1), None, False, exact=True, n=n, ratio=ratio)
    p = mann_whitney(values, base)
    return Diff(
        round(delta, 1),
        None if p is None else round(p, 4),
        p is not None and p < ALPHA and delta != 0,
        n=n,
        ratio=ratio,
        effect=round(cliffs_delta(values, base), 2),
        min_p=round(smallest_p(*n), 4),
    )


def _stats(probe: str, profile: str, journeys: list[JourneyResult]) -> PathStats:
    done = [j for j in journeys if j.status in COMPLETED and j.steps]
    outcomes = Counter(j.status.value for j in journeys)
    samples: dict[str, list[float]] = {
        "steps": [len(j.steps) for j in done],
        "taps": [j.interactions.taps for j in done],
        "text_inputs": [j.interactions.text_inputs for j in done],
        "page_loads": [j.interactions.page_loads for j in done],
        "requests": [j.interactions.requests for j in done],
        "kb": [round(j.interactions.bytes / 1024, 1) for j in done],
        "total_ms": [j.duration_ms for j in done],
    }
    values = {m: round(median(v), 1) if v else 0.0 for m, v in samples.items()}
    segments = []
    if done:  # per-step medians, in the order of the most common step sequence of this path
        sequence = Counter(tuple(s.name for s in j.steps) for j in done).most_common(1)[0][0]
        for name in sequence:
            ms = median(s.duration_ms for j in done for s in j.steps if s.name == name)
            segments.append(Segment(name, round(ms, 1), 0.0, ""))
    return PathStats(
        probe,
        profile,
        len(done),
        dict(outcomes),
        values,
        {m: _spread(v) for m, v in samples.items()},
        samples,
        segments=segments,
    )


def _length(s: PathStats) -> tuple[float, float, float, str]:
    return (s.values[SHOPPER_STEPS], s.values["taps"], s.values["total_ms"], s.probe)


@dataclass
class Rung:
    """One path on the ladder from the shortest path up: its steps and taps against the next shorter one."""

    probe: str
    steps: float  # median screens (SHOPPER_STEPS)
    taps: float
    below: str  # the next shorter path ("" for the shortest)
    more_steps: float
    more_taps: float
    exact: bool  # neither path's counts varied: the difference is a fact


def ladder(paths: list[PathStats]) -> list[Rung]:
    """Paths from the shortest up, each against the one just below it: the field study's way of
    putting it ("the buried cart costs 2 more steps than the one-tap cart")."""
    done = sorted((s for s in paths if s.n), key=_length)
    rungs = []
    for below, s in zip([None, *done], done, strict=False):
        steady = all(len(set(x.samples[m])) == 1 for x in (s, below) if x for m in (SHOPPER_STEPS, "taps"))
        rungs.append(
            Rung(
                s.probe,
                s.values[SHOPPER_STEPS],
                s.values["taps"],
                below.probe if below else "",
                round(s.values[SHOPPER_STEPS] - below.values[SHOPPER_STEPS], 1) if below else 0.0,
                round(s.values["taps"] - below.values["taps"], 1) if below else 0.0,
                steady,
            )
        )
    return rungs


def _network_cost(journeys: list[JourneyResult]) -> float:
    """Milliseconds the profile's network needs for a 200 KB page: round trip + transfer (lower is better).
    An unthrottled network costs 0; a profile without network conditions ranks last."""
    network = journeys[0].conditions.get("network") if journeys else None
    if not isinstance(network, dict):
        return float("inf")
    rtt = float(network.get("rtt_ms") or network.get("latency_ms") or 0)
    down = float(network.get("down_kbps") or 0)
    return rtt + (200 * 8 / down * 1000 if down else 0)


def _best_profile(groups: dict[tuple[str, str], list[JourneyResult]], probes: list[str]) -> str:
    """The profile with the best network among those most of the chosen paths ran under; when the
    conditions do not say, the one where the chosen paths were fastest."""
    have = Counter(profile for (probe, profile) in groups if probe in probes)
    most = max(have.values())
    candidates = [p for p in have if have[p] == most]
    mine = {
        p: [j for (probe, prof), js in groups.items() if prof == p and probe in probes for j in js] for p in candidates
    }
    cost = {p: min(_network_cost([j]) for j in js) for p, js in mine.items()}
    speed = {
        p: median([j.duration_ms for j in js if j.status in COMPLETED] or [float("inf")]) for p, js in mine.items()
    }
    return min(candidates, key=lambda p: (cost[p], speed[p], p))


def context(
    store: Store,
    run_ids: list[str] | None = None,
    probes: list[str] | None = None,
    baseline: str | None = None,
    profile: str | None = None,
) -> CompareContext:
    run_ids = run_ids or default_runs(store)
    groups = _groups(store, run_ids)
    finished = _check(groups, run_ids, probes, baseline, profile)
    chosen = list(dict.fromkeys(probes or sorted({p for p, _ in groups})))
    if not finished:
        return CompareContext(run_ids, profile or "", "", False, list(METRICS), [], [], [], 0)
    profile = profile or _best_profile(groups, chosen)
    paths, baseline_probe, colours = _paths(groups, chosen, profile, baseline)
    # A path with no finished journey shows "–" and its outcome counts; it does not make the note say 0.
    few = min((s.n for s in paths if s.n), default=0)
    return CompareContext(
        run_ids,
        profile,
        baseline_probe,
        baseline is not None,
        list(METRICS),
        paths,
        _across_profiles(groups, chosen, profile),
        colours,
        few,
        ladder=ladder(paths),
    )


def _groups(store: Store, run_ids: list[str]) -> dict[tuple[str, str], list[JourneyResult]]:
    """The runs' journeys by (probe, profile)."""
    groups: dict[tuple[str, str], list[JourneyResult]] = {}
    for j in (j for run_id in run_ids for j in store.journeys(run_id)):
        groups.setdefault((j.probe, j.profile), []).append(j)
    return groups


def _check(
    groups: dict[tuple[str, str], list[JourneyResult]],
    run_ids: list[str],
    probes: list[str] | None,
    baseline: str | None,
    profile: str | None,
) -> set[str]:
    """The probes with a finished journey; a probe, baseline or profile asked for and absent is refused."""
    finished = {probe for (probe, _), js in groups.items() if any(j.status in COMPLETED and j.steps for j in js)}
    unknown = [p for p in [*(probes or []), *([baseline] if baseline else [])] if p not in finished]
    if unknown:
        raise LookupError(
            f"no successful journeys of {', '.join(unknown)} in run(s) {', '.join(run_ids)} "
            f"(probes there: {', '.join(sorted(finished)) or 'none'})"
        )
    if profile and not any(prof == profile for _, prof in groups):
        raise LookupError(f"no journeys under profile {profile!r} in run(s) {', '.join(run_ids)}")
    return finished


def _paths(
    groups: dict[tuple[str, str], list[JourneyResult]], chosen: list[str], profile: str, baseline: str | None
) -> tuple[list[PathStats], str, list[tuple[str, str]]]:
    """The paths side by side under ``profile``, baseline first, each diffed against it; the
    baseline's name; the step colours."""
    paths = [_stats(p, profile, groups[(p, profile)]) for p in chosen if (p, profile) in groups]
    done = [s for s in paths if s.n]
    if baseline is None:
        # The shortest path on the best network (fewest screens, then taps, then time): what the
        # others cost the shopper on top of it.
        baseline = min(done, key=_length).probe if done else ""
    base = next((s for s in paths if s.probe == baseline and s.n), None)
    paths.sort(key=lambda s: (s is not base, chosen.index(s.probe)))
    widest = max((s.values["total_ms"] for s in paths), default=1.0) or 1.0
    names = list(dict.fromkeys(seg.name for s in paths for seg in s.segments))
    colour = {name: STEP_COLOURS[i % len(STEP_COLOURS)] for i, name in enumerate(names)}
    for s in paths:
        s.is_baseline = s is base
        if base is not None and s.n:
            s.diff = {m: _diff(s.samples[m], base.samples[m], s.values[m] - base.values[m]) for m in METRICS}
        for seg in s.segments:
            seg.width, seg.colour = round(seg.ms / widest * 100, 2), colour[seg.name]
    return paths, baseline, list(colour.items())


def _across_profiles(
    groups: dict[tuple[str, str], list[JourneyResult]], chosen: list[str], profile: str
) -> list[AcrossProfiles]:
    """Each path under every profile it ran with, against ``profile``."""
    across = []
    for p in chosen:
        stats = [_stats(p, prof, js) for (probe, prof), js in sorted(groups.items()) if probe == p]
        stats = [s for s in stats if s.n]
        ref = next((s for s in stats if s.profile == profile), None)
        if ref is None or len(stats) < 2:
            continue
        slowest = max(s.values["total_ms"] for s in stats) or 1.0
        stats.sort(key=lambda s: (s is not ref, s.values["total_ms"]))
        across.append(AcrossProfiles(p, [_profile_row(s, ref, slowest) for s in stats]))
    return across


def _profile_row(s: PathStats, ref: PathStats, slowest: float) -> ProfileRow:
    total, base = s.values["total_ms"], ref.values["total_ms"]
    return ProfileRow(
        profile=s.profile,
        parts=s.profile.split("/"),
        n=s.n,
        unfinished=s.unfinished,
        total_ms=total,
        spread=s.spread["total_ms"],
        diff=_diff(s.samples["total_ms"], ref.samples["total_ms"], total - base),
        ratio=round(total / (base or 1.0), 2),
        steps=s.values["steps"],
        page_loads=s.values["page_loads"],
        kb=s.values["kb"],
        width=round(total / slowest * 100, 2),
        is_baseline=s is ref,
    )


def default_runs(store: Store, limit: int = 5, matrix: str = "paths") -> list[str]:
    """The ``limit`` latest runs of the ``paths`` matrix (made for this report) against the same
    target as the latest of them; without any, the latest run and earlier ones of its matrix.
    Runs of another matrix or target are never pooled."""
    runs = store.runs(limit=500)
    if not runs:
        return []
    wanted = matrix if any(r.matrix == matrix for r in runs) else runs[0].matrix
    same = [r for r in runs if r.matrix == wanted]
    return [r.id for r in same if r.target == same[0].target][:limit]


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


def write(store: Store, out_dir: Path, lang: str, name: str = "compare", **choice: Any) -> Path:
    """Render (``choice``: the keyword arguments of ``render``) into ``out_dir/<name>.<lang>.html``."""
    return html.write(render(store, lang, **choice), out_dir, html.report_name(name, lang))
