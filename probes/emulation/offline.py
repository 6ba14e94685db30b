"""Outages under DevTools (CDP) emulation: the page is switched offline and back at the
scheduled times with ``Network.emulateNetworkConditions`` — no routes (a route disables the
HTTP cache of the whole context).

Sync Playwright may only be used from its own thread, so there is no timer thread: each edge
is a callback on Playwright's own event loop (``call_later``), which runs whenever the probe
is inside a Playwright call (clicks, waits, expects — most of a journey). An edge that falls
while the probe runs plain Python is applied at its next Playwright call; the times actually
applied are recorded. Unlike the packet link, CDP offline fails requests in flight at once
(``net::ERR_INTERNET_DISCONNECTED``) instead of stalling them, and covers only this page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from orderprobe.probes.compat import playwright as compat

if TYPE_CHECKING:
    from playwright.sync_api import CDPSession


class CdpOffline:
    def __init__(
        self, session: CDPSession, conditions: Callable[[bool], dict[str, object]], clock: Callable[[], float]
    ) -> None:
        self._session, self._conditions, self._clock = session, conditions, clock
        self._loop: asyncio.AbstractEventLoop = compat.loop(session)
        self._handles: list[asyncio.TimerHandle] = []
        self.applied: list[tuple[str, float]] = []  # ("down" | "up", clock time it took effect)

    def schedule(self, windows: list[tuple[float, float]]) -> None:
        """Offline windows as (start, end) on ``clock``; replaces the ones not yet begun."""
        self.cancel()
        now = self._clock()
        for start, end in windows:
            if end <= now:
                continue
            if start <= now:  # down from this very moment (a switch at a step): switch now, not on a timer
                self.applied.append(("down", now))
                self._session.send("Network.emulateNetworkConditions", self._conditions(True))
            else:
                self._handles.append(self._loop.call_later(start - now, self._edge, True))
            self._handles.append(self._loop.call_later(end - now, self._edge, False))

    def _edge(self, offline: bool) -> None:
        self.applied.append(("down" if offline else "up", self._clock()))
        send = compat.impl(self._session).send("Network.emulateNetworkConditions", self._conditions(offline), None)
        task = self._loop.create_task(send)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # a closed page: nothing to switch

    def cancel(self) -> None:
        for handle in self._handles:
            handle.cancel()
        self._handles = []
