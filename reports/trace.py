"""``orderprobe report trace JOURNEY_ID``: open a journey's Playwright trace in the trace viewer.

The run report names this command next to each kept trace; the viewer is Playwright's own
(``playwright show-trace``), served on 127.0.0.1 so the trace never leaves the machine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from orderprobe.store.store import Store


def find(store: Store, journey_id: str, artefacts: Path) -> Path:
    """The trace file of a journey (or of its latest earlier attempt that kept one)."""
    journey = store.journey(journey_id)
    if journey is None:
        raise LookupError(f"no journey {journey_id!r} in the results store")
    for attempt in (journey, *reversed(journey.previous_attempts)):
        kept = [a.path for a in attempt.artefacts if a.kind == "trace"]
        if attempt.failure and attempt.failure.trace:
            kept.insert(0, attempt.failure.trace)
        for relative in kept:
            path = (artefacts / relative).resolve()
            if path.is_file():
                return path
            raise LookupError(f"trace of journey {journey_id!r} is gone: {path} (pruned, or another --artefacts?)")
    raise LookupError(f"journey {journey_id!r} kept no trace (traces are kept for failures; --tracing on keeps all)")


def command(path: Path) -> list[str]:
    return [sys.executable, "-m", "playwright", "show-trace", "--host", "127.0.0.1", "--port", "0", str(path)]


def show(path: Path) -> int:
    """Serve the trace viewer locally until the user stops it (Ctrl-C)."""
    try:
        return subprocess.call(command(path))
    except KeyboardInterrupt:
        return 0
