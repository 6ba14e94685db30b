"""Trace correlation (``--otel-endpoint``): one OpenTelemetry span per journey, a child span per
step, exported over OTLP/HTTP, and a W3C ``traceparent`` on every request to the shop's own site
naming the step's span, so the shop's tracing shows which probe step its server spans belong to.

Optional: needs the ``otel`` extra (``pip install 'orderprobe[otel]'``). Requests to other sites
(payment providers, analytics) get no header: the trace ids stay with the shop, and a header a
third party did not expect can fail its CORS check.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from orderprobe.probes.first_failure import site_of
from orderprobe.probes.journey import Phase, StepListener

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Route

    from orderprobe.base.result import Cause, Status, StepResult
    from orderprobe.probes.journey import Journey

MISSING = (
    "--otel-endpoint needs OpenTelemetry: pip install 'orderprobe[otel]' (opentelemetry-sdk and the OTLP exporter)"
)


def provider(endpoint: str, service: str = "orderprobe") -> Any:
    """A TracerProvider that batches spans to ``endpoint`` (OTLP/HTTP, ``/v1/traces`` added)."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise RuntimeError(MISSING) from exc
    url = endpoint.rstrip("/")
    url = url if url.endswith("/v1/traces") else url + "/v1/traces"
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": service}))
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    return tracer_provider


class JourneySpans(StepListener):
    """A journey's span and its steps' spans; a Journey StepListener that publishes the finished step."""

    phase = Phase.PUBLISH

    def __init__(self, tracer_provider: Any, probe: str, profile: str, run_id: str, site: str) -> None:
        from opentelemetry import trace

        self._trace = trace
        self.tracer = tracer_provider.get_tracer("orderprobe")
        self.site = site_of(site) if site else ""
        self.span = self.tracer.start_span(
            f"journey {probe}",
            attributes={"orderprobe.probe": probe, "orderprobe.profile": profile, "orderprobe.run_id": run_id},
        )
        self.step: Any = None
        self._step_start_ns = 0

    @property
    def trace_id(self) -> str:
        return f"{self.span.get_span_context().trace_id:032x}"

    def traceparent(self) -> dict[str, str]:
        """``{"traceparent": …}`` naming the running step's span (the journey's between steps)."""
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier, context=self._trace.set_span_in_context(self.step or self.span))
        return carrier

    def attach(self, context: BrowserContext) -> None:
        """Add ``traceparent`` to the shop's requests; other routes (emulation's faults) still apply."""

        def mine(url: str) -> bool:
            return url.startswith(("http://", "https://")) and (not self.site or site_of(url) == self.site)

        def add(route: Route) -> None:
            try:
                headers = {**route.request.all_headers(), **self.traceparent()}
            except Exception:  # the page went away: let the request go on as it was
                headers = None
            route.fallback(headers=headers)

        context.route(mine, add)

    # -- StepListener ---------------------------------------------------------------------------
    def on_step_start(self, journey: Journey, name: str) -> None:
        context = self._trace.set_span_in_context(self.span)
        self._step_start_ns = time.time_ns()
        self.step = self.tracer.start_span(
            name, context=context, attributes={"orderprobe.step": name}, start_time=self._step_start_ns
        )

    def on_step_end(self, journey: Journey, step: StepResult) -> None:
        if self.step is None:
            return
        self.step.set_attribute("orderprobe.step.status", step.status.value)
        self.step.set_attribute("orderprobe.step.duration_ms", step.duration_ms)
        if step.error:
            self.step.set_status(self._trace.Status(self._trace.StatusCode.ERROR, step.error[:300]))
        # Published after the step's enrichment (vitals, frame…): the span lasts as long as the step did.
        self.step.end(end_time=self._step_start_ns + round(step.duration_ms * 1_000_000))
        self.step = None

    def on_step_failed(self, journey: Journey, name: str, error: BaseException) -> None:
        if self.step is not None:
            with contextlib.suppress(Exception):
                self.step.record_exception(error)

    def end(self, status: Status, cause: Cause | None, failed_step: str | None) -> None:
        """End the journey's span with its verdict (and any step span a crash left open)."""
        if self.step is not None:
            self.step.end()
            self.step = None
        self.span.set_attribute("orderprobe.status", status.value)
        if cause is not None:
            self.span.set_attribute("orderprobe.cause", f"{cause.category}/{cause.detail}")
        if failed_step:
            self.span.set_attribute("orderprobe.failed_step", failed_step)
        if not status.ok:
            self.span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, status.value))
        self.span.end()
