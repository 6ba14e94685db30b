"""The ``progress`` reporter: what the terminal shows while a run works (a live display, or
one line per journey when not on a terminal), then a summary table and where the other
reporters wrote. It replaces pytest's own terminal output."""

from __future__ import annotations

from collections import Counter

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from orderprobe.base.result import JourneyResult, Status, StepResult
from orderprobe.probes.reporter import JourneyStart, Reporter, Run

INTERRUPTED = 2  # pytest's exit code for Ctrl-C / a stopped session
STYLE = {
    Status.PASSED: "green",
    Status.BLOCKED: "cyan",
    Status.DEGRADED: "yellow",
    Status.FLAKY: "yellow",
    Status.FAILED: "bold red",
    Status.ERROR: "magenta",
    Status.NOT_EXERCISED: "dim",
}


class Progress(Reporter):
    speaks_last = True

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or _console()
        self.results: list[JourneyResult] = []
        self.run: Run | None = None
        self.current: dict[str, str] = {}  # worker → "probe · step"
        self._live: Live | None = None

    def on_run_start(self, run: Run) -> None:
        self.run = run
        matrix = f"matrix {run.settings.matrix}" if run.settings.matrix else "ad-hoc (each probe on its own profile)"
        planned = f" · {run.planned} journeys" if run.planned else ""
        cpu = " · [bold]CPU slowdown off[/]" if run.settings.cpu_slowdown == "off" else ""
        self.console.print(f"orderprobe run [bold]{run.id}[/] · {matrix} · target {run.target}{planned}{cpu}")
        if run.settings.live_progress and self.console.is_terminal:
            self._live = Live(get_renderable=self._render, console=self.console, refresh_per_second=4)
            self._live.start()

    def on_journey_start(self, journey: JourneyStart) -> None:
        self.current[journey.worker] = f"{journey.probe} [{journey.profile}]"

    def on_step_end(self, journey: JourneyStart, step: StepResult) -> None:
        self.current[journey.worker] = f"{journey.probe} · {step.name} ✓"

    def on_journey_end(self, result: JourneyResult) -> None:
        self.results.append(result)
        self.current.pop(result.worker, None)
        if self._live is None:  # plain log lines (services, CI logs)
            self.console.print(self._line(result), highlight=False)

    def on_run_end(self, run: Run, exit_code: int) -> None:
        if self._live is not None:
            self._live.stop()
        if not self.results and exit_code == INTERRUPTED:
            self.console.print("[bold red]INTERRUPTED[/]: the run was stopped before any journey ran")
            return
        if not self.results:
            self.console.print("[bold red]orderprobe: no journeys ran[/] (check the paths, --matrix, --probe, -k)")
            return
        # The verdict once, right under the table; then where everything went, the report last,
        # so the final line is the file to open.
        self.console.print(self.summary())
        for line in self._missing(run):
            self.console.print(f"[yellow]{line}[/]")
        self.console.print(self.verdict(exit_code))
        for label, where in sorted(run.outputs.items(), key=lambda kv: kv[0] == "report"):
            self.console.print(f"{label:<8} {where}", highlight=False)

    def verdict(self, exit_code: int) -> Text:
        """PASS, or what went wrong in numbers: failed journeys, probe errors, an interrupted run."""
        counts = Counter(r.status for r in self.results)
        n = len(self.results)
        journeys = f"{n} journey{'' if n == 1 else 's'}"
        if exit_code == INTERRUPTED:
            return Text(f"INTERRUPTED after {journeys}: the run was stopped; results so far are stored", "bold red")
        errors = counts[Status.ERROR]
        bad = [f"{counts[Status.FAILED]} failed"] if counts[Status.FAILED] else []
        bad += [f"{errors} probe error{'' if errors == 1 else 's'}"] if errors else []
        if bad:
            return Text(f"FAIL: {', '.join(bad)} of {journeys}", "bold red")
        kinds = ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s])
        met = "met its expectation" if n == 1 else "met their expectation"
        if exit_code != 0:  # every journey met its expectation, yet the run's outputs are not all there
            return Text(f"FAIL: exit {exit_code} — {journeys} {met}, see the messages above", "bold red")
        return Text(f"PASS: {journeys} {met} ({kinds})", "bold green")

    def _missing(self, run: Run) -> list[str]:
        """A matrix that names a probe no file defines selects nothing: say so, it is usually a typo."""
        matrix = run.settings.matrix
        if not matrix or run.settings.probes:
            return []
        from orderprobe.profiles.catalogue import load_catalogue

        named = {i.probe for i in load_catalogue(run.settings.profile_dirs).expand(matrix)}
        missing = sorted(named - {r.probe for r in self.results})
        return [f"matrix {matrix} names probes that no probe file defines: {', '.join(missing)}"] if missing else []

    # -- rendering -----------------------------------------------------------------------------
    def _line(self, r: JourneyResult) -> Text:
        text = Text(f"{r.status.value:<8}", style=STYLE.get(r.status, ""))
        text.append(f" {r.probe}  [{r.profile}]  {r.emulation}  {r.duration_ms / 1000:.2f}s")
        if r.cause:
            text.append(f"  @{r.failed_step}: {r.cause.category}/{r.cause.detail}", style="dim")
        elif r.not_exercised:
            text.append(f"  ({r.not_exercised[0]})", style="dim")
        return text

    def _render(self) -> Group:
        done = len(self.results)
        failures = sum(1 for r in self.results if not r.status.ok)
        planned = self.run.planned if self.run else None
        total = planned if planned is not None else "?"
        head = Text(f"journeys {done}/{total}   ")
        head.append(f"failures {failures}", style="bold red" if failures else "green")
        lines = [head] + [Text(f"  {w}: {what}", style="dim") for w, what in sorted(self.current.items())]
        return Group(*lines)

    def summary(self) -> Table:
        table = Table(title="orderprobe run", show_lines=False, header_style="bold")
        if self.run and self.run.settings.cpu_slowdown == "off":  # so no one reads these as slow-device timings
            table.caption = "--cpu-slowdown off: devices ran without their CPU slowdown"
        for col in ("probe", "profile", "net", "status", "time", "failing step", "cause"):
            table.add_column(col, overflow="fold")
        table.add_column("steps (seconds)", overflow="fold", ratio=1)
        for r in sorted(self.results, key=lambda r: (r.probe, r.profile)):
            cause = f"{r.cause.category}/{r.cause.detail}" if r.cause else ""
            if r.cause and r.cause.dependency:
                cause += f" ({r.cause.dependency})"
            status = Text(r.status.value, style=STYLE.get(r.status, ""))
            if r.status is Status.BLOCKED:  # a pass: the refusal it expected is named, nothing "failed"
                status.append(f" as expected: {cause} at '{r.failed_step}'" if cause else " as expected")
            if r.not_exercised:  # went through, but what the row tests did not happen: say what
                status.append(": " + "; ".join(r.not_exercised), style="dim")
            table.add_row(
                r.probe,
                r.profile,
                r.emulation,  # packet | cdp: how the network was emulated
                status,
                f"{r.duration_ms / 1000:.2f}s",
                "" if r.status is Status.BLOCKED else r.failed_step or "",
                "" if r.status is Status.BLOCKED else cause,
                " › ".join(f"{s.name} {s.duration_ms / 1000:.2f}" for s in r.steps),
            )
        return table


def _console() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:  # logs and CI: wide enough that the summary table doesn't wrap
        console = Console(highlight=False, width=180)
    return console
