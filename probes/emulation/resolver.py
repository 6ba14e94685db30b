"""The browser's DNS: a resolver at the host end of the link that forwards to the host's own.

Every DNS query the browser's namespace sends (to whatever server its resolv.conf names, or any
other: port 53 is redirected there, as public Wi-Fi does) crosses the emulated link to this
resolver on the host end (the namespace's gateway address). It forwards the query unchanged
to the host's resolver (``/etc/resolv.conf``, or ``upstream``) and relays the answer: a name
the host cannot resolve fails in the host's time plus one round trip of the link, as on a phone.

IPv4 only, as the link: the namespace has no IPv6, so an AAAA query is answered at once with no
records (NOERROR, empty) instead of being forwarded — no client waits on it or tries an address
it cannot reach.

A network profile's DNS pollution is answered here, so it applies to every request of the
browser (pages, workers, ``context.request``): NXDOMAIN, or a wrong IPv4 address as captive
public Wi-Fi does (AAAA and other types then get an empty answer). Names answered that way are
remembered until ``clear()``, so evidence can mark their requests as orderprobe's doing.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dnslib import QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from orderprobe.probes.emulation.routing import host_regex

RESOLV_CONF = Path("/etc/resolv.conf")


def host_resolvers(conf: Path = RESOLV_CONF) -> tuple[list[tuple[str, int]], float]:
    """The host's name servers and per-try timeout (resolv.conf; glibc's defaults: 127.0.0.1, 5 s)."""
    servers, timeout = [], 5.0
    with contextlib.suppress(OSError):
        for line in conf.read_text().splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] == "nameserver" and ":" not in words[1]:  # IPv4 only, as the link
                servers.append((words[1], 53))
            elif words[:1] == ["options"]:
                for option in words[1:]:
                    if option.startswith("timeout:") and option[8:].isdigit():
                        timeout = float(option[8:])
    return servers[:3] or [("127.0.0.1", 53)], timeout


def parse_upstream(text: str) -> tuple[str, int]:
    """``HOST[:PORT]`` → (address, port); ValueError naming the problem."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "53")
    try:
        socket.inet_aton(host)
    except OSError:
        raise ValueError(f"resolver {text!r}: expected an IPv4 address, optionally :PORT") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"resolver {text!r}: bad port {port!r}")
    return host, int(port)


POLL_S = 0.05  # how soon a server sees stop(); a poll is a few microseconds of CPU


class Resolver(BaseResolver):  # type: ignore[misc]
    """Forwards to ``upstream`` (default: the host's resolvers); ``pollute()`` sets the lies."""

    def __init__(self, address: str, upstream: Sequence[tuple[str, int]] | None = None) -> None:
        servers, self.timeout = host_resolvers()
        self.address, self.upstream = address, list(upstream or servers)
        self._polluted: re.Pattern[str] | None = None
        self._answer = "nxdomain"
        self.answered: dict[str, str] = {}  # polluted name → what it was told, since clear()
        self._lock = threading.Lock()
        quiet = DNSLogger(logf=lambda _: None)
        self._servers = [DNSServer(self, address=address, port=53, tcp=tcp, logger=quiet) for tcp in (False, True)]

    def start(self) -> Resolver:
        for server in self._servers:  # dnslib's start_thread polls every 0.5 s: each run's end waited that
            server.thread = threading.Thread(
                target=server.server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True
            )
            server.thread.start()
        return self

    def stop(self) -> None:
        # Each server notices a shutdown at its next poll: both at once, not one after the other.
        stopping = [threading.Thread(target=self._stop, args=(server,)) for server in self._servers]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()

    @staticmethod
    def _stop(server: DNSServer) -> None:
        with contextlib.suppress(Exception):
            server.server.shutdown()
            server.server.server_close()

    def pollute(self, hosts: Sequence[str], answer: str = "nxdomain") -> None:
        """Lie about names matching the host globs ``hosts``: NXDOMAIN or ``answer`` (an IPv4 address)."""
        self._polluted = host_regex(tuple(hosts)) if hosts else None
        self._answer = answer

    def clear(self) -> None:
        self.pollute(())
        with self._lock:
            self.answered = {}

    def lie(self, name: str) -> str | None:
        """What a polluted ``name`` was told since ``clear()``, or None."""
        with self._lock:
            return self.answered.get(name.rstrip(".").lower())

    # -- dnslib's resolver interface (runs on the server's threads) ------------------------------
    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        name = str(request.q.qname).rstrip(".").lower()
        polluted, answer = self._polluted, self._answer
        if polluted is not None and polluted.match(f"http://{name}/"):
            return self._lie(request, name, answer)
        if request.q.qtype == QTYPE.AAAA:
            return request.reply()
        for host, port in self.upstream:
            try:
                data = request.send(host, port, tcp=handler.protocol == "tcp", timeout=self.timeout)
                return DNSRecord.parse(data)
            except Exception:  # timed out, refused or garbled: the next server, as the host's stub does
                continue
        reply = request.reply()
        reply.header.rcode = RCODE.SERVFAIL
        return reply

    def _lie(self, request: DNSRecord, name: str, answer: str) -> DNSRecord:
        reply = request.reply()
        if answer == "nxdomain":
            reply.header.rcode = RCODE.NXDOMAIN
            told = "NXDOMAIN"
        else:
            if request.q.qtype == QTYPE.A:
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(answer), ttl=60))
            told = f"a wrong address, {answer}"
        with self._lock:
            self.answered[name] = told
        return reply


def lookup(name: str, upstream: tuple[str, int], timeout: float = 5.0) -> list[str]:
    """The IPv4 addresses ``upstream`` gives ``name``, as the link's resolver would relay them;
    ``socket.gaierror`` naming the answer (NXDOMAIN, SERVFAIL, no address, no answer) otherwise."""
    try:
        reply = DNSRecord.parse(DNSRecord.question(name).send(*upstream, timeout=timeout))
    except OSError:  # a timeout or a refused port
        raise socket.gaierror(socket.EAI_AGAIN, f"no answer in {timeout:g} s") from None
    if reply.header.rcode != RCODE.NOERROR:
        raise socket.gaierror(socket.EAI_NONAME, str(RCODE[reply.header.rcode]))
    addresses = [str(rr.rdata) for rr in reply.rr if rr.rtype == QTYPE.A]
    if not addresses:
        raise socket.gaierror(socket.EAI_NODATA, "no IPv4 address")
    return addresses


def redirect_dns(namespace: str, gateway: str) -> None:
    """Inside the browser's namespace: every DNS query, whatever server it is for, goes to ``gateway``."""
    from orderprobe.probes.emulation.uplink import nft

    nft(
        "table ip orderprobe-dns {\n  chain output {\n    type nat hook output priority -100; policy accept;\n"
        f"    meta l4proto {{ tcp, udp }} th dport 53 dnat to {gateway}\n  }}\n}}\n",
        netns=namespace,
    )
