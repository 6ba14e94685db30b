"""One journey's conditions made real: the profile applied to its context and page, and
changed at named steps (mid-journey switches: signal lost, a hand-over to another network).

The network goes one of two ways (``mode``, recorded with the reason):

- ``packet``: the browser runs in its own namespace behind the worker's ``PacketPath``; delay,
  jitter, rate, loss, queue and outages are applied to every packet of every page, popup, worker
  and request of the context; a hand-over also changes the browser's address;
- ``cdp``: DevTools request-level throttling of the journey's page; outages switch that page
  offline and back (``offline``).

Neither uses a catch-all route, which would disable the context's HTTP cache.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError

from probes.emulation.device import brands, user_agent_override
from probes.emulation.offline import CdpOffline
from probes.emulation.routing import Routing
from probes.emulation.schedule import Outages
from probes.emulation.throttling.cdp import cdp_conditions, throttle_cpu, throttle_network
from profiles.models import Network, Profile, Switch

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, CDPSession, Page

    from probes.emulation.packet import PacketPath
    from probes.journey import Journey
    from probes.result import StepResult


class Emulation:
    """Applies ``profile`` to ``context``/``page``; also a Journey ``StepListener`` for switches."""

    def __init__(
        self,
        profile: Profile,
        context: BrowserContext,
        page: Page,
        *,
        clock: Callable[[], float] = time.perf_counter,
        seed: int | None = None,
        packet: PacketPath | None = None,
        reason: str = "",
        site: str = "",
    ) -> None:
        self.profile, self.context, self.page = profile, context, page
        pinned = profile.network.dropouts.seed if profile.network.dropouts else None
        # The outage schedule: the caller's seed, else the profile's pinned one, else fresh per journey.
        self.seed = seed if seed is not None else pinned if pinned is not None else random.randrange(2**32)
        self.packet, self.reason = packet, reason if packet is None else ""
        self.mode = "packet" if packet is not None else "cdp"
        self._clock = clock
        self._offline: CdpOffline | None = None
        self._link_t0 = 0.0
        self._link_stats: dict[str, Counter[str]] = {}
        self._closing_record: dict[str, Any] | None = None
        self.failed_offline: str | None = None
        self.addresses: list[str] = []
        self._t0: float | None = None
        self._cdp: CDPSession | None = None
        self._closed = False
        self._network: Network = profile.network
        self._switches: list[Switch] = list(profile.switches)
        self._fired: set[int] = set()
        self._step_notes: dict[str, list[str]] = {}
        self._journey_shift_s = 0.0  # emulation time minus journey time (both monotonic)
        self.outages = Outages(profile.network.dropouts, self.seed)
        # Faults stay seeded as before; under packet mode the link's resolver answers DNS pollution,
        # but a local site's *.localhost names never reach it (Chromium resolves those itself).
        # Any route makes Playwright intercept every request, so packet mode adds it only then.
        dns = "route" if packet is None else "localhost" if _local(site) else "resolver"
        self.routing = Routing(context, page, self.offline_now, seed, dns=dns)
        self.counts = self.routing.counts
        self.switches_done: list[dict[str, Any]] = []

    # -- lifecycle -----------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since ``apply()``."""
        return 0.0 if self._t0 is None else self._clock() - self._t0

    def apply(self) -> None:
        if self._t0 is not None:
            raise RuntimeError("Emulation.apply() called twice")
        self._cdp = self.context.new_cdp_session(self.page)
        if self.packet is not None:
            assert self.packet.link is not None and self.packet.namespace is not None
            self.packet.impose(self._network)
            self._link_stats = {"up": Counter(self.packet.link.up.stats), "down": Counter(self.packet.link.down.stats)}
            self.addresses = [self.packet.namespace.address]
        else:
            throttle_network(self._cdp, self._network, fresh=True)
            self._offline = CdpOffline(self._cdp, lambda off: cdp_conditions(self._network, offline=off), self._clock)
        throttle_cpu(self._cdp, self.profile.device)
        override = user_agent_override(self.profile.device, self.profile.region.languages)
        self._cdp.send("Emulation.setUserAgentOverride", override)
        self._t0 = self._clock()  # t = 0 once the conditions are in force: dropout times count from here
        self._link_t0 = self.packet.link.clock() if self.packet is not None and self.packet.link else 0.0
        self.routing.use(self._network)
        self._sync_outages()

    def close(self) -> None:
        """Stop intercepting; safe to call twice and after the context has closed."""
        if self._closed:
            return
        self._closed = True
        if self._offline is not None:
            self._offline.cancel()
        if self.packet is not None:
            self._closing_record = self._packet_record()  # the worker's link may be gone when the result is built
            self.packet.reset()
        try:
            self.routing.close()
            if self._cdp is not None:
                # A navigation still connecting to a host that drops packets holds detach() for the
                # TCP connect timeout (~130 s, measured, CDP and packet mode alike): stop it first.
                self._cdp.send("Page.stopLoading")
                self._cdp.detach()
        except PlaywrightError:
            pass  # the context or page is already gone: nothing left to undo

    def __enter__(self) -> Emulation:
        self.apply()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- conditions ----------------------------------------------------------------------------

    def injection(self, request: object, failure: str | None = None) -> str | None:
        """What orderprobe's emulation did to ``request``: a route's fault, DNS pollution or
        offline abort, or — under CDP — the page switched offline when it failed."""
        done = self.routing.injection(request)
        if done is None and self.packet is not None:  # the resolver at the link's host end lied about its host
            done = self.packet.polluted(str(getattr(request, "url", "")))
        if done is None and self.mode == "cdp" and failure and "ERR_INTERNET_DISCONNECTED" in failure:
            why = self.offline_now()
            done = f"orderprobe offline: {why}" if why else None
        return done

    def offline_now(self, t: float | None = None) -> str | None:
        """Why the network is down at ``t`` (default: now), or None when it is up."""
        return self.outages.why_down(self.now() if t is None else t)

    def go_offline(self, seconds: float, why: str = "probe") -> None:
        """Lose the signal from now for ``seconds``."""
        self.outages.go_offline(self.now(), seconds, why)
        self._sync_outages()

    def add_switch(self, switch: Switch) -> None:
        """A probe's own mid-journey switch, in addition to the profile's."""
        self._switches.append(switch)

    def unfired(self) -> list[str]:
        """The switches that never happened, each with why: the scenario a row names was not run."""
        return [
            f"switch {switch.label} never happened: the journey never reached step {switch.at!r}"
            for index, switch in enumerate(self._switches)
            if index not in self._fired
        ]

    def _hand_over(self, network: Network) -> None:
        assert self._cdp is not None
        if self.packet is not None:  # another network, another address: open connections break
            self.packet.impose(network)
            self.addresses.append(self.packet.hand_over()[1])
        else:
            throttle_network(self._cdp, network)
        self.outages.hand_over(network.dropouts, self.now())
        self._network = network
        self.routing.use(network)

    HORIZON_S = 3600.0  # outage windows are planned this far ahead (a journey is minutes at most)

    def _sync_outages(self) -> None:
        """Hand the outage windows to the link (exact) or to the CDP offline switch."""
        if self._closed or self._t0 is None:
            return
        windows = self.outages.windows(self.now() + self.HORIZON_S)
        if self.packet is not None:
            self.packet.schedule([(self._link_t0 + s, self._link_t0 + e) for s, e in windows])
        elif self._offline is not None:
            self._offline.schedule([(self._t0 + s, self._t0 + e) for s, e in windows])

    # -- Journey StepListener --------------------------------------------------------------------

    def _fire(self, step: str, when: str) -> None:
        for index, switch in enumerate(self._switches):
            if index in self._fired or switch.at != step or switch.when != when:
                continue
            self._fired.add(index)
            t = self.now()
            if switch.network is not None:
                self._hand_over(switch.network)
            if switch.offline_s:
                self.outages.go_offline(t, switch.offline_s, f"switch@{step}")
            self.switches_done.append({"at": step, "when": when, "t_s": round(t, 3), "did": switch.label})
            self._step_notes.setdefault(step, []).append(switch.label)
            self._sync_outages()

    def on_step_start(self, journey: Journey, name: str) -> None:
        self._journey_shift_s = self.now() - journey.elapsed_ms() / 1000
        self._fire(name, "start")

    def on_step_end(self, journey: Journey, step: StepResult) -> None:
        self._fire(step.name, "end")
        notes = self._step_notes.pop(step.name, None)
        if notes:
            step.conditions = "; ".join(notes)

    def on_step_failed(self, journey: Journey, name: str, error: BaseException) -> None:
        why = self.offline_now()
        if why:
            self.failed_offline = why  # evidence for the failure point: the link was down
            self.counts[f"failed_while_offline:{name}"] += 1

    # -- the link's own record, in journey time (ms) -------------------------------------------

    def outages_between(self, start_ms: float, end_ms: float) -> list[tuple[float, float, str]]:
        """Down windows overlapping [start_ms, end_ms] of the journey: (start_ms, end_ms, why)."""
        shift = self._journey_shift_s * 1000
        out = []
        for w in self.outages.record(self.now() + 1.0):
            s, e = w["start_s"] * 1000 - shift, w["end_s"] * 1000 - shift
            if s < end_ms and e > start_ms:
                out.append((round(s, 1), round(e, 1), str(w["why"])))
        return out

    def dropped_between(self, start_ms: float, end_ms: float) -> dict[str, dict[str, int]]:
        """Packets the link dropped in [start_ms, end_ms] of the journey, per direction and reason
        (packet mode; CDP emulation cannot count packets: {})."""
        link = self.packet.link if self.packet is not None else None
        if link is None or not hasattr(link, "dropped"):
            return {}
        base = self._link_t0 + self._journey_shift_s
        return link.dropped(base + start_ms / 1000, base + end_ms / 1000)

    # -- record --------------------------------------------------------------------------------

    def _packet_record(self) -> dict[str, Any]:
        if self._closing_record is not None:
            return self._closing_record
        link = self.packet.link if self.packet is not None else None
        stats = {}
        if link is not None and self._link_stats:
            stats = {d: dict(getattr(link, d).stats - self._link_stats[d]) for d in ("up", "down")}
        return {
            "latency": "rtt_ms split into one-way delays on every packet (userspace link, network namespace)",
            "addresses": list(self.addresses),  # the browser's, one more per hand-over
            "link_packets": stats,  # this journey's: in, out, lost, queue_full, outage, retired
            "dns": self._dns_record(),
        }

    def _dns_record(self) -> dict[str, Any]:
        resolver = self.packet.resolver if self.packet is not None else None
        if resolver is None:
            return {}
        return {
            "resolver": resolver.address,  # at the link's host end: every query crosses the link
            "upstream": [f"{host}:{port}" for host, port in resolver.upstream],
            "polluted": dict(resolver.answered),  # name → what the browser was told
        }

    def _cdp_record(self) -> dict[str, Any]:
        t0 = self._t0 or 0.0
        applied = [(edge, round(at - t0, 3)) for edge, at in self._offline.applied] if self._offline else []
        return {
            "cdp_network": cdp_conditions(self._network),
            "latency": "rtt_ms is round-trip, added once per request (Chromium request-level throttling)",
            "offline_edges": applied,  # when CDP offline was switched (s since apply)
        }

    def record(self) -> dict[str, Any]:
        """What was applied, for ``JourneyResult.conditions``: no secrets, JSON-able."""
        t = self.now()
        return {
            "profile": self.profile.name,  # the full profile is Profile.describe(); this is what was done with it
            "emulation": self.mode,
            "emulation_reason": self.reason,  # why not packet-level ("" when it is)
            "network": self._network.name,  # the last one, after any hand-over
            **(self._packet_record() if self.packet is not None else self._cdp_record()),
            "cpu_slowdown": self.profile.device.cpu_slowdown,
            "client_hints": bool(brands(self.profile.device)),
            "routes": self.routing.patterns,
            "seed": self.seed,
            "dropout_seed": self.outages.dropout_seed,  # replays the dropout schedule
            "offline_windows": self.outages.record(t),
            "switches": list(self.switches_done),
            "requests": dict(self.counts),
            "elapsed_s": round(t, 3),
        }


def _local(site: str) -> bool:
    host = (urlsplit(site).hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")
