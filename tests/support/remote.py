"""A remote host on this machine, for packet-level tests and benchmarks with no internet.

``RemoteHost`` is a second network namespace with its own address (198.18.0.0/15, the range
RFC 2544 sets aside for benchmarks), reached from this host over a veth pair as a server on the
LAN or the internet would be: the browser's packets cross the emulated link, then the host's
uplink (forwarding + NAT) into it. Its ``.3`` address drops every packet (a host that does not
answer). ``Zone`` is a DNS server on 127.0.0.1 that stands in for the host's resolver: it
knows the remote host's names and answers NXDOMAIN for any other, counting the queries.

    with Zone() as zone, RemoteHost() as remote:
        zone.names["shop.orderprobe.test"] = remote.address
        shop = remote.serve(lambda: DemoShop(host="0.0.0.0", payment_host="pay.orderprobe.test").start())

Nothing here sends a packet anywhere but loopback and namespaces it made.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from dnslib import QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from orderprobe.probes.emulation.netns import Unavailable, _off_loop, host_end, inside, own
from orderprobe.probes.emulation.uplink import nft

T = TypeVar("T")


class Zone(BaseResolver):  # type: ignore[misc]
    """A loopback DNS server: ``names`` (name → IPv4) answer, every other name is NXDOMAIN.
    ``port=53`` on an address of 127/8 of its own makes it a resolver resolv.conf can name."""

    def __init__(self, address: str = "127.0.0.1", port: int = 0) -> None:
        self.names: dict[str, str] = {}
        self.queries: Counter[str] = Counter()
        self.asked: Counter[tuple[str, str]] = Counter()  # (name, type), e.g. ("x.test", "A")
        self._server = DNSServer(self, address=address, port=port, logger=DNSLogger(logf=lambda _: None))

    @property
    def address(self) -> str:
        host, port = self._server.server.server_address[:2]
        return f"{host}:{port}"

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        name = str(request.q.qname).rstrip(".").lower()
        self.queries[name] += 1
        self.asked[name, QTYPE[request.q.qtype]] += 1
        reply = request.reply()
        if name not in self.names:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.A:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(self.names[name]), ttl=60))
        return reply

    def __enter__(self) -> Zone:
        self._server.start_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.server.shutdown()
        self._server.server.server_close()


class RemoteHost:
    """A namespace ``opremote-<pid>-<n>`` at 198.18.N.2 (and a black hole at .3), behind a veth pair."""

    _serial = 0

    def __init__(self) -> None:
        RemoteHost._serial += 1
        pid, n = os.getpid(), RemoteHost._serial
        self.name = f"opremote-{pid}-{n}"
        self.outer, self.inner = f"orh{pid}{n}"[:15], f"orr{pid}{n}"[:15]
        self.block: ipaddress.IPv4Network | None = None

    @property
    def address(self) -> str:
        assert self.block is not None
        return str(self.block[2])

    @property
    def black_hole(self) -> str:
        """An address of this host that drops every packet (no answer, no reset)."""
        assert self.block is not None
        return str(self.block[3])

    def __enter__(self) -> RemoteHost:
        try:
            _off_loop(self._create)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _create(self) -> None:
        from pyroute2 import IPRoute, netns
        from pyroute2.netlink.exceptions import NetlinkError

        for name in netns.listnetns():  # left by a process that was killed before it could clean up
            pid = name.removeprefix("opremote-").split("-")[0]
            if name.startswith("opremote-") and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                with contextlib.suppress(OSError):
                    netns.remove(name)
                with contextlib.suppress(Unavailable):
                    nft(f"delete table ip {name}")
        inside(self.name, lambda: None, create=True)
        with IPRoute() as ip:
            ip.link("add", ifname=self.outer, kind="veth", peer=self.inner)
            (inner,) = ip.link_lookup(ifname=self.inner)
            ip.link("set", index=inner, net_ns_fd=self.name)
            (outer,) = ip.link_lookup(ifname=self.outer)
            host_end(ip, self.outer)  # as the browser's link: no address comes or goes on this host
            start = os.getpid() % 512
            for i in range(512):  # a free /24 of 198.18.0.0/15: adding its route is atomic
                k = (start + i) % 512
                block = ipaddress.ip_network(f"198.{18 + k // 256}.{k % 256}.0/24")
                try:
                    ip.route("add", dst=str(block), oif=outer)
                    break
                except NetlinkError as exc:
                    if exc.code != 17:
                        raise
            self.block = block
            own(ip, outer, block)
        inside(self.name, self._configure_inner)
        # The uplink's masquerade takes an address of the device a packet leaves by, and this
        # veth's host end has none (netns.own): the host's address on this "LAN" is .1, as before.
        nft(
            f"table ip {self.name} {{\n  chain postrouting {{\n"
            "    type nat hook postrouting priority srcnat - 1; policy accept;\n"
            f'    oifname "{self.outer}" snat to {block[1]}\n  }}\n}}\n'
        )
        nft(
            "table ip black-hole {\n  chain input {\n    type filter hook input priority 0; policy accept;\n"
            f"    ip daddr {self.black_hole} drop\n  }}\n}}\n",
            netns=self.name,
        )

    def _configure_inner(self) -> None:
        from pyroute2 import IPRoute

        with IPRoute() as ip:
            (lo,) = ip.link_lookup(ifname="lo")
            ip.link("set", index=lo, state="up")
            (inner,) = ip.link_lookup(ifname=self.inner)
            for address in (self.address, self.black_hole):
                ip.addr("add", index=inner, address=address, prefixlen=24)
            ip.link("set", index=inner, state="up")

    def serve(self, start: Callable[[], T]) -> T:
        """Run ``start`` (which opens listening sockets) inside this namespace; its sockets stay there."""
        from pyroute2 import netns

        out: dict[str, Any] = {}

        def enter_and_start() -> None:  # a throwaway thread: setns changes only the calling thread
            try:
                netns.setns(self.name, flags=0)
                out["value"] = start()
            except BaseException as exc:
                out["error"] = exc

        thread = threading.Thread(target=enter_and_start)
        thread.start()
        thread.join()
        if "error" in out:
            raise out["error"]
        return out["value"]

    def __exit__(self, *exc: object) -> None:
        """Deleting the namespace deletes the veth pair (and the host's routes with it); then the NAT table."""
        from pyroute2 import netns

        with contextlib.suppress(OSError):
            _off_loop(lambda: netns.remove(self.name))
        with contextlib.suppress(Unavailable):
            nft(f"delete table ip {self.name}")
