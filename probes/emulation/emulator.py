"""One journey's conditions made real: the profile applied to its context and page, and
changed at named steps (mid-journey switches: signal lost, a hand-over to another network).

Sync Playwright must only be used from the thread that owns the page, and route handlers
already run there, so nothing here needs a timer or a thread (see ``schedule``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Error as PlaywrightError

from probes.emulation.device import brands, user_agent_override
from probes.emulation.routing import Routing
from probes.emulation.schedule import Outages
from probes.emulation.throttling.cdp import cdp_conditions, throttle_cpu, throttle_network
from profiles.models import Network, Profile, Switch

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, CDPSession, Page

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
    ) -> None:
        self.profile, self.context, self.page, self.seed = profile, context, page, seed
        self._clock = clock
        self._t0: float | None = None
        self._cdp: CDPSession | None = None
        self._closed = False
        self._network: Network = profile.network
        self._switches: list[Switch] = list(profile.switches)
        self._fired: set[int] = set()
        self._step_notes: dict[str, list[str]] = {}
        self.outages = Outages(profile.network.dropouts, seed)
        self.routing = Routing(context, page, self.offline_now, seed)
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
        throttle_network(self._cdp, self._network, fresh=True)
        throttle_cpu(self._cdp, self.profile.device)
        override = user_agent_override(self.profile.device, self.profile.region.languages)
        self._cdp.send("Emulation.setUserAgentOverride", override)
        self._t0 = self._clock()  # t = 0 once the conditions are in force: dropout times count from here
        self.routing.use(self._network)
        self._sync_catch_all()

    def close(self) -> None:
        """Stop intercepting; safe to call twice and after the context has closed."""
        if self._closed:
            return
        self._closed = True
        try:
            self.routing.close()
            if self._cdp is not None:
                self._cdp.detach()
        except PlaywrightError:
            pass  # the context or page is already gone: nothing left to undo

    def __enter__(self) -> Emulation:
        self.apply()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- conditions ----------------------------------------------------------------------------

    def offline_now(self, t: float | None = None) -> str | None:
        """Why the network is down at ``t`` (default: now), or None when it is up."""
        return self.outages.why_down(self.now() if t is None else t)

    def go_offline(self, seconds: float, why: str = "probe") -> None:
        """Lose the signal from now for ``seconds`` (requests started meanwhile fail)."""
        self.outages.go_offline(self.now(), seconds, why)
        self._sync_catch_all()

    def add_switch(self, switch: Switch) -> None:
        """A probe's own mid-journey switch, in addition to the profile's."""
        self._switches.append(switch)

    def _hand_over(self, network: Network) -> None:
        assert self._cdp is not None
        throttle_network(self._cdp, network)
        self.outages.hand_over(network.dropouts, self.now())
        self._network = network
        self.routing.use(network)

    def _sync_catch_all(self) -> None:
        """The catch-all route exists only while the network can be down."""
        self.routing.catch_all(self.outages.can_be_down(self.now()) and not self._closed)

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
        self._sync_catch_all()  # also drops the catch-all route once an offline window is over

    def on_step_start(self, journey: Journey, name: str) -> None:
        self._fire(name, "start")

    def on_step_end(self, journey: Journey, step: StepResult) -> None:
        self._fire(step.name, "end")
        notes = self._step_notes.pop(step.name, None)
        if notes:
            step.conditions = "; ".join(notes)

    def on_step_failed(self, journey: Journey, name: str, error: BaseException) -> None:
        why = self.offline_now()
        if why:
            self.counts[f"failed_while_offline:{name}"] += 1

    # -- record --------------------------------------------------------------------------------

    def record(self) -> dict[str, Any]:
        """What was applied, for ``JourneyResult.conditions``: no secrets, JSON-able."""
        t = self.now()
        return {
            "profile": self.profile.name,  # the full profile is Profile.describe(); this is what was done with it
            "network": self._network.name,  # the last one, after any hand-over
            "cdp_network": cdp_conditions(self._network),
            "latency": "rtt_ms is round-trip, added once per request (Chromium request-level throttling)",
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
