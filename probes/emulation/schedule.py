"""When the network is down: the current network's seeded dropouts plus explicit offline windows
(mid-journey switches, ``Emulation.go_offline``). Times are seconds since emulation began.

The schedule is computed up front from the seed; the emulator hands the windows to the packet
link (exact, on its own thread) or to the CDP offline switch (``offline.py``).
"""

from __future__ import annotations

import random
from typing import Any

from orderprobe.profiles.models import Dropouts


def dropout_windows(dropouts: Dropouts, until_s: float, seed: int | None = None) -> list[tuple[float, float]]:
    """Offline windows (start, end) in seconds from the start of emulation, up to ``until_s``.

    Same seed ⇒ same schedule, and a longer horizon only appends windows. The first outage
    starts in ``first_s``, by default in [0, every_s.high): the journey starts somewhere between
    two stations. A ``seed`` given here (the run's) replaces the network's own.
    """
    rng = random.Random(dropouts.seed if seed is None else seed)
    t = rng.uniform(*(dropouts.first_s or (0, dropouts.every_s[1])))
    out: list[tuple[float, float]] = []
    while t < until_s:
        off = rng.uniform(*dropouts.offline_s)
        out.append((round(t, 3), round(t + off, 3)))
        t += off + rng.uniform(*dropouts.every_s)
    return out


class Outages:
    """The timeline of one journey's network: is it down at ``t``, and why?"""

    def __init__(self, dropouts: Dropouts | None, seed: int | None = None) -> None:
        self.seed = seed  # the run's: replaces every network's own
        self._dropouts: Dropouts | None = None
        self.dropout_seed: int | None = None  # the seed in use, recorded so a schedule can be replayed
        self._origin = 0.0  # the current network's dropouts count from here (a hand-over restarts them)
        self._windows: list[tuple[float, float]] = []
        self._horizon = 0.0
        self._past: list[tuple[float, float]] = []  # earlier networks' dropouts, for the record
        self._offline: list[tuple[float, float, str]] = []  # (start, end, why)
        self._use(dropouts)

    def hand_over(self, dropouts: Dropouts | None, t: float) -> None:
        """A new network from ``t`` on: its own dropout schedule starts there."""
        self._past += self._started(t)
        self._use(dropouts)
        self._origin = t
        self._windows, self._horizon = [], 0.0

    def _use(self, dropouts: Dropouts | None) -> None:
        self._dropouts = dropouts
        if dropouts is None:
            return
        seed = self.seed if self.seed is not None else dropouts.seed
        # Unpinned: drawn once per network, so the schedule stays put as its horizon grows.
        self.dropout_seed = seed if seed is not None else random.SystemRandom().randrange(2**31)

    def go_offline(self, t: float, seconds: float, why: str) -> None:
        self._offline.append((t, t + seconds, why))

    def why_down(self, t: float) -> str | None:
        """Why the network is down at ``t``, or None when it is up."""
        for start, end, why in self._offline:
            if start <= t < end:
                return why
        if self._dropouts is None:
            return None
        local = self._cover(t)
        return "dropout" if any(start <= local < end for start, end in self._windows) else None

    def windows(self, until: float) -> list[tuple[float, float]]:
        """Every down window that begins before ``until`` (dropouts of past and current networks,
        offline switches), merged where they overlap: what a link or the CDP switch must apply."""
        self._cover(until)
        origin = self._origin
        spans = self._past + [(origin + s, origin + e) for s, e in self._windows if origin + s < until]
        spans += [(s, e) for s, e, _ in self._offline if s < until]
        merged: list[tuple[float, float]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def record(self, t: float) -> list[dict[str, Any]]:
        """Every window begun by ``t``, in order, JSON-able."""
        windows = [{"start_s": s, "end_s": e, "why": "dropout"} for s, e in self._past + self._started(t)]
        windows += [{"start_s": round(s, 3), "end_s": round(e, 3), "why": why} for s, e, why in self._offline if s <= t]
        return sorted(windows, key=lambda w: w["start_s"])

    def _cover(self, t: float) -> float:
        """Extend the schedule to cover ``t`` (prefix-stable: a longer horizon only appends)."""
        local = t - self._origin
        if self._dropouts is not None and local >= self._horizon:
            self._horizon = max(600.0, local * 2)
            self._windows = dropout_windows(self._dropouts, self._horizon, seed=self.dropout_seed)
        return local

    def _started(self, t: float) -> list[tuple[float, float]]:
        """The current network's dropout windows that have begun by ``t``."""
        self._cover(t)
        origin = self._origin
        return [(round(origin + s, 3), round(origin + e, 3)) for s, e in self._windows if origin + s <= t]
