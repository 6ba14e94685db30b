"""Did the emulated network stall a step? The link's own record of the step — outage windows,
packets it dropped per direction, requests in flight when each outage began — as evidence.

A weak signal breaks a checkout in ways the page does not show: on a packet-level link a
request caught by an outage is not failed, it waits (TCP retransmits with backoff), so the page
looks healthy and a probe waiting for the next page times out. Only the link knows it held that
request. So each step carries what the link did while it ran (``StepResult.link``), and a
failing step the link stalled is the network's (``FailurePoint.link``), with that record quoted.
So is a call the failing step still waited for, sent before it and held by an outage the step
itself did not see (a quote or an SMS send sent as the signal went), while TCP could still be
resending it.

Causal order: when the shop refused the step (a path-breaking answer >= 400, e.g. ``POST
/checkout → 422``) before the outage began, the refusal decides, not the outage.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from orderprobe.base.result import LinkRecord, Outage, RequestRecord
from orderprobe.probes.first_failure import breaks_path
from orderprobe.probes.journey import Phase, StepListener

if TYPE_CHECKING:
    from orderprobe.base.result import StepResult
    from orderprobe.probes.emulation.emulator import Emulation
    from orderprobe.probes.journey import Journey
    from orderprobe.probes.recorder import Recorder
    from orderprobe.profiles.models import Network


def _path(r: RequestRecord) -> str:
    parts = urlsplit(r.url)
    return f"{r.method} {parts.path or '/'}" if parts.scheme in ("http", "https") else f"{r.method} {r.url[:60]}"


def _answered_ms(r: RequestRecord) -> float | None:
    return None if r.duration_ms is None else r.start_ms + r.duration_ms


def _held(r: RequestRecord, start_ms: float, end_ms: float) -> str | None:
    """How the outage [start_ms, end_ms) caught ``r``, or None if it did not."""
    answered = _answered_ms(r)
    if r.start_ms < start_ms and (answered is None or answered > start_ms):
        return f"{_path(r)} (sent {r.start_ms / 1000:.2f} s, in flight)"
    if start_ms <= r.start_ms < end_ms:
        return f"{_path(r)} (sent {r.start_ms / 1000:.2f} s, during the outage)"
    return None


def record(
    mode: str,
    outages: list[tuple[float, float, str]],
    dropped: dict[str, dict[str, int]],
    requests: Iterable[RequestRecord],
    site: str,
) -> LinkRecord | None:
    """The link's record of one step (``outages`` overlapping it, ``dropped`` while it ran),
    or None when the emulated network did nothing to it."""
    if not outages and not dropped:
        return None
    requests = [r for r in requests if r.url.startswith(("http://", "https://"))]
    windows = [Outage(start_ms=s, end_ms=e, why=why, in_flight=[h for r in requests if (h := _held(r, s, e))])
               for s, e, why in outages]  # fmt: skip
    outage_drops = sum(d.get("outage", 0) for d in dropped.values())
    stalled = bool(windows) and (outage_drops > 0 or any(w.in_flight for w in windows))
    refused = None
    if windows:
        first = min(w.start_ms for w in windows)
        refusals = [
            r for r in requests
            if (r.status or 0) >= 400 and breaks_path(r, site) and (_answered_ms(r) or first) < first
        ]  # fmt: skip
        if refusals:
            r = min(refusals, key=lambda x: x.start_ms)
            refused = f"{_path(r)} → HTTP {r.status} at {(_answered_ms(r) or 0) / 1000:.2f} s, before the outage"
            stalled = False
    return LinkRecord(
        mode=mode,
        outages=windows,
        dropped=dropped,
        stalled=stalled,
        refused_first=refused,
        summary=summarise(mode, windows, dropped),
    )


def resending(r: RequestRecord, back_ms: float, now_ms: float) -> bool:
    """Could TCP still be resending ``r``, sent before an outage that ended at ``back_ms``? It
    doubles its wait after each loss, so its next try after the link is back comes at most as long
    after as the request had waited by then (plus a second: the first wait)."""
    return now_ms - back_ms <= back_ms - r.start_ms + 1000


def held_before(
    mode: str,
    outages: list[tuple[float, float, str]],
    dropped: dict[str, dict[str, int]],
    waiting: Iterable[RequestRecord],
    start_ms: float,
    end_ms: float,
    site: str,
) -> LinkRecord | None:
    """The link's record since the oldest call a step failing at ``end_ms`` still waited for, if
    that call was sent before the step (``start_ms``) and an outage held it: a quote or an SMS
    send caught by an outage the step did not see is late because of the link. Only while TCP
    could still be resending it (``resending``): a call unanswered long after the link came back
    is the server's. ``outages`` and ``dropped``: the link's since that call was sent."""
    earlier = [r for r in waiting if r.start_ms < start_ms]
    outages = [o for o in outages if any(resending(r, o[1], end_ms) for r in earlier)]
    link = record(mode, outages, dropped, earlier, site)
    return link if link is not None and any(w.in_flight for w in link.outages) else None


SLOW_RTT_MS, SLOW_DOWN_KBPS = 300, 1000  # 3G-class or worse (BT '3g': 300 ms; '3gslow': 400 ms, 400 kbit/s)


def slowness(network: Network) -> str:
    """The link's own figures when they make it slow (a late answer needs no outage), else ''."""
    down = network.down_kbps
    if (network.rtt_ms or 0) < SLOW_RTT_MS and (down is None or down > SLOW_DOWN_KBPS):
        return ""
    return f"{network.name}: {network.rtt_ms:g} ms RTT, {f'{down:g} kbit/s' if down else 'unthrottled'} down"


