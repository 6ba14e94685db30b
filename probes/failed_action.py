"""The Playwright action that failed and the locator it waited for, read from an error message.

The recorder reads them when it captures a failure; the run report reads them again from the
step's error when the recorder could not tell. Plain text: no Playwright, so the controller's
report does not import the journey machinery.
"""

from __future__ import annotations

import re

_ACTION = re.compile(r"^(?:[\w.]+Error: )?([A-Z]\w*\.\w+):", re.M)
_EXPECT = re.compile(r'Expect "(\w+)"')
_LOCATOR = re.compile(r"waiting for (.+)$", re.M)
# The call log's line first: a harness's own message may say "waiting for" in its first line too
# ("Timeout waiting for 'pay'"), where what follows is a name, not a locator to look for again.
_CALL_LOG_LOCATOR = re.compile(r"^\s*- waiting for (.+)$", re.M)


def parse_action(message: str) -> tuple[str | None, str | None]:
    """Pull the failed Playwright action and its locator out of an error message."""
    expect = _EXPECT.search(message)
    action = f"expect.{expect.group(1)}" if expect else None
    if action is None and (match := _ACTION.search(message)):
        action = match.group(1)
    locator = _CALL_LOG_LOCATOR.search(message) or _LOCATOR.search(message)
    return action, locator.group(1).strip() if locator else None
