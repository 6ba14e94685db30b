"""A journey's hard deadline, enforced from a watchdog thread.

Playwright's sync API puts no limit on ``evaluate()``, CDP calls, ``title()`` or closing a
session: a page running ``while(true){}`` or a crashed renderer blocks the worker for ever.
So each journey gets a watchdog thread. When the deadline passes it tears the journey's
context down *on Playwright's own event loop* (the one thread-safe way into the sync API),
which makes every pending call in the worker raise at once; if even that does not finish,
it kills the browser process and the worker launches a fresh one for the next journey.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from orderprobe.base.atomic import write_bytes
from orderprobe.probes.compat import playwright as compat

GRACE_S = 5.0  # for each teardown call the watchdog makes before it escalates


def default_timeout_s(action_timeout_ms: float) -> float:
    """Enough for four of the longest waits a probe may legitimately make (a navigation
    waits max(30 s, action timeout)), and never below two minutes."""
    return max(120.0, 4 * max(30.0, action_timeout_ms / 1000.0))


class Deadline:
    """Calls ``on_expire`` once, from its own thread, when the deadline passes (unless stopped).

    ``extend`` pushes it later (a step with a long time budget), ``cap`` pulls it nearer
    (teardown, or after a crash, gets only a short allowance)."""

    def __init__(
        self,
        seconds: float,
        on_expire: Callable[[], None],
        *,
        on_stuck: Callable[[], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.seconds = seconds
        self.expired = threading.Event()
        self._on_expire = on_expire
        self._on_stuck = on_stuck or kill_browsers
        self._clock = clock
        self._at = clock() + seconds
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="orderprobe-deadline", daemon=True)

    def start(self) -> Deadline:
        self._thread.start()
        return self

    def extend(self, seconds_from_now: float) -> None:
        with self._lock:
            self._at = max(self._at, self._clock() + seconds_from_now)

    def cap(self, seconds_from_now: float) -> None:
        with self._lock:
            self._at = min(self._at, self._clock() + seconds_from_now)
        self._wake.set()

    def stop(self, turning: Any = None) -> None:
        """No expiry after this; if it already expired, wait for the teardown to finish.

        ``turning``: a sync-API object (the journey's context) when called from the sync API's
        thread. The teardown's calls run on Playwright's loop, which turns only while that thread
        waits inside Playwright: a plain join there held the context's close until its grace ran
        out, and the healthy browser was killed and relaunched (one deadline in three)."""
        self._stopped.set()
        self._wake.set()
        if not self.expired.is_set() or self._thread is threading.current_thread():
            return
        if turning is not None and not compat.loop(turning).is_closed():
            with contextlib.suppress(Exception):  # Playwright gone: the plain join below
                compat.run(turning, asyncio.to_thread(self._thread.join, 4 * GRACE_S))
        self._thread.join(timeout=4 * GRACE_S)

    def _watch(self) -> None:
        while not self._stopped.is_set():
            with self._lock:
                remaining = self._at - self._clock()
            if remaining <= 0:
                self.expired.set()
                try:
                    self._on_expire()
                finally:
                    # Still not released after the teardown (a call even a closed context does not
                    # end, or the worker was not in Playwright to let it run): the browser goes.
                    if not self._stopped.wait(2 * GRACE_S):
                        self._on_stuck()
                return
            self._wake.wait(remaining)
            self._wake.clear()


def _await(coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop, timeout: float) -> bool:
    """Run ``coro`` on Playwright's loop from this thread; False if it did not finish in time."""
    return _result(coro, loop, timeout) is not _LATE


_LATE = object()


def _result(coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop, timeout: float) -> Any:
    """``coro``'s value run on Playwright's loop; None if it failed, ``_LATE`` if not done in time."""
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        return _LATE
    except (Exception, asyncio.CancelledError):  # already closed / crashed: nothing left to wait for
        return None


def tear_down(
    context: Any, trace_path: Path | None, *, cdp: Any = None, shot_path: Path | None = None, grace: float = GRACE_S
) -> None:
    """From the watchdog thread: draw the page as the deadline found it (``shot_path``, the
    compositor's last frame over the DevTools session ``cdp``: Playwright's own screenshot waits for
    a pending navigation), keep the trace (if tracing), close the context, and kill the browser if
    the context would not close. ``context`` is a sync-API BrowserContext."""
    impl, loop = compat.impl(context), compat.loop(context)  # the way in from another thread
    if loop.is_closed():
        return
    if shot_path is not None and cdp is not None:  # a page waiting on a frozen server still draws; a busy one not
        shot = _result(compat.impl(cdp).send("Page.captureScreenshot", {"format": "png"}, grace * 1000), loop, grace)
        if isinstance(shot, dict) and shot.get("data"):
            with contextlib.suppress(OSError):  # a full disk: no screenshot; the teardown goes on
                write_bytes(shot_path, base64.b64decode(shot["data"]))
    if trace_path is not None:
        trace_path.parent.mkdir(parents=True, exist_ok=True)
        _await(impl.tracing.stop(path=str(trace_path)), loop, grace)
    if not _await(impl.close(reason="orderprobe: journey deadline passed"), loop, grace):
        kill_browsers()


_killed = 0  # browsers this process killed; Playwright's ``is_connected`` hears of a kill only later


def kills() -> int:
    """How many browsers this process has killed: a holder whose browser was launched before the
    latest kill launches a fresh one instead of handing out a browser that is gone."""
    return _killed


def kill_browsers(root: int | None = None) -> list[int]:
    """SIGKILL the browsers this process launched (Playwright starts them with
    ``--remote-debugging-pipe``, below its driver, below us). Under xdist each worker is its
    own process, so this only ever takes this worker's browser."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    killed, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"--remote-debugging-pipe" in argv and not any(a.startswith(b"--type=") for a in argv):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
    global _killed
    _killed += len(killed)
    return killed
