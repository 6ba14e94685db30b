"""A worker's steps so far, on disk, for the controller to record if the run is stopped.

pytest gives xdist workers no live channel: a journey's steps reach the controller with its
result. A SIGTERM or Ctrl-C before that result would lose the steps the journey had finished.
So a worker appends each step it starts and ends to ``<run dir>/.steps/<journey id>.jsonl``
(whole lines: ``orderprobe.base.atomic.Appender``); the controller reads it for a journey it records as
interrupted, and removes it once it has the journey either way. Under ``--tx ssh`` the workers'
disk is not the controller's: those journeys keep only what their result brings.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

from orderprobe.base.atomic import Appender
from orderprobe.base.result import StepResult, StepStatus

FOLDER = ".steps"


def path(run_dir: Path, journey_id: str) -> Path:
    return run_dir / FOLDER / f"{journey_id}.jsonl"


class StepLog:
    """The worker's side. Never fails the journey: a step it could not write is only missing
    from an interrupted journey's account."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._out: Appender | None = None

    def _append(self, record: dict) -> None:
        with contextlib.suppress(OSError):
            self._out = self._out or Appender(self.file)
            self._out.write((json.dumps(record, ensure_ascii=False) + "\n").encode())

    def started(self, name: str, start_ms: float) -> None:
        self._append({"started": name, "start_ms": round(start_ms, 3), "at": datetime.now(UTC).isoformat()})

    def ended(self, step: dict) -> None:
        """``step``: a ``StepResult`` dumped as JSON (scrubbed of the profile's secrets)."""
        self._append({"step": step})

    def close(self) -> None:
        if self._out is not None:
            self._out.close()


def read(run_dir: Path, journey_id: str) -> list[StepResult]:
    """The steps a journey finished, then the one it was in (failed: the run stopped it there)."""
    steps: list[StepResult] = []
    running: tuple[str, float, datetime] | None = None
    with contextlib.suppress(OSError):
        for line in path(run_dir, journey_id).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):  # a line the signal cut short
                record = json.loads(line)
                if "step" in record:
                    steps.append(StepResult.model_validate(record["step"]))
                    running = None
                elif "started" in record:
                    running = (record["started"], float(record["start_ms"]), datetime.fromisoformat(record["at"]))
    if running is not None:
        name, start_ms, at = running
        took_ms = (datetime.now(UTC) - at).total_seconds() * 1000
        steps.append(
            StepResult(
                name=name,
                status=StepStatus.FAILED,
                start_ms=start_ms,
                duration_ms=round(max(0.0, took_ms), 3),
                error="Interrupted: the run was stopped during this step",
            )  # fmt: skip
        )
    return steps


def discard(run_dir: Path, journey_id: str) -> None:
    path(run_dir, journey_id).unlink(missing_ok=True)


def tidy(run_dir: Path) -> None:
    """The folder goes when it is empty (another shard's controller may still be using it)."""
    with contextlib.suppress(OSError):
        (run_dir / FOLDER).rmdir()
