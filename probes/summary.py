"""Plain ``pytest``: after pytest's own summary, each journey that did not meet its expectation —
the failing step, the cause and where its evidence is (trace, screenshot, the run report command).

``orderprobe run`` turns pytest's terminal off and prints its own table; this is for people who run
probes the pytest way and should not have to open a database to learn why one failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orderprobe.base.result import JourneyResult
from orderprobe.probes.reporter import Reporter


def describe(result: JourneyResult, artefacts: Path) -> list[str]:
    """Lines about one journey that did not meet its expectation."""
    cause = result.cause
    what = f"{cause.category}/{cause.detail}" if cause else "no cause recorded"
    if cause and cause.dependency:
        what += f" ({cause.dependency})"
    lines = [
        f"{result.status.value.upper()} {result.probe} [{result.profile}] at step '{result.failed_step or '-'}': {what}"
    ]
    if cause and cause.summary:
        lines.append(f"    {cause.summary}")
    for artefact in result.artefacts:
        if artefact.kind == "filmstrip":  # every step's frame is the report's business; the failure's is listed
            continue
        path = artefacts / artefact.path
        hint = f"  (playwright show-trace {path})" if artefact.kind == "trace" else ""
        lines.append(f"    {artefact.kind}: {path}{hint}")
    return lines


class FailureSummary(Reporter):
    """A reporter (it hears every journey on the controller) and a pytest plugin (it writes in
    pytest's terminal summary, after pytest's own)."""

    def __init__(self, artefacts: Path, run_id: str, results: str | None) -> None:
        self.artefacts, self.run_id, self.results = artefacts, run_id, results
        self.failed: list[JourneyResult] = []

    def on_journey_end(self, result: JourneyResult) -> None:
        if not result.status.ok:
            self.failed.append(result)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.failed:
            return
        terminalreporter.section(f"orderprobe: {len(self.failed)} journeys did not meet their expectation")
        for result in self.failed:
            for line in describe(result, self.artefacts):
                terminalreporter.line(line)
        results = f" --results {self.results}" if self.results else ""
        terminalreporter.line(f"report: orderprobe report run {self.run_id}{results}")
