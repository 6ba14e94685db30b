"""One journey, start to finish: context from the profile, emulation, recorder, verdict,
artefacts, result. The only place the engine touches Playwright for a journey."""

from __future__ import annotations

import contextlib
import os
import re
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orderprobe.base.atomic import WriteFailed, node_write_error
from orderprobe.base.result import Artefact, Cause, FailurePoint, JourneyResult, RequestRecord, Status, StepResult
from orderprobe.base.tracing import MODES, TraceMode
from orderprobe.probes import har, step_log, tagging
from orderprobe.probes.deadline import GRACE_S, Deadline, default_timeout_s, kill_browsers, tear_down
from orderprobe.probes.filmstrip import Filmstrip
from orderprobe.probes.journey import Journey, Phase, StepListener
from orderprobe.probes.outcome import verdict
from orderprobe.probes.recorder import Recorder
from orderprobe.probes.reporter import JourneyStart
from orderprobe.probes.secrets import profile_secrets, scrub_value, scrub_zip
from orderprobe.probes.stall import LinkWitness
from orderprobe.probes.visual import Screenshots, baseline_key
from orderprobe.probes.vitals import VitalsMeter

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from orderprobe.probes.session import ProbeSession
    from orderprobe.probes.target import Target
    from orderprobe.profiles.models import MatrixItem


def _safe(nodeid: str) -> str:
    return re.sub(r"[^\w.-]+", "_", nodeid.split("::")[-1])[:120]


def _drawn(item: MatrixItem) -> dict[str, Any]:
    """What besides the profile shaped this journey: shop faults, and the population it was drawn from."""
    out: dict[str, Any] = {}
    if item.faults:
        out["shop_faults"] = [f.label for f in item.faults]
    if item.population is not None:
        figures = [f.model_dump(mode="json") for f in item.population.figures]
        out["population"] = {
            "matrix": item.matrix, "journey": item.draw, "seed": item.sweep_seed, "journey_seed": item.seed,
            "figures": figures,
        }  # fmt: skip
    return out


