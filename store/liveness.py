"""Runs whose process died without an end (SIGKILL, the OOM killer, a power cut) are abandoned.

A run records its controller — host, pid and that process's identity (boot id + start time,
so a pid the kernel hands out again later is not mistaken for it) — when it starts, and drops
it when it finishes. ``sweep`` (called by ``orderprobe run`` and ``orderprobe report``) looks at
the unfinished runs started on this host: if their process is gone, the run ends at its last
recorded journey end (or its start) and is marked abandoned; its report says so. A process on
another host cannot be checked from here and is left alone, as is every live one.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update

from orderprobe.store.schema import Journey, Run, RunController, RunShard, utc_naive

PROC = Path("/proc")


@dataclass(frozen=True)
class Process:
    host: str
    pid: int
    identity: str

    @classmethod
    def this(cls) -> Process:
        return cls(socket.gethostname(), os.getpid(), identity(os.getpid()))


def _stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/PID/stat`` after the command name (which may hold spaces and parens)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def identity(pid: int) -> str:
    fields = _stat(pid)
    if fields is None:
        return ""
    try:
        boot = (PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    return f"{boot}:{fields[19]}"  # field 22 of stat: start time in clock ticks since boot


def alive(pid: int, known_identity: str = "") -> bool:
    fields = _stat(pid)
    if fields is None and (PROC / "self" / "stat").exists():
        return False  # Linux, and no such process
    if fields is None:  # no /proc: ask the kernel whether the pid exists at all
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent: as dead as it gets
        return False
    return not known_identity or identity(pid) == known_identity


def abandon(store: Any) -> None:
    """``sweep``, saying which runs it marked; a store it cannot check is said, never fatal."""
    try:
        for run_id in sweep(store):
            print(f"orderprobe: run {run_id} has no end and its process is gone: marked abandoned", file=sys.stderr)
    except Exception as exc:
        print(f"orderprobe: could not check for abandoned runs: {type(exc).__name__}: {exc}", file=sys.stderr)


def sweep(store: Any, host: str | None = None) -> list[str]:
    """Mark the unfinished runs of dead controllers on ``host`` (this one) abandoned; their ids."""
    host = host or socket.gethostname()
    with store.read() as conn:
        watched = conn.execute(
            select(RunController).where(RunController.c.host == host, RunController.c.abandoned_at.is_(None))
        ).all()
    gone = [c for c in watched if not alive(c.pid, c.identity)]
    marked = []
    for controller in gone:
        if _abandon(store, controller):
            marked.append(controller.run_id)
    return sorted(set(marked))


def _abandon(store: Any, c: Any) -> bool:
    now = utc_naive(datetime.now(UTC))
    with store.write() as conn:
        run = conn.execute(select(Run.c.started_at, Run.c.finished_at).where(Run.c.id == c.run_id)).first()
        if run is None:
            return False
        ends = conn.execute(
            select(Journey.c.started_at, Journey.c.duration_ms).where(Journey.c.run_id == c.run_id)
        ).all()
        last = max([s + timedelta(milliseconds=d) for s, d in ends], default=run.started_at)
        if c.shard:
            started = conn.scalar(
                select(RunShard.c.started_at).where(RunShard.c.run_id == c.run_id, RunShard.c.shard == c.shard)
            )
            done = conn.execute(
                update(RunShard)
                .where(RunShard.c.run_id == c.run_id, RunShard.c.shard == c.shard, RunShard.c.finished_at.is_(None))
                .values(finished_at=max(last, started or last))
            )
            if done.rowcount:  # the run ends with its last shard to end
                end = max(run.finished_at or last, last)
                conn.execute(update(Run).where(Run.c.id == c.run_id).values(finished_at=end))
        else:
            done = conn.execute(
                update(Run).where(Run.c.id == c.run_id, Run.c.finished_at.is_(None)).values(finished_at=last)
            )
        if not done.rowcount:  # it finished after all (a race with its own end): nothing abandoned
            conn.execute(
                delete(RunController).where(RunController.c.run_id == c.run_id, RunController.c.shard == c.shard)
            )
            return False
        conn.execute(
            update(RunController)
            .where(RunController.c.run_id == c.run_id, RunController.c.shard == c.shard)
            .values(abandoned_at=now)
        )
        return True
