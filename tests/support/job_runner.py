"""A scheduled job's stand-in for ``orderprobe run`` in the scheduler tests: writes one real journey
into the real results store, as the mode file says, in a fraction of a browser's time.

    python tests/support/job_runner.py RUN_ID RESULTS_URL MODE_DIR

It reads ``MODE_DIR/<location>`` (the agent's, from $ORDERPROBE_LOCATION), else ``MODE_DIR/mode``:
``pass``; ``fail`` (the payment gateway is down: a checkout failure); ``dns`` (this agent's own
resolver fails: the shop's host does not resolve, nothing orderprobe injected); ``cleanup`` (the
journey passes, its synthetic order could not be cancelled).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from orderprobe.base.result import Cause, CleanupResult, FailurePoint, JourneyResult, RequestRecord, StepResult
from orderprobe.store.store import Store


def journey(run_id: str, mode: str, where: str) -> JourneyResult:
    now = datetime.now(UTC)
    failing = mode in ("fail", "dns")
    steps = [StepResult(name="pay", status="failed" if failing else "passed", start_ms=0, duration_ms=300)]
    failure = cause = None
    if mode == "fail":
        failure = FailurePoint(step="pay", error_type="TimeoutError", message="支付超时")
        cause = Cause(category="payment", detail="gateway_down", summary="支付网关不可用 payment gateway down")
    elif mode == "dns":
        dead = RequestRecord(method="GET", url="https://m.shop.example/", failure="net::ERR_NAME_NOT_RESOLVED")
        failure = FailurePoint(step="pay", error_type="Error", message="net::ERR_NAME_NOT_RESOLVED",
                               failed_requests=[dead])  # fmt: skip
        cause = Cause(category="network", detail="dns", summary="域名解析失败 DNS lookup failed")
    left = mode == "cleanup"
    cleanup = [CleanupResult(name="cancel order", ok=not left, error="HTTP 500" if left else None)]
    return JourneyResult(
        id=f"{run_id}-1", run_id=run_id, probe="checkout_basic", nodeid="t::test_checkout_basic",
        profile="android-mid/4g/beijing/normal", status="failed" if failing else "passed", started_at=now,
        duration_ms=300.0, steps=steps, failure=failure, cause=cause, location=where, cleanup=cleanup,
    )  # fmt: skip


def main() -> int:
    run_id, results, modes = sys.argv[1:4]
    where = os.environ.get("ORDERPROBE_LOCATION", "")
    chosen = Path(modes, where) if where and Path(modes, where).exists() else Path(modes, "mode")
    mode = chosen.read_text().strip() if chosen.exists() else "pass"
    store = Store(results)
    store.start_run(run_id, started_at=datetime.now(UTC), target="fake", matrix="smoke", location=where,
                    labels={"job": run_id.rsplit("-", 3)[0]})  # fmt: skip
    result = journey(run_id, mode, where)
    store.add_journey(result)
    failed = not result.status.ok
    store.finish_run(run_id, finished_at=datetime.now(UTC), exit_code=1 if failed else 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
