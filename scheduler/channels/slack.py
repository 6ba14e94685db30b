"""Slack incoming webhook: fallback ``text`` plus Block Kit ``blocks``."""

from __future__ import annotations

from typing import Any, Literal

import httpx

from orderprobe.scheduler.alert import Alert
from orderprobe.scheduler.channels.base import ChannelError
from orderprobe.scheduler.channels.text import escape_slack
from orderprobe.scheduler.channels.webhook import WebhookChannel, WebhookSettings

FIELD, SECTION, HEADER = 2000, 3000, 150  # Block Kit's limits, in characters


class SlackSettings(WebhookSettings):
    type: Literal["slack"]  # type: ignore[assignment]


class SlackChannel(WebhookChannel):
    Settings = SlackSettings

    def payload(self, alert: Alert, now: float) -> dict[str, Any]:
        fields = [
            {"type": "mrkdwn", "text": f"*{escape_slack(k)}*\n" + escape_slack(v, FIELD - len(k) - 5)}
            for k, v in alert.facts()
        ][:10]  # at most 10 fields
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": alert.title[:HEADER], "emoji": True}},
            {"type": "section", "fields": fields},
        ]
        if alert.problems and alert.event != "resolve":
            lines = escape_slack("\n".join(f"• {line}" for line in alert.problem_lines()), SECTION)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": lines}})
        return {"text": escape_slack(alert.title, SECTION), "blocks": blocks}

    def check(self, response: httpx.Response) -> None:
        if response.status_code >= 300:
            raise ChannelError(f"HTTP {response.status_code}: {response.text[:100]}")
