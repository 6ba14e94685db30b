"""WeCom (企业微信) group bot: markdown, at most 4096 bytes."""

from __future__ import annotations

from typing import Any, Literal

import httpx

from orderprobe.scheduler.alert import Alert
from orderprobe.scheduler.channels.text import cut, escape_markdown
from orderprobe.scheduler.channels.webhook import WebhookChannel, WebhookSettings, bot_code

COLOUR = {"open": "warning", "remind": "warning", "resolve": "info"}
MAX_BYTES = 4096  # the bot refuses longer markdown


class WeComSettings(WebhookSettings):
    type: Literal["wecom"]  # type: ignore[assignment]


class WeComChannel(WebhookChannel):
    Settings = WeComSettings

    def payload(self, alert: Alert, now: float) -> dict[str, Any]:
        title = f'## <font color="{COLOUR[alert.event]}">{escape_markdown(alert.title)}</font>'
        content = cut(f"{title}\n{alert.markdown(escape=escape_markdown)}", MAX_BYTES)
        return {"msgtype": "markdown", "markdown": {"content": content}}

    def check(self, response: httpx.Response) -> None:
        bot_code(response, "errcode")