class JourneyRun(StepListener):
    phase = Phase.PUBLISH  # the finished step reaches the reporters

    def __init__(self, session: ProbeSession, nodeid: str, item: MatrixItem, target: Target, *, attempt: int = 1):
        self.session = session
        self.nodeid = nodeid
        self.item = item
        self.target = target
        self.attempt = attempt
        self.id = uuid.uuid4().hex
        self.rel_dir = f"{session.run_id}/{_safe(nodeid)}-{self.id[:6]}"
        self.dir = session.settings.artefacts / self.rel_dir
        self.started_at = datetime.now(UTC)
        self.journey = Journey(item.probe)
        self.status: Status | None = None
        self.cause: Cause | None = None
        self.failure: FailurePoint | None = None
        self.artefacts: list[Artefact] = []
        self.unwritten: list[str] = []  # artefacts a full or read-only disk refused
        self.conditions: dict[str, Any] = {**item.profile.describe(), **_drawn(item)}
        self.context: Any = None
        self.page: Any = None
        self.recorder: Recorder | None = None
        self.emulation: Any = None
        self.tracing: TraceMode | None = None  # set in open(): whether this attempt records a trace
        self._duration_ms: float | None = None
        self.start = JourneyStart(
            self.id, nodeid, item.probe, self.profile_label, session.worker, self.started_at, os.getpid()
        )
        self.secrets = profile_secrets(item.profile)
        self.deadline: Deadline | None = None
        self.timed_out_at: str | None = None  # where the journey was when its deadline passed
        self.waiting_at_deadline: list[RequestRecord] = []  # requests the step still waited for then
        self.crashed_at: str | None = None  # where it was when the renderer crashed
        self._last_look: FailurePoint | None = None  # the page as the deadline passed (watchdog thread)
        self._phase = "setup"
        self._fixed_deadline = False
        self.spans: Any = None  # --otel-endpoint: the journey's OpenTelemetry spans (orderprobe.probes.otel)
        self.cleanup: list[Any] = []  # CleanupResult of each journey.cleanup(fn), run at close
        self.missed: list[str] = []  # why the row's scenario did not happen (journey and emulation say)
        self.fault_tally: Callable[[], dict[str, tuple[int, int]]] | None = None  # the demo shop's, if it runs
        self.cleanup_overran = False
        # In an xdist worker: the steps so far on disk, for the controller if the run is stopped.
        self.step_log = step_log.StepLog(step_log.path(session.run_dir, self.id)) if session.reporters is None else None

    # -- lifecycle ----------------------------------------------------------------------------
    def open(
        self,
        get_browser: Callable[[], Browser],
        holder: Any = None,
        *,
        deadline_s: float | None = None,
        context_args: dict[str, Any] | None = None,
    ) -> None:
        """``holder`` (a ``BrowserHolder``) gives, once the browser is up, the worker's network path
        (``holder.path``: a packet-level link, or DevTools with the reason). ``context_args`` are
        the ``new_context`` arguments (the ``browser_context_args`` fixture); the profile's by default."""
        from orderprobe.probes.emulation import Emulation, context_options
        from orderprobe.probes.emulation.path import CdpPath

        settings = self.session.settings
        browser = get_browser()  # a launch has Playwright's own timeout; the journey's clock starts after it
        path = getattr(holder, "path", None) or CdpPath("browser launched outside orderprobe")
        self._fixed_deadline = bool(deadline_s or settings.journey_timeout_s)  # else step budgets extend it
        seconds = deadline_s or settings.journey_timeout_s or default_timeout_s(settings.action_timeout_ms)
        self.deadline = Deadline(seconds, self._expire).start()  # a context that never opens is bounded too
        options = dict(context_options(self.item.profile) if context_args is None else context_args)
        options = tagging.user_agent(options, settings.user_agent_suffix)
        if settings.har != "off":
            try:  # the folder Playwright writes the HAR into as the context closes
                self.dir.mkdir(parents=True, exist_ok=True)
                options.update(har.context_options(self._har_part, settings.har_content))
            except OSError as exc:  # a full or read-only disk: no HAR, said; the journey still runs
                self.unwritten.append(str(WriteFailed(self.dir / har.NAME, exc)))
        self.context = browser.new_context(**options)
        if settings.otel_endpoint:  # before emulation's routes, which run first and fall back to it
            from orderprobe.probes.otel import JourneySpans

            self.spans = JourneySpans(
                self.session.tracer_provider, self.item.probe, self.profile_label, self.session.run_id,
                self.target.base_url,
            )  # fmt: skip
            self.spans.attach(self.context)
        self.context.set_default_timeout(settings.action_timeout_ms)
        self.context.set_default_navigation_timeout(max(30_000.0, settings.action_timeout_ms))
        self.tracing = MODES[settings.trace] if MODES[settings.trace].records(self.attempt) else None
        if self.tracing is not None:
            self.context.tracing.start(screenshots=self.tracing.screenshots, snapshots=self.tracing.snapshots)
        self.page = self.context.new_page()
        self.page.on("crash", self._on_crash)
        self.recorder = Recorder(
            self.context, self.page, settings.artefacts, self.rel_dir, site=self.target.base_url or None,
            screenshot=settings.screenshots != "off",
        )  # fmt: skip
        self.emulation = Emulation(
            self.item.profile, self.context, self.page, path=path, site=self.target.base_url,
            cpu_slowdown=settings.cpu_slowdown,
        )  # fmt: skip
        self.emulation.apply()
        self.recorder.injections = self.emulation.injection  # injected faults are marked, never the shop's
        self.journey = Journey(self.item.probe, meter=self.recorder.meter, settle=self.recorder.settle)
        if settings.synthetic_header and self.target.base_url:  # after the emulation's routes: it falls back to them
            self.journey.tag_headers = {settings.synthetic_header: f"{self.session.run_id}/{self.id}"}
            tagging.tag(self.context, self.target.base_url, *next(iter(self.journey.tag_headers.items())))
        # The order they hear of a step is each one's phase (orderprobe.probes.journey.Phase), not this list's.
        listeners: list[StepListener] = [self.emulation, self.recorder, LinkWitness(self.emulation, self.recorder)]
        listeners += [VitalsMeter(self.context, self.page), self]
        self.journey.screenshots = Screenshots(
            self.page,
            baselines=settings.baselines,
            key=baseline_key(self.item.probe, self.item.profile),
            artefacts=settings.artefacts,
            rel_dir=self.rel_dir,
            update=settings.update_baselines,
            unwritten=self.unwritten,
        )
        if settings.a11y:
            from orderprobe.probes.a11y import A11yScanner

            listeners.append(A11yScanner(self.page))
        if settings.screenshots == "on":
            listeners.append(Filmstrip(self.page, settings.artefacts, self.rel_dir, unwritten=self.unwritten))
        if self.spans is not None:
            listeners.append(self.spans)
        self.journey.listeners = listeners
        self._phase = "call"

    # -- hard limits: deadline and crash ----------------------------------------------------
    def _where(self) -> str:
        if self.journey.current_step:
            return self.journey.current_step
        if self._phase != "call":
            return f"({self._phase})"
        last = self.journey.steps[-1].name if self.journey.steps else None
        return f"after {last}" if last else "(before the first step)"

    def _expire(self) -> None:
        """Watchdog thread: the deadline passed. Tear the context down so the worker moves on."""
        if self._phase == "cleanup":  # a cleanup overran its allowance: stopped; the journey's verdict stands
            self.cleanup_overran = True
            if self.context is not None:
                tear_down(self.context, None)
            return
        self.timed_out_at = self._where()
        trace = self._trace_part if self.tracing is not None else None
        in_step = self._phase == "call" and self.journey.current_step is not None
        if in_step and self.recorder is not None:  # what the step was waiting for when time ran out
            self.waiting_at_deadline = [r.model_copy(deep=True) for r in self.recorder.waiting()]
        if self.context is None:  # stuck launching the browser or opening the context
            kill_browsers()
            return
        if self.recorder is not None and self.failure is None:  # what the page showed, while it is there
            with contextlib.suppress(Exception):
                stopped = TimeoutError(f"journey deadline passed at step {self.timed_out_at}")
                self._last_look = self.recorder.last_look(self.timed_out_at, stopped)
        # A step waiting on the shop with no picture of the page yet: the compositor's last frame over
        # CDP (it still draws while a navigation waits; a busy page does not, and asking it costs the grace).
        looked = self._last_look is not None and self._last_look.screenshot
        shot = self.dir / "failure.png" if in_step and self.waiting_at_deadline and not looked else None
        tear_down(self.context, trace, cdp=self.recorder.cdp if self.recorder else None, shot_path=shot)

    def _on_crash(self, _page: Any) -> None:
        self.crashed_at = self.crashed_at or self._where()
        if self.deadline is not None:  # a crashed page can leave calls waiting for ever (CDP detach)
            self.deadline.cap(2 * GRACE_S)

    def _harness_error(self) -> None:
        """A journey cut short by its deadline or a renderer crash: an error of the run, with the
        step it was in, whatever the probe expected."""
        if self.crashed_at is not None:  # first: a crashed page is also what makes calls hang
            where, kind, detail = self.crashed_at, "BrowserCrash", "browser_crash"
            message = f"browser_crash: the page's renderer crashed at step {where}"
            summary = "浏览器崩溃 — the browser's renderer crashed; the next journey got a fresh context"
        elif self.timed_out_at is not None:
            where, kind, detail = self.timed_out_at, "JourneyTimeout", "journey_timeout"
            seconds = self.deadline.seconds if self.deadline else 0
            message = f"timed out at step {where} (journey deadline {seconds:g} s passed; context torn down)"
            summary = "探测超时 — the journey passed its hard deadline and was stopped; the run went on"
            if self._verdict_stands(message) or self._unanswered(where, kind, message):
                return
        else:
            return
        if self.failure is None or self.failure.error_type != kind:  # once (called at the verdict and at close)
            # Stopped by its deadline: the page as the watchdog saw it then (after, it was torn down).
            last_look = self._last_look if kind == "JourneyTimeout" else None
            failure = last_look or self.failure or FailurePoint(step=where, error_type=kind, message="")
            earlier = self.failure.message if self.failure is not None else ""
            failure.step, failure.error_type = where, kind
            failure.message = (message + (f"\n{earlier}" if earlier else ""))[:4000]
            self.failure = failure
        self.cause = Cause(
            category="system", detail=detail, rule=f"harness.{detail}", evidence=message, summary=summary
        )
        self.status = Status.ERROR

    def _verdict_stands(self, message: str) -> bool:
        """The deadline passed while closing a journey that had already failed with a cause of its
        own (e.g. a frozen server's timeout): that cause stands; the slow close is a note."""
        if self.timed_out_at not in ("(teardown)", "(cleanup)") or self.failure is None or self.cause is None:
            return False
        if self.cause.rule.startswith("harness."):
            return False
        note = f"teardown: {message.replace('timed out at step ', 'the deadline passed at ')}; the verdict stands"
        if note not in self.failure.capture_notes:
            self.failure.capture_notes.append(note)
        return True

    def _unanswered(self, where: str, kind: str, message: str) -> bool:
        """A step cut off by the deadline while it waited for a request that never got an answer (a
        frozen server accepts the connection and never replies): the shop's timeout at that step,
        not the harness's. True when the classifier names it so."""
        if self.cause is not None and message in self.cause.evidence:
            return True  # named so already (the verdict is read again after close)
        waiting = [r for r in self.waiting_at_deadline if r.step == where]
        if not waiting:
            return False
        # the page as the watchdog saw it at the deadline (after, it was torn down), if it looked
        failure = self._last_look or self.failure or FailurePoint(step=where, error_type=kind, message="")
        failure.step, failure.error_type, failure.surfaced_at = where, kind, None
        failure.waiting = waiting
        failure.message = (message + "\n" + failure.message if failure.message else message)[:4000]
        shot = self.dir / "failure.png"
        if failure.screenshot is None and shot.exists():  # drawn by the watchdog before it closed the page
            failure.screenshot = f"{self.rel_dir}/failure.png"
            failure.capture_notes = [n for n in failure.capture_notes if not n.startswith("screenshot:")]
        cause = self.session.classifier.classify(
            failure, dependencies=self.target.dependencies, site=self.target.base_url or None
        )
        if cause.category in ("probe_broken", "unknown"):
            return False
        cause = cause.model_copy(update={"evidence": f"{cause.evidence}; {message}"[:2000]})
        self.failure = failure
        self.status, self.cause = verdict(failed=True, cause=cause, expectation=self.item.expectation, slow=False)
        return True

    def conclude(self, excinfo: Any, *, when: str) -> Status:
        """Verdict for the test body (or for a setup that never let it start)."""
        self._duration_ms = self.journey.elapsed_ms()
        error = excinfo.value if excinfo is not None else None
        if error is not None:
            self.failure = self._failure_point(error, when)
            self.cause = self.session.classifier.classify(
                self.failure, dependencies=self.target.dependencies, site=self.target.base_url or None
            )
        self.missed = [*self.journey.missed, *(self.emulation.unfired() if self.emulation is not None else [])]
        # A fault drill's row expects the fault's refusal: if the fault never struck, nothing was drilled.
        # (A row expecting a pass beside a fault may be its control: the fault is meant to miss it.)
        if self.fault_tally is not None and self.item.expectation.outcome == "blocked":
            tally = self.fault_tally()
            self.missed += [m for fault in self.item.faults if (m := fault.missed(tally))]
        self.status, self.cause = verdict(
            failed=error is not None,
            cause=self.cause,
            expectation=self.item.expectation,
            slow=self.journey.slow,
            missed=bool(self.missed),
        )
        self._harness_error()
        return self.status

    def _failure_point(self, error: BaseException, when: str) -> FailurePoint:
        if self.recorder is None:  # the browser or context never came up
            return FailurePoint(
                step="(setup)", error_type=type(error).__name__, message="".join(traceback.format_exception_only(error))
            )
        if self.recorder.failure is not None:
            return self._stalled(self.recorder.failure)
        last = self.journey.steps[-1].name if self.journey.steps else None
        step = f"after {last}" if last else "(before the first step)"
        return self._stalled(self.recorder.capture(step if when == "call" else f"({when})", error))

    def _stalled(self, point: FailurePoint) -> FailurePoint:
        """On a packet-level link that was down when the step failed, requests still waiting for an
        answer are stalled by the outage (TCP would retry for minutes): name them so, as evidence."""
        why = getattr(self.emulation, "failed_offline", None)
        if why and self.emulation.path.stalls:
            stalled = f"net::ERR_INTERNET_DISCONNECTED (link down: {why}; no answer yet)"
            waiting = [r for r in point.requests if r.status is None and r.failure is None]
            for request in [*waiting, *point.waiting]:  # the requests log and the timeout evidence
                request.failure = stalled
                request.injected = f"orderprobe link outage: {why}"
            # The browser may not have reported the stalled request yet (a navigation after a redirect):
            # the link itself is the evidence then.
            waiting = waiting or [RequestRecord(method="-", url=point.url or "(link)", resource_type="link",
                                                failure=stalled, step=point.step,
                                                injected=f"orderprobe link outage: {why}")]  # fmt: skip
            point.failed_requests.extend(waiting)
        return point

    @property
    def profile_label(self) -> str:
        """device/network/region/account, plus any mid-journey switch: a different condition."""
        return self.item.profile.run_name

    def explain(self) -> str:
        cause = self.cause
        return f"{self.status}: {cause.summary if cause else ''}"

    @property
    def _har_part(self) -> Any:
        return self.dir / f"{har.NAME}.part"  # renamed to network.har once scrubbed

    def _keep_har(self) -> None:
        part = self._har_part
        if not part.exists():
            return
        try:
            if self.session.settings.har == "always" or not (self.status and self.status.ok):
                har.keep(part, self.dir / har.NAME, self.secrets)
                if self.failure is not None:
                    self.failure.har = f"{self.rel_dir}/{har.NAME}"
        except OSError as exc:  # a full or read-only disk: dropped, and said
            self.unwritten.append(str(WriteFailed(self.dir / har.NAME, exc)))
        except ValueError:  # a HAR cut short (the browser died while writing): dropped, never kept unscrubbed
            pass
        finally:
            part.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.dir.rmdir()  # only if nothing else was kept

    @property
    def _trace_part(self) -> Any:
        return self.dir / "trace.zip.part"  # renamed to trace.zip once scrubbed of secrets

    def close(self) -> None:
        self._phase = "teardown"
        if self.deadline is not None:
            self.deadline.cap(6 * GRACE_S)  # closing gets a short allowance of its own
        if self.status is None:  # setup passed, teardown without a call phase (e.g. skipped)
            self.status = Status.PASSED
        with contextlib.suppress(Exception):
            if self.emulation is not None:
                self.emulation.close()
        if self.journey.cleanups:  # passed, failed or timed out: the order it placed is cancelled
            self._phase = "cleanup"
            self.cleanup = self.journey.run_cleanups()
            self._phase = "teardown"
            if self.cleanup_overran:
                for c in self.cleanup:
                    c.error = c.error and f"{c.error} (cleanup stopped: over its {6 * GRACE_S:g} s allowance)"
        try:
            if self.context is not None and self.tracing is not None:
                if self.tracing.keeps(self.status.ok) or self.timed_out_at or self.crashed_at:
                    self.dir.mkdir(parents=True, exist_ok=True)
                    self.context.tracing.stop(path=str(self._trace_part))
                else:
                    self.context.tracing.stop()
        except OSError as exc:  # its folder could not be made: a full or read-only disk, said
            self.unwritten.append(str(WriteFailed(self.dir / "trace.zip", exc)))
        except Exception as exc:  # a crashed browser has no trace to give; the rest of the result stands
            if reason := node_write_error(str(exc)):  # but a full or read-only disk is said
                self.unwritten.append(f"could not write {self.dir / 'trace.zip'}: {reason}")
        with contextlib.suppress(Exception):
            if self.context is not None:
                self.context.close()
        if self.deadline is not None:
            self.deadline.stop(turning=self.context)
        self._harness_error()  # the deadline may have passed, or the renderer crashed, after the verdict
        self._keep_trace()
        self._keep_har()
        if self.spans is not None:
            with contextlib.suppress(Exception):  # tracing is a signal of its own, never the journey's verdict
                self.spans.end(self.status, self.cause, self.failure.step if self.failure else None)
        self._collect_artefacts()
        if self.step_log is not None:
            self.step_log.close()

    def _keep_trace(self) -> None:
        """The trace is kept only scrubbed of the profile's secrets (fill values, DOM
        snapshots and request bodies all carry them), and appears under its name only whole."""
        part = self._trace_part
        if not part.exists():
            return
        final = self.dir / "trace.zip"
        try:
            if self.secrets:
                clean = self.dir / "trace.zip.clean"
                try:
                    scrub_zip(part, clean, self.secrets)
                    os.replace(clean, final)
                finally:
                    clean.unlink(missing_ok=True)
            else:
                os.replace(part, final)
            if self.failure is not None:
                self.failure.trace = f"{self.rel_dir}/trace.zip"
        except OSError as exc:  # a full or read-only disk: dropped, and said
            self.unwritten.append(str(WriteFailed(final, exc)))
        except Exception:  # an unreadable or half-written trace is dropped, never kept unscrubbed
            pass
        finally:
            part.unlink(missing_ok=True)

    def _collect_artefacts(self) -> None:
        if not self.dir.exists():
            return
        for path in sorted(self.dir.iterdir()):
            if path.suffix in (".part", ".clean") or path.name.startswith("."):
                continue  # not (yet, or no longer) an artefact
            kind = {".png": "screenshot", ".jpg": "filmstrip", ".zip": "trace", ".har": "har"}.get(path.suffix, "file")
            kind = "visual" if path.name.startswith("visual-") else kind
            self.artefacts.append(Artefact(kind=kind, path=f"{self.rel_dir}/{path.name}", bytes=path.stat().st_size))

    def result(self, attempts: list[JourneyResult]) -> JourneyResult:
        from orderprobe.probes.outcome import combine_attempts

        status = self.status or Status.ERROR
        if attempts:
            status = combine_attempts([a.status for a in attempts] + [status])
        if self.emulation is not None:
            self.conditions = {**self.conditions, "applied": self.emulation.record()}
        result = JourneyResult(
            id=self.id,
            run_id=self.session.run_id,
            probe=self.item.probe,
            nodeid=self.nodeid,
            profile=self.profile_label,
            conditions=self.conditions,
            target=self.target.base_url,
            worker=self.session.worker,
            status=status,
            expectation=self.item.expectation,
            started_at=self.started_at,
            duration_ms=round(self._duration_ms if self._duration_ms is not None else self.journey.elapsed_ms(), 3),
            steps=self.journey.steps,
            failure=self.failure,
            cause=self.cause,
            attempt=self.attempt,
            previous_attempts=attempts,
            artefacts=self.artefacts,
            labels=self.session.settings.labels,
            emulation=self.emulation.mode if self.emulation is not None else "",
            location=self.session.settings.location,
            unwritten=self.unwritten + (self.recorder.write_errors if self.recorder is not None else []),
            trace_id=self.spans.trace_id if self.spans is not None else "",
            cleanup=self.cleanup,
            not_exercised=self.missed if status is Status.NOT_EXERCISED else [],
        )
        if not self.secrets:
            return result
        # Error text, page text and request URLs may quote a secret the probe typed or sent.
        return JourneyResult.model_validate(scrub_value(result.model_dump(mode="json"), self.secrets))

    # -- StepListener: steps reach the reporters live when they run in this process -----------
    def on_step_start(self, journey: Journey, name: str) -> None:
        settings = self.session.settings
        if self.deadline is not None and journey.current_budget_ms and not self._fixed_deadline:
            # a step allowed to take long keeps its time, plus one action's wait to fail
            self.deadline.extend((journey.current_budget_ms + settings.action_timeout_ms) / 1000.0)
        if self.step_log is not None:
            self.step_log.started(name, journey.elapsed_ms())

    def on_step_end(self, journey: Journey, step: StepResult) -> None:
        if self.session.reporters is not None:
            self.session.reporters.step_end(self.start, step)
        if self.step_log is not None:
            dumped = step.model_dump(mode="json")
            self.step_log.ended(scrub_value(dumped, self.secrets) if self.secrets else dumped)


