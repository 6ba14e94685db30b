"""Two scheduler agents at different locations on one real PostgreSQL: one incident, one
message per channel, both locations recorded, one resolution (real APScheduler services,
real subprocess runs writing the real store, real webhook receivers)."""

from __future__ import annotations

import itertools
import json
import os
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from orderprobe.scheduler.config import AlertRule, JobConfig, parse
from orderprobe.scheduler.incidents import Incidents
from orderprobe.scheduler.records import Incident, JobRun, Records, lock_key
from orderprobe.scheduler.service import Service
from orderprobe.store.store import Store
from tests.support import forkserver
from tests.support.receivers import WebhookReceiver, wait_until

RUNNER = Path(__file__).parent / "support" / "job_runner.py"  # fails while `mode` says so
CHANNELS = {"webhook": "/hook", "feishu": "/feishu", "slack": "/slack"}
LOCATIONS = ("hk", "urumqi")
_databases = itertools.count()


@pytest.fixture
def pg_url(postgres_server: str) -> str:
    """An empty database of its own on the throwaway PostgreSQL cluster."""
    import psycopg

    name = f"loc{os.getpid()}_{next(_databases)}"
    with psycopg.connect(postgres_server.replace("postgresql+psycopg", "postgresql") + "/postgres") as conn:
        conn.autocommit = True
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_server}/{name}"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver().start()
    yield r
    r.stop()


def _schedule(tmp_path: Path, url: str, receiver: WebhookReceiver) -> tuple[str, dict[str, str]]:
    # A real process per run writes one journey into the store (a fork of a process that imported it once);
    # it learns its location from ORDERPROBE_LOCATION, which the service sets for every run.
    command = forkserver.shared().command(RUNNER, "{run_id}", "{results}", str(tmp_path))
    environ = {f"URL_{k.upper()}": receiver.url(p) for k, p in CHANNELS.items()}
    channels = "\n".join(f"  {k}: {{type: {k}, url_env: URL_{k.upper()}}}" for k in CHANNELS)
    text = (
        f"database: {url}\nartefacts: {tmp_path / 'artefacts'}\nshutdown_grace: 20s\nmetrics: {{port: 0}}\n"
        f"channels:\n{channels}\njobs:\n  - id: smoke\n    every: 1s\n    timeout: 60s\n"
        f"    command: {json.dumps(command)}\n"
        f"    alert: {{open_after: 2, resolve_after: 2, channels: [{', '.join(CHANNELS)}]}}\n"
    )
    return text, environ


def _verdicts(records: Records) -> list[str]:
    return [r.verdict for r in records.runs("smoke") if r.finished_at is not None]


def _labels(service: Service) -> set[tuple[str, str]]:
    assert service.server is not None
    body = httpx.get(f"{service.server.url}/metrics", timeout=30).text
    return {
        (s.name, s.labels.get("location", "?"))
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.name == "orderprobe_job_success"
    }


def test_two_agents_open_one_incident_send_one_message_per_channel_and_resolve_it_once(
    tmp_path: Path, pg_url: str, receiver: WebhookReceiver
) -> None:
    (tmp_path / "mode").write_text("fail")
    text, environ = _schedule(tmp_path, pg_url, receiver)
    services = [
        Service(parse(text, f"{where}.yaml", environ), environ=environ, location=where).start() for where in LOCATIONS
    ]
    # One connection pool per agent's view, opened once: the waits below poll them, and runs come once a second.
    agents = {where: Records(pg_url, where) for where in LOCATIONS}
    _incidents = agents[LOCATIONS[0]].incidents
    try:
        assert [s.config.agent for s in services] == list(LOCATIONS)  # own job tables, from --location
        receiver.wait_for(lambda r: {x.path for x in r} == set(CHANNELS.values()), timeout=120)
        # Both locations keep failing well past open_after: the second one must join, not announce.
        wait_until(lambda: [i.seen for i in _incidents()] in ([list(LOCATIONS)], [list(LOCATIONS)[::-1]]),
                   "both locations recorded on the incident", timeout=120, poll=0.5)  # fmt: skip
        counts = [len(_verdicts(agents[where])) for where in LOCATIONS]
        wait_until(lambda: all(len(_verdicts(agents[w])) >= n + 2 for w, n in zip(LOCATIONS, counts, strict=True)),
                   "two more failing runs at each location", timeout=120, poll=0.5)  # fmt: skip
        for s in services:
            s.notifier.drain(timeout=60)
        assert sorted(r.path for r in receiver.requests) == sorted(CHANNELS.values())  # one each, not one per agent
        (incident,) = _incidents()
        assert incident.resolved_at is None and sorted(incident.failing_at) == sorted(LOCATIONS)
        opened = receiver.on("/hook")[0].json()
        assert opened["event"] == "open" and opened["location"] in LOCATIONS
        assert opened["problems"][0]["cause"] == "payment/gateway_down"

        (tmp_path / "mode").write_text("pass")  # the fault is switched off everywhere
        receiver.wait_for(lambda r: len(r) == 2 * len(CHANNELS), timeout=120)
        counts = [len(_verdicts(agents[where])) for where in LOCATIONS]
        wait_until(lambda: all(len(_verdicts(agents[w])) >= n + 3 for w, n in zip(LOCATIONS, counts, strict=True)),
                   "more passing runs at each location", timeout=120, poll=0.5)  # fmt: skip
        for s in services:
            s.notifier.drain(timeout=60)
        events = [r.json()["event"] for r in receiver.on("/hook")]
        assert events == ["open", "resolve"] and len(receiver.requests) == 2 * len(CHANNELS)
        resolved = receiver.on("/hook")[1].json()
        assert sorted(resolved["locations"]) == sorted(LOCATIONS) and resolved["incident_id"] == incident.id
        assert "地点 Locations" in str(receiver.on("/slack")[1].json())  # every channel names them
        (done,) = _incidents()
        assert done.resolved_at is not None and done.failing_at == []

        for service, where in zip(services, LOCATIONS, strict=True):
            assert _labels(service) == {("orderprobe_job_success", where)}
            assert service.health()["location"] == where
        store = Store(pg_url)
        try:
            where = {r.location for r in store.runs(limit=1000)}
        finally:
            store.close()
        assert where == set(LOCATIONS)  # each agent's runs are stored as its location's
    finally:
        for s in services:
            s.stop(grace=0)
        for records in agents.values():
            records.close()


