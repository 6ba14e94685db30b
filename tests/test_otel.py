"""Trace correlation (probes/otel.py, ``--otel-endpoint``) with real parts on loopback.

The OTLP receiver is a real HTTP server (tests.support.receivers.WebhookReceiver) taking the
exporter's OTLP/HTTP POSTs to /v1/traces; their protobuf bodies are decoded with
opentelemetry-proto's own ExportTraceServiceRequest. Journeys run in real Chromium against the
embedded demo shop, and against a storefront from the corpus served by a small loopback server
that records the ``traceparent`` header of each request it answers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# The runs are pytest sessions in this process, and pytester drops the modules a session imported
# when it ends: OpenTelemetry (its context keys, the exporter's encoder and HTTP session) is
# imported here, at collection, so that every session uses the same modules.
import opentelemetry.exporter.otlp.proto.http.trace_exporter  # noqa: F401
import opentelemetry.sdk.trace.export  # noqa: F401
import opentelemetry.trace.propagation.tracecontext  # noqa: F401
import pytest
import requests  # noqa: F401
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from benchmarks import causes
from orderprobe.store.store import Store
from tests.support.receivers import WebhookReceiver
from tests.test_engine import ON_THE_SHARED_RUN, PAY_PROBE, Shared, shared  # noqa: F401 - shared: a fixture


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    try:
        yield hook
    finally:
        hook.stop()


def spans(receiver: WebhookReceiver) -> list[Any]:
    out = []
    for request in receiver.on("/v1/traces"):
        export = ExportTraceServiceRequest.FromString(request.body)
        for resource in export.resource_spans:
            for scope in resource.scope_spans:
                out.extend(scope.spans)
    return out


def attributes(span: Any) -> dict[str, Any]:
    return {a.key: a.value.string_value or a.value.double_value for a in span.attributes}


def _run(pytester: pytest.Pytester, *args: str):  # -> (RunResult, JourneyResult)
    db = pytester.path / "results.db"
    result = pytester.runpytest_inprocess(  # the plugin's spans, not a process's start-up: in this process
        "-p", "no:cacheprovider", f"--results=sqlite:///{db}", f"--artefacts={pytester.path / 'art'}", *args
    )
    store = Store(f"sqlite:///{db}")
    try:
        (journey,) = store.journeys(store.latest_run_id() or "")
    finally:
        store.close()
    return result, journey


def test_a_failed_journey_is_one_span_with_a_child_per_step_and_the_failing_step_in_error(
    pytester: pytest.Pytester, receiver: WebhookReceiver
) -> None:
    pytester.makepyfile(test_pay=PAY_PROBE)
    reports = pytester.path / "reports"
    result, journey = _run(
        pytester, "--label=fault=payment_down", f"--otel-endpoint={receiver.url('')}", "--reporter=store,html",
        f"--reports={reports}",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    (report,) = reports.glob("run*.html")
    assert f">{journey.trace_id}</code>" in report.read_text(encoding="utf-8")  # to find it in the shop's tracing
    got = spans(receiver)  # the exporter flushed as pytest ended: all have arrived
    (root,) = [s for s in got if s.name == "journey checkout"]
    steps = {s.name: s for s in got if s.parent_span_id == root.span_id}
    assert list(steps) == [s.name for s in journey.steps] == ["buy now", "pay"]
    assert journey.trace_id == root.trace_id.hex() and {s.trace_id for s in got} == {root.trace_id}
    assert attributes(root)["orderprobe.status"] == "failed" and attributes(root)["orderprobe.failed_step"] == "pay"
    assert attributes(root)["orderprobe.profile"] == journey.profile
    assert root.status.code == 2 and steps["pay"].status.code == 2 and steps["buy now"].status.code != 2  # ERROR
    assert root.start_time_unix_nano <= steps["buy now"].start_time_unix_nano
    assert steps["buy now"].end_time_unix_nano <= steps["pay"].start_time_unix_nano <= root.end_time_unix_nano


@contextmanager
def storefront(root: Path) -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    """The corpus on loopback; yields its URL and (host, path, traceparent) per request answered."""
    seen: list[tuple[str, str, str]] = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            seen.append((self.headers.get("Host", ""), self.path, self.headers.get("traceparent", "")))
            super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_shops_own_requests_carry_the_steps_traceparent_and_third_parties_none(
    pytester: pytest.Pytester, receiver: WebhookReceiver
) -> None:
    page = next(p for p in causes.load_corpus() if p.family == "healthy")
    pytester.makepyfile(
        test_otel_storefront=f"""
        def test_browse(journey, page, target):
            with journey.step("open"):
                page.goto(target.url("/{page.path.as_posix()}"))
            with journey.step("search"):
                page.evaluate("u => fetch(u).catch(() => null)", target.url("/README.md"))
                tp = target.url("/README.md").replace("127.0.0.1", "tp.localhost")
                page.evaluate("u => fetch(u, {{mode: 'no-cors'}}).catch(() => null)", tp)
        """
    )
    with storefront(causes.CORPUS) as (url, seen):
        result, journey = _run(pytester, f"--target={url}", f"--otel-endpoint={receiver.url('')}")
    result.assert_outcomes(passed=1)
    by_name = {s.name: s for s in spans(receiver)}
    ours = [(path, header) for host, path, header in seen if host.startswith("127.0.0.1")]
    assert ours and all(header for _, header in ours), seen
    opened = by_name["open"].span_id.hex()
    searched = by_name["search"].span_id.hex()
    document = next(h for p, h in ours if p.endswith(page.path.name))
    fetched = next(h for p, h in ours if p == "/README.md")
    # version-trace id-parent span-flags; the flags say sampled (bit 0), and may say random (bit 1)
    assert document.startswith(f"00-{journey.trace_id}-{opened}-") and int(document[-2:], 16) & 1
    assert fetched.startswith(f"00-{journey.trace_id}-{searched}-")
    third = [header for host, _, header in seen if host.startswith("tp.localhost")]
    assert third == [""]  # the third party's request went out, with no trace header


@ON_THE_SHARED_RUN
def test_without_the_endpoint_nothing_is_traced(shared: Shared, receiver: WebhookReceiver) -> None:  # noqa: F811
    """PAY_PROBE with default options (no --otel-endpoint): test_engine's shared session ran it already."""
    shared.assert_outcomes("test_pay", passed=1)
    (journey,) = shared.of("test_pay").values()
    assert journey.trace_id == "" and receiver.on("/v1/traces") == []


def test_a_bad_endpoint_is_refused_naming_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_pay=PAY_PROBE)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--otel-endpoint=127.0.0.1:4318")
    assert result.ret != 0
    assert "--otel-endpoint '127.0.0.1:4318': expected an OTLP/HTTP URL" in result.stderr.str()