def crashed_result(run_id: str, nodeid: str, message: str, start: JourneyStart | None) -> JourneyResult:
    """A journey whose worker process died: what its start said, marked as an error of the
    harness (never of the checkout), so the run still accounts for it."""
    probe = start.probe if start else nodeid.split("::")[-1].split("[")[0].removeprefix("test_")
    return JourneyResult(
        id=start.id if start else uuid.uuid4().hex,
        run_id=run_id,
        probe=probe,
        nodeid=nodeid,
        profile=start.profile if start else "?",
        worker=start.worker if start else "?",
        status=Status.ERROR,
        started_at=start.started_at if start else datetime.now(UTC),
        duration_ms=0.0,
        failure=FailurePoint(step="(worker)", error_type="WorkerCrash", message=message[:2000]),
        cause=Cause(
            category="system",
            detail="worker_crashed",
            rule="harness.worker_crashed",
            evidence=message.splitlines()[0][:300] if message else "",
            summary="探测进程崩溃（浏览器或 worker 被杀）— the probe worker died mid-journey; other journeys went on",
        ),
    )


def interrupted_result(
    run_id: str, nodeid: str, start: JourneyStart, steps: list[StepResult] | None = None
) -> JourneyResult:
    """A journey still running when the run was stopped (SIGTERM / SIGINT): abandoned, and said so,
    with the steps it had finished."""
    message = "interrupted: the run was stopped (SIGTERM / SIGINT) while this journey was running"
    return crashed_result(run_id, nodeid, message, start).model_copy(
        update={
            "duration_ms": max(0.0, (datetime.now(UTC) - start.started_at).total_seconds() * 1000),  # until stopped
            "steps": list(steps or []),
            "failure": FailurePoint(step="(interrupted)", error_type="Interrupted", message=message),
            "cause": Cause(
                category="system",
                detail="interrupted",
                rule="harness.interrupted",
                evidence=message,
                summary="运行被中断 — the run was stopped while this journey was running; it did not finish",
            ),
        }
    )
