"""One Playwright call with a hard time limit, for evidence taken from a page that may not answer.

Most sync-API calls take a ``timeout``; some do not (``page.title()``, a CDP session's ``send``)
and wait for ever on a page whose main thread is busy or whose navigation never commits. Capturing
a failure must not hang the harness there, so those calls run on Playwright's own event loop under
``asyncio.wait_for``: past the limit the call is cancelled and ``TimeoutError`` raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from orderprobe.probes.compat import playwright as compat

T = TypeVar("T")


def bounded(api: Any, call: Callable[[Any], Awaitable[T]], seconds: float) -> T:
    """``call`` gets the async implementation behind the sync-API object ``api`` (a Page, a
    CDPSession, …) and returns its awaitable; it runs on the loop ``api`` is driven by, the way the
    sync API runs its own calls (Playwright keeps this bridge private: see ``orderprobe.probes.compat``)."""
    try:
        return compat.run(api, asyncio.wait_for(call(compat.impl(api)), seconds))
    except TimeoutError as exc:  # asyncio's is the builtin since 3.11; say what timed out
        raise TimeoutError(f"no answer within {seconds:g} s") from exc
