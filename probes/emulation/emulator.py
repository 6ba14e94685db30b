"""One journey's conditions made real: the profile applied to its context and page, and
changed at named steps (mid-journey switches: signal lost, a hand-over to another network).

The network goes the worker's ``NetworkPath`` (``path``; its ``mode`` recorded with the reason):

- ``PacketPath``: the browser runs in its own namespace behind an emulated link; delay, jitter,
  rate, loss, queue and outages are applied to every packet of every page, popup, worker and
  request of the context; a hand-over also changes the browser's address;
- ``CdpPath``: DevTools request-level throttling of the journey's page; outages switch that page
  offline and back (``offline``).

Neither uses a catch-all route, which would disable the context's HTTP cache.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Error as PlaywrightError

from orderprobe.probes.emulation.device import brands, user_agent_override
from orderprobe.probes.emulation.path import CdpPath, NetworkPath
from orderprobe.probes.emulation.routing import Routing
from orderprobe.probes.emulation.schedule import Outages
from orderprobe.probes.emulation.throttling.cdp import throttle_cpu
from orderprobe.probes.journey import Phase, StepListener
from orderprobe.profiles.models import Network, Profile, Switch

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, CDPSession, Page

    from orderprobe.base.result import StepResult
    from orderprobe.probes.journey import Journey


class Emulation(StepListener):
    """Applies ``profile`` to ``context``/``page``; also a Journey ``StepListener`` for switches."""

    phase = Phase.NETWORK  # whether the link was down is read before the (slow) evidence capture

    def __init__(
        self,
        profile: Profile,
        context: BrowserContext,
        page: Page,
        *,
        clock: Callable[[], float] = time.perf_counter,
        seed: int | None = None,
        path: NetworkPath | None = None,
        site: str = "",
        cpu_slowdown: str = "profile",
    ) -> None:
        """``path``: the worker's (``orderprobe.probes.emulation.packet.choose``); DevTools by default.
        ``cpu_slowdown``: ``off`` leaves the device's CPU slowdown out (``--cpu-slowdown``); recorded."""
        self.profile, self.context, self.page = profile, context, page
        self.cpu_rate = profile.device.cpu_slowdown if cpu_slowdown == "profile" else 1.0
        pinned = profile.network.dropouts.seed if profile.network.dropouts else None
        # The outage schedule: the caller's seed, else the profile's pinned one, else fresh per journey.
        self.seed = seed if seed is not None else pinned if pinned is not None else random.randrange(2**32)
        self.path = path if path is not None else CdpPath()
        self._clock = clock
        self._began = False
        self._path_record: dict[str, Any] | None = None  # the path's, as the journey ended
        self.failed_offline: str | None = None
        self._t0: float | None = None
        self._cdp: CDPSession | None = None
        self._closed = False
        self._crashed = False  # the renderer crashed: its DevTools session is dead
        self._network: Network = profile.network
        self._switches: list[Switch] = list(profile.switches)
        self._fired: set[int] = set()
        self._step_notes: dict[str, list[str]] = {}
        self._journey_shift_s = 0.0  # emulation time minus journey time (both monotonic)
        self.outages = Outages(profile.network.dropouts, self.seed)
        self.routing = Routing(context, page, self.offline_now, seed, dns=self.path.dns_routes(site))
        self.counts = self.routing.counts
        self.switches_done: list[dict[str, Any]] = []

    @property
    def mode(self) -> str:
        return self.path.mode

    # -- lifecycle -----------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since ``apply()``."""
        return 0.0 if self._t0 is None else self._clock() - self._t0

    def apply(self) -> None:
        if self._t0 is not None:
            raise RuntimeError("Emulation.apply() called twice")
        self._cdp = self.context.new_cdp_session(self.page)
        self.page.on("crash", lambda _: setattr(self, "_crashed", True))
        throttle_cpu(self._cdp, self.cpu_rate)
        override = user_agent_override(self.profile.device, self.profile.region.languages)
        self._cdp.send("Emulation.setUserAgentOverride", override)
        self._began = True  # ended at close even if it fails half-way
        self.path.begin(self._network, self._cdp, self._clock)  # last: its time starts with ours
        self._t0 = self._clock()  # t = 0 once the conditions are in force: dropout times count from here
        self.routing.use(self._network)
        self._sync_outages()

    def close(self) -> None:
        """Stop intercepting; safe to call twice and after the context has closed."""
        if self._closed:
            return
        self._closed = True
        if self._began:  # the worker's link may be gone when the result is built: its record is kept
            self._path_record = self.path.end()
        try:
            self.routing.close()
            # A crashed renderer's session holds detach() ~5 s for nothing: closing the context ends it.
            if self._cdp is not None and not self._crashed:
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
        return done or self.path.injection(str(getattr(request, "url", "")), failure, self.offline_now)

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
        self.path.hand_over_to(network)
        self.outages.hand_over(network.dropouts, self.now())
        self._network = network
        self.routing.use(network)

    HORIZON_S = 3600.0  # outage windows are planned this far ahead (a journey is minutes at most)

    def _sync_outages(self) -> None:
        """Hand the outage windows to the path: the link (exact) or the CDP offline switch."""
        if self._closed or self._t0 is None:
            return
        self.path.set_outages(self.outages.windows(self.now() + self.HORIZON_S))

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
        shift = self._journey_shift_s
        return self.path.dropped(shift + start_ms / 1000, shift + end_ms / 1000)

    # -- record --------------------------------------------------------------------------------

    def record(self) -> dict[str, Any]:
        """What was applied, for ``JourneyResult.conditions``: no secrets, JSON-able."""
        t = self.now()
        asked = self.profile.device.cpu_slowdown
        return {
            "profile": self.profile.name,  # the full profile is Profile.describe(); this is what was done with it
            "emulation": self.path.mode,
            "emulation_reason": self.path.reason,  # why not packet-level ("" when it is)
            "network": self._network.name,  # the last one, after any hand-over
            **(self._path_record if self._path_record is not None else self.path.record()),
            "cpu_slowdown": self.cpu_rate,  # applied; the profile's too when it was not (--cpu-slowdown off)
            **({"cpu_slowdown_profile": asked} if asked != self.cpu_rate else {}),
            "client_hints": bool(brands(self.profile.device)),
            "routes": self.routing.patterns,
            "seed": self.seed,
            "dropout_seed": self.outages.dropout_seed,  # replays the dropout schedule
            "offline_windows": self.outages.record(t),
            "switches": list(self.switches_done),
            "requests": dict(self.counts),
            "elapsed_s": round(t, 3),
        }
