"""Locations: runs and journeys say where they ran (``--location``), older databases gain the
columns in place, and the trend report splits availability by location (real SQLite and
PostgreSQL, real pytest runs against the demo shop, the page read back in Chromium)."""

from __future__ import annotations

import random
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import text

from orderprobe.base import location as site
from orderprobe.base.result import Status
from orderprobe.reports import trend
from orderprobe.scheduler.records import Incident, JobRun, Records
from orderprobe.store.store import Store
from tests.support import sample

T0 = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)
PROFILE = sample.PROFILES[0]


def _journey(run_id: str, index: int, status: Status = Status.PASSED, location: str = "", minutes: int = 0):
    return sample.journey(
        random.Random(index),
        run_id=run_id,
        probe="path_video",
        profile=PROFILE,
        started_at=T0 + timedelta(minutes=minutes, seconds=index),
        status=status,
        cause=sample.CAUSES[0] if status is Status.FAILED else None,
        index=index,
    ).model_copy(update={"location": location})


def test_runs_and_journeys_carry_their_location(store_url: str) -> None:
    store = Store(store_url)
    try:
        store.start_run("hk-1", started_at=T0, target="t", matrix=None, location="hk")
        # A journey that does not know where it ran (a crashed worker's) ran where its run did.
        store.add_journeys([_journey("hk-1", 0, location="hk"), _journey("hk-1", 1)])
        summary = store.run("hk-1")
        assert summary is not None and summary.location == "hk"
        with store.read() as conn:
            rows = conn.execute(text("SELECT location FROM journeys ORDER BY id")).scalars().all()
        assert rows == ["hk", "hk"]
        assert [j.location for j in store.journeys("hk-1")] == ["hk", "hk"]
    finally:
        store.close()


def _drop(url: str, table: str, *columns: str) -> None:
    store = Store(url)
    try:
        with store.write() as conn:
            for column in columns:
                conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
    finally:
        store.close()


def test_a_database_from_before_locations_gains_the_columns_and_keeps_its_rows(store_url: str) -> None:
    store = Store(store_url)
    store.start_run("old-1", started_at=T0, target="t", matrix="smoke")
    store.add_journey(_journey("old-1", 0, Status.FAILED))
    store.close()
    records = Records(store_url, "sh")
    records.save_run(JobRun(run_id="old-job-1", job="smoke", started_at=T0, finished_at=T0))
    records.close()
    _drop(store_url, "journeys", "location")  # as an orderprobe without locations wrote it
    _drop(store_url, "runs", "location")
    _drop(store_url, "scheduler_job_runs", "location")
    _drop(store_url, "scheduler_incidents", "locations", "failing")

    store = Store(store_url)  # refused with StoreSchemaError before orderprobe.store.migration
    records = Records(store_url, "sh", "sh")
    try:
        assert store.run("old-1") is not None and len(store.journeys("old-1")) == 1
        store.start_run("new-1", started_at=T0 + timedelta(hours=1), target="t", matrix=None, location="sh")
        store.add_journey(_journey("new-1", 1, location="sh", minutes=60))
        assert [r.location for r in store.runs()] == ["sh", ""]
        assert [r.location for r in records.runs("smoke")] == [""]
        records.save_incident(Incident(job="smoke", kind="checkout", urgency="high", first_failure_at=T0,
                                       opened_at=T0, last_notified_at=T0))  # fmt: skip
        (incident,) = records.incidents(open_only=True)
        assert incident.seen == [] and incident.held_by("sh")  # from before locations: anyone's to resolve
    finally:
        store.close()
        records.close()


def test_location_defaults_to_the_environment_then_the_host_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(site.ENV, raising=False)
    assert site.default() == socket.gethostname()
    monkeypatch.setenv(site.ENV, "xj")
    assert site.default() == "xj"
    with pytest.raises(ValueError, match="location 'a b'"):
        site.check("a b")


PROBE = """
def test_home(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
"""


def test_orderprobe_run_records_the_location_it_is_given(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_where=PROBE)
    url = f"sqlite:///{tmp_path / 'results.db'}"
    common = ("-p", "no:cacheprovider", f"--results={url}", f"--artefacts={tmp_path / 'art'}")
    pytester.runpytest_inprocess(*common, "--run-id=by-flag", "--location=hk").assert_outcomes(passed=1)
    monkeypatch.setenv(site.ENV, "urumqi")
    pytester.runpytest_inprocess(*common, "--run-id=by-env").assert_outcomes(passed=1)
    refused = pytester.runpytest_inprocess(*common, "--run-id=bad", "--location=a,b")  # refused up front
    assert refused.ret != 0 and "location 'a,b'" in refused.stderr.str() + refused.stdout.str()
    store = Store(url)
    try:
        for run_id, where in (("by-flag", "hk"), ("by-env", "urumqi")):
            summary = store.run(run_id)
            assert summary is not None and summary.location == where
            assert [j.location for j in store.journeys(run_id)] == [where]
    finally:
        store.close()


def test_the_trend_splits_availability_by_location_and_filters_on_it(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'results.db'}")
    try:
        for k in range(6):  # Hong Kong passes throughout; Urumqi fails half its runs
            for where, status in (("hk", Status.PASSED), ("urumqi", Status.FAILED if k % 2 else Status.PASSED)):
                run_id = f"{where}-{k}"
                store.start_run(run_id, started_at=T0 + timedelta(minutes=10 * k), target="t", matrix=None,
                                location=where)  # fmt: skip
                store.add_journey(_journey(run_id, k, status, where, minutes=10 * k))
        path, ctx = trend.write(store, timedelta(hours=2), tmp_path, "en", tz=UTC, now=T0 + timedelta(hours=1))
        # A page of one location counts only the journeys that ran there, in every section (SQL).
        far = trend.context(store, timedelta(hours=2), "en", tz=UTC, now=T0 + timedelta(hours=1), location="urumqi")
    finally:
        store.close()
    assert [(r.location, r.availability, r.total) for r in ctx.by_location] == [("urumqi", 0.5, 6), ("hk", 1.0, 6)]
    assert [(r.probe, r.location) for r in ctx.rows] == [("path_video", "urumqi"), ("path_video", "hk")]
    assert ctx.locations == ["hk", "urumqi"]
    assert (far.journeys, far.availability, [r.location for r in far.rows]) == (6, 0.5, ["urumqi"])
    assert far.latest and far.latest[0].location == "urumqi"
    with sync_playwright() as pw:
        from orderprobe.probes.browser import launch_options

        browser = pw.chromium.launch(**launch_options())
        try:
            page = browser.new_page()
            page.goto(path.as_uri())
            cells = page.locator("#location-table tr[data-location] td").all_inner_texts()
            assert [c for c in cells if c] == ["urumqi", "50.0%", "6", "hk", "100%", "6"]
            page.select_option("#f-location", "hk")
            for table in ("#location-table", "#availability-table"):
                shown = page.locator(f"{table} tr[data-location]:visible").evaluate_all(
                    "rows => rows.map(r => r.dataset.location)"
                )
                assert shown == ["hk"], table
        finally:
            browser.close()
