"""Shared test set-up. Integration tests run probe files through pytest itself (pytester,
in a subprocess) against the embedded demo shop on ephemeral ports, in real headless
Chromium. Store tests run against a real SQLite file and a real throwaway PostgreSQL."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.support.postgres import cluster, server_bin

pytest_plugins = ["pytester"]


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

    from probes.browser import launch_options

    pw = sync_playwright().start()
    browser = pw.chromium.launch(**launch_options())
    yield browser
    browser.close()
    pw.stop()


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
