"""Playwright's sync API keeps its bridge to the async implementation private.

Four things need it: the timeout a page's calls get by default (the built-in steps wait that long
for what no single call waits for: ``orderprobe.probes.checkout.steps``), a call with a hard time
limit on a page that may never answer (``orderprobe.probes.bounded``), reaching a journey from the
deadline's watchdog thread — its last look at the page over CDP, then closing its context
(``orderprobe.probes.deadline``, ``orderprobe.probes.evidence``) — and switching CDP offline on a
timer (``orderprobe.probes.emulation.offline``).

Also here: where Playwright's CLI (``playwright codegen``) looks for its own Chromium — the
registry's folder layout and the revision in the driver's ``browsers.json`` — so ``orderprobe
record`` can point it at a system Chromium when Playwright's download is not installed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def impl(api: Any) -> Any:
    """The async object behind a sync-API object (Page, BrowserContext, CDPSession, …)."""
    return api._impl_obj


def default_timeout_ms(page: Any) -> float:
    """The timeout a call on ``page`` without one of its own gets: its context's default (the run's
    ``--action-timeout``). Playwright has a setter for it and no getter. 0 (Playwright's inspector,
    PWDEBUG) means no limit."""
    return impl(page)._timeout_settings.timeout(None) or float("inf")


def loop(api: Any) -> asyncio.AbstractEventLoop:
    """The event loop that drives ``api``: the way in from another thread or a timer."""
    return api._loop


def run(api: Any, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on ``api``'s loop from the thread that owns it, as the sync API runs its own calls."""
    return api._sync(coro)


def browsers_folder(executable: str, root: Path) -> Path:
    """A ``PLAYWRIGHT_BROWSERS_PATH`` under ``root`` in which the Chromium the CLI expects is ``executable``."""
    import playwright

    listed = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    revision = next(b["revision"] for b in json.loads(listed.read_text(encoding="utf-8"))["browsers"]
                    if b["name"] == "chromium")  # fmt: skip
    chrome = root / f"chromium-{revision}" / "chrome-linux64" / "chrome"
    chrome.parent.mkdir(parents=True, exist_ok=True)
    if not chrome.is_symlink():
        os.symlink(executable, chrome)
    return root


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
