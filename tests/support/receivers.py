"""Local alert receivers: a webhook HTTP server and an SMTP sink, both on loopback.

For tests, benchmarks and for trying a schedule's alerts on one machine
(``python -m tests.support.receivers`` prints what arrives). They record every request
as it arrived (method, path, query, headers, body) so tests can check the real
payload formats and signatures.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 90.0, poll: float = 0.05) -> Any:
    """Poll a condition until it holds and return its value; the deadline only guards against hanging."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout:g}s waiting for: {what}")


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """An HTTP server on 127.0.0.1:0 recording every POST; answers like the bots do.

    ``reply`` maps a path prefix to (status, JSON body): e.g. ``{"/dingtalk": (200, {"errcode": 0})}``.
    ``fail_first`` makes the first N requests answer 500 (to exercise retries).
    """

    def __init__(self, reply: dict[str, tuple[int, Any]] | None = None, fail_first: int = 0) -> None:
        self.requests: list[Received] = []
        self.reply = reply or {}
        self.fail_first = fail_first
        self._lock = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                with outer._lock:
                    failing = outer.fail_first > 0
                    if failing:
                        outer.fail_first -= 1
                    else:
                        outer.requests.append(
                            Received("POST", parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
                        )
                    outer._lock.notify_all()
                status, payload = (500, {"error": "try again"}) if failing else outer._answer(parts.path)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        # A 50 ms poll: stop() (shutdown) returns at once, not after serve_forever's 0.5 s poll.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _answer(self, path: str) -> tuple[int, Any]:
        for prefix, answer in self.reply.items():
            if path.startswith(prefix):
                return answer
        return 200, {"ok": True, "code": 0, "errcode": 0}

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 30.0) -> list[Received]:
        """Block until ``predicate(requests)`` holds (or raise TimeoutError with what did arrive)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    paths = [r.path for r in self.requests]
                    raise TimeoutError(f"webhook receiver: condition not met in {timeout}s; got {paths}")
                self._lock.wait(left)
            return list(self.requests)

    def on(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]


class SMTPSink:
    """A minimal SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []
        self._lock = threading.Condition()
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self._send("220 orderprobe-sink ESMTP")
                sender, rcpts = "", []
                while line := self.rfile.readline():
                    command = line.decode("utf-8", "replace").strip()
                    verb = command[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self._send("250-orderprobe-sink", "250 8BITMIME" if verb == "EHLO" else None)
                    elif verb == "MAIL":
                        sender, rcpts = command.split(":", 1)[1].strip().strip("<>").split(">")[0], []
                        self._send("250 OK")
                    elif verb == "RCPT":
                        rcpts.append(command.split(":", 1)[1].strip().strip("<>"))
                        self._send("250 OK")
                    elif verb == "DATA":
                        self._send("354 end with <CRLF>.<CRLF>")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        with outer._lock:
                            outer.messages.append((sender, rcpts, message_from_bytes(data, policy=policy.default)))
                            outer._lock.notify_all()
                        self._send("250 OK queued")
                    elif verb in ("RSET", "NOOP"):
                        self._send("250 OK")
                    elif verb == "QUIT":
                        self._send("221 bye")
                        return
                    else:
                        self._send("502 not implemented")

            def _send(self, *lines: str | None) -> None:
                for text in lines:
                    if text is not None:
                        self.wfile.write(text.encode() + b"\r\n")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> SMTPSink:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[tuple[str, list[str], Message]]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"SMTP sink: {len(self.messages)} of {count} messages in {timeout}s")
                self._lock.wait(left)
            return list(self.messages)


if __name__ == "__main__":
    receiver = WebhookReceiver().start()
    print(f"webhook receiver on {receiver.url('/<anything>')}; Ctrl-C to stop", flush=True)
    seen = 0
    try:
        while True:
            requests = receiver.wait_for(lambda r, seen=seen: len(r) > seen, timeout=3600)
            for request in requests[seen:]:
                print(request.path, request.body.decode("utf-8", "replace"), flush=True)
            seen = len(requests)
    except KeyboardInterrupt:
        receiver.stop()
