"""Packet-level emulation for one worker: the browser's namespace and its link (a
``NetworkPath``), and the one choice between it and DevTools (CDP) emulation (``choose``).

``PacketPath.open()`` sets up the namespace and starts the link once per worker (the browser is
launched inside it); each journey then ``begin``s (its network imposed on the link), has its
outages scheduled on the link and ``end``s (the link reset). The host end of the link has an
uplink (``uplink``: forwarding + NAT) to anything this host reaches, and a DNS resolver
(``resolver``) that forwards to the host's and answers the profile's DNS pollution. Where it
cannot run (not Linux, not root / CAP_NET_ADMIN, no TUN, no nft) the journey runs under CDP
emulation and says why.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from orderprobe.probes.emulation.link import Direction, Link, LinkProcess
from orderprobe.probes.emulation.netns import Namespace, Unavailable
from orderprobe.probes.emulation.path import CdpPath, NetworkPath
from orderprobe.probes.emulation.resolver import Resolver, parse_upstream, redirect_dns
from orderprobe.probes.emulation.uplink import close_uplink, open_uplink
from orderprobe.profiles.models import Network

if TYPE_CHECKING:
    from playwright.sync_api import CDPSession

Mode = Literal["auto", "packet", "cdp"]

# Chromium's own DNS client asks first; when a name does not exist it asks again through the system
# resolver (glibc), which crosses the link a second time. A phone's or desktop's second ask is
# answered by its OS cache, so here the lookup would cost one RTT more than it does there: the
# field trial Chromium ships for this ("AsyncDnsNoFallback") turns the second ask off.
CHROMIUM_ARGS = ("--force-fieldtrials=AsyncDns/AsyncDnsNoFallbackA",)


def directions(network: Network) -> tuple[Direction, Direction]:
    """(uplink, downlink) for ``network``: the RTT split evenly unless ``up_delay_ms`` says otherwise."""
    up_delay = network.rtt_ms / 2 if network.up_delay_ms is None else network.up_delay_ms
    loss = network.loss
    common = {
        "jitter_ms": network.jitter_ms,
        "loss": 1.0 if network.offline else loss.rate if loss else 0.0,
        "burst": loss.burst if loss else None,
        "bad_loss": loss.bad_loss if loss else 1.0,
        "queue_packets": network.queue_packets,
    }
    return (
        Direction(delay_ms=up_delay, rate_kbps=network.up_kbps, **common),
        Direction(delay_ms=network.rtt_ms - up_delay, rate_kbps=network.down_kbps, **common),
    )


def unavailable(target: str = "") -> str | None:
    """Why packet-level emulation cannot be used here, before trying; None: try it. Any target
    named by a name or an IPv4 address will do: the uplink reaches whatever this host reaches."""
    host = urlsplit(target).hostname or ""
    if ":" in host:
        return f"the emulated link carries IPv4 only (no IPv6 in the browser's namespace): {host} is an IPv6 address"
    if sys.platform != "linux":
        return f"packet-level emulation needs Linux network namespaces (this is {sys.platform})"
    if os.geteuid() != 0 and not _has_net_admin():
        return "not root and no CAP_NET_ADMIN: cannot create a network namespace"
    return None


def _has_net_admin() -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> 12 & 1)  # CAP_NET_ADMIN = 12
    return False


def choose(mode: Mode | str, *, remote: bool = False, resolver: str | None = None, target: str = "") -> NetworkPath:
    """The worker's path: packet-level where it can run (``auto``) or must (``packet``: else an
    error saying why), DevTools otherwise, with the reason recorded on every journey."""
    if mode == "cdp":
        return CdpPath("--emulation cdp")
    if remote:
        return CdpPath("a remote browser (--browser-endpoint)")
    try:
        reason = unavailable(target)
        if reason:
            raise Unavailable(reason)
        return PacketPath([parse_upstream(resolver)] if resolver else None).open()
    except Unavailable as exc:
        if mode == "packet":
            raise RuntimeError(f"--emulation packet: {exc}") from exc
        return CdpPath(str(exc))


class PacketPath(NetworkPath):
    """One browser's namespace and link. ``open()`` raises ``Unavailable`` with the reason."""

    mode = "packet"
    stalls = True  # TCP resends what the link held: the page waits
    chromium_args = CHROMIUM_ARGS

    def __init__(self, upstream: list[tuple[str, int]] | None = None, *, own_process: bool = True) -> None:
        super().__init__()
        self.upstream = upstream  # the resolver the link's DNS forwards to; None: the host's
        self.namespace: Namespace | None = None
        self.resolver: Resolver | None = None
        self.own_process = own_process  # False: the link forwards in this process (benchmarks compare)
        self.link: LinkProcess | Link | None = None
        # the journey's: the link's counters and clock at its begin, the browser's addresses
        self._stats: dict[str, Counter[str]] = {}
        self._t0 = 0.0
        self.addresses: list[str] = []

    def open(self) -> PacketPath:
        self.namespace = Namespace()
        try:
            open_uplink()
            redirect_dns(self.namespace.name, self.namespace.gateway)
            self.resolver = Resolver(self.namespace.gateway, self.upstream).start()
        except Exception as exc:
            self.close()
            if isinstance(exc, Unavailable):
                raise
            raise Unavailable(f"cannot set up the link's uplink or resolver: {type(exc).__name__}: {exc}") from exc
        fds = self.namespace.inner_fd, self.namespace.outer_fd
        self.link = LinkProcess(*fds).start() if self.own_process else Link(*fds).start()
        return self

    def executable(self, chromium: str) -> str:
        """A wrapper that enters the namespace, then runs ``chromium``."""
        assert self.namespace is not None
        return self.namespace.executable(chromium)

    def driver(self) -> str:
        """For PLAYWRIGHT_NODEJS_PATH: Playwright's Node driver inside the namespace."""
        from playwright._impl._driver import compute_driver_executable

        assert self.namespace is not None
        return self.namespace.executable(compute_driver_executable()[0], "node")

    def impose(self, network: Network) -> None:
        assert self.link is not None and self.resolver is not None
        self.link.configure(*directions(network))
        self.resolver.pollute(network.dns_polluted, network.dns_answer)

    def polluted(self, url: str) -> str | None:
        """What orderprobe's resolver told the browser about ``url``'s host, if it lied."""
        host = urlsplit(url).hostname or ""
        told = self.resolver.lie(host) if self.resolver is not None and host else None
        return f"orderprobe DNS pollution: {host} answered {told}" if told else None

    def schedule(self, windows: list[tuple[float, float]]) -> None:
        """Outages as (start, end) on the link's clock (``link.clock``)."""
        assert self.link is not None
        self.link.set_outages(windows)

    def hand_over(self) -> tuple[str, str]:
        """A new address for the browser; the old one becomes unroutable, so its connections break."""
        assert self.namespace is not None and self.link is not None
        old, new = self.namespace.hand_over()
        self.link.retired = frozenset({*self.link.retired, _packed(old)} - {_packed(new)})
        return old, new

    # -- NetworkPath: one journey ----------------------------------------------------------------

    def dns_routes(self, site: str) -> str:
        # The link's resolver answers DNS pollution, but a local site's *.localhost names never reach
        # it (Chromium resolves those itself). Any route makes Playwright intercept every request.
        return "localhost" if _local(site) else "resolver"

    def begin(self, network: Network, cdp: CDPSession, clock: Callable[[], float]) -> None:
        assert self.link is not None and self.namespace is not None
        self.impose(network)
        self._stats = {"up": Counter(self.link.up.stats), "down": Counter(self.link.down.stats)}
        self.addresses = [self.namespace.address]
        self._t0 = self.link.clock()

    def hand_over_to(self, network: Network) -> None:
        self.impose(network)  # another network, another address: open connections break
        self.addresses.append(self.hand_over()[1])

    def set_outages(self, windows: list[tuple[float, float]]) -> None:
        self.schedule([(self._t0 + s, self._t0 + e) for s, e in windows])

    def dropped(self, start_s: float, end_s: float) -> dict[str, dict[str, int]]:
        return {} if self.link is None else self.link.dropped(self._t0 + start_s, self._t0 + end_s)

    def injection(self, url: str, failure: str | None, down: Callable[[], str | None]) -> str | None:
        return self.polluted(url)  # the resolver at the link's host end lied about its host

    def record(self) -> dict[str, Any]:
        stats = {}
        if self.link is not None and self._stats:
            stats = {d: dict(getattr(self.link, d).stats - self._stats[d]) for d in ("up", "down")}
        dns = {}
        if self.resolver is not None:
            dns = {
                "resolver": self.resolver.address,  # at the link's host end: every query crosses the link
                "upstream": [f"{host}:{port}" for host, port in self.resolver.upstream],
                "polluted": dict(self.resolver.answered),  # name → what the browser was told
            }
        return {
            "latency": "rtt_ms split into one-way delays on every packet (userspace link, network namespace)",
            "addresses": list(self.addresses),  # the browser's, one more per hand-over
            "link_packets": stats,  # this journey's: in, out, lost, queue_full, outage, retired
            "dns": dns,
        }

    def end(self) -> dict[str, Any]:
        record = self.record()  # before the reset clears what the resolver told
        self.reset()
        return record

    # -- the link ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Between journeys: an unthrottled link, no outages, every address routable."""
        if self.link is not None:
            self.link.configure(Direction(), Direction())
            self.link.set_outages([])
            self.link.retired = frozenset()
        if self.resolver is not None:
            self.resolver.clear()

    def close(self) -> None:
        if self.link is not None:
            self.link.stop()
        if self.resolver is not None:
            self.resolver.stop()
        if self.namespace is not None:
            self.namespace.close()
            close_uplink()
        self.link = self.namespace = self.resolver = None


def _packed(address: str) -> bytes:
    return bytes(map(int, address.split(".")))


def _local(site: str) -> bool:
    host = (urlsplit(site).hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")


__all__ = ["CHROMIUM_ARGS", "Mode", "PacketPath", "Unavailable", "choose", "directions", "unavailable"]
