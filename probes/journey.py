"""The Journey recorder a probe writes against: ``with journey.step("pay"): ...``.

It knows nothing about Playwright. The browser side plugs in through small hooks:
a ``meter`` that returns the in-browser interaction totals (each step gets the
difference), a ``settle`` that waits for counts still in flight at a step's end, and
``listeners`` told when steps start, end or fail (so evidence is captured at the exact
moment of failure and conditions can change at a named step).

Listeners run by their declared ``Phase``, never by their place in the list: the network's
state is read before evidence is captured, the step is enriched (link record, Web Vitals, axe
scan, frame) from that evidence, and only then published (reporters, spans), finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import IntEnum
from typing import Any, ClassVar

from orderprobe.base.result import CleanupResult, Interactions, StepResult, StepStatus, VisualCheck


class Phase(IntEnum):
    """When a listener hears of a step. Every event (start, failed, end) reaches the phases in
    this order; listeners of one phase hear in the order they were added, and none may rely on it."""

    NETWORK = 10  # the emulated network: switches fire; whether the link is down, read before any capture
    CAPTURE = 20  # the browser's evidence: the failure point, the step's failed requests
    ENRICH = 30  # added to the step from what came before: the link's record, Web Vitals, axe scan, frame
    PUBLISH = 40  # the finished step, read and never changed: reporters, spans


class StepListener:
    """Told when steps start, fail and end; declares its ``phase``. Hooks do nothing unless overridden."""

    phase: ClassVar[Phase]

    def on_step_start(self, journey: Journey, name: str) -> None:
        pass

    def on_step_end(self, journey: Journey, step: StepResult) -> None:
        pass

    def on_step_failed(self, journey: Journey, name: str, error: BaseException) -> None:
        pass


def in_phases(listeners: list[StepListener]) -> list[StepListener]:
    """``listeners`` in the order they hear of a step: by phase, then as added."""
    for listener in listeners:
        if not isinstance(getattr(listener, "phase", None), Phase):
            raise TypeError(
                f"step listener {type(listener).__qualname__} declares no phase: give it "
                f"`phase = Phase.<{'|'.join(Phase.__members__)}>` (orderprobe.probes.journey.Phase)"
            )
    return sorted(listeners, key=lambda listener: listener.phase)


class Journey:
    def __init__(
        self,
        name: str,
        *,
        meter: Callable[[], Interactions] | None = None,
        settle: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.name = name
        self.steps: list[StepResult] = []
        self.listeners: list[StepListener] = []
        self.current_step: str | None = None
        self.failed_step: str | None = None
        self.current_budget_ms: float | None = None  # of the step starting / running (for deadlines)
        self.current_start_ms: float | None = None  # when the running step began
        self.failed_at_ms: float | None = None  # when the last failing step failed (before its evidence)
        self._meter = meter or Interactions
        self._settle = settle or (lambda: None)
        self._clock = clock
        self._t0 = clock()
        self.cleanups: list[tuple[str, Callable[[], object]]] = []
        # The synthetic-traffic header every request of this journey to the target carries
        # ({"X-Orderprobe-Run": "<run>/<journey>"}; empty when not tagged): a probe can send it to
        # the shop's own API too, e.g. to cancel what it ordered.
        self.tag_headers: dict[str, str] = {}
        self.missed: list[str] = []  # why the row's scenario did not happen (``not_exercised``)
        self.screenshots: Any = None  # orderprobe.probes.visual.Screenshots, given by the run (it has the page)
        self._pending_visual: list[VisualCheck] = []  # taken in the running step

    def elapsed_ms(self) -> float:
        return (self._clock() - self._t0) * 1000.0

    @contextmanager
    def step(self, name: str, *, budget_ms: float | None = None) -> Iterator[Journey]:
        """Time one user-visible step. Budget overruns mark the step slow, not failed."""
        if self.current_step is not None:
            raise RuntimeError(f"step {name!r} started inside step {self.current_step!r}; steps do not nest")
        self.current_budget_ms = budget_ms
        listeners = in_phases(self.listeners)
        for listener in listeners:
            listener.on_step_start(self, name)
        self.current_step = name
        before = self._meter()
        start = self.current_start_ms = self.elapsed_ms()
        error: BaseException | None = None
        evidence_ms: float | None = None
        try:
            yield self
        except BaseException as exc:
            error = exc
            self.failed_step = name
            self.failed_at_ms = failed_at = self.elapsed_ms()
            try:
                for listener in listeners:  # evidence capture: timed apart from the step
                    listener.on_step_failed(self, name, exc)
            finally:
                evidence_ms = self.elapsed_ms() - failed_at
            raise
        finally:
            duration = (self.elapsed_ms() if error is None else self.failed_at_ms or 0.0) - start
            self.current_step = None
            self._settle()  # let counts still in flight land in this step (after timing it)
            if error is not None:
                status = StepStatus.FAILED
            elif budget_ms is not None and duration > budget_ms:
                status = StepStatus.SLOW
            else:
                status = StepStatus.PASSED
            result = StepResult(
                name=name,
                status=status,
                start_ms=round(start, 3),
                duration_ms=round(duration, 3),
                budget_ms=budget_ms,
                evidence_ms=None if evidence_ms is None else round(evidence_ms, 3),
                interactions=self._meter() - before,
                error=None
                if error is None
                else f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
                visual=self._pending_visual,
            )
            self._pending_visual = []
            self.steps.append(result)
            for listener in listeners:
                listener.on_step_end(self, result)

    def cleanup(self, fn: Callable[[], object], name: str | None = None) -> Callable[[], object]:
        """Run ``fn`` after the journey, whether it passed, failed or timed out (last registered runs
        first), e.g. to cancel the order it placed. Its outcome is recorded; a cleanup that fails never
        fails the journey. Usable as a decorator."""
        self.cleanups.append((name or getattr(fn, "__name__", "cleanup").replace("_", " "), fn))
        return fn

    def run_cleanups(self) -> list[CleanupResult]:
        results = []
        for name, fn in reversed(self.cleanups):
            start = self._clock()
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - recorded, never raised: the journey's verdict stands
                error: str | None = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]
            else:
                error = None
            took = round((self._clock() - start) * 1000.0, 3)
            results.append(CleanupResult(name=name, ok=error is None, duration_ms=took, error=error))
        self.cleanups.clear()
        return results

    def expect_screenshot(
        self,
        name: str,
        *,
        mask: Sequence[Any] = (),
        threshold: float = 0.1,
        max_diff_pixels: int = 0,
        max_diff_ratio: float = 0.0,
        full_page: bool = False,
    ) -> VisualCheck:
        """Compare the page now with its stored baseline (``--baselines``; the first run writes it,
        ``--update-baselines`` rewrites it). ``mask``: locators painted over in both (a clock, an
        ad); ``threshold``: per-pixel colour distance that counts (0–1); up to ``max_diff_pixels``
        or ``max_diff_ratio`` of the page may differ. Never raises on a difference and never fails
        the step: the result is the step's ``visual`` signal, shown in the run report with the diff."""
        if self.screenshots is None:
            raise RuntimeError("expect_screenshot needs the journey's page: use the `journey` fixture")
        if self.current_step is None and not self.steps:
            raise RuntimeError(f"expect_screenshot({name!r}) belongs to a step: call it in or after a journey.step")
        step = self.current_step or ""
        check: VisualCheck = self.screenshots.check(
            name,
            step=step,
            mask=tuple(mask),
            threshold=threshold,
            max_diff_pixels=max_diff_pixels,
            max_diff_ratio=max_diff_ratio,
            full_page=full_page,
        )
        if self.current_step is not None:
            self._pending_visual.append(check)
        else:
            self.steps[-1].visual.append(check)
        return check

    def not_exercised(self, reason: str) -> None:
        """Say that what this journey's row sets out to test did not happen this time (the outage
        missed the payment, the sold-out item was in stock): if the journey then goes through it is
        reported *not exercised*, never *passed*. A failure still stands: it is a finding."""
        self.missed.append(reason)

    @property
    def slow(self) -> bool:
        return any(s.status is StepStatus.SLOW for s in self.steps)
