"""The HAR of a journey: Playwright's own ``record_har`` (minimal mode), kept with the trace and
screenshot when the journey failed.

Bodies are left out unless asked (``--har-content embed``): they are large and carry what the
shopper typed. What is kept is scrubbed of the profile's secrets in every form they take
(``orderprobe.probes.secrets``), and the values of session headers (cookies, authorization) are masked:
a HAR handed to the shop's team must not log anyone in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from orderprobe.probes.secrets import MASK, scrub_text

MODES = ("failure", "always", "off")  # when a journey's HAR is kept
DEFAULT = "failure"
CONTENT = ("omit", "embed")  # response bodies: left out (default) or inside the HAR
SESSION_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})
NAME = "network.har"


def context_options(part: Path, content: str) -> dict[str, Any]:
    """``browser.new_context`` keyword arguments that record the journey's HAR into ``part``."""
    return {"record_har_path": str(part), "record_har_mode": "minimal", "record_har_content": content}


def _mask_sessions(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        for side in ("request", "response"):
            message = entry.get(side) or {}
            for header in message.get("headers") or []:
                if str(header.get("name", "")).lower() in SESSION_HEADERS:
                    header["value"] = MASK
            for cookie in message.get("cookies") or []:
                cookie["value"] = MASK


def keep(part: Path, final: Path, secrets: list[str]) -> None:
    """Write the recorded HAR at ``part`` to ``final`` scrubbed (whole or not at all)."""
    har = json.loads(part.read_text(encoding="utf-8"))
    _mask_sessions(har.get("log", {}).get("entries", []))
    text = scrub_text(json.dumps(har, ensure_ascii=False, indent=1), secrets)
    clean = final.with_name(final.name + ".clean")
    try:
        clean.write_text(text, encoding="utf-8")
        os.replace(clean, final)
    finally:
        clean.unlink(missing_ok=True)
