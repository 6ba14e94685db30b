"""Where a journey broke: the first failing request that the failure point is moved back to.

A checkout often breaks a step before it shows: "add to cart" posts, the API answers 500, the
page ignores it and the step passes; "checkout" then fails on an empty cart. Blaming
"checkout" sends people to the wrong place. So the failure point is the step of the first
*breaking* request when that step precedes the one whose action failed (that one is kept as
``FailurePoint.surfaced_at``), and the request itself, with its timing, is the evidence.

Every earlier step passed, so only a request the shop's own path depends on may move the point:

* a **main-frame navigation to the shop's own site** (document) that failed or answered >= 400:
  the shopper was shown an error page or nothing;
* an **XHR / fetch to the shop's own site** that failed at the network level or answered 5xx,
  or, for a request that changes state (not GET / HEAD: add to cart, submit), any >= 400. A GET
  answering 4xx (``/api/me`` 401 for a guest, a widget's 404) is routine on healthy shops.

Never: requests cancelled by the page itself (``ERR_ABORTED``), sub-resources (images, fonts,
styles, scripts, prefetches), beacons and analytics / telemetry endpoints, and any request to
another site — a third party the page went on without (e.g. the cashier hand-off to a payment
domain answering 503 while the step that started it passed: that failure belongs to the step
that needed the cashier, "pay"). Those stay evidence of the step where the failure surfaced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from orderprobe.base.result import RequestRecord
from orderprobe.probes import request_kinds, sites

# Requests whose failure no shopper notices, even on the shop's own site.
TELEMETRY = re.compile(
    r"analytics|telemetry|beacon|/collect\b|/track(ing)?\b|/log(s|ging)?\b|/metrics?\b|/stats?\b|/rum\b|pixel|sentry",
    re.I,
)


def site_of(url: str) -> str:
    """The registrable domain of ``url`` (public-suffix aware; an IP address as it is)."""
    return sites.site(sites.host_of(url))


def network_failure(r: RequestRecord) -> bool:
    """Failed at the network level; a request the page cancelled itself (ERR_ABORTED) did not."""
    return bool(r.failure and "ERR_ABORTED" not in r.failure)


def failed(r: RequestRecord) -> bool:
    """Failed at the network level or answered >= 400."""
    return network_failure(r) or (r.status or 0) >= 400


def breaks_path(r: RequestRecord, site: str) -> bool:
    """Does this failed request break the shop's own path (see the module docstring)?"""
    if not failed(r) or not site or site_of(r.url) != site or TELEMETRY.search(r.url):
        return False
    if r.navigation:
        return True
    if r.resource_type in request_kinds.API:
        return network_failure(r) or (r.status or 0) >= 500 or r.method.upper() not in request_kinds.READS
    return False


def first_breaking(
    requests: Iterable[RequestRecord], steps: Sequence[str], surfaced: str, site: str
) -> RequestRecord | None:
    """The earliest request breaking the path in ``surfaced`` or a step before it (``steps``: the
    journey's steps in order). A request of a later step, or of no step, never counts."""
    # The failing step is not in ``steps`` yet while it fails; "after pay" never is.
    upto = {*steps[: steps.index(surfaced)], surfaced} if surfaced in steps else {*steps, surfaced}
    candidates = [r for r in requests if r.step in upto and breaks_path(r, site)]
    return min(candidates, key=lambda r: r.start_ms, default=None)
