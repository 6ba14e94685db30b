"""Shared test set-up. Integration tests run probe files through pytest itself (pytester,
in a subprocess) against the embedded demo shop on ephemeral ports, in real headless
Chromium. Store tests run against a real SQLite file and a real throwaway PostgreSQL."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from orderprobe.probes import driver
from tests.support import durations, real_parts
from tests.support.postgres import cluster, server_bin

pytest_plugins = ["pytester"]
_PARTS_DIR = pytest.StashKey[Path]()  # where every process of the session writes what it used


def pytest_configure(config: pytest.Config) -> None:
    """Count the tests that use real Chromium, the real shop and a real database (printed at the end)."""
    durations.configure(config)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # A background job (`make test &`, nohup, a CI step in the background) starts with Ctrl-C
        # ignored, and every process it starts inherits that: the tests that stop a run or a shop
        # with Ctrl-C then wait out their timeouts. A handler is reset to the default on exec.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if not hasattr(config, "workerinput") and not os.environ.get(real_parts.ENV_DIR):
        folder = tempfile.mkdtemp(prefix="orderprobe-real-parts-")
        config.stash[_PARTS_DIR] = Path(folder)
        os.environ[real_parts.ENV_DIR] = folder
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(real_parts.SITE), os.environ.get("PYTHONPATH")]))
        # An `orderprobe run` a test starts without -n takes `-n auto`: one worker, not one per core.
        # The suite's own workers fill the cores already; a second worker per nested run only adds a
        # process, a Chromium and a shop (1.5 s CPU for a one-journey run). Tests of several workers say -n 2.
        os.environ.setdefault("PYTEST_XDIST_AUTO_NUM_WORKERS", "1")
        # Chromium's CPU slowdown busy-waits ~half of a ×2 page's wall time (about half of a journey's CPU,
        # measured): tests of it set ORDERPROBE_CPU_SLOWDOWN=profile; the others needn't pay for it.
        os.environ.setdefault("ORDERPROBE_CPU_SLOWDOWN", "off")
        # The suite's own Playwright starts (the chromium fixture, tests' sync_playwright) read Node's
        # compile cache as a run's driver does (probes/driver.py); every process below inherits it.
        os.environ.update(driver.environment())
    if os.environ.get(real_parts.ENV_DIR):
        real_parts.install()


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slowest work first (tests/durations.txt), the rest in pytest's order. A module's tests
    that share a module-scoped fixture (a run, a shop, a browser) are one unit, kept together and
    sent to one worker (`make test`'s --dist loadgroup): handed out test by test, a worker met
    other modules in between, tore the fixture down and paid for it again (measured: the chromium
    fixture launched 42 times where 13 do, one per module; the filmstrip's runs made once per test).
    Other tests are handed out one by one, so the long ones start early and the workers end together."""
    durations.schedule(config, items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    os.environ[real_parts.ENV_TEST] = item.nodeid  # read by every process the test starts
    try:
        return (yield)
    finally:
        os.environ.pop(real_parts.ENV_TEST, None)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    folder = config.stash.get(_PARTS_DIR, None)
    if folder is None:
        return
    found = real_parts.tally(folder)
    ran = {
        r.nodeid
        for key in ("passed", "failed", "error", "xfailed", "xpassed")
        for r in terminalreporter.stats.get(key, [])
    }
    terminalreporter.write_line(real_parts.summary(found, len(ran)))
    if out := os.environ.get("ORDERPROBE_REAL_PARTS_OUT"):  # one line per part and test, to diff two runs
        Path(out).write_text("".join(f"{p}\t{t}\n" for p in sorted(found) for t in sorted(found[p])), encoding="utf-8")


def pytest_unconfigure(config: pytest.Config) -> None:
    if (folder := config.stash.get(_PARTS_DIR, None)) is not None:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(real_parts.ENV_DIR, None)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL on 127.0.0.1 (an ephemeral port), in a temp folder, for this worker."""
    if server_bin() is None:
        pytest.skip("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'orderprobe[postgres]')")
    with cluster(fsync=False) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Real headless Chromium with orderprobe's launch flags, one per test module."""
    from playwright.sync_api import sync_playwright

    from orderprobe.probes.browser import launch_options

    pw = sync_playwright().start()
    browser = pw.chromium.launch(**launch_options())
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    """pytester, whose in-process runs count the real parts they use as subprocess runs do, and
    leave this process's environment and SIGTERM handler as they found them."""
    inline_run = pytester.inline_run

    def counted(*args: Any, plugins: Any = (), **kwargs: Any) -> pytest.HookRecorder:
        environ = dict(os.environ)  # a run sets variables for its own processes (the demo shop's secrets)
        sigterm = signal.getsignal(signal.SIGTERM)  # and takes SIGTERM as Ctrl-C (probes/interrupt.py)
        try:
            return inline_run(*args, plugins=[*plugins, real_parts.InProcess()], **kwargs)
        finally:
            os.environ.clear()
            os.environ.update(environ)
            if sigterm is not None:  # None: set outside Python, nothing to put back
                signal.signal(signal.SIGTERM, sigterm)

    pytester.inline_run = counted  # type: ignore[method-assign]
    return pytester


_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One empty database per test, on each backend the store must support."""
    return _new_database(request, lambda: tmp_path / "results.db")


def _new_database(request: pytest.FixtureRequest, sqlite_path: Callable[[], Path]) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{sqlite_path()}"
    import psycopg

    server = request.getfixturevalue("postgres_server")
    name = f"t{os.getpid()}_{next(_databases)}"
    with psycopg.connect(server.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return _new_database(request, lambda: tmp_path_factory.mktemp("db") / "results.db")
