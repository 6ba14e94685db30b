"""What one run says: one vocabulary for the run report, the scheduler's run records, its
metrics and its alerts. (A journey's own outcome is ``orderprobe.base.result.Status``.)"""

from enum import StrEnum


class Verdict(StrEnum):
    PASSED = "passed"  # every journey met its expectation
    FAILED = "failed"  # checkout is broken
    FLAKY = "flaky"  # passed only on a retry: the scheduler alerts it at low urgency; a report counts it a pass
    ERROR = "error"  # inconclusive: probes broken, or the run crashed or timed out
    EMPTY = "empty"  # no journeys
    INTERRUPTED = "interrupted"  # stopped before it finished
    UNFINISHED = "unfinished"  # no end recorded (still running, or killed)
    ABANDONED = "abandoned"  # its process died unseen
    INCOMPLETE = "incomplete"  # shards of a sweep have not reported
    RUNNING = "running"  # a scheduled run not finished yet

    @property
    def ok(self) -> bool:
        """Checkout works, as far as this run can tell."""
        return self in (Verdict.PASSED, Verdict.FLAKY)
