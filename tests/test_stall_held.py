"""A call an earlier step's outage held (``orderprobe.probes.stall.held_before``): the failing step's
link record reaches back to it while TCP could still be resending it, and not after. Pure data:
the browser-level case (a real outage, Chromium, the demo shop) is in tests/test_stall.py."""

from __future__ import annotations

from orderprobe.base.result import RequestRecord
from orderprobe.probes.stall import held_before

SITE = "http://127.0.0.1:8000"
QUOTE = RequestRecord(method="GET", url=f"{SITE}/api/logistics/quote", resource_type="fetch", start_ms=4_000)
OUTAGE = [(3_500.0, 16_000.0, "dropout")]  # 12.5 s: the quote's SYN resent at 5, 7, 11 s, then 19 s
DROPPED = {"up": {"outage": 4}}


def test_a_quote_held_by_an_outage_before_the_step_is_the_links() -> None:
    link = held_before("packet", OUTAGE, DROPPED, [QUOTE], start_ms=16_500, end_ms=18_000, site=SITE)
    assert link is not None and link.stalled
    (outage,) = link.outages
    assert outage.in_flight == ["GET /api/logistics/quote (sent 4.00 s, during the outage)"]


def test_a_call_unanswered_long_after_the_link_came_back_is_not_the_links() -> None:
    # Back at 16 s after a 12 s wait: TCP's next try came by ~29 s; at 40 s the server is why.
    assert held_before("packet", OUTAGE, DROPPED, [QUOTE], start_ms=30_000, end_ms=40_000, site=SITE) is None


def test_calls_sent_in_the_failing_step_or_after_the_outage_are_left_to_the_step_itself() -> None:
    in_step = QUOTE.model_copy(update={"start_ms": 17_000})
    assert held_before("packet", OUTAGE, DROPPED, [in_step], start_ms=16_500, end_ms=18_000, site=SITE) is None
    after = QUOTE.model_copy(update={"start_ms": 16_200})  # sent before the step, once the link was back
    assert held_before("packet", OUTAGE, {}, [after], start_ms=16_500, end_ms=18_000, site=SITE) is None
