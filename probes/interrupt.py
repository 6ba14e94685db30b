"""Stopping a run: SIGTERM (a service manager, the scheduler, ``kill``) stops it as Ctrl-C does.

pytest unwinds and the controller accounts for the run at once — journeys in flight recorded
as interrupted, the run given its end and exit code — *before* xdist tears its workers down:
xdist waits up to 10 s for a worker still busy in a journey, longer than a supervisor's grace
(the scheduler SIGKILLs after 3 s, Kubernetes and systemd after theirs). Then those workers,
whose journeys are already recorded, are stopped rather than waited for.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


def install() -> None:
    """SIGTERM raises KeyboardInterrupt in the main thread, unless someone else handles it."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) in (
        signal.SIG_DFL,
        None,
    ):
        signal.signal(signal.SIGTERM, _interrupt)


class _Held:
    """Whether SIGTERM must wait (a run's start being written), and the signal that waited."""

    holding = False
    pending: str | None = None


def _interrupt(signum: int, frame: Any) -> None:
    name = signal.Signals(signum).name
    if _Held.holding:
        _Held.pending = name
        return
    raise KeyboardInterrupt(f"signal {name}")


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """SIGTERM waits until the block is done — a run's start is written whole, so its end can
    follow — then interrupts as usual."""
    _Held.holding = True
    try:
        yield
    finally:
        _Held.holding = False
        if _Held.pending is not None:
            name, _Held.pending = _Held.pending, None
            raise KeyboardInterrupt(f"signal {name}")


def stop_workers(pids: Iterable[int]) -> None:
    """SIGTERM the xdist workers that were running the journeys just recorded as interrupted.
    Only children of this process: never itself (at ``-n 0`` the journeys ran here), never a pid
    of another machine (``--tx ssh=…`` workers report theirs). Their browsers go with them."""
    for pid in set(pids) - {0, os.getpid()}:
        if _parent(pid) == os.getpid():
            with contextlib.suppress(OSError):  # gone already
                os.kill(pid, signal.SIGTERM)


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone, or no /proc: leave it to xdist's own teardown
        return None
    return int(stat[stat.rfind(")") + 2 :].split()[1])
