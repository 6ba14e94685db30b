"""Playwright's sync API keeps its bridge to the async implementation private.

Three things need it: a call with a hard time limit on a page that may never answer
(``probes.bounded``), closing a context from the deadline's watchdog thread
(``probes.deadline``) and switching CDP offline on a timer (``probes.emulation.offline``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def impl(api: Any) -> Any:
    """The async object behind a sync-API object (Page, BrowserContext, CDPSession, …)."""
    return api._impl_obj


def loop(api: Any) -> asyncio.AbstractEventLoop:
    """The event loop that drives ``api``: the way in from another thread or a timer."""
    return api._loop


def run(api: Any, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on ``api``'s loop from the thread that owns it, as the sync API runs its own calls."""
    return api._sync(coro)
