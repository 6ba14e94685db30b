"""``--shard i/n``: a deterministic slice of the collected journeys, as Playwright Test's ``--shard``.

Every shard collects the same items in the same order (same files, matrix and profiles),
so dealing them out round-robin by position gives each machine a disjoint slice whose
union is the whole sweep, with the shards' sizes differing by at most one journey.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as on the command line
    total: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise ValueError(f"--shard {text!r}: expected I/N with 1 ≤ I ≤ N, e.g. 2/3")
        return cls(int(match[1]), int(match[2]))

    def take(self, items: list[T], key: Callable[[T], str]) -> list[T]:
        """This shard's items, in their original order; dealt by position in ``key`` order so
        that machines agree even if their collection order differed."""
        ranked = sorted(items, key=key)
        mine = {id(item) for position, item in enumerate(ranked) if position % self.total == self.index - 1}
        return [item for item in items if id(item) in mine]

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"
