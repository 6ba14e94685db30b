"""The network path a worker's journeys take, and what a journey asks of it.

Two forms, chosen once per worker (``orderprobe.probes.emulation.packet.choose``): ``PacketPath``, the
browser in its own network namespace behind an emulated link (every packet of every page,
worker and request), and ``CdpPath`` here, DevTools request-level throttling of the journey's
page with outages as the page switched offline. After the choice nothing asks which one it is:
``Emulation`` (the journey's conditions) and the engine call the path.

One journey at a time: ``begin`` imposes its network, ``set_outages`` / ``hand_over_to`` change
it, ``end`` undoes it and returns the journey's record of the path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from orderprobe.probes.emulation.offline import CdpOffline
from orderprobe.probes.emulation.throttling.cdp import cdp_conditions, throttle_network

if TYPE_CHECKING:
    from playwright.sync_api import CDPSession

    from orderprobe.profiles.models import Network


class NetworkPath(ABC):
    mode: ClassVar[str]  # recorded with every journey: "packet" | "cdp"
    # An outage holds requests in flight (TCP resends, the page waits) instead of failing them at once.
    stalls: ClassVar[bool]
    chromium_args: ClassVar[tuple[str, ...]] = ()  # flags Chromium needs on this path

    def __init__(self, reason: str = "") -> None:
        self.reason = reason  # why not packet-level ("" when it is, or when nobody asked)

    def executable(self, chromium: str) -> str:
        """The program Playwright starts as Chromium."""
        return chromium

    def driver(self) -> str | None:
        """Playwright's Node driver to run instead of its own (PLAYWRIGHT_NODEJS_PATH); None: its own."""
        return None

    def dns_routes(self, site: str) -> str:
        """How DNS pollution reaches the browser: ``orderprobe.probes.emulation.routing.Routing``'s ``dns``."""
        return "route"

    @abstractmethod
    def begin(self, network: Network, cdp: CDPSession, clock: Callable[[], float]) -> None:
        """A journey starts under ``network``; its time (``set_outages``, ``dropped``) counts from now."""

    @abstractmethod
    def hand_over_to(self, network: Network) -> None:
        """Mid-journey, another network (a hand-over)."""

    @abstractmethod
    def set_outages(self, windows: list[tuple[float, float]]) -> None:
        """Link-down windows as (start, end), seconds since ``begin``; replaces the previous ones."""

    def dropped(self, start_s: float, end_s: float) -> dict[str, dict[str, int]]:
        """Packets dropped in [start_s, end_s) since ``begin``, per direction and reason ({}: not counted)."""
        return {}

    @abstractmethod
    def injection(self, url: str, failure: str | None, down: Callable[[], str | None]) -> str | None:
        """What the path itself did to a request (``down()``: why the network is down now, or None)."""

    @abstractmethod
    def record(self) -> dict[str, Any]:
        """This journey's record of the path, JSON-able."""

    @abstractmethod
    def end(self) -> dict[str, Any]:
        """The journey is over: undo its conditions; its final ``record``."""

    def close(self) -> None:  # noqa: B027 - only a path with a worker-wide part (a namespace) has to
        """The worker is done with the path."""


class CdpPath(NetworkPath):
    """DevTools: ``Network.emulateNetworkConditions`` on the journey's page, offline and back
    for outages (requests in flight fail at once). Nothing below the page is touched."""

    mode = "cdp"
    stalls = False

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self._cdp: CDPSession | None = None
        self._network: Network | None = None
        self._offline: CdpOffline | None = None
        self._t0 = 0.0

    def begin(self, network: Network, cdp: CDPSession, clock: Callable[[], float]) -> None:
        self._cdp, self._network = cdp, network
        throttle_network(cdp, network, fresh=True)
        self._offline = CdpOffline(cdp, self._conditions, clock)
        self._t0 = clock()

    def _conditions(self, offline: bool) -> dict[str, object]:
        assert self._network is not None
        return cdp_conditions(self._network, offline=offline)

    def hand_over_to(self, network: Network) -> None:
        assert self._cdp is not None
        self._network = network
        throttle_network(self._cdp, network)

    def set_outages(self, windows: list[tuple[float, float]]) -> None:
        if self._offline is not None:
            self._offline.schedule([(self._t0 + s, self._t0 + e) for s, e in windows])

    def injection(self, url: str, failure: str | None, down: Callable[[], str | None]) -> str | None:
        why = down() if failure and "ERR_INTERNET_DISCONNECTED" in failure else None
        return f"orderprobe offline: {why}" if why else None

    def record(self) -> dict[str, Any]:
        if self._network is None:  # never begun
            return {}
        return {
            "cdp_network": cdp_conditions(self._network),
            "latency": "rtt_ms is round-trip, added once per request (Chromium request-level throttling)",
            # when CDP offline was switched (s since the journey's conditions were in force)
            "offline_edges": [(edge, round(at - self._t0, 3)) for edge, at in self._offline.applied]
            if self._offline is not None
            else [],
        }

    def end(self) -> dict[str, Any]:
        if self._offline is not None:
            self._offline.cancel()
        return self.record()
