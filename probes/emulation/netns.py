"""A network namespace for one browser, wired to the host through a userspace ``Link``.

    host namespace                                   browser namespace (orderprobe-<pid>-<n>)
    127.0.0.1 (shop) ◀─▶ TUN opo<pid>n ◀─ Link ─▶ TUN opi<pid>n, 100.64.B.2/32, default route
    the world (uplink)    no address, IPv6 off;        lo DOWN, IPv6 off
                          100.64.B.1 (gateway) local by a route,
                          100.64.B.0/24 routed here

Why loopback works: with ``lo`` down the browser namespace has no local 127/8 route, so the
default route sends 127.0.0.1 into the TUN; ``route_localnet`` on both TUN devices lets Linux
carry loopback addresses on them. The host delivers to its own 127.0.0.1 (the shop keeps
listening on loopback, unchanged) and routes the replies back into the link. Anything else
the host reaches goes on through the uplink (``probes/emulation/uplink.py``: forwarding + NAT);
the gateway address is where the namespace's DNS resolver listens (``resolver.py``).
Addresses are CGNAT space (100.64.0.0/10), as a phone's are.

The host namespace sees no address come or go (``host_end``, ``own``): every Chromium there
watches its namespace's addresses by netlink and, on any change, aborts the connections it is
making and the requests waiting for one with ERR_NETWORK_CHANGED (requests already sent go on),
so a namespace set up or torn down would break navigations of a host-namespace browser beside it
(a CDP-mode run, another worker). Routes are not watched; a link coming or going counts only if
it changes the connection type, which a link with no address does not.

Chromium enters the namespace through a two-line wrapper (``nsenter --net=… -- chromium "$@"``)
given to Playwright as ``executable_path``; Playwright's driver (Node) enters it the same way, so
its own requests (``context.request``) take the link too.
Everything is set up through netlink (pyroute2), no ``ip``/``tc`` strings.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import ipaddress
import itertools
import os
import shutil
import stat
import struct
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
CLONE_NEWNET = 0x40000000
PREFIX = "orderprobe-"
_serial = itertools.count()


class Unavailable(RuntimeError):
    """Packet-level emulation cannot run here; the message says why."""


def _open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    except OSError:
        os.close(fd)
        raise
    return fd


def _sysctl(path: str, value: str) -> None:
    Path("/proc/sys", path).write_text(value)


def _off_loop(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a fresh thread: pyroute2 drives netlink with asyncio, and Playwright's sync API
    already runs an event loop in this thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


def inside(name: str, fn: Callable[[], T], *, create: bool = False) -> T:
    """Run ``fn`` in a throwaway thread that has entered namespace ``name`` (``create``: a new one
    by that name). setns and unshare move the calling thread only, so nothing forks: a fork of this
    process (Playwright's and the shop's threads) can hang, and a fresh Python per step cost 0.2 s
    of CPU (pyroute2's import). The thread's netlink sockets and /proc/sys/net are the namespace's."""
    from pyroute2 import netns

    def entered() -> T:
        if create:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.unshare(CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
            netns.attach(name, threading.get_native_id())  # bind-mounts /proc/<tid>/ns/net as /run/netns/<name>
        else:
            netns.setns(name, flags=0)
        return fn()

    return _off_loop(entered)


def sweep() -> None:
    """Remove namespaces left by processes that died without cleaning up (SIGKILL)."""
    from pyroute2 import netns

    for name in netns.listnetns():
        pid = name.removeprefix(PREFIX).split("-")[0]
        if name.startswith(PREFIX) and pid.isdigit() and not Path(f"/proc/{pid}").exists():
            with contextlib.suppress(OSError):
                netns.remove(name)


def host_end(ip: object, ifname: str) -> None:
    """Bring up a host-namespace device with no IPv6: once up, the kernel would give it a
    link-local address (fe80::), an address change in the host namespace."""
    with contextlib.suppress(FileNotFoundError):  # no IPv6 on this host at all
        _sysctl(f"net/ipv6/conf/{ifname}/disable_ipv6", "1")
    ip.link("set", ifname=ifname, state="up")  # type: ignore[attr-defined]


def own(ip: object, index: int, block: ipaddress.IPv4Network) -> None:
    """Make ``block[1]`` this host's own address without adding it to device ``index``: a local
    route (``ip route add local ADDR dev DEV table local``) makes the kernel answer for it and
    lets sockets bind to it, and Chromium's address watch sees no route; the block's route
    (already added) then takes it as the source address, as an interface address would be."""
    gateway = str(block[1])
    ip.route("add", dst=f"{gateway}/32", oif=index, table=255, type="local", scope="host")  # type: ignore[attr-defined]
    ip.route("replace", dst=str(block), oif=index, prefsrc=gateway)  # type: ignore[attr-defined]


class Namespace:
    """Creates the namespace and both TUN ends; ``inner_fd``/``outer_fd`` go to a ``Link``."""

    def __init__(self) -> None:
        if not Path("/dev/net/tun").exists():
            raise Unavailable("/dev/net/tun is missing (no TUN driver)")
        if not shutil.which("nsenter"):
            raise Unavailable("nsenter (util-linux) is not installed")
        try:
            import pyroute2  # noqa: F401
        except ImportError as exc:
            raise Unavailable(f"pyroute2 is not importable: {exc}") from None
        n = next(_serial)
        self.name = f"{PREFIX}{os.getpid()}-{n}"
        self.inner_name, self.outer_name = f"opi{os.getpid()}{n}"[:15], f"opo{os.getpid()}{n}"[:15]
        self.inner_fd = self.outer_fd = -1
        self.wrappers: Path | None = None  # folder of the executable() wrappers
        self.serial = 2  # host number of the browser's current address in its /24
        try:
            _off_loop(self._create)
        except Exception as exc:
            self.close()
            if isinstance(exc, Unavailable):
                raise
            raise Unavailable(f"cannot set up a network namespace: {type(exc).__name__}: {exc}") from exc

    def _create(self) -> None:
        from pyroute2 import IPRoute

        sweep()
        inside(self.name, lambda: None, create=True)
        self.inner_fd, self.outer_fd = _open_tun(self.inner_name), _open_tun(self.outer_name)
        with IPRoute() as ip:
            (inner,) = ip.link_lookup(ifname=self.inner_name)
            ip.link("set", index=inner, net_ns_fd=self.name)
            (outer,) = ip.link_lookup(ifname=self.outer_name)
            host_end(ip, self.outer_name)
            self.block = self._claim_block(ip, outer)
            own(ip, outer, self.block)
        _sysctl(f"net/ipv4/conf/{self.outer_name}/route_localnet", "1")
        inside(self.name, self._configure_inner)

    def _configure_inner(self) -> None:
        """Inside the namespace (its /proc/sys/net, its netlink): the browser's address and route."""
        from pyroute2 import IPRoute

        for key in ("ipv4/conf/all/route_localnet", f"ipv4/conf/{self.inner_name}/route_localnet"):
            _sysctl(f"net/{key}", "1")
        _sysctl("net/ipv6/conf/all/disable_ipv6", "1")
        with IPRoute() as ip:
            (inner,) = ip.link_lookup(ifname=self.inner_name)
            ip.addr("add", index=inner, address=self.address, prefixlen=32)
            ip.link("set", index=inner, state="up", mtu=1500)
            ip.route("add", dst="0.0.0.0/0", oif=inner)

    @staticmethod
    def _claim_block(ip: object, outer: int) -> ipaddress.IPv4Network:
        """A free /24 of 100.64.0.0/10; adding its route is atomic, so two processes cannot share one."""
        from pyroute2.netlink.exceptions import NetlinkError

        start = os.getpid() % 16384
        for i in range(16384):
            n = (start + i) % 16384
            block = ipaddress.ip_network(f"100.{64 + n // 256}.{n % 256}.0/24")
            try:
                ip.route("add", dst=str(block), oif=outer)  # type: ignore[attr-defined]
                return block
            except NetlinkError as exc:
                if exc.code != 17:  # EEXIST: taken by another process, try the next block
                    raise
        raise Unavailable("no free /24 in 100.64.0.0/10")

    @property
    def gateway(self) -> str:
        """The host end's address: the browser's DNS goes there."""
        return str(self.block[1])

    @property
    def address(self) -> str:
        return str(self.block[self.serial])

    def hand_over(self) -> tuple[str, str]:
        """Give the browser a new address (the old one is removed, as on a network change):
        Chromium sees the netlink change and open connections break. Returns (old, new)."""
        old = self.address
        self.serial = 2 + (self.serial - 1) % 250

        def readdress() -> None:
            from pyroute2 import IPRoute

            with IPRoute() as ip:
                (inner,) = ip.link_lookup(ifname=self.inner_name)
                ip.addr("add", index=inner, address=self.address, prefixlen=32)
                ip.addr("del", index=inner, address=old, prefixlen=32)

        inside(self.name, readdress)
        return old, self.address

    def executable(self, program: str, name: str = "chromium") -> str:
        """A wrapper that runs ``program`` inside the namespace (Playwright's executable_path for
        Chromium; PLAYWRIGHT_NODEJS_PATH for its driver, so ``context.request`` takes the link too)."""
        if self.wrappers is None:
            self.wrappers = Path(tempfile.mkdtemp(prefix="orderprobe-netns-"))
        wrapper = self.wrappers / name
        if not wrapper.exists():
            wrapper.write_text(f'#!/bin/sh\nexec nsenter --net=/run/netns/{self.name} -- {program} "$@"\n')
            wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        return str(wrapper)

    def close(self) -> None:
        """Closing the TUN descriptors deletes both devices (and the route); then the namespace."""
        from pyroute2 import netns

        for fd in (self.inner_fd, self.outer_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.inner_fd = self.outer_fd = -1
        with contextlib.suppress(OSError):
            _off_loop(lambda: netns.remove(self.name))
        if self.wrappers is not None:
            shutil.rmtree(self.wrappers, ignore_errors=True)
            self.wrappers = None
