"""Feishu / Lark custom bot: text, post (rich text) or interactive card; optional signing."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, Literal

import httpx

from orderprobe.scheduler.alert import Alert
from orderprobe.scheduler.channels.text import BOT_TEXT_BYTES, cut, escape_markdown
from orderprobe.scheduler.channels.webhook import WebhookChannel, WebhookSettings, bot_code

COLOUR = {"open": "red", "remind": "orange", "resolve": "green"}  # card header templates
OPEN_REPORT = "查看报告 Open report"


class FeishuSettings(WebhookSettings):
    type: Literal["feishu", "lark"]  # type: ignore[assignment]
    msg_type: Literal["text", "post", "interactive"] = "interactive"


class FeishuChannel(WebhookChannel):
    Settings = FeishuSettings
    config: FeishuSettings

    def sign(self, now: float) -> dict[str, str]:
        if not self.secret:
            return {}
        stamp = str(int(now))
        # Feishu's scheme: the key is "timestamp\nsecret" and the message is empty.
        digest = hmac.new(f"{stamp}\n{self.secret}".encode(), b"", hashlib.sha256).digest()
        return {"timestamp": stamp, "sign": base64.b64encode(digest).decode()}

    def payload(self, alert: Alert, now: float) -> dict[str, Any]:
        body = {"text": _text, "post": _post}.get(self.config.msg_type, _card)(alert)
        return {**self.sign(now), **body}

    def check(self, response: httpx.Response) -> None:
        bot_code(response, "code", "StatusCode")


def _text(alert: Alert) -> dict[str, Any]:
    # Feishu text parses <at user_id=…> tags: angle brackets from a page must stay text.
    text = cut(alert.text().replace("<", "＜").replace(">", "＞"), BOT_TEXT_BYTES)
    return {"msg_type": "text", "content": {"text": text}}


def _post(alert: Alert) -> dict[str, Any]:
    said = [f"{k}: {v}" for k, v in alert.facts()]
    said += [f"• {line}" for line in alert.problem_lines()] if alert.event != "resolve" else []
    lines, budget = [], BOT_TEXT_BYTES
    for line in said:
        if budget <= 0:
            break
        lines.append([{"tag": "text", "text": cut(line, budget)}])
        budget -= len(line.encode())
    if alert.report.startswith(("http://", "https://")):
        lines.append([{"tag": "a", "text": OPEN_REPORT, "href": alert.report}])
    return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": alert.title, "content": lines}}}}


def _card(alert: Alert) -> dict[str, Any]:
    markdown = cut(alert.markdown(escape=escape_markdown), BOT_TEXT_BYTES)
    elements: list[dict[str, Any]] = [{"tag": "div", "text": {"tag": "lark_md", "content": markdown}}]
    if alert.report.startswith(("http://", "https://")):
        label = {"tag": "plain_text", "content": OPEN_REPORT}
        button = {"tag": "button", "text": label, "url": alert.report, "type": "default"}
        elements.append({"tag": "action", "actions": [button]})
    header = {"template": COLOUR[alert.event], "title": {"tag": "plain_text", "content": cut(alert.title, 500)}}
    card = {"config": {"wide_screen_mode": True}, "header": header, "elements": elements}
    return {"msg_type": "interactive", "card": card}
