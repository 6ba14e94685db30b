"""Playwright's sync API keeps its bridge to the async implementation private.

Three things need it: a call with a hard time limit on a page that may never answer
(``probes.bounded``), reaching a journey from the deadline's watchdog thread — its last look at
the page over CDP, then closing its context (``probes.deadline``, ``probes.evidence``) — and
switching CDP offline on a timer (``probes.emulation.offline``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
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


def turning(api: Any, seconds: float) -> bool:
    """From another thread: whether ``api``'s loop runs, i.e. the sync API's thread is waiting in
    a Playwright call (not in plain Python, where nothing scheduled from here would ever start)."""
    ran = threading.Event()
    try:
        loop(api).call_soon_threadsafe(ran.set)
    except RuntimeError:  # closed
        return False
    return ran.wait(seconds)


def send_from_thread(cdp: Any, method: str, params: dict[str, Any] | None, seconds: float) -> Any:
    """A CDP call from a thread other than the sync API's (a sync-API call there cannot switch to
    Playwright's loop), bounded: ``TimeoutError`` past ``seconds``."""
    coro = asyncio.wait_for(impl(cdp).send(method, params, None), seconds)
    future = asyncio.run_coroutine_threadsafe(coro, loop(cdp))
    try:
        return future.result(seconds + 1)  # +1: the loop's own wait_for says it first when the loop runs
    except (TimeoutError, concurrent.futures.TimeoutError) as exc:
        future.cancel()
        raise TimeoutError(f"no answer within {seconds:g} s") from exc
