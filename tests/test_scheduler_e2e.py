"""End to end: the real service runs real `orderprobe run` subprocesses (pytest + Chromium)
against the demo shop every second; with `payment_down` on, exactly one incident opens and one
message per channel goes out; switching it off resolves it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from orderprobe.probes.fixtures import DEMO_SECRETS
from orderprobe.scheduler.config import parse
from orderprobe.scheduler.records import Records
from orderprobe.scheduler.service import Service
from orderprobe.shop.server import DemoShop
from tests.support.receivers import SMTPSink, WebhookReceiver, wait_until

PATHS = {"feishu": "/feishu", "dingtalk": "/dingtalk", "wecom": "/wecom", "slack": "/slack", "webhook": "/hook"}


@pytest.fixture
def shop() -> Iterator[DemoShop]:
    s = DemoShop(port=0, payment_port=0)
    s.start()
    yield s
    s.stop()


@pytest.mark.slow
def test_payment_down_opens_one_incident_per_channel_and_recovery_resolves_it(
    tmp_path: Path, shop: DemoShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in DEMO_SECRETS.items():  # the runs sign in to the demo shop with these
        monkeypatch.setenv(name, value)
    receiver = WebhookReceiver().start()
    sink = SMTPSink().start()
    environ = {f"URL_{k.upper()}": receiver.url(p) for k, p in PATHS.items()} | {"SIGN": "SEC-e2e"}
    channels = "\n".join(f"  {k}: {{type: {k}, url_env: URL_{k.upper()}, secret_env: SIGN}}" for k in PATHS)
    db = f"sqlite:///{tmp_path / 'orderprobe.db'}"
    text = f"""
database: {db}
artefacts: {tmp_path / "artefacts"}
metrics: {{port: 0}}
channels:
{channels}
  mail: {{type: email, port: {sink.port}, sender: probes@example.com, to: [oncall@example.com]}}
jobs:
  - id: pay
    probes: [subsidy_checkout]
    target: {shop.url}
    every: 1s
    timeout: 180s
    retries: 0
    labels: {{location: e2e}}
    alert: {{open_after: 2, resolve_after: 1, channels: [{", ".join(PATHS)}, mail]}}
"""
    # retries: 0, one attempt per run: a failed journey's retry (a fresh browser, a trace) is
    # test_engine's; here it would only double the cost of each failing run.
    # The fault is on from the first run: a healthy first run before it would cost a run (a Python,
    # a browser) and prove no more than the run after it, which must pass to resolve the incident.
    shop.set_fault("payment_down")
    service = Service(parse(text, "e2e.yaml", environ), environ=environ).start()
    records = Records(db)
    try:
        finished = lambda: [r for r in records.runs("pay") if r.finished_at is not None]  # noqa: E731
        failing = lambda: [r for r in finished() if r.verdict == "failed"]  # noqa: E731
        wait_until(lambda: len(failing()) >= 2, "two failing runs", timeout=300)
        # Switched off as soon as the incident's two bad runs are in: the run the scheduler starts a
        # second later finds the shop healthy, instead of a third failing run before the resolving one.
        shop.clear_faults()
        receiver.wait_for(lambda r: {x.path for x in r} == set(PATHS.values()), timeout=300)
        sink.wait_for(1, timeout=60)
        assert len(failing()) >= 2
        opened = receiver.on("/hook")[0].json()
        assert opened["event"] == "open" and opened["kind"] == "checkout" and opened["bad_runs"] == 2
        (problem,) = opened["problems"]
        assert problem["probe"] == "subsidy_checkout" and problem["step"]
        assert problem["cause"].split("/")[0] in ("payment", "third_party", "system"), problem
        assert opened["report"].endswith(".html") and Path(opened["report"]).exists()
        assert receiver.on("/dingtalk")[0].query["sign"]  # signed on the wire

        receiver.wait_for(lambda r: len(r) == 2 * len(PATHS), timeout=300)
        sink.wait_for(2, timeout=60)
        last = finished()[-1]  # the healthy shop's run passed: the checkout works, the fault was the fault
        assert last.verdict == "passed", (last.outcome, last.exit_code, last.problems, last.error)
        for path in PATHS.values():
            assert len(receiver.on(path)) == 2  # exactly one open and one resolve per channel
        assert receiver.on("/hook")[1].json()["event"] == "resolve"

        assert service.server is not None
        metrics = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(httpx.get(f"{service.server.url}/metrics").text)
            for s in family.samples
        }
        where = ("location", service.location)
        assert metrics[("orderprobe_job_success", (("job", "pay"), where))] == 1.0
        assert metrics[("orderprobe_open_incidents", (("job", "pay"), ("kind", "checkout"), where))] == 0
        assert sum(v for (name, _labels), v in metrics.items() if name == "orderprobe_failures_total") >= 2
    finally:
        service.stop(grace=0)
        records.close()
        receiver.stop()
        sink.stop()
