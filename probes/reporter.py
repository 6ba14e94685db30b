"""Reporters: where a run's journeys go (terminal, store, event stream, JUnit, HTML).

One small interface with optional hooks, reporters picked by name (``--reporter
store,events``) as Elastic's synthetics runner does. The engine names none of them:
names resolve through the ``orderprobe.reporters`` entry-point group (each package
registers its own) or through the ``pytest_orderprobe_reporters`` hook (a conftest or
plugin adds one in a few lines). All hooks run in one process — the pytest controller —
in the order the names were given.

A reporter that raises does not stop the run or the other reporters; the failure is
printed at once (which reporter, which hook, why) and makes the run's exit code 3.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from orderprobe.base.atomic import WriteFailed

if TYPE_CHECKING:
    from orderprobe.base.result import JourneyResult, StepResult
    from orderprobe.probes.settings import Settings

ENTRY_POINTS = "orderprobe.reporters"
REPORTER_FAILED = 3  # exit code (pytest's INTERNAL_ERROR): the run's outputs are incomplete


@dataclass
class Run:
    """What every reporter knows about the run. ``outputs`` is where reporters say what they
    wrote ("report" → path), for the terminal to list at the end."""

    id: str
    started_at: datetime
    settings: Settings
    command: str
    outputs: dict[str, str] = field(default_factory=dict)
    planned: int | None = None  # journeys collected, once known

    @property
    def target(self) -> str:
        return self.settings.target or "embedded demo shop"


@dataclass(frozen=True)
class JourneyStart:
    id: str
    nodeid: str
    probe: str
    profile: str
    worker: str
    started_at: datetime
    pid: int = 0  # the process running it (an xdist worker, or the controller at -n 0)


class Reporter:
    """Override the hooks you need. ``on_step_end`` arrives live when the journey runs in the
    controller's process (``-n 0``), and just before ``on_journey_end`` when it ran on an
    xdist worker (pytest gives workers no live channel); its order within a journey holds."""

    speaks_last = False  # the terminal: its on_run_end comes after the others' (it lists their outputs)

    def on_run_start(self, run: Run) -> None:
        pass

    def on_journey_start(self, journey: JourneyStart) -> None:
        pass

    def on_step_end(self, journey: JourneyStart, step: StepResult) -> None:
        pass

    def on_journey_end(self, result: JourneyResult) -> None:
        pass

    def on_run_end(self, run: Run, exit_code: int) -> None:
        pass


Factory = Callable[[], Reporter]


def available(extra: dict[str, Factory] | None = None) -> dict[str, Factory]:
    """Reporter names → factories: installed entry points, then plugin-added ones (which win)."""
    found: dict[str, Factory] = {ep.name: ep.load for ep in entry_points(group=ENTRY_POINTS)}
    return {**found, **(extra or {})}


def _load(factory: Factory) -> Reporter:
    made = factory()
    # An entry point's ``load`` returns the class; a hook may give a class or a factory.
    return made() if isinstance(made, type) else made


@dataclass
class Failure:
    reporter: str
    hook: str
    error: str
    count: int = 1


class Reporters:
    """The chosen reporters, called in order; a failing one is named and remembered."""

    def __init__(self, names: list[str], factories: dict[str, Factory]) -> None:
        unknown = [n for n in names if n not in factories]
        if unknown:
            # None at all: the package's entry points are not registered (pip install -e . again).
            known = ", ".join(sorted(factories)) or "none installed; `pip install -e .` registers the built-in ones"
            raise ValueError(f"unknown reporter {', '.join(unknown)!s} (available: {known})")
        self.failures: dict[str, Failure] = {}
        self.chosen: list[tuple[str, Reporter]] = []
        for name in dict.fromkeys(names):
            try:
                self.chosen.append((name, _load(factories[name])))
            except Exception as exc:
                self._failed(name, "load", exc)
        self._started: set[str] = set()
        self._live: set[str] = set()  # journeys whose steps were delivered as they ended
        self.steps: dict[str, list[StepResult]] = {}  # their steps so far: kept if the run is stopped
        self._ending = False
        self.unwritten: list[str] = []  # artefacts journeys could not write

    def _failed(self, name: str, hook: str, exc: BaseException) -> None:
        # A failed write (full or read-only disk) names its file itself: no exception class needed.
        error = str(exc) if isinstance(exc, WriteFailed) else "".join(traceback.format_exception_only(exc)).strip()
        known = self.failures.get(name)
        if known is not None:
            known.count += 1
            return
        self.failures[name] = Failure(name, hook, error)
        if not self._ending:  # at the run's end the summary below says it, once
            print(f"\norderprobe: reporter {name!r} failed in {hook}: {error}", file=sys.stderr, flush=True)

    def _unwritten(self, result: JourneyResult) -> None:
        """Evidence a journey could not keep (its screenshot on a full disk): said, and it fails the run."""
        for line in result.unwritten:
            self.unwritten.append(line)
            print(f"orderprobe: {result.probe} [{result.profile}]: {line}", file=sys.stderr, flush=True)

    def _call(self, hook: str, *args: object, only: list[tuple[str, Reporter]] | None = None) -> None:
        for name, reporter in self.chosen if only is None else only:
            try:
                getattr(reporter, hook)(*args)
            except Exception as exc:
                self._failed(name, hook, exc)

    def run_start(self, run: Run) -> None:
        self._call("on_run_start", run)

    def journey_start(self, journey: JourneyStart) -> None:
        self._started.add(journey.id)
        self._call("on_journey_start", journey)

    def step_end(self, journey: JourneyStart, step: StepResult) -> None:
        if journey.id not in self._started:  # an attempt pytest has not reported (--retries): later, or never
            return
        self._live.add(journey.id)
        self.steps.setdefault(journey.id, []).append(step)
        self._call("on_step_end", journey, step)

    def journey_end(self, result: JourneyResult, start: JourneyStart | None = None) -> None:
        if result.id not in self._live:  # it ran on a worker: its steps arrive with it
            start = start or JourneyStart(
                result.id, result.nodeid, result.probe, result.profile, result.worker, result.started_at
            )
            for step in result.steps:
                self._call("on_step_end", start, step)
        self._live.discard(result.id)
        self._started.discard(result.id)
        self.steps.pop(result.id, None)
        self._unwritten(result)
        self._call("on_journey_end", result)

    def run_end(self, run: Run, exit_code: int) -> int:
        """Returns the run's exit code: ``REPORTER_FAILED`` if any reporter failed or any artefact
        could not be written. The terminal speaks last, with the exit code the others left."""
        self._ending = True
        said: set[str] = set()
        for last in (False, True):
            if (self.failures or self.unwritten) and exit_code in (0, 1):
                exit_code = REPORTER_FAILED
            self._call("on_run_end", run, exit_code, only=[c for c in self.chosen if c[1].speaks_last == last])
            for f in self.failures.values():
                if f.reporter not in said:
                    said.add(f.reporter)
                    more = f" (and {f.count - 1} more time{'s' * (f.count > 2)})" if f.count > 1 else ""
                    print(f"orderprobe: reporter {f.reporter!r} failed in {f.hook}{more}: {f.error}", file=sys.stderr)
        if self.failures and exit_code in (0, 1):
            exit_code = REPORTER_FAILED
        return exit_code
