"""Metrics series and values from known runs; the Grafana dashboard reads only series that exist."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from orderprobe.base.result import Cause, FailurePoint, JourneyResult, Status, StepResult, StepStatus, Vitals
from orderprobe.scheduler.metrics import Metrics, MetricsServer

DASHBOARD = Path(__file__).parents[1] / "scheduler" / "grafana-dashboard.json"


def _journey(status: Status, pay_ms: float, cause: Cause | None = None) -> JourneyResult:
    return JourneyResult(
        id=f"j-{status}-{pay_ms}",
        run_id="r",
        probe="video_feed_checkout",
        nodeid="n",
        profile="android-old/metro/xinjiang/teen",
        status=status,
        started_at=datetime(2026, 6, 18, tzinfo=UTC),
        duration_ms=pay_ms + 500,
        steps=[
            StepResult(name="cart", status=StepStatus.PASSED, start_ms=0, duration_ms=500),
            StepResult(name="pay", status=StepStatus.PASSED, start_ms=500, duration_ms=pay_ms),
        ],
        failure=FailurePoint(step="pay", error_type="E", message="m") if cause else None,
        cause=cause,
    )


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _at(*labels: tuple[str, str]) -> tuple:
    """Label pairs as the exposition sorts them, with the agent's location."""
    return tuple(sorted((*labels, ("location", "hk"))))


def test_series_and_values_after_known_runs() -> None:
    metrics = Metrics("hk")
    cause = Cause(category="network", detail="dns")
    metrics.observe_run("smoke", "failed", 1_750_000_000.0, 42.5, [_journey(Status.FAILED, 3000, cause)])
    metrics.observe_run("smoke", "passed", 1_750_000_300.0, 40.0, [_journey(Status.PASSED, 800)])
    metrics.set_open_incidents({("smoke", "checkout"): 1}, ["smoke"], ("checkout", "flaky"))
    metrics.alert_result("feishu", True)
    metrics.alert_result("feishu", False)
    m = _samples(metrics.exposition().decode())
    job = _at(("job", "smoke"))
    journey = _at(("job", "smoke"), ("probe", "video_feed_checkout"), ("profile", "android-old/metro/xinjiang/teen"))
    pay = _at(("job", "smoke"), ("probe", "video_feed_checkout"), ("step", "pay"))
    assert m[("orderprobe_job_success", job)] == 1  # the last run passed
    assert m[("orderprobe_last_run_timestamp_seconds", job)] == 1_750_000_300.0
    assert m[("orderprobe_run_duration_seconds", job)] == 40.0
    assert m[("orderprobe_probe_success", journey)] == 1
    assert m[("orderprobe_journey_duration_seconds", journey)] == 1.3
    assert m[("orderprobe_step_duration_seconds_count", pay)] == 2
    assert m[("orderprobe_step_duration_seconds_sum", pay)] == 3.8
    assert m[("orderprobe_step_duration_seconds_bucket", tuple(sorted((*pay, ("le", "1.0")))))] == 1
    assert m[("orderprobe_step_duration_seconds_bucket", tuple(sorted((*pay, ("le", "3.0")))))] == 2
    assert m[("orderprobe_failures_total", _at(("cause", "network"), ("detail", "dns"), ("job", "smoke")))] == 1
    assert m[("orderprobe_runs_total", _at(("job", "smoke"), ("verdict", "failed")))] == 1
    assert m[("orderprobe_open_incidents", _at(("job", "smoke"), ("kind", "checkout")))] == 1
    assert m[("orderprobe_open_incidents", _at(("job", "smoke"), ("kind", "flaky")))] == 0
    assert m[("orderprobe_alerts_total", _at(("channel", "feishu"), ("result", "failed")))] == 1
    # Every series says where it was measured: agents at several sites feed one Prometheus.
    assert all(dict(labels).get("location") == "hk" for _name, labels in m)


