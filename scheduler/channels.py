"""Alert channels, each with its real payload format and signing.

``payload()`` is a pure function of the alert (and a timestamp, for signing) so the
formats are easy to test; ``send()`` does the I/O and raises ``ChannelError`` on
failure. URLs and secrets come from the environment and never appear in an error
message or a log line: ``redact()`` scrubs them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import smtplib
import time
import urllib.parse
from email.message import EmailMessage
from typing import Any

import httpx

from scheduler import config as cfg
from scheduler.alert import Alert

COLOUR = {"open": "red", "remind": "orange", "resolve": "green"}  # Feishu card templates
WECOM_COLOUR = {"open": "warning", "remind": "warning", "resolve": "info"}
WECOM_MAX_BYTES = 4096  # the bot refuses longer markdown
# Feishu and DingTalk bots refuse request bodies over 20 KB: their text stays well under it.
BOT_TEXT_BYTES = 16_000
SLACK_FIELD, SLACK_SECTION, SLACK_HEADER = 2000, 3000, 150  # Block Kit's limits, in characters


class ChannelError(RuntimeError):
    pass


# What a page showed or fetched reaches alerts (step names, errors, URLs): as text, never as
# markup. Markdown syntax characters become their full-width look-alikes, which read the same
# in a Chinese message and mean nothing to any bot's markdown dialect (whose backslash escapes
# are undocumented); a line break, which could start a heading or a link definition, a space.
_MD_LOOKALIKES = str.maketrans(
    {"[": "［", "]": "］", "(": "（", ")": "）", "<": "＜", ">": "＞", "*": "＊", "~": "～", "`": "ˋ", "#": "＃"}
    | {"\\": "＼", "|": "｜"}
)
_EDGE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")  # gateway_down stays as it is


def escape_markdown(text: str) -> str:
    return _EDGE_UNDERSCORE.sub("＿", " ".join(text.splitlines())).translate(_MD_LOOKALIKES)


def escape_slack(text: str, limit: int | None = None) -> str:
    """Slack's mrkdwn: ``& < >`` are control characters (links, mentions) and must be entities.
    With ``limit``: at most that many characters, never ending in half an entity."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if limit is None or len(escaped) <= limit:
        return escaped
    return re.sub(r"&[a-z]*$", "", escaped[: limit - 1]) + "…"


