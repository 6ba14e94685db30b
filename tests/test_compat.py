"""Canaries for the private internals orderprobe uses, one per dependency (``probes/compat``).

Each test drives the real thing (real Chromium, pytest's real parser) through the compat
function, so an upgrade that moves a private name fails here, naming it, rather than in every
journey's evidence capture. A source scan keeps every private reach inside ``probes/compat``.
"""

from __future__ import annotations

import asyncio
import gc
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from orderprobe.probes.bounded import bounded
from orderprobe.probes.compat import playwright as pw_compat
from orderprobe.probes.compat import pytest as pytest_compat

ROOT = Path(__file__).resolve().parents[1]
PRIVATE = re.compile(
    r"\._do_submit_job\b|\._impl_obj\b|\._sync\(|\b_pytest\b|\._initrequest\(|\._parser\b|\._process_jobs\b"
)


def test_playwright_bridge_runs_a_call_on_the_pages_loop(chromium: Browser) -> None:
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_content("<title>canary</title>")
        assert isinstance(pw_compat.loop(context), asyncio.AbstractEventLoop), "BrowserContext._loop moved"
        assert hasattr(pw_compat.impl(page), "title"), "Page._impl_obj moved"
        assert pw_compat.run(page, pw_compat.impl(page).title()) == "canary", "SyncBase._sync moved"
        assert bounded(page, lambda p: p.title(), 5) == "canary"
    finally:
        context.close()


def test_playwright_bridge_bounds_a_call_that_never_answers(chromium: Browser) -> None:
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_content("<p>x</p>")
        # A promise that never settles: the bounded call must come back, not hang the harness.
        with pytest.raises(TimeoutError, match="no answer within 0.5 s"):
            bounded(page, lambda p: p.evaluate("new Promise(() => {})", None), 0.5)
        assert page.evaluate("1 + 1") == 2  # the page is still usable afterwards
    finally:
        context.close()


def test_playwright_loop_is_the_one_that_runs_its_calls(chromium: Browser) -> None:
    """The deadline's watchdog reaches a context from its own thread through this loop
    (exercised for real in tests/test_deadline.py); here: it is the loop the sync API runs on."""
    context = chromium.new_context()
    try:
        page = context.new_page()

        async def running_loop() -> asyncio.AbstractEventLoop:
            return asyncio.get_running_loop()

        loop = pw_compat.loop(context)
        assert isinstance(loop, asyncio.AbstractEventLoop), "BrowserContext._loop moved"
        assert pw_compat.run(page, running_loop()) is loop
        assert pw_compat.loop(page) is loop
    finally:
        context.close()


def test_pytest_parser_reads_plugin_options_and_paths() -> None:
    options = pytest_compat.known_options(["-p", "no:cacheprovider", "--timeout", "7", "tests"], autoload=True)
    assert options["file_or_dir"] == ["tests"], "Config._parser.parse_known_args moved"
    assert options["timeout"] == 7.0 or options["timeout"] == "7"  # pytest-timeout's option, from its entry point


def test_pytest_can_give_an_item_fresh_fixtures() -> None:
    assert callable(getattr(pytest.Function, "_initrequest", None)), "pytest.Function._initrequest moved"
    assert callable(pytest_compat.runtestprotocol)


def test_pytest_closing_collections_can_be_left_out(tmp_path: Path) -> None:
    """pytest's full collections as a session ends, counted with automatic collection off."""
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n", encoding="utf-8")

    class LeaveOut:
        def pytest_configure(self, config: pytest.Config) -> None:
            pytest_compat.no_closing_collections(config)

    full: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            full.append(1)

    gc.disable()
    gc.callbacks.append(count)
    try:
        pytest.main([str(tmp_path), "-q", "-p", "no:cacheprovider"])
        closing = len(full)
        full.clear()
        pytest.main([str(tmp_path), "-q", "-p", "no:cacheprovider"], plugins=[LeaveOut()])
    finally:
        gc.callbacks.remove(count)
        gc.enable()
    assert closing > 0, "pytest no longer collects as a session ends: no_closing_collections has nothing to do"
    assert full == [], "_pytest.unraisableexception.gc_collect_iterations_key moved"


def test_no_private_reach_outside_compat() -> None:
    offenders = []
    for package in ("orderprobe", "base", "probes", "profiles", "store", "reports", "scheduler", "shop"):
        for path in (ROOT / package).rglob("*.py"):
            if "compat" in path.relative_to(ROOT).with_suffix("").parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if PRIVATE.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "private internals used outside probes/compat:\n" + "\n".join(offenders)


def test_apscheduler_overrides_still_override_something() -> None:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    from orderprobe.scheduler.compat import Scheduler, StampingExecutor

    assert callable(getattr(BackgroundScheduler, "_process_jobs", None)), "BaseScheduler._process_jobs moved"
    assert callable(getattr(ThreadPoolExecutor, "_do_submit_job", None)), "BaseExecutor._do_submit_job moved"
    assert Scheduler._process_jobs is not BackgroundScheduler._process_jobs
    assert StampingExecutor._do_submit_job is not ThreadPoolExecutor._do_submit_job
