"""When a journey records a Playwright trace, what the trace holds, and when it is kept.

Trace snapshots (a DOM copy after every action) are the dominant harness cost on heavy
real pages (measured in ``benchmarks/overhead.py``), and a monitor pays it on every passing
journey. So by default a first attempt records no trace — its failure evidence is the
recorder's own request log, page text and screenshot — and the retry that a failure
triggers records the full trace (Playwright Test's ``on-first-retry``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TraceMode:
    name: str
    attempts: str  # which attempts record: "never" | "retries" | "all"
    snapshots: bool  # DOM snapshots per action (the costly part)
    screenshots: bool  # screencast frames
    keep: str  # "always" | "failure"
    summary: str

    def records(self, attempt: int) -> bool:
        return self.attempts == "all" or (self.attempts == "retries" and attempt > 1)

    def keeps(self, ok: bool) -> bool:
        return self.keep == "always" or not ok


MODES = {
    mode.name: mode
    for mode in (
        TraceMode("off", "never", False, False, "failure", "no trace; a failure keeps requests, page text, screenshot"),
        TraceMode("on-first-retry", "retries", True, True, "always", "full trace on retries only (the default)"),
        TraceMode("screenshots-on-failure", "all", False, True, "failure", "actions + screencast, no DOM snapshots"),
        TraceMode("retain-on-failure", "all", True, True, "failure", "full trace of every attempt, kept on failure"),
        TraceMode("on", "all", True, True, "always", "full trace of every attempt, always kept"),
    )
}
DEFAULT = "on-first-retry"
