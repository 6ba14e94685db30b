"""Delivery: one worker thread and queue per channel, retries with exponential back-off.

``notify()`` only enqueues, so a slow or dead channel never blocks a job or the
scheduler, and never delays the other channels. Failures are logged (redacted) and
counted; after the last retry the message is dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable

from orderprobe.scheduler.alert import Alert
from orderprobe.scheduler.channels import Channel, ChannelError

log = logging.getLogger("orderprobe.scheduler")

_STOP = object()


class _Worker:
    def __init__(self, channel: Channel, stopping: threading.Event, on_result: Callable[[str, bool], None]) -> None:
        self.channel = channel
        self.queue: queue.Queue = queue.Queue()
        self.stopping = stopping
        self.on_result = on_result
        self.thread = threading.Thread(target=self._loop, name=f"alert-{channel.name}", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            item = self.queue.get()
            try:
                if item is _STOP:
                    return
                self._deliver(item)
            finally:
                self.queue.task_done()

    def _deliver(self, alert: Alert) -> None:
        config = self.channel.config
        for attempt in range(config.retries + 1):
            try:
                self.channel.send(alert)
            except Exception as exc:  # noqa: BLE001 - a channel must never take the worker down
                text = exc if isinstance(exc, ChannelError) else f"{type(exc).__name__}: {exc}"
                reason = self.channel.redact(str(text))
                if attempt == config.retries:
                    name, tries = self.channel.name, attempt + 1
                    log.error("alert %s via %s dropped after %d attempts: %s", alert.title, name, tries, reason)
                    self.on_result(self.channel.name, False)
                    return
                delay = config.backoff * 2**attempt
                log.warning("alert via %s failed (%s); retry in %.2fs", self.channel.name, reason, delay)
                self.stopping.wait(delay)  # returns at once while shutting down: retries go quickly
            else:
                log.info("alert sent via %s: %s", self.channel.name, alert.title)
                self.on_result(self.channel.name, True)
                return


class Notifier:
    def __init__(self, channels: dict[str, Channel], on_result: Callable[[str, bool], None] | None = None) -> None:
        self._stopping = threading.Event()
        self._workers = {
            name: _Worker(channel, self._stopping, on_result or (lambda _name, _ok: None))
            for name, channel in channels.items()
        }

    def notify(self, alert: Alert, channel_names: Iterable[str]) -> None:
        names = list(channel_names)
        if not names:
            log.info("alert not sent (no channel configured for %s urgency): %s", alert.urgency, alert.title)
        for name in names:
            self._workers[name].queue.put(alert)

    def drain(self, timeout: float) -> bool:
        """Wait until every queued alert is delivered or dropped; False on timeout."""
        done = threading.Event()

        def waiter() -> None:
            for worker in self._workers.values():
                worker.queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Cut back-offs short, deliver what is queued, stop the threads."""
        self._stopping.set()
        for worker in self._workers.values():
            worker.queue.put(_STOP)
        for worker in self._workers.values():
            worker.thread.join(timeout)
