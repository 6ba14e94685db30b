"""The browser side of a journey: counters, request log and failure-point capture.

Interactions are counted *in the page* by an init script that listens for trusted
events and reports them through a binding, so a step's taps, text inputs and page
loads are facts about the path, not numbers the probe author declared.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orderprobe.base.atomic import WriteFailed
from orderprobe.base.result import FailurePoint, Interactions, RequestRecord
from orderprobe.probes import evidence, request_kinds, waited
from orderprobe.probes.bounded import bounded
from orderprobe.probes.emulation.routing import FAULT_HEADER
from orderprobe.probes.failed_action import parse_action
from orderprobe.probes.first_failure import first_breaking, site_of
from orderprobe.probes.journey import Phase, StepListener

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Request, Response

    from orderprobe.base.result import StepResult
    from orderprobe.probes.journey import Journey

BINDING = "__orderprobe_count"

# Runs in every document before page scripts. Main frame only, so iframes don't double count.
COUNTER_SCRIPT = """
(() => {
  if (window.top !== window || window.__orderprobeInstalled || !/^https?:$/.test(location.protocol)) return;
  window.__orderprobeInstalled = true;
  const report = (kind, n) => { try { window.__BINDING__(kind, n); } catch (e) {} };
  const textual = t => t.tagName === "TEXTAREA"
    || (t.tagName === "INPUT" && !/^(checkbox|radio|button|submit|range|color|file|hidden)$/i.test(t.type));
  report("page_loads", 1);
  const typing = new WeakSet();  // one text input = one field typed into, however many keys
  document.addEventListener("click", e => { if (e.isTrusted) report("taps", 1); }, true);
  document.addEventListener("input", e => {
    const t = e.target;
    if (e.isTrusted && t && !typing.has(t) && textual(t)) { typing.add(t); report("text_inputs", 1); }
  }, true);
  document.addEventListener("focusout", e => { if (e.target) typing.delete(e.target); }, true);
  // A field the browser refused at a submit (required, pattern…): the submit never left.
  document.addEventListener("invalid", e => {
    const t = e.target;
    const label = (t.labels && t.labels[0] && t.labels[0].innerText.trim()) || t.name || t.id || t.type;
    report("invalid", `${label}: ${t.validationMessage}`.slice(0, 200));
  }, true);
  for (const type of ["navigation", "resource"]) {
    try {
      new PerformanceObserver(list => {
        let bytes = 0;
        for (const entry of list.getEntries()) bytes += entry.transferSize || 0;
        if (bytes) report("bytes", bytes);
      }).observe({type, buffered: true});
    } catch (e) {}
  }
})();
""".replace("__BINDING__", BINDING)

RELEASED_S = 5.0  # for a released worker to start its own capture (a loaded machine is slow to switch)
CAPTURE_S = 20.0  # for that capture to end: each of its calls is bounded, ~16 s at worst


def _snapshot(records: list[RequestRecord]) -> list[RequestRecord]:
    """Records as they are now: the live ones change later (a request left waiting is aborted
    when the context closes), and the failure point must say what was true when it failed."""
    return [r.model_copy(deep=True) for r in records]


PHASES = (  # (name, start key, end key) in Playwright's Request.timing (ms from the request's start; -1: none)
    ("dns", "domainLookupStart", "domainLookupEnd"),
    ("connect", "connectStart", "connectEnd"),
    ("tls", "secureConnectionStart", "connectEnd"),
    ("wait", "requestStart", "responseStart"),
    ("download", "responseStart", "responseEnd"),
)


def phases(timing: dict[str, float]) -> dict[str, float]:
    """Resource timing → ms per phase; connect excludes its TLS part, so the phases add up."""
    out = {}
    for name, start, end in PHASES:
        a, b = timing.get(start, -1), timing.get(end, -1)
        if a is not None and b is not None and a >= 0 and b >= a:
            out[name] = round(b - a, 2)
    if "tls" in out and "connect" in out:
        out["connect"] = round(max(out["connect"] - out["tls"], 0.0), 2)
    return out


class Recorder(StepListener):
    """Attach to one context + page; a Journey StepListener that captures the failure point."""

    phase = Phase.CAPTURE

    def __init__(
        self,
        context: BrowserContext,
        page: Page,
        root: Path,
        rel_dir: str,
        *,
        keep_requests: int = 30,
        site: str | None = None,
        screenshot: bool = True,
    ):
        """``site``: the target's base URL, whose registrable domain is "the shop's own site";
        without it, the site of the first page the journey opens. ``screenshot``: take the failure's
        (``--screenshots off``: none is kept, so none is taken — a PNG of a phone's screen is CPU)."""
        self.page = page
        self.screenshot = screenshot
        self.site = site_of(site) if site else ""
        self.root = root  # artefacts folder; paths in results are relative to it
        self.rel_dir = rel_dir
        self.counts = Interactions()
        self.requests: deque[RequestRecord] = deque(maxlen=keep_requests)
        self.failed: list[RequestRecord] = []
        self.console_errors: list[str] = []
        self.document_status: int | None = None
        self.failure: FailurePoint | None = None
        self.refused: list[tuple[float, str | None, str]] = []  # (ms, step, "field: message") refused at a submit
        self.write_errors: list[str] = []  # artefacts that could not be written (full / read-only disk)
        # The last capture, and when one starts and ends: the deadline's watchdog waits on the worker's.
        self.captured: FailurePoint | None = None
        self._unanswered = False  # the failure's capture found the page not answering: no settle after it
        self.crashed = False  # its renderer crashed: nothing on the page to stop or wait for
        self.capturing, self._captured = threading.Event(), threading.Event()
        self._open: dict[int, tuple[RequestRecord, float]] = {}
        self._journey: Journey | None = None
        self.cdp = evidence.attach(context, page)
        # (request, its failure) → what orderprobe's emulation did to it, if anything (set by the engine)
        self.injections: Callable[[Any, str | None], str | None] | None = None
        context.expose_binding(BINDING, self._on_count)
        context.add_init_script(COUNTER_SCRIPT)
        page.on("request", self._on_request)
        page.on("requestfinished", self._on_finished)
        page.on("requestfailed", self._on_failed)
        page.on("response", self._on_response)
        self.navigations = 0  # main-frame documents committed: did the page change while evidence was taken?
        page.on("framenavigated", lambda frame: frame == page.main_frame and self._navigated())
        page.on("console", lambda msg: msg.type == "error" and self._console(msg.text))
        page.on("pageerror", lambda err: self._console(f"pageerror: {err}"))
        page.on("crash", lambda _: setattr(self, "crashed", True))

    # -- meter -------------------------------------------------------------------------
    def meter(self) -> Interactions:
        return self.counts.model_copy()

    def settle(self) -> None:
        """Drain binding calls still in flight: one round trip, once per step (at its end) — unless
        the failure just captured found the page not answering (a navigation that never commits):
        the round trip would wait out its 2 s for nothing."""
        if self._unanswered:
            self._unanswered = False
            return
        with contextlib.suppress(Exception):  # closed or crashed page: count what arrived
            # Events sent before its answer are dispatched first. Bounded: a busy page never answers.
            bounded(self.page, lambda page: page.evaluate("0", None), 2.0)

    def _on_count(self, _source: dict, kind: str, n: int | str) -> None:
        if kind == "invalid":
            step = self._journey.current_step if self._journey else None
            self.refused.append((round(self._offset(), 1), step, str(n)))
        elif kind in Interactions.model_fields:
            setattr(self.counts, kind, getattr(self.counts, kind) + int(n))

    def _navigated(self) -> None:
        self.navigations += 1

    def _console(self, text: str) -> None:
        self.counts.console_errors += 1
        self.console_errors.append(text[:500])

    # -- request log ---------------------------------------------------------------------
    def _offset(self) -> float:
        return self._journey.elapsed_ms() if self._journey else 0.0

    def _on_request(self, request: Request) -> None:
        self.counts.requests += 1
        record = RequestRecord(
            method=request.method,
            url=request.url,
            resource_type=request.resource_type,
            start_ms=round(self._offset(), 3),
            step=self._journey.current_step if self._journey else None,
            navigation=self._main_navigation(request),
        )
        if record.navigation and not self.site and request.url.startswith(("http://", "https://")):
            self.site = site_of(request.url)
        self._open[id(request)] = (record, time.perf_counter())
        self.requests.append(record)

    def _main_navigation(self, request: Request) -> bool:
        try:
            return request.is_navigation_request() and request.frame == self.page.main_frame
        except Exception:  # a service worker's request has no frame
            return False

    def _close(self, request: Request) -> RequestRecord | None:
        opened = self._open.pop(id(request), None)
        if opened is None:
            return None
        record, t0 = opened
        record.duration_ms = round((time.perf_counter() - t0) * 1000.0, 3)
        if self.injections is not None and record.injected is None:
            with contextlib.suppress(Exception):
                record.injected = self.injections(request, request.failure)
        return record

    def _on_response(self, response: Response) -> None:
        opened = self._open.get(id(response.request))
        if opened:
            opened[0].status = response.status
            with contextlib.suppress(Exception):  # a fault answered by orderprobe's own route says so
                if fault := response.headers.get(FAULT_HEADER):
                    opened[0].injected = f"orderprobe fault: {fault}"
        if response.request.is_navigation_request() and response.frame == self.page.main_frame:
            self.document_status = response.status

    def _timing(self, request: Request, record: RequestRecord) -> None:
        with contextlib.suppress(Exception):  # timing is evidence, never a reason to fail
            record.phases = phases(request.timing)

    def _on_finished(self, request: Request) -> None:
        record = self._close(request)
        if record:
            self._timing(request, record)
        if record and record.status is not None and record.status >= 400:
            if record.resource_type in request_kinds.API:  # API error bodies carry the error code
                with contextlib.suppress(Exception):  # (a body the page never read is not kept)
                    response = request.response()
                    record.body_excerpt = response.text()[:300] if response else None
            self.failed.append(record)

    def _on_failed(self, request: Request) -> None:
        record = self._close(request)
        if record is None:
            return
        self._timing(request, record)
        failure = request.failure or "failed"
        if record.status is not None and "ERR_ABORTED" in failure:
            # Answered, then the page dropped the body (a fetch nobody read, cut by the next
            # navigation): the answer is the fact; "aborted" would read as a network failure.
            if record.status >= 400:
                self.failed.append(record)
            return
        record.failure = failure
        self.failed.append(record)

    # -- StepListener ----------------------------------------------------------------------
    def on_step_start(self, journey: Journey, name: str) -> None:
        self._journey = journey

    def on_step_end(self, journey: Journey, step: StepResult) -> None:
        step.failed_requests = self._failed_in(step.name)

    def _failed_in(self, step: str) -> list[RequestRecord]:
        return [r for r in self.failed if r.step == step][-15:]

    def on_step_failed(self, journey: Journey, name: str, error: BaseException) -> None:
        self.failure = self.capture(name, error)

    def open_requests(self) -> list[RequestRecord]:
        """Requests sent and not yet answered (as recorded; their wait is not stamped)."""
        return [record for record, _ in list(self._open.values())]

    def waiting(self, keep: int = 10) -> list[RequestRecord]:
        """Requests still unanswered now, each stamped with how long it has waited, longest
        first. Only those a page waits on: documents, API calls, scripts and styles."""
        now = time.perf_counter()
        out = []
        for record, t0 in list(self._open.values()):
            if record.resource_type in request_kinds.WAITED_ON:
                record.waited_ms = round((now - t0) * 1000.0, 3)
                if self.injections is not None and record.injected is None:  # e.g. sent to a polluted address
                    with contextlib.suppress(Exception):
                        record.injected = self.injections(record, None)
                out.append(record)
        return sorted(out, key=lambda r: -(r.waited_ms or 0))[:keep]

    # -- failure point ---------------------------------------------------------------------
    def _refused_fields(self, step: str, failure: FailurePoint) -> None:
        """Only fields the browser refused at a submit in this step are evidence: still invalid
        now → the value was refused (``validation``); valid now → the tap came before the page was
        ready (``not_ready``). A required field nobody submitted says nothing."""
        invalid_now = {v.split(": ", 1)[0]: v for v in failure.validation}
        refused: dict[str, tuple[float, str]] = {}
        for at, where, text in self.refused:
            if where == step:
                refused.setdefault(text.split(": ", 1)[0], (at, text))
        failure.validation = [invalid_now[label] for label in refused if label in invalid_now]
        failure.not_ready = [
            f"{text} — refused at {at / 1000:.2f} s, valid again at {self._offset() / 1000:.2f} s"
            for label, (at, text) in refused.items()
            if label not in invalid_now
        ]

    def _settled(self, failure: FailurePoint, loads: int) -> None:
        """Was the page read the shop's answer when the wait ended? (probes/waited.py)"""
        pending = next((r for r in failure.waiting if r.navigation), None)
        if pending is not None:
            failure.unsettled = (
                f"a navigation to {pending.url} was still waiting for its answer: the page shown was being left"
            )
        elif self.navigations != loads:
            failure.unsettled = "the page changed while evidence was taken: a navigation committed after the wait ended"
        if waited.arrived_late(self.page, failure.locator, failure.message):
            failure.arrived_late = (
                f"{failure.locator} was there and ready at {self._offset() / 1000:.2f} s, after the wait ended"
            )
            failure.unsettled = failure.unsettled or "the page read is the late page the step waited for"

    def capture(self, step: str, error: BaseException) -> FailurePoint:
        """Evidence at the moment of failure. Each probe of the page is bounded: a hung page
        must not hang the harness."""
        self.capturing.set()
        failure = self._point(step, error)
        try:
            # Mid-navigation a page answers nothing, nor does a crashed one (3 s of CDP timeouts): not busy.
            if not self.crashed and not any(r.navigation for r in failure.waiting):
                evidence.unblock(self.cdp, failure)  # a busy main thread answers nothing until stopped
            loads = self.navigations
            self._unanswered = not evidence.read_page(self.page, failure)
            self._settled(failure, loads)
            self._refused_fields(step, failure)
            self._picture(evidence.screenshot, failure)
            return failure
        finally:
            self.captured = failure
            self._captured.set()

    def last_look(self, step: str, error: BaseException) -> FailurePoint:
        """From the deadline's watchdog thread, before the journey's context is torn down (after,
        the page is gone): the requests as they stood, and the page's evidence — taken by the worker
        itself once its blocked call is released (``evidence.release``), else over CDP from here."""
        point = self._point(step, error)
        self.capturing.clear()
        self._captured.clear()
        self.captured = None
        notes = evidence.release(self.cdp)
        if notes is not None and self.capturing.wait(RELEASED_S):
            self._captured.wait(CAPTURE_S)
        page = self.captured
        if page is not None:  # the worker's own capture, on the page still there
            for field in (
                "url",
                "page_title",
                "page_text",
                "validation",
                "not_ready",
                "unsettled",
                "arrived_late",
                "screenshot",
            ):
                setattr(point, field, getattr(page, field))
            point.capture_notes = [*(notes or []), *page.capture_notes]
            return point
        point.capture_notes.extend(notes or [])
        self._picture(evidence.last_look, point)
        return point

    def _picture(self, take: Callable[..., None], point: FailurePoint) -> None:
        """The failure's screenshot, by ``take`` (a full disk: said, and the capture goes on)."""
        if not self.screenshot:
            return
        try:
            take(self.page, self.cdp, point, self.root / self.rel_dir / "failure.png", f"{self.rel_dir}/failure.png")
        except WriteFailed as exc:
            self.write_errors.append(str(exc))

    def _point(self, step: str, error: BaseException) -> FailurePoint:
        """What the harness knows without asking the page: the action, the requests."""
        message = str(error)
        action, locator = parse_action(message)
        steps = self._journey.steps if self._journey else []
        for done in steps:  # requests of passed steps may have failed since they ended
            done.failed_requests = self._failed_in(done.name)
        first = first_breaking(self.failed, [s.name for s in steps], step, self.site)
        return FailurePoint(
            step=first.step if first and first.step else step,
            surfaced_at=step if first and first.step != step else None,
            first_failed_request=first.model_copy(deep=True) if first else None,
            action=action,
            locator=locator,
            error_type=type(error).__name__,
            message=message[:4000],
            document_status=self.document_status,
            requests=_snapshot(list(self.requests)[-15:]),
            failed_requests=_snapshot(
                ([first] if first and first not in self.failed[-15:] else []) + self.failed[-15:]
            ),
            waiting=_snapshot(self.waiting()),
            console_errors=self.console_errors[-20:],
        )
