"""Turn what happened into a verdict, given what was expected. Pure; no browser."""

from __future__ import annotations

from orderprobe.base.result import Cause, Expectation, Status

# Causes that are never an acceptable "blocked": the harness, the shopper's own network or the
# probe failed, not the shop's business rules. A network failure is not a refusal by the shop —
# under a profile it is usually orderprobe's own emulation (dropouts, DNS pollution) — so a row
# expecting "blocked" must not pass just because the emulator broke the checkout.
NEVER_BLOCKED = frozenset({"probe_broken", "unknown", "network"})


def verdict(
    *, failed: bool, cause: Cause | None, expectation: Expectation, slow: bool, missed: bool = False
) -> tuple[Status, Cause | None]:
    """(status, cause) for one attempt. ``missed``: the row's scenario did not happen (a switch
    never fired, the probe said so): a journey that went through then proves nothing either way,
    neither that the shop survives it nor, for an expected refusal, that the shop failed to refuse."""
    blocked_expected = expectation.outcome == "blocked"
    if not failed and missed:
        return Status.NOT_EXERCISED, None
    if not failed:
        if blocked_expected:
            return Status.FAILED, Cause(
                category="expectation",
                detail="not_blocked",
                rule="expectation",
                evidence=expectation.reason or "expected outcome: blocked",
                summary="预期被拦截，但下单成功 — expected to be blocked, but checkout went through",
            )
        return (Status.DEGRADED if slow else Status.PASSED), None
    assert cause is not None
    if cause.category == "probe_broken":
        return Status.ERROR, cause
    acceptable = (not expectation.causes or cause.category in expectation.causes) and (
        not expectation.details or cause.detail in expectation.details
    )
    if blocked_expected and cause.category not in NEVER_BLOCKED and acceptable:
        return Status.BLOCKED, cause
    return Status.FAILED, cause


def combine_attempts(statuses: list[Status]) -> Status:
    """Final status of a retried journey: a pass after a failure is flaky, never hidden."""
    final = statuses[-1]
    if final.ok and any(not s.ok for s in statuses[:-1]):
        return Status.FLAKY
    return final
