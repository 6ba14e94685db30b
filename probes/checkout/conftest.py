"""What every built-in probe shares: a tagged journey cancels the orders it placed, afterwards."""

from __future__ import annotations

import pytest

from orderprobe.probes.journey import Journey
from orderprobe.probes.target import Target


@pytest.fixture(autouse=True)
def _cancel_probe_orders(journey: Journey, target: Target) -> None:
    """With --synthetic-header, the shop marks this journey's orders; cancel them after it, whether
    it passed, failed or timed out (the demo shop's ``POST /api/probe-orders/cancel``, the pattern a
    shop team can copy). Without a tag there is nothing to tell probe orders by: nothing is cancelled."""
    if not journey.tag_headers:
        return

    def cancel_probe_orders() -> None:
        import httpx  # only a tagged run cancels: httpx (with its CLI's rich and click) costs ~45 ms of CPU a process

        response = httpx.post(target.url("/api/probe-orders/cancel"), headers=journey.tag_headers, timeout=10)
        response.raise_for_status()

    journey.cleanup(cancel_probe_orders)
