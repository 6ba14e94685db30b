"""DNS pollution (under CDP; packet mode answers it at the link's resolver) and request faults,
as Playwright routes on one browser context.

Each polluted-host set and each fault's URL glob is its own route with a regular expression,
which Playwright matches in the driver: requests that match nothing never make the round trip
to Python (a catch-all route costs ~5–15 ms per request on a busy 2-core machine; see
benchmarks/emulation.py). There is no catch-all route: it would disable Chromium's HTTP cache
for the whole context (every page re-downloading its stylesheets, as no phone does). Dead
signal is the link's or the CDP offline switch's business; a request matching a route while
the network is down fails here with ``net::ERR_INTERNET_DISCONNECTED`` too.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from playwright.sync_api import Error as PlaywrightError

from orderprobe.profiles.models import FaultRule, Network

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Route

FAULT_HEADER = "x-orderprobe-fault"  # marks an injected response, so evidence cannot mistake it for the shop's


def glob_regex(pattern: str) -> re.Pattern[str]:
    """URL glob as Playwright writes them: ``**`` any characters, ``*`` any except ``/``."""
    parts = re.split(r"(\*\*|\*)", pattern)
    body = "".join(".*" if p == "**" else "[^/]*" if p == "*" else re.escape(p) for p in parts)
    return re.compile(f"^{body}$")  # JS-compatible too: Playwright matches it in the driver


def host_regex(patterns: tuple[str, ...], *, only_local: bool = False) -> re.Pattern[str]:
    """URLs whose host matches one of the host globs (``pay.*``, ``*.alipay.com``), any scheme and port.
    ``only_local``: only ``localhost`` names, which Chromium answers itself without asking DNS (RFC 6761)."""
    hosts = "|".join(re.escape(p.lower()).replace(r"\*", "[^/:?#]*") for p in patterns)
    local = r"(?=(?:[^/:?#@]*\.)?localhost\.?(?::\d+)?(?:[/?#]|$))" if only_local else ""
    return re.compile(rf"^[a-z][a-z0-9+.-]*://(?:[^/@]*@)?{local}(?:{hosts})\.?(?::\d+)?(?:[/?#]|$)", re.IGNORECASE)


class Routing:
    """The routes of one context. ``down()`` says why the network is down now (None: up)."""

    def __init__(
        self,
        context: BrowserContext,
        page: Page,
        down: Callable[[], str | None],
        seed: int | None = None,
        *,
        # DNS pollution: "route" (CDP mode), "localhost" (packet mode, a local site: only the
        # *.localhost names the link's resolver never hears of) or "resolver" (packet mode: no route)
        dns: str = "route",
    ) -> None:
        self.context, self.page, self.seed, self.dns = context, page, seed, dns
        self._down = down
        self._network: Network | None = None
        self._routes: list[tuple[re.Pattern[str], Callable[[Route], None]]] = []  # the current network's
        self._closed = False
        self._seen: Counter[tuple[int, str]] = Counter()
        self.counts: Counter[str] = Counter()  # what was done to how many requests
        # What was done to each request, by the identity of its Playwright Request (the recorder
        # sees the same object): evidence must never take orderprobe's own fault for the shop's.
        self._injected: dict[int, str] = {}

    def injection(self, request: object) -> str | None:
        """What orderprobe did to ``request`` here, or None (untouched)."""
        return self._injected.get(id(request))

    def _mark(self, route: Route, what: str) -> None:
        self._injected[id(route.request)] = f"orderprobe {what}"

    @property
    def patterns(self) -> list[str]:
        return [p.pattern for p, _ in self._routes]

    def use(self, network: Network) -> None:
        """Routes for ``network``'s DNS pollution and faults, replacing the last network's."""
        for pattern, handler in self._routes:
            self.context.unroute(pattern, handler)
        self._network, self._routes = network, []
        if network.dns_polluted and self.dns != "resolver":
            self._routes.append((host_regex(network.dns_polluted, only_local=self.dns == "localhost"), self._on_dns))
        # Playwright runs the newest route first: register the last rule first so rule 0 is tried first.
        for index in reversed(range(len(network.faults))):
            self._routes.append((glob_regex(network.faults[index].url), partial(self._on_fault, index)))
        for pattern, handler in self._routes:
            self.context.route(pattern, handler)

    def close(self) -> None:
        """Stop intercepting (raises PlaywrightError when the context is already gone)."""
        self._closed = True
        routes, self._routes = self._routes, []
        for pattern, handler in routes:
            self.context.unroute(pattern, handler)

    # -- handlers: they run on the page's thread, whenever Playwright pumps events ----------------

    def _aborted_offline(self, route: Route) -> bool:
        why = self._down()
        if why:
            self.counts[f"offline:{why}"] += 1
            self._mark(route, f"offline: {why}")
            route.abort("internetdisconnected")
        return why is not None

    def _on_dns(self, route: Route) -> None:
        try:
            if self._closed:
                route.fallback()
            elif not self._aborted_offline(route):  # no signal at all beats a bad DNS answer
                self.counts["dns"] += 1
                answer = self._network.dns_answer if self._network else "nxdomain"
                if answer == "nxdomain":
                    self._mark(route, "DNS pollution: name not resolved")
                    route.abort("namenotresolved")
                else:  # a request cannot be sent elsewhere from a route: the wrong address is unreachable
                    self._mark(route, f"DNS pollution: a wrong address, {answer} (request-level: unreachable)")
                    route.abort("addressunreachable")
        except PlaywrightError:
            pass

    def _on_fault(self, index: int, route: Route) -> None:
        try:
            if self._closed or self._network is None:
                route.fallback()
                return
            if self._aborted_offline(route):
                return
            rule, request = self._network.faults[index], route.request
            if self._hits(index, rule, request.method, request.url):
                self.counts[f"fault:{rule.label}"] += 1
                self._mark(route, f"fault: {rule.label}")
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
