"""Make a profile's conditions real for one browser context, and change them at a named step.

How each condition is applied (sync Playwright, Chromium):

- latency and throughput: CDP ``Network.emulateNetworkConditions`` on the page's CDP session.
  Request-level: Chromium holds each response until ``rtt_ms`` after its request was sent
  (one round trip per request, not per DNS/TCP/TLS handshake) and paces body bytes at the
  profile's throughput. Only the page the session is attached to is throttled.
- CPU: CDP ``Emulation.setCPUThrottlingRate``.
- UA consistency: CDP ``Emulation.setUserAgentOverride`` with ``userAgentMetadata`` derived
  from the UA, so ``navigator.userAgentData`` and Sec-CH-UA agree with it (none for Safari and
  the pre-Chromium Android WebView, as on the real devices).
- DNS pollution and request faults: ``context.route`` with a regular expression per condition
  (polluted hosts; each fault's URL glob). Playwright matches those in the driver, so requests
  that match nothing never make the round trip to Python (a catch-all route costs ~5–15 ms
  per request on a busy 2-core machine; see benchmarks/emulation.py).
- dropouts and offline switches: a catch-all route, present only while the network can be
  down (a network with dropouts, or an offline window not yet over).

No timers and no threads. Playwright's sync API must only be used from the thread that owns
the page, and route handlers already run there (whenever Playwright pumps events, i.e. during
any Playwright call). So dropouts are a schedule computed up front from the seed, and the
handler asks "is the network down now?" with the injected clock for every request. A dropout
fails every request *started* while offline with ``net::ERR_INTERNET_DISCONNECTED``; requests
already in flight finish, open WebSockets stay open and ``navigator.onLine`` stays true.
Routing disables Chromium's HTTP cache for the context, as a flaky real network would not.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Error as PlaywrightError

from profiles.models import Device, FaultRule, Network, Profile, Switch

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, CDPSession, Page, Route

    from probes.journey import Journey
    from probes.result import StepResult

NAVIGATOR_PLATFORM = {"iOS": "iPhone", "Android": "Linux armv8l", "Windows": "Win32", "macOS": "MacIntel"}
FAULT_HEADER = "x-orderprobe-fault"  # marks an injected response, so evidence cannot mistake it for the shop's


def glob_regex(pattern: str) -> re.Pattern[str]:
    """URL glob as Playwright writes them: ``**`` any characters, ``*`` any except ``/``."""
    parts = re.split(r"(\*\*|\*)", pattern)
    body = "".join(".*" if p == "**" else "[^/]*" if p == "*" else re.escape(p) for p in parts)
    return re.compile(f"^{body}$")  # JS-compatible too: Playwright matches it in the driver


def host_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """URLs whose host matches one of the host globs (``pay.*``, ``*.alipay.com``), any scheme and port."""
    hosts = "|".join(re.escape(p.lower()).replace(r"\*", "[^/:?#]*") for p in patterns)
    return re.compile(rf"^[a-z][a-z0-9+.-]*://(?:[^/@]*@)?(?:{hosts})\.?(?::\d+)?(?:[/?#]|$)", re.IGNORECASE)


def user_agent_metadata(device: Device) -> dict[str, Any] | None:
    brands = device.brands()
    if not brands:
        return None
    version = re.search(r"(?:Android|Windows NT|Mac OS X) ([\d._]+)", device.user_agent)
    model = re.search(r"Android [\d.]+; ([^;)]+?)(?: Build/[^;)]*)?[;)]", device.user_agent)
    return {
        "brands": brands,
        "fullVersionList": brands,
        "platform": device.platform,
        "platformVersion": version.group(1).replace("_", ".") if version else "",
        "architecture": "" if device.is_mobile else "x86",
        "model": model.group(1) if model and model.group(1) != "K" else "",
        "mobile": device.is_mobile,
    }


UNTHROTTLED = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


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
        self.profile = profile
        self.context = context
        self.page = page
        self.seed = seed
        self._clock = clock
        self._network: Network = profile.network
        self._switches: list[Switch] = list(profile.switches)
        self._fired: set[int] = set()
        self._cdp: CDPSession | None = None
        self._t0: float | None = None
        self._routes: list[tuple[re.Pattern[str], Callable[[Route], None]]] = []  # the current network's
        self._offline_routed = False
        self._closed = False
        self._dropout_origin = 0.0  # dropouts of the current network count from here (a hand-over restarts them)
        self._dropouts: list[tuple[float, float]] = []
        self._past_dropouts: list[tuple[float, float]] = []
        self._horizon = 0.0
        self._offline: list[tuple[float, float, str]] = []  # from switches / go_offline: (start, end, why)
        self._seen: Counter[tuple[int, str]] = Counter()
        self._step_notes: dict[str, list[str]] = {}
        self.switches_done: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()

    # -- lifecycle -----------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since ``apply()``."""
        return 0.0 if self._t0 is None else self._clock() - self._t0

    def apply(self) -> None:
        if self._t0 is not None:
            raise RuntimeError("Emulation.apply() called twice")
        self._cdp = self.context.new_cdp_session(self.page)
        self._set_network(self._network)
        if self.profile.device.cpu_slowdown != 1:  # each CDP call is a round trip: skip the no-ops
            self._cdp.send("Emulation.setCPUThrottlingRate", {"rate": self.profile.device.cpu_slowdown})
        self._override_user_agent()
        self._t0 = self._clock()  # t = 0 once the conditions are in force: dropout times count from here
        self._route_network()
        self._sync_offline_route()

    def close(self) -> None:
        """Stop intercepting; safe to call twice and after the context has closed."""
        if self._closed:
            return
        self._closed = True
        try:
            for pattern, handler in self._routes:
                self.context.unroute(pattern, handler)
            if self._offline_routed:
                self.context.unroute("**/*", self._on_offline)
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

    def _set_network(self, network: Network) -> None:
        assert self._cdp is not None
        conditions = network.cdp_conditions()
        if conditions != UNTHROTTLED or self._t0 is not None:  # a fresh page is already unthrottled
            self._cdp.send("Network.emulateNetworkConditions", conditions)
        self._past_dropouts += self._dropouts_started()  # keep the old network's dropouts for the record
        self._network = network
        self._dropout_origin = self.now()
        self._dropouts, self._horizon = [], 0.0

    def _dropouts_started(self) -> list[tuple[float, float]]:
        """The current network's dropout windows that have begun, in seconds since apply()."""
        t, origin = self.now(), self._dropout_origin
        self.offline_now(t)  # make sure the schedule covers up to now
        return [(round(origin + s, 3), round(origin + e, 3)) for s, e in self._dropouts if origin + s <= t]

    def _override_user_agent(self) -> None:
        assert self._cdp is not None
        device = self.profile.device
        languages = ",".join(part.split(";")[0].strip() for part in self.profile.region.languages.split(","))
        params: dict[str, Any] = {
            "userAgent": device.user_agent,
            "acceptLanguage": languages,
            "platform": NAVIGATOR_PLATFORM.get(device.platform, "Linux x86_64"),
        }
        metadata = user_agent_metadata(device)
        if metadata:
            params["userAgentMetadata"] = metadata
        self._cdp.send("Emulation.setUserAgentOverride", params)

    def _route_network(self) -> None:
        """Routes for the current network's DNS pollution and faults (replacing the last network's)."""
        for pattern, handler in self._routes:
            self.context.unroute(pattern, handler)
        self._routes = []
        network = self._network
        if network.dns_polluted:
            self._routes.append((host_regex(network.dns_polluted), self._on_dns))
        # Playwright runs the newest route first: register the last rule first so rule 0 is tried first.
        for index in reversed(range(len(network.faults))):
            self._routes.append((glob_regex(network.faults[index].url), partial(self._on_fault, index)))
        for pattern, handler in self._routes:
            self.context.route(pattern, handler)

    def _sync_offline_route(self) -> None:
        """The catch-all route exists only while the network can be down."""
        t = self.now()
        needed = self._network.dropouts is not None or any(end > t for _, end, _ in self._offline)
        if needed and not self._offline_routed and not self._closed:
            self.context.route("**/*", self._on_offline)
            self._offline_routed = True
        elif not needed and self._offline_routed:
            self.context.unroute("**/*", self._on_offline)
            self._offline_routed = False

    def go_offline(self, seconds: float, why: str = "probe") -> None:
        """Lose the signal from now for ``seconds`` (requests started meanwhile fail)."""
        t = self.now()
        self._offline.append((t, t + seconds, why))
        self._sync_offline_route()

    def add_switch(self, switch: Switch) -> None:
        """A probe's own mid-journey switch, in addition to the profile's."""
        self._switches.append(switch)

    def offline_now(self, t: float | None = None) -> str | None:
        """Why the network is down at ``t`` (default: now), or None when it is up."""
        t = self.now() if t is None else t
        for start, end, why in self._offline:
            if start <= t < end:
                return why
        dropouts = self._network.dropouts
        if dropouts is None:
            return None
        local = t - self._dropout_origin
        if local >= self._horizon:  # the schedule is prefix-stable: a longer horizon only appends
            self._horizon = max(600.0, local * 2)
            self._dropouts = dropouts.windows(self._horizon, seed=self.seed)
        return "dropout" if any(start <= local < end for start, end in self._dropouts) else None

    # -- routing -------------------------------------------------------------------------------

    def _aborted_offline(self, route: Route) -> bool:
        why = self.offline_now()
        if why:
            self.counts[f"offline:{why}"] += 1
            route.abort("internetdisconnected")
        return why is not None

    def _on_offline(self, route: Route) -> None:
        try:
            if self._closed or not self._aborted_offline(route):
                route.fallback()
        except PlaywrightError:
            pass  # the page closed under us: the request is gone anyway

    def _on_dns(self, route: Route) -> None:
        try:
            if self._closed:
                route.fallback()
            elif not self._aborted_offline(route):  # no signal at all beats a bad DNS answer
                self.counts["dns"] += 1
                route.abort("namenotresolved")
        except PlaywrightError:
            pass

    def _on_fault(self, index: int, route: Route) -> None:
        try:
            if self._closed:
                route.fallback()
                return
            if self._aborted_offline(route):
                return
            rule, request = self._network.faults[index], route.request
            if self._hits(index, rule, request.method, request.url):
                self.counts[f"fault:{rule.label}"] += 1
                if self._inject(route, rule):
                    return
            route.fallback()
        except PlaywrightError:
            pass

    def _hits(self, index: int, rule: FaultRule, method: str, url: str) -> bool:
        if rule.methods and method.upper() not in (m.upper() for m in rule.methods):
            return False
        # Seeded per (rule, request, occurrence), so the same journey gets the same faults
        # whatever order its requests happen to arrive in.
        key = (index, f"{method} {url}")
        self._seen[key] += 1
        seed = self.seed if self.seed is not None else 0
        return random.Random(f"{seed}:{index}:{key[1]}:{self._seen[key]}").random() < rule.rate

    def _inject(self, route: Route, rule: FaultRule) -> bool:
        """Apply a fault; True when the request was answered (not passed on)."""
        if rule.delay_ms:
            # wait_for_timeout yields to Playwright's event loop: other requests keep flowing.
            self.page.wait_for_timeout(rule.delay_ms)
        if rule.abort:
            route.abort(rule.abort)
            return True
        if rule.status:
            body = f"服务暂不可用 (orderprobe injected HTTP {rule.status})"
            route.fulfill(status=rule.status, body=body, headers={FAULT_HEADER: rule.label},
                          content_type="text/plain; charset=utf-8")  # fmt: skip
            return True
        return False

    # -- Journey StepListener --------------------------------------------------------------------

    def _fire(self, step: str, when: str) -> None:
        for index, switch in enumerate(self._switches):
            if index in self._fired or switch.at != step or switch.when != when:
                continue
            self._fired.add(index)
            t = self.now()
            if switch.network is not None:
                self._set_network(switch.network)
                self._route_network()
            if switch.offline_s:
                self._offline.append((t, t + switch.offline_s, f"switch@{step}"))
            self.switches_done.append({"at": step, "when": when, "t_s": round(t, 3), "did": switch.label})
            self._step_notes.setdefault(step, []).append(switch.label)
        self._sync_offline_route()  # also drops the catch-all route once an offline window is over

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
        windows = [
            {"start_s": s, "end_s": e, "why": "dropout"} for s, e in self._past_dropouts + self._dropouts_started()
        ]
        windows += [{"start_s": round(s, 3), "end_s": round(e, 3), "why": why} for s, e, why in self._offline if s <= t]
        return {
            "profile": self.profile.name,  # the full profile is Profile.describe(); this is what was done with it
            "network": self._network.name,  # the last one, after any hand-over
            "cdp_network": self._network.cdp_conditions(),
            "latency": "rtt_ms is round-trip, added once per request (Chromium request-level throttling)",
            "cpu_slowdown": self.profile.device.cpu_slowdown,
            "client_hints": bool(self.profile.device.brands()),
            "routes": [p.pattern for p, _ in self._routes] + (["**/* (offline)"] if self._offline_routed else []),
            "seed": self.seed,
            "offline_windows": sorted(windows, key=lambda w: w["start_s"]),
            "switches": list(self.switches_done),
            "requests": dict(self.counts),
            "elapsed_s": round(t, 3),
        }
