"""How faithful is the packet-level link? Figures and ratios to the profile, measured in one run.

    python -m benchmarks emulation_packet [--quick]

A client thread enters the browser's namespace (setns) and talks through the link to servers on
this host's 127.0.0.1, exactly the path Chromium's packets take:

- RTT p50 / p95 and jitter: TCP ping-pong of 32 bytes (TCP_NODELAY), ``rtt_ms`` 170, jitter 10 ms
  each way (one-way sd, estimated as RTT sd / √2);
- loss: UDP datagrams through a 5 % random and a 5 %, burst 4 Gilbert–Elliott link;
- goodput: a 1.5 MB TCP download at 1600 kbit/s (IP bytes; TCP/IP headers are ~3 % of that);
- outage: a UDP stream every 10 ms, link down from 1.0 to 3.0 s: last/first datagram around it;
- TCP under 1 % and 5 % loss vs Mathis et al. (MSS / RTT · √(3/2) / √p), Reno sender, 40 ms RTT;
- page load: one fixed page (HTML + 120 KB CSS + 80 KB JS) under each preset, packet vs CDP mode;
- the link process's own CPU: at start-up (its imports), per idle second under wifi / slow-4g /
  metro-weak, per packet (the download above), and per journey: one ``orderprobe run`` of
  video_feed_checkout per network in packet mode, its link's CPU as a share of the run's whole
  process tree and of the same run with ``--emulation cdp`` (the browser on bare loopback).

Skipped, with the reason, where a namespace cannot be made.
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from orderprobe.probes.emulation.link import Direction, LinkProcess
from orderprobe.probes.emulation.packet import PacketPath, Unavailable, directions, unavailable
from orderprobe.profiles.catalogue import load_catalogue
from orderprobe.profiles.models import Network

PRESETS = ("wifi", "4g", "slow-4g", "3g", "edge", "metro-weak")
JOURNEY_NETWORKS = ("wifi", "slow-4g", "metro-weak")  # the `paths` matrix's
TICK = os.sysconf("SC_CLK_TCK")


def in_namespace(path: PacketPath, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a thread that has entered the browser's namespace (sockets made there stay there)."""
    from pyroute2 import netns

    assert path.namespace is not None
    out: dict[str, Any] = {}

    def run() -> None:
        netns.setns(path.namespace.name, flags=0)
        out["value"] = fn()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return out["value"]


@contextmanager
def tcp_server(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = False

    def accept() -> None:
        while not stop:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop = True
        listener.close()


def echo(conn: socket.socket) -> None:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with conn:
        while data := conn.recv(64):
            conn.sendall(data)


def bulk(size: int, reno: bool) -> Callable[[socket.socket], None]:
    def send(conn: socket.socket) -> None:
        if reno:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"reno")
        with conn:
            conn.recv(1)
            conn.sendall(b"x" * size)

    return send


def rtts(port: int, n: int) -> list[float]:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            s.sendall(b"p" * 32)
            got = 0
            while got < 32:
                got += len(s.recv(64))
            out.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.02)
        return out


def download(port: int, size: int, skip: float = 0.0) -> float:
    """Goodput in kbit/s over the transfer after its first ``skip`` share (past slow start)."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"g")
        got, first, mark = 0, 0.0, 0
        while got < size:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += len(chunk)
            if not first and got >= max(1, size * skip):
                first, mark = time.perf_counter(), got
        return (got - mark) * 8 / (time.perf_counter() - first) / 1000


def udp_stream(path: PacketPath, n: int, every_s: float) -> tuple[list[float], list[int]]:
    """Send ``n`` numbered datagrams; return the clock at each send and the numbers received."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(0.2)
    got: list[int] = []
    done = threading.Event()

    def receive() -> None:
        while True:
            try:
                got.append(int(sink.recv(64)))
            except TimeoutError:
                if done.is_set():
                    return

    receiver = threading.Thread(target=receive)
    receiver.start()
    address = sink.getsockname()

    def send() -> list[float]:
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sent = []
        for i in range(n):
            sent.append(time.monotonic())
            out.sendto(str(i).encode(), address)
            time.sleep(every_s)
        return sent

    sent = in_namespace(path, send)
    time.sleep(0.5)  # the last datagrams are still on the link
    done.set()
    receiver.join()
    sink.close()
    return sent, got