def cut(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes, cut on a character boundary and marked with …; one pass,
    whatever the length (page text in an alert can be megabytes)."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


class Channel:
    def __init__(self, name: str, config: cfg.ChannelBase, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.name = name
        self.config = config
        self.url = env.get(config.url_env, "") if config.url_env else ""
        self.secret = env.get(config.secret_env, "") if config.secret_env else ""

    def secrets(self) -> list[str]:
        return [s for s in (self.url, self.secret) if s]

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets(), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def send(self, alert: Alert) -> None:
        raise NotImplementedError


class WebhookChannel(Channel):
    """Generic JSON webhook: the alert model as JSON; optional HMAC-SHA256 signature header."""

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
                self.target(now), content=body, headers=self.headers(body, now), timeout=self.config.timeout
            )
        except httpx.HTTPError as exc:
            raise ChannelError(self.redact(f"{type(exc).__name__}: {exc}")) from None
        self.check(response)


def _bot_code(response: httpx.Response, *keys: str) -> None:
    if response.status_code >= 300:
        raise ChannelError(f"HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise ChannelError(f"HTTP {response.status_code}, not JSON") from None
    for key in keys:
        if key in data and data[key] not in (0, "0"):
            raise ChannelError(f"bot refused: {key}={data[key]} {data.get('msg') or data.get('errmsg') or ''}")


class FeishuChannel(WebhookChannel):
    """Feishu / Lark custom bot: text, post (rich text) or interactive card; optional signing."""

    def sign(self, now: float) -> dict[str, str]:
        if not self.secret:
            return {}
        stamp = str(int(now))
        # Feishu's scheme: the key is "timestamp\nsecret" and the message is empty.
        digest = hmac.new(f"{stamp}\n{self.secret}".encode(), b"", hashlib.sha256).digest()
        return {"timestamp": stamp, "sign": base64.b64encode(digest).decode()}

    def payload(self, alert: Alert, now: float) -> dict[str, Any]:
        msg_type = getattr(self.config, "msg_type", "interactive")
        if msg_type == "text":
            # Feishu text parses <at user_id=…> tags: angle brackets from a page must stay text.
            text = cut(alert.text().replace("<", "＜").replace(">", "＞"), BOT_TEXT_BYTES)
            body: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        elif msg_type == "post":
            said = [f"{k}: {v}" for k, v in alert.facts()]
            said += [f"• {line}" for line in alert.problem_lines()] if alert.event != "resolve" else []
            lines, budget = [], BOT_TEXT_BYTES
            for line in said:
                if budget <= 0:
                    break
                lines.append([{"tag": "text", "text": cut(line, budget)}])
                budget -= len(line.encode())
            if alert.report.startswith(("http://", "https://")):
                lines.append([{"tag": "a", "text": "查看报告 Open report", "href": alert.report}])
            body = {"msg_type": "post", "content": {"post": {"zh_cn": {"title": alert.title, "content": lines}}}}
        else:
            markdown = cut(alert.markdown(escape=escape_markdown), BOT_TEXT_BYTES)
            elements: list[dict[str, Any]] = [{"tag": "div", "text": {"tag": "lark_md", "content": markdown}}]
            if alert.report.startswith(("http://", "https://")):
                label = {"tag": "plain_text", "content": "查看报告 Open report"}
                button = {"tag": "button", "text": label, "url": alert.report, "type": "default"}
                elements.append({"tag": "action", "actions": [button]})
            body = {
                "msg_type": "interactive",
                "card": {
                    "config": {"wide_screen_mode": True},
                    "header": {
                        "template": COLOUR[alert.event],
                        "title": {"tag": "plain_text", "content": cut(alert.title, 500)},
                    },
                    "elements": elements,
                },
            }
        return {**self.sign(now), **body}

    def check(self, response: httpx.Response) -> None:
        _bot_code(response, "code", "StatusCode")


class DingTalkChannel(WebhookChannel):
    """DingTalk custom robot: markdown; signed with timestamp + sign query parameters."""

    def target(self, now: float) -> str:
        if not self.secret:
            return self.url
        stamp = str(int(now * 1000))  # milliseconds
        digest = hmac.new(self.secret.encode(), f"{stamp}\n{self.secret}".encode(), hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest))
        return f"{self.url}{'&' if '?' in self.url else '?'}timestamp={stamp}&sign={sign}"

    def payload(self, alert: Alert, now: float) -> dict[str, Any]:
        mobiles = list(getattr(self.config, "at_mobiles", ()))
        # DingTalk markdown needs blank lines between lines; @mentions must also appear in the text.
        text = f"### {escape_markdown(alert.title)}\n\n" + alert.markdown(escape=escape_markdown).replace("\n", "\n\n")
        text = cut(text, BOT_TEXT_BYTES)
        if mobiles and alert.urgency == "high":
            text += "\n\n" + " ".join(f"@{m}" for m in mobiles)
        at = {"atMobiles": mobiles if alert.urgency == "high" else [], "isAtAll": False}
        return {"msgtype": "markdown", "markdown": {"title": cut(alert.title, 500), "text": text}, "at": at}

    def check(self, response: httpx.Response) -> None:
        _bot_code(response, "errcode")


class WeComChannel(WebhookChannel):
    """WeCom (企业微信) group bot: markdown, at most 4096 bytes."""

    def payload(self, alert: Alert, now: float) -> dict[str, Any]:
        title = f'## <font color="{WECOM_COLOUR[alert.event]}">{escape_markdown(alert.title)}</font>'
        content = f"{title}\n{alert.markdown(escape=escape_markdown)}"
        content = cut(content, WECOM_MAX_BYTES)
        return {"msgtype": "markdown", "markdown": {"content": content}}

    def check(self, response: httpx.Response) -> None:
        _bot_code(response, "errcode")


class SlackChannel(WebhookChannel):
    """Slack incoming webhook: fallback ``text`` plus Block Kit ``blocks``."""

    def payload(self, alert: Alert, now: float) -> dict[str, Any]:
        fields = [
            {"type": "mrkdwn", "text": f"*{escape_slack(k)}*\n" + escape_slack(v, SLACK_FIELD - len(k) - 5)}
            for k, v in alert.facts()
        ][:10]  # at most 10 fields
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": alert.title[:SLACK_HEADER], "emoji": True}},
            {"type": "section", "fields": fields},
        ]
        if alert.problems and alert.event != "resolve":
            lines = escape_slack("\n".join(f"• {line}" for line in alert.problem_lines()), SLACK_SECTION)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": lines}})
        return {"text": escape_slack(alert.title, SLACK_SECTION), "blocks": blocks}

    def check(self, response: httpx.Response) -> None:
        if response.status_code >= 300:
            raise ChannelError(f"HTTP {response.status_code}: {response.text[:100]}")


class EmailChannel(Channel):
    def __init__(self, name: str, config: cfg.EmailChannel, environ: dict[str, str] | None = None) -> None:
        super().__init__(name, config, environ)
        env = os.environ if environ is None else environ
        self.email = config
        self.username = env.get(config.username_env, "") if config.username_env else ""
        self.password = env.get(config.password_env, "") if config.password_env else ""

    def secrets(self) -> list[str]:
        return [s for s in (self.password,) if s]

    def message(self, alert: Alert) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = alert.title
        msg["From"] = self.email.sender
        msg["To"] = ", ".join(self.email.to)
        msg["X-Orderprobe-Incident"] = f"{alert.job}/{alert.kind}/{alert.incident_id}"
        msg.set_content(alert.text())
        return msg

    def send(self, alert: Alert) -> None:
        try:
            with smtplib.SMTP(self.email.host, self.email.port, timeout=self.config.timeout) as smtp:
                if self.email.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(self.message(alert))
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(self.redact(f"{type(exc).__name__}: {exc}")) from None


KINDS: dict[str, type[Channel]] = {
    "webhook": WebhookChannel,
    "feishu": FeishuChannel,
    "lark": FeishuChannel,
    "dingtalk": DingTalkChannel,
    "wecom": WeComChannel,
    "slack": SlackChannel,
    "email": EmailChannel,
}


def build(channels: dict[str, Any], environ: dict[str, str] | None = None) -> dict[str, Channel]:
    return {name: KINDS[c.type](name, c, environ) for name, c in channels.items()}
