"""Escalation and acknowledgement: the real service (SQLite store, job subprocesses, webhook
receivers and its own HTTP server on loopback) with an injected clock; minutes pass by setting
it, never by sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from orderprobe.cli import main as cli
from orderprobe.scheduler.config import parse
from orderprobe.scheduler.metrics import MetricsServer
from orderprobe.scheduler.records import Records
from orderprobe.scheduler.service import Service
from tests.support.receivers import WebhookReceiver

RUNNER = Path(__file__).parent / "support" / "job_runner.py"
T0 = datetime(2026, 11, 11, 1, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Agent:
    def __init__(self, tmp_path: Path) -> None:
        self.modes = tmp_path / "modes"
        self.modes.mkdir()
        self.receiver = WebhookReceiver().start()
        self.clock = Clock()
        self.db = f"sqlite:///{tmp_path / 'orderprobe.db'}"
        environ = {
            "URL_ONCALL": self.receiver.url("/oncall"),
            "URL_LEAD": self.receiver.url("/lead"),
            "ACK_KEY": "k3y-for-links",
        }
        self.file = tmp_path / "schedules.yaml"
        self.file.write_text(
            f"database: {self.db}\nartefacts: {tmp_path / 'artefacts'}\nmetrics: {{enabled: false}}\n"
            "ack: {secret_env: ACK_KEY}\n"
            "channels:\n  oncall: {type: webhook, url_env: URL_ONCALL}\n  lead: {type: webhook, url_env: URL_LEAD}\n"
            "jobs:\n  - id: smoke\n    every: 5m\n    timeout: 60s\n"
            f"    command: ['{{python}}', '{RUNNER}', '{{run_id}}', '{{results}}', '{self.modes}']\n"
            "    alert: {open_after: 2, resolve_after: 2, remind_every: 20m, channels: [oncall],\n"
            "            escalate_after: 15m, escalate_to: [lead]}\n"
        )
        config = parse(self.file.read_text(), str(self.file), environ)
        self.service = Service(config, environ=environ, clock=self.clock, location="sh")
        # the service's HTTP endpoint, as start() would open it (without the scheduler firing real runs)
        self.service.server = MetricsServer(self.service.metrics, self.service.health, ack=self.service.ack_request)
        self.service.server.start()

    def run(self, mode: str) -> None:
        (self.modes / "mode").write_text(mode)
        self.clock.now += timedelta(minutes=5)
        assert self.service.run_job("smoke") is not None
        assert self.service.notifier.drain(timeout=60)

    def at(self, minutes: float) -> None:
        """Move the clock to T0 + minutes and let the service's tick run."""
        self.clock.now = T0 + timedelta(minutes=minutes)
        self.service.tick()
        assert self.service.notifier.drain(timeout=60)

    def sent(self) -> list[tuple[str, str]]:
        return [(r.path, r.json()["title"].rsplit(" · ", 1)[0]) for r in self.receiver.requests]


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    a = Agent(tmp_path)
    yield a
    a.service.stop(grace=0)
    a.receiver.stop()


def test_unacknowledged_it_escalates_once_to_the_second_list_saying_how_long_it_has_been_open(agent: Agent) -> None:
    agent.run("fail"), agent.run("fail")  # opens at T0+10m
    assert agent.sent() == [("/oncall", "🔴 下单故障 Checkout failing")]
    agent.at(24)  # 14 minutes open: not yet
    assert len(agent.sent()) == 1
    agent.at(25)
    assert agent.sent()[1] == ("/lead", "🚨 升级 Escalated · 下单故障 Checkout failing")
    escalated = agent.receiver.requests[1].json()
    assert escalated["escalated"] is True and "已持续 Open for: 15m00s" in escalated["text"]
    assert escalated["problems"][0]["cause"] == "payment/gateway_down"
    agent.at(40)
    assert len(agent.sent()) == 2  # once
    agent.clock.now = T0 + timedelta(minutes=30)
    agent.run("fail")  # T0+35: a reminder (every 20m) to the first list, saying for how long
    assert agent.sent()[2] == ("/oncall", "⏰ 仍未恢复 Still open · 下单故障 Checkout failing")
    assert "已持续 Open for: 25m00s" in agent.receiver.requests[2].json()["text"]


def test_the_signed_link_acknowledges_and_stops_the_escalation(agent: Agent) -> None:
    agent.run("fail"), agent.run("fail")
    link = agent.receiver.requests[0].json()["ack_url"]
    assert link.startswith(agent.service.server.url + "/ack?")  # type: ignore[union-attr]
    query = urlsplit(link).query
    forged = query.replace("sig=", "sig=0")
    assert httpx.post(f"{agent.service.server.url}/ack?{forged}", timeout=30).status_code == 403  # type: ignore[union-attr]
    page = httpx.get(link, timeout=30)  # a chat app's preview opens it: that must not acknowledge
    assert page.status_code == 200 and 'method="post"' in page.text
    records = Records(agent.db, "sh")
    try:
        assert records.incidents()[0].acknowledged_at is None
        answer = httpx.post(link, timeout=30)
        assert answer.status_code == 200 and "Acknowledged incident" in answer.text
        (incident,) = records.incidents()
        assert incident.acknowledged_at == agent.clock.now and incident.acknowledged_by == "link"
    finally:
        records.close()
    agent.at(40)
    assert [path for path, _ in agent.sent()] == ["/oncall"]  # acknowledged: no escalation
    agent.clock.now = T0 + timedelta(minutes=30)
    agent.run("fail")
    assert "已确认 Acknowledged" in agent.receiver.requests[-1].json()["text"]
    agent.clock.now = T0 + timedelta(days=8)
    assert httpx.post(link, timeout=30).status_code == 403  # expired


def test_cli_ack_stops_the_escalation(agent: Agent, capsys: pytest.CaptureFixture[str]) -> None:
    agent.run("fail"), agent.run("fail")
    incident_id = agent.receiver.requests[0].json()["incident_id"]
    argv = ["schedule", "--config", str(agent.file), "ack"]
    assert cli([*argv, "999", "--by", "lin"]) == 2
    assert "no open incident 999" in capsys.readouterr().err
    assert cli([*argv, str(incident_id), "--by", "lin"]) == 0
    assert f"acknowledged incident {incident_id} (smoke checkout) by lin" in capsys.readouterr().out
    agent.at(40)
    assert [path for path, _ in agent.sent()] == ["/oncall"]