def link_figures(path: PacketPath, quick: bool) -> None:
    link = path.link
    assert link is not None
    n = 60 if quick else 1000  # the sd of 1,000 samples is within ±2.2% (1 SE) of the link's
    with tcp_server(echo) as port:
        base = sorted(in_namespace(path, lambda: rtts(port, n)))  # the machine's own share, measured alike
        link.configure(*directions(Network(name="b", rtt_ms=170, down_kbps=None, up_kbps=None, jitter_ms=10)))
        samples = sorted(in_namespace(path, lambda: rtts(port, n)))
    p50 = samples[n // 2] - base[n // 2]
    p95 = samples[int(n * 0.95)] - base[n // 2]
    jitter = math.sqrt(max(0.0, statistics.variance(samples) - statistics.variance(base)) / 2)
    expected_p95 = 170 + 1.645 * 10 * math.sqrt(2)
    print(f"added RTT (minus the unshaped RTT, p50 {base[n // 2]:.1f} ms): p50 {p50:.1f} ms (×{p50 / 170:.3f} of 170)"
          f"   p95 {p95:.1f} ms (×{p95 / expected_p95:.3f} of {expected_p95:.0f} for N(170, 14.1))"
          f"   jitter {jitter:.1f} ms one-way (×{jitter / 10:.3f} of 10)")  # fmt: skip

    for label, loss in (("random 5%", Direction(loss=0.05)), ("GE 5% burst 4", Direction(loss=0.05, burst=4))):
        link.configure(loss, Direction())
        # Bursts make losses clump: 20,000 datagrams put a 5% burst-4 rate within about ±0.3 points.
        sent, got = udp_stream(path, 1000 if quick else 20_000, 0.0005)
        rate = 1 - len(got) / len(sent)
        print(f"loss {label}: {rate:.2%} of {len(sent)} datagrams (×{rate / 0.05:.3f})")

    link.configure(Direction(delay_ms=50, rate_kbps=750), Direction(delay_ms=50, rate_kbps=1600))
    size = 400_000 if quick else 1_500_000
    cpu0, packets0 = link_cpu(link), packets(link)
    with tcp_server(bulk(size, reno=False)) as port:
        kbps = in_namespace(path, lambda: download(port, size))
    per_packet = (link_cpu(link) - cpu0) / max(1, packets(link) - packets0) * 1e6
    print(f"goodput at 1600 kbit/s: {kbps:.0f} kbit/s (×{kbps / 1600:.3f}; TCP/IP headers alone are ×0.965);"
          f" link CPU {per_packet:.0f} µs per packet")  # fmt: skip

    link.configure(Direction(delay_ms=20), Direction(delay_ms=20))
    t0 = time.monotonic() + 0.3  # the stream starts about now
    link.set_outages([(t0 + 1.0, t0 + 3.0)])
    sent, got = udp_stream(path, 400, 0.01)
    link.set_outages([])
    lost = sorted(set(range(len(sent))) - set(got))
    if lost:
        start, end = sent[lost[0]] - t0, sent[lost[-1] + 1] - t0 if lost[-1] + 1 < len(sent) else float("nan")
        print(f"outage 1.000–3.000 s: datagrams lost from {start:.3f} s, through again from {end:.3f} s "
              f"(start ×{start / 1.0:.3f}, end ×{end / 3.0:.3f}; resolution 10 ms)")  # fmt: skip

    for p, size in ((0.01, 4_000_000), (0.05, 1_500_000)):
        link.configure(Direction(delay_ms=20), Direction(delay_ms=20, loss=p))
        with tcp_server(bulk(size, reno=True)) as port:
            kbps = in_namespace(path, lambda port=port, size=size: download(port, size, skip=0.3))
        mathis = 1448 * 8 / 0.04 * math.sqrt(1.5) / math.sqrt(p) / 1000
        print(f"TCP Reno at {p:.0%} loss, 40 ms RTT, after slow start: {kbps:.0f} kbit/s; "
              f"Mathis {mathis:.0f} (×{kbps / mathis:.3f})")  # fmt: skip
    path.reset()


class Page(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    BODIES = {
        "/": (b"<!doctype html><link rel=stylesheet href=/a.css><script src=/a.js></script><p>page", "text/html"),
        "/a.css": (b"p{color:red}" + b" " * 120_000, "text/css"),
        "/a.js": (b"var a=1;" + b" " * 80_000, "text/javascript"),
    }

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body, kind = self.BODIES.get(self.path, (b"", "text/plain"))
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a browser gone mid-body
            self.wfile.write(body)


def page_loads(path: PacketPath, quick: bool) -> None:
    from playwright.sync_api import sync_playwright

    from orderprobe.probes.browser import launch_options
    from orderprobe.probes.emulation.throttling.cdp import throttle_network

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    networks = load_catalogue().networks
    with sync_playwright() as p:
        options = launch_options()
        plain = p.chromium.launch(**options)
        options["executable_path"] = path.executable(options["executable_path"])
        boxed = p.chromium.launch(**options)
        print("page load (HTML + 120 KB CSS + 80 KB JS, new context each, min of N) — packet vs CDP:")
        for name in PRESETS[:3] if quick else PRESETS:
            net = networks[name].model_copy(update={"dropouts": None})
            times = {}
            for mode, browser in (("packet", boxed), ("cdp", plain)):
                best = math.inf
                for _ in range(1 if quick else 3):
                    context = browser.new_context()
                    page = context.new_page()
                    if mode == "cdp":
                        throttle_network(context.new_cdp_session(page), net)
                    else:
                        path.impose(net)
                    t0 = time.perf_counter()
                    page.goto(url, wait_until="load")
                    best = min(best, time.perf_counter() - t0)
                    context.close()
                    path.reset()
                times[mode] = best * 1000
            print(f"  {name:11} packet {times['packet']:7.0f} ms   cdp {times['cdp']:7.0f} ms   "
                  f"×{times['packet'] / times['cdp']:.2f} (real handshakes, slow start)")  # fmt: skip
        plain.close()
        boxed.close()
    httpd.shutdown()


def cpu_s(pid: int | str) -> float:
    """User + system CPU seconds of one live process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def link_cpu(link: Any) -> float:
    return cpu_s(link._process.pid) if isinstance(link, LinkProcess) else float("nan")


def packets(link: Any) -> int:
    return sum(link.up.stats.values()) + sum(link.down.stats.values())


def idle_cost(path: PacketPath, quick: bool) -> None:
    """The link process at start-up and per idle second: it should wake for packets, not for time."""
    link = path.link
    assert isinstance(link, LinkProcess)
    started = link_cpu(link)
    seconds = 3 if quick else 10
    networks = load_catalogue().networks
    costs = []
    for name in JOURNEY_NETWORKS:
        path.impose(networks[name])
        before = link_cpu(link)
        time.sleep(seconds)
        costs.append(f"{name} {(link_cpu(link) - before) / seconds * 1000:.2f}")
    path.reset()
    bare = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    python = after.ru_utime + after.ru_stime - bare.ru_utime - bare.ru_stime
    print(f"link process: start-up CPU {started * 1000:.0f} ms (a bare `python -c pass` {python * 1000:.0f} ms);"
          f" idle CPU per second, ms: {', '.join(costs)}")  # fmt: skip


def setup_cost() -> None:
    """A worker's namespace, uplink, resolver and link: set up and torn down, the whole tree's CPU."""

    def used() -> float:
        usages = map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        return sum(u.ru_utime + u.ru_stime for u in usages)

    PacketPath().open().close()  # the first pays for imports
    before, t0 = used(), time.perf_counter()
    PacketPath().open().close()
    print(f"a worker's packet path, open + close: {(used() - before) * 1000:.0f} ms CPU"
          f" ({time.perf_counter() - t0:.2f} s wall)")  # fmt: skip


def links_below(root: int) -> list[str]:
    """The link processes among ``root``'s descendants."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"emulation.link" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            parent = pid
            while parent not in ("0", "1", str(root)):
                parent = Path(f"/proc/{parent}/stat").read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if parent == str(root):
            found.append(pid)
    return found


def one_run(net: str, mode: str, folder: Path) -> tuple[float, float, float]:
    """(whole-tree CPU, the link's CPU, wall) of ``orderprobe run`` of one journey under ``net``."""
    cmd = [sys.executable, "-m", "orderprobe", "run", "--probe", "video_feed_checkout",
           "--profile", f"android-mid/{net}/shanghai/normal", "--emulation", mode, "--no-report", "--no-progress",
           "--artefacts", str(folder / "art"), "--results", f"sqlite:///{folder / 'runs.db'}"]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: dict[str, float] = {}
    while proc.poll() is None:  # the link is a grandchild: its last reading before it ends
        for pid in links_below(proc.pid):
            seen[pid] = max(seen.get(pid, 0.0), cpu_s(pid))
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tree = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return tree, sum(seen.values()), wall


def journey_cost(quick: bool) -> None:
    """Per journey: the link's CPU against the run's whole tree, packet mode vs CDP (bare loopback)."""
    os.environ.setdefault("ORDERPROBE_DEMO_PASSWORD", "demo-pass")
    print("link CPU per journey (`orderprobe run` of video_feed_checkout on android-mid; whole process tree):")
    with tempfile.TemporaryDirectory() as tmp:
        for net in JOURNEY_NETWORKS[:1] if quick else JOURNEY_NETWORKS:
            packet, link, wall = one_run(net, "packet", Path(tmp))
            cdp, _, cdp_wall = one_run(net, "cdp", Path(tmp))
            print(f"  {net:11} link {link * 1000:5.0f} ms   run: packet {packet:5.2f} s CPU ({wall:4.1f} s wall)"
                  f"  cdp {cdp:5.2f} s CPU ({cdp_wall:4.1f} s wall)   link ×{link / packet:.3f} of packet's,"
                  f" ×{link / cdp:.3f} of cdp's; packet/cdp ×{packet / cdp:.2f}")  # fmt: skip


def main(quick: bool = False) -> None:
    reason = unavailable("http://127.0.0.1")
    try:
        if reason:
            raise Unavailable(reason)
        path = PacketPath().open()
    except Unavailable as exc:
        print(f"skipped: {exc}")
        return
    try:
        setup_cost()
        idle_cost(path, quick)
        link_figures(path, quick)
        page_loads(path, quick)
    finally:
        path.close()
    journey_cost(quick)


if __name__ == "__main__":
    main()
