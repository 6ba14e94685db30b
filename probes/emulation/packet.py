"""Packet-level emulation for one worker: the browser's namespace and its link, and the choice
between it and DevTools (CDP) emulation.

``PacketPath.open()`` sets up the namespace and starts the link once per worker (the browser is
launched inside it); each journey then ``impose``s its network, ``schedule``s its outages and
``reset``s the link when it ends. The host end of the link has an uplink (``uplink``: forwarding
+ NAT) to anything this host reaches, and a DNS resolver (``resolver``) that forwards to the
host's and answers the profile's DNS pollution. Where it cannot run (not Linux, not root /
CAP_NET_ADMIN, no TUN, no nft) the journey runs under CDP emulation and says why.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from probes.emulation.link import Direction, Link, LinkProcess
from probes.emulation.netns import Namespace, Unavailable
from probes.emulation.resolver import Resolver, redirect_dns
from probes.emulation.uplink import close_uplink, open_uplink
from profiles.models import Network

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


class PacketPath:
    """One browser's namespace and link. ``open()`` raises ``Unavailable`` with the reason."""

    def __init__(self, upstream: list[tuple[str, int]] | None = None, *, own_process: bool = True) -> None:
        self.upstream = upstream  # the resolver the link's DNS forwards to; None: the host's
        self.own_process = own_process  # False: the link forwards in this process (benchmarks compare)
        self.namespace: Namespace | None = None
        self.resolver: Resolver | None = None
        self.link: LinkProcess | Link | None = None

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


__all__ = ["CHROMIUM_ARGS", "Mode", "PacketPath", "Unavailable", "directions", "unavailable"]
