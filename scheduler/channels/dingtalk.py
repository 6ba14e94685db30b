"""DingTalk custom robot: markdown; signed with timestamp + sign query parameters."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from typing import Any, Literal

import httpx

from orderprobe.scheduler.alert import Alert
from orderprobe.scheduler.channels.text import BOT_TEXT_BYTES, cut, escape_markdown
from orderprobe.scheduler.channels.webhook import WebhookChannel, WebhookSettings, bot_code


class DingTalkSettings(WebhookSettings):
    type: Literal["dingtalk"]  # type: ignore[assignment]
    at_mobiles: tuple[str, ...] = ()  # mentioned on high-urgency alerts


class DingTalkChannel(WebhookChannel):
    Settings = DingTalkSettings
    config: DingTalkSettings

    def target(self, now: float) -> str:
        if not self.secret:
            return self.url
        stamp = str(int(now * 1000))  # milliseconds
        digest = hmac.new(self.secret.encode(), f"{stamp}\n{self.secret}".encode(), hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest))
        return f"{self.url}{'&' if '?' in self.url else '?'}timestamp={stamp}&sign={sign}"

    def payload(self, alert: Alert, now: float) -> dict[str, Any]:
        mobiles = list(self.config.at_mobiles)
        # DingTalk markdown needs blank lines between lines; @mentions must also appear in the text.
        text = f"### {escape_markdown(alert.title)}\n\n" + alert.markdown(escape=escape_markdown).replace("\n", "\n\n")
        text = cut(text, BOT_TEXT_BYTES)
        if mobiles and alert.urgency == "high":
            text += "\n\n" + " ".join(f"@{m}" for m in mobiles)
        at = {"atMobiles": mobiles if alert.urgency == "high" else [], "isAtAll": False}
        return {"msgtype": "markdown", "markdown": {"title": cut(alert.title, 500), "text": text}, "at": at}

    def check(self, response: httpx.Response) -> None:
        bot_code(response, "errcode")
