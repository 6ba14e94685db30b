"""A stdlib HTTP server on an ephemeral loopback port: the page server of the benchmarks (and of
tests that measure the browser), whose own time (~0.1 ms) stays out of what is measured."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def serve(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` (a request handler class, or a factory of one) serving on 127.0.0.1; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def answer(handler: BaseHTTPRequestHandler, body: bytes, kind: str, status: int = 200) -> None:
    """A whole, uncached response (``Cache-Control: no-store``: each run measures the network)."""
    handler.send_response(status)
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Cache-Control", "no-store")
    handler.end_headers()
    handler.wfile.write(body)


class Quiet(BaseHTTPRequestHandler):
    """A handler that keeps the terminal for the figures."""

    def log_message(self, *args: Any) -> None:
        pass
