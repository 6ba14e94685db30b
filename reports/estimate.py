"""A population sweep's estimate: the share of checkouts that fail, by cause family and by the
step where they broke, each with a 95 % Wilson interval, beside the published figures the
population declares (``orderprobe.profiles.population.Figure``). Pure: journeys in, a JSON-able view out.

A checkout fails when its journey has a cause (refused, broken, or the probe itself broke —
the last shown as its own family, not hidden). Journeys that were not drawn from a population
(``conditions["population"]``) are not in it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orderprobe.base.result import JourneyResult

Z = 1.959963984540054  # the 97.5th percentile of the standard normal: a two-sided 95 % interval


def wilson(hits: int, n: int, z: float = Z) -> tuple[float, float]:
    """Wilson score interval for a share ``hits / n`` (stays inside [0, 1] and honest at 0 and n)."""
    if n == 0:
        return (0.0, 1.0)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Share:
    hits: int
    n: int

    @property
    def value(self) -> float:
        return self.hits / self.n if self.n else 0.0

    @property
    def low(self) -> float:
        return wilson(self.hits, self.n)[0]

    @property
    def high(self) -> float:
        return wilson(self.hits, self.n)[1]

    def covers(self, share: float) -> bool:
        return self.low <= share <= self.high


@dataclass(frozen=True)
class Row:
    name: str
    of_checkouts: Share
    of_failures: Share


@dataclass(frozen=True)
class FigureRow:
    label: str
    study: float
    at_least: bool
    of: str  # checkouts | failures
    scope: str  # what the share is of, in words: "account=teen, probe=virtual_goods_checkout"
    ours: Share
    source: str

    @property
    def agrees(self) -> bool | None:
        """The study's figure inside our interval (for "over X": our interval reaches X or above);
        None when no journey of the sweep was in its scope."""
        if not self.ours.n:
            return None
        return self.ours.high >= self.study if self.at_least else self.ours.covers(self.study)


@dataclass
class Estimate:
    matrix: str
    seed: Any
    checkouts: int
    failed: Share
    families: list[Row] = field(default_factory=list)
    steps: list[Row] = field(default_factory=list)
    figures: list[FigureRow] = field(default_factory=list)


def _drawn(j: JourneyResult) -> dict[str, Any] | None:
    found = j.conditions.get("population")
    return found if isinstance(found, dict) else None


def _names(j: JourneyResult) -> dict[str, str]:
    parts = dict(zip(("device", "network", "region", "account"), j.profile.split("+")[0].split("/"), strict=False))
    return {**parts, "probe": j.probe}


def _family(j: JourneyResult) -> tuple[str, str]:
    assert j.cause is not None
    return j.cause.category, f"{j.cause.category}/{j.cause.detail}"


def _matches(j: JourneyResult, family: str, step: str) -> bool:
    if j.cause is None:
        return False
    if family and family not in _family(j):
        return False
    return not step or (j.failed_step or "") == step


def estimate(journeys: Sequence[JourneyResult]) -> Estimate | None:
    drawn = [j for j in journeys if _drawn(j) is not None]
    if not drawn:
        return None
    first = _drawn(drawn[0]) or {}
    failed = [j for j in drawn if j.cause is not None]
    n, k = len(drawn), len(failed)
    families = Counter(j.cause.category for j in failed if j.cause)
    steps = Counter(j.failed_step or "–" for j in failed)

    def rows(counts: Counter[str]) -> list[Row]:
        return [Row(name, Share(c, n), Share(c, k)) for name, c in counts.most_common()]

    figures = []
    for f in first.get("figures", []):
        where = {kind: tuple(names) for kind, names in (f.get("where") or {}).items()}
        scope = [j for j in drawn if all(_names(j).get(kind) in names for kind, names in where.items())]
        if f["of"] == "failures":
            scope = [j for j in scope if j.cause is not None]
        hits = sum(_matches(j, f.get("family", ""), f.get("step", "")) for j in scope)
        words = ", ".join(f"{kind}={'|'.join(names)}" for kind, names in where.items())
        figures.append(FigureRow(f["label"], f["share"], f.get("at_least", False), f["of"], words,
                                 Share(hits, len(scope)), f["source"]))  # fmt: skip
    return Estimate(first.get("matrix", ""), first.get("seed"), n, Share(k, n), rows(families), rows(steps), figures)
