"""What ``orderprobe run`` shows while it works: live progress, then a summary table.

A small pytest plugin on the controller. Finished journeys arrive through the
``pytest_orderprobe_journey`` hook; the current step of each worker is read from the
run's event stream, which workers append to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from probes.result import JourneyResult, Status

STYLE = {
    Status.PASSED: "green",
    Status.BLOCKED: "cyan",
    Status.DEGRADED: "yellow",
    Status.FLAKY: "yellow",
    Status.FAILED: "bold red",
    Status.ERROR: "magenta",
}


class Progress:
    def __init__(self, console: Console, events: Path, *, live: bool) -> None:
        self.console = console
        self.events = events
        self.results: list[JourneyResult] = []
        self.total: int | None = None
        self.current: dict[str, str] = {}  # worker → "probe · step"
        self._offset = 0
        self._live = Live(get_renderable=self._render, console=console, refresh_per_second=4) if live else None

    # -- pytest hooks ------------------------------------------------------------------------
    def pytest_collection_finish(self, session: Any) -> None:
        if not hasattr(session.config, "workerinput") and session.items:
            self.total = len(session.items)

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.total = len(ids)

    def pytest_sessionstart(self, session: Any) -> None:
        if self._live:
            self._live.start()

    def pytest_orderprobe_journey(self, result: JourneyResult) -> None:
        self.results.append(result)
        if self._live is None:  # plain log lines (services, CI logs)
            self.console.print(self._line(result), highlight=False)

    def pytest_sessionfinish(self, session: Any) -> None:
        if self._live:
            self._live.stop()

    # -- rendering -----------------------------------------------------------------------------
    def _line(self, r: JourneyResult) -> Text:
        text = Text(f"{r.status.value:<8}", style=STYLE.get(r.status, ""))
        text.append(f" {r.probe}  [{r.profile}]  {r.duration_ms / 1000:.2f}s")
        if r.cause:
            text.append(f"  @{r.failed_step}: {r.cause.category}/{r.cause.detail}", style="dim")
        return text

    def _tail(self) -> None:
        if not self.events.exists():
            return
        with self.events.open("rb") as fh:
            fh.seek(self._offset)
            chunk = fh.read()
        end = chunk.rfind(b"\n") + 1  # only whole lines; the rest next time
        self._offset += end
        for line in chunk[:end].splitlines():
            event = json.loads(line)
            if event["event"] == "step/start":
                self.current[event["worker"]] = f"{event['probe']} · {event['step']}"
            elif event["event"] == "journey/end":
                self.current.pop(event["worker"], None)

    def _render(self) -> Group:
        self._tail()
        done = len(self.results)
        failures = sum(1 for r in self.results if not r.status.ok)
        total = self.total if self.total is not None else "?"
        head = Text(f"journeys {done}/{total}   ")
        head.append(f"failures {failures}", style="bold red" if failures else "green")
        lines = [head] + [Text(f"  {w}: {what}", style="dim") for w, what in sorted(self.current.items())]
        return Group(*lines)

    def summary(self) -> Table:
        table = Table(title="orderprobe run", show_lines=False, header_style="bold")
        for col in ("probe", "profile", "status", "time", "failing step", "cause"):
            table.add_column(col, overflow="fold")
        table.add_column("steps (seconds)", overflow="fold", ratio=1)
        for r in sorted(self.results, key=lambda r: (r.probe, r.profile)):
            cause = f"{r.cause.category}/{r.cause.detail}" if r.cause else ""
            if r.cause and r.cause.dependency:
                cause += f" ({r.cause.dependency})"
            table.add_row(
                r.probe,
                r.profile,
                Text(r.status.value, style=STYLE.get(r.status, "")),
                f"{r.duration_ms / 1000:.2f}s",
                r.failed_step or "",
                cause,
                " › ".join(f"{s.name} {s.duration_ms / 1000:.2f}" for s in r.steps),
            )
        return table
