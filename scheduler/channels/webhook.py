"""The generic JSON webhook, and the HTTP delivery every bot channel shares.

``payload()`` is a pure function of the alert (and a timestamp, for signing) so the formats
are easy to test; ``send()`` does the I/O.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import ssl
import time
from typing import Any, Literal

import httpx
from pydantic import model_validator

from orderprobe.scheduler.alert import Alert
from orderprobe.scheduler.channels.base import Channel, ChannelError, ChannelSettings


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every message of the process (httpx's default trust, SSL_CERT_FILE/DIR
    included): building one reads the whole CA bundle, 20 ms of CPU per message otherwise."""
    return httpx.create_ssl_context()


class WebhookSettings(ChannelSettings):
    type: Literal["webhook"]
    url_env: str | None = None  # name of the env var holding the webhook URL
    secret_env: str | None = None  # name of the env var holding the signing secret

    @model_validator(mode="after")
    def _has_url(self) -> WebhookSettings:
        if not self.url_env:
            raise ValueError("a webhook channel needs `url_env`: the env var holding its URL")
        return self


class WebhookChannel(Channel[WebhookSettings]):
    """Generic JSON webhook: the alert model as JSON; optional HMAC-SHA256 signature header."""

    Settings = WebhookSettings

    def __init__(self, name: str, config: WebhookSettings, environ: dict[str, str] | None = None) -> None:
        super().__init__(name, config, environ)
        self.url = self.env.get("url_env", "")
        self.secret = self.env.get("secret_env", "")

    def secrets(self) -> list[str]:
        return [s for s in (self.url, self.secret) if s]  # the URL may have gained a token since

    def payload(self, alert: Alert, now: float) -> dict[str, Any]:
        return {"source": "orderprobe", "title": alert.title, "text": alert.text(), **alert.model_dump(mode="json")}

    def target(self, now: float) -> str:
        return self.url

    def headers(self, body: bytes, now: float) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.secret:
            stamp = str(int(now))
            digest = hmac.new(self.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            headers |= {"X-Orderprobe-Timestamp": stamp, "X-Orderprobe-Signature": f"sha256={digest}"}
        return headers

    def check(self, response: httpx.Response) -> None:
        """Bots answer HTTP 200 with an error code in the body; a generic webhook only has the status."""
        if response.status_code >= 300:
            raise ChannelError(f"HTTP {response.status_code}")

    def send(self, alert: Alert) -> None:
        now = time.time()
        body = json.dumps(self.payload(alert, now), ensure_ascii=False).encode()
        try:
            response = httpx.post(
                self.target(now),
                content=body,
                headers=self.headers(body, now),
                timeout=self.config.timeout,
                verify=_tls(),
            )
        except httpx.HTTPError as exc:
            raise ChannelError(self.redact(f"{type(exc).__name__}: {exc}")) from None
        self.check(response)


def bot_code(response: httpx.Response, *keys: str) -> None:
    """Chinese bots answer HTTP 200 with a non-zero code in the body when they refuse a message."""
    if response.status_code >= 300:
        raise ChannelError(f"HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise ChannelError(f"HTTP {response.status_code}, not JSON") from None
    for key in keys:
        if key in data and data[key] not in (0, "0"):
            raise ChannelError(f"bot refused: {key}={data[key]} {data.get('msg') or data.get('errmsg') or ''}")
