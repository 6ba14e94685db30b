"""A packet-level link in userspace between two TUN devices, as mahimahi does it.

This kernel has namespaces, veth and TUN but no netem, so the browser's namespace routes
everything into a TUN device whose other end is a file descriptor here; a forwarder thread
reads each IP packet, runs it through one ``Pipe`` per direction and writes it, when due,
into a second TUN device in the host namespace (see ``probes/emulation/netns.py``).

Per direction, in this order (``Direction`` holds the numbers):

1. loss — independent (Bernoulli) with probability ``loss``, or bursty: a two-state
   Gilbert–Elliott chain whose Bad state loses ``bad_loss`` of packets (1 by default, i.e. the
   simple Gilbert model) and the Good state none; the mean stay in Bad is ``burst`` packets
   and the long-run loss rate is ``loss``.
2. a drop-tail queue of ``queue_packets`` in front of a bottleneck of ``rate_kbps``
   (IP bytes; 1 kbit = 1000 bit): serialisation delay = size / rate.
3. propagation delay ``delay_ms`` + jitter drawn from a normal distribution with standard
   deviation ``jitter_ms``, truncated at zero. Packets never overtake each other (FIFO), as
   on one radio bearer: a packet leaves no earlier than the one before it.

Outages ("link down") are windows on the link's clock: every packet arriving or due while
the link is down is lost, in both directions — TCP stalls, retransmits with backoff and either
recovers after the window or the request times out, as on a train between stations.
Retired addresses (after a hand-over) are unroutable: their packets are dropped.

``LinkProcess`` runs the same ``Link`` in a Python process of its own, driven over a pipe: in the
probe's process every packet's forwarding waited for the GIL behind Playwright's client and the
shop's threads — measured side by side (``python -m benchmarks remote_shop``), that wait was most
of what packet mode added to a page load. That process imports this module alone, and this module
only what relaying packets needs (no multiprocessing, dataclasses or subprocess: ~20 ms of CPU
per link; ``tests/test_startup_imports.py`` keeps it so).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import random
import selectors
import socket
import struct
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, NamedTuple


class Direction(NamedTuple):
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_kbps: float | None = None  # None: no bottleneck
    loss: float = 0.0  # long-run share of packets lost
    burst: float | None = None  # mean loss burst in packets: Gilbert–Elliott; None: independent losses
    bad_loss: float = 1.0  # loss probability in the Bad state (1 - h)
    queue_packets: int = 1000  # netem's default limit


class Pipe:
    """One direction of the link: loss → drop-tail queue at the bottleneck rate → delay + jitter."""

    def __init__(self, params: Direction, rng: random.Random) -> None:
        self.params = params
        self.stats: Counter[str] = Counter()
        self.on_drop: Callable[[str, float], None] | None = None  # (why, when): the link's record
        self._rng = rng
        self._bad = False
        self._busy_until = 0.0  # the bottleneck is serialising until then
        self._backlog: deque[float] = deque()  # when each queued packet has left the bottleneck
        self._last_due = 0.0
        self._queue: deque[tuple[float, bytes]] = deque()  # (due, packet), due non-decreasing

    def _lost(self, p: Direction) -> bool:
        if p.loss <= 0:
            return False
        if p.burst is None:
            return self._rng.random() < p.loss
        leave_bad = 1 / p.burst  # stationary P(Bad) = enter / (enter + leave) = loss / bad_loss
        share = min(p.loss / p.bad_loss, 0.999)
        enter_bad = share * leave_bad / (1 - share)
        self._bad = (self._rng.random() >= leave_bad) if self._bad else (self._rng.random() < enter_bad)
        return self._bad and self._rng.random() < p.bad_loss

    def offer(self, packet: bytes, now: float) -> None:
        p = self.params
        self.stats["in"] += 1
        if self._lost(p):
            self.stats["lost"] += 1
            self._dropped("lost", now)
            return
        while self._backlog and self._backlog[0] <= now:
            self._backlog.popleft()
        if len(self._backlog) >= p.queue_packets:
            self.stats["queue_full"] += 1
            self._dropped("queue_full", now)
            return
        self._busy_until = max(now, self._busy_until) + (len(packet) * 8 / (p.rate_kbps * 1000) if p.rate_kbps else 0)
        self._backlog.append(self._busy_until)
        delay = max(0.0, self._rng.gauss(p.delay_ms, p.jitter_ms) if p.jitter_ms else p.delay_ms)
        self._last_due = max(self._busy_until + delay / 1000, self._last_due)
        self._queue.append((self._last_due, packet))

    def _dropped(self, why: str, now: float) -> None:
        if self.on_drop is not None:
            self.on_drop(why, now)

    def next_due(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def pop_due(self, now: float) -> list[bytes]:
        out = []
        while self._queue and self._queue[0][0] <= now:
            out.append(self._queue.popleft()[1])
        return out


class Link:
    """Forwards packets between ``inner`` (the browser's TUN) and ``outer`` (the host's TUN)."""

    def __init__(self, inner: int, outer: int, *, clock: Callable[[], float] = time.monotonic, seed: int = 0):
        self.clock = clock
        self.up = Pipe(Direction(), random.Random(f"{seed}:up"))  # browser → host
        self.down = Pipe(Direction(), random.Random(f"{seed}:down"))  # host → browser
        self._fds = {inner: (self.up, outer), outer: (self.down, inner)}
        self._outages: tuple[tuple[float, float], ...] = ()
        # Every packet dropped, as (clock time, "up" | "down", why): per-step evidence of what the
        # link did (bounded: a few minutes of a saturated link; the oldest go first).
        self.drops: deque[tuple[float, str, str]] = deque(maxlen=100_000)
        self.up.on_drop = lambda why, t: self.drops.append((t, "up", why))
        self.down.on_drop = lambda why, t: self.drops.append((t, "down", why))
        self.retired: frozenset[bytes] = frozenset()  # IPv4 addresses no longer routable
        self._wake_r, self._wake_w = os.pipe()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="orderprobe-link", daemon=True)
        for fd in (inner, outer, self._wake_r):
            os.set_blocking(fd, False)

    # -- control (any thread: each change is one atomic attribute assignment) ------------------
    def configure(self, up: Direction, down: Direction) -> None:
        self.up.params, self.down.params = up, down
        self._wake()

    def set_outages(self, windows: list[tuple[float, float]]) -> None:
        """Link-down windows as (start, end) on ``clock``; replaces the previous ones."""
        self._outages = tuple(windows)
        self._wake()

    def dropped(self, start: float, end: float) -> dict[str, dict[str, int]]:
        """Packets dropped in [start, end) on ``clock``, per direction and reason."""
        out: dict[str, Counter[str]] = {}
        for t, direction, why in list(self.drops):  # a copy: the forwarder thread appends
            if start <= t < end:
                out.setdefault(direction, Counter())[why] += 1
        return {d: dict(c) for d, c in out.items()}

    def is_down(self, now: float) -> bool:
        return any(start <= now < end for start, end in self._outages)

    def start(self) -> Link:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop = True
        self._wake()
        self._thread.join(timeout=5)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    # -- the forwarder thread -------------------------------------------------------------------
    def _blocked(self, pipe: Pipe, packet: bytes, now: float) -> bool:
        # Most packets meet neither an outage nor a hand-over: the tests cost nothing then.
        if self._outages and self.is_down(now):
            pipe.stats["outage"] += 1
            pipe._dropped("outage", now)
            return True
        retired = self.retired
        if retired and (packet[12:16] if pipe is self.up else packet[16:20]) in retired:  # IPv4 source / destination
            pipe.stats["retired"] += 1
            pipe._dropped("retired", now)
            return True
        return False

    def _deliver(self, now: float) -> float | None:
        """Write every packet due by ``now``; returns when the next one is due (None: none queued)."""
        soonest = None
        for pipe, out in self._fds.values():
            for packet in pipe.pop_due(now):
                if not self._blocked(pipe, packet, now):
                    pipe.stats["out"] += 1
                    with contextlib.suppress(OSError):  # the far side is gone or full: the packet is lost
                        os.write(out, packet)
            due = pipe.next_due()
            if due is not None and (soonest is None or due < soonest):
                soonest = due
        return soonest

    def _read(self, fd: int) -> None:
        pipe = self._fds[fd][0]
        for _ in range(256):  # bounded, so a flood cannot starve delivery
            try:
                packet = os.read(fd, 65536)
            except (BlockingIOError, OSError):
                return
            now = self.clock()
            if not self._blocked(pipe, packet, now):
                pipe.offer(packet, now)

    def _run(self) -> None:
        # Real-time priority where allowed (root): on a busy machine a late wake-up is added delay.
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))  # 0: this thread (Linux)
        with selectors.DefaultSelector() as selector:
            for fd in (*self._fds, self._wake_r):
                selector.register(fd, selectors.EVENT_READ)
            # Asleep until a packet arrives, one is due or a control call wakes us: no ticks, so an
            # idle link costs nothing and a slow one no more than its packets.
            while not self._stop:
                due = self._deliver(self.clock())
                timeout = None if due is None else max(0.0, due - self.clock())
                for key, _ in selector.select(timeout):
                    if key.fd == self._wake_r:
                        with contextlib.suppress(BlockingIOError):
                            os.read(self._wake_r, 4096)
                    else:
                        self._read(key.fd)


class _Side:
    """``link.up`` / ``link.down`` of a ``LinkProcess``: their counters, read from the process."""

    def __init__(self, link: LinkProcess, name: str) -> None:
        self._link, self._name = link, name

    @property
    def stats(self) -> Counter[str]:
        return self._link._call("stats", self._name)  # type: ignore[no-any-return]

    @property
    def params(self) -> Direction:
        return self._link._call("params", self._name)  # type: ignore[no-any-return]


class _Channel:
    """Pickled messages over a stream socket, each behind its length: what multiprocessing's
    ``Connection`` does, without its import in the link's process."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._in = sock.makefile("rb")

    def send(self, message: Any) -> None:
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        self._sock.sendall(struct.pack("!I", len(data)) + data)

    def recv(self) -> Any:
        (size,) = struct.unpack("!I", self._exactly(4))
        return pickle.loads(self._exactly(size))

    def _exactly(self, size: int) -> bytes:
        data = self._in.read(size)
        if len(data) < size:  # the other side is gone
            raise EOFError
        return data

    def close(self) -> None:
        self._in.close()
        self._sock.close()