def _job_run(records: Records, n: int) -> JobRun:
    start = datetime(2026, 11, 11, tzinfo=UTC) + timedelta(minutes=n)
    run = JobRun(run_id=f"{records.agent}-{n}", job="smoke", started_at=start, finished_at=start, verdict="failed",
                 outcome="completed", exit_code=1, checkout_bad=True, probe_bad=False, flaky_bad=False)  # fmt: skip
    return records.save_run(run)


def test_an_agent_waits_for_the_incident_lock_another_holds(pg_url: str) -> None:
    """While one agent is inside its claim (deciding, opening), another one blocks on the
    advisory lock and then sees what the first decided: it joins instead of opening twice."""
    job = JobConfig(id="smoke", every=60, matrix="smoke", alert=AlertRule(open_after=1, channels=("c",)))
    first, second = Records(pg_url, "hk", "hk"), Records(pg_url, "urumqi", "urumqi")
    found: list = []
    try:
        run = _job_run(second, 1)
        with first.claim("smoke", "checkout") as session:
            other = threading.Thread(target=lambda: found.extend(Incidents(second).after_run(job, run)))
            other.start()

            key = lock_key("smoke", "checkout") & (2**64 - 1)  # pg_locks shows it as two unsigned halves
            query = (
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                f"AND classid = {key >> 32} AND objid = {key & (2**32 - 1)} AND objsubid = 1"
            )

            def waiting() -> bool:
                with first.engine.connect() as conn:
                    return bool(conn.exec_driver_sql(query).scalar())

            wait_until(waiting, "the second agent waiting on the incident lock", timeout=120)
            now = datetime.now(UTC)
            incident = Incident(job="smoke", kind="checkout", urgency="high", first_failure_at=now, opened_at=now,
                                last_notified_at=now)  # fmt: skip
            incident.join("hk")
            first.save_incident(incident, session)
        other.join(timeout=120)
        assert not other.is_alive() and found == []  # it joined the incident the first agent opened
        (only,) = first.incidents()
        assert only.seen == ["hk", "urumqi"]
    finally:
        first.close(), second.close()


def test_a_location_chosen_on_purpose_names_the_agent_and_the_host_name_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ORDERPROBE_LOCATION", raising=False)
    jobs = "jobs:\n  - {id: a, every: 60, command: [x]}\n"
    plain = parse(jobs).at(None)
    assert (plain.agent, plain.location) == ("local", socket.gethostname())  # a lone agent keeps its job table
    assert plain.at(plain.location).agent == "local"  # resolving twice (command, then service) changes nothing
    assert parse(jobs).at("hk").agent == "hk" and parse("location: sh\n" + jobs).at(None).agent == "sh"
    assert parse("agent: x\nlocation: sh\n" + jobs).at("hk").agent == "x"  # the file's own name wins
    monkeypatch.setenv("ORDERPROBE_LOCATION", "乌鲁木齐")
    far = parse(jobs).at(None)
    assert far.location == "乌鲁木齐" and far.agent.startswith("____") and far.agent != parse(jobs).at("四川").agent
