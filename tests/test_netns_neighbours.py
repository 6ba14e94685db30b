"""A packet-mode browser's namespace leaves every other browser on its host alone.

Chromium watches the addresses of its network namespace by netlink and, when one comes or goes,
aborts the connections it is making and the requests waiting for one with ERR_NETWORK_CHANGED,
as a phone does on a new network (requests already sent go on). So the host end of a packet-mode
link must add no address to the host namespace: neither the gateway nor the IPv6 link-local one
the kernel gives a device that comes up. Else every packet-mode run set up or torn down would
break navigations of a CDP-mode run, of another worker, of any Chromium beside it on the host
(seen in the suite: `Page.goto: net::ERR_NETWORK_CHANGED` in a test with no namespace at all).

The "host" here is a namespace of the test's own, with a real Chromium and a real local server
in it: what other processes of this machine do to the real host's addresses can neither fail
nor pass the test. A Namespace opened from inside it puts its host end there, as on the host.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from orderprobe.probes.browser import launch_options
from orderprobe.probes.emulation.netns import PREFIX, Namespace, inside
from orderprobe.probes.emulation.packet import Unavailable, unavailable

CONNECTIONS = 6  # Chromium's connections per host: one more request to it waits for one of them
START = """([url, n]) => { window.done = {};
  for (let i = 0; i < n; i++) fetch(`${url}/held/${i}`, {cache: 'no-store'})
    .then(r => r.text().then(() => done[i] = r.status), e => done[i] = String(e)); }"""


class Held(BaseHTTPRequestHandler):
    """``/held/…`` answers only once the test lets it (``server.release``)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/held/"):
            with self.server.lock:  # type: ignore[attr-defined]
                self.server.arrived += 1  # type: ignore[attr-defined]
            self.server.release.wait()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def stage() -> Iterator[str]:
    """A namespace standing in for the host: loopback up, nothing else."""
    if reason := unavailable("http://127.0.0.1"):
        pytest.skip(reason)
    from pyroute2 import IPRoute, netns

    def loopback_up() -> None:
        with IPRoute() as ip:
            ip.link("set", index=ip.link_lookup(ifname="lo")[0], state="up")

    name = f"{PREFIX}{os.getpid()}-stage"  # netns.sweep() removes it if this process dies
    inside(name, loopback_up, create=True)
    yield name
    netns.remove(name)


def test_opening_and_closing_a_namespace_aborts_no_request_of_a_browser_beside_it(stage: str, tmp_path: Path) -> None:
    server = inside(stage, lambda: ThreadingHTTPServer(("127.0.0.1", 0), Held))  # its socket is the stage's
    server.daemon_threads, server.arrived, server.lock, server.release = True, 0, threading.Lock(), threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    options = launch_options()
    wrapper = tmp_path / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec nsenter --net=/run/netns/{stage} -- {options["executable_path"]} "$@"\n')
    wrapper.chmod(0o755)
    net_log = tmp_path / "net-log.json"  # what Chromium itself saw of the network
    options.update(executable_path=str(wrapper), args=[*options["args"], f"--log-net-log={net_log}"])
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(**options, timeout=0)
            page = browser.new_page()
            page.set_default_timeout(0)  # a loaded machine only adds time
            failed: list[str] = []
            page.on("requestfailed", lambda request: failed.append(f"{request.url}: {request.failure}"))
            page.goto(url + "/")
            with page.expect_request(f"{url}/held/{CONNECTIONS}"):  # the one that waits for a connection
                page.evaluate(START, [url, CONNECTIONS + 1])
            while server.arrived < CONNECTIONS:  # every connection busy; stops early if a request failed
                assert page.evaluate("Object.values(done)") == [], "a held request ended before its answer"
                page.wait_for_timeout(50)
            try:
                namespace = inside(stage, Namespace)  # its host end in the stage, as on the host
            except Unavailable as exc:
                pytest.skip(str(exc))
            inside(stage, namespace.close)
            server.release.set()
            page.wait_for_function(f"Object.keys(done).length === {CONNECTIONS + 1}", timeout=0)
            done = page.evaluate("done")
            browser.close()  # writes the net log out
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
    assert failed == []  # without the fix: […/held/6: net::ERR_NETWORK_CHANGED], the one waiting for a connection
    assert done == {str(i): 200 for i in range(CONNECTIONS + 1)}
    log = json.loads(net_log.read_text(encoding="utf-8"))
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    seen = {names[event["type"]] for event in log["events"]}
    assert "NETWORK_IP_ADDRESSES_CHANGED" not in seen  # however the race between notice and answer went
    assert "URL_REQUEST_START_JOB" in seen  # the log did record the requests