class LinkProcess:
    """A ``Link`` forwarding in a process of its own, with the same controls and records."""

    clock = staticmethod(time.monotonic)  # CLOCK_MONOTONIC: one clock for both processes

    def __init__(self, inner: int, outer: int, *, seed: int = 0) -> None:
        import subprocess  # here, not at the top: the link's own process never starts one

        ours, theirs = socket.socketpair()
        self._conn = _Channel(ours)
        self._lock = threading.Lock()
        code = f"from orderprobe.probes.emulation.link import serve; serve({theirs.fileno()}, {inner}, {outer}, {seed})"
        self._process = subprocess.Popen(  # stdin/stdout not inherited: xdist's workers talk over theirs
            [sys.executable, "-c", code],
            pass_fds=(theirs.fileno(), inner, outer),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        theirs.close()
        self.up, self.down = _Side(self, "up"), _Side(self, "down")

    def _call(self, method: str, *args: Any) -> Any:
        with self._lock:
            self._conn.send((method, args))
            return self._conn.recv()

    def start(self) -> LinkProcess:
        self._call("ping")  # the process is forwarding once it answers
        return self

    def configure(self, up: Direction, down: Direction) -> None:
        self._call("configure", up, down)

    def set_outages(self, windows: list[tuple[float, float]]) -> None:
        self._call("set_outages", list(windows))

    def dropped(self, start: float, end: float) -> dict[str, dict[str, int]]:
        return self._call("dropped", start, end)  # type: ignore[no-any-return]

    def is_down(self, now: float) -> bool:
        return self._call("is_down", now)  # type: ignore[no-any-return]

    @property
    def retired(self) -> frozenset[bytes]:
        return self._call("retired")  # type: ignore[no-any-return]

    @retired.setter
    def retired(self, addresses: frozenset[bytes]) -> None:
        self._call("retire", addresses)

    def stop(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            self._conn.send(("stop", ()))
        import subprocess

        self._conn.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def serve(control: int, inner: int, outer: int, seed: int) -> None:
    """The ``LinkProcess`` side: forward until told to stop or until the probe's process is gone."""
    conn = _Channel(socket.socket(fileno=control))
    link = Link(inner, outer, seed=seed).start()
    calls: dict[str, Callable[..., Any]] = {
        "ping": lambda: True,
        "configure": link.configure,
        "set_outages": link.set_outages,
        "dropped": link.dropped,
        "is_down": link.is_down,
        "stats": lambda name: Counter(getattr(link, name).stats),
        "params": lambda name: getattr(link, name).params,
        "retired": lambda: link.retired,
        "retire": lambda addresses: setattr(link, "retired", frozenset(addresses)),
    }
    try:
        while True:
            try:
                method, args = conn.recv()
            except (EOFError, OSError):  # the probe's process ended
                break
            if method == "stop":
                break
            conn.send(calls[method](*args))
    finally:
        link.stop()
