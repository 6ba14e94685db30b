"""The per-run JSON-lines event stream other tools can tail (journey/start, step/end …).

Every xdist worker appends to the same file; each event is one ``write()`` on an
``O_APPEND`` descriptor, so lines from different processes never interleave.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any


class EventLog:
    def __init__(self, path: Path, *, worker: str = "main") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.worker = worker
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def emit(self, event: str, **data: Any) -> None:
        line = json.dumps({"event": event, "ts": time.time(), "worker": self.worker, **data}, ensure_ascii=False)
        with contextlib.suppress(OSError):  # a full disk must not stop the journey; the store still gets it
            os.write(self._fd, (line + "\n").encode())

    def close(self) -> None:
        os.close(self._fd)


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
