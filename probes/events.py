"""The ``events`` reporter: a JSON-lines stream other tools can tail,
``<artefacts>/<run-id>/events.jsonl`` (run/start, journey/start, step/end, journey/end, run/end).

Written by the controller alone, one whole line per ``write()`` (``orderprobe.base.atomic.Appender``),
so a reader tailing the file never sees half a line, not even when the disk fills up.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from orderprobe.base.atomic import Appender
from orderprobe.base.result import JourneyResult, StepResult
from orderprobe.probes.reporter import JourneyStart, Reporter, Run


class EventsReporter(Reporter):
    def __init__(self) -> None:
        self._out: Appender | None = None

    def emit(self, event: str, ts: float | None = None, **data: Any) -> None:
        """A failed write raises ``WriteFailed`` naming the file (the reporters say it, once)."""
        if self._out is None:  # the file could not be opened: said already
            return
        line = json.dumps({"event": event, "ts": time.time() if ts is None else ts, **data}, ensure_ascii=False)
        self._out.write((line + "\n").encode("utf-8"))

    def on_run_start(self, run: Run) -> None:
        self._out = Appender(run.settings.artefacts / run.id / "events.jsonl")
        self.emit("run/start", run=run.id, target=run.target, matrix=run.settings.matrix)
        run.outputs["events"] = str(self._out.path)  # listed only if it holds the run's start

    def on_journey_start(self, journey: JourneyStart) -> None:
        self.emit(
            "journey/start",
            journey.started_at.timestamp(),
            journey=journey.id,
            nodeid=journey.nodeid,
            probe=journey.probe,
            profile=journey.profile,
            worker=journey.worker,
        )

    def on_step_end(self, journey: JourneyStart, step: StepResult) -> None:
        started = journey.started_at + timedelta(milliseconds=step.start_ms)
        self.emit(
            "step/end",
            (started + timedelta(milliseconds=step.duration_ms)).timestamp(),
            journey=journey.id,
            probe=journey.probe,
            worker=journey.worker,
            step=step.name,
            status=str(step.status),
            started=started.timestamp(),
            duration_ms=step.duration_ms,
        )

    def on_journey_end(self, result: JourneyResult) -> None:
        self.emit(
            "journey/end",
            journey=result.id,
            nodeid=result.nodeid,
            probe=result.probe,
            profile=result.profile,
            worker=result.worker,
            status=str(result.status),
            duration_ms=result.duration_ms,
            step=result.failed_step,
            cause=result.cause.category if result.cause else None,
        )

    def on_run_end(self, run: Run, exit_code: int) -> None:
        if self._out is not None:
            try:
                self.emit("run/end", run=run.id, exit_code=exit_code)
            finally:
                self._out.close()


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
