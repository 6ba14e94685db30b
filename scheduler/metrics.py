"""Prometheus metrics and health: ``/metrics`` and ``/healthz`` on 127.0.0.1.

A registry per service (not prometheus-client's global one) so several services, or
tests, live in one process. The series are what the Grafana dashboard reads. Every series
carries the agent's ``location`` label: agents at several sites feed one Prometheus.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from orderprobe.base.result import JourneyResult, Status
from orderprobe.probes.verdict import Verdict

log = logging.getLogger("orderprobe.scheduler")

STEP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60)
# Web Vitals per step (probes/vitals.py): (series, help, buckets, scale from the stored unit); the
# buckets hold Google's good / poor thresholds as edges.
PAINT_BUCKETS = (0.1, 0.2, 0.5, 0.8, 1, 1.8, 2.5, 3, 4, 6, 10, 20)
VITALS = {
    "lcp_ms": ("orderprobe_step_lcp_seconds", "Largest Contentful Paint of pages a step loaded", PAINT_BUCKETS, 1e-3),
    "fcp_ms": ("orderprobe_step_fcp_seconds", "First Contentful Paint of pages a step loaded", PAINT_BUCKETS, 1e-3),
    "ttfb_ms": ("orderprobe_step_ttfb_seconds", "Time to First Byte of documents a step loaded", PAINT_BUCKETS, 1e-3),
    "inp_ms": ("orderprobe_step_inp_seconds", "Interaction to Next Paint of a step's pages",
               (0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5), 1e-3),
    "cls": ("orderprobe_step_cls", "Cumulative Layout Shift of a step's pages",
            (0.01, 0.05, 0.1, 0.15, 0.25, 0.5, 1), 1),
}  # fmt: skip


class Metrics:
    def __init__(self, location: str = "") -> None:
        self.location = location
        self.registry = CollectorRegistry()
        r = self.registry
        self.job_success = Gauge(
            "orderprobe_job_success", "1 if the job's last run met every expectation", ["location", "job"], registry=r
        )
        self.probe_success = Gauge(
            "orderprobe_probe_success",
            "1 if the journey met its expectation in the job's last run",
            ["location", "job", "probe", "profile"],
            registry=r,
        )
        self.last_run = Gauge(
            "orderprobe_last_run_timestamp_seconds", "when the job last finished a run", ["location", "job"], registry=r
        )
        self.run_duration = Gauge(
            "orderprobe_run_duration_seconds", "wall time of the job's last run", ["location", "job"], registry=r
        )
        self.journey_duration = Gauge(
            "orderprobe_journey_duration_seconds",
            "duration of the journey in the job's last run",
            ["location", "job", "probe", "profile"],
            registry=r,
        )
        self.step_duration = Histogram(
            "orderprobe_step_duration_seconds",
            "duration of checkout steps",
            ["location", "job", "probe", "step"],
            buckets=STEP_BUCKETS,
            registry=r,
        )
        self.vitals = {
            key: Histogram(name, text, ["location", "job", "probe", "profile", "step"], buckets=buckets, registry=r)
            for key, (name, text, buckets, _) in VITALS.items()
        }
        self.runs = Counter(
            "orderprobe_runs",
            "runs by verdict (passed, failed, error, flaky)",
            ["location", "job", "verdict"],
            registry=r,
        )
        self.failures = Counter(
            "orderprobe_failures",
            "failed journeys by the cause the classifier named",
            ["location", "job", "cause", "detail"],
            registry=r,
        )
        self.open_incidents = Gauge(
            "orderprobe_open_incidents",
            "incidents open now (shared by the agents on one database: aggregate with max)",
            ["location", "job", "kind"],
            registry=r,
        )
        self.alerts = Counter(
            "orderprobe_alerts", "alert deliveries by channel and result", ["location", "channel", "result"], registry=r
        )

    def observe_run(
        self, job: str, verdict: Verdict, finished_ts: float, duration_s: float, journeys: list[JourneyResult]
    ) -> None:
        self.job_success.labels(self.location, job).set(1 if Verdict(verdict).ok else 0)
        self.last_run.labels(self.location, job).set(finished_ts)
        self.run_duration.labels(self.location, job).set(duration_s)
        self.runs.labels(self.location, job, verdict).inc()
        for journey in journeys:
            if not journey.status.counts:  # its scenario did not happen: the last verdict stands
                continue
            self.probe_success.labels(self.location, job, journey.probe, journey.profile).set(
                1 if journey.status.ok else 0
            )
            self.journey_duration.labels(self.location, job, journey.probe, journey.profile).set(
                journey.duration_ms / 1000
            )
            for step in journey.steps:
                self.step_duration.labels(self.location, job, journey.probe, step.name).observe(step.duration_ms / 1000)
                for key, value in (step.vitals.model_dump(exclude={"url"}) if step.vitals else {}).items():
                    if value is not None:
                        labels = (self.location, job, journey.probe, journey.profile, step.name)
                        self.vitals[key].labels(*labels).observe(value * VITALS[key][3])
            if not journey.status.ok:
                cause = journey.cause
                if cause is None and journey.status is Status.ERROR:
                    category, detail = "probe_broken", ""
                else:
                    category, detail = (cause.category, cause.detail) if cause else ("unknown", "")
                self.failures.labels(self.location, job, category, detail).inc()

    def set_open_incidents(self, counts: dict[tuple[str, str], int], jobs: list[str], kinds: tuple[str, ...]) -> None:
        for job in jobs:
            for kind in kinds:
                self.open_incidents.labels(self.location, job, kind).set(counts.get((job, kind), 0))

    def alert_result(self, channel: str, ok: bool) -> None:
        self.alerts.labels(self.location, channel, "sent" if ok else "failed").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """``/metrics`` (Prometheus text format) and ``/healthz`` (JSON) in a daemon thread."""

    def __init__(
        self,
        metrics: Metrics,
        health: Callable[[], dict[str, Any]],
        host: str = "127.0.0.1",
        port: int = 0,
        ack: Callable[[str, str], tuple[int, bytes]] | None = None,  # (method, query) -> status, HTML
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                path, _, query = self.path.partition("?")
                if path == "/ack" and ack is not None:
                    code, body = ack("POST", query)
                    self._reply(code, "text/html; charset=utf-8", body)
                else:
                    self._reply(404, "text/plain", b"not found\n")

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path, _, query = self.path.partition("?")
                if path == "/ack" and ack is not None:
                    code, body = ack("GET", query)
                    self._reply(code, "text/html; charset=utf-8", body)
                elif path == "/metrics":
                    self._reply(200, CONTENT_TYPE_LATEST, metrics.exposition())
                elif path == "/healthz":
                    report = health()
                    code = 200 if report.get("status") == "ok" else 503
                    self._reply(code, "application/json", json.dumps(report, ensure_ascii=False).encode())
                else:
                    self._reply(404, "text/plain", b"not found: try /metrics or /healthz\n")

            def _reply(self, code: int, content_type: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - scrapes are not news
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.host, self.port = self.httpd.server_address[:2]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="metrics-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MetricsServer:
        self.thread.start()
        log.info("metrics on %s/metrics, health on %s/healthz", self.url, self.url)
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