def summarise(mode: str, windows: list[Outage], dropped: dict[str, dict[str, int]]) -> str:
    parts = []
    for w in windows:
        held = f"; in flight: {', '.join(w.in_flight[:4])}" if w.in_flight else "; nothing in flight"
        parts.append(f"link down {w.start_ms / 1000:.2f}–{w.end_ms / 1000:.2f} s ({w.why}{held})")
    if dropped:
        counts = ", ".join(
            f"{direction} {sum(c.values())} ({', '.join(f'{why} {n}' for why, n in sorted(c.items()))})"
            for direction, c in sorted(dropped.items())
        )
        parts.append(f"packets dropped by the link: {counts}")
    elif mode == "cdp" and windows:
        parts.append("CDP offline: requests in flight failed at once")
    return f"emulated network ({mode}): " + "; ".join(parts)


class LinkWitness(StepListener):
    """A Journey ``StepListener`` (after the recorder's capture): each step gets the link's record,
    and a failing step's failure point gets it as of the moment it failed (before evidence capture)."""

    phase = Phase.ENRICH

    def __init__(self, emulation: Emulation, recorder: Recorder) -> None:
        self.emulation, self.recorder = emulation, recorder

    def _record(self, start_ms: float, end_ms: float) -> LinkRecord | None:
        e = self.emulation
        requests = [*self.recorder.requests, *self.recorder.failed, *self.recorder.open_requests()]
        unique = list({id(r): r for r in requests}.values())
        return record(
            e.mode, e.outages_between(start_ms, end_ms), e.dropped_between(start_ms, end_ms), unique, self.recorder.site
        )

    def on_step_failed(self, journey: Journey, name: str, error: BaseException) -> None:
        failure = self.recorder.failure
        start, end = journey.current_start_ms, journey.failed_at_ms
        if failure is not None and start is not None and end is not None:
            link = self._record(start, end)
            if link is None or not link.stalled:
                link = self._held_before(failure.waiting, start, end) or link
            if slow := slowness(self.emulation.profile.network):
                mode = self.emulation.mode
                link = link or LinkRecord(mode=mode, summary=f"emulated network ({mode}): no outage or drop")
                link.slow, link.summary = slow, f"{link.summary}; a slow link by its profile ({slow})"
            failure.link = link

    def _held_before(self, waiting: list[RequestRecord], start_ms: float, end_ms: float) -> LinkRecord | None:
        earlier = [r for r in waiting if r.start_ms < start_ms]
        if not earlier:
            return None
        e, since = self.emulation, min(r.start_ms for r in earlier)
        return held_before(
            e.mode, e.outages_between(since, end_ms), e.dropped_between(since, end_ms), earlier, start_ms, end_ms,
            self.recorder.site,
        )  # fmt: skip

    def on_step_end(self, journey: Journey, step: StepResult) -> None:
        step.link = self._record(step.start_ms, step.start_ms + step.duration_ms)
