"""Per-request timing phases from the browser's resource timing, on a real request in real Chromium."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from orderprobe.probes.browser import launch_options
from orderprobe.probes.recorder import Recorder, phases

WAIT_S = 0.3


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        time.sleep(WAIT_S)  # the server thinks before its first byte: that is "wait"
        body = b"<html><body>ok</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_phases_add_up_and_connect_excludes_tls() -> None:
    timing = {
        "startTime": 0,
        "domainLookupStart": 1,
        "domainLookupEnd": 11,
        "connectStart": 11,
        "secureConnectionStart": 20,
        "connectEnd": 50,
        "requestStart": 51,
        "responseStart": 151,
        "responseEnd": 171,
    }
    assert phases(timing) == {"dns": 10, "connect": 9, "tls": 30, "wait": 100, "download": 20}
    reused = dict(
        timing, domainLookupStart=-1, domainLookupEnd=-1, connectStart=-1, secureConnectionStart=-1, connectEnd=-1
    )
    assert phases(reused) == {"wait": 100, "download": 20}


def test_a_slow_server_shows_as_wait_in_a_real_request(server: str, tmp_path: Path) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        context = browser.new_context()
        page = context.new_page()
        recorder = Recorder(context, page, tmp_path, "r")
        page.goto(server)
        page.wait_for_load_state("load")
        record = next(r for r in recorder.requests if r.url == server)
        browser.close()
    assert set(record.phases) >= {"wait", "download"} and "tls" not in record.phases  # plain HTTP: no TLS
    assert record.phases["wait"] >= WAIT_S * 1000 * 0.9
    assert record.duration_ms is not None and sum(record.phases.values()) <= record.duration_ms + 50
