"""Agreement across locations: three agents (hk, sh, urumqi) on one real PostgreSQL, each running
real job subprocesses that write the real store, alerting real webhook receivers on loopback.
The agents' clock is injected and runs are started by hand, round by round (no sleeping): a
quorum met, a quorum not met, and one agent's own network trouble."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderprobe.scheduler.config import parse
from orderprobe.scheduler.records import Records
from orderprobe.scheduler.service import Service
from tests.support import forkserver
from tests.support.receivers import WebhookReceiver

RUNNER = Path(__file__).parent / "support" / "job_runner.py"
LOCATIONS = ("hk", "sh", "urumqi")
_databases = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 11, 20, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def pg_url(postgres_server: str) -> str:
    import psycopg

    name = f"agree{os.getpid()}_{next(_databases)}"
    with psycopg.connect(postgres_server.replace("postgresql+psycopg", "postgresql") + "/postgres") as conn:
        conn.autocommit = True
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_server}/{name}"


class Agents:
    def __init__(self, tmp_path: Path, url: str, quorum: str) -> None:
        self.modes = tmp_path / "modes"
        self.modes.mkdir()
        self.receiver = WebhookReceiver().start()
        self.clock = Clock()
        environ = {"URL_ONCALL": self.receiver.url("/oncall"), "URL_QA": self.receiver.url("/qa")}
        # The job runner writes one journey into the real store, in a fork of a process that imported the store once.
        command = forkserver.shared().command(RUNNER, "{run_id}", "{results}", str(self.modes))
        text = (
            f"database: {url}\nartefacts: {tmp_path / 'artefacts'}\nmetrics: {{enabled: false}}\n"
            "channels:\n  oncall: {type: webhook, url_env: URL_ONCALL}\n  qa: {type: webhook, url_env: URL_QA}\n"
            f"jobs:\n  - id: smoke\n    every: 5m\n    timeout: 60s\n"
            f"    command: {json.dumps(command)}\n"
            f"    alert: {{open_after: 2, resolve_after: 2, quorum: '{quorum}', quorum_window: 15m, "
            "channels: [oncall], low_urgency: [qa]}\n"
        )
        self.services = [
            Service(parse(text, f"{where}.yaml", environ), environ=environ, location=where, clock=self.clock)
            for where in LOCATIONS
        ]

    def modes_are(self, **modes: str) -> None:
        for where in LOCATIONS:
            (self.modes / where).write_text(modes.get(where, "pass"))

    def round(self) -> None:
        """Every agent runs the job once, one after another, five minutes after the last round."""
        self.clock.now += timedelta(minutes=5)
        for service in self.services:
            record = service.run_job("smoke")
            assert record is not None and record.finished_at is not None
        for service in self.services:
            assert service.notifier.drain(timeout=60)

    def sent(self) -> list[tuple[str, str, str]]:
        return [(r.path, r.json()["event"], r.json()["kind"]) for r in self.receiver.requests]

    def close(self) -> None:
        for service in self.services:
            service.stop(grace=0)
        self.receiver.stop()


@pytest.fixture
def agents(request: pytest.FixtureRequest, tmp_path: Path, pg_url: str) -> Iterator[Agents]:
    a = Agents(tmp_path, pg_url, getattr(request, "param", "2"))
    yield a
    a.close()


@pytest.mark.parametrize("agents", ["50%"], indirect=True)
def test_two_of_three_locations_agree_one_message_names_who_agreed_and_who_did_not(agents: Agents) -> None:
    agents.modes_are(hk="fail", sh="fail")
    agents.round()
    assert agents.sent() == []  # one failing run per location is not yet an incident anywhere
    agents.round()
    assert agents.sent() == [("/oncall", "open", "checkout")]  # hk opened it and waited; sh's agreement sent it
    opened = agents.receiver.requests[0].json()
    assert opened["agreed"] == ["hk", "sh"] and opened["disagreed"] == ["urumqi"]
    assert opened["quorum"] == "2 of 3 locations (quorum 50%: 2)"
    assert "一致 Agreed: hk, sh" in opened["text"] and "未失败 Not failing: urumqi" in opened["text"]
    agents.modes_are()
    agents.round(), agents.round()
    assert agents.sent()[1:] == [("/oncall", "resolve", "checkout")]


def test_one_failing_location_short_of_the_quorum_says_nothing_and_leaves_nothing_open(agents: Agents) -> None:
    agents.modes_are(hk="fail")
    agents.round(), agents.round()
    assert agents.sent() == []
    records = Records(agents.services[0].url)
    try:
        (pending,) = records.incidents(open_only=True)
        assert (pending.kind, pending.announced, pending.failing_at) == ("checkout", False, ["hk"])
        assert agents.services[0].incidents.open_counts() == {}  # not an incident anyone was told of
        agents.modes_are()
        agents.round(), agents.round()
        assert agents.sent() == [] and records.incidents(open_only=True) == []  # nothing to take back
    finally:
        records.close()


def test_one_agents_own_network_trouble_is_a_low_urgency_location_signal_not_a_checkout_incident(
    agents: Agents,
) -> None:
    agents.modes_are(urumqi="dns")
    agents.round(), agents.round()
    assert agents.sent() == [("/qa", "open", "location")]
    alert = agents.receiver.requests[0].json()
    assert alert["urgency"] == "low" and alert["location"] == "urumqi"
    assert alert["problems"][0]["cause"] == "network/dns"
    records = Records(agents.services[2].url, "urumqi")
    try:
        assert [r.verdict for r in records.runs("smoke")] == ["error", "error"]  # it said nothing about the checkout
        assert [i.kind for i in records.incidents(open_only=True)] == ["location"]
    finally:
        records.close()
