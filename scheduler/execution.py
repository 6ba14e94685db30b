"""One run in its own subprocess, with a hard timeout that kills the whole process tree.

A probe run is Python + Playwright's node driver + Chromium, and Chromium puts itself
in a new session (and its crash handler double-forks to init), so neither the child
nor its process group reach every process. Each run's environment therefore carries a
tag (``ORDERPROBE_RUN_TAG``) that every descendant inherits; killing a run kills the
tagged processes plus whatever descends from the child — found through ``/proc``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

log = logging.getLogger("orderprobe.scheduler")

TAG_VAR = "ORDERPROBE_RUN_TAG"
TERM_GRACE_S = 3.0  # SIGTERM first (Chromium flushes traces), then SIGKILL


class Outcome(StrEnum):
    COMPLETED = "completed"  # exited by itself (any exit code)
    TIMEOUT = "timeout"  # over the job's timeout: killed
    INTERRUPTED = "interrupted"  # the service was stopping and the grace period ran out: killed
    CRASHED = "crashed"  # died from a signal nobody here sent
    FAILED_TO_START = "failed_to_start"


@dataclass(frozen=True)
class Execution:
    outcome: Outcome
    exit_code: int | None
    duration_s: float
    pid: int | None
    killed: tuple[int, ...] = ()  # pids we had to kill
    error: str = ""


def _ppid_map() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue  # gone meanwhile
            # "pid (comm) state ppid ...": comm may hold spaces and parens; split after the last ')'.
            fields = stat[stat.rindex(b")") + 2 :].split()
            parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for child, parent in _ppid_map().items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def tagged(tag: str) -> set[int]:
    """Processes whose environment carries this run's tag (re-parented ones included)."""
    needle = f"{TAG_VAR}={tag}".encode()
    found = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as f:
                    if needle in f.read().split(b"\0"):
                        found.add(int(entry.name))
            except OSError:
                continue
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a parent that never reaps it does not count)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2 :].split()[0] not in (b"Z", b"X")


def kill_tree(root: int | None, tag: str | None = None, grace_s: float = TERM_GRACE_S) -> set[int]:
    """SIGTERM the tree (root, its descendants, tagged processes), then SIGKILL survivors.

    Pass ``root=None`` once the root has been reaped: its pid may already be someone else's.
    Returns the pids that were signalled.
    """

    def find() -> set[int]:
        tree = {root} | descendants(root) if root is not None else set()
        return {p for p in tree | (tagged(tag) if tag else set()) if alive(p)}

    victims = find()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + (grace_s if sig == signal.SIGTERM else 5.0)
        while time.monotonic() < deadline and any(alive(p) for p in victims):
            time.sleep(0.05)
        # Processes born while we were killing (a browser relaunching) join the next round.
        victims |= find()
        if not any(alive(p) for p in victims):
            break
    return victims


def run(
    argv: Sequence[str],
    *,
    timeout_s: float,
    tag: str,
    log_path: Path | None = None,
    stop: threading.Event | None = None,
    stop_deadline: Callable[[], float | None] = lambda: None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    poll_s: float = 0.1,
) -> Execution:
    """Run ``argv`` to completion, or kill its whole tree at ``timeout_s``.

    When ``stop`` is set the run may go on until ``stop_deadline()`` (a monotonic time:
    the service's shutdown grace), then it is killed and reported as interrupted.
    """
    environ = {**os.environ, **(env or {}), TAG_VAR: tag}
    out = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(log_path, "ab")  # noqa: SIM115 - closed below, after the child is gone
    start = time.monotonic()
    try:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out or subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                env=environ,
                cwd=cwd,
                start_new_session=True,  # a terminal's Ctrl-C reaches the service, which decides
            )
        except OSError as exc:
            return Execution(Outcome.FAILED_TO_START, None, time.monotonic() - start, None, error=str(exc))
        outcome: Outcome | None = None
        while True:
            try:
                proc.wait(timeout=poll_s)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if now - start >= timeout_s:
                outcome = Outcome.TIMEOUT
            elif stop is not None and stop.is_set():
                deadline = stop_deadline()
                if deadline is None or now >= deadline:
                    outcome = Outcome.INTERRUPTED
            if outcome is not None:
                log.warning("run %s: %s after %.1fs; killing its process tree", tag, outcome, now - start)
                killed = tuple(sorted(kill_tree(proc.pid, tag)))
                proc.wait()
                return Execution(outcome, proc.returncode, time.monotonic() - start, proc.pid, killed)
        # The child is done; anything it left behind (an orphaned browser) goes too.
        leftovers = kill_tree(None, tag, grace_s=1.0)
        code = proc.returncode
        return Execution(
            Outcome.CRASHED if code < 0 else Outcome.COMPLETED,  # < 0: killed by a signal
            code,
            time.monotonic() - start,
            proc.pid,
            tuple(sorted(leftovers)),
        )
    finally:
        if out is not None:
            out.close()
