"""Page text inside alerts: as text, never as markup, and within each bot's size limits."""

from __future__ import annotations

import re

# Feishu and DingTalk bots refuse request bodies over 20 KB: their text stays well under it.
BOT_TEXT_BYTES = 16_000

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