def test_metrics_and_healthz_over_http_on_loopback() -> None:
    metrics = Metrics()
    metrics.observe_run("smoke", "passed", 1.0, 1.0, [])
    health = {"status": "ok", "jobs": {"smoke": {}}}
    server = MetricsServer(metrics, lambda: health, port=0).start()
    try:
        assert server.host == "127.0.0.1" and server.port > 0
        scraped = httpx.get(f"{server.url}/metrics", timeout=30)
        assert scraped.headers["content-type"].startswith("text/plain") and "orderprobe_job_success" in scraped.text
        assert httpx.get(f"{server.url}/healthz", timeout=30).json() == health
        health["status"] = "stopping"
        assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 503
        assert httpx.get(f"{server.url}/nope", timeout=30).status_code == 404
    finally:
        server.stop()


def test_the_grafana_dashboard_reads_series_the_service_exposes() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    metrics = Metrics()
    measured = _journey(Status.FAILED, 1, Cause(category="payment"))
    measured.steps[0].vitals = Vitals(lcp_ms=1800.0, cls=0.12, inp_ms=240.0)  # vitals series exist once measured
    metrics.observe_run("j", "failed", 1.0, 1.0, [measured])
    metrics.set_open_incidents({}, ["j"], ("checkout",))
    metrics.alert_result("c", True)
    exposed = {
        s.name for family in text_string_to_metric_families(metrics.exposition().decode()) for s in family.samples
    }
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for e in exprs for name in re.findall(r"\b(orderprobe_[a-z_]+)", e)}
    assert used and used <= exposed, used - exposed
    assert {p["title"].split()[0] for p in dashboard["panels"]} >= {"任务成功", "未恢复事件", "失败原因"}
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["location"]["query"]["query"] == "label_values(orderprobe_job_success, location)"
    assert all('location=~"$location"' in e for e in exprs), exprs  # every panel follows the location picked


def test_the_web_vitals_panels_query_series_and_labels_scraped_from_the_real_metrics_endpoint() -> None:
    """LCP, INP and CLS p50 / p95 per step: each query's metric, its `by` labels and its label
    filters exist on what a scrape of the service's own /metrics over HTTP returns."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    vitals_panels = [p for p in dashboard["panels"] if any(v in p["title"] for v in ("LCP", "INP", "CLS"))]
    assert [p["title"].split()[-4] for p in vitals_panels] == ["LCP", "INP", "CLS"]
    journey = _journey(Status.PASSED, 800)
    journey.steps[1].vitals = Vitals(lcp_ms=1800.0, cls=0.12, inp_ms=240.0, fcp_ms=900.0, ttfb_ms=120.0)
    metrics = Metrics("sh")
    metrics.observe_run("smoke", "passed", 1.0, 1.0, [journey])
    server = MetricsServer(metrics, lambda: {"status": "ok"}, port=0).start()
    try:
        scraped = httpx.get(f"{server.url}/metrics", timeout=30).text
    finally:
        server.stop()
    series = {s.name: set(s.labels) for family in text_string_to_metric_families(scraped) for s in family.samples}
    for panel in vitals_panels:
        quantiles = []
        for target in panel["targets"]:
            expr = target["expr"]
            (name,) = re.findall(r"\b(orderprobe_[a-z_]+)\{", expr)
            assert name in series, f"{panel['title']}: {name} is not on /metrics"
            by = {label.strip() for label in re.search(r"by \(([^)]*)\)", expr).group(1).split(",")}
            filters = set(re.findall(r"(\w+)=~", expr))
            assert by | filters <= series[name], (panel["title"], (by | filters) - series[name])
            assert {"probe", "step"} <= by and 'profile=~"$profile"' in expr  # per step, for the profiles picked
            quantiles.append(float(re.match(r"histogram_quantile\(([\d.]+),", expr).group(1)))
        assert quantiles == [0.5, 0.95]
    unit = {p["title"].split()[-4]: p["fieldConfig"]["defaults"]["unit"] for p in vitals_panels}
    assert unit == {"LCP": "s", "INP": "s", "CLS": "none"}
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    (label,) = re.findall(r"label_values\((\w+), (\w+)\)", variables["profile"]["query"]["query"])
    assert label[0] in series and label[1] in series[label[0]]
